/* Stack-string recovery (decoders/lib/mc_stackstr.h) on arbitrary code, 32- and 64-bit, with
 * every decode path: found key, brute force with a validator, and plain copy. */
#include "fuzz_common.h"
#include "lib/mc_stackstr.h"

#include <stdlib.h>

#define FZ_MAX_STRINGS 64

static bool printable(const uint8_t *p, size_t n, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        if (p[i] && (p[i] < 0x20 || p[i] > 0x7e))
            return false;
    return n > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mc_stackstr out[FZ_MAX_STRINGS];
    static uint8_t dec[MC_STACKSTR_MAX];
    for (unsigned bits = 32; bits <= 64; bits += 32) {
        size_t n = mc_stackstr_scan(data, size, bits, out, FZ_MAX_STRINGS);
        if (n > FZ_MAX_STRINGS)
            abort();
        for (size_t i = 0; i < n; i++) {
            const mc_stackstr *s = &out[i];
            if (s->len > MC_STACKSTR_MAX || s->offset >= size || s->key.n > MC_STACKSTR_MAX_STEPS)
                abort();
            size_t len = 0;
            mc_ss_key used;
            fz_sink += mc_stackstr_decode(s, printable, NULL, dec, sizeof dec, &len, &used) + len;
            fz_sink += mc_stackstr_decode(s, NULL, NULL, dec, sizeof dec, &len, NULL) + len;
            if (len > s->len)
                abort();
            mc_stackstr_apply(&s->key, s->raw, s->len, dec);
            fz_sink += dec[0];
        }
    }
    return 0;
}
