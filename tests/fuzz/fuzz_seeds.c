/* Seed corpora for the harnesses, written from the fixture generators (nothing large is
 * committed): fuzz_seeds OUTDIR [DOTNET_DIR]. Writes OUTDIR/<harness>/<name> for every harness in
 * tests/fuzz/meson.build; DOTNET_DIR (fixtures/dotnet) adds the committed .NET builds. */
#include "fixtures/fx.h"
#include "fixtures/fx_native.h"
#include "decoder.h"
#include "memdump.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *outdir;

static void put(const char *harness, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, harness);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", outdir, harness, name);
    fx_buf b = {.p = (uint8_t *)p, .len = n, .cap = n};
    if (!fx_write_file(path, &b)) {
        perror(path);
        exit(1);
    }
}

/* A harness input with a prefix of control bytes (mode selectors). */
static void put_prefixed(const char *harness, const char *name, const uint8_t *pre, size_t npre,
                         const uint8_t *p, size_t n)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_put(&b, pre, npre);
    fx_put(&b, p, n);
    put(harness, name, b.p, b.len);
    fx_buf_free(&b);
}

/* A fuzz_decoders seed in mode 0 (the bytes as they are), once for the engine of each family
 * (selector k) and once for the engine of every family (selector nfams); see fuzz_decoders.c. */
static void put_decoders(const char *name, const uint8_t *p, size_t n)
{
    size_t nf = mc_decoder_count();
    for (size_t k = 0; k <= nf; k++) {
        char nm[512];
        snprintf(nm, sizeof nm, "%s-%s", name, k < nf ? mc_decoders[k]->family : "all");
        put_prefixed("fuzz_decoders", nm, (const uint8_t[]){0, (uint8_t)k}, 2, p, n);
    }
}

static uint8_t page_text[0x1000], page_heap[0x2000], page_stack[0x800];

static void small_pe(bool mapped, fx_buf *out)
{
    static const uint8_t text[] = {0x55, 0x8b, 0xec, 0xc6, 0x45, 0xf0, 'h', 0xc6, 0x45, 0xf1, 'i',
                                   0xc6, 0x45, 0xf2, '!', 0x80, 0x75, 0xf0, 0x21, 0xc3};
    static const uint8_t rdata[] = "memcfg seed .rdata\0c2.example\0";
    const fx_section s[] = {
        {.name = ".text", .rva = 0x1000, .vsize = 0x1000, .data = text, .data_len = sizeof text,
         .characteristics = 0x60000020},
        {.name = ".rdata", .rva = 0x2000, .vsize = 0x1000, .data = rdata, .data_len = sizeof rdata},
    };
    fx_pe pe = {.pe64 = false, .image_base = 0x400000, .entry_rva = 0x1000, .sections = s,
                .nsections = 2};
    fx_buf_init(out);
    fx_pe_build(&pe, mapped, out);
}

static fx_process process(const fx_buf *img)
{
    static fx_region r[4];
    static const fx_module m[] = {{.base = 0x400000, .size = 0x3000, .path = "C:\\fx\\seed.exe"}};
    fx_fill_noise(page_text, sizeof page_text, 1);
    fx_fill_noise(page_heap, sizeof page_heap, 2);
    memcpy(page_heap + 0x100, "c2.example:4444|mutex-seed", 26);
    r[0] = (fx_region){.va = 0x400000, .data = img->p, .size = img->len,
                       .protect = MD_PAGE_EXECUTE_READ, .type = MD_MEM_IMAGE};
    r[1] = (fx_region){.va = 0x10000, .data = page_heap, .size = sizeof page_heap};
    r[2] = (fx_region){.va = 0x7ff600000000, .data = page_text, .size = sizeof page_text,
                       .protect = MD_PAGE_EXECUTE_READWRITE};
    r[3] = (fx_region){.va = 0x20000, .data = page_stack, .size = sizeof page_stack};
    return (fx_process){.pid = 77, .arch = MD_ARCH_X86, .regions = r, .nregions = 4,
                        .modules = m, .nmodules = 1};
}

static void containers(const fx_buf *img)
{
    fx_process p = process(img);
    static const struct { const char *name; unsigned flags; } md[] = {
        {"full", FX_MD_FULL}, {"partial", FX_MD_PARTIAL}, {"both", FX_MD_BOTH},
        {"nomeminfo", FX_MD_FULL | FX_MD_NO_MEMINFO | FX_MD_NO_MODULES},
        {"pad", FX_MD_PARTIAL | FX_MD_LIST_PAD},
    };
    fx_buf b, z;
    for (size_t i = 0; i < sizeof md / sizeof md[0]; i++) {
        fx_buf_init(&b);
        fx_minidump(&p, md[i].flags, &b);
        put("fuzz_minidump", md[i].name, b.p, b.len);
        put("fuzz_sniff", md[i].name, b.p, b.len);
        if (i == 0) {
            put_prefixed("fuzz_compressed", "deflated-minidump", (const uint8_t[]){2}, 1, b.p, b.len);
            fx_buf_init(&z);
            fx_deflate(&b, true, &z);
            put_prefixed("fuzz_compressed", "gzip", (const uint8_t[]){0}, 1, z.p + 4, z.len - 4);
            put("fuzz_sniff", "gzip", z.p, z.len);
            fx_buf_free(&z);
            fx_buf_init(&z);
            fx_deflate(&b, false, &z);
            put_prefixed("fuzz_compressed", "zlib", (const uint8_t[]){1}, 1, z.p + 2, z.len - 2);
            put("fuzz_sniff", "zlib", z.p, z.len);
            fx_buf_free(&z);
            put_decoders("minidump", b.p, b.len);
        }
        fx_buf_free(&b);
    }
    fx_buf_init(&b);
    fx_cuckoo(&p, &b);
    put("fuzz_cuckoo", "procmem", b.p, b.len);
    put("fuzz_sniff", "procmem", b.p, b.len);
    put_prefixed("fuzz_compressed", "deflated-procmem", (const uint8_t[]){2}, 1, b.p, b.len);
    fx_buf_free(&b);
    static const struct { const char *name; int bits; unsigned flags; } elf[] = {
        {"core64", 64, 0}, {"core32", 32, 0}, {"core64-pages", 64, FX_ELF_PAGES},
        {"core64-nofile", 64, FX_ELF_NO_NTFILE},
    };
    for (size_t i = 0; i < sizeof elf / sizeof elf[0]; i++) {
        fx_buf_init(&b);
        fx_elfcore(&p, elf[i].bits, elf[i].flags, &b);
        put("fuzz_elfcore", elf[i].name, b.p, b.len);
        put("fuzz_sniff", elf[i].name, b.p, b.len);
        fx_buf_free(&b);
    }
}

static void images(void)
{
    fx_buf flat, mapped;
    small_pe(false, &flat);
    small_pe(true, &mapped);
    const char *h[] = {"fuzz_pefile", "fuzz_pe", "fuzz_raw", "fuzz_sniff"};
    for (size_t i = 0; i < 4; i++) {
        put(h[i], "pe-flat", flat.p, flat.len);
        put(h[i], "pe-mapped", mapped.p, mapped.len);
    }
    put("fuzz_stackstr", "x86-prologue", flat.p + 0x200, 20);
    containers(&mapped);
    fx_buf_free(&flat);
    fx_buf_free(&mapped);

    static const char *const c2[] = {"c2.example:2404:1", "203.0.113.9:8080:0"};
    static const uint8_t key[] = "seedkey-remcos";
    fx_remcos rc = {.gen = FX_RC_GEN_NEW, .c2 = c2, .nc2 = 2, .botnet = "seed", .mutex = "Rmc-SEED",
                    .version = "4.9.3 Pro", .key = key, .keylen = sizeof key - 1};
    fx_buf img;
    for (int m = 0; m < 2; m++) {
        fx_buf_init(&img);
        fx_remcos_image(&rc, m, 0x400000, &img);
        const char *name = m ? "remcos-mapped" : "remcos-flat";
        put("fuzz_pe", name, img.p, img.len);
        put_decoders(name, img.p, img.len);
        fx_buf_free(&img);
    }
    fx_buf_init(&img);
    fx_remcos_settings(&rc, &img);
    put_prefixed("fuzz_decoders", "remcos-settings", (const uint8_t[]){1, 1}, 2, img.p, img.len);
    put("fuzz_json", "remcos-settings", img.p, img.len);
    fx_buf_free(&img);

    /* Stack strings: byte, dword and qword stores with a decode loop, 32 and 64 bit. */
    static const uint8_t ss32[] = {0xc7, 0x45, 0xe0, 'h', 't', 't', 'p', 0xc7, 0x45, 0xe4, ':', '/',
                                   '/', 'c', 0xc6, 0x45, 0xe8, '2', 0xc6, 0x45, 0xe9, 0,
                                   0x80, 0x74, 0x05, 0xe0, 0x5a, 0x2c, 0x0f};
    static const uint8_t ss64[] = {0x48, 0xc7, 0x44, 0x24, 0x20, 'a', 'b', 'c', 'd', 0x66, 0xc7,
                                   0x44, 0x24, 0x24, 'e', 0, 0xc6, 0x04, 0x24, 'x', 0xc6, 0x44,
                                   0x24, 0x01, 'y', 0x34, 0x11};
    put("fuzz_stackstr", "ss32", ss32, sizeof ss32);
    put("fuzz_stackstr", "ss64", ss64, sizeof ss64);
}

static void strings(void)
{
    static const char *const s[] = {
        ("4.2\nRmc-\x1b[2J\nc2.example\n203.0.113.1:80\nhttp://a.example/x?y=1\nC:\\x\\\\y\n"
         "HKCU\\Software\\x\nraw\xff\xfe\nother\nkey\ninfostealer\n1000\nwarn"),
        "\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\\x41\\\\\\\x00\x01\xe2\x80\xae",
        "[2001:db8::1]:443\nhxxp://b[.]example\n%Hosts%\n\n\n\n\n",
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%zu", i);
        put("fuzz_json", name, (const uint8_t *)s[i], strlen(s[i]) + (i == 1 ? 6 : 0));
    }
}

static void dotnet(const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".exe") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fx_buf b, m;
        fx_buf_init(&b);
        uint8_t chunk[4096];
        size_t k;
        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
            fx_put(&b, chunk, k);
        fclose(f);
        put("fuzz_dotnet", e->d_name, b.p, b.len);
        put("fuzz_pe", e->d_name, b.p, b.len);
        put_decoders(e->d_name, b.p, b.len);
        fx_buf_init(&m);
        fx_pe_map(b.p, b.len, &m);
        snprintf(path, sizeof path, "mapped-%s", e->d_name);
        put("fuzz_dotnet", path, m.p, m.len);
        put_decoders(path, m.p, m.len);
        fx_buf_free(&m);
        fx_buf_free(&b);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_seeds OUTDIR [DOTNET_DIR]\n");
        return 2;
    }
    outdir = argv[1];
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        perror(outdir);
        return 1;
    }
    images();
    strings();
    dotnet(argc > 2 ? argv[2] : NULL);
    /* Every harness gets at least one seed. */
    /* Marker shapes (modes 1 and 2) for each family. */
    for (size_t k = 0; k < mc_decoder_count(); k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "marker-%s", mc_decoders[k]->family);
        put_prefixed("fuzz_decoders", nm, (const uint8_t[]){1, (uint8_t)k}, 2,
                     (const uint8_t *)"seed", 4);
        snprintf(nm, sizeof nm, "markers-%s", mc_decoders[k]->family);
        put_prefixed("fuzz_decoders", nm, (const uint8_t[]){2, (uint8_t)k}, 2,
                     (const uint8_t *)"seed-bytes-for-every-marker", 28);
    }
    put("fuzz_raw", "noise", page_heap, 256);
    return 0;
}
