/* Stack-string recovery (see mc_stackstr.h for the recognised encodings).
 *
 * The scanner does not disassemble: it tries the store decoder at every byte that is not inside
 * an already recognised store, which keeps it linear and lets unrelated instructions sit between
 * the stores without a full length decoder. The price is that bytes inside other instructions can
 * occasionally decode as a store; the contiguity and minimum-size rules keep that rare.
 */
#include "mc_stackstr.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 1024     /* stores per run; a longer run is flushed and a new one started */
#define MIN_STORES 2
#define MIN_NONZERO 3

typedef struct slot {
    int64_t disp;
    size_t off;      /* code offset of the store */
    uint32_t seq;    /* store order in the run: the later of two same-slot stores wins */
    uint8_t size;
    uint8_t val[8];
} slot;

typedef struct run {
    mc_ss_base base;
    size_t n;
    size_t end;      /* code offset just past the last store */
    slot s[MAX_SLOTS];
    uint8_t seg[MAX_SLOTS * 8];
} run;

typedef struct sink {
    mc_stackstr *out;
    size_t max, count;
} sink;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decodes a `mov [ebp|esp|rbp|rsp + disp], imm` at c; returns its length or 0. */
static size_t decode_store(const uint8_t *c, size_t avail, unsigned bits, slot *st,
                           mc_ss_base *base)
{
    size_t i = 0;
    bool w16 = false, w64 = false;
    if (i < avail && c[i] == 0x66) { w16 = true; i++; }
    if (bits == 64 && i < avail && (c[i] & 0xF0) == 0x40) {
        /* REX.B or REX.X would turn the base or index into r8..r15: not a frame slot. */
        if (c[i] & 0x03) return 0;
        w64 = (c[i] & 0x08) != 0;
        i++;
    }
    if (i + 2 > avail) return 0;
    uint8_t op = c[i++], modrm = c[i++];
    if (op != 0xC6 && op != 0xC7) return 0;
    if ((op == 0xC6 && (w16 || w64)) || (w16 && w64)) return 0;
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
    /* [esp] without displacement (mod 00 + SIB 24) is a slot too; [ebp] always has one. */
    if (reg != 0 || mod == 3 || (mod == 0 && rm != 4)) return 0;
    if (rm == 4) {
        if (i >= avail || c[i] != 0x24) return 0;
        i++;
    } else if (rm != 5) {
        return 0;
    }
    *base = rm == 5 ? MC_SS_FRAME : MC_SS_STACK;
    size_t dlen = mod == 0 ? 0 : mod == 1 ? 1 : 4, ilen = op == 0xC6 ? 1 : w16 ? 2 : 4;
    if (i + dlen + ilen > avail) return 0;
    st->disp = mod == 0   ? 0
               : mod == 1 ? (int64_t)(int8_t)c[i]
                          : (int64_t)(int32_t)le32(c + i);
    i += dlen;
    memset(st->val, 0, sizeof st->val);
    memcpy(st->val, c + i, ilen);
    st->size = (uint8_t)ilen;
    if (w64) {
        memset(st->val + 4, (c[i + 3] & 0x80) ? 0xFF : 0x00, 4);
        st->size = 8;
    }
    return i + ilen;
}

/* True at `REX.B|REX.X C6|C7 /0`: a store through r8..r15. Stepping over prefix and opcode keeps
 * the byte-wise scan from reading the rest as a store through rbp/rsp. */
static bool foreign_store_prefix(const uint8_t *c, size_t avail, unsigned bits)
{
    return bits == 64 && avail >= 3 && (c[0] & 0xF0) == 0x40 && (c[0] & 0x03) &&
           (c[1] == 0xC6 || c[1] == 0xC7) && ((c[2] >> 3) & 7) == 0;
}

/* One add/sub/xor-with-imm8 instruction of a decode loop at c; returns its length or 0. */
static size_t decode_key_insn(const uint8_t *c, size_t avail, unsigned bits, bool weak,
                              mc_ss_op *op, uint8_t *imm)
{
    if (weak) {
        if (avail < 2) return 0;
        switch (c[0]) {
        case 0x34: *op = MC_SS_XOR; break;
        case 0x04: *op = MC_SS_ADD; break;
        case 0x2C: *op = MC_SS_SUB; break;
        default: return 0;
        }
        *imm = c[1];
        return 2;
    }
    size_t i = bits == 64 && avail > 0 && (c[0] & 0xF0) == 0x40 ? 1 : 0;
    if (i + 3 > avail || (c[i] != 0x80 && c[i] != 0x83)) return 0;
    uint8_t opc = c[i], modrm = c[i + 1];
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
    switch (reg) {
    case 0: *op = MC_SS_ADD; break;
    case 5: *op = MC_SS_SUB; break;
    case 6: *op = MC_SS_XOR; break;
    default: return 0;
    }
    size_t extra = 0;
    /* 83 only in register form, and not the esp/ebp frame adjustments or +-1 loop counters. */
    if (opc == 0x83 && (mod != 3 || rm == 4 || rm == 5)) return 0;
    if (opc == 0x83 && *op != MC_SS_XOR && c[i + 2] == 1) return 0;
    if (mod != 3) {
        if (mod == 0 && rm == 5) return 0; /* absolute / RIP-relative: global data, not a loop */
        if (rm == 4) {
            if (i + 3 > avail) return 0;
            extra = 1 + (mod == 0 && (c[i + 2] & 7) == 5 ? 4 : 0);
        }
        extra += mod == 1 ? 1 : mod == 2 ? 4 : 0;
    }
    size_t len = i + 3 + extra;
    if (len > avail) return 0;
    *imm = c[len - 1];
    return len;
}

/* Looks for the decode loop after a run: the first key instruction, chained with the ones that
 * directly follow it. Stops at the next stack store, which starts another run. */
static bool find_key(const uint8_t *code, size_t len, size_t start, unsigned bits,
                     mc_ss_key *key, size_t *koff)
{
    size_t end = len - start > MC_STACKSTR_KEY_WINDOW ? start + MC_STACKSTR_KEY_WINDOW : len;
    for (int weak = 0; weak < 2; weak++) {
        for (size_t p = start; p < end; p++) {
            slot st;
            mc_ss_base b;
            if (decode_store(code + p, len - p, bits, &st, &b)) break;
            mc_ss_op op;
            uint8_t imm;
            size_t il = decode_key_insn(code + p, len - p, bits, weak, &op, &imm);
            if (!il) continue;
            key->n = 0;
            *koff = p;
            do {
                key->step[key->n].op = op;
                key->step[key->n].imm = imm;
                key->n++;
                p += il;
                il = decode_key_insn(code + p, len - p, bits, false, &op, &imm);
                if (!il) il = decode_key_insn(code + p, len - p, bits, true, &op, &imm);
            } while (il && key->n < MC_STACKSTR_MAX_STEPS);
            return true;
        }
    }
    return false;
}

static int slot_cmp(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->disp != y->disp) return x->disp < y->disp ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* UTF-16LE when, up to the terminator, every odd byte is zero and every even byte is not. */
static bool looks_wide(const uint8_t *p, size_t t, size_t n)
{
    if (t < 3 || t % 2 == 0 || t + 1 > n) return false;
    for (size_t i = 0; i < t; i++)
        if ((i % 2 == 1) != (p[i] == 0)) return false;
    return true;
}

static void emit(sink *k, const run *r, const uint8_t *seg, size_t n, int64_t disp, size_t off,
                 const mc_ss_key *key, size_t koff)
{
    size_t t = n, nonzero = 0;
    while (t > 0 && seg[t - 1] == 0) t--;
    for (size_t i = 0; i < t; i++) nonzero += seg[i] != 0;
    if (nonzero < MIN_NONZERO) return;
    bool wide = looks_wide(seg, t, n);
    size_t keep = wide ? t + 1 : t;
    for (size_t c = 0; c < keep && k->count < k->max; c += MC_STACKSTR_MAX) {
        mc_stackstr *s = &k->out[k->count++];
        size_t part = keep - c < MC_STACKSTR_MAX ? keep - c : MC_STACKSTR_MAX;
        s->offset = off;
        s->disp = disp + (int64_t)c;
        s->base = r->base;
        s->wide = wide;
        s->has_key = key != NULL;
        memset(&s->key, 0, sizeof s->key);
        if (key) s->key = *key;
        s->key_offset = key ? koff : 0;
        s->len = part;
        memcpy(s->raw, seg + c, part);
    }
}

/* Orders the run's stores by displacement and emits each contiguous group as a string. */
static void flush(run *r, const uint8_t *code, size_t len, unsigned bits, sink *k)
{
    if (r->n < MIN_STORES) { r->n = 0; return; }
    mc_ss_key key;
    size_t koff = 0;
    bool has_key = find_key(code, len, r->end, bits, &key, &koff);
    qsort(r->s, r->n, sizeof r->s[0], slot_cmp);
    for (size_t i = 0; i < r->n && k->count < k->max;) {
        int64_t start = r->s[i].disp, end = start + r->s[i].size;
        size_t j = i + 1, off = r->s[i].off;
        while (j < r->n && r->s[j].disp <= end) {
            if (r->s[j].disp + r->s[j].size > end) end = r->s[j].disp + r->s[j].size;
            if (r->s[j].off < off) off = r->s[j].off;
            j++;
        }
        if (j - i >= MIN_STORES) {
            size_t n = (size_t)(end - start); /* <= 8 per store, so within seg */
            memset(r->seg, 0, n);
            for (size_t q = i; q < j; q++)
                memcpy(r->seg + (r->s[q].disp - start), r->s[q].val, r->s[q].size);
            emit(k, r, r->seg, n, start, off, has_key ? &key : NULL, koff);
        }
        i = j;
    }
    r->n = 0;
}

size_t mc_stackstr_scan(const uint8_t *code, size_t len, unsigned bits, mc_stackstr *out,
                        size_t max)
{
    if (!code || !out || max == 0 || (bits != 32 && bits != 64)) return 0;
    run *r = malloc(sizeof *r);
    if (!r) return 0;
    r->n = 0;
    sink k = {out, max, 0};
    for (size_t i = 0; i < len && k.count < max;) {
        slot st;
        mc_ss_base base;
        size_t il = decode_store(code + i, len - i, bits, &st, &base);
        if (!il) {
            if (r->n && i - r->end > MC_STACKSTR_MAX_GAP) flush(r, code, len, bits, &k);
            i += foreign_store_prefix(code + i, len - i, bits) ? 2 : 1;
            continue;
        }
        if (r->n && (base != r->base || i - r->end > MC_STACKSTR_MAX_GAP || r->n == MAX_SLOTS))
            flush(r, code, len, bits, &k);
        if (k.count >= max) break;
        st.seq = (uint32_t)r->n;
        st.off = i;
        r->base = base;
        r->s[r->n++] = st;
        r->end = i + il;
        i += il;
    }
    if (r->n && k.count < max) flush(r, code, len, bits, &k);
    free(r);
    return k.count;
}

void mc_stackstr_apply(const mc_ss_key *key, const uint8_t *in, size_t n, uint8_t *out)
{
    unsigned steps = key && key->n <= MC_STACKSTR_MAX_STEPS ? key->n : 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        for (unsigned s = 0; s < steps; s++) {
            uint8_t v = key->step[s].imm;
            switch (key->step[s].op) {
            case MC_SS_XOR: b ^= v; break;
            case MC_SS_ADD: b = (uint8_t)(b + v); break;
            case MC_SS_SUB: b = (uint8_t)(b - v); break;
            }
        }
        out[i] = b;
    }
}

bool mc_stackstr_decode(const mc_stackstr *s, mc_stackstr_valid_fn valid, void *ud, uint8_t *out,
                        size_t cap, size_t *out_len, mc_ss_key *used)
{
    if (!s || !out || !out_len || s->len > MC_STACKSTR_MAX || cap < s->len) return false;
    mc_ss_key k;
    memset(&k, 0, sizeof k);
    *out_len = s->len;
    if (s->has_key || !valid) {
        if (s->has_key) k = s->key;
        mc_stackstr_apply(&k, s->raw, s->len, out);
        if (used) *used = k;
        return !valid || valid(out, s->len, ud);
    }
    for (unsigned x = 0; x < 256; x++) {
        k.n = x ? 1 : 0;
        k.step[0].op = MC_SS_XOR;
        k.step[0].imm = (uint8_t)x;
        mc_stackstr_apply(&k, s->raw, s->len, out);
        if (valid(out, s->len, ud)) {
            if (used) *used = k;
            return true;
        }
    }
    return false;
}
