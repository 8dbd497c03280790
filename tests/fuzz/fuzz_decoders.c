/* Every family decoder through mc_engine_scan (the registry, so families added to
 * decoders/decoder_list.h are fuzzed without touching this file). Input: a mode byte, a selector
 * byte, then the bytes that become a raw region at FZ_BASE.
 *
 * The selector picks the engine: sel % (nfams + 1) < nfams is an engine holding that one family
 * (so an execution pays only for that family's rules and decoder, and the .NET families' PBKDF2
 * does not tax every other input), nfams is the engine holding every family (cross-family paths:
 * shared per-dump state, a salt credited to another family, record merging).
 * MEMCFG_FUZZ_FAMILY=<name> narrows the harness to one family.
 *
 * The mode byte (% 3) shapes the region:
 *   0  the bytes as they are (seeds: fixture images and dumps);
 *   1  one literal string of the family's YARA rules spliced into the bytes, so that its locators
 *      fire and the decoder reads hostile bytes around a real marker;
 *   2  every literal of the family, each followed by a slice of the bytes (rules that need
 *      several markers match, the decoder parses hostile data behind each).
 * For the all-families engine, modes 1 and 2 take the literals of family
 * (sel / (nfams + 1)) % nfams. The literals are extracted from each decoder's embedded rule source
 * at start-up: text strings (escapes, wide) and hex strings (wildcards as zero nibbles, jumps as
 * their minimum length, the first branch of an alternative).
 *
 * PBKDF2 (50000 rounds, ~0.3 s under ASan) dominates the .NET decoders, and a mutated input nearly
 * always keeps the passwords of its parent: mc_pbkdf2_sha1 is wrapped (-Wl,--wrap, see
 * meson.build) with a process-lifetime memo of every derivation, so only a new (password, salt,
 * rounds) costs a real one. The decoders' code paths are unchanged; only OpenSSL's recomputation
 * of an identical derivation is skipped. With FUZZ_KDF_CACHE=<file> (run.sh sets it) the memo also
 * survives the process: every derivation is appended there and loaded at start-up, so re-reading
 * a grown corpus does not pay for its passwords again. One process per file: a second fuzzer on the
 * same corpus takes a file of its own (a copy is fine), since start-up cuts a record that another
 * process is still writing as a torn tail.
 *
 * A derivation that does run costs ~1 s under ASan, nearly all of it OpenSSL's own allocations
 * (it copies its HMAC contexts every round: 50000 rounds, several mallocs each, every one through
 * the ASan allocator with a stack trace and the quarantine). OpenSSL is not instrumented and
 * those blocks never leave PKCS5_PBKDF2_HMAC, so while the wrapper runs a derivation, OpenSSL's
 * allocation hooks (CRYPTO_set_mem_functions) take them from glibc directly; everything else
 * OpenSSL allocates, and all the decoders' memory, stays on the ASan heap (leaks included). */
#include "fuzz_common.h"
#include "memcfg.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static mc_engine **engines;     /* [0, nfams): one family each; [nfams]: every family */
static fz_family *fams;
static size_t nfams;

/* ---- OpenSSL's allocations during a real derivation (see the header comment) ---- */

void *__libc_malloc(size_t n);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static _Thread_local bool in_kdf;   /* this thread is inside __real_mc_pbkdf2_sha1 */

/* The glibc blocks alive now, an open-addressing set (linear probing, deletion by backward
 * shift). A free looks its pointer up here; asking ASan instead (__sanitizer_get_ownership)
 * walks every large ASan block on each call and was 61% of the harness's time (perf). These
 * functions run for every allocation OpenSSL makes: they are left out of the coverage
 * instrumentation, whose callbacks on each probe cost more than the probe. A block that does not
 * fit comes from ASan's heap. */
#define FZ_GLIBC_SLOTS 4096u   /* power of two; at most half used */
#ifdef __clang__
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FZ_NOCOV
#endif
static void *glibc_live[FZ_GLIBC_SLOTS];
static size_t glibc_nlive;
static pthread_mutex_t glibc_lock = PTHREAD_MUTEX_INITIALIZER;

FZ_NOCOV static size_t glibc_slot(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 52) & (FZ_GLIBC_SLOTS - 1);
}

/* The slot holding p, or the empty slot where it would go. Caller holds glibc_lock. */
FZ_NOCOV static size_t glibc_find(const void *p)
{
    size_t i = glibc_slot(p);
    while (glibc_live[i] && glibc_live[i] != p)
        i = (i + 1) & (FZ_GLIBC_SLOTS - 1);
    return i;
}

FZ_NOCOV static bool glibc_add(void *p)
{
    pthread_mutex_lock(&glibc_lock);
    bool ok = glibc_nlive < FZ_GLIBC_SLOTS / 2;
    if (ok) {
        glibc_live[glibc_find(p)] = p;
        glibc_nlive++;
    }
    pthread_mutex_unlock(&glibc_lock);
    return ok;
}

/* Forgets p; true if it was a glibc block. Caller holds glibc_lock. */
FZ_NOCOV static bool glibc_take_locked(const void *p)
{
    size_t i = glibc_find(p);
    if (!glibc_live[i])
        return false;
    glibc_live[i] = NULL;
    glibc_nlive--;
    /* Backward shift: move up every entry of the cluster that the hole cuts off from its slot. */
    for (size_t j = (i + 1) & (FZ_GLIBC_SLOTS - 1); glibc_live[j];
         j = (j + 1) & (FZ_GLIBC_SLOTS - 1)) {
        size_t home = glibc_slot(glibc_live[j]);
        if (((j - home) & (FZ_GLIBC_SLOTS - 1)) >= ((j - i) & (FZ_GLIBC_SLOTS - 1))) {
            glibc_live[i] = glibc_live[j];
            glibc_live[j] = NULL;
            i = j;
        }
    }
    return true;
}

FZ_NOCOV static void *crypto_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    if (!in_kdf)
        return malloc(n);
    void *p = __libc_malloc(n);
    if (p && !glibc_add(p)) {
        __libc_free(p);
        return malloc(n);
    }
    return p;
}

/* A block keeps the allocator it came from. */
FZ_NOCOV static void *crypto_realloc(void *p, size_t n, const char *file, int line)
{
    if (!p)
        return crypto_malloc(n, file, line);
    pthread_mutex_lock(&glibc_lock);
    bool mine = glibc_take_locked(p);
    void *q = mine ? __libc_realloc(p, n) : NULL;
    if (mine) {   /* the slot p left is free: re-adding q (or p, still live) cannot fail */
        glibc_live[glibc_find(q ? q : p)] = q ? q : p;
        glibc_nlive++;
    }
    pthread_mutex_unlock(&glibc_lock);
    return mine ? q : realloc(p, n);
}

FZ_NOCOV static void crypto_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    pthread_mutex_lock(&glibc_lock);
    bool mine = p && glibc_take_locked(p);
    pthread_mutex_unlock(&glibc_lock);
    if (mine)
        __libc_free(p);
    else
        free(p);
}

/* ---- process-lifetime PBKDF2 memo (see the header comment) ---- */

bool __real_mc_pbkdf2_sha1(const char *password, size_t password_len, const uint8_t *salt,
                           size_t salt_len, unsigned iterations, uint8_t *out, size_t out_len);
bool __wrap_mc_pbkdf2_sha1(const char *password, size_t password_len, const uint8_t *salt,
                           size_t salt_len, unsigned iterations, uint8_t *out, size_t out_len);

typedef struct fz_kdf {
    struct fz_kdf *next;
    uint64_t hash;
    size_t pw_len, salt_len, dk_len;
    unsigned iterations;
    uint8_t *pw, *salt, *dk;
} fz_kdf;

#define FZ_KDF_BUCKETS 4096u
#define FZ_KDF_MAX_BYTES (64u << 20)  /* forget everything past this (never hit in practice) */
#define FZ_KDF_MAX_FIELD (1u << 20)   /* longest password, salt or dk kept on disk */
static fz_kdf *kdf_tab[FZ_KDF_BUCKETS];
static size_t kdf_bytes;
static unsigned long kdf_hits, kdf_misses;
static FILE *kdf_file;                /* FUZZ_KDF_CACHE, open for appending */
static pthread_mutex_t kdf_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t kdf_key(unsigned iterations, const void *pw, size_t pw_len, const void *salt,
                        size_t salt_len)
{
    uint64_t h = fnv(0xcbf29ce484222325ull, &iterations, sizeof iterations);
    h = fnv(fnv(h, &pw_len, sizeof pw_len), pw, pw_len);
    return fnv(fnv(h, &salt_len, sizeof salt_len), salt, salt_len);
}

static void kdf_clear(void)
{
    for (size_t i = 0; i < FZ_KDF_BUCKETS; i++)
        while (kdf_tab[i]) {
            fz_kdf *e = kdf_tab[i];
            kdf_tab[i] = e->next;
            free(e->pw), free(e->salt), free(e->dk), free(e);
        }
    kdf_bytes = 0;
}

/* The entry for (iterations, pw, salt), or NULL. Caller holds kdf_lock. */
static fz_kdf *kdf_find(uint64_t h, unsigned iterations, const void *pw, size_t pw_len,
                        const void *salt, size_t salt_len)
{
    fz_kdf *e = kdf_tab[h % FZ_KDF_BUCKETS];
    while (e && !(e->hash == h && e->iterations == iterations && e->pw_len == pw_len &&
                  e->salt_len == salt_len && !memcmp(e->pw, pw, pw_len) &&
                  !memcmp(e->salt, salt, salt_len)))
        e = e->next;
    return e;
}

/* Remember dk (PBKDF2 output is prefix-stable: an entry serves any length up to its own, and a
 * longer derivation replaces a shorter one). Caller holds kdf_lock. */
static void kdf_store(unsigned iterations, const void *pw, size_t pw_len, const void *salt,
                      size_t salt_len, const uint8_t *dk, size_t dk_len)
{
    uint64_t h = kdf_key(iterations, pw, pw_len, salt, salt_len);
    fz_kdf *e = kdf_find(h, iterations, pw, pw_len, salt, salt_len);
    if (e && e->dk_len >= dk_len)
        return;
    uint8_t *d = malloc(dk_len);
    if (!d)
        return;
    memcpy(d, dk, dk_len);
    if (e) {
        kdf_bytes += dk_len - e->dk_len;
        free(e->dk);
        e->dk = d, e->dk_len = dk_len;
        return;
    }
    if (kdf_bytes > FZ_KDF_MAX_BYTES)
        kdf_clear();
    e = calloc(1, sizeof *e);
    uint8_t *p = malloc(pw_len + 1), *s = malloc(salt_len + 1);
    if (!e || !p || !s) {
        free(e), free(p), free(s), free(d);
        return;
    }
    memcpy(p, pw, pw_len);
    memcpy(s, salt, salt_len);
    *e = (fz_kdf){.next = kdf_tab[h % FZ_KDF_BUCKETS], .hash = h, .pw_len = pw_len,
                  .salt_len = salt_len, .dk_len = dk_len, .iterations = iterations, .pw = p,
                  .salt = s, .dk = d};
    kdf_tab[h % FZ_KDF_BUCKETS] = e;
    kdf_bytes += sizeof *e + pw_len + salt_len + dk_len + 2;
}

/* On disk, one record per derivation: u32 iterations, pw_len, salt_len, dk_len; u64 FNV of those
 * and the bytes; pw, salt, dk. A record cut short or not matching its hash ends the load, and the
 * file is cut back to the last good record before appending (a process killed in the middle of a
 * record larger than stdio's buffer leaves a torn tail, behind which no later record would load). */
static uint64_t kdf_rec_hash(const uint32_t hdr[4], const uint8_t *bytes)
{
    return fnv(fnv(0xcbf29ce484222325ull, hdr, 4 * sizeof hdr[0]), bytes,
               (size_t)hdr[1] + hdr[2] + hdr[3]);
}

static void kdf_append(unsigned iterations, const void *pw, size_t pw_len, const void *salt,
                       size_t salt_len, const uint8_t *dk, size_t dk_len)
{
    if (!kdf_file || pw_len > FZ_KDF_MAX_FIELD || salt_len > FZ_KDF_MAX_FIELD ||
        dk_len > FZ_KDF_MAX_FIELD)
        return;
    uint32_t hdr[4] = {iterations, (uint32_t)pw_len, (uint32_t)salt_len, (uint32_t)dk_len};
    size_t n = pw_len + salt_len + dk_len;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return;
    memcpy(b, pw, pw_len);
    memcpy(b + pw_len, salt, salt_len);
    memcpy(b + pw_len + salt_len, dk, dk_len);
    uint64_t rh = kdf_rec_hash(hdr, b);
    fwrite(hdr, sizeof hdr, 1, kdf_file);
    fwrite(&rh, sizeof rh, 1, kdf_file);
    fwrite(b, 1, n, kdf_file);
    fflush(kdf_file);
    free(b);
}

static void kdf_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t loaded = 0;
    long good = 0;   /* file offset just past the last good record; -1: do not cut */
    while (f) {
        uint32_t hdr[4];
        uint64_t rh;
        if (fread(hdr, sizeof hdr, 1, f) != 1 || fread(&rh, sizeof rh, 1, f) != 1 ||
            hdr[1] > FZ_KDF_MAX_FIELD || hdr[2] > FZ_KDF_MAX_FIELD || hdr[3] == 0 ||
            hdr[3] > FZ_KDF_MAX_FIELD)
            break;
        size_t n = (size_t)hdr[1] + hdr[2] + hdr[3];
        uint8_t *b = malloc(n);
        if (!b) {   /* out of memory says nothing of the file: keep it whole */
            good = -1;
            break;
        }
        bool ok = fread(b, 1, n, f) == n && kdf_rec_hash(hdr, b) == rh;
        if (ok) {
            kdf_store(hdr[0], b, hdr[1], b + hdr[1], hdr[2], b + hdr[1] + hdr[2], hdr[3]);
            loaded++;
        }
        free(b);
        if (!ok)
            break;
        good = ftell(f);
    }
    bool torn = f && good >= 0 && fseek(f, 0, SEEK_END) == 0 && ftell(f) > good;
    if (f)
        fclose(f);
    if (torn && truncate(path, good) != 0)
        fprintf(stderr, "fuzz_decoders: PBKDF2 cache %s: cannot cut its torn tail\n", path);
    kdf_file = fopen(path, "ab");
    fprintf(stderr, "fuzz_decoders: PBKDF2 cache %s: %zu derivations loaded%s\n", path, loaded,
            torn ? " (a torn tail was cut off)" : "");
}

bool __wrap_mc_pbkdf2_sha1(const char *password, size_t password_len, const uint8_t *salt,
                           size_t salt_len, unsigned iterations, uint8_t *out, size_t out_len)
{
    if (!out || !out_len || (password_len && !password) || (salt_len && !salt))
        return __real_mc_pbkdf2_sha1(password, password_len, salt, salt_len, iterations, out,
                                     out_len);
    uint64_t h = kdf_key(iterations, password, password_len, salt, salt_len);
    pthread_mutex_lock(&kdf_lock);
    fz_kdf *e = kdf_find(h, iterations, password, password_len, salt, salt_len);
    if (e && e->dk_len >= out_len) {
        memcpy(out, e->dk, out_len);
        kdf_hits++;
        pthread_mutex_unlock(&kdf_lock);
        return true;
    }
    pthread_mutex_unlock(&kdf_lock);
    in_kdf = true;
    bool ok = __real_mc_pbkdf2_sha1(password, password_len, salt, salt_len, iterations, out, out_len);
    in_kdf = false;
    if (!ok)
        return false;
    pthread_mutex_lock(&kdf_lock);
    kdf_misses++;
    kdf_store(iterations, password, password_len, salt, salt_len, out, out_len);
    kdf_append(iterations, password, password_len, salt, salt_len, out, out_len);
    pthread_mutex_unlock(&kdf_lock);
    return true;
}

static void kdf_report(void)
{
    fprintf(stderr, "fuzz_decoders: PBKDF2 memo: %lu hits, %lu derivations, %zu bytes\n", kdf_hits,
            kdf_misses, kdf_bytes);
}

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

static mc_engine *engine_for(const char *const *families, size_t n)
{
    mc_engine_opts o = {
        .families = families, .nfamilies = n,
        .timeout = 20,
        .open = {.force_format = MD_FMT_RAW, .raw_base = FZ_BASE, .has_raw_base = true},
    };
    mc_engine *e = NULL;
    char err[512];
    if (mc_engine_new(&o, &e, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: engine: %s\n", err);
        abort();
    }
    return e;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* Before OpenSSL allocates anything (it refuses the hooks afterwards). */
    if (!CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free))
        fprintf(stderr, "fuzz_decoders: OpenSSL allocation hooks refused; PBKDF2 runs on ASan's heap\n");
    const char *only = getenv("MEMCFG_FUZZ_FAMILY");
    if (only && !*only)
        only = NULL;
    size_t n = mc_decoder_count();
    size_t first = 0;
    if (only) {
        const mc_decoder *d = mc_decoder_find(only);
        while (first < n && mc_decoders[first] != d)
            first++;
        if (first == n) {
            fprintf(stderr, "fuzz: MEMCFG_FUZZ_FAMILY=%s: no such family\n", only);
            abort();
        }
        n = 1;
    }
    nfams = n;
    fams = calloc(nfams ? nfams : 1, sizeof *fams);
    engines = calloc(nfams + 1, sizeof *engines);
    if (!fams || !engines)
        abort();
    for (size_t i = 0; i < nfams; i++) {
        const mc_decoder *d = mc_decoders[first + i];
        parse_rules(d->rules, &fams[i]);
        engines[i] = engine_for(&d->family, 1);
    }
    engines[nfams] = only ? engines[0] : engine_for(NULL, 0);
    /* One derivation on the ASan heap first, so that what OpenSSL fetches and caches for
     * PBKDF2-HMAC-SHA1 (kept for the process) lives there and leak checks see through it. */
    uint8_t warm[20];
    if (!__real_mc_pbkdf2_sha1("warm", 4, (const uint8_t *)"up", 2, 2, warm, sizeof warm))
        abort();
    const char *cache = getenv("FUZZ_KDF_CACHE");
    if (cache && *cache)
        kdf_load(cache);
    atexit(kdf_report);
    return 0;
}

/* Builds the region for shapes 1 and 2; returns its length. */
static size_t build(uint8_t mode, size_t fam, size_t lit, const uint8_t *data, size_t size,
                    uint8_t *out)
{
    const fz_family *f = &fams[fam];
    if (!f->nlit) {
        memcpy(out, data, size);
        return size;
    }
    size_t o = 0;
    if (mode == 1) {
        const fz_lit *l = &f->lit[lit % f->nlit];
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
    size_t k = sel % (nfams + 1), fam = k < nfams ? k : (size_t)(sel / (nfams + 1)) % nfams;
    size_t lit = sel / (nfams + 1);
    uint8_t *buf = malloc(size + FZ_MAX_LITS * (FZ_MAX_LIT + 2) + 1);
    if (!buf)
        return 0;
    size_t len = mode == 0 ? (memcpy(buf, data, size), size)
                           : build(mode, fam, lit, data, size, buf);
    if (len) {
        mc_input in = {.path = "fuzz", .mem = buf, .memlen = len};
        mc_input_result res;
        mc_engine_scan(engines[k], &in, &res);
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
