/* VenomRAT (families.md §3.3, §3.4): a DcRat fork with the DcRat Settings names, its own salt and
 * HVNC/keylogger strings. The rule needs VenomRAT strings, Settings names, and Settings IL. */

rule venomrat_dotnet_settings
{
    meta:
        family = "venomrat"
        description = "VenomRAT client image (mapped or flat): VenomRAT strings, Settings names, IL"
    strings:
        $s1 = "VenomRATByVenom" wide
        $s2 = "HVNC_REPLY_MESSAGE" ascii wide
        $s3 = "OfflineKeylog sending...." ascii wide
        $s4 = "select * from Win32_VideoController" ascii wide
        $s5 = "VenomRAT" ascii wide nocase
        $n1 = "Por_ts" ascii fullword
        $n2 = "Hos_ts" ascii fullword
        $n3 = "Ver_sion" ascii fullword
        $n4 = "Install_Folder" ascii fullword
        $n5 = "Server_signa_ture" ascii fullword
        $n6 = "Paste_bin" ascii fullword
        $n7 = "Certifi_cate" ascii fullword
        /* ldsfld Key; newobj Aes256::.ctor; stsfld aes256 */
        $il_aes = { 7E ?? ?? ?? 04 73 ?? ?? ?? 06 80 ?? ?? ?? 04 }
        $il_verify = { 7E ?? ?? ?? 04 6F ?? ?? ?? 0A 6F ?? ?? ?? 0A 74 ?? ?? ?? 01 }
    condition:
        ((2 of ($s*) and 3 of ($n*)) or 3 of ($s*)) and $il_aes and $il_verify
}
