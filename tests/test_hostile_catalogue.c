/* The hostile-input catalogue of peers.md §3.3, one test per item (01-15). Items 1-6 (container
 * level) are covered in depth at the memdump layer by tests/test_hostile.c; here the same classes
 * of input go through the whole engine (open, scan, decoders, records), so every item is also
 * proven end to end. Items 7-15 (image, decoder and output level) are tested only here. Inputs
 * come from the fixture writers and the committed .NET fixtures, patched. */
#include "fixtures/fx.h"
#include "fixtures/fx_native.h"
#include "lib/mc_dotnet.h"
#include "lib/mc_pe.h"
#include "mc_internal.h"
#include "mc_output.h"
#include "md_internal.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x400000ull

static mc_engine *engine_new(md_format fmt)
{
    mc_engine_opts o = {.timeout = 60};
    o.open.force_format = fmt;
    if (fmt == MD_FMT_RAW || fmt == MD_FMT_PE) {
        o.open.raw_base = BASE;
        o.open.has_raw_base = true;
    }
    mc_engine *e = NULL;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "engine: %s", err);
    return e;
}

/* Scans buf; the result must be a typed outcome: OK or TIMEOUT with records, or ERROR with one
 * error line. Returns the status. */
static mc_input_status scan(mc_engine *e, const uint8_t *buf, size_t len, mc_input_result *res)
{
    mc_input in = {.path = "catalogue", .mem = buf, .memlen = len};
    mc_input_status st = mc_engine_scan(e, &in, res);
    if (st != MC_INPUT_OK)
        ck_assert_msg(res->error[0] && !strchr(res->error, '\n'), "status %d without a message",
                      (int)st);
    for (size_t i = 0; i < res->nrecords; i++) {
        char *s = json_dumps(res->records[i], JSON_COMPACT);
        ck_assert_ptr_nonnull(s);
        free(s);
    }
    return st;
}

static const json_t *config_of(const mc_input_result *res, const char *family)
{
    for (size_t i = 0; i < res->nrecords; i++) {
        const json_t *c = json_object_get(res->records[i], "config");
        const char *f = json_string_value(json_object_get(c, "family"));
        if (f && strcmp(f, family) == 0)
            return res->records[i];
    }
    return NULL;
}

/* True when some record (or the input error) says a limit or truncation was hit. */
static bool any_warning(const mc_input_result *res, const char *needle)
{
    if (strstr(res->error, needle))
        return true;
    for (size_t i = 0; i < res->nrecords; i++) {
        const json_t *w = json_object_get(res->records[i], "warnings");
        size_t k;
        const json_t *s;
        json_array_foreach(w, k, s)
            if (json_string_value(s) && strstr(json_string_value(s), needle))
                return true;
        const json_t *err = json_object_get(res->records[i], "error");
        const char *m = json_string_value(json_object_get(err, "message"));
        if (m && strstr(m, needle))
            return true;
    }
    return false;
}

static void load_fixture(const char *name, fx_buf *b)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/dotnet/%s", name);
    size_t n = 0;
    uint8_t *p = tu_read_file(tu_src(rel), &n);
    ck_assert_msg(p != NULL, "missing %s", rel);
    fx_buf_init(b);
    fx_put(b, p, n);
    free(p);
}

static uint8_t pg[3][0x1000];

static fx_process small_process(const fx_buf *img)
{
    static fx_region r[3];
    static const fx_module m[] = {{.base = BASE, .size = 0x10000, .path = "C:\\fx\\q.exe"}};
    for (int i = 0; i < 3; i++)
        fx_fill_noise(pg[i], sizeof pg[i], 40 + (uint64_t)i);
    r[0] = (fx_region){.va = BASE, .data = img ? img->p : pg[0], .size = img ? img->len : 0x1000,
                       .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE};
    r[1] = (fx_region){.va = 0x10000, .data = pg[1], .size = 0x1000};
    r[2] = (fx_region){.va = 0x7ff600000000, .data = pg[2], .size = 0x1000};
    return (fx_process){.pid = 9, .arch = MD_ARCH_X86, .regions = r, .nregions = 3, .modules = m,
                        .nmodules = 1};
}

/* ---------------------------------------------------------------- container level (1-6) */

/* Item 1: huge stream / range counts never drive an allocation (memdump layer: test_hostile). */
START_TEST(item01_huge_counts)
{
    fx_process p = small_process(NULL);
    fx_buf b;
    fx_buf_init(&b);
    fx_minidump(&p, FX_MD_FULL, &b);
    fx_set_u32(&b, 8, 0xffffffffu);   /* NumberOfStreams */
    mc_engine *e = engine_new(MD_FMT_UNKNOWN);
    mc_input_result res;
    scan(e, b.p, b.len, &res);
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

/* Item 2: RVAs past EOF or overflowing 64 bits (memdump layer: test_hostile). */
START_TEST(item02_offsets_past_eof)
{
    fx_process p = small_process(NULL);
    fx_buf b;
    fx_buf_init(&b);
    fx_minidump(&p, FX_MD_FULL, &b);
    fx_set_u32(&b, 12, 0xfffffff0u);  /* StreamDirectoryRva */
    mc_engine *e = engine_new(MD_FMT_UNKNOWN);
    mc_input_result res;
    ck_assert_int_eq(scan(e, b.p, b.len, &res), MC_INPUT_ERROR);
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

/* Item 3: a truncated last range still scans, and the records say memory is missing. */
START_TEST(item03_truncated_last_range)
{
    fx_buf img;
    load_fixture("quasar14.exe", &img);
    fx_process p = small_process(&img);
    fx_buf b;
    fx_buf_init(&b);
    fx_minidump(&p, FX_MD_FULL, &b);
    mc_engine *e = engine_new(MD_FMT_UNKNOWN);
    mc_input_result res;
    ck_assert_int_eq(scan(e, b.p, b.len - 0x800, &res), MC_INPUT_OK);
    ck_assert_ptr_nonnull(config_of(&res, "quasar"));
    ck_assert(any_warning(&res, "dump:"));
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&b);
    fx_buf_free(&img);
}
END_TEST

/* Item 4: wrapping and overlapping ranges (memdump layer: test_hostile); through the engine. */
START_TEST(item04_wrapping_ranges)
{
    fx_process p = small_process(NULL);
    fx_buf b;
    fx_buf_init(&b);
    fx_cuckoo(&p, &b);
    fx_set_u64(&b, 0, 0xfffffffffffff800ull);   /* first record's VA: wraps past 2^64 */
    mc_engine *e = engine_new(MD_FMT_UNKNOWN);
    mc_input_result res;
    scan(e, b.p, b.len, &res);
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

/* Item 5: a kernel crash dump handed over as a minidump is a typed format error. */
START_TEST(item05_wrong_container)
{
    uint8_t k[4096] = "PAGEDU64";
    mc_engine *e = engine_new(MD_FMT_MINIDUMP);
    mc_input_result res;
    ck_assert_int_eq(scan(e, k, sizeof k, &res), MC_INPUT_ERROR);
    mc_input_result_clear(&res);
    mc_engine_free(e);
}
END_TEST

/* Item 6: a decompression bomb stops at the cap (multi-GB inputs: test_hostile item 6). */
START_TEST(item06_decompression_cap)
{
    fx_buf z, big;
    fx_buf_init(&big);
    fx_put_zeros(&big, 8u << 20);
    fx_buf_init(&z);
    fx_deflate(&big, true, &z);
    mc_engine_opts o = {.open = {.max_decompressed = 1u << 20}};
    mc_engine *e = NULL;
    char err[256];
    ck_assert_int_eq(mc_engine_new(&o, &e, err, sizeof err), 0);
    mc_input_result res;
    mc_input_status st = scan(e, z.p, z.len, &res);
    ck_assert_msg(st == MC_INPUT_ERROR || res.partial || any_warning(&res, "limit") ||
                      any_warning(&res, "cap"), "a bomb opened without a word");
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&z);
    fx_buf_free(&big);
}
END_TEST

/* ---------------------------------------------------------------- image level (7-9) */

/* Item 7: the same PE in mapped and flat layout gives the same configuration. */
START_TEST(item07_mapped_and_flat_layout)
{
    fx_buf flat, mapped;
    load_fixture("quasar14.exe", &flat);
    fx_buf_init(&mapped);
    fx_pe_map(flat.p, flat.len, &mapped);
    mc_engine *e = engine_new(MD_FMT_RAW);
    mc_input_result a, b;
    ck_assert_int_eq(scan(e, flat.p, flat.len, &a), MC_INPUT_OK);
    ck_assert_int_eq(scan(e, mapped.p, mapped.len, &b), MC_INPUT_OK);
    const json_t *ra = config_of(&a, "quasar"), *rb = config_of(&b, "quasar");
    ck_assert_ptr_nonnull(ra);
    ck_assert_ptr_nonnull(rb);
    ck_assert(json_object_get(json_object_get(ra, "config"), "tcp") != NULL);
    ck_assert(json_equal(json_object_get(ra, "config"), json_object_get(rb, "config")));
    mc_input_result_clear(&a);
    mc_input_result_clear(&b);
    mc_engine_free(e);
    fx_buf_free(&flat);
    fx_buf_free(&mapped);
}
END_TEST

/* Offset of the resource root in a flat remcos image, through the PE reader. */
static uint32_t rsrc_off(const fx_buf *img)
{
    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = BASE, .has_raw_base = true};
    md_dump *d = NULL;
    char err[128];
    ck_assert_int_eq(md_open_mem(img->p, img->len, &o, &d, err, sizeof err), MD_OK);
    mc_pe pe;
    ck_assert(mc_pe_open_at(&pe, d, BASE, MD_LAYOUT_FLAT));
    uint64_t va = 0;
    ck_assert(pe.rsrc_rva && mc_pe_rva_to_va(&pe, pe.rsrc_rva, &va));
    md_close(d);
    return (uint32_t)(va - BASE);
}

static bool count_leaf(const mc_pe_res *r, void *arg)
{
    (void)r;
    ++*(unsigned *)arg;
    return true;
}

static mc_pe_res_stats walk(const fx_buf *img, unsigned *leaves)
{
    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = BASE, .has_raw_base = true};
    md_dump *d = NULL;
    char err[128];
    ck_assert_int_eq(md_open_mem(img->p, img->len, &o, &d, err, sizeof err), MD_OK);
    mc_pe pe;
    mc_pe_res_stats st = {0};
    *leaves = 0;
    ck_assert(mc_pe_open_at(&pe, d, BASE, MD_LAYOUT_FLAT));
    mc_pe_res_walk(&pe, count_leaf, leaves, &st);
    md_close(d);
    return st;
}

static void remcos_flat(fx_buf *img)
{
    static const char *const c2[] = {"c2.example:2404:1"};
    static const uint8_t key[] = "catalogue-key";
    fx_remcos rc = {.gen = FX_RC_GEN_NEW, .c2 = c2, .nc2 = 1, .botnet = "cat", .mutex = "Rmc-CAT",
                    .version = "4.9.3 Pro", .key = key, .keylen = sizeof key - 1};
    fx_buf_init(img);
    fx_remcos_image(&rc, false, BASE, img);
}

/* Item 8: forged headers and resource directories: a cycle back to the root, and a chain of
 * subdirectories deeper than type/name/language. */
START_TEST(item08_forged_headers_and_resource_cycles)
{
    fx_buf img;
    remcos_flat(&img);
    unsigned leaves = 0;
    mc_pe_res_stats st = walk(&img, &leaves);
    ck_assert(leaves > 0 && !st.cycle);
    uint32_t root = rsrc_off(&img);
    /* first entry of the root -> the root itself */
    fx_set_u32(&img, root + 16 + 4, 0x80000000u);
    st = walk(&img, &leaves);
    ck_assert_msg(st.cycle || st.capped, "a resource cycle went unnoticed");
    mc_engine *e = engine_new(MD_FMT_RAW);
    mc_input_result res;
    scan(e, img.p, img.len, &res);
    mc_input_result_clear(&res);

    /* Wiped headers and a lying section count / SizeOfImage. */
    fx_buf w;
    remcos_flat(&w);
    uint32_t lfanew = md_le32(w.p + 0x3c);
    fx_set_u32(&w, lfanew + 4 + 2, 0xffff);            /* NumberOfSections (u16, and more) */
    fx_set_u32(&w, lfanew + 24 + 56, 0xfffff000u);     /* SizeOfImage */
    scan(e, w.p, w.len, &res);
    mc_input_result_clear(&res);
    fx_wipe_headers(&w);
    scan(e, w.p, w.len, &res);
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&w);
    fx_buf_free(&img);
}
END_TEST

static size_t find(const fx_buf *b, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->p + i, needle, n) == 0)
            return i;
    ck_abort_msg("marker not found");
    return 0;
}

static void dotnet_survives(const fx_buf *b, mc_engine *e)
{
    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = BASE, .has_raw_base = true};
    md_dump *d = NULL;
    char err[128];
    ck_assert_int_eq(md_open_mem(b->p, b->len, &o, &d, err, sizeof err), MD_OK);
    mc_dotnet *dn = NULL;
    mc_dn_err de = mc_dn_open_at(d, BASE, MD_LAYOUT_FLAT, &dn);
    if (de == MC_DN_OK) {
        for (uint32_t m = 1; m <= mc_dn_rows(dn, MC_DN_T_METHODDEF) && m < 4096; m++) {
            mc_dn_body body;
            if (mc_dn_get_body(dn, m, &body) == MC_DN_OK)
                mc_dn_body_free(&body);
        }
        char s[64];
        mc_dn_us_utf8(dn, 0x70ffffffu, s, sizeof s, NULL);
        mc_dn_close(dn);
    } else {
        ck_assert(de > MC_DN_OK && de <= MC_DN_E_NOMEM);
        ck_assert_ptr_null(dn);
    }
    md_close(d);
    mc_input_result res;
    scan(e, b->p, b->len, &res);
    mc_input_result_clear(&res);
}

/* Item 9: .NET metadata lying about row counts, heap sizes, stream extents and blob lengths. */
START_TEST(item09_dotnet_metadata_out_of_range)
{
    mc_engine *e = engine_new(MD_FMT_RAW);
    fx_buf b;
    load_fixture("quasar14.exe", &b);
    size_t root = find(&b, "BSJB", 4);
    size_t tilde = find(&b, "#~\0", 3);          /* stream header: offset, size, name */
    uint32_t toff = md_le32(b.p + tilde - 8);
    size_t tables = root + toff;
    static const struct { size_t off; int width; uint64_t val; } patch[] = {
        {0, 4, 0xfffffff0u},          /* #~ size past the metadata */
        {1, 4, 0xfffffff0u},          /* #~ offset past the metadata */
        {2, 1, 0x07},                 /* HeapSizes: every index 4 bytes -> tables overrun */
        {3, 4, 0x00ffffffu},          /* first row count huge */
        {4, 4, 0xffffffffu},          /* first row count at u32 max */
        {5, 8, 0xffffffffffffffffull},/* Valid: every table present */
    };
    for (size_t i = 0; i < sizeof patch / sizeof patch[0]; i++) {
        fx_buf c;
        fx_buf_init(&c);
        fx_put(&c, b.p, b.len);
        switch (patch[i].off) {
        case 0: fx_set_u32(&c, tilde - 4, (uint32_t)patch[i].val); break;
        case 1: fx_set_u32(&c, tilde - 8, (uint32_t)patch[i].val); break;
        case 2: c.p[tables + 6] = (uint8_t)patch[i].val; break;
        case 3: case 4: fx_set_u32(&c, tables + 24, (uint32_t)patch[i].val); break;
        default: fx_set_u64(&c, tables + 8, patch[i].val); break;
        }
        dotnet_survives(&c, e);
        fx_buf_free(&c);
    }
    /* Compressed blob and user-string lengths running past their heaps: every 0x80-0xff byte in
     * #US/#Blob set to a 4-byte length prefix 0xdf. */
    fx_buf c;
    fx_buf_init(&c);
    fx_put(&c, b.p, b.len);
    size_t us = find(&c, "#US\0", 4);
    size_t uoff = root + md_le32(c.p + us - 8), usz = md_le32(c.p + us - 4);
    for (size_t i = uoff + 1; i < uoff + usz && i < c.len; i += 7)
        c.p[i] = 0xdf;
    dotnet_survives(&c, e);
    fx_buf_free(&c);
    fx_buf_free(&b);
    mc_engine_free(e);
}
END_TEST

/* ---------------------------------------------------------------- decoder level (10-14) */

/* Item 10: a key-length byte larger than the blob holding it. */
START_TEST(item10_key_length_past_window)
{
    static const char *const c2[] = {"c2.example:2404:1"};
    fx_remcos rc = {.gen = FX_RC_GEN_NEW, .c2 = c2, .nc2 = 1, .version = "4.9.3 Pro"};
    mc_engine *e = engine_new(MD_FMT_RAW);
    static const uint8_t blobs[][4] = {{0xff, 'k', 'e', 'y'}, {0x00, 0, 0, 0}, {0x03, 'a', 'b', 'c'}};
    for (size_t i = 0; i < 3; i++) {
        fx_buf img;
        fx_buf_init(&img);
        fx_remcos_image_with_blob(&rc, blobs[i], i == 2 ? 4 : 2, false, BASE, &img);
        mc_input_result res;
        ck_assert_int_eq(scan(e, img.p, img.len, &res), MC_INPUT_OK);
        const json_t *r = config_of(&res, "remcos");
        ck_assert_msg(!r || strcmp(json_string_value(json_object_get(r, "status")), "complete") != 0,
                      "a config decoded from a blob with no settings");
        mc_input_result_clear(&res);
        fx_buf_free(&img);
    }
    mc_engine_free(e);
}
END_TEST

/* Item 11: decompression output is capped and a cut stream is not an endless loop; the cap
 * leaves a warning (gzip is the only compressed form the tree decodes; decoders get max_output). */
START_TEST(item11_decompression_loops)
{
    fx_buf big, z;
    fx_buf_init(&big);
    fx_put_zeros(&big, 4u << 20);
    fx_buf_init(&z);
    fx_deflate(&big, false, &z);
    md_open_opts o = {.max_decompressed = 64u << 10};
    md_dump *d = NULL;
    char err[256] = "";
    md_err rc = md_open_mem(z.p, z.len, &o, &d, err, sizeof err);
    if (rc == MD_OK) {
        ck_assert(d->len <= (64u << 10));
        bool warned = false;
        for (size_t i = 0; i < d->nwarnings; i++)
            warned |= d->warnings[i].code == MD_W_LIMIT;
        ck_assert_msg(warned, "decompression cap hit silently");
        md_close(d);
    } else {
        ck_assert_int_eq(rc, MD_E_LIMIT);
    }
    /* the stream cut in half: a typed outcome, never a spin */
    rc = md_open_mem(z.p, z.len / 2, &o, &d, err, sizeof err);
    if (rc == MD_OK)
        md_close(d);
    fx_buf_free(&z);
    fx_buf_free(&big);
}
END_TEST

/* Item 12: pointer chains that cycle and nest without end: resource subdirectories chained 64
 * deep and pointing back at themselves. */
START_TEST(item12_pointer_cycles_and_depth)
{
    fx_buf img;
    remcos_flat(&img);
    uint32_t root = rsrc_off(&img);
    /* Every 16-byte directory header written over the resource section's first 64 * 24 bytes,
     * each with one subdirectory entry pointing at the next; the last points at the first. */
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t at = root + i * 24;
        if (at + 24 > img.len)
            break;
        memset(img.p + at, 0, 24);
        img.p[at + 14] = 1;   /* NumberOfIdEntries */
        fx_set_u32(&img, at + 16, 10);
        fx_set_u32(&img, at + 20, 0x80000000u | ((i + 1) % 64 * 24));
    }
    unsigned leaves = 0;
    mc_pe_res_stats st = walk(&img, &leaves);
    ck_assert_msg(st.capped || st.cycle, "a 64-deep cyclic directory chain went unnoticed");
    ck_assert(st.dirs <= MC_PE_RES_MAX_DIRS);
    mc_engine *e = engine_new(MD_FMT_RAW);
    mc_input_result res;
    scan(e, img.p, img.len, &res);
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&img);
}
END_TEST

/* Item 13: zero pages and a marker repeated hundreds of thousands of times: the per-rule hit cap
 * holds, the scan finishes quickly and says it was cut. */
START_TEST(item13_match_explosion)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_put_zeros(&b, 4u << 20);
    static const uint8_t anchor[] = {0xE0, 0, 0, 7, 0xE0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF};
    for (size_t i = 0; i < 200000; i++)
        fx_put(&b, anchor, sizeof anchor);
    fx_put(&b, "Remcos\0Connected to C&C\0Keylogger Started\0", 43);
    mc_engine *e = engine_new(MD_FMT_RAW);
    mc_input_result res;
    double t0 = mc_now();
    ck_assert_int_eq(scan(e, b.p, b.len, &res), MC_INPUT_OK);
    ck_assert_msg(mc_now() - t0 < 30, "match explosion took %.1f s", mc_now() - t0);
    ck_assert_uint_le(res.nhits, (size_t)MC_MAX_HITS_PER_RULE * 8);
    ck_assert_msg(res.partial, "the per-rule cap was hit silently");
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

/* Item 14: an unbuilt builder stub is flagged as a template and carries no IOCs. */
START_TEST(item14_builder_stub)
{
    fx_buf b;
    load_fixture("quasartemplate.exe", &b);
    mc_engine *e = engine_new(MD_FMT_RAW);
    mc_input_result res;
    ck_assert_int_eq(scan(e, b.p, b.len, &res), MC_INPUT_OK);
    const json_t *r = config_of(&res, "quasar");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "template");
    const json_t *cfg = json_object_get(r, "config");
    ck_assert_ptr_null(json_object_get(cfg, "tcp"));
    ck_assert_ptr_null(json_object_get(cfg, "http"));
    mc_input_result_clear(&res);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

/* ---------------------------------------------------------------- output level (15) */

static char *render(const char *fmt, json_t *rec, int defang)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    mc_output_opts o = {.defang = defang};
    mc_writer *w = mc_writer_new(fmt, fp, &o);
    ck_assert_ptr_nonnull(w);
    mc_input_result res = {.status = MC_INPUT_OK, .records = &rec, .nrecords = 1,
                           .input = json_pack("{s:s}", "path", "x")};
    ck_assert_int_eq(mc_writer_input(w, "x", &res), 0);
    ck_assert_int_eq(mc_writer_finish(w), 0);
    mc_writer_free(w);
    fclose(fp);
    json_decref(res.input);
    return buf;
}

/* Item 15: control characters, invalid UTF-8, lone surrogates, NULs and a megabyte "string". */
START_TEST(item15_output_hostility)
{
    mc_results *r = mc_results_new();
    mc_config *c = mc_cfg_new(r, "quasar", BASE);
    static const char hostile[] = "\x1b[2J\x07mu\xed\xa0\x80tex\xff\xe2\x80\xae\\x41";
    ck_assert(mc_cfg_str(c, MC_F_MUTEX, hostile, mc_at(BASE, MC_FORM_PLAINTEXT)));
    size_t big = 1u << 20;
    char *mb = malloc(big + 1);
    memset(mb, 'A', big);
    mb[big] = 0;
    mc_cfg_str(c, MC_F_CAMPAIGN_ID, mb, mc_at(BASE, MC_FORM_PLAINTEXT));
    mc_cfg_url(c, mb, "http", "c2", NULL, mc_at(BASE, MC_FORM_PLAINTEXT));
    mc_cfg_conn(c, "c2.example", 443, false, "c2", mc_at(BASE, MC_FORM_PLAINTEXT));
    for (unsigned i = 0; i < MC_CFG_MAX_ENTRIES + 10; i++) {
        char v[32];
        snprintf(v, sizeof v, "m%u", i);
        mc_cfg_str(c, MC_F_DECODED_STRINGS, v, mc_at(0, MC_FORM_UNKNOWN));
    }
    free(mb);
    const json_t *cfg = mc_cfg_json(c);
    const char *camp = json_string_value(json_array_get(json_object_get(cfg, "campaign_id"), 0));
    ck_assert_uint_le(strlen(camp), MC_CFG_MAX_VALUE);
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "decoded_strings")), MC_CFG_MAX_ENTRIES);
    ck_assert_ptr_null(json_object_get(cfg, "http"));
    const char *mutex = json_string_value(json_array_get(json_object_get(cfg, "mutex"), 0));
    ck_assert_str_eq(mutex, "\x1b[2J\x07mu\\xED\\xA0\\x80tex\\xFF\xe2\x80\xae\\\\x41");

    md_open_opts o = {.force_format = MD_FMT_RAW, .raw_base = BASE, .has_raw_base = true};
    static const uint8_t page[64];
    md_dump *d = NULL;
    char err[64];
    ck_assert_int_eq(md_open_mem(page, sizeof page, &o, &d, err, sizeof err), MD_OK);
    json_t *tool = mc_tool_block(NULL), *input = json_object(), *rules = json_array();
    json_t *rec = mc_record_from_config(c, d, mc_decoder_find("quasar"), tool, input, rules, NULL);
    ck_assert_ptr_nonnull(rec);
    int limits = 0;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(rec, "warnings"), i, w)
        limits += strncmp(json_string_value(w), "limit:", 6) == 0;
    ck_assert_int_ge(limits, 2);   /* the cut values and the full list */

    char *nd = render("ndjson", rec, 0), *text = render("text", rec, -1);
    json_error_t je;
    json_t *back = json_loads(nd, JSON_DISABLE_EOF_CHECK, &je);
    ck_assert_msg(back != NULL, "ndjson does not parse: %s", je.text);
    ck_assert_ptr_null(strchr(nd, '\x1b'));        /* JSON escapes control characters */
    ck_assert_ptr_null(strchr(text, '\x1b'));      /* so does the text writer */
    ck_assert_ptr_null(strstr(text, "\xe2\x80\xae"));
    ck_assert_ptr_nonnull(strstr(text, "c2[.]example"));
    json_decref(back);
    free(nd);
    free(text);
    json_decref(rec);
    json_decref(tool), json_decref(input), json_decref(rules);
    md_close(d);
    mc_results_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostile_catalogue");
    TCase *tc = tcase_create("catalogue");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, item01_huge_counts);
    tcase_add_test(tc, item02_offsets_past_eof);
    tcase_add_test(tc, item03_truncated_last_range);
    tcase_add_test(tc, item04_wrapping_ranges);
    tcase_add_test(tc, item05_wrong_container);
    tcase_add_test(tc, item06_decompression_cap);
    tcase_add_test(tc, item07_mapped_and_flat_layout);
    tcase_add_test(tc, item08_forged_headers_and_resource_cycles);
    tcase_add_test(tc, item09_dotnet_metadata_out_of_range);
    tcase_add_test(tc, item10_key_length_past_window);
    tcase_add_test(tc, item11_decompression_loops);
    tcase_add_test(tc, item12_pointer_cycles_and_depth);
    tcase_add_test(tc, item13_match_explosion);
    tcase_add_test(tc, item14_builder_stub);
    tcase_add_test(tc, item15_output_hostility);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
