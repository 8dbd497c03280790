/* The ECMA-335 metadata reader on real mcs-compiled assemblies (fixtures/dotnet), in flat and
 * mapped layout, and on hostile mutations of them. */
#include "fixtures/fx.h"
#include "lib/mc_dotnet.h"
#include "md_internal.h"
#include "tdump.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BASE 0x10000000ull

static const uint8_t salt[32] = {
    0xBF, 0xEB, 0x1E, 0x56, 0xFB, 0xCD, 0x97, 0x3B, 0xB2, 0x19, 0x02, 0x24, 0x30, 0xA5, 0x78, 0x43,
    0x00, 0x3D, 0x56, 0x44, 0xD2, 0x1E, 0x62, 0xB9, 0xD4, 0xF1, 0x80, 0xE7, 0xE6, 0xC3, 0x39, 0x41};

static uint32_t find_type(const mc_dotnet *dn, const char *ns, const char *name)
{
    for (uint32_t r = 1; r <= mc_dn_rows(dn, MC_DN_T_TYPEDEF); r++) {
        mc_dn_typedef td;
        ck_assert_int_eq(mc_dn_get_typedef(dn, r, &td), MC_DN_OK);
        if (strcmp(td.ns, ns) == 0 && strcmp(td.name, name) == 0) return r;
    }
    return 0;
}

/* Walks Quasar 1.4's Settings .cctor and the salt initialiser; the same checks in either layout. */
static void check_quasar14(const md_dump *d, md_layout hint, md_layout want)
{
    mc_dotnet *dn = NULL;
    ck_assert_int_eq(mc_dn_open_at(d, BASE, hint, &dn), MC_DN_OK);
    ck_assert_int_eq(dn->layout, want);
    ck_assert_str_eq(dn->runtime, "v4.0.30319");
    ck_assert_uint_gt(dn->us.size, 0);

    uint32_t settings = find_type(dn, "Quasar.Client.Config", "Settings");
    ck_assert_uint_ne(settings, 0);
    uint32_t cctor = mc_dn_find_method(dn, settings, ".cctor");
    ck_assert_uint_ne(cctor, 0);
    mc_dn_body b;
    ck_assert_int_eq(mc_dn_get_body(dn, cctor, &b), MC_DN_OK);
    mc_dn_item items[64];
    size_t n = mc_dn_scan_items(b.code, b.len, items, 64);

    size_t nstr = 0, nint = 0;
    char text[512], key[64] = "";
    bool saw_folder = false, saw_delay = false;
    for (size_t i = 0; i < n; i++) {
        mc_dn_field f;
        ck_assert_int_eq(mc_dn_get_field(dn, items[i].field, &f), MC_DN_OK);
        ck_assert_uint_eq(mc_dn_field_owner(dn, items[i].field), settings);
        if (items[i].kind == MC_DN_ITEM_STR) {
            uint64_t va;
            nstr++;
            ck_assert_int_eq(mc_dn_us_utf8(dn, items[i].us_token, text, sizeof text, &va), MC_DN_OK);
            /* The VA points at the entry's length prefix: 2 * chars + 1. */
            uint8_t pre;
            ck_assert(md_read_u8(d, va, &pre));
            ck_assert_uint_eq(pre & 0x80 ? 0 : pre, pre & 0x80 ? 0 : 2 * strlen(text) + 1);
            if (strcmp(f.name, "ENCRYPTIONKEY") == 0) strcpy(key, text);
            if (nstr == 1) ck_assert_str_eq(f.name, "VERSION");
        } else if (items[i].kind == MC_DN_ITEM_INT) {
            uint8_t elem;
            const char *tn;
            nint++;
            ck_assert_int_eq(mc_dn_field_type(dn, items[i].field, &elem, &tn), MC_DN_OK);
            if (strcmp(f.name, "SPECIALFOLDER") == 0) {
                saw_folder = true;
                ck_assert_uint_eq(elem, 0x11);
                ck_assert_str_eq(tn, "SpecialFolder");
                ck_assert_int_eq(items[i].ival, 26);
                ck_assert_uint_eq(items[i].int_form, 1);
            } else if (strcmp(f.name, "RECONNECTDELAY") == 0) {
                saw_delay = true;
                ck_assert_uint_eq(elem, 0x08);
                ck_assert_int_eq(items[i].ival, 3000);
            } else {
                ck_assert_uint_eq(elem, 0x02);
            }
        }
    }
    ck_assert_uint_eq(nstr, 11);   /* mcs loads the "" of INSTALLPATH/LOGSPATH as String.Empty */
    ck_assert_uint_eq(nint, 9);    /* 7 bools, the delay, the special folder */
    ck_assert(saw_folder && saw_delay);
    ck_assert_str_eq(key, "0C3F9A7D21B4E58C6A0F1D2E3B4C5D6E7F801234");
    mc_dn_body_free(&b);

    /* The salt: newarr + InitializeArray from a FieldRVA row. */
    uint32_t aes = find_type(dn, "Quasar.Common.Cryptography", "Aes256");
    ck_assert_uint_ne(aes, 0);
    ck_assert_int_eq(mc_dn_get_body(dn, mc_dn_find_method(dn, aes, ".cctor"), &b), MC_DN_OK);
    n = mc_dn_scan_items(b.code, b.len, items, 64);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(items[0].kind, MC_DN_ITEM_BYTES);
    ck_assert_int_eq(items[0].ival, 32);
    uint8_t got[32];
    uint64_t va;
    ck_assert_int_eq(mc_dn_field_data(dn, items[0].data_field, got, 32, &va), MC_DN_OK);
    ck_assert_mem_eq(got, salt, 32);
    mc_dn_body_free(&b);
    mc_dn_close(dn);
}

START_TEST(flat_layout)
{
    size_t len;
    uint8_t *f = td_load("quasar14.exe", &len);
    md_dump *d = tu_open_raw(f, len, BASE);
    check_quasar14(d, MD_LAYOUT_MAPPED, MD_LAYOUT_FLAT);   /* a wrong hint is corrected */
    check_quasar14(d, MD_LAYOUT_FLAT, MD_LAYOUT_FLAT);
    md_close(d);
    free(f);
}
END_TEST

START_TEST(mapped_layout)
{
    size_t len;
    uint8_t *f = td_load("quasar14.exe", &len);
    fx_buf m;
    fx_buf_init(&m);
    fx_pe_map(f, len, &m);
    md_dump *d = tu_open_raw(m.p, m.len, BASE);
    check_quasar14(d, MD_LAYOUT_FLAT, MD_LAYOUT_MAPPED);
    check_quasar14(d, MD_LAYOUT_MAPPED, MD_LAYOUT_MAPPED);
    md_close(d);
    fx_buf_free(&m);
    free(f);
}
END_TEST

START_TEST(every_fixture_walks)
{
    static const char *const names[] = {"quasar12.exe", "quasar13.exe", "quasar14.exe",
        "quasarfork.exe", "quasartemplate.exe", "lookalike.exe"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t len;
        uint8_t *f = td_load(names[k], &len);
        md_dump *d = tu_open_raw(f, len, BASE);
        mc_dotnet *dn;
        ck_assert_int_eq(mc_dn_open_at(d, BASE, MD_LAYOUT_FLAT, &dn), MC_DN_OK);
        size_t bodies = 0;
        for (uint32_t r = 1; r <= mc_dn_rows(dn, MC_DN_T_METHODDEF); r++) {
            mc_dn_body b;
            if (mc_dn_get_body(dn, r, &b) != MC_DN_OK) continue;
            mc_dn_insn in;
            uint32_t pos = 0;
            while (mc_dn_next_insn(b.code, b.len, &pos, &in)) {}
            ck_assert_uint_eq(pos, b.len);   /* the decoder stays in step to the last byte */
            bodies++;
            mc_dn_body_free(&b);
        }
        ck_assert_uint_gt(bodies, 3);
        mc_dn_close(dn);
        md_close(d);
        free(f);
    }
}
END_TEST

/* ---- hostile mutations ---- */

typedef struct layout_info {
    size_t md_off, tables_off, strings_off, us_off;
    size_t stream_hdr[8]; size_t nstreams;
} layout_info;

static layout_info locate(const uint8_t *f, size_t len)
{
    md_dump *d = tu_open_raw(f, len, BASE);
    mc_dotnet *dn;
    ck_assert_int_eq(mc_dn_open_at(d, BASE, MD_LAYOUT_FLAT, &dn), MC_DN_OK);
    layout_info li = {0};
    li.md_off = dn->md_va - BASE;
    li.tables_off = li.md_off + dn->tables.off;
    li.strings_off = li.md_off + dn->strings.off;
    li.us_off = li.md_off + dn->us.off;
    /* Stream headers follow the version string. */
    uint32_t vlen = md_le32(f + li.md_off + 12);
    size_t p = li.md_off + 16 + ((vlen + 3) & ~3u);
    li.nstreams = md_le16(f + p + 2);
    p += 4;
    for (size_t i = 0; i < li.nstreams && i < 8; i++) {
        li.stream_hdr[i] = p;
        p += 8 + ((strlen((const char *)f + p + 8) + 1 + 3) & ~3u);
    }
    mc_dn_close(dn);
    md_close(d);
    return li;
}

static mc_dn_err open_mutated(const uint8_t *f, size_t len, mc_dotnet **dn, md_dump **d)
{
    *d = tu_open_raw(f, len, BASE);
    return mc_dn_open_at(*d, BASE, MD_LAYOUT_FLAT, dn);
}

START_TEST(lying_stream_size)
{
    size_t len;
    uint8_t *f = td_load("quasar14.exe", &len);
    layout_info li = locate(f, len);
    for (size_t i = 0; i < li.nstreams; i++) {
        uint8_t *g = malloc(len);
        memcpy(g, f, len);
        uint32_t big = 0x7FFFFFF0u;
        memcpy(g + li.stream_hdr[i] + 4, &big, 4);
        mc_dotnet *dn;
        md_dump *d;
        ck_assert_int_eq(open_mutated(g, len, &dn, &d), MC_DN_E_STREAM);
        ck_assert_ptr_null(dn);
        md_close(d);
        free(g);
    }
    free(f);
}
END_TEST

START_TEST(lying_row_count)
{
    size_t len;
    uint8_t *f = td_load("quasar14.exe", &len);
    layout_info li = locate(f, len);
    /* The first row count (Module) sits at offset 24 of #~; make it exceed the stream. */
    uint8_t *g = malloc(len);
    memcpy(g, f, len);
    uint32_t rows = 0x00100000;
    memcpy(g + li.tables_off + 24, &rows, 4);
    mc_dotnet *dn;
    md_dump *d;
    ck_assert_int_eq(open_mutated(g, len, &dn, &d), MC_DN_E_TABLES);
    md_close(d);
    rows = 0xFFFFFFFFu;   /* beyond the row cap */
    memcpy(g + li.tables_off + 24, &rows, 4);
    ck_assert_int_eq(open_mutated(g, len, &dn, &d), MC_DN_E_TABLES);
    md_close(d);
    free(g);
    free(f);
}
END_TEST

START_TEST(bad_heap_indexes)
{
    size_t len;
    uint8_t *f = td_load("quasar14.exe", &len);
    md_dump *d = tu_open_raw(f, len, BASE);
    mc_dotnet *dn;
    ck_assert_int_eq(mc_dn_open_at(d, BASE, MD_LAYOUT_FLAT, &dn), MC_DN_OK);
    const uint8_t *w;
    uint32_t nb;
    char buf[64];
    ck_assert_int_eq(mc_dn_us(dn, 0x70000000u | dn->us.size, &w, &nb, NULL), MC_DN_E_INDEX);
    ck_assert_int_eq(mc_dn_us(dn, 0x70FFFFFFu, &w, &nb, NULL), MC_DN_E_INDEX);
    ck_assert_int_eq(mc_dn_us(dn, 0x04000001u, &w, &nb, NULL), MC_DN_E_ARG);
    ck_assert_int_eq(mc_dn_us_utf8(dn, 0x70000000u, buf, sizeof buf, NULL), MC_DN_E_INDEX);
    ck_assert_ptr_null(mc_dn_string(dn, dn->strings.size));
    ck_assert_ptr_null(mc_dn_string(dn, 0xFFFFFFFFu));
    const uint8_t *bp;
    uint32_t bl;
    ck_assert_int_eq(mc_dn_blob(dn, dn->blob.size + 5, &bp, &bl), MC_DN_E_INDEX);
    mc_dn_field fld;
    ck_assert_int_eq(mc_dn_get_field(dn, 0, &fld), MC_DN_E_INDEX);
    ck_assert_int_eq(mc_dn_get_field(dn, mc_dn_rows(dn, MC_DN_T_FIELD) + 1, &fld), MC_DN_E_INDEX);
    mc_dn_body b;
    ck_assert_int_eq(mc_dn_get_body(dn, 0xFFFFFF, &b), MC_DN_E_INDEX);
    uint8_t out[8];
    ck_assert_int_eq(mc_dn_field_data(dn, 1, out, 8, NULL), MC_DN_E_INDEX);  /* no FieldRVA row */
    mc_dn_close(dn);
    md_close(d);

    /* A #Strings index past the heap in the first Field row: the name reads as "". */
    layout_info li = locate(f, len);
    uint8_t *g = malloc(len);
    memcpy(g, f, len);
    md_dump *d2;
    ck_assert_int_eq(open_mutated(g, len, &dn, &d2), MC_DN_OK);
    size_t field_row1 = li.md_off + dn->table_off[MC_DN_T_FIELD];
    mc_dn_close(dn);
    md_close(d2);
    g[field_row1 + 2] = 0xFF;
    g[field_row1 + 3] = 0xFF;
    ck_assert_int_eq(open_mutated(g, len, &dn, &d2), MC_DN_OK);
    ck_assert_int_eq(mc_dn_get_field(dn, 1, &fld), MC_DN_OK);
    ck_assert_str_eq(fld.name, "");
    mc_dn_close(dn);
    md_close(d2);
    free(g);
    free(f);
}
END_TEST

START_TEST(lying_headers)
{
    size_t len;
    uint8_t *f = td_load("quasar14.exe", &len);
    uint8_t *g = malloc(len);
    mc_dotnet *dn;
    md_dump *d;
    uint32_t lfanew = md_le32(f + 0x3C), opt = lfanew + 24;
    uint32_t dir14 = opt + 96 + 14 * 8;

    memcpy(g, f, len);
    memset(g + dir14, 0, 8);
    ck_assert_int_eq(open_mutated(g, len, &dn, &d), MC_DN_E_NOCLR);
    md_close(d);

    memcpy(g, f, len);
    g[lfanew] = 'X';
    ck_assert_int_eq(open_mutated(g, len, &dn, &d), MC_DN_E_PE);
    md_close(d);

    /* Metadata size in the CLI header beyond the cap, then beyond the image. */
    layout_info li = locate(f, len);
    uint32_t clr_rva = md_le32(f + dir14);
    uint64_t cli_va;
    ck_assert_int_eq(open_mutated(f, len, &dn, &d), MC_DN_OK);
    ck_assert(mc_dn_rva_to_va(dn, clr_rva, &cli_va));
    mc_dn_close(dn);
    md_close(d);
    size_t cli_off = (size_t)(cli_va - BASE);
    ck_assert_uint_eq(md_le32(f + cli_off), 72);
    memcpy(g, f, len);
    uint32_t huge = MC_DN_MAX_METADATA + 1;
    memcpy(g + cli_off + 12, &huge, 4);
    ck_assert_int_eq(open_mutated(g, len, &dn, &d), MC_DN_E_LIMIT);
    md_close(d);
    huge = (uint32_t)len;
    memcpy(g + cli_off + 12, &huge, 4);
    ck_assert_int_eq(open_mutated(g, len, &dn, &d), MC_DN_E_ROOT);
    md_close(d);

    /* Truncated image: the metadata is cut off. */
    ck_assert_int_eq(open_mutated(f, li.md_off + 64, &dn, &d), MC_DN_E_ROOT);
    md_close(d);
    free(g);
    free(f);
}
END_TEST

START_TEST(random_mutations)
{
    size_t len;
    uint8_t *f = td_load("quasar13.exe", &len);
    layout_info li = locate(f, len);
    uint8_t *g = malloc(len);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    size_t opened = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(g, f, len);
        for (int k = 0; k < 8; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t off = li.md_off + (size_t)(x % (len - li.md_off));
            g[off] = (uint8_t)(x >> 32);
        }
        mc_dotnet *dn;
        md_dump *d;
        if (open_mutated(g, len, &dn, &d) == MC_DN_OK) {
            opened++;
            for (uint32_t t = 1; t <= mc_dn_rows(dn, MC_DN_T_TYPEDEF); t++) {
                mc_dn_typedef td;
                if (mc_dn_get_typedef(dn, t, &td) != MC_DN_OK) continue;
                for (uint32_t p = td.method_first; p < td.method_end; p++) {
                    mc_dn_body b;
                    if (mc_dn_get_body(dn, mc_dn_method_at(dn, p), &b) != MC_DN_OK) continue;
                    mc_dn_item items[64];
                    size_t n = mc_dn_scan_items(b.code, b.len, items, 64);
                    for (size_t i = 0; i < n; i++) {
                        char s[256];
                        uint8_t elem, data[64];
                        const char *tn;
                        mc_dn_us_utf8(dn, items[i].us_token, s, sizeof s, NULL);
                        mc_dn_field_type(dn, items[i].field, &elem, &tn);
                        mc_dn_field_data(dn, items[i].data_field, data, sizeof data, NULL);
                    }
                    mc_dn_body_free(&b);
                }
            }
            mc_dn_close(dn);
        }
        md_close(d);
    }
    ck_assert_uint_gt(opened, 0);
    free(g);
    free(f);
}
END_TEST

/* mc_dn_field_owner as it was first written: every TypeDef's field list walked position by
 * position (TypeDefs x Fields on lying lists), the reference the range test must agree with. */
static uint32_t owner_by_walk(const mc_dotnet *dn, uint32_t field_row)
{
    for (uint32_t r = 1; r <= mc_dn_rows(dn, MC_DN_T_TYPEDEF); r++) {
        mc_dn_typedef td;
        if (mc_dn_get_typedef(dn, r, &td) != MC_DN_OK) return 0;
        for (uint32_t pos = td.field_first; pos < td.field_end; pos++)
            if (mc_dn_field_at(dn, pos) == field_row) return r;
    }
    return 0;
}

/* Overwrites a cell of the open metadata copy (2- or 4-byte, as the tables were laid out). */
static void poke_cell(mc_dotnet *dn, unsigned table, uint32_t row, unsigned col, uint32_t v)
{
    uint8_t *p = dn->md + dn->table_off[table] + (size_t)(row - 1) * dn->row_size[table] +
                 dn->col_off[table][col];
    unsigned w = (unsigned)(dn->col_off[table][col + 1] - dn->col_off[table][col]);
    for (unsigned i = 0; i < w; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void check_owners(const mc_dotnet *dn, uint32_t nfields)
{
    for (uint32_t f = 0; f <= nfields + 1; f++)
        ck_assert_uint_eq(mc_dn_field_owner(dn, f), owner_by_walk(dn, f));
}

/* Field lists that lie (starts out of order, so lists overlap, past the table, zero), with and
 * without a FieldPtr table (laid over the #US heap of the copy, with repeated entries): the owner
 * is the one the position-by-position walk finds, for every field row. */
START_TEST(field_owner_lying_lists)
{
    size_t len;
    uint8_t *f = td_load("quasar14.exe", &len);
    mc_dotnet *dn;
    md_dump *d;
    ck_assert_int_eq(open_mutated(f, len, &dn, &d), MC_DN_OK);
    uint32_t ntypes = mc_dn_rows(dn, MC_DN_T_TYPEDEF), nfields = mc_dn_rows(dn, MC_DN_T_FIELD);
    ck_assert_uint_ge(ntypes, 4);
    ck_assert_uint_gt(nfields, 10);
    ck_assert_uint_ge(dn->us.size, 2 * nfields);
    check_owners(dn, nfields);
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (int round = 0; round < 40; round++) {
        for (uint32_t r = 1; r <= ntypes; r++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            poke_cell(dn, MC_DN_T_TYPEDEF, r, 4, (uint32_t)(x % (nfields + 3)));
        }
        bool ptr = round & 1;
        dn->rows[MC_DN_T_FIELDPTR] = ptr ? nfields : 0;
        dn->table_off[MC_DN_T_FIELDPTR] = dn->us.off;
        for (uint32_t p = 1; ptr && p <= nfields; p++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            poke_cell(dn, MC_DN_T_FIELDPTR, p, 0, (uint32_t)(x % (nfields + 2)));
        }
        check_owners(dn, nfields);
    }
    /* A field every slot of a FieldPtr table as long as the #US heap allows names. */
    uint32_t nptr = dn->us.size / 2;
    dn->rows[MC_DN_T_FIELDPTR] = nptr;
    for (uint32_t p = 1; p <= nptr; p++) poke_cell(dn, MC_DN_T_FIELDPTR, p, 0, 7);
    for (uint32_t r = 1; r <= ntypes; r++) poke_cell(dn, MC_DN_T_TYPEDEF, r, 4, 1 + r * 63 % nptr);
    check_owners(dn, nfields);
    ck_assert_uint_ne(mc_dn_field_owner(dn, 7), 0);
    mc_dn_close(dn);
    md_close(d);
    free(f);
}
END_TEST

START_TEST(il_decoder_bounds)
{
    /* switch with a count larger than the body, ldc.i4 cut short, a lone 0xFE prefix. */
    const uint8_t sw[] = {0x45, 0xFF, 0xFF, 0xFF, 0x0F, 0x00};
    const uint8_t cut[] = {0x20, 0x01, 0x02};
    const uint8_t fe[] = {0xFE};
    mc_dn_insn in;
    uint32_t pos = 0;
    ck_assert(!mc_dn_next_insn(sw, sizeof sw, &pos, &in));
    pos = 0;
    ck_assert(!mc_dn_next_insn(cut, sizeof cut, &pos, &in));
    pos = 0;
    ck_assert(mc_dn_next_insn(fe, sizeof fe, &pos, &in));
    ck_assert_uint_eq(pos, 1);
    /* ldstr; ldstr; call Concat; stsfld is a concatenation, not a config literal. */
    const uint8_t concat[] = {0x72, 1, 0, 0, 0x70, 0x72, 9, 0, 0, 0x70, 0x28, 1, 0, 0, 0x0A,
                              0x80, 1, 0, 0, 0x04, 0x72, 0x11, 0, 0, 0x70, 0x80, 2, 0, 0, 0x04};
    mc_dn_item items[4];
    size_t n = mc_dn_scan_items(concat, sizeof concat, items, 4);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(items[0].us_token, 0x70000011u);
    ck_assert_uint_eq(items[0].field, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dotnet");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, flat_layout);
    tcase_add_test(tc, mapped_layout);
    tcase_add_test(tc, every_fixture_walks);
    tcase_add_test(tc, lying_stream_size);
    tcase_add_test(tc, lying_row_count);
    tcase_add_test(tc, bad_heap_indexes);
    tcase_add_test(tc, lying_headers);
    tcase_add_test(tc, random_mutations);
    tcase_add_test(tc, il_decoder_bounds);
    tcase_add_test(tc, field_owner_lying_lists);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
