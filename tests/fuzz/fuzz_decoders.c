/* Every family decoder through mc_engine_scan. One engine holds every registered family (the
 * registry, so families added to decoders/decoder_list.h are fuzzed without touching this file;
 * MEMCFG_FUZZ_FAMILY=<name> narrows it to one). The input becomes a raw region at FZ_BASE in one
 * of three shapes, chosen by the first byte:
 *   0  the bytes as they are (seeds: fixture images and dumps);
 *   1  one literal string of a family's YARA rules spliced into the bytes, so that its locators
 *      fire and the decoder reads hostile bytes around a real marker;
 *   2  every literal of one family, each followed by a slice of the bytes (rules that need
 *      several markers match, the decoder parses hostile data behind each).
 * The literals are extracted from each decoder's embedded rule source at start-up: text strings
 * (escapes, wide) and hex strings (wildcards as zero nibbles, jumps as their minimum length,
 * the first branch of an alternative). */
#include "fuzz_common.h"
#include "memcfg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_LITS 64
#define FZ_MAX_LIT 256

typedef struct fz_lit {
    uint8_t b[FZ_MAX_LIT];
    size_t n;
} fz_lit;

typedef struct fz_family {
    fz_lit lit[FZ_MAX_LITS];
    size_t nlit;
} fz_family;

static mc_engine *engine;
static fz_family *fams;
static size_t nfams;

static void lit_put(fz_lit *l, uint8_t c, bool wide)
{
    if (l->n + (wide ? 2 : 1) > FZ_MAX_LIT)
        return;
    l->b[l->n++] = c;
    if (wide)
        l->b[l->n++] = 0;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : 0;
}

/* "text" with YARA escapes; p points after the opening quote. */
static const char *parse_text(const char *p, fz_lit *l)
{
    const char *s = p;
    while (*p && *p != '"')
        p += (*p == '\\' && p[1]) ? 2 : 1;
    const char *end = p;
    const char *eol = strchr(end, '\n');
    size_t rest = eol ? (size_t)(eol - end) : strlen(end);
    char mods[128] = "";
    memcpy(mods, end, rest < sizeof mods - 1 ? rest : sizeof mods - 1);
    bool wide = strstr(mods, "wide") && !strstr(mods, "ascii");
    for (p = s; p < end; p++) {
        uint8_t c = (uint8_t)*p;
        if (c == '\\' && p + 1 < end) {
            char e = *++p;
            if (e == 'x' && p + 2 < end) {
                c = (uint8_t)(hexval(p[1]) << 4 | hexval(p[2]));
                p += 2;
            } else {
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : (uint8_t)e;
            }
        }
        lit_put(l, c, wide);
    }
    return *end ? end + 1 : end;
}

/* { hex } ; p points after the brace. */
static const char *parse_hex(const char *p, fz_lit *l)
{
    int depth = 0;
    while (*p && *p != '}') {
        if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            depth--;
        } else if (*p == '|' && depth > 0) {
            /* keep the first alternative: skip to the group's end */
            while (*p && *p != ')')
                p++;
            continue;
        } else if (*p == '[') {
            unsigned n = (unsigned)strtoul(p + 1, NULL, 10);
            for (unsigned i = 0; i < n && i < 64; i++)
                lit_put(l, 0, false);
            while (*p && *p != ']')
                p++;
        } else if (*p == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 1 : p + strlen(p) - 1;
        } else if (isxdigit((unsigned char)*p) || *p == '?') {
            int hi = *p == '?' ? 0 : hexval(*p);
            int lo = p[1] == '?' ? 0 : hexval(p[1]);
            lit_put(l, (uint8_t)(hi << 4 | lo), false);
            p++;
        }
        if (*p)
            p++;
    }
    return p;
}

static void parse_rules(const char *src, fz_family *f)
{
    for (const char *p = src; p && *p && f->nlit < FZ_MAX_LITS; p++) {
        if (*p != '$' || !(isalnum((unsigned char)p[1]) || p[1] == '_'))
            continue;
        const char *q = p + 1;
        while (isalnum((unsigned char)*q) || *q == '_' || *q == '*')
            q++;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        fz_lit *l = &f->lit[f->nlit];
        l->n = 0;
        if (*q == '"')
            q = parse_text(q + 1, l);
        else if (*q == '{')
            q = parse_hex(q + 1, l);
        else
            continue;
        if (l->n)
            f->nlit++;
        p = q - 1;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *only = getenv("MEMCFG_FUZZ_FAMILY");
    nfams = mc_decoder_count();
    fams = calloc(nfams ? nfams : 1, sizeof *fams);
    if (!fams)
        abort();
    for (size_t i = 0; i < nfams; i++)
        parse_rules(mc_decoders[i]->rules, &fams[i]);
    mc_engine_opts o = {
        .families = only ? &only : NULL, .nfamilies = only ? 1 : 0,
        .timeout = 20,
        .open = {.force_format = MD_FMT_RAW, .raw_base = FZ_BASE, .has_raw_base = true},
    };
    char err[512];
    if (mc_engine_new(&o, &engine, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: engine: %s\n", err);
        abort();
    }
    if (only) {
        const mc_decoder *d = mc_decoder_find(only);
        size_t k = 0;
        while (k < nfams && mc_decoders[k] != d)
            k++;
        if (k == nfams)
            abort();
        fams[0] = fams[k];
        nfams = 1;
    }
    return 0;
}

/* Builds the region for shapes 1 and 2; returns its length. */
static size_t build(uint8_t mode, uint8_t sel, const uint8_t *data, size_t size, uint8_t *out)
{
    const fz_family *f = &fams[sel % nfams];
    if (!f->nlit) {
        memcpy(out, data, size);
        return size;
    }
    size_t o = 0;
    if (mode == 1) {
        const fz_lit *l = &f->lit[(sel / nfams) % f->nlit];
        size_t at = size ? (size_t)data[0] * size / 256 : 0;
        memcpy(out, data, at);
        o = at;
        out[o++] = 0;
        memcpy(out + o, l->b, l->n);
        o += l->n;
        out[o++] = 0;
        memcpy(out + o, data + at, size - at);
        return o + size - at;
    }
    size_t per = size / f->nlit, at = 0;
    for (size_t i = 0; i < f->nlit; i++) {
        size_t take = i + 1 == f->nlit ? size - at : per;
        out[o++] = 0;
        memcpy(out + o, f->lit[i].b, f->lit[i].n);
        o += f->lit[i].n;
        out[o++] = 0;
        memcpy(out + o, data + at, take);
        o += take, at += take;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || !nfams)
        return 0;
    uint8_t mode = data[0] % 3, sel = data[1];
    data += 2, size -= 2;
    uint8_t *buf = malloc(size + FZ_MAX_LITS * (FZ_MAX_LIT + 2) + 1);
    if (!buf)
        return 0;
    size_t len = mode == 0 ? (memcpy(buf, data, size), size) : build(mode, sel, data, size, buf);
    if (len) {
        mc_input in = {.path = "fuzz", .mem = buf, .memlen = len};
        mc_input_result res;
        mc_engine_scan(engine, &in, &res);
        for (size_t i = 0; i < res.nrecords; i++) {
            char *s = json_dumps(res.records[i], JSON_COMPACT);
            if (!s)
                abort();
            fz_sink += strlen(s);
            free(s);
        }
        mc_input_result_clear(&res);
    }
    free(buf);
    return 0;
}
