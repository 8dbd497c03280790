/* Vidar decoder: era 2 string table (with and without dead drops), era 3 config blob, in mapped,
 * flat and header-less images, with heap strings and fetched profile pages, through the engine in
 * every container; the shared vectors; look-alikes that must report nothing. */
#include "decoder.h"
#include "memcfg.h"
#include "fixtures/fx.h"
#include "fixtures/fx_vidar.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG_VA TU_IMG_VA
#define HEAP_VA TU_HEAP_VA

static const uint8_t KEY16[16] = {0x11, 0xA7, 0x3C, 0x58, 0xE2, 0x09, 0x6D, 0xB4,
                                  0x70, 0x2F, 0xC1, 0x9A, 0x46, 0xDE, 0x83, 0x35};

static const char *const STR_A[] = {"http://198.51.100.23/", "HAL9TH", "JohnDoe", "GetProcAddress",
                                    "\\Local State", "*wallet*.dat", "CC\\%s_%s.txt"};
static const char *const STR_B[] = {"HAL9TH", "JohnDoe", "\\Local State", "*wallet*.dat", "LoadLibraryA"};
static const char *const DD_B[] = {"https://steamcommunity.com/profiles/76561199000000001",
                                   "https://t.me/vidar_drop_test"};
#define UA1 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 VidarTest/1.0"
#define UA2 "Mozilla/5.0 (X11; Linux x86_64) VidarTest/2.0"
static const fx_vidar_c2 C2_C[] = {
    {"http://198.51.100.40:8080/", "camp-a", UA1},
    {"https://c2.vidar.example/api", "camp-a", UA2},
    {"https://t.me/vidar3drop", "camp-b", UA1},
};

typedef struct want_http { const char *uri, *usage, *ua; } want_http;
typedef struct page { const char *url, *resolved; } page;

typedef struct variant {
    const char *name;
    fx_vidar v;
    const page *pages; size_t npages;
    const want_http *http; size_t nhttp;
    const char *version, *build, *campaign;
} variant;

static const want_http H_A[] = {{"http://198.51.100.23/", "c2", NULL}};
static const page P_B[] = {{"https://steamcommunity.com/profiles/76561199000000001", "192.0.2.77:8080"},
                           {"https://t.me/vidar_drop_test", "203.0.113.9"}};
static const want_http H_B[] = {
    {"https://steamcommunity.com/profiles/76561199000000001", "dead_drop_resolver", NULL},
    {"https://t.me/vidar_drop_test", "dead_drop_resolver", NULL},
    {"http://192.0.2.77:8080", "c2", NULL},
    {"http://203.0.113.9", "c2", NULL},
};
static const page P_C[] = {{"https://t.me/vidar3drop", "198.51.100.41:443/gate"}};
static const want_http H_C[] = {
    {"http://198.51.100.40:8080/", "c2", UA1},
    {"https://c2.vidar.example/api", "c2", UA2},
    {"https://t.me/vidar3drop", "dead_drop_resolver", UA1},
    {"http://198.51.100.41:443/gate", "c2", NULL},
};

static variant V[] = {
    {"era2-table", {.era = 2, .version = "56.1", .strings = STR_A, .nstrings = 7, .seed = 3}, NULL, 0,
     H_A, 1, "56.1", NULL, NULL},
    {"era2-deaddrop", {.era = 2, .version = "3.7", .strings = STR_B, .nstrings = 5, .dead_drops = DD_B, .ndead = 2,
                       .seed = 9}, P_B, 2, H_B, 4, "3.7", NULL, NULL},
    {"era3-blob", {.era = 3, .version = "1.8", .build_id = "bld_5531", .c2 = C2_C, .nc2 = 3, .key16 = KEY16,
                   .seed = 21}, P_C, 1, H_C, 4, "1.8", "bld_5531", "camp-a"},
};
#define NV (sizeof V / sizeof V[0])

/* ---- scenes ---- */

static void image(const void *v, bool mapped, uint64_t va, fx_buf *out) { fx_vidar_image(v, mapped, va, out); }

static void heap_build(fx_buf *b, const variant *v)
{
    uint8_t junk[0x400];
    fx_fill_noise(junk, sizeof junk, 77);
    fx_buf_init(b);
    fx_put(b, junk, sizeof junk);
    fx_vidar_heap_strings(&v->v, b);
    for (size_t i = 0; i < v->npages; i++) {
        fx_put_zeros(b, 32);
        fx_vidar_profile_page(v->pages[i].url, v->pages[i].resolved, b);
    }
    fx_put(b, junk, sizeof junk);
}

/* The payload in one layout (TU_WITH_*) and the heap with its strings and pages. */
static void scene_build(tu_scene *s, const variant *v, unsigned what)
{
    tu_scene_build(s, v->v.era == 3 ? MD_ARCH_AMD64 : MD_ARCH_X86, what, image, &v->v,
                   "C:\\Users\\u\\AppData\\Local\\Temp\\setup.exe");
    heap_build(&s->heap, v);
    tu_scene_add_heap(s);
}

enum { C__COUNT = TU__CONTAINERS };

/* ---- engine ---- */

static void check_config(json_t *cfg, const variant *v)
{
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "family")), "vidar");
    ck_assert(tu_json_has_str(json_object_get(cfg, "category"), "infostealer"));
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), v->version);
    json_t *http = json_object_get(cfg, "http");
    ck_assert_msg(json_array_size(http) == v->nhttp, "%s: %zu http entries", v->name, json_array_size(http));
    for (size_t k = 0; k < v->nhttp; k++) {
        bool found = false;
        json_t *h;
        size_t i;
        json_array_foreach(http, i, h) {
            if (strcmp(json_string_value(json_object_get(h, "uri")), v->http[k].uri) != 0) continue;
            found = true;
            ck_assert_str_eq(json_string_value(json_object_get(h, "usage")), v->http[k].usage);
            const char *ua = json_string_value(json_object_get(h, "user_agent"));
            if (v->http[k].ua) ck_assert_str_eq(ua, v->http[k].ua);
            else ck_assert_ptr_null(ua);
        }
        ck_assert_msg(found, "%s: missing %s", v->name, v->http[k].uri);
    }
    if (v->build) {
        ck_assert_uint_eq(json_array_size(json_object_get(cfg, "identifier")), 1);
        ck_assert(tu_json_has_str(json_object_get(cfg, "identifier"), v->build));
        ck_assert(tu_json_has_str(json_object_get(cfg, "campaign_id"), "camp-a"));
        ck_assert(tu_json_has_str(json_object_get(cfg, "campaign_id"), "camp-b"));
        char hex[33];
        for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", v->v.key16[i]);
        json_t *enc = json_array_get(json_object_get(cfg, "encryption"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(enc, "key")), hex);
    } else {
        ck_assert_ptr_null(json_object_get(cfg, "identifier"));
    }
    if (v->v.era == 2) {
        json_t *ds = json_object_get(cfg, "decoded_strings");
        ck_assert_uint_eq(json_array_size(ds), v->v.nstrings);
        for (size_t i = 0; i < v->v.nstrings; i++) ck_assert(tu_json_has_str(ds, v->v.strings[i]));
    }
}

static void check_run(const tu_run *r, const variant *v)
{
    ck_assert_msg(r->nconfigs >= 1, "%s: no config", v->name);
    for (size_t i = 0; i < r->nconfigs; i++) check_config(r->cfg[i], v);
}

/* Every layout x every container. _i = variant * 3 * C__COUNT + layout * C__COUNT + container. */
START_TEST(engine_containers)
{
    const variant *v = &V[_i / (3 * C__COUNT)];
    unsigned layout = 1u << ((_i / C__COUNT) % 3);
    tu_container container = (tu_container)(_i % C__COUNT);
    tu_scene s;
    fx_buf dump;
    scene_build(&s, v, layout);
    tu_scene_container(&s, container, &dump);
    tu_run r;
    tu_engine_run("vidar", &dump, NULL, &r);
    check_run(&r, v);
    mc_input_result_clear(&r.res);
    fx_buf_free(&dump);
    tu_scene_free(&s);
}
END_TEST

/* A raw flat dump: noise, the header-wiped payload, the heap. */
START_TEST(engine_raw)
{
    const variant *v = &V[_i];
    fx_buf raw, heap;
    heap_build(&heap, v);
    tu_raw_payload(image, &v->v, &heap, &raw);
    md_open_opts o = tu_raw_opts(TU_RAW_BASE);
    tu_run r;
    tu_engine_run("vidar", &raw, &o, &r);
    check_run(&r, v);
    mc_input_result_clear(&r.res);
    fx_buf_free(&raw);
    fx_buf_free(&heap);
}
END_TEST

static size_t configs_in(const fx_region *regs, size_t n, int arch)
{
    fx_process p = {7, arch, regs, n, NULL, 0};
    return tu_count_configs("vidar", &p);
}

START_TEST(lookalikes)
{
    /* prose naming Vidar, its strings, a dead drop and an "ip|", plus base64 junk */
    fx_buf b;
    fx_buf_init(&b);
    const char *prose = "Vidar stealer (an Arkei fork) checks for HAL9TH and JohnDoe, steals *wallet*.dat and "
                        "\"os_crypt\":{\"encrypted_key\":\" from \\Local State, writes CC\\%s_%s.txt and "
                        "resolves its C2 from https://steamcommunity.com/profiles/76561199000000001 whose "
                        "name reads 192.0.2.5:80| at runtime.";
    fx_put(&b, prose, strlen(prose) + 1);
    char b64[2048];
    uint8_t junk[1200];
    fx_fill_noise(junk, sizeof junk, 42);
    for (size_t i = 0; i < sizeof junk; i++)
        b64[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[junk[i] & 63];
    fx_put(&b, b64, sizeof junk);
    fx_region r[1] = {{HEAP_VA, b.p, b.len, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0}};
    ck_assert_uint_eq(configs_in(r, 1, MD_ARCH_X86), 0);
    fx_buf_free(&b);
    /* an era 3 image whose blob keeps the http mask but has no valid version */
    fx_vidar v3 = V[2].v;
    fx_buf blob, img;
    fx_buf_init(&blob);
    fx_vidar_blob(&v3, &blob);
    blob.p[0x30] = 0x3F;
    fx_buf_init(&img);
    fx_vidar_image_with_blob(&v3, blob.p, blob.len, true, IMG_VA, &img);
    fx_region ri[1] = {{IMG_VA, img.p, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, IMG_VA}};
    ck_assert_uint_eq(configs_in(ri, 1, MD_ARCH_AMD64), 0);
    fx_buf_free(&img);
    /* the same blob with its version garbled under the right key */
    fx_vidar_blob(&v3, &blob);
    fx_buf_free(&blob);
    fx_buf_init(&blob);
    fx_vidar_blob(&v3, &blob);
    blob.p[0x10] ^= 0x40;
    fx_buf_init(&img);
    fx_vidar_image_with_blob(&v3, blob.p, blob.len, true, IMG_VA, &img);
    ri[0].data = img.p;
    ri[0].size = img.len;
    ck_assert_uint_eq(configs_in(ri, 1, MD_ARCH_AMD64), 0);
    fx_buf_free(&img);
    fx_buf_free(&blob);
}
END_TEST

/* Truncated images and blobs: never a crash, never more than one config per image. */
START_TEST(hostile)
{
    for (size_t k = 0; k < NV; k++) {
        fx_buf img;
        fx_buf_init(&img);
        fx_vidar_image(&V[k].v, true, IMG_VA, &img);
        for (size_t cut = 0x1000; cut < img.len; cut += 0x7F3) {
            fx_region r[1] = {{IMG_VA, img.p, cut, MD_PAGE_EXECUTE_READ, MD_MEM_PRIVATE, 0}};
            ck_assert_uint_le(configs_in(r, 1, MD_ARCH_X86), 1);
        }
        fx_buf_free(&img);
    }
}
END_TEST

/* ---- shared vectors ---- */

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n;
    uint8_t *p = tu_unhex(s, &n);
    ck_assert_uint_le(n, cap);
    memcpy(out, p, n);
    free(p);
    return n;
}

START_TEST(shared_vectors)
{
    const char *path = tu_shared("vectors/crypto_vectors.json");
    if (!path) return;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je), *v;
    ck_assert_ptr_nonnull(root);
    size_t i, seen = 0;
    uint8_t key[16], ct[3][256];
    size_t ctl[3] = {0, 0, 0};
    const char *pt[3] = {NULL, NULL, NULL};   /* version, url, build */
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "family")) ?: "", "vidar") != 0) continue;
        seen++;
        ck_assert_uint_eq(unhex(json_string_value(json_object_get(v, "xor_key_hex")), key, 16), 16);
        const char *p = json_string_value(json_object_get(v, "plaintext"));
        int slot = !strncmp(p, "http", 4) ? 1 : (p[0] >= '0' && p[0] <= '9' && strchr(p, '.')) ? 0 : 2;
        ctl[slot] = unhex(json_string_value(json_object_get(v, "ct_hex")), ct[slot], sizeof ct[slot]);
        pt[slot] = p;
        uint8_t mine[256];
        fx_vidar_xor_field(key, p, mine);
        ck_assert_uint_eq(ctl[slot], strlen(p));
        ck_assert_mem_eq(mine, ct[slot], ctl[slot]);
    }
    ck_assert_uint_eq(seen, 3);
    ck_assert(pt[0] && pt[1] && pt[2]);
    fx_buf blob, img;
    fx_buf_init(&blob);
    fx_vidar_blob_raw(key, ct[0], ctl[0], ct[2], ctl[2], ct[1], ctl[1], 17, &blob);
    fx_buf_init(&img);
    fx_vidar_image_with_blob(&V[2].v, blob.p, blob.len, true, IMG_VA, &img);
    fx_region r = {IMG_VA, img.p, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, IMG_VA};
    fx_process p = {9, MD_ARCH_AMD64, &r, 1, NULL, 0};
    fx_buf dump;
    fx_buf_init(&dump);
    fx_minidump(&p, FX_MD_FULL, &dump);
    tu_run rr;
    tu_engine_run("vidar", &dump, NULL, &rr);
    ck_assert_uint_eq(rr.nconfigs, 1);
    json_t *c = rr.cfg[0];
    ck_assert_str_eq(json_string_value(json_object_get(c, "version")), pt[0]);
    ck_assert(tu_json_has_str(json_object_get(c, "identifier"), pt[2]));
    json_t *http = json_object_get(c, "http");
    ck_assert_uint_eq(json_array_size(http), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(http, 0), "uri")), pt[1]);
    mc_input_result_clear(&rr.res);
    fx_buf_free(&dump);
    fx_buf_free(&img);
    fx_buf_free(&blob);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vidar");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, engine_containers, 0, (int)(NV * 3 * C__COUNT));
    tcase_add_loop_test(tc, engine_raw, 0, (int)NV);
    tcase_add_test(tc, lookalikes);
    tcase_add_test(tc, hostile);
    tcase_add_test(tc, shared_vectors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
