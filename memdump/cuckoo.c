/* CAPE / Cuckoo process memory dump (`memory/<pid>.dmp`): a chain of records, each a 24-byte
 * little-endian header {u64 addr; u32 size; u32 state; u32 type; u32 protect} followed by `size`
 * bytes of region data (capemon DoProcessDump). The format has no magic and no count, so every
 * header is checked for plausibility and the walk stops at the first one that fails: a partial
 * WriteFile on the guest desynchronises the stream and everything after it is noise.
 */
#include "md_internal.h"

#include <string.h>

#define CK_HDR 24u
/* The CAPE result server stops an upload at upload_max_size and appends this marker once. */
static const char ck_trailer[] = "... (truncated)";
#define CK_TRAILER_LEN (sizeof ck_trailer - 1)
/* Enough records to tell a real chain from coincidence without touching every page of a
 * multi-gigabyte dump while sniffing. */
#define CK_SNIFF_MAX_RECORDS 4096u

typedef struct ck_hdr {
    uint64_t addr;
    uint32_t size, state, type, protect;
} ck_hdr;

static void ck_load(const uint8_t *p, ck_hdr *h)
{
    h->addr = md_le64(p);
    h->size = md_le32(p + 8);
    h->state = md_le32(p + 12);
    h->type = md_le32(p + 16);
    h->protect = md_le32(p + 20);
}

/* Zero values are allowed: Cuckoo's and malduck's own test dumps write state/type/protect 0. */
static bool ck_protect_ok(uint32_t protect)
{
    if (protect == 0) return true;
    if (protect & ~0x7ffu) return false;
    uint32_t base = protect & 0xffu;
    return base != 0 && (base & (base - 1)) == 0;
}

/* Header checks that do not depend on the neighbours (size 0 is judged by the caller). */
static bool ck_hdr_ok(const ck_hdr *h)
{
    uint64_t end;
    if (!md_add_ok(h->addr, h->size, &end)) return false;
    if (h->state != 0 && h->state != MD_MEM_COMMIT) return false;
    if (h->type != 0 && h->type != MD_MEM_PRIVATE && h->type != MD_MEM_MAPPED &&
        h->type != MD_MEM_IMAGE)
        return false;
    return ck_protect_ok(h->protect);
}

static bool ck_has_trailer(const uint8_t *buf, uint64_t len)
{
    return len >= CK_TRAILER_LEN && memcmp(buf + len - CK_TRAILER_LEN, ck_trailer, CK_TRAILER_LEN) == 0;
}

/* What capemon really writes: page-aligned committed regions of a known type. Demanded of a lone
 * record, which has no neighbour to vouch for it. */
static bool ck_hdr_typical(const ck_hdr *h)
{
    return (h->addr & 0xfffu) == 0 && (h->size & 0xfffu) == 0 && h->state == MD_MEM_COMMIT &&
           h->type != 0;
}

/* Sniff: a chain of plausible headers ending at EOF, at a short last record, at the result-server
 * marker, or at a bad header after two good records (a desynchronised stream). A lone record must
 * also look typical. Zero sizes are refused here (capemon never writes them) so that zero-filled
 * raw data cannot walk as a chain of empty records. */
bool md_sniff_cuckoo(const uint8_t *buf, uint64_t len)
{
    if (!buf || len < CK_HDR) return false;
    uint64_t off = 0;
    unsigned good = 0;
    bool first_typical = false;
    for (unsigned i = 0; i < CK_SNIFF_MAX_RECORDS; i++) {
        uint64_t rest = len - off;
        if (rest == 0) return good >= 2 || first_typical;
        if (rest < CK_HDR) /* a cut header: only the result server leaves one behind */
            return good >= 1 && ck_has_trailer(buf, len);
        ck_hdr h;
        ck_load(buf + off, &h);
        if (!ck_hdr_ok(&h) || h.size == 0) return good >= 2;
        if (i == 0) first_typical = ck_hdr_typical(&h);
        if ((uint64_t)h.size > rest - CK_HDR) return good >= 1 || first_typical;
        good++;
        off += CK_HDR + h.size;
    }
    return good >= 2;
}

/* The file ends inside a header or exactly after a complete record followed by the marker. */
static md_err ck_tail(md_builder *b, uint64_t off, unsigned nrec)
{
    if (ck_has_trailer(b->buf, b->len) && b->len - off >= CK_TRAILER_LEN)
        return md_b_warn(b, MD_W_RESULTSERVER_TRUNC,
                         "cuckoo dump cut by the CAPE result server after %u records", nrec);
    return md_b_warn(b, MD_W_TRUNCATED, "cuckoo dump ends inside a record header at offset %llu",
                     (unsigned long long)off);
}

/* The last record is shorter than its header says: keep what is there. */
static md_err ck_short(md_builder *b, const ck_hdr *h, uint64_t data_off)
{
    uint64_t avail = b->len - data_off;
    uint32_t code = MD_W_TRUNCATED;
    if (ck_has_trailer(b->buf, b->len) && avail >= CK_TRAILER_LEN) {
        avail -= CK_TRAILER_LEN;
        code = MD_W_RESULTSERVER_TRUNC;
    }
    md_err e = md_b_region(b, h->addr, avail, data_off, h->protect, h->state, h->type, 0,
                           MD_R_TRUNCATED);
    if (e != MD_OK) return e;
    if (code == MD_W_RESULTSERVER_TRUNC)
        return md_b_warn(b, code, "cuckoo dump cut by the CAPE result server: region 0x%llx keeps "
                         "%llu of %u bytes", (unsigned long long)h->addr,
                         (unsigned long long)avail, h->size);
    return md_b_warn(b, code, "cuckoo dump truncated: region 0x%llx keeps %llu of %u bytes",
                     (unsigned long long)h->addr, (unsigned long long)avail, h->size);
}

md_err md_build_cuckoo(md_builder *b, char *err, size_t errlen)
{
    b->d->format = MD_FMT_CUCKOO;
    uint64_t off = 0, top = 0;
    unsigned nrec = 0, nzero = 0;
    md_err e = MD_OK;
    /* Each pass consumes at least one header, so the walk ends within len / 24 steps. */
    while (off < b->len && !b->region_cap_hit) {
        if (b->len - off < CK_HDR) { e = ck_tail(b, off, nrec); break; }
        ck_hdr h;
        ck_load(b->buf + off, &h);
        if (!ck_hdr_ok(&h)) {
            if (nrec == 0 && nzero == 0) {
                md_setf(err, errlen, "cuckoo record at offset %llu has an implausible header",
                        (unsigned long long)off);
                return MD_E_CORRUPT;
            }
            e = md_b_warn(b, MD_W_BAD_RECORD, "cuckoo record at offset %llu is malformed; kept "
                          "the %u records before it", (unsigned long long)off, nrec);
            break;
        }
        uint64_t data_off = off + CK_HDR;
        if (h.size == 0) { nzero++; off = data_off; continue; }
        uint64_t end = h.addr + h.size; /* cannot wrap: checked by ck_hdr_ok */
        if (end > top) top = end;
        if ((uint64_t)h.size > b->len - data_off) { e = ck_short(b, &h, data_off); nrec++; break; }
        e = md_b_region(b, h.addr, h.size, data_off, h.protect, h.state, h.type, 0, 0);
        if (e != MD_OK) break;
        nrec++;
        off = data_off + h.size;
    }
    if (e == MD_OK && nzero)
        e = md_b_warn(b, MD_W_BAD_RECORD, "skipped %u zero-size cuckoo records", nzero);
    if (e != MD_OK) { md_setf(err, errlen, "%s", md_strerror(e)); return e; }
    /* The record layout is the same for 32- and 64-bit guests; only a high address tells. */
    if (top > (1ull << 32) && b->d->arch == MD_ARCH_UNKNOWN) b->d->arch = MD_ARCH_AMD64;
    return MD_OK;
}
