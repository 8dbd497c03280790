/* Sandbox integration: a CAPE analysis folder written at test time (three processes with
 * memory/<pid>.dmp dumps, a procdump/ image, a CAPE/ payload, files.json, report.json, one dump
 * cut by the result server), the per-family merge, correlation by shared infrastructure, and the
 * memcfg command line over the same folder. */
#include "mc_sandbox.h"
#include "fixtures/fx.h"
#include "fixtures/fx_native.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUASAR_BASE 0x00400000ull
#define INJ_VA 0x02a10000ull
#define MAPPED_VA 0x00a10000ull
#define PAYLOAD_VA 0x03300000ull
#define HEAP_VA 0x05500000ull

static const uint8_t RC_KEY[] = "K7x!q2Lr9Tz#V4mW";
static const uint8_t RC_KEY_C[] = "another-key-0001";
/* A and B differ in their C2 lists only; A shares a host with the Quasar sample. C has its own
 * licence (a scalar), mutex, key and C2. */
static const char *const C2_A[] = {"203.0.113.50:2404:1", "c2.quasar.example:4782:0"};
static const char *const C2_B[] = {"203.0.113.50:2404:1", "backup.remcos.test:443:0"};
static const char *const C2_C[] = {"198.51.100.77:8080:0"};

static fx_remcos remcos_variant(char which)
{
    fx_remcos r = {
        .gen = FX_RC_GEN_NEW, .c2sep = FX_RC_C2_1E, .botnet = "Sandbox-Demo",
        .mutex = "Rmc-EX4MPL", .licence = "0A1B2C3D4E5F60718293A4B5C6D7E8F9",
        .version = "4.9.3 Pro", .install_dir = 2, .keylog_dir = 2, .install_name = "remcos.exe",
        .install_subdir = "Remcos", .keylog_name = "logs.dat", .keylog_subdir = "remcos",
        .key = RC_KEY, .keylen = sizeof RC_KEY - 1,
    };
    if (which == 'A') {
        r.c2 = C2_A;
        r.nc2 = 2;
    } else if (which == 'B') {
        r.c2 = C2_B;
        r.nc2 = 2;
    } else {
        r.c2 = C2_C;
        r.nc2 = 1;
        r.version = "5.1.2 Light";
        r.licence = "FFEEDDCCBBAA99887766554433221100";
        r.mutex = "Rmc-OTHER1";
        r.key = RC_KEY_C;
        r.keylen = sizeof RC_KEY_C - 1;
    }
    return r;
}

/* ---------------------------------------------------------------- the folder */

static char dir[4096];
static char cape_name[65], procdump_name[65];

static void sha256_hex(const fx_buf *b, char out[65])
{
    unsigned char md[32];
    unsigned int n;
    ck_assert(EVP_Digest(b->p, b->len, md, &n, EVP_sha256(), NULL) == 1);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void write_at(const char *rel, const fx_buf *b)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    ck_assert_msg(fx_write_file(path, b), "cannot write %s", path);
}

static void write_text(const char *rel, const char *text)
{
    fx_buf b;
    fx_buf_init(&b);
    fx_put(&b, text, strlen(text));
    write_at(rel, &b);
    fx_buf_free(&b);
}

static void cuckoo_of(uint32_t pid, const fx_region *r, size_t n, fx_buf *out)
{
    fx_process p = {.pid = pid, .arch = MD_ARCH_X86, .regions = r, .nregions = n};
    fx_buf_init(out);
    fx_cuckoo(&p, out);
}

/* pid 1234: the .NET Quasar client, mapped by the loader. */
static void dump_quasar(void)
{
    size_t flen;
    uint8_t *flat = tu_read_file(tu_src("fixtures/dotnet/quasar14.exe"), &flen);
    ck_assert_ptr_nonnull(flat);
    fx_buf img, dmp;
    fx_buf_init(&img);
    fx_pe_map(flat, flen, &img);
    fx_region r = {QUASAR_BASE, img.p, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, QUASAR_BASE};
    cuckoo_of(1234, &r, 1, &dmp);
    write_at("memory/1234.dmp", &dmp);
    fx_buf_free(&dmp);
    fx_buf_free(&img);
    free(flat);
}

/* pid 1236: Remcos A injected with its headers wiped. */
static void dump_injected(void)
{
    fx_remcos a = remcos_variant('A');
    fx_buf img, dmp;
    fx_buf_init(&img);
    fx_remcos_image(&a, true, INJ_VA, &img);
    fx_wipe_headers(&img);
    fx_region r = {INJ_VA, img.p, img.len, MD_PAGE_EXECUTE_READWRITE, MD_MEM_PRIVATE, INJ_VA};
    cuckoo_of(1236, &r, 1, &dmp);
    write_at("memory/1236.dmp", &dmp);
    fx_buf_free(&dmp);
    fx_buf_free(&img);
}

/* pid 1240: Remcos A mapped, then a heap region the result server cut short. */
static void dump_truncated(void)
{
    fx_remcos a = remcos_variant('A');
    fx_buf img, dmp;
    fx_buf_init(&img);
    fx_remcos_image(&a, true, MAPPED_VA, &img);
    static uint8_t heap[0x4000];
    fx_fill_noise(heap, sizeof heap, 0x5eed);
    fx_region r[2] = {
        {MAPPED_VA, img.p, img.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, MAPPED_VA},
        {HEAP_VA, heap, sizeof heap, MD_PAGE_READWRITE, MD_MEM_PRIVATE, HEAP_VA},
    };
    cuckoo_of(1240, r, 2, &dmp);
    dmp.len -= 0x3000;
    fx_put(&dmp, "... (truncated)", 15);
    write_at("memory/1240.dmp", &dmp);
    fx_buf_free(&dmp);
    fx_buf_free(&img);
}

/* CAPE/: Remcos B unpacked in pid 1236, headers wiped (so raw bytes), placed by metadata.
 * procdump/: Remcos C, a file-layout image dump of pid 1240. */
static void payloads(void)
{
    fx_remcos b = remcos_variant('B'), c = remcos_variant('C');
    fx_buf pb, pc;
    fx_buf_init(&pb);
    fx_buf_init(&pc);
    fx_remcos_image(&b, true, PAYLOAD_VA, &pb);
    fx_wipe_headers(&pb);
    fx_remcos_image(&c, false, 0, &pc);
    sha256_hex(&pb, cape_name);
    sha256_hex(&pc, procdump_name);
    char rel[128];
    snprintf(rel, sizeof rel, "CAPE/%s", cape_name);
    write_at(rel, &pb);
    snprintf(rel, sizeof rel, "procdump/%s", procdump_name);
    write_at(rel, &pc);
    fx_buf_free(&pb);
    fx_buf_free(&pc);
}

static void metadata_files(void)
{
    char *fj = NULL;
    ck_assert(asprintf(&fj,
        "{\"path\": \"memory/1234.dmp\", \"pids\": [1234], \"metadata\": \"\", \"category\": \"memory\"}\n"
        "not json at all\n"
        "{\"path\": \"CAPE/%s\", \"filepath\": \"C:\\\\Users\\\\u\\\\AppData\\\\Local\\\\Temp\\\\x\", "
        "\"pids\": [1236], \"ppids\": [1234], \"metadata\": \"9;?C:\\\\Windows\\\\Microsoft.NET\\\\"
        "Framework\\\\v4.0.30319\\\\RegAsm.exe;?C:\\\\Windows\\\\Microsoft.NET\\\\Framework\\\\v4.0.30319"
        "\\\\RegAsm.exe;?0x%08llx;?\", \"category\": \"CAPE\"}\n"
        "{\"path\": \"procdump/%s\", \"pids\": [1240], \"ppids\": [1234], \"metadata\": "
        "\"1;?C:\\\\Windows\\\\System32\\\\notepad.exe;?C:\\\\Windows\\\\System32\\\\notepad.exe;?\", "
        "\"category\": \"procdump\"}\n"
        "{\"path\": \"../../outside\", \"pids\": [1], \"metadata\": \"8;?evil.exe;?x;?0x1;?\"}\n",
        cape_name, (unsigned long long)PAYLOAD_VA, procdump_name) > 0);
    write_text("files.json", fj);
    free(fj);
    write_text("reports/report.json",
               "{\"behavior\": {\"processes\": [{\"process_id\": 1234, \"process_name\": "
               "\"sample.exe\"}, {\"process_id\": 1240, \"process_name\": \"notepad.exe\"}]}}");
    /* what procmemory derives from a dump, and reporting's ZIP: not inputs */
    write_text("memory/1234.dmp.strings", "strings\n");
    write_text("memory/1234_0x00400000", "MZ");
    write_text("memory/1238.dmp.zip", "PK\3\4");
    write_text("memory.dmp", "full VM memory");
}

static const char *make_analysis(void)
{
    snprintf(dir, sizeof dir, "%s/analysis", tu_tmpdir());
    static const char *const subs[] = {"", "/memory", "/procdump", "/CAPE", "/reports"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", dir, subs[i]);
        mkdir(p, 0755);
    }
    dump_quasar();
    dump_injected();
    dump_truncated();
    payloads();
    metadata_files();
    return dir;
}

/* ---------------------------------------------------------------- helpers */

typedef struct run_out {
    json_t **recs;
    size_t n;
    mc_cape_run_stats st;
} run_out;

/* The folder's output in format; caller frees. */
static char *run_folder_as(const char *format, bool merge, double deadline_in,
                           mc_cape_run_stats *st)
{
    mc_cape_analysis *a = NULL;
    char err[512];
    ck_assert_msg(mc_cape_analysis_open(make_analysis(), &a, err, sizeof err) == 0, "%s", err);
    mc_engine_opts eo = {.run_deadline = deadline_in > 0 ? mc_now() + deadline_in : 0};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    mc_cape_run_opts o = {.engine = &eo, .format = format, .out = out,
                          .output = {.defang = -1}, .threads = 2, .merge = merge, .quiet = true};
    ck_assert_msg(mc_cape_run(a, &o, st, err, sizeof err) == 0, "%s", err);
    fclose(out);
    mc_cape_analysis_free(a);
    return buf;
}

static void run_folder(bool merge, double deadline_in, run_out *ro)
{
    char *buf = run_folder_as("ndjson", merge, deadline_in, &ro->st);
    ro->recs = NULL;
    ro->n = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *r = json_loads(line, 0, NULL);
        ck_assert_ptr_nonnull(r);
        ro->recs = realloc(ro->recs, (ro->n + 1) * sizeof *ro->recs);
        ro->recs[ro->n++] = r;
    }
    free(buf);
}

static void run_free(run_out *ro)
{
    for (size_t i = 0; i < ro->n; i++)
        json_decref(ro->recs[i]);
    free(ro->recs);
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *family(const json_t *r)
{
    return sget(json_object_get(r, "config"), "family");
}

static const char *version(const json_t *r)
{
    return sget(json_object_get(r, "config"), "version");
}

static json_int_t pid_of(const json_t *r)
{
    return json_integer_value(json_object_get(json_object_get(json_object_get(r, "input"),
                                                              "process"), "pid"));
}

static const char *process_of(const json_t *r)
{
    return sget(json_object_get(json_object_get(r, "input"), "process"), "name");
}

static bool has_c2(const json_t *r, const char *host, json_int_t port)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(r, "config"), "tcp"), i, c) {
        const char *h = sget(c, "server_domain") ? sget(c, "server_domain") : sget(c, "server_ip");
        if (h && !strcmp(h, host) && json_integer_value(json_object_get(c, "server_port")) == port)
            return true;
    }
    return false;
}

static size_t count_config(const run_out *ro, const char *fam)
{
    size_t n = 0;
    for (size_t i = 0; i < ro->n; i++)
        n += sget(ro->recs[i], "record_type") && !strcmp(sget(ro->recs[i], "record_type"), "config") &&
             !strcmp(family(ro->recs[i]), fam);
    return n;
}

static const char *mutex(const json_t *r)
{
    return json_string_value(json_array_get(json_object_get(json_object_get(r, "config"),
                                                            "mutex"), 0));
}

static const json_t *find_mutex(const run_out *ro, const char *fam, const char *m)
{
    for (size_t i = 0; i < ro->n; i++)
        if (family(ro->recs[i]) && !strcmp(family(ro->recs[i]), fam) &&
            mutex(ro->recs[i]) && !strcmp(mutex(ro->recs[i]), m))
            return ro->recs[i];
    return NULL;
}

static const json_t *source_with(const json_t *rec, const char *suffix)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rec, "sources"), i, s) {
        const char *p = sget(s, "path");
        if (p && strlen(p) >= strlen(suffix) && !strcmp(p + strlen(p) - strlen(suffix), suffix))
            return s;
    }
    return NULL;
}

/* ---------------------------------------------------------------- metadata and walk */

START_TEST(metadata_grammar)
{
    int t;
    char *pp;
    uint64_t va = 0;
    bool has;
    ck_assert(mc_cape_parse_metadata("8;?C:\\a\\s.exe;?C:\\a\\s.exe;?0x00000000022A0000;?", &t, &pp,
                                     &va, &has));
    ck_assert_int_eq(t, 8);
    ck_assert_str_eq(pp, "C:\\a\\s.exe");
    ck_assert(has);
    ck_assert_uint_eq(va, 0x22A0000);
    free(pp);
    /* an injection names its target, not an address */
    ck_assert(mc_cape_parse_metadata("3;?C:\\a.exe;?C:\\a.exe;?C:\\b.exe;?4321;?", &t, &pp, &va,
                                     &has));
    ck_assert_int_eq(t, 3);
    ck_assert(!has);
    free(pp);
    /* procdump form without the trailing separator */
    ck_assert(mc_cape_parse_metadata("1;?C:\\x\\n.exe;?C:\\x\\n.exe", &t, &pp, &va, &has));
    ck_assert_str_eq(pp, "C:\\x\\n.exe");
    free(pp);
    /* address too long for 64 bits, or not hex */
    ck_assert(mc_cape_parse_metadata("9;?p;?m;?0x1234567890abcdef0;?", &t, &pp, &va, &has));
    ck_assert(!has);
    free(pp);
    ck_assert(mc_cape_parse_metadata("9;?p;?m;?0xZZ;?", &t, &pp, &va, &has));
    ck_assert(!has);
    free(pp);
    ck_assert(!mc_cape_parse_metadata("", &t, &pp, &va, &has));
    ck_assert(!mc_cape_parse_metadata("x;?p;?", &t, &pp, &va, &has));
    ck_assert(!mc_cape_parse_metadata("12345678901;?p;?", &t, &pp, &va, &has));
    ck_assert(!mc_cape_parse_metadata(NULL, &t, &pp, &va, &has));
}
END_TEST

START_TEST(folder_walk)
{
    mc_cape_analysis *a = NULL;
    char err[512];
    ck_assert_msg(mc_cape_analysis_open(make_analysis(), &a, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(a->nitems, 5);
    const mc_cape_item *it = a->items;
    ck_assert_str_eq(it[0].rel, "memory/1234.dmp");
    ck_assert_uint_eq(it[0].pid, 1234);
    ck_assert_str_eq(it[0].process, "sample.exe");         /* from report.json */
    ck_assert_str_eq(it[1].rel, "memory/1236.dmp");
    ck_assert_str_eq(it[1].process, "RegAsm.exe");         /* from the CAPE upload of pid 1236 */
    ck_assert_str_eq(it[2].rel, "memory/1240.dmp");
    ck_assert_str_eq(it[2].process, "notepad.exe");
    ck_assert_int_eq(it[3].kind, MC_CAPE_PROCDUMP);
    ck_assert_uint_eq(it[3].pid, 1240);
    ck_assert(!it[3].has_va);
    ck_assert_int_eq(it[3].dump_type, 1);
    ck_assert_int_eq(it[4].kind, MC_CAPE_PAYLOAD);
    ck_assert_uint_eq(it[4].pid, 1236);
    ck_assert(it[4].has_va);
    ck_assert_uint_eq(it[4].va, PAYLOAD_VA);
    ck_assert_str_eq(it[4].process, "RegAsm.exe");
    bool zip_noted = false;
    for (size_t i = 0; i < a->nnotes; i++)
        zip_noted |= strstr(a->notes[i], "memory/1238.dmp.zip") != NULL;
    ck_assert(zip_noted);
    mc_cape_analysis_free(a);
    ck_assert_int_ne(mc_cape_analysis_open("/nonexistent/analysis", &a, err, sizeof err), 0);
    ck_assert_ptr_null(a);
    ck_assert_int_ne(mc_cape_analysis_open(tu_src("meson.build"), &a, err, sizeof err), 0);
}
END_TEST

/* ---------------------------------------------------------------- runs */

START_TEST(run_unmerged)
{
    run_out ro;
    run_folder(false, 0, &ro);
    ck_assert_uint_eq(ro.st.inputs, 5);
    ck_assert_uint_eq(ro.st.errors, 0);
    ck_assert_uint_eq(ro.st.truncated, 1);
    ck_assert_uint_eq(count_config(&ro, "quasar"), 1);
    ck_assert_uint_eq(count_config(&ro, "remcos"), 4);
    for (size_t i = 0; i < ro.n; i++) {
        const json_t *r = ro.recs[i];
        ck_assert_ptr_null(json_object_get(r, "sources"));
        const char *path = sget(json_object_get(r, "input"), "path");
        if (strstr(path, "memory/1234.dmp")) {
            ck_assert_str_eq(family(r), "quasar");
            ck_assert_int_eq(pid_of(r), 1234);
            ck_assert_str_eq(process_of(r), "sample.exe");
        } else if (strstr(path, "memory/1240.dmp")) {
            ck_assert_int_eq(pid_of(r), 1240);
            ck_assert_str_eq(process_of(r), "notepad.exe");
            ck_assert(has_c2(r, "c2.quasar.example", 4782));
            /* the cut is in the record's warnings */
            char *w = json_dumps(json_object_get(r, "warnings"), 0);
            ck_assert(strstr(w, "result server"));
            free(w);
        } else if (strstr(path, "CAPE/")) {
            ck_assert_int_eq(pid_of(r), 1236);
            ck_assert_str_eq(process_of(r), "RegAsm.exe");
            ck_assert(has_c2(r, "backup.remcos.test", 443));
            /* opened raw at the metadata address */
            const char *va = sget(json_array_get(json_object_get(json_object_get(r, "detection"),
                                                                 "locations"), 0), "va");
            ck_assert_uint_eq(strtoull(va, NULL, 16) & ~0xfffffull, PAYLOAD_VA);
        } else if (strstr(path, "procdump/")) {
            ck_assert_str_eq(mutex(r), "Rmc-OTHER1");
            ck_assert_int_eq(pid_of(r), 1240);
            ck_assert_str_eq(sget(json_object_get(r, "input"), "format"), "pe");
        } else {
            ck_assert(strstr(path, "memory/1236.dmp"));
            ck_assert_int_eq(pid_of(r), 1236);
            ck_assert_str_eq(process_of(r), "RegAsm.exe");
        }
    }
    run_free(&ro);
}
END_TEST

START_TEST(run_merged)
{
    run_out ro;
    run_folder(true, 0, &ro);
    ck_assert_uint_eq(ro.st.truncated, 1);
    ck_assert_uint_eq(ro.st.errors, 0);
    ck_assert_uint_eq(count_config(&ro, "quasar"), 1);
    /* A (1236, 1240) and B (CAPE payload) agree on every scalar: one record; C's licence
     * differs: its own record */
    ck_assert_uint_eq(count_config(&ro, "remcos"), 2);
    const json_t *ab = find_mutex(&ro, "remcos", "Rmc-EX4MPL");
    const json_t *c = find_mutex(&ro, "remcos", "Rmc-OTHER1");
    ck_assert_ptr_nonnull(ab);
    ck_assert_ptr_nonnull(c);
    ck_assert(has_c2(ab, "203.0.113.50", 2404));
    ck_assert(has_c2(ab, "c2.quasar.example", 4782));
    ck_assert(has_c2(ab, "backup.remcos.test", 443));
    ck_assert(!has_c2(ab, "198.51.100.77", 8080));
    ck_assert_str_eq(version(ab), "4.9.3 Pro");
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(ab, "config"), "tcp")), 3);
    ck_assert_uint_eq(json_array_size(json_object_get(ab, "sources")), 3);
    const json_t *s1236 = source_with(ab, "memory/1236.dmp");
    const json_t *s1240 = source_with(ab, "memory/1240.dmp");
    const json_t *scape = source_with(ab, cape_name);
    ck_assert_ptr_nonnull(s1236);
    ck_assert_ptr_nonnull(s1240);
    ck_assert_ptr_nonnull(scape);
    ck_assert_int_eq(json_integer_value(json_object_get(s1236, "pid")), 1236);
    ck_assert_int_eq(json_integer_value(json_object_get(s1240, "pid")), 1240);
    ck_assert_int_eq(json_integer_value(json_object_get(scape, "pid")), 1236);
    ck_assert_uint_eq(strlen(sget(scape, "sha256")), 64);
    ck_assert_str_eq(sget(scape, "sha256"), cape_name);
    ck_assert_uint_eq(strtoull(sget(scape, "va"), NULL, 16) & ~0xfffffull, PAYLOAD_VA);
    /* the merged record stands in its first source's place and names that process */
    ck_assert(strstr(sget(json_object_get(ab, "input"), "path"), "memory/1236.dmp"));
    ck_assert_str_eq(process_of(ab), "RegAsm.exe");
    /* the fingerprint is the merged config's */
    char *fp = mc_fingerprint(json_object_get(ab, "config"));
    ck_assert_str_eq(sget(ab, "fingerprint"), fp);
    free(fp);
    /* provenance follows the merged list positions: the backup host came from the payload */
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(json_object_get(ab, "config"), "tcp"), i, t) {
        if (!sget(t, "server_domain") || strcmp(sget(t, "server_domain"), "backup.remcos.test"))
            continue;
        char key[32];
        snprintf(key, sizeof key, "tcp[%zu]", i);
        json_t *prov = json_object_get(json_object_get(ab, "provenance"), key);
        ck_assert_msg(json_array_size(prov) > 0, "no provenance for %s", key);
        ck_assert_uint_eq(strtoull(sget(json_array_get(prov, 0), "va"), NULL, 16) & ~0xfffffull,
                          PAYLOAD_VA);
    }
    ck_assert_uint_eq(json_array_size(json_object_get(c, "sources")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(c, "sources"),
                                                                       0), "pid")), 1240);
    run_free(&ro);
}
END_TEST

/* The text block (up to the blank line) of the input whose path ends in suffix. */
static char *text_block(const char *text, const char *suffix)
{
    for (const char *b = text; b && *b;) {
        const char *nl = strchr(b, '\n');
        const char *end = strstr(b, "\n\n");
        size_t hl = nl ? (size_t)(nl - b) : strlen(b);
        if (hl >= strlen(suffix) && !strncmp(b + hl - strlen(suffix), suffix, strlen(suffix)))
            return strndup(b, end ? (size_t)(end - b) + 1 : strlen(b));
        b = end ? end + 2 : NULL;
    }
    return NULL;
}

/* Text names a merged record's sources under it, and the inputs merged into another input's
 * record point there instead of claiming nothing was found. */
START_TEST(text_merged_sources)
{
    mc_cape_run_stats st;
    char *text = run_folder_as("text", true, 0, &st);
    char first[4200], cape_rel[100];
    snprintf(first, sizeof first, "%s/memory/1236.dmp", dir);
    snprintf(cape_rel, sizeof cape_rel, "CAPE/%s", cape_name);
    char *a = text_block(text, "memory/1236.dmp");
    char *b = text_block(text, cape_rel);
    char *c = text_block(text, "memory/1240.dmp");
    ck_assert_msg(a && b && c, "missing input in:\n%s", text);
    /* every source of the A+B record, with its pid */
    ck_assert_msg(strstr(a, "source     ") && strstr(a, "memory/1236.dmp pid 1236 va ") &&
                  strstr(a, "memory/1240.dmp pid 1240 va ") && strstr(a, cape_rel),
                  "sources not listed:\n%s", a);
    ck_assert_ptr_null(strstr(a, "merged into"));
    char want[4300];
    snprintf(want, sizeof want, "  merged into the record of %s\n", first);
    /* the payload's only config went into A's record */
    ck_assert_msg(strstr(b, want) != NULL, "payload block:\n%s", b);
    ck_assert_ptr_null(strstr(b, "no configuration found"));
    ck_assert_ptr_null(strstr(b, "Remcos"));
    /* 1240's copy of A went into A's record too; C (procdump of 1240) keeps its own */
    ck_assert_msg(strstr(c, want) != NULL, "1240 block:\n%s", c);
    ck_assert_ptr_null(strstr(c, "no configuration found"));
    char procdump_rel[100];
    snprintf(procdump_rel, sizeof procdump_rel, "procdump/%s", procdump_name);
    char *p = text_block(text, procdump_rel);
    ck_assert_msg(p && strstr(p, "Remcos version 5.1.2 Light") && !strstr(p, "merged into") &&
                  strstr(p, "source     ") && strstr(p, "pid 1240 va "), "procdump block:\n%s", p);
    free(p);
    free(a);
    free(b);
    free(c);
    free(text);
}
END_TEST

START_TEST(run_deadline)
{
    run_out ro;
    /* a deadline already past when the inputs start: every input reports it */
    run_folder(true, 1e-9, &ro);
    ck_assert_uint_eq(ro.st.inputs, 5);
    ck_assert_uint_eq(ro.st.errors, 5);
    ck_assert_uint_eq(ro.st.configs, 0);
    for (size_t i = 0; i < ro.n; i++) {
        ck_assert_str_eq(sget(ro.recs[i], "record_type"), "error");
        ck_assert_str_eq(sget(json_object_get(ro.recs[i], "error"), "code"), "MC_E_DEADLINE");
    }
    run_free(&ro);
}
END_TEST

/* ---------------------------------------------------------------- merge rules */

static json_t *rec(const char *path, int pid, const char *va, const char *status,
                   const char *config)
{
    json_t *r = json_pack("{s:s, s:{s:s, s:s, s:{s:i}}, s:{s:[], s:[{s:s}]}, s:s, s:i, s:o, s:{},"
                          " s:{}, s:[]}",
                          "record_type", "config", "input", "path", path, "sha256",
                          "0000000000000000000000000000000000000000000000000000000000000000",
                          "process", "pid", pid, "detection", "rules", "locations", "va", va,
                          "status", status, "confidence", 80, "config", json_loads(config, 0, NULL),
                          "provenance", "raw", "warnings");
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(merge_rules)
{
    json_t *in[6];
    in[0] = rec("a", 1, "0x0000000000001000", "complete",
                "{\"family\":\"f\",\"version\":\"1\",\"mutex\":[\"m1\"],\"other\":{\"k\":1}}");
    in[1] = rec("b", 2, "0x0000000000002000", "partial",
                "{\"family\":\"f\",\"mutex\":[\"m2\",\"m1\"],\"other\":{\"j\":2}}");
    in[2] = rec("c", 3, "0x0000000000003000", "complete",
                "{\"family\":\"f\",\"version\":\"2\",\"mutex\":[\"m1\"]}");
    in[3] = rec("d", 4, "0x0000000000004000", "complete",
                "{\"family\":\"f\",\"other\":{\"k\":5}}");
    in[4] = rec("e", 5, "0x0000000000005000", "failed", "{\"family\":\"f\"}");
    in[5] = rec("f", 6, "0x0000000000006000", "complete",
                "{\"family\":\"g\",\"version\":\"1\",\"mutex\":[\"m1\"]}");
    json_object_set_new(json_object_get(in[1], "provenance"), "mutex[0]",
                        json_pack("[{s:s}]", "va", "0x0000000000002010"));
    json_t **out;
    size_t *first;
    size_t n = mc_merge_records(in, 6, &out, &first);
    /* a+b merge (no scalar disagrees); c: version conflict with a; d: other.k conflicts with a,
     * not with c, so it joins c; e: failed stays apart; f: another family */
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(first[0], 0);
    ck_assert_uint_eq(first[1], 2);
    ck_assert_uint_eq(first[2], 4);
    ck_assert_uint_eq(first[3], 5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(out[1],
                                                                        "config"), "other"), "k")), 5);
    ck_assert_uint_eq(json_array_size(json_object_get(out[1], "sources")), 2);
    json_t *m = json_object_get(out[0], "config");
    ck_assert_uint_eq(json_array_size(json_object_get(m, "mutex")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "other"), "j")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "other"), "k")), 1);
    ck_assert_str_eq(sget(out[0], "status"), "complete");
    ck_assert_uint_eq(json_array_size(json_object_get(out[0], "sources")), 2);
    /* b's "mutex[0]" (m2) is the merged list's second element */
    ck_assert_ptr_nonnull(json_object_get(json_object_get(out[0], "provenance"), "mutex[1]"));
    ck_assert_ptr_null(json_object_get(json_object_get(out[0], "provenance"), "mutex[0]"));
    ck_assert_str_eq(sget(out[2], "status"), "failed");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(out[2],
                                                                                       "sources"),
                                                                       0), "pid")), 5);
    /* inputs untouched */
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(in[0], "config"), "mutex")), 1);
    for (size_t i = 0; i < n; i++)
        json_decref(out[i]);
    free(out);
    free(first);
    for (size_t i = 0; i < 6; i++)
        json_decref(in[i]);
    ck_assert_uint_eq(mc_merge_records(NULL, 0, &out, NULL), 0);
    free(out);
}
END_TEST

/* ---------------------------------------------------------------- correlation */

static char *corr_render(mc_corr *c, mc_corr_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_int_eq(mc_corr_write(c, f, true, fp), 0);
    fclose(fp);
    return buf;
}

/* Well-formed DOT: one digraph, balanced quotes and brackets, edges between declared nodes. */
static void check_dot(const char *dot)
{
    ck_assert(!strncmp(dot, "digraph memcfg {\n", 17));
    ck_assert(strlen(dot) > 2 && !strcmp(dot + strlen(dot) - 2, "}\n"));
    bool q = false;
    int br = 0;
    for (const char *p = dot; *p; p++) {
        if (q && *p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '"')
            q = !q;
        else if (!q && *p == '[')
            br++;
        else if (!q && *p == ']')
            br--;
        ck_assert_int_ge(br, 0);
    }
    ck_assert(!q);
    ck_assert_int_eq(br, 0);
    for (const char *e = strstr(dot, " -> "); e; e = strstr(e + 4, " -> ")) {
        const char *ls = e;
        while (ls > dot && ls[-1] != '\n')
            ls--;
        char from[32], to[32], decl[40];
        ck_assert_int_eq(sscanf(ls, " %31s -> %31s", from, to), 2);
        snprintf(decl, sizeof decl, "\n  %s [", from);
        ck_assert_msg(strstr(dot, decl), "undeclared node %s", from);
        snprintf(decl, sizeof decl, "\n  %s [", to);
        ck_assert_msg(strstr(dot, decl), "undeclared node %s", to);
    }
}

static bool have_dot(void)
{
    return system("command -v dot >/dev/null 2>&1") == 0;
}

START_TEST(correlate_groups)
{
    run_out ro;
    run_folder(false, 0, &ro);
    mc_corr *c = mc_corr_new(), *rev = mc_corr_new();
    for (size_t i = 0; i < ro.n; i++) {
        ck_assert_int_eq(mc_corr_add_record(c, ro.recs[i]), 0);
        ck_assert_int_eq(mc_corr_add_record(rev, ro.recs[ro.n - 1 - i]), 0);
    }
    json_t *doc = mc_corr_json(c);
    json_t *groups = json_object_get(doc, "groups");
    /* Quasar (1234) shares c2.quasar.example with Remcos A (1236, 1240); B shares A's mutex and
     * key; C shares nothing */
    ck_assert_uint_eq(json_array_size(groups), 1);
    json_t *g = json_array_get(groups, 0);
    ck_assert_uint_eq(json_array_size(json_object_get(g, "samples")), 4);
    bool quasar_host = false;
    size_t i;
    json_t *ind;
    json_array_foreach(json_object_get(g, "shared"), i, ind)
        quasar_host |= !strcmp(sget(ind, "type"), "host") &&
                       !strcmp(sget(ind, "value"), "c2.quasar.example");
    ck_assert(quasar_host);
    json_t *s;
    size_t grouped = 0, quasar_in = 0;
    json_array_foreach(json_object_get(doc, "samples"), i, s) {
        bool in_group = json_object_get(s, "group") != NULL;
        grouped += in_group;
        const char *f0 = json_string_value(json_array_get(json_object_get(s, "families"), 0));
        if (f0 && !strcmp(f0, "quasar"))
            quasar_in += in_group;
    }
    ck_assert_uint_eq(grouped, 4);
    ck_assert_uint_eq(quasar_in, 1);
    json_decref(doc);
    /* deterministic whatever the order */
    for (int f = MC_CORR_TEXT; f <= MC_CORR_DOT; f++) {
        char *a = corr_render(c, (mc_corr_format)f), *b = corr_render(rev, (mc_corr_format)f);
        ck_assert_str_eq(a, b);
        if (f == MC_CORR_TEXT) {
            ck_assert(strstr(a, "group 1: 4 samples"));
            ck_assert(strstr(a, "c2[.]quasar[.]example"));
        }
        if (f == MC_CORR_DOT)
            check_dot(a);
        free(a);
        free(b);
    }
    mc_corr_free(c);
    mc_corr_free(rev);
    run_free(&ro);
}
END_TEST

START_TEST(correlate_hostile)
{
    mc_corr *c = mc_corr_new();
    char err[256];
    const char *bad = "{\"record_type\":\"config\",\"input\":{\"path\":\"x\\\"y\\n]}\"},"
                      "\"config\":{\"family\":\"f\",\"mutex\":[\"a\\\"\\\\\\u0001b\"],"
                      "\"http\":[{\"uri\":\"https://user@[2001:db8::1]:8443/p\",\"usage\":\"c2\"},"
                      "{\"uri\":\"http://decoy.example/\",\"usage\":\"decoy\"}]}}\n"
                      "{\"record_type\":\"config\",\"input\":{\"path\":\"z\"},"
                      "\"config\":{\"family\":\"g\",\"mutex\":[\"a\\\"\\\\\\u0001b\"],"
                      "\"tcp\":[{\"server_ip\":\"2001:DB8::1\",\"server_port\":1}]}}\n";
    ck_assert_int_eq(mc_corr_add_buffer(c, bad, strlen(bad), err, sizeof err), 2);
    json_t *doc = mc_corr_json(c);
    json_t *g = json_array_get(json_object_get(doc, "groups"), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(g, "shared")), 2);   /* ip and mutex */
    size_t i;
    json_t *ind;
    json_array_foreach(json_object_get(doc, "indicators"), i, ind)
        ck_assert(strcmp(sget(ind, "value"), "decoy.example"));
    json_decref(doc);
    char *dot = corr_render(c, MC_CORR_DOT);
    check_dot(dot);
    if (have_dot()) {
        char path[4200], cmd[8600];
        snprintf(path, sizeof path, "%s/hostile.dot", tu_tmpdir());
        FILE *fp = fopen(path, "w");
        fputs(dot, fp);
        fclose(fp);
        snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' > /dev/null", path);
        ck_assert_int_eq(system(cmd), 0);
    }
    free(dot);
    ck_assert_int_eq(mc_corr_add_buffer(c, "{\"a\":", 5, err, sizeof err), -1);
    /* a -f json document is read too */
    const char *docs = "{\"records\": [{\"record_type\":\"error\",\"input\":{\"path\":\"q\"}}]}";
    ck_assert_int_eq(mc_corr_add_buffer(c, docs, strlen(docs), err, sizeof err), 1);
    mc_corr_free(c);
}
END_TEST

/* ---------------------------------------------------------------- the command line */

static const char *memcfg_bin(void)
{
    static char path[4200];
    const char *b = getenv("MEMCFG_BUILDDIR");
    snprintf(path, sizeof path, "%s/extractor/memcfg", b ? b : ".");
    return path;
}

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(cli_cape_and_correlate)
{
    if (access(memcfg_bin(), X_OK) != 0) {
        fprintf(stderr, "test_sandbox: %s not built, command line not tested\n", memcfg_bin());
        return;
    }
    const char *d = make_analysis();
    const char *t = tu_tmpdir();
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' scan --cape-analysis '%s' -f ndjson -p 2 > '%s/out.ndjson' "
             "2> '%s/err.txt'", memcfg_bin(), d, t, t);
    ck_assert_int_eq(sh(cmd), 3);      /* the truncated dump */
    snprintf(cmd, sizeof cmd, "grep -q 'warning: .*memory/1240.dmp.*result server' '%s/err.txt'", t);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "test $(grep -c '\"sources\"' '%s/out.ndjson') -eq 3", t);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' scan --cape-analysis '%s' --no-merge -q -f ndjson > '%s/nm.ndjson'; "
             "test $? -eq 3 && test $(wc -l < '%s/nm.ndjson') -eq 5 && ! grep -q sources '%s/nm.ndjson'",
             memcfg_bin(), d, t, t, t);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' scan --cape-analysis '%s' x 2>/dev/null", memcfg_bin(), d);
    ck_assert_int_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "'%s' scan --merge x 2>/dev/null", memcfg_bin());
    ck_assert_int_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "'%s' correlate '%s/nm.ndjson' | grep -q 'group 1: 4 samples'",
             memcfg_bin(), t);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' correlate -f json '%s/out.ndjson' > '%s/c.json' && "
             "grep -q '\"groups\"' '%s/c.json'", memcfg_bin(), t, t, t);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' correlate -f dot '%s/out.ndjson' > '%s/c.dot'", memcfg_bin(), t, t);
    ck_assert_int_eq(sh(cmd), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/c.dot", t);
    size_t len;
    char *dot = (char *)tu_read_file(path, &len);
    ck_assert_ptr_nonnull(dot);
    dot = realloc(dot, len + 1);
    dot[len] = '\0';
    check_dot(dot);
    free(dot);
    if (have_dot()) {
        snprintf(cmd, sizeof cmd, "dot -Tsvg '%s/c.dot' | grep -q '<svg'", t);
        ck_assert_int_eq(sh(cmd), 0);
    } else {
        fprintf(stderr, "test_sandbox: graphviz not installed, dot -Tsvg not run\n");
    }
    snprintf(cmd, sizeof cmd, "'%s' correlate -f svg x 2>/dev/null", memcfg_bin());
    ck_assert_int_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "'%s' correlate /nonexistent >/dev/null 2>&1", memcfg_bin());
    ck_assert_int_eq(sh(cmd), 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("sandbox");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, metadata_grammar);
    tcase_add_test(tc, folder_walk);
    tcase_add_test(tc, run_unmerged);
    tcase_add_test(tc, run_merged);
    tcase_add_test(tc, text_merged_sources);
    tcase_add_test(tc, run_deadline);
    tcase_add_test(tc, merge_rules);
    tcase_add_test(tc, correlate_groups);
    tcase_add_test(tc, correlate_hostile);
    tcase_add_test(tc, cli_cape_and_correlate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
