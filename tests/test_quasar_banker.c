/* QuasarRAT "1.0.00.rN" Brazilian-banker fork (families.md §2.5) on the compiled fixture
 * fixtures/dotnet/quasarbanker.exe: plaintext Settings, C2s hardcoded in a random-domain method,
 * a hexA:hexB string table decoded with the key of the next .cctor. The image is placed flat and
 * mapped in a raw dump, a minidump, a CAPE process dump, an ELF core and a gzip'd minidump, and
 * scanned as a PE file; in-place patches of the image, two compiled look-alikes and random
 * mutations check that nothing is reported without the proofs. */
#include "decoder.h"
#include "fixtures/fx.h"
#include "lib/mc_dotnet.h"
#include "md_internal.h"
#include "memcfg.h"
#include "tdump.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x30000000ull

extern const mc_decoder mc_decoder_quasar;

static const char *const hosts[][2] = {
    {"kilofrn.example", "443"}, {"sartelloil.test", "443"}, {"fostlivedol.example", "443"},
    {"192.0.2.77", "443"}, {"comerciopeixe.test", "443"}, {"cartlinkfol.example", "8443"},
};
#define NHOSTS (sizeof hosts / sizeof hosts[0])
#define XOR_KEY "Wq3Zt7Kp1Xv9Lm5Rb2Nc8Hd4"
#define MUTEX "3f9c1a52-7d4e-4b8a-9e21-c0d5f6a7b8e9"
#define ENCKEY "M4nQ8rT2vX6zB1cF5hJ9kL3pS7wY0aD4eG8iK2mO6qU1sW5yA9"
#define NETPASS "Pw7Kq2Lm9Xs4Tb8Nc1Vd6Rf3Hg5Jy0Ze"

/* The plaintexts of the string table: the @X:…@ tokens of the template, in order (the generator
 * input, not anything the decoder computes). Returns the count. */
static size_t expected_strings(char out[][128], size_t max)
{
    size_t len, n = 0;
    char *src = (char *)td_load("quasarbanker.cs.in", &len);
    for (char *p = src; n < max && (p = strstr(p, "\"@X:")) != NULL;) {
        p += 4;
        char *end = strchr(p, '@');
        ck_assert_ptr_nonnull(end);
        ck_assert_uint_lt((size_t)(end - p), 128);
        memcpy(out[n], p, (size_t)(end - p));
        out[n++][end - p] = 0;
        p = end;
    }
    free(src);
    return n;
}

/* ---- images and dumps ---- */

/* Replace the first UTF-16LE occurrence of `from` (an #US literal) by `to` (same length). */
static void patch_us(uint8_t *img, size_t len, const char *from, const char *to)
{
    size_t n = strlen(from);
    uint8_t a[512], b[512];
    ck_assert_uint_eq(n, strlen(to));
    ck_assert_uint_le(2 * n, sizeof a);
    for (size_t i = 0; i < n; i++) {
        a[2 * i] = (uint8_t)from[i]; a[2 * i + 1] = 0;
        b[2 * i] = (uint8_t)to[i]; b[2 * i + 1] = 0;
    }
    uint8_t *at = memmem(img, len, a, 2 * n);
    ck_assert_msg(at != NULL, "literal %s not in the image", from);
    memcpy(at, b, 2 * n);
}

/* Replace a NUL-delimited #Strings name (same length). */
static void patch_name(uint8_t *img, size_t len, const char *from, const char *to)
{
    char a[64], b[64];
    size_t n = strlen(from);
    ck_assert_uint_eq(n, strlen(to));
    ck_assert_uint_lt(n + 2, sizeof a);
    a[0] = b[0] = 0;
    memcpy(a + 1, from, n + 1);
    memcpy(b + 1, to, n + 1);
    uint8_t *at = memmem(img, len, a, n + 2);
    ck_assert_msg(at != NULL, "name %s not in the image", from);
    memcpy(at, b, n + 2);
}

/* The string-table literal of entry k (its UTF-16 chars in the image), via the generated .cs. */
static uint8_t *table_entry(uint8_t *img, size_t len, size_t k, size_t *nchars)
{
    size_t cslen;
    char *cs = (char *)tu_read_file(tu_src("fixtures/dotnet/quasarbanker.cs"), &cslen);
    ck_assert_ptr_nonnull(cs);
    char *p = cs;
    for (size_t i = 0; i <= k; i++) {
        p = strstr(p, "DecryptXOR(\"");
        ck_assert_ptr_nonnull(p);
        p += strlen("DecryptXOR(\"");
    }
    char *end = strchr(p, '"');
    size_t n = (size_t)(end - p);
    uint8_t w[2 * 512];
    ck_assert_uint_le(2 * n, sizeof w);
    for (size_t i = 0; i < n; i++) { w[2 * i] = (uint8_t)p[i]; w[2 * i + 1] = 0; }
    uint8_t *at = memmem(img, len, w, 2 * n);
    ck_assert_ptr_nonnull(at);
    free(cs);
    *nchars = n;
    return at;
}

/* Raw process memory at BASE: noise and prose, a native DLL, the assembly (flat or mapped) at
 * TD_IMG_OFF, then a heap with CLR string objects. */
static const td_layout lay = {
    .base = BASE, .noise_seed = 11, .noise_len = 0x6000,
    .prose = "Notes: the banker fork hardcodes kilofrn.example:443 and stores "
             "VERSION 1.0.00.r3, MUTEX and ENCRYPTIONKEY in clear; 0a1b:2c3d",
    .dll = true, .filler = "System.Globalization", .heap_tail = 0x100,
    .pid = 5150, .module_path = "C:\\Users\\u\\AppData\\Roaming\\SUB\\INSTALL"};

static void build_raw(const uint8_t *img, size_t img_len, bool mapped, const char *const *heap,
                      size_t nheap, td_dump *x)
{
    td_spec sp = {NULL, mapped, heap, nheap};
    td_extra ex = {img, img_len, NULL, NULL};
    td_build_ex(&lay, &sp, &ex, x);
}

/* ---- engine runs ---- */

typedef struct run {
    mc_input_result res;
    json_t *rec[8];
    size_t n;
} run;

static mc_engine *engine(bool raw)
{
    static const char *const fam[] = {"quasar"};
    md_open_opts o = tu_raw_opts(BASE);
    return tu_engine_new(fam, 1, raw ? &o : NULL);
}

static void scan(mc_engine *e, const uint8_t *p, size_t len, run *r)
{
    memset(r, 0, sizeof *r);
    mc_input in = {.path = "banker", .mem = p, .memlen = len};
    ck_assert_int_eq(mc_engine_scan(e, &in, &r->res), MC_INPUT_OK);
    for (size_t i = 0; i < r->res.nrecords; i++) {
        json_t *rec = r->res.records[i];
        if (strcmp(json_string_value(json_object_get(rec, "record_type")), "config") == 0 && r->n < 8)
            r->rec[r->n++] = rec;
    }
}

static void run_clear(run *r) { mc_input_result_clear(&r->res); }

/* ---- assertions ---- */

static json_t *encryption_with(json_t *cfg, const char *key, const char *val)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(cfg, "encryption"), i, e) {
        const char *v = json_string_value(json_object_get(e, key));
        if (v && strcmp(v, val) == 0) return e;
    }
    return NULL;
}

static size_t xor_strings(json_t *cfg)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(cfg, "other"), k, v)
        if (strncmp(k, "xor_string_", 11) == 0) n++;
    return n;
}

static const char *prov_form(json_t *rec, const char *key, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(rec, "provenance"), key), i), "form"));
}

enum { WANT_HOSTS = 1, WANT_XOR = 2 };

/* The fork's config as the fixture carries it; `want` says which proofs survived. */
static void check_banker(json_t *rec, unsigned want, size_t skip_entry)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")),
                     (want & WANT_HOSTS) ? "complete" : "partial");
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "family")), "quasar");
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "1.0.00.r3");
    ck_assert(tu_json_has_str(json_object_get(cfg, "mutex"), MUTEX));
    ck_assert(tu_json_has_str(json_object_get(cfg, "campaign_id"), "RELEASE"));
    ck_assert(tu_json_has_str(json_object_get(cfg, "password"), NETPASS));
    ck_assert(tu_json_has_str(json_object_get(cfg, "password"), ENCKEY));
    json_t *e = encryption_with(cfg, "password", ENCKEY);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "usage")), "config");
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), 5000);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "paths"), 0), "path")),
                     "%APPDATA%\\SUB\\INSTALL");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "registry"), 0), "key")),
                     "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\STARTUP");
    json_t *other = json_object_get(cfg, "other");
    ck_assert(json_is_false(json_object_get(other, "install")));
    ck_assert(json_is_true(json_object_get(other, "startup")));
    ck_assert(json_is_true(json_object_get(other, "hide_file")));
    ck_assert(json_is_true(json_object_get(other, "enable_logger")));
    ck_assert_int_eq(json_integer_value(json_object_get(other, "special_folder")), 26);
    ck_assert_str_eq(json_string_value(json_object_get(other, "generation")), "1.0.00.rN-banker");
    ck_assert_str_eq(prov_form(rec, "mutex[0]", 0), "plaintext");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "raw"), "TAG")), "RELEASE");

    if (want & WANT_HOSTS) {
        ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), NHOSTS);
        for (size_t i = 0; i < NHOSTS; i++)
            ck_assert_msg(tu_has_conn(cfg, hosts[i][0], atol(hosts[i][1])), "missing %s", hosts[i][0]);
        ck_assert_ptr_nonnull(json_object_get(json_array_get(json_object_get(cfg, "tcp"), 3), "server_ip"));
        ck_assert_str_eq(prov_form(rec, "tcp[0]", 0), "plaintext");
        ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(rec, "raw"), "hardcoded_hosts")), NHOSTS);
    } else {
        ck_assert_ptr_null(json_object_get(cfg, "tcp"));
    }

    if (want & WANT_XOR) {
        char want_s[16][128], key[32];
        size_t n = expected_strings(want_s, 16);
        ck_assert_uint_eq(n, 11);
        ck_assert_uint_eq(xor_strings(cfg), skip_entry < n ? n - 1 : n);
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof key, "xor_string_%03zu", i);
            const char *got = json_string_value(json_object_get(other, key));
            if (i == skip_entry) { ck_assert_ptr_null(got); continue; }
            ck_assert_msg(got && strcmp(got, want_s[i]) == 0, "%s: %s != %s", key, got ? got : "(none)", want_s[i]);
            char pk[40];
            snprintf(pk, sizeof pk, "other.%s", key);
            ck_assert_str_eq(prov_form(rec, pk, 0), "image_encrypted");
        }
        json_t *x = encryption_with(cfg, "algorithm", "XOR");
        ck_assert_ptr_nonnull(x);
        ck_assert_str_eq(json_string_value(json_object_get(x, "password")), XOR_KEY);
        /* hex of the UTF-8 key */
        ck_assert_str_eq(json_string_value(json_object_get(x, "key")),
                         "5771335a74374b70315876394c6d355262324e6338486434");
    } else {
        ck_assert_uint_eq(xor_strings(cfg), 0);
        ck_assert_ptr_null(encryption_with(cfg, "algorithm", "XOR"));
    }
}

/* ---- tests ---- */

START_TEST(raw_flat_and_mapped)
{
    mc_engine *e = engine(true);
    size_t len;
    uint8_t *img = td_load("quasarbanker.exe", &len);
    for (int mapped = 0; mapped < 2; mapped++) {
        td_dump b;
        build_raw(img, len, mapped, NULL, 0, &b);
        run r;
        scan(e, b.raw.p, b.raw.len, &r);
        ck_assert_msg(r.n == 1, "mapped=%d: %zu configs", mapped, r.n);
        check_banker(r.rec[0], WANT_HOSTS | WANT_XOR, SIZE_MAX);
        run_clear(&r);
        td_free(&b);
    }
    free(img);
    mc_engine_free(e);
}
END_TEST

START_TEST(heap_copies_corroborate)
{
    static const char *const heap[] = {MUTEX, "RELEASE", "1.0.00.r3"};
    mc_engine *e = engine(true);
    size_t len;
    uint8_t *img = td_load("quasarbanker.exe", &len);
    int conf[2];
    for (int with = 0; with < 2; with++) {
        td_dump b;
        build_raw(img, len, true, heap, with ? 3 : 0, &b);
        run r;
        scan(e, b.raw.p, b.raw.len, &r);
        ck_assert_uint_eq(r.n, 1);
        check_banker(r.rec[0], WANT_HOSTS | WANT_XOR, SIZE_MAX);
        conf[with] = (int)json_integer_value(json_object_get(r.rec[0], "confidence"));
        const char *f1 = prov_form(r.rec[0], "mutex[0]", 1);
        if (with) ck_assert(f1 && strcmp(f1, "heap_decrypted") == 0);
        else ck_assert_ptr_null(f1);
        run_clear(&r);
        td_free(&b);
    }
    ck_assert_int_gt(conf[1], conf[0]);
    free(img);
    mc_engine_free(e);
}
END_TEST

/* Every container the fixture writers produce, with the image mapped (a module) and flat
 * (private memory, no module), and the assembly scanned as a PE file. */
START_TEST(containers_and_pe_file)
{
    mc_engine *e = engine(false);
    size_t len;
    uint8_t *img = td_load("quasarbanker.exe", &len);
    static const char *const heap[] = {MUTEX};
    for (int mapped = 0; mapped < 2; mapped++) {
        td_dump raw;
        build_raw(img, len, mapped, heap, 1, &raw);
        for (int c = TD_MINIDUMP; c < TD__KINDS; c++) {
            fx_buf b;
            td_container(&raw, c, &b);
            run r;
            scan(e, b.p, b.len, &r);
            ck_assert_msg(r.n == 1, "mapped=%d container %d: %zu configs", mapped, c, r.n);
            check_banker(r.rec[0], WANT_HOSTS | WANT_XOR, SIZE_MAX);
            ck_assert_str_eq(prov_form(r.rec[0], "mutex[0]", 1), "heap_decrypted");
            run_clear(&r);
            fx_buf_free(&b);
        }
        td_free(&raw);
    }
    run r;
    scan(e, img, len, &r);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r.rec[0], "input"), "format")), "pe");
    check_banker(r.rec[0], WANT_HOSTS | WANT_XOR, SIZE_MAX);
    run_clear(&r);
    free(img);
    mc_engine_free(e);
}
END_TEST

/* The fork's own rule fires without the Quasar namespace the older rule counts. */
START_TEST(banker_rule_alone)
{
    mc_engine *e = engine(true);
    size_t len;
    uint8_t *img = td_load("quasarbanker.exe", &len);
    for (uint8_t *p = img; (p = memmem(p, len - (size_t)(p - img), "xClient", 7)) != NULL; p++) *p = 'y';
    for (int mapped = 0; mapped < 2; mapped++) {
        td_dump b;
        build_raw(img, len, mapped, NULL, 0, &b);
        run r;
        scan(e, b.raw.p, b.raw.len, &r);
        ck_assert_uint_eq(r.n, 1);
        check_banker(r.rec[0], WANT_HOSTS | WANT_XOR, SIZE_MAX);
        json_t *rules = json_object_get(json_object_get(r.rec[0], "detection"), "rules");
        ck_assert_uint_eq(json_array_size(rules), 1);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rules, 0), "rule")), "quasar_banker_fork");
        run_clear(&r);
        td_free(&b);
    }
    free(img);
    mc_engine_free(e);
}
END_TEST

typedef enum patch {
    P_NONE, P_WRONG_KEY, P_NO_PICK, P_BOTH, P_SHIFTED_COLON, P_NONHEX, P_MUTEX_NOT_GUID, P_NO_VERSION,
} patch;

static uint8_t *patched(patch p, size_t *len)
{
    uint8_t *img = td_load("quasarbanker.exe", len);
    size_t n;
    uint8_t *at;
    switch (p) {
    case P_NONE: break;
    case P_WRONG_KEY: patch_us(img, *len, XOR_KEY, "0000000000000000000000a0"); break;
    case P_BOTH: patch_us(img, *len, XOR_KEY, "0000000000000000000000a0"); /* fall through */
    case P_NO_PICK: patch_name(img, *len, "Next", "Nexu"); break;
    case P_SHIFTED_COLON:
        /* entry 3: "A:B" becomes "A'x:B'" with |A'| = |A| - 1, |B'| = |B| + 1 */
        at = table_entry(img, *len, 3, &n);
        for (size_t i = 0; i < n; i++)
            if (at[2 * i] == ':') { at[2 * i] = at[2 * i - 2]; at[2 * i - 2] = ':'; break; }
        break;
    case P_NONHEX:
        at = table_entry(img, *len, 3, &n);
        at[2] = 'g';
        break;
    case P_MUTEX_NOT_GUID: patch_us(img, *len, MUTEX, "3f9c1a52x7d4e-4b8a-9e21-c0d5f6a7b8e9"); break;
    case P_NO_VERSION: patch_us(img, *len, "1.0.00.r3", "v.0.00.r3"); break;
    }
    return img;
}

/* In-place edits of the image: each proof removed on its own, then together. */
START_TEST(patched_images)
{
    static const struct { patch p; int configs; unsigned want; size_t skip; } cases[] = {
        {P_NONE, 1, WANT_HOSTS | WANT_XOR, SIZE_MAX},
        {P_WRONG_KEY, 1, WANT_HOSTS, SIZE_MAX},          /* no key decodes the table */
        {P_NO_PICK, 1, WANT_XOR, SIZE_MAX},              /* no random pick: hosts unproven */
        {P_BOTH, 0, 0, 0},
        {P_SHIFTED_COLON, 1, WANT_HOSTS | WANT_XOR, 3},  /* mismatched halves: entry 3 left out */
        {P_NONHEX, 1, WANT_HOSTS | WANT_XOR, 3},         /* a non-hex digit: entry 3 left out */
        {P_MUTEX_NOT_GUID, 0, 0, 0},
        {P_NO_VERSION, 0, 0, 0},
    };
    mc_engine *e = engine(true);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len;
        uint8_t *img = patched(cases[k].p, &len);
        for (int mapped = 0; mapped < 2; mapped++) {
            td_dump b;
            build_raw(img, len, mapped, NULL, 0, &b);
            run r;
            scan(e, b.raw.p, b.raw.len, &r);
            ck_assert_msg((int)r.n == cases[k].configs, "patch %d mapped=%d: %zu configs", (int)cases[k].p,
                          mapped, r.n);
            if (r.n) {
                check_banker(r.rec[0], cases[k].want, cases[k].skip);
                json_t *warn = json_object_get(r.rec[0], "warnings");
                bool said = false;
                json_t *w;
                size_t i;
                json_array_foreach(warn, i, w) said |= strstr(json_string_value(w), "string table: 1 of 11 entries") != NULL;
                ck_assert(said == (cases[k].skip != SIZE_MAX));
            }
            run_clear(&r);
            td_free(&b);
        }
        free(img);
    }
    mc_engine_free(e);
}
END_TEST

/* The decoder called directly, with hits inside the image as any quasar rule would give. */
static size_t decode_direct(const uint8_t *img, size_t len, bool mapped)
{
    td_dump b;
    build_raw(img, len, mapped, NULL, 0, &b);
    md_dump *d = tu_open_raw(b.raw.p, b.raw.len, BASE);
    mc_hit hits[4];
    for (int i = 0; i < 4; i++)
        hits[i] = (mc_hit){.va = BASE + TD_IMG_OFF + 0x200 + 0x300 * (uint64_t)i, .len = 4, .rule = "quasar_banker_fork",
                           .ns = "quasar", .string_id = "$n1", .family = "quasar"};
    mc_hits h = {hits, 4};
    mc_decode_ctx ctx = {.deadline = mc_now() + 30};
    mc_results *r = mc_results_new();
    ck_assert_int_eq(mc_decoder_quasar.decode(&ctx, d, &h, r), 0);
    size_t n = mc_results_count(r);
    mc_results_free(r);
    md_close(d);
    td_free(&b);
    return n;
}

/* Compiled look-alikes: the strings and Settings without a random-domain method and with a
 * table of malformed pairs; the random-domain method and a decodable table without Settings. */
START_TEST(lookalikes_give_nothing)
{
    mc_engine *e = engine(true);
    const char *names[] = {"quasarbanker_lookalike.exe", "quasarbanker_noconfig.exe"};
    for (size_t k = 0; k < 2; k++) {
        size_t len;
        uint8_t *img = td_load(names[k], &len);
        for (int mapped = 0; mapped < 2; mapped++) {
            ck_assert_msg(decode_direct(img, len, mapped) == 0, "%s mapped=%d", names[k], mapped);
            td_dump b;
            build_raw(img, len, mapped, NULL, 0, &b);
            run r;
            scan(e, b.raw.p, b.raw.len, &r);
            ck_assert_msg(r.n == 0, "%s mapped=%d: %zu configs", names[k], mapped, r.n);
            run_clear(&r);
            td_free(&b);
        }
        free(img);
    }
    /* The same direct call finds the real fixture, so the look-alikes were really examined. */
    size_t len;
    uint8_t *img = td_load("quasarbanker.exe", &len);
    ck_assert_uint_eq(decode_direct(img, len, false), 1);
    ck_assert_uint_eq(decode_direct(img, len, true), 1);
    free(img);
    mc_engine_free(e);
}
END_TEST

/* mc_dn_memberref_class on the fixture: TypeRef parents and a GENERICINST TypeSpec parent. */
START_TEST(memberref_class)
{
    size_t len;
    uint8_t *img = td_load("quasarbanker.exe", &len);
    md_dump *d = tu_open_raw(img, len, BASE);
    mc_dotnet *dn;
    ck_assert_int_eq(mc_dn_open_at(d, BASE, MD_LAYOUT_FLAT, &dn), MC_DN_OK);
    bool next = false, add = false;
    for (uint32_t r = 1; r <= mc_dn_rows(dn, MC_DN_T_MEMBERREF); r++) {
        const char *ns, *cls = mc_dn_memberref_class(dn, r, &ns);
        const char *name = mc_dn_memberref_name(dn, r);
        if (strcmp(name, "Next") == 0) {
            next = true;
            ck_assert_str_eq(cls, "Random");
            ck_assert_str_eq(ns, "System");
        } else if (strcmp(name, "Add") == 0) {
            add = true;
            ck_assert_str_eq(cls, "List`1");
            ck_assert_str_eq(ns, "System.Collections.Generic");
        }
    }
    ck_assert(next && add);
    const char *ns = "x";
    ck_assert_str_eq(mc_dn_memberref_class(dn, 0, &ns), "");
    ck_assert_str_eq(ns, "");
    ck_assert_str_eq(mc_dn_memberref_class(dn, mc_dn_rows(dn, MC_DN_T_MEMBERREF) + 1, NULL), "");
    ck_assert_str_eq(mc_dn_memberref_class(NULL, 1, NULL), "");
    mc_dn_close(dn);
    md_close(d);
    free(img);
}
END_TEST

/* Hostile bytes: deterministic mutations of the metadata, IL and #US of the fixture; the decoder
 * and the class lookup must stay in bounds and report at most one config. */
START_TEST(random_mutations)
{
    size_t len;
    uint8_t *f = td_load("quasarbanker.exe", &len);
    md_open_opts o = tu_raw_opts(BASE);
    md_dump *d;
    char err[256];
    ck_assert(md_open_mem(f, len, &o, &d, err, sizeof err) == MD_OK);
    mc_dotnet *dn;
    ck_assert_int_eq(mc_dn_open_at(d, BASE, MD_LAYOUT_FLAT, &dn), MC_DN_OK);
    size_t us = (size_t)(dn->md_va - BASE) + dn->us.off, us_len = dn->us.size;
    size_t text = 0x200;  /* IL and metadata follow the headers */
    mc_dn_close(dn);
    md_close(d);
    uint8_t *g = malloc(len);
    uint64_t x = 0xD1B54A32D192ED03ull;
    size_t found = 0;
    for (int round = 0; round < 160; round++) {
        memcpy(g, f, len);
        for (int k = 0; k < 6; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t off = (round & 1) ? us + (size_t)(x % us_len) : text + (size_t)(x % (len - text));
            g[off] = (uint8_t)(x >> 40);
        }
        size_t n = decode_direct(g, len, (round & 2) != 0);
        ck_assert_uint_le(n, 1);
        found += n;
        if (md_open_mem(g, len, &o, &d, err, sizeof err) == MD_OK) {
            if (mc_dn_open_at(d, BASE, MD_LAYOUT_FLAT, &dn) == MC_DN_OK) {
                for (uint32_t r = 0; r <= mc_dn_rows(dn, MC_DN_T_MEMBERREF) + 1; r++) {
                    const char *ns;
                    ck_assert_ptr_nonnull(mc_dn_memberref_class(dn, r, &ns));
                    ck_assert_ptr_nonnull(ns);
                }
                mc_dn_close(dn);
            }
            md_close(d);
        }
    }
    ck_assert_uint_gt(found, 0);   /* mutations that miss the proofs still decode */
    free(g);
    free(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quasar_banker");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, raw_flat_and_mapped);
    tcase_add_test(tc, heap_copies_corroborate);
    tcase_add_test(tc, containers_and_pe_file);
    tcase_add_test(tc, banker_rule_alone);
    tcase_add_test(tc, patched_images);
    tcase_add_test(tc, lookalikes_give_nothing);
    tcase_add_test(tc, memberref_class);
    tcase_add_test(tc, random_mutations);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
