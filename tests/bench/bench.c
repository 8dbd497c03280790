/* Benchmark helper (never run at full size by the test suite; see run.sh).
 *
 *   bench gen OUT MIB [DOTNET_DIR [--all]]
 *                                    a full minidump of about MIB MiB as a live process holds it:
 *                                    one sample of every family mapped (the .NET ones from
 *                                    DOTNET_DIR, the native ones built here), a managed heap with
 *                                    their decrypted strings and derived keys among filler
 *                                    objects, then heaps, stacks, zero pages, code and text.
 *                                    --all: every assembly in DOTNET_DIR instead (look-alikes and
 *                                    templates included), no heap: a decoder stress case
 *   bench rules DIR                  the bundled rule sources, exactly as memcfg compiles them, as
 *                                    DIR/<family>.yar (one namespace per family)
 *   bench check DUMP                 hits of the parallel scan (1, 2, 4 threads, two item sizes)
 *                                    against the reference one-scanner pass; exit 1 on a mismatch
 *   bench smoke [DOTNET_DIR]         gen 16 MiB into a temp file, then check (suite 'bench')
 */
#include "fixtures/fx.h"
#include "fixtures/fx_lumma.h"
#include "fixtures/fx_native.h"
#include "fixtures/fx_rokrat.h"
#include "fixtures/fx_vidar.h"
#include "lib/mc_aesrat.h"
#include "mc_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGION_MAX 64

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct gen {
    uint8_t *arena;
    size_t size, used;
    fx_region *reg;
    size_t nreg, cap;
    uint64_t va;
} gen;

static uint8_t *add_region(gen *g, size_t size, uint32_t protect, uint32_t type)
{
    size = (size + 0xfff) & ~(size_t)0xfff;
    if (g->used + size > g->size)
        return NULL;
    if (g->nreg == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->reg = realloc(g->reg, g->cap * sizeof *g->reg);
        if (!g->reg)
            abort();
    }
    uint8_t *p = g->arena + g->used;
    g->reg[g->nreg++] = (fx_region){.va = g->va, .data = p, .size = size, .protect = protect,
                                    .type = type};
    g->used += size;
    /* a gap after most regions, so runs have many sizes */
    g->va += size + (next() % 3 ? 0x10000 : 0);
    return p;
}

/* Bytes that look like code: short opcode-ish words repeated with small variations. */
static void fill_code(uint8_t *p, size_t n)
{
    static const uint8_t ops[] = {0x55, 0x8b, 0xec, 0x83, 0xec, 0x48, 0x89, 0x5c, 0x24, 0x08,
                                  0xe8, 0xc3, 0xcc, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x48, 0x8d};
    for (size_t i = 0; i < n; i++)
        p[i] = (i & 7) == 3 ? (uint8_t)next() : ops[(i * 7 + (i >> 9)) % sizeof ops];
}

static void fill_text16(uint8_t *p, size_t n)
{
    static const char words[] = "C:\\Windows\\System32\\kernel32.dll Microsoft Corporation "
                                "HKEY_LOCAL_MACHINE\\Software\\Classes user32 settings ";
    for (size_t i = 0; i + 1 < n; i += 2) {
        p[i] = (uint8_t)words[(i / 2) % (sizeof words - 1)];
        p[i + 1] = 0;
    }
}

static bool read_file(const char *path, fx_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    uint8_t chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        fx_put(out, chunk, r);
    fclose(f);
    return out->len > 0;
}

/* A PE file (flat), mapped as the loader would at a 64 KiB boundary. */
static bool add_image(gen *g, const uint8_t *pe, size_t len, bool map)
{
    fx_buf img;
    fx_buf_init(&img);
    if (map)
        fx_pe_map(pe, len, &img);
    else
        fx_put(&img, pe, len);
    g->va = (g->va + 0xffff) & ~0xffffull;
    uint8_t *p = img.len ? add_region(g, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE) : NULL;
    if (p)
        memcpy(p, img.p, img.len);
    fx_buf_free(&img);
    return p != NULL;
}

/* The managed heap of a live process, as CLR objects: x64 layout, two method tables. */
#define MT_STRING 0x7ffb1a2b3c40ull
#define MT_BYTES 0x7ffb1a2b3d80ull

/* What the running sample holds on its heap, read off the fixture's generator template
 * (fixtures/dotnet/<name>.cs.in): every encrypted literal `@E:value@` as its decrypted CLR
 * string, and for the PBKDF2 families the Aes256 instance's derived keys as byte[] objects
 * (key, then the 64-byte HMAC key, allocated back to back). */
static void heap_of_sample(const char *template_path, fx_buf *heap)
{
    fx_buf src;
    fx_buf_init(&src);
    if (!read_file(template_path, &src)) {
        fx_buf_free(&src);
        return;
    }
    fx_put_u8(&src, 0);
    const char *t = (const char *)src.p;
    char salt_name[32] = "", scheme[32] = "", key[128] = "";
    const char *l1 = strstr(t, "// gen:");
    if (l1) {
        const char *v;
        if ((v = strstr(l1, "salt=")) && v < strchr(l1, '\n'))
            sscanf(v, "salt=%31s", salt_name);
        if ((v = strstr(l1, "scheme=")) && v < strchr(l1, '\n'))
            sscanf(v, "scheme=%31s", scheme);
        if ((v = strstr(l1, "key=")) && v < strchr(l1, '\n'))
            sscanf(v, "key=%127s", key);
    }
    for (const char *e = strstr(t, "@E:"); e; e = strstr(e, "@E:")) {
        const char *end = strchr(e + 3, '@');
        if (!end)
            break;
        char val[1024];
        size_t n = (size_t)(end - (e + 3));
        if (n > 0 && n < sizeof val) {
            memcpy(val, e + 3, n);
            val[n] = 0;
            fx_put_clr_string(heap, 8, MT_STRING, val);
        }
        e = end + 1;
    }
    const uint8_t *salt = NULL;
    size_t salt_len = 0, key_len = 32;
    if (strcmp(salt_name, "quasar") == 0 || strncmp(scheme, "pbkdf", 5) == 0) {
        salt = mc_aesrat_quasar_salt;
        salt_len = sizeof mc_aesrat_quasar_salt;
        key_len = strcmp(scheme, "pbkdf128") == 0 ? 16 : 32;
    } else if (strcmp(salt_name, "dcrat") == 0) {
        salt = (const uint8_t *)"DcRatByqwqdanchun";
        salt_len = 17;
    } else if (strcmp(salt_name, "venomrat") == 0) {
        salt = (const uint8_t *)"VenomRATByVenom";
        salt_len = 15;
    }
    uint8_t dk[96];
    if (salt && key[0] &&
        mc_pbkdf2_sha1(key, strlen(key), salt, salt_len, 50000, dk, key_len + 64)) {
        fx_put_clr_bytes(heap, 8, MT_BYTES, dk, key_len);
        fx_put_clr_bytes(heap, 8, MT_BYTES, dk + key_len, 64);
    }
    fx_buf_free(&src);
}

/* Filler objects between the sample's: short strings and arrays a .NET heap is full of. */
static void heap_filler(fx_buf *heap, size_t n)
{
    static const char *const words[] = {"System.Collections.Generic", "en-US", "Microsoft",
                                        "get_Length", "mscorlib", "0", "True", "kernel32.dll"};
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next();
        if (r & 1) {
            fx_put_clr_string(heap, 8, MT_STRING, words[(r >> 1) % 8]);
        } else {
            uint8_t tmp[96];
            size_t len = 1 + (r >> 8) % sizeof tmp;
            fx_fill_noise(tmp, len, r);
            fx_put_clr_bytes(heap, 8, MT_BYTES, tmp, len);
        }
    }
}

/* Realistic: one sample per .NET family, each mapped, with its heap objects. */
static const char *const dotnet_samples[] = {"quasar14", "asyncrat", "dcrat", "venomrat",
                                             "xworm5", "redline"};

static size_t add_dotnet(gen *g, const char *dir, bool all, fx_buf *heap)
{
    char **names = NULL;
    size_t n = 0;
    if (all) {
        DIR *dh = dir ? opendir(dir) : NULL;
        struct dirent *de;
        while (dh && (de = readdir(dh))) {
            size_t l = strlen(de->d_name);
            if (l > 4 && strcmp(de->d_name + l - 4, ".exe") == 0) {
                names = realloc(names, (n + 1) * sizeof *names);
                names[n++] = strndup(de->d_name, l - 4);
            }
        }
        if (dh)
            closedir(dh);
        qsort(names, n, sizeof *names, (int (*)(const void *, const void *))strcmp);
    } else {
        n = sizeof dotnet_samples / sizeof dotnet_samples[0];
        names = malloc(n * sizeof *names);
        for (size_t i = 0; i < n; i++)
            names[i] = strdup(dotnet_samples[i]);
    }
    size_t added = 0;
    for (size_t i = 0; dir && i < n; i++) {
        char path[4096];
        fx_buf pe;
        fx_buf_init(&pe);
        snprintf(path, sizeof path, "%s/%s.exe", dir, names[i]);
        if (read_file(path, &pe) && pe.len > 0x200 && add_image(g, pe.p, pe.len, true))
            added++;
        fx_buf_free(&pe);
        heap_filler(heap, 40);
        if (!all) {
            snprintf(path, sizeof path, "%s/%s.cs.in", dir, names[i]);
            heap_of_sample(path, heap);
        }
        free(names[i]);
    }
    free(names);
    return added;
}

/* One sample of each native family, mapped. */
static size_t add_native(gen *g)
{
    static const uint8_t key32[32] = {0x4d, 0x43, 0x46, 0x47, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
                                      27, 28};
    static const uint8_t nonce[8] = {0x6e, 0x6f, 0x6e, 0x63, 0x65, 0x30, 0x30, 0x31};
    static const uint8_t key16[16] = {0x56, 0x49, 0x44, 0x41, 0x52, 0x2d, 0x62, 0x65,
                                      0x6e, 0x63, 0x68, 0x2d, 0x6b, 0x65, 0x79, 0x21};
    static const char *const rc_c2[] = {"192.0.2.10:2404:1", "bench.example:443:0"};
    static const char *const lm_c2[] = {"lumma-a.example/api", "lumma-b.example/api",
                                        "198.51.100.77/api"};
    static const fx_vidar_c2 vd_c2[] = {{"http://203.0.113.40:8080/", "bench", "Mozilla/5.0 bench"}};
    static const char *const rk_ascii[] = {"https://api.pcloud.com/getfilelink?path=%s"};
    fx_remcos rc = {.gen = FX_RC_GEN_NEW, .c2 = rc_c2, .nc2 = 2, .botnet = "bench",
                    .mutex = "Rmc-BENCH01", .version = "4.9.3 Pro", .licence = "0123456789ABCDEF",
                    .key = key32, .keylen = 20};
    fx_lumma lm = {.era = FX_LUMMA_C_TABLE, .c2 = lm_c2, .nc2 = 3, .user_id = "benchUser",
                   .build_id = "benchBuild", .key = key32, .nonce = nonce};
    fx_vidar vd = {.era = 3, .version = "1.8", .build_id = "bench_1", .c2 = vd_c2, .nc2 = 1,
                   .key16 = key16, .seed = 7};
    fx_rokrat rk = {.variant = FX_ROK_2021_X64, .ascii_endpoints = rk_ascii, .nascii = 1,
                    .encoded_url = "https://api.pcloud.com/listfolder?path=/",
                    .stack_url = "https://content.dropboxapi.com/2/files/upload"};
    size_t added = 0;
    for (int k = 0; k < 4; k++) {
        g->va = (g->va + 0xffff) & ~0xffffull;
        fx_buf img;
        fx_buf_init(&img);
        switch (k) {
        case 0: fx_remcos_image(&rc, true, g->va, &img); break;
        case 1: fx_lumma_image(&lm, true, g->va, &img); break;
        case 2: fx_vidar_image(&vd, true, g->va, &img); break;
        default: fx_rokrat_image(&rk, true, g->va, &img); break;
        }
        uint8_t *p = img.len ? add_region(g, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE) : NULL;
        if (p) {
            memcpy(p, img.p, img.len);
            added++;
        }
        fx_buf_free(&img);
    }
    return added;
}

static int cmd_gen(const char *out, unsigned long mib, const char *dotnet, bool all)
{
    gen g = {.size = (size_t)mib << 20, .va = 0x10000};
    g.arena = calloc(1, g.size);
    if (!g.arena)
        return 2;
    fx_buf heap;
    fx_buf_init(&heap);
    size_t images = add_dotnet(&g, dotnet, all, &heap);
    size_t natives = all ? 0 : add_native(&g);
    if (heap.len) {
        heap_filler(&heap, 200);
        g.va = 0x2a000000;
        uint8_t *p = add_region(&g, heap.len, MD_PAGE_READWRITE, MD_MEM_PRIVATE);
        if (p)
            memcpy(p, heap.p, heap.len);
    }
    fx_buf_free(&heap);
    g.va = 0x7ff000000000ull;
    while (g.used + 0x1000 < g.size) {
        size_t left = g.size - g.used;
        size_t sz = (size_t)(0x10000ull << (next() % 8));   /* 64 KiB .. 8 MiB */
        if (sz > left)
            sz = left & ~(size_t)0xfff;
        unsigned kind = (unsigned)(next() % 20);
        uint8_t *p = add_region(&g, sz, kind < 8 ? MD_PAGE_EXECUTE_READ : MD_PAGE_READWRITE,
                                kind < 8 ? MD_MEM_IMAGE : MD_MEM_PRIVATE);
        if (!p)
            break;
        if (kind < 7)
            continue;                       /* 35 %: zero pages */
        else if (kind < 15)
            fill_code(p, sz);               /* 40 %: image-like bytes */
        else if (kind < 18)
            fx_fill_noise(p, sz, next());   /* 15 %: heaps with random data */
        else
            fill_text16(p, sz);             /* 10 %: UTF-16 text */
    }
    fx_process proc = {.pid = 4242, .arch = MD_ARCH_AMD64, .regions = g.reg,
                       .nregions = g.nreg};
    fx_buf b;
    fx_buf_init(&b);
    fx_minidump(&proc, FX_MD_FULL, &b);
    bool ok = fx_write_file(out, &b);
    fprintf(stderr, "bench gen: %s: %zu regions, %zu .NET images, %zu native images, %.1f MiB\n",
            out, g.nreg, images, natives, b.len / 1048576.0);
    fx_buf_free(&b);
    free(g.reg);
    free(g.arena);
    return ok ? 0 : 2;
}

/* Every registered decoder's rules, as the engine assembles them by default. */
static int bundled(mc_rule_srcs *s)
{
    return mc_rule_srcs_add_bundled(s, mc_decoders, mc_decoder_count());
}

static int cmd_rules(const char *dir)
{
    mc_rule_srcs s = {0};
    int rc = bundled(&s);
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, s.v[i].name);
        FILE *f = fopen(path, "w");
        if (!f || fwrite(s.v[i].text, 1, s.v[i].len, f) != s.v[i].len)
            rc = -1;
        if (f && fclose(f) != 0)
            rc = -1;
        if (rc == 0)
            printf("%s:%s\n", s.v[i].ns, path);
    }
    mc_rule_srcs_free(&s);
    return rc ? 2 : 0;
}

static bool same(const mc_scan *a, const mc_scan *b)
{
    if (a->nhits != b->nhits || a->nmatched != b->nmatched)
        return false;
    for (size_t i = 0; i < a->nmatched; i++)
        if (a->matched[i] != b->matched[i])
            return false;
    for (size_t i = 0; i < a->nhits; i++) {
        const mc_hit *x = &a->hits[i], *y = &b->hits[i];
        if (x->va != y->va || x->len != y->len || strcmp(x->rule, y->rule) ||
            strcmp(x->string_id, y->string_id) || strcmp(x->ns, y->ns))
            return false;
    }
    return true;
}

static int cmd_check(const char *path)
{
    if (mc_yara_acquire() != 0)
        return 2;
    mc_rule_srcs s = {0};
    mc_ruledb db;
    char err[512];
    if (bundled(&s) != 0 || mc_ruledb_compile(&s, false, NULL, NULL, &db, err, sizeof err)) {
        fprintf(stderr, "bench check: %s\n", err);
        return 2;
    }
    mc_rule_srcs_free(&s);
    md_dump *d = NULL;
    if (md_open(path, NULL, &d, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench check: %s: %s\n", path, err);
        return 2;
    }
    mc_scan ref;
    mc_scan_cfg rcfg = {.reference = true};
    mc_scan_stats st;
    if (mc_scan_dump_ex(&db, d, 0, &rcfg, &ref, &st, err, sizeof err) != 0)
        return 2;
    printf("reference: %zu rules matched, %zu hits, %.2f s\n", ref.nmatched, ref.nhits,
           st.t_end - st.t_start);
    int bad = 0;
    static const unsigned threads[] = {1, 2, 4};
    static const uint64_t chunks[] = {0, 1u << 20};
    for (size_t t = 0; t < 3; t++)
        for (size_t c = 0; c < 2; c++) {
            mc_scan p;
            mc_scan_cfg cfg = {.threads = threads[t], .chunk = chunks[c]};
            if (mc_scan_dump_ex(&db, d, 0, &cfg, &p, &st, err, sizeof err) != 0)
                return 2;
            bool ok = same(&ref, &p);
            printf("threads %u, items %s: %s, %zu hits, %.2f s (%s, %.1f MB zero skipped)\n",
                   threads[t], chunks[c] ? "1 MiB" : "16 MiB", ok ? "same hits" : "DIFFERENT",
                   p.nhits, st.t_end - st.t_start, st.mode, st.zero_skipped / 1e6);
            bad |= !ok;
            mc_scan_free(&p);
        }
    for (size_t i = 0; i < ref.nmatched; i++)
        printf("rule %s:%s\n", db.rule[ref.matched[i]].ns, db.rule[ref.matched[i]].name);
    mc_scan_free(&ref);
    md_close(d);
    mc_ruledb_free(&db);
    mc_yara_release();
    return bad;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "gen") == 0)
        return cmd_gen(argv[2], strtoul(argv[3], NULL, 10), argc > 4 ? argv[4] : NULL,
                       argc > 5 && strcmp(argv[5], "--all") == 0);
    if (argc == 3 && strcmp(argv[1], "rules") == 0)
        return cmd_rules(argv[2]);
    if (argc == 3 && strcmp(argv[1], "check") == 0)
        return cmd_check(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "smoke") == 0) {
        char path[] = "/tmp/memcfg-bench-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            return 2;
        close(fd);
        int rc = cmd_gen(path, 16, argc > 2 ? argv[2] : NULL, false);
        if (rc == 0)
            rc = cmd_check(path);
        unlink(path);
        return rc;
    }
    fprintf(stderr, "usage: bench gen OUT MIB [DOTNET_DIR] | rules DIR | check DUMP | "
                    "smoke [DOTNET_DIR]\n");
    return 2;
}
