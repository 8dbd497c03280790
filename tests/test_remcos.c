/* Remcos decoder: every settings separator generation and C2 separator, resource-based images
 * (mapped, flat) and header-wiped injected copies, decrypted heap copies, the shared vectors,
 * look-alikes that must report nothing, and the whole path through the engine in every
 * container the fixtures write. */
#include "decoder.h"
#include "memcfg.h"
#include "lib/mc_crypto.h"
#include "fixtures/fx.h"
#include "fixtures/fx_native.h"
#include "testutil.h"
#include "tdump.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

extern const mc_decoder mc_decoder_remcos;

#define IMG_VA TU_IMG_VA
#define HEAP_VA TU_HEAP_VA

static const uint8_t KEY32[32] = {
    0x5b, 0x4c, 0x1a, 0x2f, 0x0e, 0x9d, 0x8c, 0x7b, 0x6a, 0x59, 0x48, 0x37, 0x26, 0x15, 0x04, 0xf3,
    0xe2, 0xd1, 0xc0, 0xbf, 0xae, 0x9d, 0x8c, 0x7b, 0x6a, 0x59, 0x48, 0x37, 0x26, 0x15, 0x04, 0x0f};
static const uint8_t KEY7[7] = {'k', 'e', 'y', '-', '7', 'b', '!'};

static const char *const C2_NEW[] = {"192.0.2.10:2404:1", "c2.remcos.example:443:0", "198.51.100.7:80:0"};
static const char *const C2_OLD[] = {"203.0.113.5:2404:s3cret", "backup.test:8080:s3cret"};

typedef struct variant {
    const char *name;
    fx_remcos r;
    const char *install, *keylog;   /* expected paths */
} variant;

static variant V[] = {
    {"pipe-1.7", {.gen = FX_RC_GEN_PIPE, .c2 = C2_OLD, .nc2 = 2, .botnet = "Oldest", .mutex = "Mutex_old17",
                  .version = "1.7 Free", .install_dir = 6, .keylog_dir = 0, .install_name = "winupd.exe",
                  .keylog_name = "klog.dat", .key = KEY7, .keylen = sizeof KEY7},
     "%AppData%\\winupd.exe", "%Temp%\\klog.dat"},
    {"1e-2.0.5", {.gen = FX_RC_GEN_1E, .c2 = C2_OLD, .nc2 = 2, .botnet = "Talos", .mutex = "Remcos_Mutex_Inj",
                  .version = "2.0.5 Pro", .install_dir = 3, .keylog_dir = 7, .raw_enum = true,
                  .install_name = "svch.exe", .keylog_name = "logs.dat", .key = KEY32, .keylen = 32},
     "%WinDir%\\svch.exe", "%UserProfile%\\logs.dat"},
    {"atat-2.7.1", {.gen = FX_RC_GEN_ATAT, .c2 = C2_OLD, .nc2 = 2, .botnet = "Jpcert", .mutex = "Rmc-ATAT01",
                    .version = "2.7.1 Pro", .install_dir = 5, .keylog_dir = 6, .install_name = "remcos.exe",
                    .keylog_name = "keys.dat", .key = KEY7, .keylen = sizeof KEY7},
     "%ProgramFiles%\\remcos.exe", "%AppData%\\keys.dat"},
    {"new-1e-4.9.3", {.gen = FX_RC_GEN_NEW, .c2sep = FX_RC_C2_1E, .c2 = C2_NEW, .nc2 = 3, .botnet = "RemoteHost",
                      .mutex = "Rmc-7QW2JX", .licence = "A1B2C3D4E5F60718293A4B5C6D7E8F90", .version = "4.9.3 Pro",
                      .install_dir = 6, .keylog_dir = 8, .install_name = "remcos.exe", .install_subdir = "Remcos",
                      .keylog_name = "logs.dat", .keylog_subdir = "remcos", .key = KEY32, .keylen = 32},
     "%AppData%\\Remcos\\remcos.exe", "%ProgramData%\\remcos\\logs.dat"},
    {"new-pipe-raw-4.9.4", {.gen = FX_RC_GEN_NEW, .c2sep = FX_RC_C2_PIPE, .c2 = C2_NEW, .nc2 = 3, .botnet = "Camp\xc3\xa9",
                            .mutex = "Rmc-PIPE44", .version = "4.9.4 Pro", .install_dir = 2, .keylog_dir = 1,
                            .raw_enum = true, .install_name = "host.exe", .install_subdir = "Sys",
                            .keylog_name = "k.dat", .keylog_subdir = "kl", .tls = true, .key = KEY7, .keylen = 7},
     "%SystemDrive%\\Sys\\host.exe", "%ExeDir%\\kl\\k.dat"},
    {"new-ff-5.1.2", {.gen = FX_RC_GEN_NEW, .c2sep = FX_RC_C2_FF, .c2 = C2_NEW, .nc2 = 3, .botnet = "FFsep",
                      .mutex = "Rmc-FFFF01", .version = "5.1.2 Light", .install_dir = 8, .keylog_dir = 4,
                      .install_name = "a.exe", .install_subdir = "\xd0\x9f\xd0\xb0\xd0\xbf\xd0\xba\xd0\xb0",
                      .keylog_name = "b.dat", .keylog_subdir = "c", .key = KEY32, .keylen = 32},
     "%ProgramData%\\\xd0\x9f\xd0\xb0\xd0\xbf\xd0\xba\xd0\xb0\\a.exe", "%WinDir%\\SysWOW64\\c\\b.dat"},
};
#define NV (sizeof V / sizeof V[0])

/* ---- dumps ---- */

static void image(const void *r, bool mapped, uint64_t va, fx_buf *out) { fx_remcos_image(r, mapped, va, out); }

static void heap_region(fx_buf *b, const fx_remcos *r)
{
    uint8_t junk[0x300];
    fx_fill_noise(junk, sizeof junk, 77);
    fx_buf_init(b);
    fx_put(b, junk, sizeof junk);
    fx_put_zeros(b, 16);                    /* heap chunk header */
    fx_remcos_settings(r, b);
    fx_put_zeros(b, 16);
    fx_put(b, junk, sizeof junk);
}

enum { WITH_MAPPED = TU_WITH_MAPPED, WITH_FLAT = TU_WITH_FLAT, WITH_INJECTED = TU_WITH_INJECTED, WITH_HEAP = 8 };

/* The payload in the layouts of what, and its decrypted settings on the heap (WITH_HEAP). */
static void scene_build(tu_scene *s, const fx_remcos *r, unsigned what)
{
    tu_scene_build(s, MD_ARCH_X86, what & ~(unsigned)WITH_HEAP, image, r,
                   "C:\\Users\\u\\AppData\\Roaming\\remcos.exe");
    if (what & WITH_HEAP) {
        heap_region(&s->heap, r);
        tu_scene_add_heap(s);
    }
}

static md_dump *open_buf(const fx_buf *b, const md_open_opts *o)
{
    md_dump *d = NULL;
    char err[256];
    md_err e = md_open_mem(b->p, b->len, o, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "md_open_mem: %s", err);
    return d;
}

/* ---- hits, as the engine's scan would give them ---- */

typedef struct hitset { mc_hit v[512]; size_t n; } hitset;

static void add_matches(hitset *h, const md_dump *d, const void *pat, size_t len, const char *id)
{
    for (size_t i = 0; i < d->nruns; i++) {
        const md_run *r = &d->runs[i];
        const uint8_t *p = md_ptr(d, r->va, r->size);
        for (size_t at = 0; p && at + len <= r->size && h->n < 512;) {
            const uint8_t *m = memmem(p + at, r->size - at, pat, len);
            if (!m) break;
            h->v[h->n++] = (mc_hit){r->va + (uint64_t)(m - p), (uint32_t)len, "remcos_payload", "remcos", id, "remcos"};
            at = (size_t)(m - p) + 1;
        }
    }
}

static int hit_cmp(const void *a, const void *b)
{
    const mc_hit *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

static void compute_hits(const md_dump *d, hitset *h)
{
    static const uint8_t anchor[12] = {0xE0, 0, 0, 0x07, 0xE0, 0, 0, 0x07, 0xFF, 0xFF, 0xFF, 0xFF};
    h->n = 0;
    add_matches(h, d, "Remcos", 6, "$name");
    add_matches(h, d, anchor, sizeof anchor, "$anchor");
    add_matches(h, d, "|\x1e\x1e\x1f|", 5, "$sep");
    qsort(h->v, h->n, sizeof h->v[0], hit_cmp);
}

/* Decode directly; returns the results (caller frees). */
static mc_results *decode(const md_dump *d)
{
    hitset *h = malloc(sizeof *h);
    ck_assert_ptr_nonnull(h);
    compute_hits(d, h);
    mc_results *res = mc_results_new();
    mc_decode_ctx ctx = {.deadline = 0};
    mc_hits hits = {h->v, h->n};
    ck_assert_int_eq(mc_decoder_remcos.decode(&ctx, d, &hits, res), 0);
    /* The same with the heap indexes of the engine's scan (heap copies looked up by host token,
     * not searched for): the same configs. */
    mc_results *idx = mc_results_new();
    ctx.shared = td_heap_index(d);
    ck_assert_int_eq(mc_decoder_remcos.decode(&ctx, d, &hits, idx), 0);
    char *a = td_results_text(res), *b = td_results_text(idx);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    mc_results_free(idx);
    mc_dump_shared_free(ctx.shared);
    free(h);
    return res;
}

/* ---- expectations ---- */

static void hostport_of(const char *entry, char *out, size_t n)
{
    snprintf(out, n, "%s", entry);
    char *c = strchr(out, ':');
    c = c ? strchr(c + 1, ':') : NULL;
    if (c) *c = '\0';
}

static void tcp_list(json_t *cfg, char out[][128], size_t *n)
{
    json_t *tcp = json_object_get(cfg, "tcp"), *t;
    size_t i;
    *n = 0;
    json_array_foreach(tcp, i, t) {
        const char *h = json_string_value(json_object_get(t, "server_ip"));
        if (!h) h = json_string_value(json_object_get(t, "server_domain"));
        ck_assert_ptr_nonnull(h);
        ck_assert_str_eq(json_string_value(json_object_get(t, "usage")), "c2");
        snprintf(out[(*n)++], 128, "%s:%lld", h, (long long)json_integer_value(json_object_get(t, "server_port")));
    }
}

static void check_config(json_t *cfg, const variant *v, bool with_key, bool with_version)
{
    char got[16][128], want[128];
    size_t n;
    const fx_remcos *r = &v->r;
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "family")), "remcos");
    ck_assert(tu_json_has_str(json_object_get(cfg, "category"), "rat"));
    tcp_list(cfg, got, &n);
    ck_assert_uint_eq(n, r->nc2);
    for (size_t i = 0; i < r->nc2; i++) {
        hostport_of(r->c2[i], want, sizeof want);
        ck_assert_msg(strcmp(got[i], want) == 0, "%s: c2[%zu] %s != %s", v->name, i, got[i], want);
    }
    ck_assert(tu_json_has_str(json_object_get(cfg, "mutex"), r->mutex));
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "mutex")), 1);
    ck_assert(tu_json_has_str(json_object_get(cfg, "campaign_id"), r->botnet));
    char key[128];
    snprintf(key, sizeof key, "HKCU\\Software\\%s", r->mutex);
    ck_assert(tu_json_str_in(json_object_get(cfg, "registry"), "key", key));
    ck_assert_msg(tu_json_str_in(json_object_get(cfg, "paths"), "path", v->install), "%s: install path", v->name);
    ck_assert_msg(tu_json_str_in(json_object_get(cfg, "paths"), "path", v->keylog), "%s: keylog path", v->name);
    if (with_version) ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), r->version);
    else ck_assert_ptr_null(json_object_get(cfg, "version"));
    json_t *enc = json_object_get(cfg, "encryption");
    if (with_key) {
        char hex[600];
        mc_hex(r->key, r->keylen, hex);
        ck_assert(tu_json_str_in(enc, "key", hex));
        ck_assert(tu_json_str_in(enc, "algorithm", "RC4"));
    }
    if (r->gen != FX_RC_GEN_NEW) ck_assert(tu_json_has_str(json_object_get(cfg, "password"), "s3cret"));
    else ck_assert_ptr_null(json_object_get(cfg, "password"));
    json_t *other = json_object_get(cfg, "other");
    if (r->licence) ck_assert_str_eq(json_string_value(json_object_get(other, "license")), r->licence);
    if (r->tls) {
        ck_assert_ptr_nonnull(json_object_get(json_object_get(other, "tls"), "raw_certificate"));
        ck_assert(tu_json_str_in(enc, "algorithm", "TLS"));
    }
}

/* ---- direct decoder tests ---- */

static void run_layout(const variant *v, unsigned what, bool with_key, int confidence)
{
    tu_scene s;
    fx_buf dump;
    scene_build(&s, &v->r, what);
    tu_scene_container(&s, TU_MINIDUMP, &dump);
    md_dump *d = open_buf(&dump, NULL);
    mc_results *res = decode(d);
    ck_assert_msg(mc_results_count(res) == 1, "%s/%u: %zu configs", v->name, what, mc_results_count(res));
    mc_config *c = mc_results_get(res, 0);
    check_config(mc_cfg_json(c), v, with_key, true);
    ck_assert_int_eq(mc_cfg_get_status(c), MC_STATUS_COMPLETE);
    ck_assert_int_eq(mc_cfg_get_confidence(c), confidence);
    if (what & WITH_HEAP) ck_assert(tu_prov_has_form(mc_cfg_provenance(c), NULL, "heap_decrypted"));
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), NULL, "image_encrypted"));
    mc_results_free(res);
    md_close(d);
    fx_buf_free(&dump);
    tu_scene_free(&s);
}

START_TEST(mapped_image)
{
    run_layout(&V[_i], WITH_MAPPED | WITH_HEAP, true, 100);
}
END_TEST

START_TEST(flat_image)
{
    run_layout(&V[_i], WITH_FLAT, true, 100);
}
END_TEST

START_TEST(headerless_injected)
{
    run_layout(&V[_i], WITH_INJECTED | WITH_HEAP, true, 90);
}
END_TEST

/* Only the decrypted copy on the heap, next to the payload's strings (newest layout). */
START_TEST(heap_only)
{
    const variant *v = &V[3];
    tu_scene s;
    fx_buf dump;
    scene_build(&s, &v->r, WITH_HEAP);
    static const char strings[] = "\0Remcos Agent initialized\0Connected to C&C!\0Keylogger Started\0";
    fx_put(&s.noise, strings, sizeof strings);
    s.regions[0].data = s.noise.p;
    s.regions[0].size = s.noise.len;
    tu_scene_container(&s, TU_MINIDUMP, &dump);
    md_dump *d = open_buf(&dump, NULL);
    mc_results *res = decode(d);
    ck_assert_uint_eq(mc_results_count(res), 1);
    mc_config *c = mc_results_get(res, 0);
    check_config(mc_cfg_json(c), v, false, false);
    ck_assert_int_eq(mc_cfg_get_confidence(c), 80);
    ck_assert(tu_prov_has_form(mc_cfg_provenance(c), NULL, "heap_decrypted"));
    ck_assert(!tu_prov_has_form(mc_cfg_provenance(c), NULL, "image_encrypted"));
    mc_results_free(res);
    md_close(d);
    fx_buf_free(&dump);
    tu_scene_free(&s);
}
END_TEST

static size_t count_configs_in(const fx_buf *region_data, uint64_t va, uint32_t type)
{
    fx_buf dump;
    tu_region_dump(region_data, va, type, &dump);
    md_dump *d = open_buf(&dump, NULL);
    mc_results *res = decode(d);
    size_t n = mc_results_count(res);
    mc_results_free(res);
    md_close(d);
    fx_buf_free(&dump);
    return n;
}

START_TEST(lookalikes)
{
    const fx_remcos *r = &V[3].r;
    fx_buf b;
    /* prose naming Remcos and quoting its log lines */
    fx_buf_init(&b);
    const char *prose = "Remcos is sold by BreakingSecurity.Net; logs say Connected to C&C! then "
                        "Keylogger Started, and a SETTINGS resource holds |\x1e\x1e\x1f| separated "
                        "fields such as 192.0.2.1:2404:1 in plain text.";
    fx_put(&b, prose, strlen(prose) + 1);
    ck_assert_uint_eq(count_configs_in(&b, HEAP_VA, MD_MEM_PRIVATE), 0);
    fx_buf_free(&b);
    /* a SETTINGS resource with junk that keeps the key-length shape */
    uint8_t junk[600];
    fx_fill_noise(junk, sizeof junk, 99);
    junk[0] = 16;
    fx_buf_init(&b);
    fx_remcos_image_with_blob(r, junk, sizeof junk, true, IMG_VA, &b);
    ck_assert_uint_eq(count_configs_in(&b, IMG_VA, MD_MEM_IMAGE), 0);
    fx_wipe_headers(&b);   /* and the same after the anchor in a header-less copy */
    ck_assert_uint_eq(count_configs_in(&b, IMG_VA, MD_MEM_PRIVATE), 0);
    fx_buf_free(&b);
    /* the real blob under the wrong key */
    fx_buf blob;
    fx_buf_init(&blob);
    fx_remcos_blob(r, &blob);
    blob.p[1] ^= 0x55;
    fx_buf_init(&b);
    fx_remcos_image_with_blob(r, blob.p, blob.len, true, IMG_VA, &b);
    ck_assert_uint_eq(count_configs_in(&b, IMG_VA, MD_MEM_IMAGE), 0);
    fx_buf_free(&b);
    fx_buf_free(&blob);
}
END_TEST

/* Settings whose field 0 is not a C2 list, under the real key: structure, not the key, decides. */
START_TEST(no_c2_shape)
{
    fx_remcos r = V[3].r;
    static const char *const bad[] = {"not a host"};
    r.c2 = bad;
    r.nc2 = 1;
    fx_buf b;
    fx_buf_init(&b);
    fx_remcos_image(&r, true, IMG_VA, &b);
    ck_assert_uint_eq(count_configs_in(&b, IMG_VA, MD_MEM_IMAGE), 0);
    fx_buf_free(&b);
}
END_TEST

/* Truncated and mutated blobs, anchors and separators at region edges: no crash, no leak, and
 * never a config whose field 0 is not a C2 list. */
START_TEST(hostile_blobs)
{
    const fx_remcos *r = &V[3].r;
    fx_buf pt, b;
    fx_buf_init(&pt);
    fx_remcos_settings(r, &pt);
    uint8_t tiny[3] = {255, 1, 2};
    fx_buf_init(&b);
    fx_remcos_image_with_blob(r, tiny, sizeof tiny, true, IMG_VA, &b);
    ck_assert_uint_eq(count_configs_in(&b, IMG_VA, MD_MEM_IMAGE), 0);
    fx_buf_free(&b);
    static const uint8_t edge[] = {0x7C, 0x1E, 0x1E, 0x1F, 0x7C, 'x', 0xE0, 0, 0, 0x07, 0xE0, 0, 0, 0x07, 0xFF, 0xFF, 0xFF, 0xFF, 4};
    fx_buf_init(&b);
    fx_put(&b, edge, sizeof edge);
    ck_assert_uint_eq(count_configs_in(&b, HEAP_VA, MD_MEM_PRIVATE), 0);
    fx_buf_free(&b);
    uint8_t *ct = malloc(pt.len);
    for (uint64_t seed = 1; seed <= 60; seed++) {
        uint8_t flip[8];
        fx_fill_noise(flip, sizeof flip, seed);
        fx_buf m;
        fx_buf_init(&m);
        fx_put_u8(&m, (uint8_t)r->keylen);
        fx_put(&m, r->key, r->keylen);
        uint8_t *p = malloc(pt.len);
        memcpy(p, pt.p, pt.len);
        for (int k = 0; k < 4; k++) p[(flip[2 * k] | flip[2 * k + 1] << 8) % pt.len] = flip[k + 4];
        size_t len = pt.len - seed * 7 % pt.len;
        ck_assert(mc_rc4(r->key, r->keylen, p, len, ct));
        fx_put(&m, ct, len);
        fx_buf_init(&b);
        fx_remcos_image_with_blob(r, m.p, m.len, true, IMG_VA, &b);
        ck_assert_uint_le(count_configs_in(&b, IMG_VA, MD_MEM_IMAGE), 1);
        fx_wipe_headers(&b);
        ck_assert_uint_le(count_configs_in(&b, IMG_VA, MD_MEM_PRIVATE), 1);
        fx_buf_free(&b);
        fx_buf_free(&m);
        free(p);
    }
    free(ct);
    fx_buf_free(&pt);
}
END_TEST

/* ---- shared vectors ---- */

/* Expected C2s from the vector's own plaintext: field 0 before the separator, entries on 0x1e. */
static size_t vector_c2(const uint8_t *cfg, size_t n, char out[][128])
{
    const uint8_t *sep = memmem(cfg, n, "|\x1e\x1e\x1f|", 5);
    size_t f0 = sep ? (size_t)(sep - cfg) : n, k = 0, at = 0;
    while (at < f0) {
        const uint8_t *e = memchr(cfg + at, 0x1e, f0 - at);
        size_t end = e ? (size_t)(e - cfg) : f0;
        if (end > at) {
            char entry[128];
            snprintf(entry, sizeof entry, "%.*s", (int)(end - at), (const char *)cfg + at);
            hostport_of(entry, out[k++], 128);
        }
        at = end + 1;
    }
    return k;
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
        if (strcmp(json_string_value(json_object_get(v, "family")) ?: "", "remcos") != 0) continue;
        seen++;
        size_t klen, clen, blen, ctl;
        uint8_t *key = tu_unhex(json_string_value(json_object_get(v, "rc4_key_hex")), &klen);
        uint8_t *cfg = tu_unhex(json_string_value(json_object_get(v, "config_hex")), &clen);
        uint8_t *blob = tu_unhex(json_string_value(json_object_get(v, "blob_hex")), &blen);
        json_t *chk = json_object_get(v, "rc4_check");
        uint8_t *ct = tu_unhex(json_string_value(json_object_get(chk, "ct_hex")), &ctl);
        const char *ck = json_string_value(json_object_get(chk, "key"));
        const char *pt = json_string_value(json_object_get(chk, "plaintext"));
        uint8_t out[64];
        ck_assert(mc_rc4((const uint8_t *)ck, strlen(ck), (const uint8_t *)pt, strlen(pt), out));
        ck_assert_mem_eq(out, ct, ctl);
        ck_assert_uint_eq(blob[0], klen);
        ck_assert_mem_eq(blob + 1, key, klen);
        /* The blob as the SETTINGS resource of a mapped payload. */
        fx_buf img;
        fx_buf_init(&img);
        fx_remcos_image_with_blob(&V[3].r, blob, blen, true, IMG_VA, &img);
        fx_region r = {IMG_VA, img.p, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, IMG_VA};
        fx_process p = {9, MD_ARCH_X86, &r, 1, NULL, 0};
        fx_buf dump;
        fx_buf_init(&dump);
        fx_minidump(&p, FX_MD_FULL, &dump);
        md_dump *d = open_buf(&dump, NULL);
        mc_results *res = decode(d);
        ck_assert_uint_eq(mc_results_count(res), 1);
        json_t *c = mc_cfg_json(mc_results_get(res, 0));
        char want[16][128], got[16][128];
        size_t nw = vector_c2(cfg, clen, want), ng;
        tcp_list(c, got, &ng);
        ck_assert_uint_eq(ng, nw);
        ck_assert_uint_gt(nw, 0);
        for (size_t k = 0; k < nw; k++) ck_assert_str_eq(got[k], want[k]);
        char hex[600];
        mc_hex(key, klen, hex);
        ck_assert(tu_json_str_in(json_object_get(c, "encryption"), "key", hex));
        mc_results_free(res);
        md_close(d);
        fx_buf_free(&dump);
        fx_buf_free(&img);
        free(key); free(cfg); free(blob); free(ct);
    }
    ck_assert_uint_gt(seen, 0);
    json_decref(root);
}
END_TEST

/* ---- through the engine, in every container ---- */

static size_t engine_records(const fx_buf *in, const md_open_opts *open, json_t ***recs_out,
                             mc_input_result *res)
{
    static const char *const fam[] = {"remcos"};
    mc_engine_opts o;
    memset(&o, 0, sizeof o);
    o.families = fam;
    o.nfamilies = 1;
    if (open) o.open = *open;
    mc_engine *e = NULL;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "engine: %s", err);
    mc_input inp = {"fixture", in->p, in->len, 0, NULL};
    mc_engine_scan(e, &inp, res);
    ck_assert_msg(res->status == MC_INPUT_OK, "scan: %s", res->error);
    mc_engine_free(e);
    *recs_out = res->records;
    return res->nrecords;
}

static void engine_check(const fx_buf *in, const md_open_opts *open, const variant *v)
{
    mc_input_result res;
    json_t **recs;
    memset(&res, 0, sizeof res);
    size_t n = engine_records(in, open, &recs, &res);
    ck_assert_msg(n >= 1, "%s: no record", v->name);
    for (size_t i = 0; i < n; i++) check_config(json_object_get(recs[i], "config"), v, true, true);
    mc_input_result_clear(&res);
}

START_TEST(engine_minidump)
{
    tu_scene s;
    fx_buf dump;
    scene_build(&s, &V[_i].r, WITH_MAPPED | WITH_INJECTED | WITH_HEAP);
    tu_scene_container(&s, TU_MINIDUMP, &dump);
    engine_check(&dump, NULL, &V[_i]);
    fx_buf_free(&dump);
    tu_scene_free(&s);
}
END_TEST

START_TEST(engine_other_containers)
{
    const variant *v = &V[_i % NV];
    tu_scene s;
    fx_buf dump;
    scene_build(&s, &v->r, WITH_MAPPED | WITH_FLAT | WITH_HEAP);
    tu_scene_container(&s, _i < (int)NV ? TU_CUCKOO : TU_ELFCORE, &dump);
    engine_check(&dump, NULL, v);
    fx_buf_free(&dump);
    tu_scene_free(&s);
}
END_TEST

/* A raw flat dump: noise, then the header-wiped payload, then a heap copy. */
START_TEST(engine_raw)
{
    const variant *v = &V[_i];
    fx_buf raw, heap;
    heap_region(&heap, &v->r);
    tu_raw_payload(image, &v->r, &heap, &raw);
    md_open_opts o = tu_raw_opts(TU_RAW_BASE);
    engine_check(&raw, &o, v);
    fx_buf_free(&raw);
    fx_buf_free(&heap);
}
END_TEST

/* The payload file itself (file layout): the PE reader maps each section at its RVA, leaving
 * holes between headers and sections that the version search must step over. */
START_TEST(engine_pe_file)
{
    const variant *v = &V[_i / 2];
    fx_buf flat;
    fx_buf_init(&flat);
    fx_remcos_image(&v->r, false, 0, &flat);
    md_open_opts o;
    memset(&o, 0, sizeof o);
    o.force_format = _i % 2 ? MD_FMT_UNKNOWN : MD_FMT_PE;
    md_dump *d = open_buf(&flat, &o);
    ck_assert_int_eq(d->format, MD_FMT_PE);
    md_close(d);
    engine_check(&flat, &o, v);
    fx_buf_free(&flat);
}
END_TEST

START_TEST(engine_lookalike)
{
    fx_buf b;
    uint8_t junk[600];
    fx_fill_noise(junk, sizeof junk, 1234);
    fx_buf_init(&b);
    fx_remcos_image_with_blob(&V[3].r, junk, sizeof junk, true, IMG_VA, &b);
    fx_region r = {IMG_VA, b.p, b.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, IMG_VA};
    fx_process p = {9, MD_ARCH_X86, &r, 1, NULL, 0};
    fx_buf dump;
    fx_buf_init(&dump);
    fx_minidump(&p, FX_MD_FULL, &dump);
    mc_input_result res;
    json_t **recs;
    memset(&res, 0, sizeof res);
    size_t n = engine_records(&dump, NULL, &recs, &res);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_ne(json_string_value(json_object_get(recs[i], "record_type")), "config");
    mc_input_result_clear(&res);
    fx_buf_free(&dump);
    fx_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("remcos");
    TCase *tc = tcase_create("decoder");
    tcase_add_loop_test(tc, mapped_image, 0, NV);
    tcase_add_loop_test(tc, flat_image, 0, NV);
    tcase_add_loop_test(tc, headerless_injected, 0, NV);
    tcase_add_test(tc, heap_only);
    tcase_add_test(tc, lookalikes);
    tcase_add_test(tc, no_c2_shape);
    tcase_add_test(tc, hostile_blobs);
    tcase_add_test(tc, shared_vectors);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("engine");
    tcase_set_timeout(te, 60);
    tcase_add_loop_test(te, engine_minidump, 0, NV);
    tcase_add_loop_test(te, engine_other_containers, 0, 2 * NV);
    tcase_add_loop_test(te, engine_raw, 0, NV);
    tcase_add_loop_test(te, engine_pe_file, 0, 2 * NV);
    tcase_add_test(te, engine_lookalike);
    suite_add_tcase(s, te);
    return tu_run_suite(s);
}
