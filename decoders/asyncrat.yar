/* AsyncRAT (families.md §3.4). The image rule needs builder/client strings or Settings field
 * names, the Aes256 salt bytes, and Settings IL; DcRat and VenomRAT (AsyncRAT forks that keep
 * most of these) are excluded by their own strings, as the public rules do, but only near the
 * client's own IL: a memory dump holds other modules and heap text that may name them. */

rule asyncrat_dotnet_settings
{
    meta:
        family = "asyncrat"
        description = "AsyncRAT client image (mapped or flat): client strings, Settings names, salt, IL"
    strings:
        $s1 = "AsyncClient" ascii wide
        $s2 = "masterKey can not be null or empty" wide
        $s3 = "schtasks /create /f /sc onlogon /rl highest /tn " wide
        $n1 = "Serversignature" ascii fullword
        $n2 = "InstallFolder" ascii fullword
        $n3 = "InstallFile" ascii fullword
        $n4 = "Pastebin" ascii fullword
        $n5 = "BDOS" ascii fullword
        $n6 = "ServerCertificate" ascii fullword
        $salt = { BF EB 1E 56 FB CD 97 3B B2 19 02 24 30 A5 78 43 }
        /* ldsfld Key; newobj Aes256::.ctor; stsfld aes256 */
        $il_aes = { 7E ?? ?? ?? 04 73 ?? ?? ?? 06 80 ?? ?? ?? 04 }
        /* ldsfld ServerCertificate; callvirt get_PublicKey; callvirt get_Key; castclass RSA... */
        $il_verify = { 7E ?? ?? ?? 04 6F ?? ?? ?? 0A 6F ?? ?? ?? 0A 74 ?? ?? ?? 01 }
        $x1 = "DcRat" ascii wide nocase
        $x2 = "qwqdan" ascii wide
        $x3 = "YW1zaS5kbGw=" ascii wide
        $x4 = "VmlydHVhbFByb3RlY3Q=" ascii wide
        $x5 = "save_Plugin" ascii wide
        $x6 = "VenomRAT" ascii wide nocase
        $x7 = "HVNC_REPLY_MESSAGE" ascii wide
    condition:
        (2 of ($s*) or 4 of ($n*)) and $salt and $il_aes and $il_verify and
        not any of ($x*) in (@il_aes[1] - 0x80000 .. @il_aes[1] + 0x80000)
}

rule asyncrat_heap_strings
{
    meta:
        family = "asyncrat"
        description = "decrypted AsyncRAT settings as CLR string objects on the GC heap"
    strings:
        /* the high bytes of the object's length field, then "AsyncMutex_" in UTF-16 */
        $heap_mutex = { 00 00 41 00 73 00 79 00 6E 00 63 00 4D 00 75 00 74 00 65 00 78 00 5F 00 }
        /* a Ports value: "<digits>,<digits>" in UTF-16 */
        $heap_ports = { 3? 00 3? 00 2C 00 3? 00 3? 00 3? 00 }
    condition:
        $heap_mutex and $heap_ports
}
