// Lumma Stealer (LummaC2), every config-storage era of families.md §5. Each rule combines
// independent markers: the payload's base64 decoder, its "=" or "." padding check, the
// index-mod-32 XOR loop and the Heaven's Gate stub from the code, the config marker or the
// key-copy sequence, and era strings. The decoder proves every C2 by its domain shape; these
// rules only choose the dumps and the places it looks at.

rule lumma_chacha_config
{
    meta:
        family = "lumma"
        description = "Lumma ChaCha20 config (2025): the 16-byte marker before key and nonce, with Lumma code"
    strings:
        $marker = { 32 1D 30 F9 48 77 82 5A 3C BF 73 7F DD 4F 15 75 }
        $b64dec = { B0 40 C3 B0 3F C3 89 C8 04 D0 3C 09 77 06 80 C1 04 89 C8 C3 89 C8 04 BF 3C }
        $pad = { C1 (E9|EA) 02 [0-8] 83 (F8|F9) 3D 74 05 83 (F8|F9) 2E 75 01 (49|4A) }
        $gate = { F3 A5 8B 74 24 F8 8B 7C 24 F4 8D 54 24 04 FF 54 24 FC C3 }
    condition:
        $marker and 1 of ($b64dec, $pad, $gate)
}

rule lumma_code_config
{
    meta:
        family = "lumma"
        description = "Lumma mid-2025 config: key and nonce copied by address, C2 array indexed by 0x80"
    strings:
        $keys = { B8 ?? ?? ?? ?? ( BF ?? ?? ?? ?? B9 08 00 00 00 | B9 08 00 00 00 BF ?? ?? ?? ?? ) 96 F3 A5 96 B8 }
        $array = { C1 E? 07 8D 8? ?? ?? ?? ?? 8D 74 24 ?? FF [1-3] 56 5? }
    condition:
        $keys and $array
}

rule lumma_xor_strings
{
    meta:
        family = "lumma"
        description = "Lumma 2023-2024 payload: base64 + 32-byte XOR C2 strings, decoder and XOR loop"
    strings:
        $b64dec = { B0 40 C3 B0 3F C3 89 C8 04 D0 3C 09 77 06 80 C1 04 89 C8 C3 89 C8 04 BF 3C }
        $pad = { C1 (E9|EA) 02 [0-8] 83 (F8|F9) 3D 74 05 83 (F8|F9) 2E 75 01 (49|4A) }
        $xorloop = { 0F B6 [2-6] 83 E? 1F 32 }
        $central = "finding central directory" ascii
    condition:
        $xorloop and 1 of ($b64dec, $pad) and $central
}

rule lumma_edx765
{
    meta:
        family = "lumma"
        description = "LummaC2 2022-2023 strings hidden by the edx765 junk substring, with Lumma code"
    strings:
        $junk = "edx765" ascii wide
        $b64dec = { B0 40 C3 B0 3F C3 89 C8 04 D0 3C 09 77 06 80 C1 04 89 C8 C3 89 C8 04 BF 3C }
        $pad = { C1 (E9|EA) 02 [0-8] 83 (F8|F9) 3D 74 05 83 (F8|F9) 2E 75 01 (49|4A) }
        $gate = { F3 A5 8B 74 24 F8 8B 7C 24 F4 8D 54 24 04 FF 54 24 FC C3 }
    condition:
        #junk >= 3 and 1 of ($b64dec, $pad, $gate)
}
