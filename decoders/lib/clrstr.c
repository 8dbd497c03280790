/* CLR string objects on the managed heap (see mc_clrstr.h). */
#include "lib/mc_clrstr.h"

#include <string.h>

unsigned mc_clr_ptr_size(const md_dump *d)
{
    return d->arch == MD_ARCH_X86 || d->arch == MD_ARCH_ARM ? 4 : 8;
}

bool mc_clr_string_at(const md_dump *d, uint64_t chars_va, uint32_t nchars, uint64_t *obj_va)
{
    uint32_t len;
    uint64_t mt;
    uint16_t term;
    unsigned ps = mc_clr_ptr_size(d);
    if (chars_va < 4 + ps || !md_read_u32(d, chars_va - 4, &len) || len != nchars) return false;
    if (!md_read_ptr(d, chars_va - 4 - ps, ps, &mt) || mt == 0) return false;
    if (!md_read_u16(d, chars_va + 2ull * nchars, &term) || term != 0) return false;
    *obj_va = chars_va - 4 - ps;
    return true;
}

bool mc_clr_find(const mc_decode_ctx *ctx, const md_dump *d, const char *text, size_t min_chars,
                 uint64_t *obj_va)
{
    size_t n = strlen(text);
    if (n < min_chars || n == 0 || n > MC_CLR_MAX_CHARS) return false;
    /* The length field and the chars form one needle, so memmem rejects almost every position
     * without a second look. */
    uint8_t pat[4 + 2 * MC_CLR_MAX_CHARS];
    pat[0] = (uint8_t)n; pat[1] = (uint8_t)(n >> 8); pat[2] = 0; pat[3] = 0;
    for (size_t i = 0; i < n; i++) { pat[4 + 2 * i] = (uint8_t)text[i]; pat[5 + 2 * i] = 0; }
    size_t plen = 4 + 2 * n;
    for (size_t r = 0; r < d->nruns && !mc_expired(ctx); r++) {
        const md_run *run = &d->runs[r];
        const uint8_t *p = md_ptr(d, run->va, run->size);
        if (!p) continue;
        const uint8_t *cur = p, *end = p + run->size;
        while ((size_t)(end - cur) >= plen) {
            const uint8_t *m = memmem(cur, (size_t)(end - cur), pat, plen);
            if (!m) break;
            if (mc_clr_string_at(d, run->va + (uint64_t)(m - p) + 4, (uint32_t)n, obj_va)) return true;
            cur = m + 1;
        }
    }
    return false;
}
