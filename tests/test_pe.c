/* PE reader for images in dumps: sections, layout-aware address translation, pointer rebasing,
 * and the resource directory (named and numeric keys, UTF-16 names, cycles, hostile counts). */
#include "lib/mc_pe.h"
#include "fixtures/fx.h"
#include "fixtures/fx_native.h"
#include "memdump.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_BASE 0x400000ull
#define LOAD_BASE 0x10000000ull

static const uint8_t SETTINGS_DATA[] = "settings-bytes";
static const uint8_t NUMERIC_DATA[] = "numeric-200";
static const uint8_t NAMED_DATA[] = "named-type";
static const uint8_t WIDE_DATA[] = "wide-name";

/* A native image built into img: code with an absolute pointer to a .rdata string, .data with
 * a pointer table, and resources under numeric and named types and names. */
static void native_image(bool mapped, uint64_t base, fx_buf *img)
{
    fx_native nat, *n = &nat;
    fx_native_init(n, false, IMAGE_BASE);
    fx_put(&n->rdata, "\0first string\0pointed-at string", 32);
    fx_x86_prologue(&n->text);
    fx_x86_push_imm32(&n->text, 0);
    n->fixups[n->nfixups++] = (fx_fixup){FX_SEC_TEXT, FX_SEC_RDATA, 4, 4, 14};
    fx_x86_ret(&n->text);
    fx_put_zeros(&n->data, 16);
    n->fixups[n->nfixups++] = (fx_fixup){FX_SEC_DATA, FX_SEC_RDATA, 4, 8, 1};
    n->res[n->nres++] = (fx_res){MC_RT_RCDATA, NULL, 0, "SETTINGS", 1033, SETTINGS_DATA, sizeof SETTINGS_DATA};
    n->res[n->nres++] = (fx_res){MC_RT_RCDATA, NULL, 200, NULL, 0, NUMERIC_DATA, sizeof NUMERIC_DATA};
    n->res[n->nres++] = (fx_res){0, "CUSTOM", 0, "ALPHA", 1049, NAMED_DATA, sizeof NAMED_DATA};
    n->res[n->nres++] = (fx_res){MC_RT_RCDATA, NULL, 0, "\xc3\x89T\xc3\x89", 1036, WIDE_DATA, sizeof WIDE_DATA};
    fx_buf_init(img);
    fx_native_build(n, mapped, base, img);   /* at base (mapped) or ImageBase-based (flat) */
    fx_native_free(n);
}

/* The process written as a minidump of this flavour into out, opened. */
static md_dump *open_process(const fx_process *p, unsigned flavour, fx_buf *out)
{
    fx_buf_init(out);
    fx_minidump(p, flavour, out);
    md_dump *d = NULL;
    char err[256];
    ck_assert_int_eq(md_open_mem(out->p, out->len, NULL, &d, err, sizeof err), MD_OK);
    return d;
}

/* The image among noise and heap regions in a minidump, as a process snapshot holds it. */
static md_dump *open_minidump(const fx_buf *img, uint64_t base, fx_buf *out)
{
    static uint8_t noise[0x3000], heap[0x2000];
    fx_fill_noise(noise, sizeof noise, 11);
    fx_fill_noise(heap, sizeof heap, 12);
    fx_region r[3] = {
        {0x00200000, noise, sizeof noise, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0},
        {base, img->p, img->len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, base},
        {0x7ff00000, heap, sizeof heap, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0},
    };
    fx_module m = {base, (uint32_t)img->len, "C:\\Users\\user\\AppData\\Local\\Temp\\sample.exe"};
    fx_process p = {1234, MD_ARCH_X86, r, 3, &m, 1};
    return open_process(&p, FX_MD_FULL, out);
}

static void check_sections(const mc_pe *pe)
{
    ck_assert_uint_eq(pe->nsections, 4);
    ck_assert_str_eq(pe->sect[0].name, ".text");
    ck_assert_str_eq(pe->sect[3].name, ".rsrc");
    ck_assert_ptr_nonnull(mc_pe_section_by_name(pe, ".rdata"));
    ck_assert_ptr_null(mc_pe_section_by_name(pe, ".reloc"));
    ck_assert_uint_eq(pe->image_base, IMAGE_BASE);
    ck_assert(!pe->pe64);
    ck_assert_uint_eq(pe->machine, 0x14c);
    ck_assert_uint_ne(pe->rsrc_rva, 0);
}

static void check_string_at(const md_dump *d, uint64_t va, const char *want)
{
    char s[64];
    ck_assert_int_eq(md_read_cstr(d, va, s, sizeof s), (long)strlen(want));
    ck_assert_str_eq(s, want);
}

/* The pointer in code resolves to the string whatever the layout and base. */
static void check_pointers(const mc_pe *pe)
{
    const mc_pe_section *text = mc_pe_section_by_name(pe, ".text");
    const mc_pe_section *data = mc_pe_section_by_name(pe, ".data");
    uint64_t va, target;
    uint32_t ptr;
    ck_assert(mc_pe_rva_to_va(pe, text->rva + 4, &va));
    ck_assert(md_read_u32(pe->dump, va, &ptr));
    ck_assert(mc_pe_ptr_to_va(pe, ptr, &target));
    check_string_at(pe->dump, target, "pointed-at string");
    ck_assert(mc_pe_rva_to_va(pe, data->rva + 8, &va));
    ck_assert(md_read_u32(pe->dump, va, &ptr));
    ck_assert(mc_pe_ptr_to_va(pe, ptr, &target));
    check_string_at(pe->dump, target, "first string");
    ck_assert(!mc_pe_ptr_to_va(pe, 0x1234, &target));
    ck_assert(!mc_pe_ptr_to_va(pe, pe->image_base + pe->size_of_image + 0x10000, &target));
}

static void check_rva_roundtrip(const mc_pe *pe)
{
    for (uint32_t i = 0; i < pe->nsections; i++) {
        uint64_t va;
        uint32_t rva;
        ck_assert(mc_pe_rva_to_va(pe, pe->sect[i].rva + 3, &va));
        ck_assert(mc_pe_va_to_rva(pe, va, &rva));
        ck_assert_uint_eq(rva, pe->sect[i].rva + 3);
        if (pe->layout == MD_LAYOUT_MAPPED) ck_assert_uint_eq(va, pe->base + pe->sect[i].rva + 3);
        else ck_assert_uint_eq(va, pe->base + pe->sect[i].raw_off + 3);
    }
    uint64_t va;
    uint32_t rva;
    ck_assert(!mc_pe_rva_to_va(pe, pe->size_of_image + 5, &va));
    ck_assert(!mc_pe_va_to_rva(pe, pe->base - 1, &rva));
}

static void check_res_data(const mc_pe *pe, const mc_pe_res *r, const uint8_t *want, size_t n)
{
    uint8_t buf[64];
    ck_assert_uint_eq(r->size, n);
    ck_assert_uint_eq(md_read(pe->dump, r->va, buf, n), n);
    ck_assert_mem_eq(buf, want, n);
}

static bool count_cb(const mc_pe_res *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return true;
}

static void check_resources(const mc_pe *pe)
{
    mc_pe_res r;
    ck_assert(mc_pe_res_find(pe, MC_RT_RCDATA, NULL, 0, "SETTINGS", &r));
    check_res_data(pe, &r, SETTINGS_DATA, sizeof SETTINGS_DATA);
    ck_assert_uint_eq(r.lang, 1033);
    ck_assert(mc_pe_res_find(pe, MC_RT_RCDATA, NULL, 0, "settings", &r));   /* FindResource folds case */
    ck_assert(mc_pe_res_find(pe, MC_RT_RCDATA, NULL, 200, NULL, &r));
    check_res_data(pe, &r, NUMERIC_DATA, sizeof NUMERIC_DATA);
    ck_assert(mc_pe_res_find(pe, 0, "CUSTOM", 0, "ALPHA", &r));
    check_res_data(pe, &r, NAMED_DATA, sizeof NAMED_DATA);
    ck_assert(r.type.named);
    ck_assert_uint_eq(r.lang, 1049);
    ck_assert(mc_pe_res_find(pe, MC_RT_RCDATA, NULL, 0, "\xc3\x89T\xc3\x89", &r));
    check_res_data(pe, &r, WIDE_DATA, sizeof WIDE_DATA);
    ck_assert(!mc_pe_res_find(pe, MC_RT_RCDATA, NULL, 0, "MISSING", &r));
    ck_assert(!mc_pe_res_find(pe, MC_RT_ICON, NULL, 0, NULL, &r));
    int n = 0;
    mc_pe_res_stats st;
    ck_assert(mc_pe_res_walk(pe, count_cb, &n, &st));
    ck_assert_int_eq(n, 4);
    ck_assert(!st.cycle && !st.capped && !st.bad);
}

static void check_image(const md_dump *d, uint64_t base, md_layout layout)
{
    mc_pe pe;
    ck_assert(mc_pe_open_at(&pe, d, base, layout));
    ck_assert_uint_eq(pe.base, base);
    check_sections(&pe);
    check_rva_roundtrip(&pe);
    check_pointers(&pe);
    check_resources(&pe);
}

START_TEST(mapped_relocated_raw)
{
    fx_buf img;
    native_image(true, LOAD_BASE, &img);
    md_dump *d = tu_open_raw(img.p, img.len, LOAD_BASE);
    check_image(d, LOAD_BASE, MD_LAYOUT_MAPPED);
    md_close(d);
    fx_buf_free(&img);
}
END_TEST

/* A flat copy keeps ImageBase-based pointers and puts sections at their file offsets. */
START_TEST(flat_raw)
{
    fx_buf img;
    native_image(false, IMAGE_BASE, &img);
    md_dump *d = tu_open_raw(img.p, img.len, 0x02340000);
    check_image(d, 0x02340000, MD_LAYOUT_FLAT);
    md_close(d);
    fx_buf_free(&img);
}
END_TEST

/* Mapped at another base but never relocated: pointers still say ImageBase. */
START_TEST(mapped_unrelocated)
{
    fx_buf img;
    native_image(true, IMAGE_BASE, &img);
    md_dump *d = tu_open_raw(img.p, img.len, LOAD_BASE);
    check_image(d, LOAD_BASE, MD_LAYOUT_MAPPED);
    md_close(d);
    fx_buf_free(&img);
}
END_TEST

/* Through the memdump image finder, in a minidump with other regions around. */
START_TEST(minidump_image)
{
    fx_buf img, dump;
    native_image(true, LOAD_BASE, &img);
    md_dump *d = open_minidump(&img, LOAD_BASE, &dump);
    const md_image *mi = md_image_at(d, LOAD_BASE + 0x1000);
    ck_assert_ptr_nonnull(mi);
    ck_assert_uint_eq(mi->base, LOAD_BASE);
    mc_pe pe;
    ck_assert(mc_pe_open(&pe, d, mi));
    check_sections(&pe);
    check_pointers(&pe);
    check_resources(&pe);
    md_close(d);
    fx_buf_free(&dump);
    fx_buf_free(&img);
}
END_TEST

START_TEST(not_a_pe)
{
    fx_buf img;
    mc_pe pe;
    native_image(true, LOAD_BASE, &img);
    md_dump *d = tu_open_raw(img.p, img.len, LOAD_BASE);
    ck_assert(!mc_pe_open_at(&pe, d, LOAD_BASE + 0x1000, MD_LAYOUT_MAPPED));
    ck_assert(!mc_pe_open_at(&pe, d, LOAD_BASE + img.len - 0x10, MD_LAYOUT_MAPPED));
    ck_assert(!mc_pe_open_at(&pe, d, 0x1000, MD_LAYOUT_MAPPED));
    ck_assert(!mc_pe_open(&pe, d, NULL));
    md_close(d);
    fx_wipe_headers(&img);
    d = tu_open_raw(img.p, img.len, LOAD_BASE);
    ck_assert(!mc_pe_open_at(&pe, d, LOAD_BASE, MD_LAYOUT_MAPPED));
    md_close(d);
    /* e_lfanew pointing past the bytes read */
    fx_buf_free(&img);
    native_image(true, LOAD_BASE, &img);
    fx_set_u32(&img, 0x3c, 0x7ffffff0);
    d = tu_open_raw(img.p, img.len, LOAD_BASE);
    ck_assert(!mc_pe_open_at(&pe, d, LOAD_BASE, MD_LAYOUT_MAPPED));
    md_close(d);
    fx_buf_free(&img);
}
END_TEST

/* ---- hand-made hostile resource sections ---- */

#define RSRC_RVA 0x2000u

static void w16(uint8_t *p, uint32_t at, uint16_t v) { p[at] = (uint8_t)v; p[at + 1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t at, uint32_t v) { w16(p, at, (uint16_t)v); w16(p, at + 2, (uint16_t)(v >> 16)); }
static void dir(uint8_t *p, uint32_t at, uint16_t named, uint16_t ids) { memset(p + at, 0, 16); w16(p, at + 12, named); w16(p, at + 14, ids); }
static void ent(uint8_t *p, uint32_t dir_at, uint32_t i, uint32_t name, uint32_t target)
{
    w32(p, dir_at + 16 + 8 * i, name);
    w32(p, dir_at + 20 + 8 * i, target);
}

/* A PE at IMAGE_BASE with these sections and a resource directory of len bytes at RSRC_RVA. */
static void rsrc_image(const fx_section *sect, size_t n, uint32_t len, bool mapped, fx_buf *img)
{
    fx_pe pe;
    memset(&pe, 0, sizeof pe);
    pe.image_base = IMAGE_BASE;
    pe.sections = sect;
    pe.nsections = n;
    pe.dirs[0].index = 2;
    pe.dirs[0].rva = RSRC_RVA;
    pe.dirs[0].size = len;
    pe.ndirs = 1;
    fx_buf_init(img);
    fx_pe_build(&pe, mapped, img);
}

static md_dump *image_with_rsrc(const uint8_t *rsrc, uint32_t len, fx_buf *img)
{
    static const uint8_t code[16] = {0xC3};
    fx_section s[2] = {
        {".text", 0x1000, sizeof code, code, sizeof code, 0x60000020},
        {".rsrc", RSRC_RVA, len, rsrc, len, 0x40000040},
    };
    rsrc_image(s, 2, len, true, img);
    return tu_open_raw(img->p, img->len, LOAD_BASE);
}

static int walk_hostile(const uint8_t *rsrc, uint32_t len, mc_pe_res_stats *st)
{
    fx_buf img;
    mc_pe pe;
    int n = 0;
    md_dump *d = image_with_rsrc(rsrc, len, &img);
    ck_assert(mc_pe_open_at(&pe, d, LOAD_BASE, MD_LAYOUT_MAPPED));
    mc_pe_res_walk(&pe, count_cb, &n, st);
    md_close(d);
    fx_buf_free(&img);
    return n;
}

/* One good leaf (type 10 / id 1 / lang 0) plus entries that loop back to the root and to the
 * type directory. */
START_TEST(res_cycles)
{
    uint8_t r[0x200];
    memset(r, 0, sizeof r);
    dir(r, 0x00, 0, 2);
    ent(r, 0x00, 0, 10, 0x80000000u | 0x20);
    ent(r, 0x00, 1, 11, 0x80000000u | 0x00);      /* root -> root */
    dir(r, 0x20, 0, 2);
    ent(r, 0x20, 0, 1, 0x80000000u | 0x40);
    ent(r, 0x20, 1, 2, 0x80000000u | 0x20);       /* name level -> itself */
    dir(r, 0x40, 0, 2);
    ent(r, 0x40, 0, 0, 0x80);
    ent(r, 0x40, 1, 0, 0x80000000u | 0x00);       /* language level -> root */
    w32(r, 0x80, RSRC_RVA + 0x100);
    w32(r, 0x84, 4);
    memcpy(r + 0x100, "DATA", 4);
    mc_pe_res_stats st;
    ck_assert_int_eq(walk_hostile(r, sizeof r, &st), 1);
    ck_assert(st.cycle);
    ck_assert(st.capped);     /* the language-level directory entry */
    ck_assert_uint_le(st.dirs, 3);
}
END_TEST

/* Counts far beyond the section, names pointing nowhere, data RVAs outside the image. */
START_TEST(res_hostile_counts)
{
    uint8_t r[0x100];
    memset(r, 0, sizeof r);
    dir(r, 0x00, 0xffff, 0xffff);
    ent(r, 0x00, 0, 0x80000000u | 0x7ffffff0u, 0x80000000u | 0x30);
    ent(r, 0x00, 1, 10, 0x80000000u | 0x7fffff00u);
    dir(r, 0x30, 0, 1);
    ent(r, 0x30, 0, 0x80000000u | 0xF8, 0x80000000u | 0x50);   /* name length runs off */
    w16(r, 0xF8, 0xffff);
    dir(r, 0x50, 0, 2);
    ent(r, 0x50, 0, 0, 0x70);
    ent(r, 0x50, 1, 0, 0x7ffffff0u);
    w32(r, 0x70, 0x7fff0000u);
    w32(r, 0x74, 0x10);
    mc_pe_res_stats st;
    ck_assert_int_eq(walk_hostile(r, sizeof r, &st), 0);
    ck_assert(st.bad);
}
END_TEST

/* A directory with the maximum entry count, all pointing at the same subdirectory. */
START_TEST(res_entry_cap)
{
    uint32_t len = 16 + 8 * 0x1ffffu + 64;
    uint8_t *r = calloc(1, len);
    ck_assert_ptr_nonnull(r);
    dir(r, 0, 0xffff, 0xffff);
    uint32_t sub = 16 + 8 * 0x1ffffu;
    for (uint32_t i = 0; i < 0x1ffffu; i++) ent(r, 0, i, i & 0xffff, 0x80000000u | sub);
    dir(r, sub, 0, 0);
    mc_pe_res_stats st;
    ck_assert_int_eq(walk_hostile(r, len, &st), 0);
    ck_assert(st.capped);
    ck_assert(st.cycle);
    free(r);
}
END_TEST

/* Overlapping directories (found by fuzz_pe): every 16 bytes is a directory, and the 8-byte cells
 * all of them share as entries point at other directories, in descending order, so the root
 * opens a fresh directory per entry and each reads thousands of entries that loop back. A cycle
 * check by linear search made this walk cost ~1e9 compares; the walk now reads at most
 * MC_PE_RES_MAX_WALK entries (tests/data/regress/fuzz_pe/crash-res-mesh is the fuzz input). */
START_TEST(res_walk_cap)
{
    uint32_t span = 0x4000, len = 0xC100;
    uint8_t *r = calloc(1, len);
    ck_assert_ptr_nonnull(r);
    for (uint32_t p = 0; p < len; p += 8) {
        w32(r, p, (p / 8) & 0xffff);
        w32(r, p + 4, 0x80000000u | (p < span ? span - 16 - (p / 16) * 16 : 0));
    }
    mc_pe_res_stats st;
    ck_assert_int_eq(walk_hostile(r, len, &st), 0);
    ck_assert(st.capped);
    ck_assert(st.cycle);
    ck_assert_uint_eq(st.entries, MC_PE_RES_MAX_WALK);
    ck_assert_uint_le(st.dirs, MC_PE_RES_MAX_DIRS);
    free(r);
}
END_TEST

/* What a flat image's resource walk reads where sections do not follow one another: the
 * resource view V (what RVA -> VA reads give byte by byte) is cut into sections whose raw data
 * are not adjacent in the file, and (with_overlay) a section listed first claims
 * RVA 0x2100..0x2300 over the others, whose own bytes there are decoys. Root entries 30 and 62
 * lead to the only two leaves: entry 62 is the first past .rsrc's raw data, entry 30 the first
 * the overlay claims, so a walk whose direct view of the section ran past either edge finds
 * the wrong bytes there. */
static void view_image(bool with_overlay, fx_buf *img)
{
    enum { VLEN = 0x400 };
    uint8_t v[VLEN], lo[0x200], hi[0x200], ovl[0x200], pad[0x200];
    memset(v, 0, sizeof v);
    dir(v, 0x000, 0, 70);
    for (uint32_t i = 0; i < 70; i++) ent(v, 0x000, i, i, 0);   /* leaves above the language level */
    ent(v, 0x000, 30, 30, 0x80000000u | 0x280);
    ent(v, 0x000, 62, 62, 0x80000000u | 0x300);
    const uint32_t chain[2][2] = {{0x280, 8}, {0x300, 7}};
    for (int c = 0; c < 2; c++) {
        uint32_t at = chain[c][0];
        dir(v, at, 0, 1);
        ent(v, at, 0, chain[c][1], 0x80000000u | (at + 0x20));
        dir(v, at + 0x20, 0, 1);
        ent(v, at + 0x20, 0, 0x409, at + 0x40);
        w32(v, at + 0x40, RSRC_RVA + 0x380 + 8 * (uint32_t)c);
        w32(v, at + 0x44, 4);
    }
    memcpy(v + 0x380, "OVL!", 4);
    memcpy(v + 0x388, "LEAF", 4);
    memcpy(lo, v, 0x200);
    memcpy(hi, v + 0x200, 0x200);
    memcpy(ovl, v + 0x100, 0x200);
    memset(pad, 0xEE, sizeof pad);
    if (with_overlay) {
        memset(lo + 0x100, 0xEE, 0x100);
        memset(hi, 0xEE, 0x100);
    }
    static const uint8_t code[16] = {0xC3};
    fx_section sect[5] = {{".text", 0x1000, sizeof code, code, sizeof code, 0x60000020}};
    size_t n = 1;
    if (with_overlay) sect[n++] = (fx_section){".ovl", RSRC_RVA + 0x100, 0x200, ovl, 0x200, 0};
    sect[n++] = (fx_section){".rsrc", RSRC_RVA, 0x200, lo, 0x200, 0};
    sect[n++] = (fx_section){".pad", 0x3000, 0x200, pad, 0x200, 0};
    sect[n++] = (fx_section){".rsr2", RSRC_RVA + 0x200, 0x200, hi, 0x200, 0};
    rsrc_image(sect, n, VLEN, false, img);
}

static void res_view_flat(bool with_overlay)
{
    fx_buf img;
    view_image(with_overlay, &img);
    md_dump *d = tu_open_raw(img.p, img.len, LOAD_BASE);
    mc_pe p;
    ck_assert(mc_pe_open_at(&p, d, LOAD_BASE, MD_LAYOUT_FLAT));
    mc_pe_res r;
    ck_assert(mc_pe_res_find(&p, 62, NULL, 7, NULL, &r));
    check_res_data(&p, &r, (const uint8_t *)"LEAF", 4);
    ck_assert(mc_pe_res_find(&p, 30, NULL, 8, NULL, &r));
    check_res_data(&p, &r, (const uint8_t *)"OVL!", 4);
    mc_pe_res_stats st;
    int leaves = 0;
    mc_pe_res_walk(&p, count_cb, &leaves, &st);
    ck_assert_int_eq(leaves, 2);
    ck_assert_uint_eq(st.entries, 70 + 2 * 2);
    md_close(d);
    fx_buf_free(&img);
}

START_TEST(res_flat_sections_apart)
{
    res_view_flat(false);
}
END_TEST

START_TEST(res_flat_overlay)
{
    res_view_flat(true);
}
END_TEST

typedef struct walk_digest {
    int leaves;
    uint64_t h;
} walk_digest;

static uint64_t key_digest(const mc_res_key *k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (!k->named) return k->id;
    for (const char *c = k->name; *c; c++) h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
    return h;
}

static bool digest_cb(const mc_pe_res *r, void *arg)
{
    walk_digest *w = arg;
    const uint64_t v[6] = {key_digest(&r->type), key_digest(&r->name),
                           r->lang, r->data_rva, r->size, r->va};
    for (int i = 0; i < 6; i++) w->h = (w->h ^ v[i]) * 0x100000001b3ull;
    w->leaves++;
    return true;
}

/* The walk and its stats, with direct reads or through mc_pe_rva_to_va. */
static walk_digest digest_walk(const mc_pe *pe, bool direct, mc_pe_res_stats *st)
{
    walk_digest w = {0, 0xcbf29ce484222325ull};
    mc_pe_res_direct = direct;
    w.h ^= mc_pe_res_walk(pe, digest_cb, &w, st);
    mc_pe_res_direct = true;
    return w;
}

/* A minidump holding img at LOAD_BASE cut into regions at odd offsets, listed out of VA order
 * (so VA-adjacent pieces are separate runs of the file) and with one piece left out (a hole). */
static md_dump *cut_dump(const fx_buf *img, uint64_t seed, fx_buf *out)
{
    fx_region r[6];
    size_t n = 0, at = 0;
    while (at < img->len && n < 6) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = n == 5 ? img->len - at : 0x100 + (size_t)(seed >> 33) % 0x900;
        if (len > img->len - at) len = img->len - at;
        r[n++] = (fx_region){LOAD_BASE + at, img->p + at, len, MD_PAGE_READONLY, MD_MEM_IMAGE, LOAD_BASE};
        at += len;
    }
    size_t hole = 1 + (size_t)(seed >> 40) % (n - 1);
    fx_region list[6];
    size_t k = 0;
    for (size_t i = n; i-- > 0;)
        if (i != hole) list[k++] = r[i];
    fx_process p = {1234, MD_ARCH_X86, list, k, NULL, 0};
    return open_process(&p, FX_MD_PARTIAL, out);
}

/* Direct reads give the walk reads through mc_pe_rva_to_va give: the two view images and a
 * native image with resources, mutated in their section tables and resource bytes, in a raw
 * dump and in minidumps cut into runs with a hole, in both layouts. */
START_TEST(res_direct_same_as_exact)
{
    fx_buf imgs[3];
    view_image(false, &imgs[0]);
    view_image(true, &imgs[1]);
    native_image(false, IMAGE_BASE, &imgs[2]);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int compared = 0, with_leaves = 0;
    for (int round = 0; round < 240; round++) {
        const fx_buf *src = &imgs[round % 3];
        fx_buf img;
        fx_buf_init(&img);
        fx_put(&img, src->p, src->len);
        for (int k = round < 3 ? 0 : 6; k > 0; k--) {   /* the first round of each unmutated */
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t at = k & 1 ? 0x178 + (size_t)(x % 0x180) : (size_t)(x % img.len);
            img.p[at] = (uint8_t)(x >> 24);
        }
        fx_buf mdb;
        md_dump *dumps[2] = {tu_open_raw(img.p, img.len, LOAD_BASE), cut_dump(&img, x, &mdb)};
        for (int di = 0; di < 2; di++)
            for (int layout = MD_LAYOUT_MAPPED; layout <= MD_LAYOUT_FLAT; layout++) {
                mc_pe pe;
                if (!mc_pe_open_at(&pe, dumps[di], LOAD_BASE, (md_layout)layout)) continue;
                mc_pe_res_stats a, b;
                walk_digest wa = digest_walk(&pe, true, &a), wb = digest_walk(&pe, false, &b);
                ck_assert_int_eq(wa.leaves, wb.leaves);
                ck_assert_uint_eq(wa.h, wb.h);
                ck_assert(mc_pe_res_stats_eq(&a, &b));
                compared++;
                with_leaves += wa.leaves > 0;
            }
        md_close(dumps[0]);
        md_close(dumps[1]);
        fx_buf_free(&mdb);
        fx_buf_free(&img);
    }
    ck_assert_int_gt(compared, 600);
    ck_assert_int_gt(with_leaves, 200);
    for (int i = 0; i < 3; i++) fx_buf_free(&imgs[i]);
}
END_TEST

/* SizeOfImage wiped (anti-dump code zeroes it): the extent is unknown, and RVA <-> VA and pointers
 * still map both ways in a mapped image. */
START_TEST(wiped_size_of_image)
{
    fx_buf img;
    native_image(true, LOAD_BASE, &img);
    uint32_t lfanew = (uint32_t)img.p[0x3c] | (uint32_t)img.p[0x3d] << 8;
    fx_set_u32(&img, lfanew + 4 + 20 + 56, 0);
    md_dump *d = tu_open_raw(img.p, img.len, LOAD_BASE);
    mc_pe pe;
    ck_assert(mc_pe_open_at(&pe, d, LOAD_BASE, MD_LAYOUT_MAPPED));
    ck_assert_uint_eq(pe.size_of_image, 0);
    for (uint32_t i = 0; i < pe.nsections; i++) {
        uint64_t va;
        uint32_t rva;
        ck_assert(mc_pe_rva_to_va(&pe, pe.sect[i].rva + 3, &va));
        ck_assert_uint_eq(va, LOAD_BASE + pe.sect[i].rva + 3);
        ck_assert(mc_pe_va_to_rva(&pe, va, &rva));
        ck_assert_uint_eq(rva, pe.sect[i].rva + 3);
    }
    const mc_pe_section *text = mc_pe_section_by_name(&pe, ".text");
    uint64_t va, target;
    uint32_t ptr, rva;
    ck_assert(mc_pe_rva_to_va(&pe, text->rva + 4, &va));
    ck_assert(md_read_u32(d, va, &ptr));
    ck_assert(mc_pe_ptr_to_va(&pe, ptr, &target));
    check_string_at(d, target, "pointed-at string");
    ck_assert(!mc_pe_va_to_rva(&pe, LOAD_BASE + 0x100000000ull, &rva));
    ck_assert(!mc_pe_ptr_to_va(&pe, 0x1234, &target));
    check_resources(&pe);
    md_close(d);
    fx_buf_free(&img);
}
END_TEST

START_TEST(res_absent)
{
    fx_native n;
    fx_buf img;
    mc_pe pe;
    mc_pe_res r;
    fx_native_init(&n, true, 0x140000000ull);
    fx_x86_ret(&n.text);
    fx_buf_init(&img);
    fx_native_build(&n, true, 0x7ff600000000ull, &img);
    md_dump *d = tu_open_raw(img.p, img.len, 0x7ff600000000ull);
    ck_assert(mc_pe_open_at(&pe, d, 0x7ff600000000ull, MD_LAYOUT_MAPPED));
    ck_assert(pe.pe64);
    ck_assert_uint_eq(pe.image_base, 0x140000000ull);
    ck_assert(!mc_pe_res_find(&pe, MC_RT_RCDATA, NULL, 0, "SETTINGS", &r));
    ck_assert(!mc_pe_res_walk(&pe, count_cb, &(int){0}, NULL));
    md_close(d);
    fx_buf_free(&img);
    fx_native_free(&n);
}
END_TEST

/* Spans: the image holding a VA, whole and zero-copy where it lies in one run; the run holding a
 * VA outside images, cut at max; each span once; nothing past the done list's capacity or where
 * no byte is. */
START_TEST(spans)
{
    fx_buf img, dump;
    native_image(true, LOAD_BASE, &img);
    md_dump *d = open_minidump(&img, LOAD_BASE, &dump);
    uint64_t done[2];
    size_t ndone = 0;
    mc_pe_span sp;
    ck_assert_int_eq(mc_pe_span_open(d, LOAD_BASE + 0x1000, 1u << 20, done, &ndone, 2, &sp), 1);
    ck_assert(sp.has_pe);
    ck_assert_uint_eq(sp.va, LOAD_BASE);
    ck_assert_uint_eq(sp.size, img.len);
    ck_assert_ptr_null(sp.owned);
    ck_assert_ptr_eq(sp.p, md_ptr(d, LOAD_BASE, img.len));
    mc_pe_span_close(&sp);
    ck_assert_int_eq(mc_pe_span_open(d, LOAD_BASE + 0x10, 1u << 20, done, &ndone, 2, &sp), 0);
    ck_assert_int_eq(mc_pe_span_open(d, 0x100, 1u << 20, done, &ndone, 2, &sp), 0);
    ck_assert_uint_eq(ndone, 1);
    ck_assert_int_eq(mc_pe_span_open(d, 0x00201800, 0x1000, done, &ndone, 2, &sp), 1);
    ck_assert(!sp.has_pe);
    ck_assert_uint_eq(sp.va, 0x00200000);
    ck_assert_uint_eq(sp.size, 0x1000);
    mc_pe_span_close(&sp);
    ck_assert_int_eq(mc_pe_span_open(d, 0x7ff00010, 1u << 20, done, &ndone, 2, &sp), 0);
    ck_assert_uint_eq(ndone, 2);
    md_close(d);
    fx_buf_free(&dump);

    /* The image in runs out of VA order with a hole: a copy of the bytes up to the hole. */
    bool copied = false, direct = false;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        d = cut_dump(&img, seed, &dump);
        ndone = 0;
        ck_assert_int_eq(mc_pe_span_open(d, LOAD_BASE + 0x20, 1u << 20, done, &ndone, 2, &sp), 1);
        ck_assert(sp.has_pe);
        ck_assert_uint_eq(sp.va, LOAD_BASE);
        ck_assert_uint_eq(sp.size, md_avail(d, LOAD_BASE));
        ck_assert_uint_lt(sp.size, img.len);
        ck_assert_mem_eq(sp.p, img.p, sp.size);
        ck_assert((sp.owned != NULL) == (sp.size > md_run_at(d, LOAD_BASE)->size));
        copied |= sp.owned != NULL;
        direct |= sp.owned == NULL;
        mc_pe_span_close(&sp);
        md_close(d);
        fx_buf_free(&dump);
    }
    ck_assert(copied && direct);
    fx_buf_free(&img);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pe");
    TCase *tc = tcase_create("pe");
    tcase_add_test(tc, mapped_relocated_raw);
    tcase_add_test(tc, flat_raw);
    tcase_add_test(tc, mapped_unrelocated);
    tcase_add_test(tc, minidump_image);
    tcase_add_test(tc, not_a_pe);
    tcase_add_test(tc, res_cycles);
    tcase_add_test(tc, res_hostile_counts);
    tcase_add_test(tc, res_entry_cap);
    tcase_add_test(tc, res_walk_cap);
    tcase_add_test(tc, res_flat_sections_apart);
    tcase_add_test(tc, res_flat_overlay);
    tcase_add_test(tc, res_direct_same_as_exact);
    tcase_add_test(tc, wiped_size_of_image);
    tcase_add_test(tc, res_absent);
    tcase_add_test(tc, spans);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
