/* Test helpers shared by test_xworm.c, test_redline.c and test_heaponly.c: place a compiled fixture
 * (fixtures/dotnet) in a synthetic process (tests/tdump), flat or mapped, among noise, prose naming
 * the families, base64 junk and a native DLL, with decrypted CLR string copies on a heap; write
 * that process in every container and scan it through the engine. */
#ifndef MEMCFG_XWRED_DUMPS_H
#define MEMCFG_XWRED_DUMPS_H

#include "md_internal.h"
#include "memcfg.h"
#include "tdump.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XT_BASE 0x20000000ull

/* Noise, prose naming the families and base64 junk next to their marker words, the marker words
 * in UTF-16; a native DLL; the assembly; the heap. */
static const td_layout xt_layout = {
    .base = XT_BASE, .noise_seed = 11, .noise_len = 0x6000,
    .prose = "Report: XWorm keeps Hosts, Port, KEY, SPL, Groub, USBNM and Mutex in Settings; the key is "
             "MD5(Mutex). RedLine keeps IP, ID, Message, Key; Yandex\\YaAddon, Authorization, StringDecrypt. "
             "b64: QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MA== "
             "ADUZWS0GNBwpJyQFICJYUykxIlE/KTAULDVY== pekKU4miGpQoKEhWozFlZQ",
    .utf16 = "Yandex\\YaAddon StartDDos <Xwormmm> Marmalade",
    .dll = true, .filler = "System.Collections.Generic", .heap_tail = 0x100,
    .pid = 5150, .module_path = "C:\\Users\\u\\AppData\\client.exe"};

static inline void xt_build(const td_spec *sp, td_dump *x)
{
    td_build(&xt_layout, sp, x);
}

/* Config records of `family` from one engine pass (td_scan) over the dump in a container of
 * kind; the caller frees them with json_decref. */
static inline size_t xt_scan(const td_dump *x, int kind, const char *family, json_t **recs, size_t max)
{
    tu_run r;
    td_scan(x, kind, &family, 1, &r);
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

/* Each of fixtures[0..n) (NULL: no image), flat and mapped, with these heap strings: no record of
 * family in any container. */
static inline void xt_none(const char *family, const char *const *fixtures, size_t n,
                           const char *const *heap, size_t nheap)
{
    for (size_t k = 0; k < n; k++)
        for (int mapped = 0; mapped < 2; mapped++) {
            td_spec sp = {fixtures[k], mapped, heap, nheap};
            td_dump x;
            xt_build(&sp, &x);
            for (int kind = 0; kind < TD__KINDS; kind++) {
                json_t *recs[1];
                ck_assert_msg(xt_scan(&x, kind, family, recs, 1) == 0,
                              "%s mapped=%d %s", fixtures[k] ? fixtures[k] : "(none)", mapped, td_kind_names[kind]);
            }
            td_free(&x);
        }
}

/* ---- assertions on records ---- */

static inline const char *xt_other(json_t *cfg, const char *key)
{
    return json_string_value(json_object_get(json_object_get(cfg, "other"), key));
}

static inline bool xt_has_form(json_t *rec, const char *prov_key, const char *form)
{
    return tu_prov_has_form(json_object_get(rec, "provenance"), prov_key, form);
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

/* fixture flat and mapped, without and with the heap copies, in every container: one record of
 * family each time, check(rec) holds, the copies show in the provenance of tcp[0] and
 * campaign_id[0] and raise the confidence. */
static inline void xt_every_container(const char *family, const char *fixture, const char *const *heap,
                                      size_t nheap, void (*check)(json_t *rec))
{
    for (int mapped = 0; mapped < 2; mapped++) {
        int conf[2] = {0, 0};
        for (int with = 0; with < 2; with++) {
            td_spec sp = {fixture, mapped, with ? heap : NULL, with ? nheap : 0};
            td_dump x;
            xt_build(&sp, &x);
            for (int kind = 0; kind < TD__KINDS; kind++) {
                json_t *recs[4];
                size_t n = xt_scan(&x, kind, family, recs, 4);
                ck_assert_msg(n == 1, "mapped=%d heap=%d %s: %zu records", mapped, with, td_kind_names[kind], n);
                check(recs[0]);
                ck_assert(xt_has_form(recs[0], "tcp[0]", "heap_decrypted") == (with == 1));
                ck_assert(xt_has_form(recs[0], "campaign_id[0]", "heap_decrypted") == (with == 1));
                conf[with] = (int)json_integer_value(json_object_get(recs[0], "confidence"));
                json_decref(recs[0]);
            }
            td_free(&x);
        }
        ck_assert_int_gt(conf[1], conf[0]);
    }
}

#endif
