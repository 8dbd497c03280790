/* RedLine Stealer (families.md §6.5). Module class names of the stealer together with one of
 * the config markers: the settings .cctor IL or a #US anchor literal the decoder works from. */

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
