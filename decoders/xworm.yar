/* XWorm (families.md §3.6). The MD5(Mutex) key call in IL plus several independent markers:
 * command literals of the packet handler, the keylogger file, and the Settings field names. */

rule xworm_dotnet_client
{
    meta:
        family = "xworm"
        description = "XWorm client image (mapped or flat): MD5 key call, commands, Settings names"
    strings:
        /* ldsfld Mutex; call <UTF-8 bytes helper>; callvirt ComputeHash */
        $md5call = { 7E ?? ?? ?? 04 28 ?? ?? ?? 06 6F ?? ?? ?? 0A }
        $c1 = "StartDDos" wide
        $c2 = "StopDDos" wide
        $c3 = "Xchat" wide fullword
        $c4 = "\\Log.tmp" wide
        $c5 = "XWorm V" wide
        $c6 = "<Xwormmm>" wide
        $n1 = "XClient" ascii fullword
        $n2 = "USBNM" ascii fullword
        $n3 = "Groub" ascii fullword
        $n4 = "InstallStr" ascii fullword
        $n5 = "LoggerPath" ascii fullword
    condition:
        $md5call and 3 of ($c*, $n*)
}
