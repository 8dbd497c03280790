/* DcRat: the Settings .cctor of the .NET client (families.md §3). The decoding is shared with
 * the other Aes256-family RATs in lib/aesrat.c; the salt that verifies the HMAC names the family
 * of each config.
 *
 * Not DarkCrystal RAT ("DCRat", §3.7): that family keeps its settings as one base64 KEY:VALUE
 * string (`MHost:…,MX:DCR_MUTEX-…`) and shares nothing with this one but the name; the rules
 * exclude its markers and the decoder only accepts a config whose Aes256 HMAC verifies. */
#include "decoder.h"
#include "lib/mc_aesrat.h"

extern const char mc_rules_dcrat[];

static int dcrat_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits, mc_results *out)
{
    return mc_aesrat_decode(ctx, d, hits, out, "dcrat");
}

const mc_decoder mc_decoder_dcrat = {
    .family = "dcrat",
    .display = "DcRat",
    .version = "1.0",
    .category = "rat",
    .rules = mc_rules_dcrat,
    .decode = dcrat_decode,
};
