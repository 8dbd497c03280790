/* Benchmark helper (never run at full size by the test suite; see run.sh).
 *
 *   bench gen OUT MIB [DOTNET_DIR]   a full minidump of about MIB MiB: mapped .NET images of every
 *                                    fixture in DOTNET_DIR (so each family that has one), a Remcos
 *                                    settings blob, heaps, stacks, zero pages, text
 *   bench rules DIR                  the bundled rule sources, exactly as memcfg compiles them, as
 *                                    DIR/<family>.yar (one namespace per family)
 *   bench check DUMP                 hits of the parallel scan (1, 2, 4 threads, two item sizes)
 *                                    against the reference one-scanner pass; exit 1 on a mismatch
 *   bench smoke [DOTNET_DIR]         gen 16 MiB into a temp file, then check (suite 'bench')
 */
#include "fixtures/fx.h"
#include "fixtures/fx_native.h"
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

static size_t add_dotnet(gen *g, const char *dir)
{
    DIR *dh = dir ? opendir(dir) : NULL;
    if (!dh)
        return 0;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".exe") == 0) {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strdup(de->d_name);
        }
    }
    closedir(dh);
    qsort(names, n, sizeof *names, (int (*)(const void *, const void *))strcmp);
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        fx_buf flat, img;
        fx_buf_init(&flat);
        uint8_t chunk[65536];
        size_t r;
        while (f && (r = fread(chunk, 1, sizeof chunk, f)) > 0)
            fx_put(&flat, chunk, r);
        if (f)
            fclose(f);
        fx_buf_init(&img);
        if (flat.len > 0x200) {
            g->va = (g->va + 0xffff) & ~0xffffull;
            fx_pe_map(flat.p, flat.len, &img);
            uint8_t *p = add_region(g, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE);
            if (p) {
                memcpy(p, img.p, img.len);
                added++;
            }
        }
        fx_buf_free(&img);
        fx_buf_free(&flat);
        free(names[i]);
    }
    free(names);
    return added;
}

static void add_remcos(gen *g)
{
    static const char *const c2[] = {"192.0.2.10:2404:1", "bench.example:443:0"};
    fx_remcos rc = {.c2 = c2, .nc2 = 2, .botnet = "bench", .mutex = "Rmc-BENCH01",
                    .version = "4.9.3 Pro", .licence = "0123456789ABCDEF"};
    fx_buf b;
    fx_buf_init(&b);
    fx_remcos_settings(&rc, &b);
    uint8_t *p = add_region(g, b.len + 0x2000, MD_PAGE_READWRITE, MD_MEM_PRIVATE);
    if (p) {
        fill_text16(p, 0x1000);
        memcpy(p + 0x100, "Remcos Connected to C&C Keylogger Started", 41);
        memcpy(p + 0x1000, b.p, b.len);
    }
    fx_buf_free(&b);
}

static int cmd_gen(const char *out, unsigned long mib, const char *dotnet)
{
    gen g = {.size = (size_t)mib << 20, .va = 0x10000};
    g.arena = calloc(1, g.size);
    if (!g.arena)
        return 2;
    size_t images = add_dotnet(&g, dotnet);
    add_remcos(&g);
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
    fprintf(stderr, "bench gen: %s: %zu regions, %zu .NET images, %.1f MiB\n", out, g.nreg,
            images, b.len / 1048576.0);
    fx_buf_free(&b);
    free(g.reg);
    free(g.arena);
    return ok ? 0 : 2;
}

static int bundled(mc_rule_srcs *s)
{
    for (size_t i = 0; i < mc_decoder_count(); i++) {
        const mc_decoder *d = mc_decoders[i];
        if (!d->rules || !*d->rules)
            continue;
        char name[160];
        snprintf(name, sizeof name, "%s.yar", d->family);
        if (mc_rule_srcs_add(s, d->family, name, d->rules, strlen(d->rules)) != 0)
            return -1;
    }
    return 0;
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
        return cmd_gen(argv[2], strtoul(argv[3], NULL, 10), argc > 4 ? argv[4] : NULL);
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
        int rc = cmd_gen(path, 16, argc > 2 ? argv[2] : NULL);
        if (rc == 0)
            rc = cmd_check(path);
        unlink(path);
        return rc;
    }
    fprintf(stderr, "usage: bench gen OUT MIB [DOTNET_DIR] | rules DIR | check DUMP | "
                    "smoke [DOTNET_DIR]\n");
    return 2;
}
