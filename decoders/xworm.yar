/* XWorm (families.md §3.6). The MD5(Mutex) key call in IL plus several independent markers:
 * command literals of the packet handler, the keylogger file, and the Settings field names. With
 * the image gone, two kinds of decrypted setting left on the heap as whole CLR strings. */

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

rule xworm_heap_strings
{
    meta:
        family = "xworm"
        description = "decrypted XWorm settings as CLR string objects on the GC heap (image gone)"
    strings:
        /* Each string is a whole CLR string object: the int32 length, the UTF-16 chars, the NUL
         * char. Text naming the family in prose, or the same words inside longer strings or the
         * #US heap (compressed lengths), does not have this shape. */
        /* the default splitter "<Xwormmm>" */
        $heap_spl = { 09 00 00 00 3C 00 58 00 77 00 6F 00 72 00 6D 00 6D 00 6D 00 3E 00 00 00 }
        /* a KEY "<digits>" */
        $heap_key = /[\x05-\x22]\x00\x00\x00<\x00([0-9]\x00){3,32}>\x00\x00\x00/
        /* the default group and notification text "XWorm V<n>." at the start of a string */
        $heap_ver = { ?? 00 00 00 58 00 57 00 6F 00 72 00 6D 00 20 00 56 00 3? 00 2E 00 }
    condition:
        2 of them
}
