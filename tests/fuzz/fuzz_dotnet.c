/* The ECMA-335 metadata reader (decoders/lib/mc_dotnet.h) on a raw region at FZ_BASE, opened in
 * both layouts: every table cell, heap entry, TypeDef, Field, MethodDef, method body, IL
 * instruction and config item the decoders ask for. Bounded per execution so a large row count
 * costs at most a few thousand lookups. */
#include "fuzz_common.h"
#include "lib/mc_dotnet.h"

#include <string.h>

#define FZ_MAX_ROWS 256u

/* mc_dn_field_owner reads every TypeDef per call, and the items of the method bodies point at
 * the same fields again and again. It is a pure function of the open metadata, so each field is
 * asked once per open: a direct-mapped memo, cleared whenever an image is opened. */
#define FZ_OWNER_MEMO 256u
static struct {
    bool set;
    uint32_t field, owner;
} owner_memo[FZ_OWNER_MEMO];

static uint32_t field_owner(const mc_dotnet *dn, uint32_t field)
{
    unsigned k = field % FZ_OWNER_MEMO;
    if (!owner_memo[k].set || owner_memo[k].field != field) {
        owner_memo[k].set = true;
        owner_memo[k].field = field;
        owner_memo[k].owner = mc_dn_field_owner(dn, field);
    }
    return owner_memo[k].owner;
}

static void open_image(void)
{
    memset(owner_memo, 0, sizeof owner_memo);
}

static void walk_cells(const mc_dotnet *dn)
{
    for (unsigned t = 0; t < MC_DN_T_COUNT; t++) {
        uint32_t n = mc_dn_rows(dn, t);
        for (uint32_t r = 1; r <= n && r <= 16; r++)
            for (unsigned c = 0; c < 8; c++) {
                uint32_t v = 0;
                fz_sink += mc_dn_cell(dn, t, r, c, &v) + v;
            }
    }
}

static void walk_body(const mc_dotnet *dn, uint32_t row)
{
    mc_dn_body b;
    if (mc_dn_get_body(dn, row, &b) != MC_DN_OK)
        return;
    uint32_t pos = 0;
    mc_dn_insn in;
    while (mc_dn_next_insn(b.code, b.len, &pos, &in)) {
        fz_sink += in.op + (uint64_t)in.arg;
        if (in.op == 0x72) {   /* ldstr */
            char s[256];
            uint64_t va = 0;
            fz_sink += mc_dn_us_utf8(dn, (uint32_t)in.arg, s, sizeof s, &va) + va;
        } else if (in.op == 0x28 || in.op == 0x73) {  /* call, newobj */
            fz_sink += strlen(mc_dn_memberref_name(dn, (uint32_t)in.arg & 0xFFFFFF));
        }
    }
    mc_dn_item items[64];
    size_t k = mc_dn_scan_items(b.code, b.len, items, 64);
    for (size_t i = 0; i < k; i++) {
        uint8_t elem = 0, data[64];
        const char *tn = NULL;
        fz_sink += mc_dn_field_type(dn, items[i].field, &elem, &tn) + elem;
        fz_sink += field_owner(dn, items[i].field);
        if (items[i].kind == MC_DN_ITEM_BYTES)
            fz_sink += mc_dn_field_data(dn, items[i].data_field, data, sizeof data, NULL);
    }
    mc_dn_body_free(&b);
}

static void walk_types(const mc_dotnet *dn)
{
    uint32_t nt = mc_dn_rows(dn, MC_DN_T_TYPEDEF);
    for (uint32_t t = 1; t <= nt && t <= FZ_MAX_ROWS; t++) {
        mc_dn_typedef td;
        if (mc_dn_get_typedef(dn, t, &td) != MC_DN_OK)
            continue;
        fz_sink += strlen(td.name) + strlen(td.ns) + mc_dn_find_method(dn, t, ".cctor");
        for (uint32_t p = td.field_first; p < td.field_end && p < td.field_first + 64; p++) {
            mc_dn_field f;
            uint32_t row = mc_dn_field_at(dn, p);
            if (mc_dn_get_field(dn, row, &f) == MC_DN_OK) {
                const uint8_t *blob;
                uint32_t bl = 0;
                fz_sink += strlen(f.name) + mc_dn_blob(dn, f.sig, &blob, &bl) + bl;
            }
        }
    }
    uint32_t nm = mc_dn_rows(dn, MC_DN_T_METHODDEF);
    for (uint32_t m = 1; m <= nm && m <= FZ_MAX_ROWS; m++) {
        mc_dn_method me;
        if (mc_dn_get_method(dn, mc_dn_method_at(dn, m), &me) == MC_DN_OK)
            fz_sink += strlen(me.name) + me.rva;
        walk_body(dn, m);
    }
    for (uint32_t i = 0; i < 64; i++) {
        const uint8_t *u;
        uint32_t nb = 0;
        uint64_t va = 0;
        fz_sink += mc_dn_us(dn, 0x70000000u | (i * 7), &u, &nb, &va) + nb;
        const char *s = mc_dn_string(dn, i * 5);
        fz_sink += s ? strlen(s) : 0;
    }
    uint64_t va = 0;
    fz_sink += mc_dn_rva_to_va(dn, 0x2000, &va) + va;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    md_dump *d = fz_raw_dump(data, size);
    for (int hint = MD_LAYOUT_MAPPED; hint <= MD_LAYOUT_FLAT; hint++) {
        mc_dotnet *dn = NULL;
        if (mc_dn_open_at(d, FZ_BASE, (md_layout)hint, &dn) != MC_DN_OK)
            continue;
        open_image();
        walk_cells(dn);
        walk_types(dn);
        mc_dn_close(dn);
    }
    for (size_t i = 0; i < d->nimages && i < 4; i++) {
        mc_dotnet *dn = NULL;
        if (d->images[i].base != FZ_BASE && mc_dn_open(d, &d->images[i], &dn) == MC_DN_OK) {
            open_image();
            walk_types(dn);
            mc_dn_close(dn);
        }
    }
    md_close(d);
    return 0;
}
