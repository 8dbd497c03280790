/* QuasarRAT decoder on the compiled fixtures (fixtures/dotnet) placed in synthetic dumps: flat and
 * mapped images among noise and a native DLL, decrypted CLR string copies on a heap, the
 * image-wiped heap-only case, templates and look-alikes. */
#include "decoder.h"
#include "fixtures/fx.h"
#include "memcfg.h"
#include "md_internal.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x20000000ull
#define IMG_OFF 0x10000u
#define MT_PTR 0x00007FF812345678ull

extern const mc_decoder mc_decoder_quasar;

static uint8_t *load(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/dotnet/%s", name);
    uint8_t *p = tu_read_file(tu_src(rel), len);
    ck_assert_msg(p != NULL, "missing fixture %s", rel);
    return p;
}

typedef struct dump_spec {
    const char *fixture;      /* NULL: no .NET image (wiped) */
    bool mapped;
    const char *const *heap;  /* decrypted strings to place on the heap */
    size_t nheap;
} dump_spec;

static void native_dll(fx_buf *out)
{
    static const char text[] = "KERNELBASE.dll\0GetProcAddress\0This program cannot be run";
    fx_section s = {.name = ".text", .rva = 0x1000, .data = (const uint8_t *)text,
                    .data_len = sizeof text, .characteristics = 0x60000020u};
    fx_pe pe = {.pe64 = true, .dll = true, .image_base = BASE + 0x8000, .entry_rva = 0x1000,
                .sections = &s, .nsections = 1};
    fx_pe_build(&pe, true, out);
}

/* Raw dump: noise and prose, a native DLL, the assembly img (file layout; NULL: none) at
 * IMG_OFF, then a heap. */
static void build_dump_img(const dump_spec *sp, const uint8_t *img, size_t img_len, fx_buf *out,
                           size_t *heap_off)
{
    fx_buf_init(out);
    fx_put_zeros(out, 0x8000);
    fx_fill_noise(out->p, 0x6000, 7);
    static const char prose[] = "Notes: QuasarRAT stores HOSTS, MUTEX and ENCRYPTIONKEY in Settings. "
                                "b64: QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MA==";
    memcpy(out->p + 0x6000, prose, sizeof prose);
    fx_buf dll;
    fx_buf_init(&dll);
    native_dll(&dll);
    ck_assert_uint_le(dll.len, IMG_OFF - 0x8000);
    fx_put(out, dll.p, dll.len);
    fx_buf_free(&dll);
    fx_put_zeros(out, IMG_OFF - out->len);
    if (img) {
        if (sp->mapped) fx_pe_map(img, img_len, out);
        else fx_put(out, img, img_len);
    } else {
        fx_put_zeros(out, 0x4000);
    }
    fx_align(out, 0x1000);
    *heap_off = out->len;
    for (size_t i = 0; i < sp->nheap; i++) {
        fx_put_clr_string(out, 8, MT_PTR, "System.Collections.Generic");
        fx_put_clr_string(out, 8, MT_PTR, sp->heap[i]);
    }
    fx_put_zeros(out, 0x100);
    fx_align(out, 0x1000);
}

static void build_dump(const dump_spec *sp, fx_buf *out, size_t *heap_off)
{
    size_t flen = 0;
    uint8_t *f = sp->fixture ? load(sp->fixture, &flen) : NULL;
    build_dump_img(sp, f, flen, out, heap_off);
    free(f);
}

static md_dump *open_raw(const fx_buf *b)
{
    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = BASE, .has_raw_base = true};
    md_dump *d = NULL;
    char err[256];
    ck_assert_msg(md_open_mem(b->p, b->len, &o, &d, err, sizeof err) == MD_OK, "%s", err);
    return d;
}

/* Run the decoder with one hit per occurrence of each marker, as the rules would report them. */
static mc_results *decode_direct(const md_dump *d, const fx_buf *b)
{
    static const struct { const char *id; const char *pat; size_t len; } marks[] = {
        {"$n1", "ENCRYPTIONKEY", 13},
        {"$salt", "\xBF\xEB\x1E\x56\xFB\xCD\x97\x3B", 8},
        {"$heap_mutex", "\0\0Q\0S\0R\0_\0M\0U\0T\0E\0X\0_\0", 22},
    };
    mc_hit hits[64];
    size_t n = 0;
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
        const uint8_t *p = b->p, *end = b->p + b->len;
        while (n < 64 && (p = memmem(p, (size_t)(end - p), marks[k].pat, marks[k].len)) != NULL) {
            hits[n++] = (mc_hit){.va = BASE + (uint64_t)(p - b->p), .len = (uint32_t)marks[k].len,
                                 .rule = "quasar", .ns = "default", .string_id = marks[k].id,
                                 .family = "quasar"};
            p++;
        }
    }
    mc_hits h = {hits, n};
    mc_decode_ctx ctx = {.deadline = mc_now() + 30};
    mc_results *r = mc_results_new();
    ck_assert_int_eq(mc_decoder_quasar.decode(&ctx, d, &h, r), 0);
    return r;
}

/* ---- assertions on the MACO object ---- */

static bool has_conn(json_t *cfg, const char *host, long port)
{
    json_t *tcp = json_object_get(cfg, "tcp"), *e;
    size_t i;
    json_array_foreach(tcp, i, e) {
        const char *h = json_string_value(json_object_get(e, "server_ip"));
        if (!h) h = json_string_value(json_object_get(e, "server_domain"));
        if (h && strcmp(h, host) == 0 && json_integer_value(json_object_get(e, "server_port")) == port &&
            strcmp(json_string_value(json_object_get(e, "usage")), "c2") == 0)
            return true;
    }
    return false;
}

static const char *first_str(json_t *cfg, const char *key)
{
    return json_string_value(json_array_get(json_object_get(cfg, key), 0));
}

static json_t *encryption_for(json_t *cfg, const char *usage)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(cfg, "encryption"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "usage")), usage) == 0) return e;
    return NULL;
}

static bool has_form(mc_config *c, const char *prov_key, const char *form)
{
    json_t *arr = json_object_get(mc_cfg_provenance(c), prov_key), *e;
    size_t i;
    json_array_foreach(arr, i, e)
        if (strcmp(json_string_value(json_object_get(e, "form")), form) == 0) return true;
    return false;
}

static mc_results *run(const dump_spec *sp, md_dump **dout, fx_buf *b)
{
    size_t heap_off;
    build_dump(sp, b, &heap_off);
    *dout = open_raw(b);
    return decode_direct(*dout, b);
}

static void finish(mc_results *r, md_dump *d, fx_buf *b)
{
    mc_results_free(r);
    md_close(d);
    fx_buf_free(b);
}

static const char *const heap14[] = {"192.0.2.44:4782;198.51.100.9:443;c2.quasar.example:4782;",
                                     "5b1d0c9e-3f7a-4e2b-8c6d-1a2b3c4d5e6f", "Office04"};

static void check14(mc_config *c)
{
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "1.4.1");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 3);
    ck_assert(has_conn(cfg, "192.0.2.44", 4782));
    ck_assert(has_conn(cfg, "198.51.100.9", 443));
    ck_assert(has_conn(cfg, "c2.quasar.example", 4782));
    ck_assert_str_eq(first_str(cfg, "mutex"), "5b1d0c9e-3f7a-4e2b-8c6d-1a2b3c4d5e6f");
    ck_assert_str_eq(first_str(cfg, "campaign_id"), "Office04");
    ck_assert_str_eq(first_str(cfg, "password"), "0C3F9A7D21B4E58C6A0F1D2E3B4C5D6E7F801234");
    json_t *e = encryption_for(cfg, "config");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "algorithm")), "AES-256-CBC");
    /* dk[0:32] of PBKDF2-SHA1(thumbprint, Quasar salt, 50000): shared/vectors quasar 1.4 */
    ck_assert_str_eq(json_string_value(json_object_get(e, "key")),
                     "8dfb1827616a055483b9322fa433855db5587b37f58c855774eb4cfaa319737b");
    ck_assert_str_eq(json_string_value(json_object_get(e, "salt")),
                     "bfeb1e56fbcd973bb219022430a57843003d5644d21e62b9d4f180e7e6c33941");
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), 3000);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "paths"), 0), "path")),
                     "%APPDATA%\\SubDir\\Client.exe");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "registry"), 0), "key")),
                     "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Quasar Client Startup");
    json_t *other = json_object_get(cfg, "other");
    ck_assert(json_is_true(json_object_get(other, "install")));
    ck_assert(json_is_false(json_object_get(other, "hide_file")));
    ck_assert(json_is_true(json_object_get(other, "enable_logger")));
    ck_assert_str_eq(json_string_value(json_object_get(other, "generation")), "1.4");
    ck_assert_str_eq(json_string_value(json_object_get(mc_cfg_rawjson(c), "TAG")), "Office04");
    ck_assert(has_form(c, "version", "image_encrypted"));
}

START_TEST(v14_flat_and_mapped_with_heap)
{
    for (int mapped = 0; mapped < 2; mapped++) {
        dump_spec sp = {"quasar14.exe", mapped, heap14, 3};
        fx_buf b;
        md_dump *d;
        mc_results *r = run(&sp, &d, &b);
        ck_assert_uint_eq(mc_results_count(r), 1);
        mc_config *c = mc_results_get(r, 0);
        check14(c);
        ck_assert(has_form(c, "mutex[0]", "heap_decrypted"));
        ck_assert(has_form(c, "tcp[0]", "heap_decrypted"));
        ck_assert(has_form(c, "mutex[0]", "image_encrypted"));
        int with_heap = mc_cfg_get_confidence(c);
        finish(r, d, &b);

        dump_spec bare = {"quasar14.exe", mapped, NULL, 0};
        r = run(&bare, &d, &b);
        ck_assert_uint_eq(mc_results_count(r), 1);
        c = mc_results_get(r, 0);
        check14(c);
        ck_assert(!has_form(c, "mutex[0]", "heap_decrypted"));
        ck_assert_int_gt(with_heap, mc_cfg_get_confidence(c));
        finish(r, d, &b);
    }
}
END_TEST

START_TEST(v13)
{
    dump_spec sp = {"quasar13.exe", true, NULL, 0};
    fx_buf b;
    md_dump *d;
    mc_results *r = run(&sp, &d, &b);
    ck_assert_uint_eq(mc_results_count(r), 1);
    mc_config *c = mc_results_get(r, 0);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "1.3.0.0");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 2);
    ck_assert(has_conn(cfg, "198.51.100.23", 4782));
    ck_assert(has_conn(cfg, "backup.quasar.test", 4783));
    ck_assert_str_eq(first_str(cfg, "mutex"), "QSR_MUTEX_h3Xk29LmQpZa");
    ck_assert_str_eq(first_str(cfg, "campaign_id"), "campaign-13");
    ck_assert_str_eq(first_str(cfg, "password"), "Vq7TnB2xKc9LmZ4pRw1s");
    json_t *e = encryption_for(cfg, "config");
    ck_assert_str_eq(json_string_value(json_object_get(e, "algorithm")), "AES-128-CBC");
    ck_assert_str_eq(json_string_value(json_object_get(e, "key")), "b009b53636368f079bfc591964609bc7");
    ck_assert_ptr_nonnull(encryption_for(cfg, "communication"));   /* the plain KEY field */
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), 5000);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "paths"), 0), "path")),
                     "%PROGRAMFILES%\\Microsoft Help\\svchost.exe");
    ck_assert(json_is_true(json_object_get(json_object_get(cfg, "other"), "hide_file")));
    finish(r, d, &b);
}
END_TEST

START_TEST(v12)
{
    dump_spec sp = {"quasar12.exe", false, NULL, 0};
    fx_buf b;
    md_dump *d;
    mc_results *r = run(&sp, &d, &b);
    ck_assert_uint_eq(mc_results_count(r), 1);
    mc_config *c = mc_results_get(r, 0);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "1.2.0.0");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
    ck_assert(has_conn(cfg, "203.0.113.7", 4782));
    ck_assert_str_eq(first_str(cfg, "mutex"), "QSR_MUTEX_Zq81mPxR44nTb0Lw");
    ck_assert_str_eq(first_str(cfg, "campaign_id"), "Office04");
    json_t *pw = json_object_get(cfg, "password");
    ck_assert_uint_eq(json_array_size(pw), 2);   /* the network PASSWORD and the key string */
    json_t *e = encryption_for(cfg, "config");
    ck_assert_str_eq(json_string_value(json_object_get(e, "algorithm")), "AES-128-CBC");
    /* MD5("ABCDEFGHIJKLMNOPQRST"): shared/vectors quasar 1.2 */
    ck_assert_str_eq(json_string_value(json_object_get(e, "key")), "6278736382b57731affc96ab1907b79f");
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), 10000);
    ck_assert(json_is_false(json_object_get(json_object_get(cfg, "other"), "install")));
    finish(r, d, &b);
}
END_TEST

START_TEST(obfuscated_cfb_fork)
{
    dump_spec sp = {"quasarfork.exe", true, NULL, 0};
    fx_buf b;
    md_dump *d;
    mc_results *r = run(&sp, &d, &b);
    ck_assert_uint_eq(mc_results_count(r), 1);
    mc_config *c = mc_results_get(r, 0);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "1.4.1.7-fork");
    ck_assert(has_conn(cfg, "fork.example", 8080));
    ck_assert(has_conn(cfg, "203.0.113.99", 8443));
    ck_assert_str_eq(first_str(cfg, "mutex"), "7e9f2a41-0c3b-4d5e-9f60-a1b2c3d4e5f6");
    ck_assert_str_eq(first_str(cfg, "campaign_id"), "fork-tag");
    json_t *e = encryption_for(cfg, "config");
    ck_assert_str_eq(json_string_value(json_object_get(e, "mode")), "CFB");
    ck_assert_str_eq(json_string_value(json_object_get(e, "algorithm")), "AES-256-CFB8");
    /* Raw names are the obfuscated ones, as found. */
    json_t *raw = mc_cfg_rawjson(c);
    ck_assert_str_eq(json_string_value(json_object_get(raw, "a4Xq")), "fork.example:8080;203.0.113.99:8443;");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "\xca\xb0\xca\xb2\xca\xb3")), "1.4.1.7-fork");
    finish(r, d, &b);
}
END_TEST

START_TEST(template_stub)
{
    dump_spec sp = {"quasartemplate.exe", false, NULL, 0};
    fx_buf b;
    md_dump *d;
    mc_results *r = run(&sp, &d, &b);
    ck_assert_uint_eq(mc_results_count(r), 1);
    mc_config *c = mc_results_get(r, 0);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_TEMPLATE);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_ptr_null(json_object_get(cfg, "tcp"));
    ck_assert_ptr_null(json_object_get(cfg, "http"));
    ck_assert_ptr_null(json_object_get(cfg, "mutex"));
    finish(r, d, &b);
}
END_TEST

START_TEST(lookalikes_give_nothing)
{
    /* Marker-only assembly with undecryptable base64; then no image at all (prose, base64 junk,
     * a native DLL and noise only). */
    const char *fixtures[] = {"lookalike.exe", NULL};
    for (int k = 0; k < 2; k++) {
        for (int mapped = 0; mapped < 2; mapped++) {
            dump_spec sp = {fixtures[k], mapped, NULL, 0};
            fx_buf b;
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
    dump_spec sp = {NULL, false, heap, 2};
    fx_buf b;
    md_dump *d;
    mc_results *r = run(&sp, &d, &b);
    ck_assert_uint_eq(mc_results_count(r), 1);
    mc_config *c = mc_results_get(r, 0);
    json_t *cfg = mc_cfg_json(c);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_PARTIAL);
    ck_assert_int_le(mc_cfg_get_confidence(c), 30);
    ck_assert(has_conn(cfg, "198.51.100.23", 4782));
    ck_assert(has_conn(cfg, "backup.quasar.test", 4783));
    ck_assert_str_eq(first_str(cfg, "mutex"), "QSR_MUTEX_h3Xk29LmQpZa");
    ck_assert(has_form(c, "mutex[0]", "heap_decrypted"));
    finish(r, d, &b);

    /* A mutex object alone (no hosts list beside it) is not enough. */
    static const char *const lone[] = {"QSR_MUTEX_h3Xk29LmQpZa", "not a host list"};
    dump_spec sp2 = {NULL, false, lone, 2};
    r = run(&sp2, &d, &b);
    ck_assert_uint_eq(mc_results_count(r), 0);
    finish(r, d, &b);
}
END_TEST

/* The full path: libyara rules from quasar.yar, the engine's dispatch, records. */
START_TEST(through_engine)
{
    const char *fam[] = {"quasar"};
    mc_engine_opts o = {.families = fam, .nfamilies = 1};
    o.open.force_format = MD_FMT_RAW;
    o.open.raw_base = BASE;
    o.open.has_raw_base = true;
    mc_engine *e;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "%s", err);
    struct { const char *fx; bool mapped; const char *const *heap; size_t nheap; size_t want; const char *status; } cases[] = {
        {"quasar14.exe", true, heap14, 3, 1, "complete"},
        {"quasar13.exe", false, NULL, 0, 1, "complete"},
        {"quasartemplate.exe", true, NULL, 0, 1, "template"},
        {"lookalike.exe", false, NULL, 0, 0, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dump_spec sp = {cases[k].fx, cases[k].mapped, cases[k].heap, cases[k].nheap};
        fx_buf b;
        size_t heap_off;
        build_dump(&sp, &b, &heap_off);
        mc_input in = {.path = cases[k].fx, .mem = b.p, .memlen = b.len};
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
        fx_buf_free(&b);
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

static mc_engine *raw_engine(void)
{
    const char *fam[] = {"quasar"};
    mc_engine_opts o = {.families = fam, .nfamilies = 1};
    o.open.force_format = MD_FMT_RAW;
    o.open.raw_base = BASE;
    o.open.has_raw_base = true;
    mc_engine *e;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "%s", err);
    return e;
}

static void check_fixediv(json_t *rec)
{
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "1.4.1-fx");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 2);
    ck_assert(has_conn(cfg, "192.0.2.61", 4782));
    ck_assert(has_conn(cfg, "fixediv.quasar.example", 443));
    ck_assert_str_eq(first_str(cfg, "mutex"), "2c4e6a80-1b3d-4f5a-9c7e-0d2f4b6a8c1e");
    ck_assert_str_eq(first_str(cfg, "campaign_id"), "fx-tag");
    ck_assert_str_eq(first_str(cfg, "password"), "Fx1v-Pass.Settings!7");
    json_t *e = encryption_for(cfg, "config");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "algorithm")), "AES-256-CBC");
    /* PBKDF2-SHA1("Fx1v-Pass.Settings!7", salt, 1000, 48), computed with Python's hashlib */
    ck_assert_str_eq(json_string_value(json_object_get(e, "key")),
                     "16cba5484a0ca93f529e023d77406a6d9f57edc9c0b0b023384458100406c83d");
    ck_assert_str_eq(json_string_value(json_object_get(e, "iv")), "b81105a3126527245c1cc9a9af56299c");
    ck_assert_str_eq(json_string_value(json_object_get(e, "salt")), "3a91c4e07b2d58f60c1e9a4b7d3f2861");
    json_t *other = json_object_get(cfg, "other");
    ck_assert_str_eq(json_string_value(json_object_get(other, "generation")), "1.4-fork-fixed-iv");
    ck_assert_str_eq(json_string_value(json_object_get(other, "integrity")), "none");
    ck_assert_int_eq(json_integer_value(json_object_get(other, "kdf_iterations")), 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "sleep_delay")), 4000);
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
    uint8_t *img = load("quasarfixediv.exe", len);
    uint8_t *at = memmem(img, *len, w, 2 * n);
    ck_assert_ptr_nonnull(at);
    at[0] = at[0] == 'A' ? 'B' : 'A';
    free(cs);
    return img;
}

START_TEST(fixed_iv_fork)
{
    mc_engine *e = raw_engine();
    for (int mapped = 0; mapped < 2; mapped++) {
        dump_spec sp = {"quasarfixediv.exe", mapped, NULL, 0};
        fx_buf b;
        size_t heap_off;
        build_dump(&sp, &b, &heap_off);
        json_t *recs = engine_configs(e, &b);
        ck_assert_msg(json_array_size(recs) == 1, "mapped=%d: %zu configs", mapped, json_array_size(recs));
        check_fixediv(json_array_get(recs, 0));
        json_decref(recs);
        fx_buf_free(&b);

        /* Look-alike: the same assembly with one literal that no longer decrypts. */
        size_t flen;
        uint8_t *img = corrupted_fixediv(&flen);
        build_dump_img(&sp, img, flen, &b, &heap_off);
        free(img);
        recs = engine_configs(e, &b);
        ck_assert_msg(json_array_size(recs) == 0, "look-alike mapped=%d: %zu configs", mapped,
                      json_array_size(recs));
        json_decref(recs);
        fx_buf_free(&b);
    }
    mc_engine_free(e);
}
END_TEST

/* The same process in every container the fixture writers produce, through the engine. */
START_TEST(containers)
{
    const char *fam[] = {"quasar"};
    mc_engine_opts o = {.families = fam, .nfamilies = 1};
    mc_engine *e;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "%s", err);
    for (int mapped = 0; mapped < 2; mapped++) {
        dump_spec sp = {mapped ? "quasar14.exe" : "quasarfork.exe", mapped, heap14, 3};
        fx_buf raw;
        size_t heap_off;
        build_dump(&sp, &raw, &heap_off);
        fx_region regs[4] = {
            {.va = BASE, .data = raw.p, .size = 0x8000},
            {.va = BASE + 0x8000, .data = raw.p + 0x8000, .size = IMG_OFF - 0x8000,
             .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE},
            {.va = BASE + IMG_OFF, .data = raw.p + IMG_OFF, .size = heap_off - IMG_OFF,
             .protect = mapped ? MD_PAGE_EXECUTE_READ : MD_PAGE_READWRITE,
             .type = mapped ? MD_MEM_IMAGE : MD_MEM_PRIVATE},
            {.va = BASE + heap_off, .data = raw.p + heap_off, .size = raw.len - heap_off},
        };
        fx_module mods[2] = {{BASE + 0x8000, IMG_OFF - 0x8000, "C:\\Windows\\System32\\sysdll.dll"},
                             {BASE + IMG_OFF, (uint32_t)(heap_off - IMG_OFF), "C:\\Users\\u\\AppData\\client.exe"}};
        fx_process proc = {.pid = 4242, .arch = MD_ARCH_AMD64, .regions = regs, .nregions = 4,
                           .modules = mods, .nmodules = mapped ? 2 : 1};
        for (int kind = 0; kind < 3; kind++) {
            fx_buf b;
            fx_buf_init(&b);
            if (kind == 0) fx_minidump(&proc, FX_MD_FULL, &b);
            else if (kind == 1) fx_cuckoo(&proc, &b);
            else fx_elfcore(&proc, 64, 0, &b);
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
                ck_assert(mapped ? has_conn(cfg, "c2.quasar.example", 4782) : has_conn(cfg, "fork.example", 8080));
            }
            ck_assert_msg(n == 1, "mapped=%d container %d: %zu records", mapped, kind, n);
            mc_input_result_clear(&res);
            fx_buf_free(&b);
        }
        fx_buf_free(&raw);
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
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
