/* ROKRAT decoder: the 2018 x86 build (wide endpoints) and the 2021 x64 build (AES immediates,
 * URL-decode loop, encoded stack string), tokens from heap requests, mapped/flat/header-less,
 * through the engine in every container; the shared vector; look-alikes, above all a benign
 * cloud-sync process with bearer tokens that must report nothing. */
#include "decoder.h"
#include "memcfg.h"
#include "fixtures/fx.h"
#include "fixtures/fx_rokrat.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const mc_decoder mc_decoder_rokrat;

#define IMG_VA TU_IMG_VA
#define HEAP_VA TU_HEAP_VA

#define TOK_YANDEX "y0_FAKE-yandex-token-0123456789abcdefXYZ"
#define TOK_BOX "FAKEboxTOKENabcdefghijklmnopqrstu"
#define TOK_DROPBOX "sl.FAKE-dropbox-token-ABCDEFGHIJKLMNOPQRSTUV_0123"
#define TOK_PCLOUD "FAKEpcloudTOKEN0123456789abcdefgh"

static const char *const WIDE_2018[] = {
    "api.pcloud.com/uploadfile?path=%s&filename=%s&nopartial=1",
    "cloud-api.yandex.net/v1/disk/resources/download?path=%s",
    "upload.box.com/api/2.0/files/content",
    "https://api.box.com/oauth2/token",
};
static const fx_rok_request REQ_2018[] = {
    {"GET", "cloud-api.yandex.net", "/v1/disk/resources/download?path=%2Fdef_1.jpg", "OAuth", TOK_YANDEX},
    {"POST", "upload.box.com", "/api/2.0/files/content", "Bearer", TOK_BOX},
};
static const char *const ASCII_2021[] = {"https://api.dropboxapi.com/2/files/list_folder"};
static const fx_rok_request REQ_2021[] = {
    {"POST", "content.dropboxapi.com", "/2/files/upload", "Bearer", TOK_DROPBOX},
    {"GET", "api.pcloud.com", "/listfolder?path=/", NULL, TOK_PCLOUD},
};

typedef struct want { const char *uri, *auth, *password, *method; } want;

static const want W_2018[] = {
    {"https://api.pcloud.com/uploadfile?path=%s&filename=%s&nopartial=1", NULL, NULL, NULL},
    {"https://cloud-api.yandex.net/v1/disk/resources/download?path=%s", "OAuth " TOK_YANDEX, TOK_YANDEX, NULL},
    {"https://upload.box.com/api/2.0/files/content", "Bearer " TOK_BOX, TOK_BOX, NULL},
    {"https://api.box.com/oauth2/token", "Bearer " TOK_BOX, TOK_BOX, NULL},
    {"https://cloud-api.yandex.net/v1/disk/resources/download?path=%2Fdef_1.jpg", "OAuth " TOK_YANDEX, TOK_YANDEX, "GET"},
};
static const want W_2021[] = {
    {"https://api.dropboxapi.com/2/files/list_folder", "Bearer " TOK_DROPBOX, TOK_DROPBOX, NULL},
    {"https://api.pcloud.com/listfolder?path=/", NULL, TOK_PCLOUD, NULL},
    {"https://content.dropboxapi.com/2/files/upload", "Bearer " TOK_DROPBOX, TOK_DROPBOX, NULL},
};

typedef struct variant {
    const char *name;
    fx_rokrat r;
    const fx_rok_request *req; size_t nreq;
    const want *http; size_t nhttp;
    bool aes;
} variant;

static variant V[] = {
    {"2018-x86", {.variant = FX_ROK_2018_X86, .wide_endpoints = WIDE_2018, .nwide = 4}, REQ_2018, 2, W_2018, 5, false},
    {"2021-x64", {.variant = FX_ROK_2021_X64, .ascii_endpoints = ASCII_2021, .nascii = 1,
                  .encoded_url = "https://api.pcloud.com/listfolder?path=/",
                  .stack_url = "https://content.dropboxapi.com/2/files/upload"}, REQ_2021, 2, W_2021, 3, true},
};
#define NV (sizeof V / sizeof V[0])

static const uint8_t AES_IV[16] = {0x32, 0x31, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9A, 0xAB, 0x0C, 0xBD, 0xCE, 0xDF};

/* ---- scenes and containers ---- */

enum { C_MINIDUMP = TU_MINIDUMP, C__COUNT = TU__CONTAINERS };

static void image(const void *r, bool mapped, uint64_t va, fx_buf *out) { fx_rokrat_image(r, mapped, va, out); }

static void heap_build(fx_buf *b, const fx_rok_request *req, size_t n)
{
    uint8_t junk[0x300];
    fx_fill_noise(junk, sizeof junk, 71);
    fx_buf_init(b);
    fx_put(b, junk, sizeof junk);
    fx_rokrat_heap(req, n, b);
    fx_put(b, junk, sizeof junk);
}

/* The payload in one layout (TU_WITH_*) and the heap with its requests. */
static void scene_build(tu_scene *s, const variant *v, unsigned what)
{
    tu_scene_build(s, v->r.variant == FX_ROK_2021_X64 ? MD_ARCH_AMD64 : MD_ARCH_X86, what, image, &v->r,
                   "C:\\ProgramData\\svchost.exe");
    heap_build(&s->heap, v->req, v->nreq);
    tu_scene_add_heap(s);
}

/* Regions without modules as process 4242 in a container. */
static void container(const fx_region *regs, size_t n, int arch, int kind, fx_buf *out)
{
    fx_process p = {4242, arch, regs, n, NULL, 0};
    tu_write_container(&p, (tu_container)kind, out);
}

/* ---- engine ---- */

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void check_config(json_t *cfg, const variant *v)
{
    ck_assert_str_eq(jstr(cfg, "family"), "rokrat");
    ck_assert(tu_json_has_str(json_object_get(cfg, "category"), "rat"));
    json_t *http = json_object_get(cfg, "http");
    ck_assert_msg(json_array_size(http) == v->nhttp, "%s: %zu http entries", v->name, json_array_size(http));
    for (size_t k = 0; k < v->nhttp; k++) {
        const want *w = &v->http[k];
        bool found = false;
        json_t *h;
        size_t i;
        json_array_foreach(http, i, h) {
            if (strcmp(jstr(h, "uri"), w->uri) != 0) continue;
            found = true;
            ck_assert_str_eq(jstr(h, "usage"), "c2");
            const char *auth = jstr(json_object_get(h, "headers"), "Authorization");
            if (w->auth) ck_assert_str_eq(auth, w->auth);
            else ck_assert_ptr_null(auth);
            if (w->password) ck_assert_str_eq(jstr(h, "password"), w->password);
            else ck_assert_ptr_null(jstr(h, "password"));
            if (w->method) ck_assert_str_eq(jstr(h, "method"), w->method);
        }
        ck_assert_msg(found, "%s: missing %s", v->name, w->uri);
    }
    json_t *pw = json_object_get(cfg, "password");
    ck_assert_uint_eq(json_array_size(pw), v->nreq);
    for (size_t i = 0; i < v->nreq; i++) ck_assert(tu_json_has_str(pw, v->req[i].token));
    json_t *enc = json_array_get(json_object_get(cfg, "encryption"), 0);
    if (v->aes) {
        ck_assert_str_eq(jstr(enc, "key"), "2b7ea51628aed2a6abf7158809cf4f3c");
        char hex[33];
        for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", AES_IV[i]);
        ck_assert_str_eq(jstr(enc, "iv"), hex);
    } else {
        ck_assert_ptr_null(enc);
    }
}

START_TEST(engine_containers)
{
    const variant *v = &V[_i / (3 * C__COUNT)];
    unsigned layout = 1u << ((_i / C__COUNT) % 3);
    tu_scene s;
    fx_buf dump;
    scene_build(&s, v, layout);
    tu_scene_container(&s, (tu_container)(_i % C__COUNT), &dump);
    tu_run r;
    tu_engine_run("rokrat", &dump, NULL, &r);
    ck_assert_msg(r.nconfigs == 1, "%s: %zu configs", v->name, r.nconfigs);
    check_config(r.cfg[0], v);
    mc_input_result_clear(&r.res);
    fx_buf_free(&dump);
    tu_scene_free(&s);
}
END_TEST

START_TEST(engine_raw)
{
    const variant *v = &V[_i];
    fx_buf raw, heap;
    heap_build(&heap, v->req, v->nreq);
    tu_raw_payload(image, &v->r, &heap, &raw);
    md_open_opts o = tu_raw_opts(TU_RAW_BASE);
    tu_run r;
    tu_engine_run("rokrat", &raw, &o, &r);
    ck_assert_uint_eq(r.nconfigs, 1);
    check_config(r.cfg[0], v);
    mc_input_result_clear(&r.res);
    fx_buf_free(&raw);
    fx_buf_free(&heap);
}
END_TEST

/* Only the AES immediates and the loop, nothing decodable: a low-confidence partial. */
START_TEST(aes_only)
{
    fx_rokrat r = {.variant = FX_ROK_2021_X64};
    fx_buf img, dump;
    fx_buf_init(&img);
    fx_rokrat_image(&r, true, IMG_VA, &img);
    fx_region reg = {IMG_VA, img.p, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, IMG_VA};
    container(&reg, 1, MD_ARCH_AMD64, C_MINIDUMP, &dump);
    tu_run rr;
    tu_engine_run("rokrat", &dump, NULL, &rr);
    ck_assert_uint_eq(rr.nconfigs, 1);
    json_t *rec = rr.res.records[0];
    ck_assert_str_eq(jstr(rec, "status"), "partial");
    ck_assert_int_le(json_integer_value(json_object_get(rec, "confidence")), 30);
    ck_assert_ptr_null(json_object_get(rr.cfg[0], "http"));
    ck_assert_str_eq(jstr(json_array_get(json_object_get(rr.cfg[0], "encryption"), 0), "key"),
                     "2b7ea51628aed2a6abf7158809cf4f3c");
    mc_input_result_clear(&rr.res);
    fx_buf_free(&dump);
    fx_buf_free(&img);
}
END_TEST

static size_t configs_in(const fx_region *regs, size_t n, int arch)
{
    fx_process p = {4242, arch, regs, n, NULL, 0};
    return tu_count_configs("rokrat", &p);
}

/* A benign sync client: the same API hosts (ASCII and UTF-16), common DLL names, and requests
 * with OAuth/Bearer/query tokens in its heap. */
START_TEST(benign_cloud_client)
{
    fx_buf strs, heap;
    fx_buf_init(&strs);
    fx_cloud_sync_strings(&strs);
    static const fx_rok_request req[] = {
        {"POST", "content.dropboxapi.com", "/2/files/upload", "Bearer", TOK_DROPBOX},
        {"GET", "cloud-api.yandex.net", "/v1/disk", "OAuth", TOK_YANDEX},
        {"GET", "api.pcloud.com", "/userinfo", NULL, TOK_PCLOUD},
    };
    heap_build(&heap, req, 3);
    fx_region r[2] = {{IMG_VA, strs.p, strs.len, MD_PAGE_READONLY, MD_MEM_IMAGE, IMG_VA},
                      {HEAP_VA, heap.p, heap.len, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0}};
    ck_assert_uint_eq(configs_in(r, 2, MD_ARCH_AMD64), 0);
    /* the decoder itself, handed only weak hits on that process, stays silent too */
    fx_buf dump;
    container(r, 2, MD_ARCH_AMD64, C_MINIDUMP, &dump);
    md_dump *d = NULL;
    char err[256];
    ck_assert_int_eq(md_open_mem(dump.p, dump.len, NULL, &d, err, sizeof err), MD_OK);
    mc_hit h[2] = {{HEAP_VA + 0x300, 8, "rokrat_payload", "rokrat", "$dll_log", "rokrat"},
                   {IMG_VA, 8, "rokrat_payload", "rokrat", "$s_pho", "rokrat"}};
    mc_hits hits = {h, 1};
    mc_results *res = mc_results_new();
    mc_decode_ctx ctx = {.deadline = 0};
    ck_assert_int_eq(mc_decoder_rokrat.decode(&ctx, d, &hits, res), 0);
    ck_assert_uint_eq(mc_results_count(res), 0);
    hits.n = 2;   /* one string and half the DLL pair: still one marker class */
    ck_assert_int_eq(mc_decoder_rokrat.decode(&ctx, d, &hits, res), 0);
    ck_assert_uint_eq(mc_results_count(res), 0);
    mc_results_free(res);
    md_close(d);
    fx_buf_free(&dump);
    fx_buf_free(&strs);
    fx_buf_free(&heap);
}
END_TEST

START_TEST(prose_and_junk)
{
    fx_buf b;
    fx_buf_init(&b);
    const char *prose = "ROKRAT (ScarCruft/APT37) uses api.pcloud.com, cloud-api.yandex.net and "
                        "content.dropboxapi.com as C2; analysts note SbieDll.dll checks, the "
                        "(b - 0x0F) ^ 0xC8 URL transform and Authorization: Bearer FAKEtokenFAKEtokenFAKE headers.";
    fx_put(&b, prose, strlen(prose) + 1);
    uint8_t junk[1500];
    fx_fill_noise(junk, sizeof junk, 8);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[junk[i] & 63];
    fx_put(&b, junk, sizeof junk);
    fx_region r[1] = {{HEAP_VA, b.p, b.len, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0}};
    ck_assert_uint_eq(configs_in(r, 1, MD_ARCH_X86), 0);
    fx_buf_free(&b);
}
END_TEST

START_TEST(hostile)
{
    for (size_t k = 0; k < NV; k++) {
        fx_buf img;
        fx_buf_init(&img);
        fx_rokrat_image(&V[k].r, true, IMG_VA, &img);
        for (size_t cut = 0x1000; cut < img.len; cut += 0x3F1) {
            fx_region r[1] = {{IMG_VA, img.p, cut, MD_PAGE_EXECUTE_READ, MD_MEM_PRIVATE, 0}};
            ck_assert_uint_le(configs_in(r, 1, MD_ARCH_AMD64), 1);
        }
        fx_buf_free(&img);
    }
}
END_TEST

START_TEST(shared_vectors)
{
    const char *path = tu_shared("vectors/crypto_vectors.json");
    if (!path) return;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je), *v;
    ck_assert_ptr_nonnull(root);
    size_t i, seen = 0;
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        if (strcmp(jstr(v, "family") ?: "", "rokrat") != 0) continue;
        seen++;
        const char *pt = jstr(v, "plaintext");
        size_t n;
        uint8_t *enc = tu_unhex(jstr(v, "encoded_hex"), &n), *mine = malloc(n);
        ck_assert_uint_eq(n, strlen(pt));
        fx_rokrat_encode(pt, n, mine);
        ck_assert_mem_eq(mine, enc, n);
        fx_rokrat r = {.variant = FX_ROK_2021_X64};
        fx_buf img, dump;
        fx_buf_init(&img);
        fx_rokrat_image_with_encoded(&r, enc, n, true, IMG_VA, &img);
        fx_region reg = {IMG_VA, img.p, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, IMG_VA};
        container(&reg, 1, MD_ARCH_AMD64, C_MINIDUMP, &dump);
        tu_run rr;
        tu_engine_run("rokrat", &dump, NULL, &rr);
        ck_assert_uint_eq(rr.nconfigs, 1);
        json_t *http = json_object_get(rr.cfg[0], "http");
        ck_assert_uint_eq(json_array_size(http), 1);
        ck_assert_str_eq(jstr(json_array_get(http, 0), "uri"), pt);
        mc_input_result_clear(&rr.res);
        fx_buf_free(&dump);
        fx_buf_free(&img);
        free(enc);
        free(mine);
    }
    ck_assert_uint_gt(seen, 0);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rokrat");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, engine_containers, 0, (int)(NV * 3 * C__COUNT));
    tcase_add_loop_test(tc, engine_raw, 0, (int)NV);
    tcase_add_test(tc, aes_only);
    tcase_add_test(tc, benign_cloud_client);
    tcase_add_test(tc, prose_and_junk);
    tcase_add_test(tc, hostile);
    tcase_add_test(tc, shared_vectors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
