/* Stack-string recovery for x86 and x64 code.
 *
 * Compilers and string obfuscators build strings on the stack with runs of `mov` immediates into
 * frame slots and often decode them right after with a short XOR/arithmetic loop. The scanner
 * recognises these store encodings (bits = 32 or 64):
 *
 *   C6 /0 ib        mov byte  [base+disp], imm8
 *   66 C7 /0 iw     mov word  [base+disp], imm16
 *   C7 /0 id        mov dword [base+disp], imm32
 *   REX.W C7 /0 id  mov qword [base+disp], imm32 (sign-extended; x64 only)
 *
 * with base = ebp/rbp (ModRM mod 01/10, rm 101) or esp/rsp (rm 100 + SIB 0x24; mod 00/01/10), with
 * no displacement (esp/rsp only), disp8 or disp32.
 * A run of such stores (same base, gaps of up to MC_STACKSTR_MAX_GAP unrelated bytes between them)
 * is ordered by displacement; overlapping or adjacent slots form one string. A string needs at
 * least two stores and three non-zero bytes; trailing zero bytes (the terminator) are dropped,
 * except the high byte of the last UTF-16 unit.
 *
 * After the run, up to MC_STACKSTR_KEY_WINDOW bytes (stopping at the next stack store) are searched
 * for the decode loop's immediate. Recognised key encodings, first match wins, an adjacent chain of
 * up to MC_STACKSTR_MAX_STEPS of them forms the transform (e.g. ROKRAT's `sub cl,0Fh; xor cl,C8h`):
 *
 *   [REX] 80 /0|/5|/6 ib   add|sub|xor r/m8, imm8 (register, [reg], [reg+disp], SIB forms)
 *   [REX] 83 /0|/5|/6 ib   add|sub|xor r32, imm8 (register form only, not esp/ebp, not add/sub 1;
 *                          the low byte applies)
 *   34 ib / 04 ib / 2C ib  xor|add|sub al, imm8 (only when no 80/83 form is in the window)
 *
 * Anything else (key in a register, a call to a decode routine) is left to the caller's brute
 * force via mc_stackstr_decode. Everything is bounded; scanning is linear in the code length.
 */
#ifndef MEMCFG_MC_STACKSTR_H
#define MEMCFG_MC_STACKSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_STACKSTR_MAX 4096       /* raw bytes kept per string; longer runs are split */
#define MC_STACKSTR_MAX_GAP 24     /* unrelated bytes tolerated between two stores of a run */
#define MC_STACKSTR_KEY_WINDOW 96  /* bytes after a run searched for the decode loop */
#define MC_STACKSTR_MAX_STEPS 4

typedef enum mc_ss_op { MC_SS_XOR = 0, MC_SS_ADD, MC_SS_SUB } mc_ss_op;

/* A per-byte transform: the steps applied in order (mod 256). Zero steps = identity. */
typedef struct mc_ss_key {
    unsigned n;
    struct {
        mc_ss_op op;
        uint8_t imm;
    } step[MC_STACKSTR_MAX_STEPS];
} mc_ss_key;

typedef enum mc_ss_base { MC_SS_FRAME = 0, MC_SS_STACK } mc_ss_base; /* ebp/rbp, esp/rsp */

typedef struct mc_stackstr {
    size_t offset;      /* code offset of the first store contributing to the string */
    int64_t disp;       /* displacement of the first byte */
    mc_ss_base base;
    bool wide;          /* UTF-16LE: every second byte zero; raw holds whole units */
    bool has_key;       /* a decode loop immediate was found after the run */
    mc_ss_key key;
    size_t key_offset;  /* code offset of the first key instruction (when has_key) */
    size_t len;
    uint8_t raw[MC_STACKSTR_MAX];
} mc_stackstr;

/* Scans code (bits 32 or 64) and writes up to max strings to out: runs in code order, the strings
 * of one run by displacement. Returns the number written; 0 for bad arguments. */
size_t mc_stackstr_scan(const uint8_t *code, size_t len, unsigned bits, mc_stackstr *out,
                        size_t max);

/* out[i] = key applied to in[i]; out may equal in. */
void mc_stackstr_apply(const mc_ss_key *key, const uint8_t *in, size_t n, uint8_t *out);

/* Accepts or rejects a decoded candidate. */
typedef bool (*mc_stackstr_valid_fn)(const uint8_t *p, size_t n, void *ud);

/* Decodes s into out (s->len bytes; cap must be at least that). With s->has_key the found key is
 * applied and, when valid is given, the result must pass it. Without a key and with a validator,
 * tries the raw bytes, then single-byte XOR keys 0x01..0xFF, and keeps the first output the
 * validator accepts. Without a key or validator the raw bytes are copied. *used (optional)
 * receives the transform applied. Returns false when no candidate is accepted. */
bool mc_stackstr_decode(const mc_stackstr *s, mc_stackstr_valid_fn valid, void *ud, uint8_t *out,
                        size_t cap, size_t *out_len, mc_ss_key *used);

#endif
