/* JSON Schema (draft 2020-12) of a memcfg record, with MACO ExtractorModel 1.2.26 under $defs.
 *
 * The MACO part is written from the model's field list (output.md 1.2-1.4): every object forbids
 * unknown keys except the free-form maps (other, Binary.other, Http.headers); optional scalars
 * may be null as in the pydantic model, though memcfg leaves empty fields out.
 *
 * Record types:
 *   config  a decoder's config: requires detection, decoder, confidence, fingerprint, config.
 *   error   the input could not be opened, parsed or scanned: status "failed" and an `error`
 *           object {code, message}; code is the md_err name (MD_E_IO, MD_E_EMPTY, ...) or
 *           MC_E_SCAN. An error record carries NO config: a placeholder family would reach
 *           MACO consumers as a bogus detection, and the MACO validator skips records without
 *           one. This is the one departure from output.md 7.1, where config is always required.
 * Keys starting with "x_" are allowed at the top level for local extensions. "defanged": true
 * marks a record whose hosts and URLs were defanged on request (--defang on a machine format).
 */
#include "memcfg.h"

#include <stdarg.h>

static json_t *type(const char *t) { return json_pack("{s:s}", "type", t); }
static json_t *ref(const char *name)
{
    char buf[128];
    snprintf(buf, sizeof buf, "#/$defs/%s", name);
    return json_pack("{s:s}", "$ref", buf);
}
static json_t *nullable(json_t *s) { return json_pack("{s:[o,{s:s}]}", "anyOf", s, "type", "null"); }
static json_t *nstr(void) { return nullable(type("string")); }
static json_t *nint(void) { return nullable(type("integer")); }
static json_t *array_of(json_t *items) { return json_pack("{s:s, s:o}", "type", "array", "items", items); }
static json_t *strlist(void) { return array_of(type("string")); }
static json_t *free_map(void) { return json_pack("{s:s, s:b}", "type", "object", "additionalProperties", 1); }
static json_t *bytes(void) { return json_pack("{s:s, s:s}", "type", "string", "format", "binary"); }

/* A closed object from NULL-terminated (name, schema) pairs; required is a NULL-terminated list
 * or NULL. */
static json_t *closed(const char *const *required, ...)
{
    json_t *props = json_object();
    va_list ap;
    va_start(ap, required);
    for (const char *k; (k = va_arg(ap, const char *));)
        json_object_set_new(props, k, va_arg(ap, json_t *));
    va_end(ap);
    json_t *o = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
                          "additionalProperties", 0);
    if (required) {
        json_t *r = json_array();
        for (; *required; required++)
            json_array_append_new(r, json_string(*required));
        json_object_set_new(o, "required", r);
    }
    return o;
}

static json_t *enum_of(const char *const *v)
{
    json_t *e = json_array();
    for (; *v; v++)
        json_array_append_new(e, json_string(*v));
    return json_pack("{s:s, s:o}", "type", "string", "enum", e);
}

static const char *const conn_usage[] = {"c2", "upload", "dead_drop_resolver", "download",
    "propagate", "tunnel", "ransom", "decoy", "other", NULL};
static const char *const category[] = {"adware", "apt", "backdoor", "banker", "bootkit", "bot",
    "browser_hijacker", "bruteforcer", "clickfraud", "cryptominer", "ddos", "downloader",
    "dropper", "exploitkit", "fakeav", "hacktool", "infostealer", "keylogger", "loader",
    "obfuscator", "pos", "proxy", "rat", "ransomware", "reverse_proxy", "rootkit", "scanner",
    "scareware", "spammer", "trojan", "virus", "wiper", "webshell", "worm", NULL};
static const char *const record_types[] = {"A", "AAAA", "AFSDB", "APL", "CAA", "CDNSKEY", "CDS",
    "CERT", "CNAME", "CSYNC", "DHCID", "DLV", "DNAME", "DNSKEY", "DS", "EUI48", "EUI64", "HINFO",
    "HIP", "HTTPS", "IPSECKEY", "KEY", "KX", "LOC", "MX", "NAPTR", "NS", "NSEC", "NSEC3",
    "NSEC3PARAM", "OPENPGPKEY", "PTR", "RRSIG", "RP", "SIG", "SMIMEA", "SOA", "SRV", "SSHFP",
    "SVCB", "TA", "TKEY", "TLSA", "TSIG", "TXT", "URI", "ZONEMD", NULL};
static const char *const binary_types[] = {"payload", "config", "other", NULL};
static const char *const crypto_usage[] = {"config", "communication", "binary", "ransom",
    "other", NULL};
static const char *const coin_usage[] = {"ransomware", "miner", "other", NULL};
static const char *const path_usage[] = {"c2", "config", "install", "plugins", "logs",
    "storage", "other", NULL};
static const char *const reg_usage[] = {"persistence", "store_data", "store_payload", "read",
    "other", NULL};

static json_t *usage(void) { return nullable(ref("maco_ConnUsageEnum")); }
static json_t *nstrlist(void) { return nullable(strlist()); }

static void maco_enums(json_t *defs)
{
    json_object_set_new(defs, "maco_ConnUsageEnum", enum_of(conn_usage));
    json_object_set_new(defs, "maco_CategoryEnum", enum_of(category));
    json_object_set_new(defs, "maco_RecordTypeEnum", enum_of(record_types));
    json_object_set_new(defs, "maco_BinaryTypeEnum", enum_of(binary_types));
    json_object_set_new(defs, "maco_EncryptionUsageEnum", enum_of(crypto_usage));
    json_object_set_new(defs, "maco_CryptocurrencyUsageEnum", enum_of(coin_usage));
    json_object_set_new(defs, "maco_PathUsageEnum", enum_of(path_usage));
    json_object_set_new(defs, "maco_RegistryUsageEnum", enum_of(reg_usage));
}

static void maco_objects(json_t *defs)
{
    static const char *const req_data[] = {"data", NULL}, *const req_usage[] = {"usage", NULL},
                             *const req_path[] = {"path", NULL}, *const req_key[] = {"key", NULL};
    json_object_set_new(defs, "maco_Encryption", closed(NULL,
        "algorithm", nstr(), "public_key", nstr(), "key", nstr(), "provider", nstr(),
        "mode", nstr(), "iv", nstr(), "seed", nstr(), "nonce", nstr(), "password", nstr(),
        "salt", nstr(), "constants", strlist(),
        "usage", nullable(ref("maco_EncryptionUsageEnum")), NULL));
    json_object_set_new(defs, "maco_Binary", closed(req_data,
        "datatype", nullable(ref("maco_BinaryTypeEnum")), "data", bytes(), "other", free_map(),
        "encryption", json_pack("{s:[o,o,{s:s}]}", "anyOf", array_of(ref("maco_Encryption")),
                                ref("maco_Encryption"), "type", "null"), NULL));
    json_object_set_new(defs, "maco_FTP", closed(NULL, "username", nstr(), "password", nstr(),
        "hostname", nstr(), "port", nint(), "path", nstr(), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_SMTP", closed(NULL, "username", nstr(), "password", nstr(),
        "hostname", nstr(), "port", nint(), "mail_to", strlist(), "mail_from", nstr(),
        "subject", nstr(), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_Http", closed(NULL, "uri", nstr(), "protocol", nstr(),
        "username", nstr(), "password", nstr(), "hostname", nstr(), "port", nint(),
        "path", nstr(), "query", nstr(), "fragment", nstr(), "user_agent", nstr(),
        "method", nstr(),
        "headers", nullable(json_pack("{s:s, s:{s:s}}", "type", "object",
                                      "additionalProperties", "type", "string")),
        "max_size", nint(), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_SSH", closed(NULL, "username", nstr(), "password", nstr(),
        "hostname", nstr(), "port", nint(), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_Proxy", closed(NULL, "protocol", nstr(), "username", nstr(),
        "password", nstr(), "hostname", nstr(), "port", nint(), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_ICMP", closed(NULL, "type", nint(), "code", nint(),
        "header", nstr(), "hostname", nstr(), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_IPC", closed(NULL, "file", nstrlist(), "socket", nstrlist(),
        "unix_domain_socket", nstrlist(),
        "memory_mapped_file", json_pack("{s:[o,o,{s:s}]}", "anyOf", bytes(), strlist(),
                                        "type", "null"),
        "message_queue", nstrlist(), "anonymous_pipe", nstrlist(), "named_pipe", nstrlist(),
        "process_names", nstrlist(), "shared_memory", nullable(bytes()), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_DNS", closed(NULL, "ip", nstr(), "port", nint(),
        "hostname", nstr(), "record_type", nullable(ref("maco_RecordTypeEnum")),
        "usage", usage(), NULL));
    json_object_set_new(defs, "maco_Connection", closed(NULL, "client_ip", nstr(),
        "client_port", nint(), "server_ip", nstr(), "server_domain", nstr(),
        "server_port", nint(), "usage", usage(), NULL));
    json_object_set_new(defs, "maco_Service", closed(NULL, "dll", nstr(), "name", nstr(),
        "display_name", nstr(), "description", nstr(), NULL));
    json_object_set_new(defs, "maco_Cryptocurrency", closed(req_usage, "coin", nstr(),
        "address", nstr(), "ransom_amount", nullable(type("number")),
        "usage", ref("maco_CryptocurrencyUsageEnum"), NULL));
    json_object_set_new(defs, "maco_Path", closed(req_path, "path", type("string"),
        "usage", nullable(ref("maco_PathUsageEnum")), NULL));
    json_object_set_new(defs, "maco_Registry", closed(req_key, "key", type("string"),
        "usage", nullable(ref("maco_RegistryUsageEnum")), NULL));
    /* ExtractorModel.scheduled_tasks is typed against an empty nested model at 1.2.26. */
    json_object_set_new(defs, "maco_ScheduledTask", closed(NULL, NULL));
}

static json_t *list_of(const char *def) { return array_of(ref(def)); }

static json_t *maco_model(void)
{
    static const char *const req[] = {"family", NULL};
    json_t *m = closed(req,
        "family", json_pack("{s:[o,o]}", "anyOf", type("string"), strlist()),
        "version", nstr(), "category", list_of("maco_CategoryEnum"), "attack", strlist(),
        "capability_enabled", strlist(), "capability_disabled", strlist(),
        "campaign_id", strlist(), "identifier", strlist(), "decoded_strings", strlist(),
        "password", strlist(), "mutex", strlist(), "pipe", strlist(), "sleep_delay", nint(),
        "sleep_delay_jitter", nint(), "inject_exe", strlist(), "other", free_map(),
        "binaries", list_of("maco_Binary"), "ftp", list_of("maco_FTP"),
        "smtp", list_of("maco_SMTP"), "http", list_of("maco_Http"), "ssh", list_of("maco_SSH"),
        "proxy", list_of("maco_Proxy"), "icmp", list_of("maco_ICMP"), "ipc", list_of("maco_IPC"),
        "dns", list_of("maco_DNS"), "tcp", list_of("maco_Connection"),
        "udp", list_of("maco_Connection"), "encryption", list_of("maco_Encryption"),
        "service", list_of("maco_Service"), "cryptocurrency", list_of("maco_Cryptocurrency"),
        "paths", list_of("maco_Path"), "registry", list_of("maco_Registry"),
        "scheduled_tasks", list_of("maco_ScheduledTask"), NULL);
    json_object_set_new(m, "description", json_string("MACO ExtractorModel " MC_MACO_VERSION));
    return m;
}

/* ---- wrapper ---- */

static json_t *hexva(void)
{
    return json_pack("{s:s, s:s}", "type", "string", "pattern", "^0x[0-9a-f]{16}$");
}
static json_t *uint_(void) { return json_pack("{s:s, s:i}", "type", "integer", "minimum", 0); }

static void wrapper_defs(json_t *defs)
{
    static const char *const req_tool[] = {"name", "version", "maco_version", "ruleset_sha256",
                                           NULL};
    static const char *const req_input[] = {"path", NULL};
    static const char *const req_region[] = {"va", "size", "protect", NULL};
    static const char *const req_rule[] = {"rule", "namespace", "tags", NULL};
    static const char *const req_loc[] = {"va", NULL};
    static const char *const req_det[] = {"rules", "locations", NULL};
    static const char *const req_dec[] = {"name", "version", NULL};
    static const char *const req_err[] = {"code", "message", NULL};
    json_t *sha = json_pack("{s:s, s:s}", "type", "string", "pattern", "^[0-9a-f]{64}$");
    json_object_set_new(defs, "tool", closed(req_tool, "name", type("string"),
        "version", type("string"), "maco_version", type("string"), "ruleset_sha256", sha, NULL));
    json_object_set_new(defs, "input", closed(req_input, "path", type("string"),
        "sha256", json_pack("{s:s, s:s}", "type", "string", "pattern", "^[0-9a-f]{64}$"),
        "size", uint_(),
        "format", json_pack("{s:s, s:[s,s,s,s,s,s]}", "type", "string", "enum", "raw", "pe",
                            "minidump", "cuckoo", "elfcore", "unknown"),
        "compression", json_pack("{s:s, s:[s,s]}", "type", "string", "enum", "gzip", "zlib"),
        "arch", type("string"),
        "process", closed(NULL, "pid", uint_(), "name", type("string"), NULL),
        "regions", uint_(), "warnings", strlist(), NULL));
    json_object_set_new(defs, "region", closed(req_region, "va", hexva(), "size", uint_(),
        "protect", type("string"),
        "type", json_pack("{s:s, s:[s,s,s]}", "type", "string", "enum", "image", "mapped",
                          "private"),
        "module", type("string"), "file_offset", uint_(), NULL));
    json_object_set_new(defs, "rule", closed(req_rule, "rule", type("string"),
        "namespace", type("string"), "tags", strlist(), NULL));
    json_object_set_new(defs, "location", closed(req_loc, "va", hexva(), "region", ref("region"),
                                                 NULL));
    json_object_set_new(defs, "detection", closed(req_det, "rules", list_of("rule"),
        "region", ref("region"),
        "locations", json_pack("{s:s, s:o, s:i}", "type", "array", "items", ref("location"),
                               "minItems", 1), NULL));
    json_object_set_new(defs, "decoder", closed(req_dec, "name", type("string"),
        "version", type("string"), NULL));
    json_object_set_new(defs, "error", closed(req_err, "code", type("string"),
        "message", type("string"), NULL));
    /* a merged record's inputs (--merge): where each copy of the config was found */
    json_object_set_new(defs, "source", closed(req_input, "path", type("string"),
        "sha256", json_pack("{s:s, s:s}", "type", "string", "pattern", "^[0-9a-f]{64}$"),
        "pid", uint_(), "va", hexva(), NULL));
}

/* if record_type == X then require these keys (and for errors, forbid config) */
static json_t *when(const char *rt, json_t *then)
{
    return json_pack("{s:{s:{s:{s:s}}, s:[s]}, s:o}", "if", "properties", "record_type",
                     "const", rt, "required", "record_type", "then", then);
}

json_t *mc_record_schema(void)
{
    static const char *const req[] = {"schema_version", "record_type", "tool", "input", "status",
                                      NULL};
    json_t *defs = json_object();
    maco_enums(defs);
    maco_objects(defs);
    json_object_set_new(defs, "maco_ExtractorModel", maco_model());
    wrapper_defs(defs);

    json_t *s = closed(req,
        "schema_version", json_pack("{s:s}", "const", MC_SCHEMA_VERSION),
        "record_type", json_pack("{s:s, s:[s,s,s]}", "type", "string", "enum", "config", "error",
                                 "summary"),
        "tool", ref("tool"), "input", ref("input"), "detection", ref("detection"),
        "decoder", ref("decoder"),
        "status", json_pack("{s:s, s:[s,s,s,s]}", "type", "string", "enum", "complete",
                            "partial", "template", "failed"),
        "confidence", json_pack("{s:s, s:i, s:i}", "type", "integer", "minimum", 0, "maximum",
                                100),
        "fingerprint", json_pack("{s:s, s:s}", "type", "string", "pattern",
                                 "^sha256:[0-9a-f]{64}$"),
        "config", ref("maco_ExtractorModel"),
        "provenance", json_pack("{s:s, s:{s:s, s:{s:s}}}", "type", "object",
                                "additionalProperties", "type", "array", "items",
                                "$ref", "#/$defs/provenance_entry"),
        "raw", free_map(), "warnings", strlist(), "error", ref("error"),
        "defanged", json_pack("{s:b}", "const", 1),
        "sources", json_pack("{s:s, s:o, s:i}", "type", "array", "items", ref("source"),
                             "minItems", 1), NULL);
    json_object_set_new(defs, "provenance_entry", closed(NULL, "va", hexva(),
        "form", json_pack("{s:s, s:[s,s,s,s]}", "type", "string", "enum", "image_encrypted",
                          "heap_decrypted", "plaintext", "unknown"), NULL));
    json_t *full = json_pack("{s:s, s:s, s:s}", "$schema",
                             "https://json-schema.org/draft/2020-12/schema", "$id",
                             "urn:memcfg:record:" MC_SCHEMA_VERSION, "title", "memcfg record");
    json_object_update(full, s);
    json_decref(s);
    json_object_set_new(full, "patternProperties", json_pack("{s:{}}", "^x_"));
    json_object_set_new(full, "allOf", json_pack("[o,o]",
        when("config", json_pack("{s:[s,s,s,s,s]}", "required", "detection", "decoder",
                                 "confidence", "fingerprint", "config")),
        when("error", json_pack("{s:[s], s:{s:{s:s}}, s:{s:[s]}}", "required", "error",
                                "properties", "status", "const", "failed", "not",
                                "required", "config"))));
    json_object_set_new(full, "$defs", defs);
    return full;
}
