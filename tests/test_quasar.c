/* QuasarRAT decoder on the compiled fixtures (fixtures/dotnet) placed in synthetic dumps: flat and
 * mapped images among noise and a native DLL, decrypted CLR string copies on a heap, the
 * image-wiped heap-only case, templates and look-alikes. */
#include "decoder.h"
#include "fixtures/fx.h"
#include "memcfg.h"
#include "md_internal.h"
#include "tdump.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x20000000ull

extern const mc_decoder mc_decoder_quasar;

/* Raw dump: noise and prose, a native DLL, the assembly (file layout or mapped; none: zeros) at
 * TD_IMG_OFF, then a heap. */
static const td_layout lay = {
    .base = BASE, .noise_seed = 7, .noise_len = 0x6000,
    .prose = "Notes: QuasarRAT stores HOSTS, MUTEX and ENCRYPTIONKEY in Settings. "
             "b64: QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MA==",
    .dll = true, .filler = "System.Collections.Generic", .heap_tail = 0x100,
    .pid = 4242, .module_path = "C:\\Users\\u\\AppData\\client.exe"};

/* Run the decoder with one hit per occurrence of each marker, as the rules would report them. */
static mc_results *decode_direct(const md_dump *d, const fx_buf *b)
{
    static const td_mark marks[] = {
        {"$n1", "ENCRYPTIONKEY", 13},
        {"$salt", "\xBF\xEB\x1E\x56\xFB\xCD\x97\x3B", 8},
        {"$heap_mutex", "\0\0Q\0S\0R\0_\0M\0U\0T\0E\0X\0_\0", 22},
    };
    mc_hit hits[64];
    size_t n = td_mark_hits(marks, sizeof marks / sizeof marks[0], b->p, b->len, BASE, "quasar", "default",
                            "quasar", hits, 0, 64);
    mc_hits h = {hits, n};
    mc_decode_ctx ctx = {.deadline = mc_now() + 30};
    mc_results *r = mc_results_new();
    ck_assert_int_eq(mc_decoder_quasar.decode(&ctx, d, &h, r), 0);
    return r;
}

/* ---- assertions on the MACO object ---- */

static json_t *encryption_for(json_t *cfg, const char *usage)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(cfg, "encryption"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "usage")), usage) == 0) return e;
    return NULL;
}

static mc_results *run(const td_spec *sp, md_dump **dout, td_dump *x)
{
    td_build(&lay, sp, x);
    *dout = tu_open_raw(x->raw.p, x->raw.len, BASE);
    return decode_direct(*dout, &x->raw);
}

static void finish(mc_results *r, md_dump *d, td_dump *x)
{
    mc_results_free(r);
    md_close(d);
    td_free(x);
}

/* One decoder run that must give exactly one config. */
typedef struct one {
    td_dump x;
    md_dump *d;
    mc_results *r;
} one;

static mc_config *run_one(const td_spec *sp, one *o)
{
    o->r = run(sp, &o->d, &o->x);
    ck_assert_uint_eq(mc_results_count(o->r), 1);
    return mc_results_get(o->r, 0);
}

static void one_free(one *o) { finish(o->r, o->d, &o->x); }

/* What a decoded config holds; NULL and 0 fields are not checked. */
typedef struct want {
    const char *version;
    size_t ntcp;                                      /* tcp entries */
    struct { const char *host; long port; } conn[3];  /* each in the tcp list */
    const char *mutex, *campaign, *password;          /* the first of each list */
    const char *alg, *mode, *key, *iv, *salt;         /* of the config encryption */
    long sleep;
    const char *path;                                 /* the first path */
} want;

static void str_is(json_t *o, const char *key, const char *want)
{
    if (want) ck_assert_str_eq(json_string_value(json_object_get(o, key)), want);
}

static void check_want(json_t *cfg, const want *w)
{
    str_is(cfg, "version", w->version);
    if (w->ntcp) ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), w->ntcp);
    for (size_t i = 0; i < 3 && w->conn[i].host; i++)
        ck_assert_msg(tu_has_conn(cfg, w->conn[i].host, w->conn[i].port), "%s:%ld", w->conn[i].host, w->conn[i].port);
    ck_assert_str_eq(tu_first_str(cfg, "mutex"), w->mutex);
    ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), w->campaign);
    if (w->password) ck_assert_str_eq(tu_first_str(cfg, "password"), w->password);
    json_t *e = encryption_for(cfg, "config");
    ck_assert_ptr_nonnull(e);
    str_is(e, "mode", w->mode);
    str_is(e, "algorithm", w->alg);
    str_is(e, "key", w->key);
    str_is(e, "iv", w->iv);
    str_is(e, "salt", w->salt);
    if (w->sleep) ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), w->sleep);
    str_is(json_array_get(json_object_get(cfg, "paths"), 0), "path", w->path);
}

static const char *const heap14[] = {"192.0.2.44:4782;198.51.100.9:443;c2.quasar.example:4782;",
                                     "5b1d0c9e-3f7a-4e2b-8c6d-1a2b3c4d5e6f", "Office04"};

static void check14(mc_config *c)
{
    static const want w = {
        .version = "1.4.1", .ntcp = 3,
        .conn = {{"192.0.2.44", 4782}, {"198.51.100.9", 443}, {"c2.quasar.example", 4782}},
        .mutex = "5b1d0c9e-3f7a-4e2b-8c6d-1a2b3c4d5e6f", .campaign = "Office04",
        .password = "0C3F9A7D21B4E58C6A0F1D2E3B4C5D6E7F801234", .alg = "AES-256-CBC",
        /* dk[0:32] of PBKDF2-SHA1(thumbprint, Quasar salt, 50000): shared/vectors quasar 1.4 */
        .key = "8dfb1827616a055483b9322fa433855db5587b37f58c855774eb4cfaa319737b",
        .salt = "bfeb1e56fbcd973bb219022430a57843003d5644d21e62b9d4f180e7e6c33941",
        .sleep = 3000, .path = "%APPDATA%\\SubDir\\Client.exe"};
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    check_want(cfg, &w);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "registry"), 0), "key")),
                     "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Quasar Client Startup");
    json_t *other = json_object_get(cfg, "other");
    ck_assert(json_is_true(json_object_get(other, "install")));
    ck_assert(json_is_false(json_object_get(other, "hide_file")));
    ck_assert(json_is_true(json_object_get(other, "enable_logger")));
    ck_assert_str_eq(json_string_value(json_object_get(other, "generation")), "1.4");
    ck_assert_str_eq(json_string_value(json_object_get(mc_cfg_rawjson(c), "TAG")), "Office04");
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "version", "image_encrypted"));
}

START_TEST(v14_flat_and_mapped_with_heap)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {"quasar14.exe", mapped, heap14, 3};
        one o;
        mc_config *c = run_one(&sp, &o);
        check14(c);
        ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "heap_decrypted"));
        ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "tcp[0]", "heap_decrypted"));
        ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "image_encrypted"));
        int with_heap = mc_cfg_get_confidence(c);
        one_free(&o);

        td_spec bare = {"quasar14.exe", mapped, NULL, 0};
        c = run_one(&bare, &o);
        check14(c);
        ck_assert(!tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "heap_decrypted"));
        ck_assert_int_gt(with_heap, mc_cfg_get_confidence(c));
        one_free(&o);
    }
}
END_TEST

START_TEST(v13)
{
    static const want w = {
        .version = "1.3.0.0", .ntcp = 2, .conn = {{"198.51.100.23", 4782}, {"backup.quasar.test", 4783}},
        .mutex = "QSR_MUTEX_h3Xk29LmQpZa", .campaign = "campaign-13", .password = "Vq7TnB2xKc9LmZ4pRw1s",
        .alg = "AES-128-CBC", .key = "b009b53636368f079bfc591964609bc7",
        .sleep = 5000, .path = "%PROGRAMFILES%\\Microsoft Help\\svchost.exe"};
    td_spec sp = {"quasar13.exe", true, NULL, 0};
    one o;
    mc_config *c = run_one(&sp, &o);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    check_want(cfg, &w);
    ck_assert_ptr_nonnull(encryption_for(cfg, "communication"));   /* the plain KEY field */
    ck_assert(json_is_true(json_object_get(json_object_get(cfg, "other"), "hide_file")));
    one_free(&o);
}
END_TEST

START_TEST(v12)
{
    static const want w = {
        .version = "1.2.0.0", .ntcp = 1, .conn = {{"203.0.113.7", 4782}},
        .mutex = "QSR_MUTEX_Zq81mPxR44nTb0Lw", .campaign = "Office04", .alg = "AES-128-CBC",
        /* MD5("ABCDEFGHIJKLMNOPQRST"): shared/vectors quasar 1.2 */
        .key = "6278736382b57731affc96ab1907b79f", .sleep = 10000};
    td_spec sp = {"quasar12.exe", false, NULL, 0};
    one o;
    mc_config *c = run_one(&sp, &o);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    check_want(cfg, &w);
    json_t *pw = json_object_get(cfg, "password");
    ck_assert_uint_eq(json_array_size(pw), 2);   /* the network PASSWORD and the key string */
    ck_assert(json_is_false(json_object_get(json_object_get(cfg, "other"), "install")));
    one_free(&o);
}
END_TEST

START_TEST(obfuscated_cfb_fork)
{
    static const want w = {
        .version = "1.4.1.7-fork", .conn = {{"fork.example", 8080}, {"203.0.113.99", 8443}},
        .mutex = "7e9f2a41-0c3b-4d5e-9f60-a1b2c3d4e5f6", .campaign = "fork-tag", .mode = "CFB",
        .alg = "AES-256-CFB8"};
    td_spec sp = {"quasarfork.exe", true, NULL, 0};
    one o;
    mc_config *c = run_one(&sp, &o);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    check_want(mc_cfg_json(c), &w);
    /* Raw names are the obfuscated ones, as found. */
    json_t *raw = mc_cfg_rawjson(c);
    ck_assert_str_eq(json_string_value(json_object_get(raw, "a4Xq")), "fork.example:8080;203.0.113.99:8443;");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "\xca\xb0\xca\xb2\xca\xb3")), "1.4.1.7-fork");
    one_free(&o);
}
END_TEST

START_TEST(template_stub)
{
    td_spec sp = {"quasartemplate.exe", false, NULL, 0};
    one o;
    mc_config *c = run_one(&sp, &o);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_TEMPLATE);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_ptr_null(json_object_get(cfg, "tcp"));
    ck_assert_ptr_null(json_object_get(cfg, "http"));
    ck_assert_ptr_null(json_object_get(cfg, "mutex"));
    one_free(&o);
}
END_TEST

START_TEST(lookalikes_give_nothing)
{
    /* Marker-only assembly with undecryptable base64; then no image at all (prose, base64 junk,
     * a native DLL and noise only). */
    const char *fixtures[] = {"lookalike.exe", NULL};
    for (int k = 0; k < 2; k++) {
        for (int mapped = 0; mapped < 2; mapped++) {
            td_spec sp = {fixtures[k], mapped, NULL, 0};
            td_dump b;
            md_dump *d;
            mc_results *r = run(&sp, &d, &b);
            ck_assert_uint_eq(mc_results_count(r), 0);
            finish(r, d, &b);
        }
    }
}
END_TEST

START_TEST(heap_only)
{
    static const char *const heap[] = {"QSR_MUTEX_h3Xk29LmQpZa", "198.51.100.23:4782;backup.quasar.test:4783;"};
    td_spec sp = {NULL, false, heap, 2};
    one o;
    mc_config *c = run_one(&sp, &o);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_PARTIAL);
    ck_assert_int_le(mc_cfg_get_confidence(c), 30);
    ck_assert(tu_has_conn(cfg, "198.51.100.23", 4782));
    ck_assert(tu_has_conn(cfg, "backup.quasar.test", 4783));
    ck_assert_str_eq(tu_first_str(cfg, "mutex"), "QSR_MUTEX_h3Xk29LmQpZa");
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), "mutex[0]", "heap_decrypted"));
    one_free(&o);

    /* A mutex object alone (no hosts list beside it) is not enough. */
    static const char *const lone[] = {"QSR_MUTEX_h3Xk29LmQpZa", "not a host list"};
    td_spec sp2 = {NULL, false, lone, 2};
    td_dump b;
    md_dump *d;
    mc_results *r = run(&sp2, &d, &b);
    ck_assert_uint_eq(mc_results_count(r), 0);
    finish(r, d, &b);
}
END_TEST

/* The quasar rules and decoder; raw: inputs are raw dumps at BASE. */
static mc_engine *engine(bool raw)
{
    static const char *const fam[] = {"quasar"};
    md_open_opts o = tu_raw_opts(BASE);
    return tu_engine_new(fam, 1, raw ? &o : NULL);
}

/* The full path: libyara rules from quasar.yar, the engine's dispatch, records. */
START_TEST(through_engine)
{
    mc_engine *e = engine(true);
    struct { const char *fx; bool mapped; const char *const *heap; size_t nheap; size_t want; const char *status; } cases[] = {
        {"quasar14.exe", true, heap14, 3, 1, "complete"},
        {"quasar13.exe", false, NULL, 0, 1, "complete"},
        {"quasartemplate.exe", true, NULL, 0, 1, "template"},
        {"lookalike.exe", false, NULL, 0, 0, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        td_spec sp = {cases[k].fx, cases[k].mapped, cases[k].heap, cases[k].nheap};
        td_dump x;
        td_build(&lay, &sp, &x);
        mc_input in = {.path = cases[k].fx, .mem = x.raw.p, .memlen = x.raw.len};
        mc_input_result res;
        ck_assert_int_eq(mc_engine_scan(e, &in, &res), MC_INPUT_OK);
        size_t n = 0;
        for (size_t i = 0; i < res.nrecords; i++) {
            json_t *rec = res.records[i];
            if (strcmp(json_string_value(json_object_get(rec, "record_type")), "config") != 0) continue;
            n++;
            ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), cases[k].status);
        }
        ck_assert_msg(n == cases[k].want, "%s: %zu records", cases[k].fx, n);
        mc_input_result_clear(&res);
        td_free(&x);
    }
    mc_engine_free(e);
}
END_TEST

/* ---- the fixed-IV fork (families.md §2.5): PBKDF2 gives key and IV, bare CBC, no MAC ---- */

/* Config records of one raw dump through the engine; the caller owns the returned array. */
static json_t *engine_configs(mc_engine *e, const fx_buf *b)
{
    mc_input in = {.path = "fixediv", .mem = b->p, .memlen = b->len};
    mc_input_result res;
    ck_assert_int_eq(mc_engine_scan(e, &in, &res), MC_INPUT_OK);
    json_t *out = json_array();
    for (size_t i = 0; i < res.nrecords; i++) {
        json_t *rec = res.records[i];
        if (strcmp(json_string_value(json_object_get(rec, "record_type")), "config") == 0)
            json_array_append(out, rec);
    }
    mc_input_result_clear(&res);
    return out;
}

static void check_fixediv(json_t *rec)
{
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
    static const want w = {
        .version = "1.4.1-fx", .ntcp = 2, .conn = {{"192.0.2.61", 4782}, {"fixediv.quasar.example", 443}},
        .mutex = "2c4e6a80-1b3d-4f5a-9c7e-0d2f4b6a8c1e", .campaign = "fx-tag", .password = "Fx1v-Pass.Settings!7",
        .alg = "AES-256-CBC",
        /* PBKDF2-SHA1("Fx1v-Pass.Settings!7", salt, 1000, 48), computed with Python's hashlib */
        .key = "16cba5484a0ca93f529e023d77406a6d9f57edc9c0b0b023384458100406c83d",
        .iv = "b81105a3126527245c1cc9a9af56299c", .salt = "3a91c4e07b2d58f60c1e9a4b7d3f2861", .sleep = 4000};
    json_t *cfg = json_object_get(rec, "config");
    check_want(cfg, &w);
    json_t *other = json_object_get(cfg, "other");
    ck_assert_str_eq(json_string_value(json_object_get(other, "generation")), "1.4-fork-fixed-iv");
    ck_assert_str_eq(json_string_value(json_object_get(other, "integrity")), "none");
    ck_assert_int_eq(json_integer_value(json_object_get(other, "kdf_iterations")), 1000);
}

/* The fixture with the LOGDIRECTORYNAME ciphertext altered in its #US entry, so that one
 * literal no longer decrypts with valid padding. */
static uint8_t *corrupted_fixediv(size_t *len)
{
    size_t cslen;
    char *cs = (char *)tu_read_file(tu_src("fixtures/dotnet/quasarfixediv.cs"), &cslen);
    ck_assert_ptr_nonnull(cs);
    const char *mark = "LOGDIRECTORYNAME = \"";
    char *lit = memmem(cs, cslen, mark, strlen(mark));
    ck_assert_ptr_nonnull(lit);
    lit += strlen(mark);
    char *end = memchr(lit, '"', cslen - (size_t)(lit - cs));
    ck_assert_ptr_nonnull(end);
    size_t n = (size_t)(end - lit);
    uint8_t w[256];
    ck_assert_uint_le(2 * n, sizeof w);
    for (size_t i = 0; i < n; i++) { w[2 * i] = (uint8_t)lit[i]; w[2 * i + 1] = 0; }
    uint8_t *img = td_load("quasarfixediv.exe", len);
    uint8_t *at = memmem(img, *len, w, 2 * n);
    ck_assert_ptr_nonnull(at);
    at[0] = at[0] == 'A' ? 'B' : 'A';
    free(cs);
    return img;
}

START_TEST(fixed_iv_fork)
{
    mc_engine *e = engine(true);
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {"quasarfixediv.exe", mapped, NULL, 0};
        td_dump x;
        td_build(&lay, &sp, &x);
        json_t *recs = engine_configs(e, &x.raw);
        ck_assert_msg(json_array_size(recs) == 1, "mapped=%d: %zu configs", mapped, json_array_size(recs));
        check_fixediv(json_array_get(recs, 0));
        json_decref(recs);
        td_free(&x);

        /* Look-alike: the same assembly with one literal that no longer decrypts. */
        size_t flen;
        uint8_t *img = corrupted_fixediv(&flen);
        td_extra bad = {img, flen, NULL, NULL};
        td_build_ex(&lay, &sp, &bad, &x);
        free(img);
        recs = engine_configs(e, &x.raw);
        ck_assert_msg(json_array_size(recs) == 0, "look-alike mapped=%d: %zu configs", mapped,
                      json_array_size(recs));
        json_decref(recs);
        td_free(&x);
    }
    mc_engine_free(e);
}
END_TEST

/* The same process in every container the fixture writers produce, through the engine. */
START_TEST(containers)
{
    mc_engine *e = engine(false);
    for (int mapped = 0; mapped < 2; mapped++) {
        td_spec sp = {mapped ? "quasar14.exe" : "quasarfork.exe", mapped, heap14, 3};
        td_dump x;
        td_proc p;
        td_build(&lay, &sp, &x);
        td_process(&x, &p);
        for (int kind = 0; kind < 3; kind++) {
            fx_buf b;
            fx_buf_init(&b);
            if (kind == 0) fx_minidump(&p.proc, FX_MD_FULL, &b);
            else if (kind == 1) fx_cuckoo(&p.proc, &b);
            else fx_elfcore(&p.proc, 64, 0, &b);   /* NT_FILE offsets in bytes, as gcore writes */
            mc_input in = {.path = "container", .mem = b.p, .memlen = b.len};
            mc_input_result res;
            ck_assert_int_eq(mc_engine_scan(e, &in, &res), MC_INPUT_OK);
            size_t n = 0;
            for (size_t i = 0; i < res.nrecords; i++) {
                json_t *rec = res.records[i];
                if (strcmp(json_string_value(json_object_get(rec, "record_type")), "config") != 0) continue;
                n++;
                ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
                json_t *cfg = json_object_get(rec, "config");
                ck_assert(mapped ? tu_has_conn(cfg, "c2.quasar.example", 4782) : tu_has_conn(cfg, "fork.example", 8080));
            }
            ck_assert_msg(n == 1, "mapped=%d container %d: %zu records", mapped, kind, n);
            mc_input_result_clear(&res);
            fx_buf_free(&b);
        }
        td_free(&x);
    }
    mc_engine_free(e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quasar");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, v14_flat_and_mapped_with_heap);
    tcase_add_test(tc, v13);
    tcase_add_test(tc, v12);
    tcase_add_test(tc, obfuscated_cfb_fork);
    tcase_add_test(tc, template_stub);
    tcase_add_test(tc, lookalikes_give_nothing);
    tcase_add_test(tc, heap_only);
    tcase_add_test(tc, through_engine);
    tcase_add_test(tc, containers);
    tcase_add_test(tc, fixed_iv_fork);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
