// ROKRAT (ScarCruft / APT37), families.md §8. Cloud API host names never count as markers:
// benign sync clients talk to the same APIs. A rule needs two independent ROKRAT markers: code
// (S2W AES immediates, the (b - 0Fh) ^ C8h URL loop, the MT19937 twist) or strings specific to
// the payload (2018 format strings, 2017 strings, the sandbox-DLL pair).

rule rokrat_payload
{
    meta:
        family = "rokrat"
        description = "ROKRAT: two independent markers among its code patterns and payload strings"
    strings:
        $code_aes_iv = { C7 4? [1-2] 32 31 12 23 }
        $code_aes_key = { C7 4? [1-2] 2B 7E A5 16 }
        $code_url_dec = { 80 E9 0F 80 F1 C8 88 48 ?? 48 83 EA 01 }
        $code_mt = { 25 DF B0 08 99 33 87 30 06 00 00 }
        $s_pho = "/pho_%s_%d.jpg" wide
        $s_def = "def_%s.jpg" wide
        $s_login = "login=%s&password=%s&login_submit=Authorizing" wide
        $s_cookie = "Set-Cookie:\\b*{.+?}\\n" wide
        $s_charset = "charset={[A-Za-z0-9\\-_]+}" wide
        $s_mac = "MAC-SIL-TED-FOO-YIM-LAN-WAN-SEC-BIL-TAB" ascii wide
        $s_aboard = "\\Aboard\\Acm%c%c%c.exe" ascii wide
        $dll_log = "api_log.dll" ascii wide nocase
        $dll_watch = "dir_watch.dll" ascii wide nocase
        // Cloud API tokens in request text on the heap: never markers, only located by this
        // scan so that the decoder need not search the dump again.
        $tok_oauth = "Authorization: OAuth "
        $tok_bearer = "Authorization: Bearer "
        $tok_query = "access_token="
    condition:
        #tok_oauth + #tok_bearer + #tok_query >= 0 and
        // the IV and key come from one routine: together they are one marker
        ((($code_aes_iv and $code_aes_key) and ($code_url_dec or $code_mt or 1 of ($s_*))) or
        ($code_url_dec and ($code_mt or 1 of ($s_*))) or
        ($code_mt and 1 of ($s_*)) or
        2 of ($s_*) or
        (1 of ($s_*) and all of ($dll_*)))
}
