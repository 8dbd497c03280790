/* Config builder: how a decoder reports what it recovered.
 *
 * A decoder opens one mc_config per config it finds and adds values through the typed adders
 * below. Each adder validates its value and places it in the strict MACO object (`config`);
 * a value that fails validation (a host that is neither an IP literal nor a domain, a port out
 * of range, a URL without a host) goes to `raw` only, and the adder returns false. Every adder
 * records where the value was found (VA and form) in the record's provenance.
 *
 * Strings are byte strings from a hostile dump: they need not be valid UTF-8. One rule, used
 * everywhere memcfg writes JSON: valid UTF-8 passes unchanged; every byte that is not part of a
 * valid UTF-8 sequence is written as the four characters `\xHH` (uppercase hex), and a literal
 * backslash that would be read as such an escape is written `\\` (see mc_json_bytes()).
 */
#ifndef MEMCFG_MC_CONFIG_H
#define MEMCFG_MC_CONFIG_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mc_status {
    MC_STATUS_COMPLETE = 0,   /* decrypted and validated (HMAC, structure, shape) */
    MC_STATUS_PARTIAL,        /* some fields decoded */
    MC_STATUS_TEMPLATE,       /* unconfigured builder stub; never exported as IOCs */
    MC_STATUS_FAILED,         /* decoder error; config holds at most family */
} mc_status;

/* Which form of the config a value was read from. */
typedef enum mc_form {
    MC_FORM_UNKNOWN = 0,
    MC_FORM_IMAGE_ENCRYPTED,  /* encrypted/encoded in the image, decoded by us */
    MC_FORM_HEAP_DECRYPTED,   /* the malware's own decrypted copy on the heap */
    MC_FORM_PLAINTEXT,        /* stored in clear in the image */
} mc_form;

typedef struct mc_where {
    uint64_t va;              /* 0 when unknown */
    mc_form form;
} mc_where;

static inline mc_where mc_at(uint64_t va, mc_form form) { mc_where w = {va, form}; return w; }

/* MACO list-of-string fields. */
typedef enum mc_strfield {
    MC_F_MUTEX = 0,
    MC_F_CAMPAIGN_ID,
    MC_F_IDENTIFIER,
    MC_F_PASSWORD,
    MC_F_PIPE,
    MC_F_INJECT_EXE,
    MC_F_DECODED_STRINGS,
    MC_F_CAPABILITY_ENABLED,
    MC_F_CAPABILITY_DISABLED,
    MC_F_ATTACK,
    MC_F__COUNT
} mc_strfield;

/* Optional extras for an http[] entry. Any member may be NULL/0. */
typedef struct mc_http_extra {
    const char *user_agent;
    const char *method;
    const char *username, *password;
    /* headers as name/value pairs, n pairs */
    const char *const *header_names;
    const char *const *header_values;
    size_t nheaders;
} mc_http_extra;

/* An encryption[] entry. Byte fields are written as lowercase hex; NULL/0 means absent. */
typedef struct mc_crypto {
    const char *algorithm;    /* "AES-256-CBC", "RC4", "ChaCha20", "XOR" */
    const char *mode;         /* "CBC", "CFB", "ECB" */
    const uint8_t *key; size_t key_len;
    const uint8_t *iv; size_t iv_len;
    const uint8_t *salt; size_t salt_len;
    const uint8_t *nonce; size_t nonce_len;
    const char *password;     /* text password or passphrase the key derives from */
    const char *usage;        /* "config", "communication", "binary", "ransom", "other" */
} mc_crypto;

typedef struct mc_config mc_config;
typedef struct mc_results mc_results;

/* Start a config of `family` (canonical lowercase). anchor_va is the VA the decoder located the
 * config at; the engine uses it for detection.region. The config starts as complete with
 * confidence 50; set the real values with mc_cfg_status(). Returns NULL on allocation failure. */
mc_config *mc_cfg_new(mc_results *out, const char *family, uint64_t anchor_va);
void mc_cfg_status(mc_config *c, mc_status status, int confidence);
mc_status mc_cfg_get_status(const mc_config *c);
int mc_cfg_get_confidence(const mc_config *c);
/* Drop a config the decoder opened but could not prove (look-alikes). */
void mc_cfg_discard(mc_results *out, mc_config *c);
void mc_cfg_warn(mc_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Values. Each returns true when the value entered `config`, false when it went to raw only
 * (or was a duplicate: duplicates are kept once, with the new location added to provenance). */
bool mc_cfg_version(mc_config *c, const char *v, mc_where w);
bool mc_cfg_category(mc_config *c, const char *category);  /* MACO CategoryEnum */
bool mc_cfg_str(mc_config *c, mc_strfield f, const char *v, mc_where w);
bool mc_cfg_sleep_ms(mc_config *c, long long ms, mc_where w);
/* tcp[] (or udp[] when udp is true) with server_ip or server_domain chosen by the host's shape.
 * usage is a MACO ConnUsageEnum value ("c2", "dead_drop_resolver", "decoy", "other", ...). */
bool mc_cfg_conn(mc_config *c, const char *host, long port, bool udp, const char *usage, mc_where w);
/* "host:port", "[v6]:port"; without a port, default_port (or -1 for "required"). */
bool mc_cfg_hostport(mc_config *c, const char *hostport, long default_port, const char *usage,
                     mc_where w);
/* http[]: a complete URL ("https://host[:port]/path?query"); parsed into protocol, hostname,
 * port, path, query. A URL without a scheme is rejected (raw only) unless default_scheme is
 * given, in which case it is prefixed. */
bool mc_cfg_url(mc_config *c, const char *url, const char *default_scheme, const char *usage,
                const mc_http_extra *x, mc_where w);
bool mc_cfg_encryption(mc_config *c, const mc_crypto *e, mc_where w);
bool mc_cfg_path(mc_config *c, const char *path, const char *usage, mc_where w);
bool mc_cfg_registry(mc_config *c, const char *key, const char *usage, mc_where w);
/* other.<key> = value. Keys are fixed per decoder (never generated from data). value is stolen. */
void mc_cfg_other(mc_config *c, const char *key, json_t *value, mc_where w);
/* raw.<key>: the decoder's field as found, before normalisation. value is stolen; a repeated
 * key turns into an array. Use mc_json_bytes() for strings from the dump. */
void mc_cfg_raw(mc_config *c, const char *key, json_t *value);
void mc_cfg_raw_str(mc_config *c, const char *key, const char *v);

/* JSON string from arbitrary bytes under the escaping rule above (never NULL unless OOM). */
json_t *mc_json_bytes(const void *p, size_t len);
json_t *mc_json_str(const char *s);   /* mc_json_bytes(s, strlen(s)) */

/* ---- for the engine ---- */
mc_results *mc_results_new(void);
void mc_results_free(mc_results *r);
size_t mc_results_count(const mc_results *r);
mc_config *mc_results_get(const mc_results *r, size_t i);

/* Read-only views used by the extractor to build records. The json objects stay owned by c. */
const char *mc_cfg_family(const mc_config *c);
uint64_t mc_cfg_anchor(const mc_config *c);
json_t *mc_cfg_json(const mc_config *c);        /* the MACO object */
json_t *mc_cfg_provenance(const mc_config *c);  /* {"tcp[0]": [{"va": "0x…", "form": "…"}], …} */
json_t *mc_cfg_rawjson(const mc_config *c);     /* {"<field>": value, …} */
json_t *mc_cfg_warnings(const mc_config *c);    /* ["…", …] */
const char *mc_form_name(mc_form f);            /* "image_encrypted", "heap_decrypted", "plaintext", "unknown" */
const char *mc_status_name(mc_status s);

/* Caps of the config builder (README "Limits"). Each cap, when hit, adds a warning to the config
 * ("limit: ...") instead of growing the record: a string value longer than MC_CFG_MAX_VALUE bytes
 * is cut (at a UTF-8 boundary; a longer URL goes to raw only, cut); a list field or repeated raw
 * key keeps its first MC_CFG_MAX_ENTRIES entries; a config keeps MC_CFG_MAX_WARNINGS warnings
 * and one more saying the rest were dropped. */
#define MC_CFG_MAX_VALUE 4096u
#define MC_CFG_MAX_ENTRIES 1024u
#define MC_CFG_MAX_WARNINGS 256u

#ifdef __cplusplus
}
#endif
#endif
