/* RedLine Stealer (families.md §6.5). Module class names of the stealer together with one of
 * the config markers: the settings .cctor IL or a #US anchor literal the decoder works from. With
 * the image gone, `Yandex\YaAddon` and another of its runtime strings as whole CLR strings. */

rule redline_dotnet_stealer
{
    meta:
        family = "redline"
        description = "RedLine Stealer image (mapped or flat): module names plus config IL or #US anchor"
    strings:
        /* 4x (ldstr; stsfld) IP, ID, Message, Key; ldc.i4.1; stsfld Version; ret */
        $cctor = { 72 ?? ?? ?? 70 80 ?? ?? ?? 04 72 ?? ?? ?? 70 80 ?? ?? ?? 04 72 ?? ?? ?? 70 80 ?? ?? ?? 04 72 ?? ?? ?? 70 80 ?? ?? ?? 04 17 80 ?? ?? ?? 04 2A }
        $yandex = "Yandex\\YaAddon" wide
        $auth = "Authorization" wide fullword
        $n1 = "AllWalletsRule" ascii fullword
        $n2 = "ArmoryRule" ascii fullword
        $n3 = "BrowserExtensionsRule" ascii fullword
        $n4 = "FileScannerRule" ascii fullword
        $n5 = "GeoPlugin" ascii fullword
        $n6 = "ScannedBrowser" ascii fullword
        $n7 = "StringDecrypt" ascii fullword
        $n8 = "TaskResolver" ascii fullword
        $n9 = "XMRRule" ascii fullword
        $n10 = "CommandLineUpdate" ascii fullword
        $n11 = "DownloadAndExecuteUpdate" ascii fullword
    condition:
        4 of ($n*) and ($cctor or $yandex or $auth)
}

rule redline_heap_strings
{
    meta:
        family = "redline"
        description = "decrypted RedLine strings as CLR string objects on the GC heap (image gone)"
    strings:
        /* Each string is a whole CLR string object (int32 length, UTF-16 chars, NUL char), which
         * prose naming the family, the #US heap (compressed lengths) and longer strings are not. */
        /* "Yandex\YaAddon", interned by the browser scan */
        $heap_yandex = { 0E 00 00 00 59 00 61 00 6E 00 64 00 65 00 78 00 5C 00 59 00 61 00 41 00 64 00 64 00 6F 00 6E 00 00 00 }
        /* "Authorization", the name of the channel's address header */
        $heap_auth = { 0D 00 00 00 41 00 75 00 74 00 68 00 6F 00 72 00 69 00 7A 00 61 00 74 00 69 00 6F 00 6E 00 00 00 }
        /* "net.tcp://" at the start of a string: the panel's endpoint URI */
        $heap_nettcp = { ?? 00 00 00 6E 00 65 00 74 00 2E 00 74 00 63 00 70 00 3A 00 2F 00 2F 00 }
    condition:
        $heap_yandex and ($heap_auth or $heap_nettcp)
}
