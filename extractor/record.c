/* Wrapper records around MACO configs: the fingerprint, the detection block, and merging of
 * identical configs found more than once in one dump.
 *
 * Fingerprint (MWDB dhash style, order-independent): every JSON value gets a SHA-256 digest
 *   string   H("s:" bytes)        integer  H("i:" decimal)      real  H("r:" %.17g)
 *   true/false/null  H("b:true") / H("b:false") / H("n:")
 *   array    H("[" sorted hex digests of the elements, concatenated "]")
 *   object   H("{" for each key in byte order: hex H(key as string) hex H(value) "}")
 * and the fingerprint is "sha256:" + hex of the config's digest. Sorting element digests makes
 * list order irrelevant; hashing keys with their values keeps {"a":1,"b":2} and {"a":2,"b":1}
 * apart. Depth is capped (configs are built by decoders, but the cap keeps the recursion bounded
 * whatever a decoder puts in "other").
 */
#include "mc_internal.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FP_MAX_DEPTH 32

static void digest_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    static const char hex[] = "0123456789abcdef";
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static void digest_tagged(const char *tag, const char *p, size_t n, char out[65])
{
    size_t tl = strlen(tag);
    char *buf = malloc(tl + n + 1);
    if (!buf) {
        digest_hex(tag, tl, out);
        return;
    }
    memcpy(buf, tag, tl);
    memcpy(buf + tl, p, n);
    digest_hex(buf, tl + n, out);
    free(buf);
}

static int cmp_hex(const void *a, const void *b)
{
    return memcmp(a, b, 64);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void fp_value(const json_t *v, int depth, char out[65]);

static void fp_array(const json_t *v, int depth, char out[65])
{
    size_t n = json_array_size(v);
    char *buf = malloc(n * 64 + 2);
    if (!buf) {
        digest_hex("[]", 2, out);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char h[65];
        fp_value(json_array_get(v, i), depth + 1, h);
        memcpy(buf + 1 + i * 64, h, 64);
    }
    if (n > 1)
        qsort(buf + 1, n, 64, cmp_hex);
    buf[0] = '[';
    buf[n * 64 + 1] = ']';
    digest_hex(buf, n * 64 + 2, out);
    free(buf);
}

static void fp_object(const json_t *v, int depth, char out[65])
{
    size_t n = json_object_size(v);
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    char *buf = malloc(n * 128 + 2);
    if (!keys || !buf) {
        free(keys);
        free(buf);
        digest_hex("{}", 2, out);
        return;
    }
    size_t i = 0;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val) keys[i++] = k;
    if (n > 1)
        qsort(keys, n, sizeof *keys, cmp_cstr);
    buf[0] = '{';
    for (i = 0; i < n; i++) {
        char h[65];
        digest_tagged("s:", keys[i], strlen(keys[i]), h);
        memcpy(buf + 1 + i * 128, h, 64);
        fp_value(json_object_get(v, keys[i]), depth + 1, h);
        memcpy(buf + 1 + i * 128 + 64, h, 64);
    }
    buf[n * 128 + 1] = '}';
    digest_hex(buf, n * 128 + 2, out);
    free(keys);
    free(buf);
}

static void fp_value(const json_t *v, int depth, char out[65])
{
    char num[64];
    if (depth > FP_MAX_DEPTH) {
        digest_hex("depth", 5, out);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: fp_object(v, depth, out); break;
    case JSON_ARRAY: fp_array(v, depth, out); break;
    case JSON_STRING: digest_tagged("s:", json_string_value(v), json_string_length(v), out); break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        digest_tagged("i:", num, strlen(num), out);
        break;
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        digest_tagged("r:", num, strlen(num), out);
        break;
    case JSON_TRUE: digest_hex("b:true", 6, out); break;
    case JSON_FALSE: digest_hex("b:false", 7, out); break;
    default: digest_hex("n:", 2, out); break;
    }
}

char *mc_fingerprint(const json_t *config)
{
    if (!config)
        return NULL;
    char h[65];
    fp_value(config, 0, h);
    char *out = malloc(7 + 64 + 1);
    if (out)
        snprintf(out, 72, "sha256:%s", h);
    return out;
}

/* ---- detection ---- */

json_t *mc_json_va(uint64_t va)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%016" PRIx64, va);
    return json_string(buf);
}

static const char *mem_type_name(uint32_t type)
{
    switch (type) {
    case MD_MEM_IMAGE: return "image";
    case MD_MEM_MAPPED: return "mapped";
    case MD_MEM_PRIVATE: return "private";
    default: return NULL;
    }
}

static const char *module_path(const md_dump *d, const md_region *r, uint64_t va)
{
    if (r->module >= 0 && (size_t)r->module < d->nmodules)
        return d->modules[r->module].path;
    for (size_t i = 0; i < d->nmodules; i++) {
        const md_module *m = &d->modules[i];
        if (va >= m->base && va - m->base < m->size)
            return m->path;
    }
    return NULL;
}

/* file_offset is where the region's bytes start in the input file; a compressed input has no
 * such offset (the bytes live in the inflated copy), so it is left out there. */
json_t *mc_region_json(const md_dump *d, uint64_t va)
{
    const md_region *r = va ? md_region_at(d, va) : NULL;
    if (!r)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "va", mc_json_va(r->va));
    json_object_set_new(o, "size", json_integer((json_int_t)r->size));
    json_object_set_new(o, "protect", json_string(md_protect_str(r->protect)));
    const char *t = mem_type_name(r->type);
    if (t)
        json_object_set_new(o, "type", json_string(t));
    const char *m = module_path(d, r, va);
    if (m && *m)
        json_object_set_new(o, "module", mc_json_str(m));
    if (d->compression == MD_COMP_NONE)
        json_object_set_new(o, "file_offset", json_integer((json_int_t)r->off));
    return o;
}

static json_t *location_json(const md_dump *d, uint64_t va)
{
    json_t *loc = json_object();
    json_object_set_new(loc, "va", mc_json_va(va));
    json_t *r = mc_region_json(d, va);
    if (r)
        json_object_set_new(loc, "region", r);
    return loc;
}

json_t *mc_record_from_config(const mc_config *c, const md_dump *d, const mc_decoder *dec,
                              json_t *tool, json_t *input, json_t *rules,
                              json_t *extra_warnings)
{
    json_t *cfg = json_deep_copy(mc_cfg_json(c));
    char *fp = mc_fingerprint(cfg);
    if (!cfg || !fp) {
        json_decref(cfg);
        free(fp);
        return NULL;
    }
    uint64_t anchor = mc_cfg_anchor(c);
    json_t *rec = json_object();
    json_object_set_new(rec, "schema_version", json_string(MC_SCHEMA_VERSION));
    json_object_set_new(rec, "record_type", json_string("config"));
    json_object_set_new(rec, "tool", json_deep_copy(tool));
    json_object_set_new(rec, "input", json_deep_copy(input));

    json_t *det = json_object();
    json_object_set_new(det, "rules", json_deep_copy(rules));
    json_t *region = mc_region_json(d, anchor);
    if (region)
        json_object_set_new(det, "region", region);
    json_object_set_new(det, "locations", json_pack("[o]", location_json(d, anchor)));
    json_object_set_new(rec, "detection", det);

    json_object_set_new(rec, "decoder", json_pack("{s:s, s:s}", "name", dec->family,
                                                  "version", dec->version ? dec->version : ""));
    json_object_set_new(rec, "status", json_string(mc_status_name(mc_cfg_get_status(c))));
    json_object_set_new(rec, "confidence", json_integer(mc_cfg_get_confidence(c)));
    json_object_set_new(rec, "fingerprint", json_string(fp));
    json_object_set_new(rec, "config", cfg);
    json_object_set_new(rec, "provenance", json_deep_copy(mc_cfg_provenance(c)));
    json_object_set_new(rec, "raw", json_deep_copy(mc_cfg_rawjson(c)));
    json_t *w = json_deep_copy(mc_cfg_warnings(c));
    if (extra_warnings)
        json_array_extend(w, extra_warnings);
    json_object_set_new(rec, "warnings", w);
    free(fp);
    return rec;
}

/* ---- merging ---- */

static void array_union(json_t *dst, const json_t *src)
{
    size_t i, j;
    json_t *e, *f;
    json_array_foreach(src, i, e) {
        bool have = false;
        json_array_foreach(dst, j, f) {
            if (json_equal(e, f)) {
                have = true;
                break;
            }
        }
        if (!have)
            json_array_append(dst, e);
    }
}

static void merge_provenance(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        json_t *have = json_object_get(dst, k);
        if (have)
            array_union(have, v);
        else
            json_object_set(dst, k, v);
    }
}

/* Raw values are kept as found: a key seen with different values in two copies becomes the
 * array of the distinct values. */
static void merge_raw(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        json_t *have = json_object_get(dst, k);
        if (!have)
            json_object_set(dst, k, v);
        else if (!json_equal(have, v))
            json_object_set_new(dst, k, json_pack("[O,O]", have, v));
    }
}

static int loc_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "va")),
                  json_string_value(json_object_get(y, "va")));
}

static void sort_locations(json_t *det)
{
    json_t *locs = json_object_get(det, "locations");
    size_t n = json_array_size(locs);
    if (n < 2)
        return;
    json_t **v = malloc(n * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(locs, i));
    qsort(v, n, sizeof *v, loc_cmp);
    json_array_clear(locs);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(locs, v[i]);
    free(v);
}

static int status_rank(const json_t *rec)
{
    const char *s = json_string_value(json_object_get(rec, "status"));
    static const char *const order[] = {"complete", "partial", "template", "failed"};
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, order[i]) == 0)
            return i;
    return 4;
}

static void merge_into(json_t *dst, const json_t *src)
{
    merge_provenance(json_object_get(dst, "provenance"), json_object_get(src, "provenance"));
    merge_raw(json_object_get(dst, "raw"), json_object_get(src, "raw"));
    json_t *ddet = json_object_get(dst, "detection"), *sdet = json_object_get(src, "detection");
    array_union(json_object_get(ddet, "locations"), json_object_get(sdet, "locations"));
    array_union(json_object_get(ddet, "rules"), json_object_get(sdet, "rules"));
    sort_locations(ddet);
    /* detection.region follows the first location */
    json_t *first = json_array_get(json_object_get(ddet, "locations"), 0);
    json_t *reg = json_object_get(first, "region");
    if (reg)
        json_object_set(ddet, "region", reg);
    array_union(json_object_get(dst, "warnings"), json_object_get(src, "warnings"));
    if (status_rank(src) < status_rank(dst))
        json_object_set(dst, "status", json_object_get(src, "status"));
    json_int_t dc = json_integer_value(json_object_get(dst, "confidence"));
    json_int_t sc = json_integer_value(json_object_get(src, "confidence"));
    if (sc > dc)
        json_object_set(dst, "confidence", json_object_get(src, "confidence"));
}

static const char *rec_family(const json_t *r)
{
    const char *f = json_string_value(json_object_get(json_object_get(r, "config"), "family"));
    return f ? f : "";
}

static const char *rec_fp(const json_t *r)
{
    const char *f = json_string_value(json_object_get(r, "fingerprint"));
    return f ? f : "";
}

static const char *rec_va(const json_t *r)
{
    json_t *locs = json_object_get(json_object_get(r, "detection"), "locations");
    const char *v = json_string_value(json_object_get(json_array_get(locs, 0), "va"));
    return v ? v : "";
}

typedef struct sort_ctx {
    const char *const *fam;
    size_t nfam;
} sort_ctx;

static size_t fam_index(const sort_ctx *c, const char *f)
{
    for (size_t i = 0; i < c->nfam; i++)
        if (strcmp(c->fam[i], f) == 0)
            return i;
    return c->nfam;
}

static int rec_cmp(const void *a, const void *b, void *arg)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    size_t fx = fam_index(arg, rec_family(x)), fy = fam_index(arg, rec_family(y));
    if (fx != fy)
        return fx < fy ? -1 : 1;
    int r = strcmp(rec_family(x), rec_family(y));
    if (r == 0)
        r = strcmp(rec_va(x), rec_va(y));
    if (r == 0)
        r = strcmp(rec_fp(x), rec_fp(y));
    return r;
}

size_t mc_records_merge_sort(json_t **recs, size_t n, const char *const *fam_order,
                             size_t nfam)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < out; j++)
            if (strcmp(rec_family(recs[j]), rec_family(recs[i])) == 0 &&
                strcmp(rec_fp(recs[j]), rec_fp(recs[i])) == 0)
                break;
        if (j < out) {
            merge_into(recs[j], recs[i]);
            json_decref(recs[i]);
        } else {
            recs[out++] = recs[i];
        }
    }
    for (size_t i = 0; i < out; i++)
        sort_locations(json_object_get(recs[i], "detection"));
    sort_ctx c = {fam_order, nfam};
    if (out > 1)
        qsort_r(recs, out, sizeof *recs, rec_cmp, &c);
    return out;
}
