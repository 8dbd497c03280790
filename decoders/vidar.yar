// Vidar Stealer (families.md §7). Every rule pairs code from the payload with a second,
// independent marker; the decoder proves each config itself (printable XOR output, version
// shape, `http` records) and reports nothing from these hits alone.

rule vidar_xor_strings
{
    meta:
        family = "vidar"
        description = "Vidar era 2: the XOR string-table decrypt loop with the version xref or decrypted stealer strings"
    strings:
        // lstrlen(key); div; out[i] = data[i] ^ key[i % keylen]  (CAPE VidarOld)
        $dec_loop = { FF 75 0C 8D 34 1F FF 15 ?? ?? ?? ?? 8B C8 33 D2 8B C7 F7 F1 8B 45 0C 8B 4D 08 8A 04 02 32 04 31 47 88 06 3B 7D 10 72 D8 }
        // push offset version; mov [ebp-4], eax; mov [esi], al
        $ver_xref1 = { 68 ?? ?? ?? ?? 89 45 FC 88 06 E8 ?? ?? ?? ?? 83 C4 04 }
        $ver_xref2 = { 68 ?? ?? ?? ?? 8B CE 89 45 FC 88 06 }
        $str_wallet = "*wallet*.dat" ascii wide
        $str_os_crypt = "\"os_crypt\":{\"encrypted_key\":\"" ascii wide
        $str_cc = "CC\\%s_%s.txt" ascii wide
        $str_hist = "History\\%s_%s.txt" ascii wide
        $str_autofill = "Autofill\\%s_%s.txt" ascii wide
        $str_hal = "HAL9TH" ascii wide
        $str_john = "JohnDoe" ascii wide
    condition:
        $dec_loop and (any of ($ver_xref*) or 2 of ($str_*))
}

rule vidar_config_blob
{
    meta:
        family = "vidar"
        description = "Vidar era 3 (x64): CAPE's config-parsing code with the stealer's collection strings"
    strings:
        $x64_cfg = { 4D 85 C0 75 0? [0-16] (41|45) 88 ?? [0-20] (41|45) 38 ?? 74 ?? [0-16] (48|49|4C|4D) (63|2B) [0-16] 4? 3B ?? 73 }
        $str_local_state = "\\Local State" ascii wide
        $str_os_crypt = "\"os_crypt\":{\"encrypted_key\":\"" ascii wide
        $str_wallet = "*wallet*.dat" ascii wide
        $str_shot = "screenshot.jpg" ascii wide
        $str_form = "Content-Disposition: form-data; name=\"" ascii wide
    condition:
        $x64_cfg and 3 of ($str_*)
}
