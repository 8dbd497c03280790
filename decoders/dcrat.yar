/* DcRat by qwqdanchun (families.md §3.4), not DarkCrystal RAT (§3.7, excluded). The image rule
 * needs DcRat strings, its underscore-mangled Settings names, and Settings IL; VenomRAT (a DcRat
 * fork) is excluded by its own strings, as the public rules do, but only near the client's own
 * IL: a memory dump holds other modules and heap text that may name them. */

rule dcrat_dotnet_settings
{
    meta:
        family = "dcrat"
        description = "DcRat client image (mapped or flat): DcRat strings, Settings names, IL"
    strings:
        $s1 = "DcRatByqwqdanchun" wide
        $s2 = "qwqdanchun" ascii wide
        $s3 = "YW1zaS5kbGw=" ascii wide
        $s4 = "VmlydHVhbFByb3RlY3Q=" ascii wide
        $s5 = "save_Plugin" ascii
        $s6 = "masterKey can not be null or empty" wide
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
        $x1 = "VenomRAT" ascii wide nocase
        $x2 = "HVNC_REPLY_MESSAGE" ascii wide
        $x3 = "DCR_MUTEX" ascii wide
    condition:
        ((2 of ($s*) and 3 of ($n*)) or 4 of ($s*)) and $il_aes and $il_verify and
        not any of ($x*) in (@il_aes[1] - 0x80000 .. @il_aes[1] + 0x80000)
}

rule dcrat_heap_strings
{
    meta:
        family = "dcrat"
        description = "decrypted DcRat settings as CLR string objects on the GC heap"
    strings:
        /* the high bytes of the object's length field, then "DcRatMutex_" in UTF-16 */
        $heap_mutex = { 00 00 44 00 63 00 52 00 61 00 74 00 4D 00 75 00 74 00 65 00 78 00 5F 00 }
        /* a Ports value: "<digits>,<digits>" in UTF-16 */
        $heap_ports = { 3? 00 3? 00 2C 00 3? 00 3? 00 3? 00 }
    condition:
        $heap_mutex and $heap_ports
}
