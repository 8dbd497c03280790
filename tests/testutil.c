#include "testutil.h"
#include "fixtures/fx_native.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MEMCFG_SOURCE_ROOT
#define MEMCFG_SOURCE_ROOT "."
#endif

static const char *srcdir(void)
{
    const char *s = getenv("MEMCFG_SRCDIR");
    return s && *s ? s : MEMCFG_SOURCE_ROOT;
}

const char *tu_src(const char *rel)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s/%s", srcdir(), rel);
    return buf;
}

const char *tu_shared(const char *rel)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s/../shared/%s", srcdir(), rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

static char tmpdir[PATH_MAX];

static void rm_tmpdir(void)
{
    if (tmpdir[0]) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) { /* best effort */ }
    }
}

const char *tu_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/memcfg-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); abort(); }
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0) { fclose(f); return NULL; }
    rewind(f);
    uint8_t *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    if (p) { p[n] = 0; *len = (size_t)n; }
    return p;
}

md_open_opts tu_raw_opts(uint64_t base)
{
    return (md_open_opts){.force_format = MD_FMT_RAW, .raw_base = base, .has_raw_base = true};
}

md_dump *tu_open_raw(const uint8_t *p, size_t len, uint64_t base)
{
    md_open_opts o = tu_raw_opts(base);
    md_dump *d = NULL;
    char err[256];
    ck_assert_msg(md_open_mem(p, len, &o, &d, err, sizeof err) == MD_OK, "%s", err);
    return d;
}

void tu_write_container(const fx_process *p, tu_container c, fx_buf *out)
{
    fx_buf_init(out);
    switch (c) {
    case TU_MINIDUMP: fx_minidump(p, FX_MD_FULL, out); break;
    case TU_CUCKOO: fx_cuckoo(p, out); break;
    case TU_ELFCORE: fx_elfcore(p, 64, FX_ELF_PAGES, out); break;
    default: {
        fx_buf md;
        fx_buf_init(&md);
        fx_minidump(p, FX_MD_FULL, &md);
        fx_deflate(&md, true, out);
        fx_buf_free(&md);
    }
    }
}

void tu_scene_init(tu_scene *s, int arch)
{
    memset(s, 0, sizeof *s);
    s->arch = arch;
    fx_put_zeros(&s->noise, 0x4000);
    fx_fill_noise(s->noise.p, s->noise.len, 5);
    tu_scene_add(s, &s->noise, TU_NOISE_VA, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0);
}

void tu_scene_add(tu_scene *s, const fx_buf *b, uint64_t va, uint32_t protect, uint32_t type, uint64_t alloc_base)
{
    ck_assert_uint_lt(s->nregions, sizeof s->regions / sizeof s->regions[0]);
    s->regions[s->nregions++] = (fx_region){va, b->p, b->len, protect, type, alloc_base};
}

void tu_scene_build(tu_scene *s, int arch, unsigned what, tu_image_fn image, const void *payload,
                    const char *module_path)
{
    tu_scene_init(s, arch);
    if (what & TU_WITH_MAPPED) {
        image(payload, true, TU_IMG_VA, &s->img[0]);
        tu_scene_add(s, &s->img[0], TU_IMG_VA, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, TU_IMG_VA);
        s->module = (fx_module){TU_IMG_VA, (uint32_t)s->img[0].len, module_path};
    }
    if (what & TU_WITH_FLAT) {
        image(payload, false, 0, &s->img[1]);
        tu_scene_add(s, &s->img[1], TU_FLAT_VA, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0);
    }
    if (what & TU_WITH_INJECTED) {
        image(payload, true, TU_INJ_VA, &s->img[2]);
        fx_wipe_headers(&s->img[2]);
        tu_scene_add(s, &s->img[2], TU_INJ_VA, MD_PAGE_EXECUTE_READWRITE, MD_MEM_PRIVATE, 0);
    }
}

void tu_scene_add_heap(tu_scene *s)
{
    tu_scene_add(s, &s->heap, TU_HEAP_VA, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0);
}

void tu_scene_free(tu_scene *s)
{
    fx_buf_free(&s->noise);
    for (size_t i = 0; i < 3; i++) fx_buf_free(&s->img[i]);
    fx_buf_free(&s->heap);
}

void tu_scene_container(const tu_scene *s, tu_container c, fx_buf *out)
{
    fx_process p = {4242, s->arch, s->regions, s->nregions, &s->module, s->module.base ? 1 : 0};
    tu_write_container(&p, c, out);
}

void tu_raw_payload(tu_image_fn image, const void *payload, const fx_buf *heap, fx_buf *out)
{
    fx_buf img;
    fx_buf_init(out);
    fx_buf_init(&img);
    fx_put_zeros(out, 0x3000);
    fx_fill_noise(out->p, out->len, 3);
    image(payload, true, TU_RAW_IMG_VA, &img);
    fx_wipe_headers(&img);
    fx_put(out, img.p, img.len);
    fx_put(out, heap->p, heap->len);
    fx_buf_free(&img);
}

void tu_region_dump(const fx_buf *data, uint64_t va, uint32_t type, fx_buf *out)
{
    fx_region r[2] = {
        {TU_NOISE_VA, NULL, 0x2000, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0},
        {va, data->p, data->len, MD_PAGE_EXECUTE_READ, type, va},
    };
    fx_process p = {7, MD_ARCH_X86, r, 2, NULL, 0};
    tu_write_container(&p, TU_MINIDUMP, out);
}

size_t tu_count_configs(const char *family, const fx_process *p)
{
    fx_buf dump;
    tu_write_container(p, TU_MINIDUMP, &dump);
    tu_run r;
    tu_engine_run(family, &dump, NULL, &r);
    size_t n = r.nconfigs;
    mc_input_result_clear(&r.res);
    fx_buf_free(&dump);
    return n;
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

uint8_t *tu_unhex(const char *hex, size_t *n)
{
    size_t len = strlen(hex) / 2;
    uint8_t *p = malloc(len + 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        p[i] = (uint8_t)v;
    }
    if (n) *n = len;
    return p;
}

void tu_engine_run(const char *family, const fx_buf *in, const md_open_opts *open, tu_run *r)
{
    const char *const fam[] = {family};
    tu_engine_run_families(fam, 1, in, open, r);
}

mc_engine *tu_engine_new(const char *const *families, size_t nfamilies, const md_open_opts *open)
{
    mc_engine_opts o;
    memset(&o, 0, sizeof o);
    o.families = families;
    o.nfamilies = nfamilies;
    if (open) o.open = *open;
    mc_engine *e = NULL;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "engine: %s", err);
    return e;
}

void tu_engine_run_families(const char *const *families, size_t nfamilies, const fx_buf *in,
                            const md_open_opts *open, tu_run *r)
{
    mc_engine *e = tu_engine_new(families, nfamilies, open);
    memset(r, 0, sizeof *r);
    mc_input inp = {"fixture", in->p, in->len, 0, NULL};
    mc_engine_scan(e, &inp, &r->res);
    ck_assert_msg(r->res.status == MC_INPUT_OK, "scan: %s", r->res.error);
    mc_engine_free(e);
    for (size_t i = 0; i < r->res.nrecords; i++) {
        json_t *rec = r->res.records[i];
        const char *rt = json_string_value(json_object_get(rec, "record_type"));
        if (rt && strcmp(rt, "config") == 0 && r->nconfigs < 8) {
            r->rec[r->nconfigs] = rec;
            r->cfg[r->nconfigs++] = json_object_get(rec, "config");
        }
    }
}

bool tu_json_has_str(json_t *arr, const char *want)
{
    return tu_json_str_in(arr, NULL, want);
}

bool tu_json_str_in(json_t *arr, const char *key, const char *want)
{
    json_t *v;
    size_t i;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(key ? json_object_get(v, key) : v);
        if (s && strcmp(s, want) == 0) return true;
    }
    return false;
}

static bool loc_has_form(json_t *loc, const char *form)
{
    const char *f = json_string_value(json_object_get(loc, "form"));
    return f && strcmp(f, form) == 0;
}

bool tu_prov_has_form(json_t *prov, const char *key, const char *form)
{
    const char *k;
    json_t *locs, *l;
    size_t i;
    json_object_foreach(prov, k, locs) {
        if (key && strcmp(k, key) != 0) continue;
        if (json_is_object(locs) && loc_has_form(locs, form)) return true;
        json_array_foreach(locs, i, l)
            if (loc_has_form(l, form)) return true;
    }
    return false;
}

bool tu_has_conn(json_t *cfg, const char *host, long port)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(cfg, "tcp"), i, e) {
        const char *h = json_string_value(json_object_get(e, "server_ip"));
        if (!h) h = json_string_value(json_object_get(e, "server_domain"));
        if (h && strcmp(h, host) == 0 && json_integer_value(json_object_get(e, "server_port")) == port &&
            strcmp(json_string_value(json_object_get(e, "usage")), "c2") == 0)
            return true;
    }
    return false;
}

const char *tu_first_str(json_t *cfg, const char *key)
{
    return json_string_value(json_array_get(json_object_get(cfg, key), 0));
}
