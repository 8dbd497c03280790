// Remcos RAT. Each rule needs at least two independent markers: names and log lines from the
// payload, its RC4 code, the icon-mask bytes that precede the SETTINGS blob in .rsrc, or the
// separator of decrypted settings. The decoder proves every config itself; these rules only
// decide which dumps it looks at and where.

rule remcos_payload
{
    meta:
        family = "remcos"
        description = "Remcos payload: name or log strings together with its RC4 loops or settings markers"
    strings:
        $name = "Remcos" ascii wide nocase
        $log_cc = "Connected to C&C" ascii wide
        $log_keylog = "Keylogger Started" ascii wide
        $log_licence = "licence_code.txt" ascii wide
        $log_firefox = "[Firefox StoredLogins Cleared!]" ascii wide
        $time = "%02i:%02i:%02i:%03i" ascii wide
        $vendor1 = "BreakingSecurity.Net" ascii wide nocase
        $vendor2 = "Breaking-Security.Net" ascii wide nocase
        $settings = "SETTINGS" wide
        $anchor = { E0 00 00 07 E0 00 00 07 FF FF FF FF }
        $ksa = { 81 E1 FF 00 00 80 79 ?? 4? 81 C9 00 FF FF FF 4? 8A ?4 8? }
        $prga = { 0F B6 [1-7] 8B 45 08 [0-2] 8D 34 07 8B 01 03 C2 8B CB 99 F7 F9 8A 84 95 ?? ?? FF FF 30 06 47 3B 7D 0C 72 }
    condition:
        ($name and 2 of ($log_*, $time, $vendor*)) or
        (any of ($ksa, $prga) and 1 of ($name, $log_*, $time, $vendor*) and 1 of ($settings, $anchor))
}

rule remcos_settings_plain
{
    meta:
        family = "remcos"
        description = "Decrypted Remcos settings (newest separator) in a process that also holds Remcos strings"
    strings:
        $sep = { 7C 1E 1E 1F 7C }
        $name = "Remcos" ascii wide nocase
        $log_cc = "Connected to C&C" ascii wide
        $log_keylog = "Keylogger Started" ascii wide
        $time = "%02i:%02i:%02i:%03i" ascii wide
    condition:
        #sep >= 8 and 2 of ($name, $log_*, $time)
}
