/* Lumma decoder: every config-storage era and variant (A edx765, B base64+XOR, C stream / table /
 * reverse, D code-addressed in both instruction orders), each image mapped at a base other than
 * its ImageBase, flat, injected with the headers wiped, and injected without relocation, in every
 * container through mc_engine_scan; heap copies of decrypted C2s; look-alikes that must report
 * nothing; and the shared vectors. */
#include "decoder.h"
#include "memcfg.h"
#include "lib/mc_crypto.h"
#include "fixtures/fx.h"
#include "fixtures/fx_lumma.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const mc_decoder mc_decoder_lumma;

#define NOISE_VA TU_NOISE_VA
#define IMG_VA TU_IMG_VA            /* != FX_LUMMA_IMAGE_BASE: the loader relocated the image */
#define FLAT_VA TU_FLAT_VA
#define INJ_VA TU_INJ_VA
#define HEAP_VA TU_HEAP_VA
#define RAW_BASE TU_RAW_BASE

static const uint8_t KEY[32] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f};
static const uint8_t XKEY[32] = {
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};
static const uint8_t NONCE[8] = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18};

static const char *const C2_A[] = {"c2-alpha.example/c2sock", "http://198.51.100.23/c2sock",
                                   "mirror.lumma.test/c2sock"};
static const char *const C2_B[] = {"alpha-relay.example", "beta-relay.example", "gamma.lumma.test"};
static const char *const C2_4[] = {"gamma-relay.example/apiX", "delta.lumma.test/api", "epsilon.example/api",
                                   "zeta.example:8443/gate"};
static const char *const C2_9[] = {"one.lumma.test/api", "two.lumma.test/api", "three.lumma.test/api",
                                   "four.lumma.test/api", "five.lumma.test/api", "six.lumma.test/api",
                                   "seven.lumma.test/api", "eight.lumma.test/api", "nine.lumma.test/api"};
static const char *const C2_3[] = {"rev-one.example/api", "rev-two.example/api", "rev-three.example/api"};
static const char *const C2_5[] = {"d-one.example/api", "d-two.example/api", "d-three.lumma.test/api",
                                   "d-four.example/api", "d-five.example/gate"};
static const char *const C2_2[] = {"alt-one.example/api", "alt-two.example/api"};

typedef struct variant {
    const char *name;
    fx_lumma l;
    const char *user, *build;   /* expected campaign_id / identifier; NULL = absent */
    const char *alg;            /* expected encryption algorithm, NULL = none */
    int confidence;
    const char *layout;         /* the reading that must have found it */
} variant;

static const variant V[] = {
    {"A-edx765", {.era = FX_LUMMA_A, .c2 = C2_A, .nc2 = 3, .build_id = "20222512"}, NULL, "20222512", NULL, 50, "edx765"},
    {"B-base64-xor", {.era = FX_LUMMA_B, .c2 = C2_B, .nc2 = 3, .user_id = "Xk2pLm9Q", .build_id = "buildB01", .key = XKEY},
     "Xk2pLm9Q", "buildB01", "XOR", 90, "base64-xor"},
    {"B-user-only", {.era = FX_LUMMA_B, .c2 = C2_B, .nc2 = 2, .user_id = "LoneUser7", .key = XKEY},
     "LoneUser7", NULL, "XOR", 90, "base64-xor"},
    {"C-stream", {.era = FX_LUMMA_C_STREAM, .c2 = C2_4, .nc2 = 4, .user_id = "cUser01", .build_id = "cBuild77", .key = KEY, .nonce = NONCE},
     "cUser01", "cBuild77", "ChaCha20", 100, "chacha20-stream"},
    {"C-table", {.era = FX_LUMMA_C_TABLE, .c2 = C2_9, .nc2 = 9, .user_id = "tUser", .build_id = "tBuild", .key = KEY, .nonce = NONCE},
     "tUser", "tBuild", "ChaCha20", 100, "chacha20-table"},
    {"C-reverse", {.era = FX_LUMMA_C_REVERSE, .c2 = C2_3, .nc2 = 3, .user_id = "rUser", .build_id = "rBuild", .key = KEY, .nonce = NONCE},
     "rUser", "rBuild", "ChaCha20", 100, "chacha20-reverse"},
    {"D-code", {.era = FX_LUMMA_D, .c2 = C2_5, .nc2 = 5, .user_id = "dUser", .build_id = "dBuild2025", .key = KEY, .nonce = NONCE},
     "dUser", "dBuild2025", "ChaCha20", 100, "code-addressed"},
    {"D-code-alt", {.era = FX_LUMMA_D, .c2 = C2_2, .nc2 = 2, .build_id = "altBuildOnly", .key = XKEY, .nonce = NONCE, .alt_order = true},
     NULL, "altBuildOnly", "ChaCha20", 100, "code-addressed"},
};
#define NV (sizeof V / sizeof V[0])

typedef enum layout { L_MAPPED = 0, L_FLAT, L_INJECTED, L_UNRELOCATED, L__COUNT } layout;
/* The containers of tu_write_container, then a raw dump. */
typedef enum container { K_MINIDUMP = TU_MINIDUMP, K_RAW = TU__CONTAINERS, K__COUNT } container;
static const char *const LAYOUT_NAME[] = {"mapped", "flat", "injected", "unrelocated"};
static const char *const CONTAINER_NAME[] = {"minidump", "cuckoo", "elfcore", "gzip", "raw"};

/* ---- expectations, computed from the stored values ---- */

/* https unless stored with a scheme; default port of the scheme; "/api" when there is no path. */
static void expected_url(const char *stored, char *out, size_t n)
{
    const char *scheme = "https", *s = stored;
    if (strncmp(s, "http://", 7) == 0) { scheme = "http"; s += 7; }
    else if (strncmp(s, "https://", 8) == 0) s += 8;
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)hl, s);
    const char *port = strchr(host, ':') ? "" : strcmp(scheme, "http") == 0 ? ":80" : ":443";
    snprintf(out, n, "%s://%s%s%s", scheme, host, port, slash ? slash : "/api");
}

static void check_http(json_t *cfg, const variant *v)
{
    json_t *http = json_object_get(cfg, "http");
    ck_assert_msg(json_array_size(http) == v->l.nc2, "%s: %zu C2s, want %zu", v->name, json_array_size(http), v->l.nc2);
    for (size_t i = 0; i < v->l.nc2; i++) {
        char want[300];
        json_t *h = json_array_get(http, i);
        expected_url(v->l.c2[i], want, sizeof want);
        ck_assert_msg(strcmp(json_string_value(json_object_get(h, "uri")), want) == 0, "%s: c2[%zu] %s != %s",
                      v->name, i, json_string_value(json_object_get(h, "uri")), want);
        ck_assert_str_eq(json_string_value(json_object_get(h, "usage")), "c2");
        ck_assert_str_eq(json_string_value(json_object_get(h, "protocol")), strncmp(want, "https", 5) ? "http" : "https");
        ck_assert_ptr_nonnull(json_string_value(json_object_get(h, "hostname")));
        ck_assert(strstr(want, json_string_value(json_object_get(h, "hostname"))) != NULL);
        ck_assert_int_gt(json_integer_value(json_object_get(h, "port")), 0);
        ck_assert_ptr_nonnull(strstr(want, json_string_value(json_object_get(h, "path"))));
    }
}

static void check_config(json_t *cfg, const variant *v)
{
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "family")), "lumma");
    ck_assert(tu_json_has_str(json_object_get(cfg, "category"), "infostealer"));
    check_http(cfg, v);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(cfg, "other"), "config_layout")), v->layout);
    json_t *camp = json_object_get(cfg, "campaign_id"), *ident = json_object_get(cfg, "identifier");
    if (v->user) {
        ck_assert_uint_eq(json_array_size(camp), 1);
        ck_assert_str_eq(json_string_value(json_array_get(camp, 0)), v->user);
    } else {
        ck_assert_ptr_null(camp);
    }
    if (v->build) {
        ck_assert_uint_eq(json_array_size(ident), 1);
        ck_assert_str_eq(json_string_value(json_array_get(ident, 0)), v->build);
    } else {
        ck_assert_ptr_null(ident);
    }
    json_t *enc = json_object_get(cfg, "encryption");
    if (!v->alg) { ck_assert_ptr_null(enc); return; }
    char hex[65];
    mc_hex(v->l.key, 32, hex);
    ck_assert(tu_json_str_in(enc, "key", hex));
    ck_assert(tu_json_str_in(enc, "algorithm", v->alg));
    if (v->l.nonce) {
        mc_hex(v->l.nonce, 8, hex);
        ck_assert(tu_json_str_in(enc, "nonce", hex));
    }
}

/* ---- dumps ---- */

/* The payload's decrypted C2 strings, as its heap holds them: ASCII and UTF-16. */
static void heap_region(fx_buf *b, const variant *v)
{
    uint8_t junk[0x200];
    fx_fill_noise(junk, sizeof junk, 77);
    fx_buf_init(b);
    fx_put(b, junk, sizeof junk);
    for (size_t i = 0; i < v->l.nc2; i++) {
        fx_put_zeros(b, 16);
        if (i % 2) fx_put_utf16(b, v->l.c2[i]), fx_put_zeros(b, 2);
        else fx_put(b, v->l.c2[i], strlen(v->l.c2[i]) + 1);
    }
    fx_put_zeros(b, 16);
    fx_put(b, junk, sizeof junk);
}

static void build_image(const variant *v, layout lay, uint64_t va, fx_buf *img)
{
    fx_buf_init(img);
    switch (lay) {
    case L_MAPPED: fx_lumma_image(&v->l, true, va, img); break;
    case L_FLAT: fx_lumma_image(&v->l, false, 0, img); break;
    case L_INJECTED: fx_lumma_image(&v->l, true, va, img); fx_wipe_headers(img); break;
    case L_UNRELOCATED: fx_lumma_image(&v->l, true, FX_LUMMA_IMAGE_BASE, img); fx_wipe_headers(img); break;
    default: ck_abort();
    }
}

static uint64_t layout_va(layout lay)
{
    static const uint64_t va[] = {IMG_VA, FLAT_VA, INJ_VA, INJ_VA + 0x50000};
    return va[lay];
}

/* The noise, the image in one layout (executable, an image and a module only when mapped), and
 * the heap strings when asked for. */
static void scene_build(tu_scene *s, const variant *v, layout lay, bool heap)
{
    tu_scene_init(s, MD_ARCH_X86);
    uint64_t va = layout_va(lay);
    build_image(v, lay, va, &s->img[0]);
    bool image = lay == L_MAPPED;
    tu_scene_add(s, &s->img[0], va, image ? MD_PAGE_EXECUTE_READ : MD_PAGE_EXECUTE_READWRITE,
                 image ? MD_MEM_IMAGE : MD_MEM_PRIVATE, va);
    if (image) s->module = (fx_module){va, (uint32_t)s->img[0].len, "C:\\Users\\u\\AppData\\Local\\Temp\\lumma.exe"};
    if (heap) {
        heap_region(&s->heap, v);
        tu_scene_add_heap(s);
    }
}

/* Raw: noise, the image at a page boundary, then the heap strings far enough away to be outside
 * the bytes the decoder attributes to the payload. */
static void raw_dump(const variant *v, layout lay, fx_buf *out, uint64_t *img_va)
{
    fx_buf img, heap;
    fx_buf_init(out);
    fx_put_zeros(out, 0x3000);
    fx_fill_noise(out->p, out->len, 3);
    *img_va = RAW_BASE + out->len;
    build_image(v, lay, *img_va, &img);
    fx_put(out, img.p, img.len);
    heap_region(&heap, v);
    fx_put(out, heap.p, heap.len);
    fx_buf_free(&img);
    fx_buf_free(&heap);
}


/* ---- engine ---- */

static mc_engine *ENGINE;

/* The shared engine, or one opened with these open options. */
static void engine_scan(const fx_buf *in, const md_open_opts *open, mc_input_result *res)
{
    static const char *const fam[] = {"lumma"};
    mc_engine_opts o;
    memset(&o, 0, sizeof o);
    o.families = fam;
    o.nfamilies = 1;
    mc_engine *e = ENGINE;
    char err[512];
    if (open) {
        o.open = *open;
        ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "engine: %s", err);
    }
    ck_assert_ptr_nonnull(e);
    memset(res, 0, sizeof *res);
    mc_input inp = {"fixture", in->p, in->len, 0, NULL};
    mc_engine_scan(e, &inp, res);
    ck_assert_msg(res->status == MC_INPUT_OK, "scan: %s", res->error);
    if (open) mc_engine_free(e);
}

static size_t config_records(const mc_input_result *res, json_t **first)
{
    size_t n = 0;
    for (size_t i = 0; i < res->nrecords; i++) {
        const char *t = json_string_value(json_object_get(res->records[i], "record_type"));
        if (t && strcmp(t, "config") == 0) {
            if (n++ == 0 && first) *first = res->records[i];
        }
    }
    return n;
}

/* One variant in one layout in one container: exactly one config, all of it right. */
START_TEST(every_era_layout_container)
{
    const variant *v = &V[_i / (L__COUNT * K__COUNT)];
    layout lay = (layout)(_i / K__COUNT % L__COUNT);
    container k = (container)(_i % K__COUNT);
    fx_buf dump;
    mc_input_result res;
    md_open_opts o;
    bool heap_expected = k != K_RAW;
    if (k == K_RAW) {
        uint64_t img_va;
        raw_dump(v, lay, &dump, &img_va);
        memset(&o, 0, sizeof o);
        o.force_format = MD_FMT_RAW;
        o.raw_base = RAW_BASE;
        o.has_raw_base = true;
        engine_scan(&dump, &o, &res);
    } else {
        tu_scene s;
        scene_build(&s, v, lay, true);
        tu_scene_container(&s, (tu_container)k, &dump);
        tu_scene_free(&s);
        engine_scan(&dump, NULL, &res);
    }
    json_t *rec = NULL;
    size_t n = config_records(&res, &rec);
    ck_assert_msg(n == 1, "%s/%s/%s: %zu configs", v->name, LAYOUT_NAME[lay], CONTAINER_NAME[k], n);
    check_config(json_object_get(rec, "config"), v);
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "confidence")), v->confidence);
    json_t *prov = json_object_get(rec, "provenance");
    ck_assert(tu_prov_has_form(prov, NULL, v->alg ? "image_encrypted" : "plaintext"));
    if (heap_expected)
        ck_assert_msg(tu_prov_has_form(prov, NULL, "heap_decrypted"), "%s/%s/%s: no heap copy", v->name, LAYOUT_NAME[lay],
                      CONTAINER_NAME[k]);
    mc_input_result_clear(&res);
    fx_buf_free(&dump);
}
END_TEST

/* Without the heap strings nothing claims a heap copy. */
START_TEST(no_heap_no_heap_provenance)
{
    const variant *v = &V[_i];
    tu_scene s;
    fx_buf dump;
    mc_input_result res;
    scene_build(&s, v, L_MAPPED, false);
    tu_scene_container(&s, TU_MINIDUMP, &dump);
    engine_scan(&dump, NULL, &res);
    json_t *rec = NULL;
    ck_assert_uint_eq(config_records(&res, &rec), 1);
    check_config(json_object_get(rec, "config"), v);
    ck_assert(!tu_prov_has_form(json_object_get(rec, "provenance"), NULL, "heap_decrypted"));
    mc_input_result_clear(&res);
    fx_buf_free(&dump);
    tu_scene_free(&s);
}
END_TEST

/* ---- look-alikes ---- */

static size_t engine_configs_for_region(const fx_buf *data, uint64_t va, uint32_t type)
{
    fx_buf dump;
    mc_input_result res;
    tu_region_dump(data, va, type, &dump);
    engine_scan(&dump, NULL, &res);
    size_t n = config_records(&res, NULL);
    mc_input_result_clear(&res);
    fx_buf_free(&dump);
    return n;
}

/* The same code and layout with random bytes where the config belongs: the rules fire, the
 * decoder proves nothing. */
START_TEST(junk_images)
{
    fx_lumma l = V[_i].l;
    l.junk = true;
    for (layout lay = L_MAPPED; lay < L__COUNT; lay++) {
        fx_buf img;
        variant jv = V[_i];
        jv.l = l;
        build_image(&jv, lay, layout_va(lay), &img);
        ck_assert_msg(engine_configs_for_region(&img, layout_va(lay), lay == L_MAPPED ? MD_MEM_IMAGE : MD_MEM_PRIVATE) == 0,
                      "%s/%s junk reported", V[_i].name, LAYOUT_NAME[lay]);
        fx_buf_free(&img);
    }
}
END_TEST

/* C2 strings that are not host names under the real keys. */
START_TEST(not_hosts)
{
    static const char *const bad[] = {"not a host/api", "localhost/api", "exa_mple.example/api"};
    fx_lumma l = V[_i].l;
    l.c2 = bad;
    l.nc2 = 3;
    fx_buf img;
    fx_buf_init(&img);
    fx_lumma_image(&l, true, IMG_VA, &img);
    ck_assert_uint_eq(engine_configs_for_region(&img, IMG_VA, MD_MEM_IMAGE), 0);
    fx_buf_free(&img);
}
END_TEST

typedef struct hitset { mc_hit v[64]; size_t n; } hitset;

static void add_hit(hitset *h, uint64_t va, uint32_t len, const char *id)
{
    ck_assert_uint_lt(h->n, 64);
    h->v[h->n++] = (mc_hit){va, len, "lumma_chacha_config", "lumma", id, "lumma"};
}

static int hit_cmp(const void *a, const void *b)
{
    const mc_hit *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

/* Decode one region directly, with a hit at every occurrence of each marker the rules use. */
static size_t decode_region(const fx_buf *data, uint64_t va, mc_results **keep)
{
    static const uint8_t marker[16] = {0x32, 0x1D, 0x30, 0xF9, 0x48, 0x77, 0x82, 0x5A,
                                       0x3C, 0xBF, 0x73, 0x7F, 0xDD, 0x4F, 0x15, 0x75};
    static const struct { const void *p; size_t n; const char *id; } pats[] = {
        {marker, 16, "$marker"}, {"edx765", 6, "$junk"}, {"finding central directory", 25, "$central"},
    };
    fx_region r = {va, data->p, data->len, MD_PAGE_READWRITE, MD_MEM_PRIVATE, va};
    fx_process p = {7, MD_ARCH_X86, &r, 1, NULL, 0};
    fx_buf dump;
    fx_buf_init(&dump);
    fx_minidump(&p, FX_MD_FULL, &dump);
    md_dump *d = NULL;
    char err[256];
    ck_assert_msg(md_open_mem(dump.p, dump.len, NULL, &d, err, sizeof err) == MD_OK, "%s", err);
    hitset h = {.n = 0};
    for (size_t k = 0; k < sizeof pats / sizeof pats[0]; k++)
        for (size_t at = 0; at + pats[k].n <= data->len;) {
            const uint8_t *m = memmem(data->p + at, data->len - at, pats[k].p, pats[k].n);
            if (!m) break;
            add_hit(&h, va + (uint64_t)(m - data->p), (uint32_t)pats[k].n, pats[k].id);
            at = (size_t)(m - data->p) + 1;
        }
    if (h.n == 0) add_hit(&h, va, 1, "$b64dec");
    qsort(h.v, h.n, sizeof h.v[0], hit_cmp);
    mc_results *res = mc_results_new();
    mc_decode_ctx ctx = {.deadline = 0};
    mc_hits hits = {h.v, h.n};
    ck_assert_int_eq(mc_decoder_lumma.decode(&ctx, d, &hits, res), 0);
    size_t n = mc_results_count(res);
    if (keep) *keep = res; else mc_results_free(res);
    md_close(d);
    fx_buf_free(&dump);
    return n;
}

START_TEST(lookalike_regions)
{
    fx_buf b;
    /* prose naming Lumma and its tricks, NUL-terminated text */
    static const char prose[] =
        "\0Lumma Stealer (LummaC2) hides strings with edx765, e.g. Lumedx765maC2 and \\Locedx765al "
        "Staedx765te; its C2 list such as c2.lumma.example/api is base64 with a 32-byte XOR key "
        "after finding central directory in miniz.\0";
    fx_buf_init(&b);
    fx_put(&b, prose, sizeof prose);
    ck_assert_uint_eq(decode_region(&b, HEAP_VA, NULL), 0);
    ck_assert_uint_eq(engine_configs_for_region(&b, HEAP_VA, MD_MEM_PRIVATE), 0);
    fx_buf_free(&b);
    /* base64 junk: strict base64 strings, shared 32-byte prefix, random tails */
    fx_buf_init(&b);
    fx_put_zeros(&b, 16);
    for (uint64_t i = 0; i < 6; i++) {
        uint8_t raw[60];
        char txt[100];
        memcpy(raw, XKEY, 32);
        fx_fill_noise(raw + 32, sizeof raw - 32, 100 + i);
        mc_b64_encode(raw, 32 + 10 + i * 3, txt);
        fx_put(&b, txt, strlen(txt) + 1);
    }
    fx_put(&b, "finding central directory\0u--b\0", 31);
    ck_assert_uint_eq(decode_region(&b, HEAP_VA, NULL), 0);
    fx_buf_free(&b);
    /* the marker followed by random bytes, and a "true\0false" anchor with random chunks */
    static const uint8_t marker[16] = {0x32, 0x1D, 0x30, 0xF9, 0x48, 0x77, 0x82, 0x5A,
                                       0x3C, 0xBF, 0x73, 0x7F, 0xDD, 0x4F, 0x15, 0x75};
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint8_t junk[0x700];
        fx_fill_noise(junk, sizeof junk, seed);
        fx_buf_init(&b);
        fx_put_zeros(&b, 0x40);
        fx_put(&b, marker, sizeof marker);
        fx_put(&b, junk, sizeof junk);
        fx_put(&b, "true\0false", 10);
        fx_put(&b, junk, sizeof junk);
        ck_assert_uint_eq(decode_region(&b, HEAP_VA, NULL), 0);
        fx_buf_free(&b);
    }
    /* a marker at the very end of a region */
    fx_buf_init(&b);
    fx_put_zeros(&b, 0x20);
    fx_put(&b, marker, sizeof marker);
    ck_assert_uint_eq(decode_region(&b, HEAP_VA, NULL), 0);
    fx_buf_free(&b);
}
END_TEST

/* Era C blobs cut short at every slot boundary: what is whole is reported, nothing else, and
 * nothing is read past the region. */
START_TEST(truncated_stream)
{
    const variant *v = &V[3];
    fx_buf img;
    fx_buf_init(&img);
    fx_lumma_image(&v->l, true, IMG_VA, &img);
    static const uint8_t marker[4] = {0x32, 0x1D, 0x30, 0xF9};
    const uint8_t *m = memmem(img.p, img.len, marker, sizeof marker);
    ck_assert_ptr_nonnull(m);
    size_t moff = (size_t)(m - img.p);
    for (size_t slots = 0; slots <= 5; slots++) {
        fx_buf cut;
        fx_buf_init(&cut);
        fx_put(&cut, img.p + moff, 0x38 + 0x80 + 0x80 * slots);
        mc_results *res = NULL;
        size_t n = decode_region(&cut, HEAP_VA, &res);
        size_t want = slots < v->l.nc2 ? slots : v->l.nc2;
        ck_assert_uint_eq(n, want ? 1 : 0);
        if (n) ck_assert_uint_eq(json_array_size(json_object_get(mc_cfg_json(mc_results_get(res, 0)), "http")), want);
        mc_results_free(res);
        fx_buf_free(&cut);
    }
    fx_buf_free(&img);
}
END_TEST

/* ---- shared vectors ---- */

static const char *first_uri(mc_results *res)
{
    json_t *http = json_object_get(mc_cfg_json(mc_results_get(res, 0)), "http");
    return json_string_value(json_object_get(json_array_get(http, 0), "uri"));
}

static void vector_b(json_t *v)
{
    size_t kl;
    uint8_t *key = tu_unhex(json_string_value(json_object_get(v, "xor_key_hex")), &kl);
    const char *str = json_string_value(json_object_get(v, "string"));
    const char *pt = json_string_value(json_object_get(v, "plaintext"));
    /* the primitive: key = first 32 decoded bytes, text = rest XOR key */
    uint8_t dec[256], out[256];
    long n = mc_b64_decode(str, strlen(str), dec);
    ck_assert_int_gt(n, 32);
    ck_assert_mem_eq(dec, key, 32);
    mc_xor(dec + 32, (size_t)n - 32, dec, 32, out);
    ck_assert_uint_eq((size_t)n - 32, strlen(pt));
    ck_assert_mem_eq(out, pt, strlen(pt));
    /* the decoder on the string as .rdata holds it */
    fx_buf b;
    fx_buf_init(&b);
    fx_put_zeros(&b, 8);
    fx_put(&b, str, strlen(str) + 1);
    mc_results *res = NULL;
    ck_assert_uint_eq(decode_region(&b, HEAP_VA, &res), 1);
    char want[300];
    expected_url(pt, want, sizeof want);
    ck_assert_str_eq(first_uri(res), want);
    mc_results_free(res);
    fx_buf_free(&b);
    free(key);
}

static void vector_c(json_t *v)
{
    static const uint8_t marker[16] = {0x32, 0x1D, 0x30, 0xF9, 0x48, 0x77, 0x82, 0x5A,
                                       0x3C, 0xBF, 0x73, 0x7F, 0xDD, 0x4F, 0x15, 0x75};
    size_t kl, nl, pl, cl;
    uint8_t *key = tu_unhex(json_string_value(json_object_get(v, "key_hex")), &kl);
    uint8_t *n8 = tu_unhex(json_string_value(json_object_get(v, "nonce8_hex")), &nl);
    uint8_t *pt = tu_unhex(json_string_value(json_object_get(v, "plaintext_hex")), &pl);
    uint8_t *ct = tu_unhex(json_string_value(json_object_get(v, "ciphertext_hex")), &cl);
    uint32_t counter = (uint32_t)json_integer_value(json_object_get(v, "counter"));
    ck_assert_uint_eq(kl, 32);
    ck_assert_uint_eq(nl, 8);
    ck_assert_uint_eq(pl, cl);
    uint8_t nonce[12] = {0}, *out = malloc(cl);
    memcpy(nonce + 4, n8, 8);
    ck_assert(mc_chacha20(key, nonce, counter, ct, cl, out));
    ck_assert_mem_eq(out, pt, pl);
    /* the decoder on the ciphertext in its stream slot (counter 2*i puts it in slot i) */
    ck_assert_uint_eq(counter % 2, 0);
    ck_assert_uint_ge(counter, 2);
    fx_buf b;
    fx_buf_init(&b);
    fx_put_zeros(&b, 0x10);
    fx_put(&b, marker, sizeof marker);
    fx_put(&b, key, 32);
    fx_put(&b, n8, 8);
    uint8_t fill[0x80];
    for (uint32_t s = 0; s < counter / 2; s++) {
        fx_fill_noise(fill, sizeof fill, 300 + s);
        fx_put(&b, fill, sizeof fill);
    }
    fx_put(&b, ct, cl);
    fx_put_zeros(&b, 0x80);
    mc_results *res = NULL;
    ck_assert_uint_eq(decode_region(&b, HEAP_VA, &res), 1);
    char text[200], want[300];
    snprintf(text, sizeof text, "%s", (const char *)pt);
    expected_url(text, want, sizeof want);
    ck_assert_str_eq(first_uri(res), want);
    mc_results_free(res);
    fx_buf_free(&b);
    free(out); free(key); free(n8); free(pt); free(ct);
}

START_TEST(shared_vectors)
{
    const char *path = tu_shared("vectors/crypto_vectors.json");
    if (!path) return;   /* shared/ is not shipped with the source */
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je), *v;
    ck_assert_ptr_nonnull(root);
    size_t i, seen = 0;
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "family")) ?: "", "lumma") != 0) continue;
        const char *era = json_string_value(json_object_get(v, "era"));
        ck_assert_ptr_nonnull(era);
        if (strcmp(era, "B") == 0) vector_b(v);
        else if (strcmp(era, "C") == 0) vector_c(v);
        else ck_abort_msg("lumma vector of unknown era %s", era);
        seen++;
    }
    ck_assert_uint_gt(seen, 0);
    json_decref(root);
}
END_TEST

int main(void)
{
    static const char *const fam[] = {"lumma"};
    mc_engine_opts o;
    char err[512];
    memset(&o, 0, sizeof o);
    o.families = fam;
    o.nfamilies = 1;
    if (mc_engine_new(&o, &ENGINE, err, sizeof err) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        return 1;
    }
    Suite *s = suite_create("lumma");
    TCase *tc = tcase_create("decoder");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lookalike_regions);
    tcase_add_test(tc, truncated_stream);
    tcase_add_test(tc, shared_vectors);
    tcase_add_loop_test(tc, junk_images, 1, NV);
    tcase_add_loop_test(tc, not_hosts, 0, NV);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("engine");
    tcase_set_timeout(te, 120);
    tcase_add_loop_test(te, every_era_layout_container, 0, (int)(NV * L__COUNT * K__COUNT));
    tcase_add_loop_test(te, no_heap_no_heap_provenance, 0, NV);
    suite_add_tcase(s, te);
    int failed = tu_run_suite(s);
    mc_engine_free(ENGINE);
    return failed;
}
