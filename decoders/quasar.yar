/* QuasarRAT (families.md §2.4). Each rule needs several independent markers: metadata names of
 * the Settings class, the PBKDF2 salt, the VerifyHash IL sequence, builder/crypto literals. */

rule quasar_dotnet_settings
{
    meta:
        family = "quasar"
        description = "QuasarRAT client image (mapped or flat): Settings field names, salt, IL"
    strings:
        $salt = { BF EB 1E 56 FB CD 97 3B B2 19 02 24 30 A5 78 43 00 3D 56 44 D2 1E 62 B9 }
        /* ldsfld SERVERCERTIFICATE; callvirt get_PublicKey; callvirt get_Key; castclass RSA... */
        $verifyhash = { 7E ?? ?? ?? 04 6F ?? ?? ?? 0A 6F ?? ?? ?? 0A 74 ?? ?? ?? 01 }
        $masterkey = "masterKey can not be null or empty" wide
        $n1 = "ENCRYPTIONKEY" ascii fullword
        $n2 = "RECONNECTDELAY" ascii fullword
        $n3 = "ENABLELOGGER" ascii fullword
        $n4 = "STARTUPKEY" ascii fullword
        $n5 = "HIDELOGDIRECTORY" ascii fullword
        $n6 = "LOGDIRECTORYNAME" ascii fullword
        $n7 = "SERVERCERTIFICATESTR" ascii fullword
        $n8 = "Quasar.Client.Config" ascii
        $n9 = "xClient.Config" ascii
        $n10 = "QSR_MUTEX_" wide
    condition:
        5 of ($n*) or ($salt and (2 of ($n*) or $verifyhash or $masterkey))
}

rule quasar_heap_strings
{
    meta:
        family = "quasar"
        description = "decrypted QuasarRAT settings as CLR string objects on the GC heap"
    strings:
        /* the high bytes of the object's length field, then "QSR_MUTEX_" in UTF-16 */
        $heap_mutex = { 00 00 51 00 53 00 52 00 5F 00 4D 00 55 00 54 00 45 00 58 00 5F 00 }
        /* end of a HOSTS value: ":<port>;" then the string's NUL terminator */
        $heap_hosts_end = { 3A 00 3? 00 3? 00 [0-6] 3B 00 00 00 }
    condition:
        $heap_mutex and $heap_hosts_end
}

rule quasar_banker_fork
{
    meta:
        family = "quasar"
        description = "QuasarRAT '1.0.00.rN' banker fork: Quasar 1.0 Settings names in clear with the fork's version literal, its random-domain IL or its XOR string-table IL"
    strings:
        $ver = "1.0.00.r" wide
        /* Roslyn: newobj Random; newobj List; dup; ldstr host; callvirt Add */
        $rd = { 73 ?? ?? ?? 0A 73 ?? ?? ?? 0A 25 72 ?? ?? ?? 70 6F ?? ?? ?? 0A }
        /* if (id == 1) return Decode("hexA:hexB"); if (id == 2) ..., short or long bne.un */
        $xd_s = { 02 17 33 ?? 72 ?? ?? ?? 70 28 ?? ?? ?? 06 2A 02 18 33 ?? 72 ?? ?? ?? 70 28 ?? ?? ?? 06 2A }
        $xd_l = { 02 17 40 ?? ?? ?? ?? 72 ?? ?? ?? 70 28 ?? ?? ?? 06 2A 02 18 40 ?? ?? ?? ?? 72 ?? ?? ?? 70 28 ?? ?? ?? 06 2A }
        $n1 = "ENCRYPTIONKEY" ascii fullword
        $n2 = "RECONNECTDELAY" ascii fullword
        $n3 = "ENABLELOGGER" ascii fullword
        $n4 = "STARTUPKEY" ascii fullword
        $n5 = "SUBFOLDER" ascii fullword
        $n6 = "INSTALLNAME" ascii fullword
        $n7 = "HIDEFILE" ascii fullword
        $n8 = "SPECIALFOLDER" ascii fullword
    condition:
        5 of ($n*) and ($ver or $rd or $xd_s or $xd_l)
}
