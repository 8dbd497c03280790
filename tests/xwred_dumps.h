/* Test helpers shared by test_xworm.c, test_redline.c and test_heaponly.c: place a compiled fixture
 * (fixtures/dotnet) in a synthetic process, flat or mapped, among noise, prose naming the
 * families, base64 junk and a native DLL, with decrypted CLR string copies on a heap; write that
 * process in every container (tests/testutil's writers) and scan it through the engine. */
#ifndef MEMCFG_XWRED_DUMPS_H
#define MEMCFG_XWRED_DUMPS_H

#include "fixtures/fx.h"
#include "md_internal.h"
#include "memcfg.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XT_BASE 0x20000000ull
#define XT_IMG_OFF 0x10000u
#define XT_MT_PTR 0x00007FF812345678ull

enum { XT_RAW = 0, XT_MINIDUMP, XT_CUCKOO, XT_ELFCORE, XT_GZIP, XT__NCONTAINERS };
static const char *const xt_container_names[XT__NCONTAINERS] = {"raw", "minidump", "cuckoo", "elfcore", "gzip"};

static inline uint8_t *xt_load(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/dotnet/%s", name);
    uint8_t *p = tu_read_file(tu_src(rel), len);
    ck_assert_msg(p != NULL, "missing fixture %s", rel);
    return p;
}

typedef struct xt_spec {
    const char *fixture;      /* NULL: no .NET image */
    bool mapped;
    const char *const *heap;  /* decrypted strings to place on the heap as CLR strings */
    size_t nheap;
} xt_spec;

typedef struct xt_dump {
    fx_buf raw;               /* the flat process image: noise, DLL, assembly, heap */
    size_t heap_off;
    bool mapped;
} xt_dump;

static inline void xt_native_dll(fx_buf *out)
{
    static const char text[] = "KERNELBASE.dll\0GetProcAddress\0This program cannot be run";
    fx_section s = {.name = ".text", .rva = 0x1000, .data = (const uint8_t *)text,
                    .data_len = sizeof text, .characteristics = 0x60000020u};
    fx_pe pe = {.pe64 = true, .dll = true, .image_base = XT_BASE + 0x8000, .entry_rva = 0x1000,
                .sections = &s, .nsections = 1};
    fx_pe_build(&pe, true, out);
}

static inline void xt_build(const xt_spec *sp, xt_dump *x)
{
    fx_buf *out = &x->raw;
    fx_buf_init(out);
    fx_put_zeros(out, 0x8000);
    fx_fill_noise(out->p, 0x6000, 11);
    /* Prose naming the families and base64 junk next to their marker words. */
    static const char prose[] =
        "Report: XWorm keeps Hosts, Port, KEY, SPL, Groub, USBNM and Mutex in Settings; the key is "
        "MD5(Mutex). RedLine keeps IP, ID, Message, Key; Yandex\\YaAddon, Authorization, StringDecrypt. "
        "b64: QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MA== "
        "ADUZWS0GNBwpJyQFICJYUykxIlE/KTAULDVY== pekKU4miGpQoKEhWozFlZQ";
    memcpy(out->p + 0x6000, prose, sizeof prose);
    size_t woff = 0x6000 + sizeof prose + 16;
    for (const char *p = "Yandex\\YaAddon StartDDos <Xwormmm> Marmalade"; *p; p++, woff += 2) {
        out->p[woff] = (uint8_t)*p;
        out->p[woff + 1] = 0;
    }
    fx_buf dll;
    fx_buf_init(&dll);
    xt_native_dll(&dll);
    ck_assert_uint_le(dll.len, XT_IMG_OFF - 0x8000);
    fx_put(out, dll.p, dll.len);
    fx_buf_free(&dll);
    fx_put_zeros(out, XT_IMG_OFF - out->len);
    if (sp->fixture) {
        size_t flen;
        uint8_t *f = xt_load(sp->fixture, &flen);
        if (sp->mapped) fx_pe_map(f, flen, out);
        else fx_put(out, f, flen);
        free(f);
    } else {
        fx_put_zeros(out, 0x4000);
    }
    fx_align(out, 0x1000);
    x->heap_off = out->len;
    x->mapped = sp->mapped;
    for (size_t i = 0; i < sp->nheap; i++) {
        fx_put_clr_string(out, 8, XT_MT_PTR, "System.Collections.Generic");
        fx_put_clr_string(out, 8, XT_MT_PTR, sp->heap[i]);
    }
    fx_put_zeros(out, 0x100);
    fx_align(out, 0x1000);
}

/* The process written in one container: raw is the flat buffer itself (opened with
 * xt_raw_opts), the others through tu_write_container. */
static inline void xt_container(const xt_dump *x, int kind, fx_buf *out)
{
    const fx_buf *raw = &x->raw;
    if (kind == XT_RAW) {
        fx_buf_init(out);
        fx_put(out, raw->p, raw->len);
        return;
    }
    fx_region regs[4] = {
        {.va = XT_BASE, .data = raw->p, .size = 0x8000},
        {.va = XT_BASE + 0x8000, .data = raw->p + 0x8000, .size = XT_IMG_OFF - 0x8000,
         .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE},
        {.va = XT_BASE + XT_IMG_OFF, .data = raw->p + XT_IMG_OFF, .size = x->heap_off - XT_IMG_OFF,
         .protect = x->mapped ? MD_PAGE_EXECUTE_READ : MD_PAGE_READWRITE,
         .type = x->mapped ? MD_MEM_IMAGE : MD_MEM_PRIVATE},
        {.va = XT_BASE + x->heap_off, .data = raw->p + x->heap_off, .size = raw->len - x->heap_off},
    };
    fx_module mods[2] = {{XT_BASE + 0x8000, XT_IMG_OFF - 0x8000, "C:\\Windows\\System32\\sysdll.dll"},
                         {XT_BASE + XT_IMG_OFF, (uint32_t)(x->heap_off - XT_IMG_OFF), "C:\\Users\\u\\AppData\\client.exe"}};
    fx_process proc = {.pid = 5150, .arch = MD_ARCH_AMD64, .regions = regs, .nregions = 4,
                       .modules = mods, .nmodules = x->mapped ? 2 : 1};
    static const tu_container tu_kind[XT__NCONTAINERS] = {
        [XT_MINIDUMP] = TU_MINIDUMP, [XT_CUCKOO] = TU_CUCKOO, [XT_ELFCORE] = TU_ELFCORE, [XT_GZIP] = TU_GZIP};
    tu_write_container(&proc, tu_kind[kind], out);
}

/* Config records of `family` from one engine pass (tu_engine_run) over a container of kind;
 * the caller frees them with json_decref. */
static inline size_t xt_scan(const fx_buf *b, int kind, const char *family, json_t **recs, size_t max)
{
    md_open_opts raw = {.force_format = MD_FMT_RAW, .raw_base = XT_BASE, .has_raw_base = true};
    tu_run r;
    tu_engine_run(family, b, kind == XT_RAW ? &raw : NULL, &r);
    size_t n = 0;
    for (size_t i = 0; i < r.nconfigs; i++) {
        const char *fam = json_string_value(json_object_get(r.cfg[i], "family"));
        if (!fam || strcmp(fam, family) != 0) continue;
        if (n < max) recs[n] = json_incref(r.rec[i]);
        n++;
    }
    mc_input_result_clear(&r.res);
    return n;
}

/* ---- assertions on records ---- */

static inline bool xt_has_conn(json_t *cfg, const char *host, long port)
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

static inline const char *xt_first(json_t *cfg, const char *key)
{
    return json_string_value(json_array_get(json_object_get(cfg, key), 0));
}

static inline const char *xt_other(json_t *cfg, const char *key)
{
    return json_string_value(json_object_get(json_object_get(cfg, "other"), key));
}

static inline bool xt_has_form(json_t *rec, const char *prov_key, const char *form)
{
    json_t *arr = json_object_get(json_object_get(rec, "provenance"), prov_key), *e;
    size_t i;
    json_array_foreach(arr, i, e)
        if (strcmp(json_string_value(json_object_get(e, "form")) ?: "", form) == 0) return true;
    return false;
}

static inline bool xt_has_path(json_t *cfg, const char *path, const char *usage)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(cfg, "paths"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "path")) ?: "", path) == 0 &&
            strcmp(json_string_value(json_object_get(e, "usage")) ?: "", usage) == 0)
            return true;
    return false;
}

/* Byte offset of `text` as UTF-16LE in buf, or -1. */
static inline long xt_find_utf16(const uint8_t *buf, size_t len, const char *text)
{
    size_t n = strlen(text);
    uint8_t *pat = malloc(2 * n);
    ck_assert_ptr_nonnull(pat);
    for (size_t i = 0; i < n; i++) { pat[2 * i] = (uint8_t)text[i]; pat[2 * i + 1] = 0; }
    const uint8_t *m = memmem(buf, len, pat, 2 * n);
    free(pat);
    return m ? (long)(m - buf) : -1;
}

#endif
