/* Export formats (maco, cape, stix, misp), `memcfg export` and the feed options: a minidump with
 * Remcos and two Quasar builds (one an unbuilt template) goes through the engine, and every
 * format is checked for content, determinism, stable ids, equality of export and direct output,
 * and against the shared validators (skipped when ../shared is absent). Golden files pin the
 * exact bytes of each format for committed records (tests/data/feed). */
#include "fixtures/fx.h"
#include "fixtures/fx_native.h"
#include "mc_output.h"
#include "memcfg.h"
#include "tdump.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REMCOS_VA 0x00A10000ull
#define QUASAR_VA 0x20010000ull
#define TEMPLATE_VA 0x20100000ull
#define NOISE_VA 0x00300000ull
#define FIXED_TS "2026-01-02T03:04:05Z"
#define FIXED_MS 1767323045000LL

static const char *const RC_C2[] = {"192.0.2.77:2404:1", "c2.feed.example:443:0"};
static const uint8_t RC_KEY[] = "feed-test-key-16";

/* ---------------------------------------------------------------- the scene */

/* Remcos mapped, Quasar 1.3 and the Quasar template as flat files, among noise. */
static void scene_minidump(fx_buf *out, uint32_t pid)
{
    fx_remcos r = {.gen = FX_RC_GEN_NEW, .c2sep = FX_RC_C2_1E, .c2 = RC_C2, .nc2 = 2,
                   .botnet = "FeedBot", .mutex = "Rmc-FEED01", .version = "4.9.3 Pro",
                   .install_dir = 6, .keylog_dir = 8, .install_name = "remcos.exe",
                   .keylog_name = "logs.dat", .key = RC_KEY, .keylen = sizeof RC_KEY - 1};
    fx_buf remcos, noise;
    fx_buf_init(&remcos);
    fx_remcos_image(&r, true, REMCOS_VA, &remcos);
    fx_buf_init(&noise);
    fx_put_zeros(&noise, 0x4000);
    fx_fill_noise(noise.p, noise.len, 11);
    size_t qlen, tlen;
    uint8_t *q = td_load("quasar13.exe", &qlen), *t = td_load("quasartemplate.exe", &tlen);
    fx_region regs[4] = {
        {NOISE_VA, noise.p, noise.len, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0},
        {REMCOS_VA, remcos.p, remcos.len, MD_PAGE_EXECUTE_READ, MD_MEM_IMAGE, REMCOS_VA},
        {QUASAR_VA, q, qlen, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0},
        {TEMPLATE_VA, t, tlen, MD_PAGE_READWRITE, MD_MEM_PRIVATE, 0},
    };
    fx_module mod = {REMCOS_VA, (uint32_t)remcos.len, "C:\\Users\\u\\AppData\\Roaming\\remcos.exe"};
    fx_process p = {pid, MD_ARCH_X86, regs, 4, &mod, 1};
    fx_buf_init(out);
    fx_minidump(&p, FX_MD_FULL, out);
    fx_buf_free(&remcos);
    fx_buf_free(&noise);
    free(q);
    free(t);
}

typedef struct run {
    mc_input_result res[3];
    const char *path[3];
    size_t n;
} run;

static mc_engine *engine;
static fx_buf dump_a, dump_b;   /* b: the same process under another pid (another input) */
static run scanned;

static void setup(void)
{
    mc_engine_opts o = {0};
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &engine, err, sizeof err) == 0, "%s", err);
    scene_minidump(&dump_a, 4242);
    scene_minidump(&dump_b, 5151);
    mc_input a = {.path = "case/a.dmp", .mem = dump_a.p, .memlen = dump_a.len};
    mc_input b = {.path = "case/b.dmp", .mem = dump_b.p, .memlen = dump_b.len};
    mc_engine_scan(engine, &a, &scanned.res[0]);
    mc_engine_scan(engine, &b, &scanned.res[1]);
    scanned.path[0] = a.path;
    scanned.path[1] = b.path;
    scanned.n = 2;
}

static void teardown(void)
{
    for (size_t i = 0; i < scanned.n; i++)
        mc_input_result_clear(&scanned.res[i]);
    fx_buf_free(&dump_a);
    fx_buf_free(&dump_b);
    mc_engine_free(engine);
}

/* ---------------------------------------------------------------- rendering */

static mc_output_opts fixed_opts(void)
{
    mc_output_opts o = {.defang = -1, .fixed_time = true, .time_ms = FIXED_MS};
    return o;
}

/* The output of a writer over the first n inputs of r. Caller frees. */
static char *render_n(const char *format, const mc_output_opts *o, const run *r, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(fp);
    mc_writer *w = mc_writer_new(format, fp, o);
    ck_assert_msg(w != NULL, "writer %s", format);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(mc_writer_input(w, r->path[i], &r->res[i]), 0);
    ck_assert_int_eq(mc_writer_finish(w), 0);
    mc_writer_free(w);
    fclose(fp);
    return buf;
}

static char *render(const char *format, const mc_output_opts *o)
{
    return render_n(format, o, &scanned, scanned.n);
}

/* `memcfg export` of a saved NDJSON text. */
static char *export_text(const char *format, const mc_output_opts *o, const char *ndjson,
                         size_t *bad)
{
    FILE *in = fmemopen((void *)ndjson, strlen(ndjson), "r");
    ck_assert_ptr_nonnull(in);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    mc_writer *w = mc_writer_new(format, fp, o);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(mc_export_ndjson(in, w, NULL, NULL, bad), 0);
    ck_assert_int_eq(mc_writer_finish(w), 0);
    mc_writer_free(w);
    fclose(fp);
    fclose(in);
    return buf;
}

static size_t configs_of(const run *r, const char *status)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        for (size_t k = 0; k < r->res[i].nrecords; k++) {
            const char *st = json_string_value(json_object_get(r->res[i].records[k], "status"));
            n += st && !strcmp(st, status);
        }
    return n;
}

/* ---------------------------------------------------------------- validators */

static const char *write_tmp(const char *name, const char *text)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 512, "%s/%s", tu_tmpdir(), name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* Runs a shared validator on a file; false (and a note) when shared/ is absent. */
static bool validate(const char *validator, const char *args, const char *file)
{
    const char *v = tu_shared(validator);
    if (!v || access(v, R_OK) != 0) {
        fprintf(stderr, "test_feed: %s not found, validation skipped\n", validator);
        return false;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s' --quiet %s %s%s%s >&2", v, args,
             file[0] == '\'' ? "" : "'", file, file[0] == '\'' ? "" : "'");
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "%s rejected %s", validator, file);
    return true;
}

/* validate_misp.py reads one event per file: one file per line, one validator run. */
static void validate_misp_lines(const char *text)
{
    char *copy = strdup(text);
    char files[2048] = "";
    size_t k = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line && k < 8;
         line = strtok_r(NULL, "\n", &save)) {
        char name[512];
        snprintf(name, sizeof name, "%s/event%zu.json", tu_tmpdir(), k++);
        FILE *f = fopen(name, "w");
        ck_assert_ptr_nonnull(f);
        fputs(line, f);
        fclose(f);
        size_t used = strlen(files);
        snprintf(files + used, sizeof files - used, "%s'%s'", used ? " " : "", name);
    }
    ck_assert_uint_gt(k, 0);
    validate("schemas/validate_misp.py", "--strict", files);
    free(copy);
}

/* ---------------------------------------------------------------- helpers over output */

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    ck_assert_msg(v != NULL, "bad JSON: %s", e.text);
    return v;
}

static size_t count_type(const json_t *bundle, const char *type)
{
    size_t n = 0, i;
    json_t *o;
    json_array_foreach(json_object_get(bundle, "objects"), i, o)
        n += !strcmp(json_string_value(json_object_get(o, "type")), type);
    return n;
}

static bool any_pattern_has(const json_t *bundle, const char *needle)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(bundle, "objects"), i, o) {
        const char *p = json_string_value(json_object_get(o, "pattern"));
        if (p && strstr(p, needle))
            return true;
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, newline-joined ids of the objects of these types. Caller frees. */
static char *ids_of(const json_t *bundle, const char *const *types)
{
    json_t *ids = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(bundle, "objects"), i, o)
        for (const char *const *t = types; *t; t++)
            if (!strcmp(json_string_value(json_object_get(o, "type")), *t))
                json_array_append(ids, json_object_get(o, "id"));
    size_t n = json_array_size(ids);
    char **v = calloc(n + 1, sizeof *v);
    for (i = 0; i < n; i++)
        v[i] = (char *)json_string_value(json_array_get(ids, i));
    qsort(v, n, sizeof *v, cmp_str);
    size_t len = 1;
    for (i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *out = calloc(1, len);
    for (i = 0; i < n; i++) {
        strcat(out, v[i]);
        strcat(out, "\n");
    }
    free(v);
    json_decref(ids);
    return out;
}

/* ---------------------------------------------------------------- tests */

START_TEST(scene_has_families)
{
    ck_assert_uint_ge(configs_of(&scanned, "complete"), 4);   /* remcos + quasar, two inputs */
    ck_assert_uint_ge(configs_of(&scanned, "template"), 2);
    const json_t *in = scanned.res[0].input;
    ck_assert(json_is_integer(json_object_get(in, "regions")));
    ck_assert_int_ge(json_integer_value(json_object_get(in, "regions")), 4);
}
END_TEST

START_TEST(stix_bundle)
{
    mc_output_opts o = fixed_opts();
    o.tlp = "green";
    char *text = render("stix", &o);
    json_t *b = parse(text);
    ck_assert_str_eq(json_string_value(json_object_get(b, "type")), "bundle");
    ck_assert_ptr_null(json_object_get(b, "spec_version"));
    ck_assert_uint_eq(count_type(b, "identity"), 1);
    ck_assert_uint_eq(count_type(b, "malware"), 2);
    ck_assert_uint_ge(count_type(b, "indicator"), 6);
    ck_assert_uint_ge(count_type(b, "note"), 3);
    ck_assert(any_pattern_has(b, "'c2.feed.example'"));
    ck_assert(any_pattern_has(b, "[ipv4-addr:value = '192.0.2.77']"));
    ck_assert(any_pattern_has(b, "[mutex:name = 'Rmc-FEED01']"));
    size_t i;
    json_t *obj;
    json_array_foreach(json_object_get(b, "objects"), i, obj) {
        const char *type = json_string_value(json_object_get(obj, "type"));
        if (!strcmp(type, "identity"))
            ck_assert_str_eq(json_string_value(json_object_get(obj, "identity_class")), "system");
        if (!strcmp(type, "malware")) {
            ck_assert(json_is_true(json_object_get(obj, "is_family")));
            ck_assert_str_eq(json_string_value(json_array_get(json_object_get(obj, "malware_types"), 0)),
                             "remote-access-trojan");
        }
        if (!strcmp(type, "indicator")) {
            const char *p = json_string_value(json_object_get(obj, "pattern"));
            ck_assert_msg(!strstr(p, " AND ") && !strstr(p, " OR "), "complex pattern %s", p);
            ck_assert(json_is_integer(json_object_get(obj, "confidence")));
            ck_assert_str_eq(json_string_value(json_object_get(obj, "valid_from")),
                             "2026-01-02T03:04:05.000Z");
            ck_assert_ptr_nonnull(json_object_get(obj, "name"));
            ck_assert_str_eq(json_string_value(json_array_get(json_object_get(obj, "object_marking_refs"), 0)),
                             "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da");
        }
    }
    validate("schemas/validate_stix.py", "--check-refs", write_tmp("bundle.json", text));
    json_decref(b);
    free(text);
}
END_TEST

START_TEST(stix_every_tlp_validates)
{
    static const char *const tlps[] = {"clear", "green", "amber", "amber+strict", "red"};
    char files[1024] = "";
    for (size_t i = 0; i < 5; i++) {
        mc_output_opts o = fixed_opts();
        o.tlp = tlps[i];
        char *text = render("stix", &o);
        json_t *b = parse(text);
        ck_assert_uint_eq(count_type(b, "marking-definition"), 1);
        json_decref(b);
        char name[32];
        snprintf(name, sizeof name, "tlp%zu.json", i);
        const char *f = write_tmp(name, text);
        size_t used = strlen(files);
        snprintf(files + used, sizeof files - used, "%s'%s'", used ? " " : "", f);
        free(text);
    }
    validate("schemas/validate_stix.py", "--check-refs", files);
}
END_TEST

/* The same configuration in two inputs and in two runs at different times keeps its ids. */
START_TEST(stix_ids_stable)
{
    static const char *const types[] = {"malware", "indicator", "relationship", "note",
                                        "identity", "ipv4-addr", "domain-name", "mutex", NULL};
    mc_output_opts o = fixed_opts();
    char *one = render_n("stix", &o, &scanned, 1), *both = render("stix", &o);
    o.time_ms += 86400000;
    char *later = render("stix", &o);
    json_t *b1 = parse(one), *b2 = parse(both), *b3 = parse(later);
    char *i1 = ids_of(b1, types), *i2 = ids_of(b2, types), *i3 = ids_of(b3, types);
    ck_assert_str_eq(i1, i2);
    ck_assert_str_eq(i2, i3);
    /* no id twice in one bundle */
    json_t *seen = json_object();
    size_t i;
    json_t *obj;
    json_array_foreach(json_object_get(b2, "objects"), i, obj) {
        const char *id = json_string_value(json_object_get(obj, "id"));
        ck_assert_msg(!json_object_get(seen, id), "duplicate %s", id);
        json_object_set_new(seen, id, json_true());
    }
    json_decref(seen);
    ck_assert_str_ne(json_string_value(json_object_get(b2, "id")),
                     json_string_value(json_object_get(b3, "id")));
    free(i1); free(i2); free(i3);
    json_decref(b1); json_decref(b2); json_decref(b3);
    free(one); free(both); free(later);
}
END_TEST

START_TEST(deterministic)
{
    static const char *const formats[] = {"maco", "cape", "stix", "misp"};
    for (size_t i = 0; i < 4; i++) {
        mc_output_opts o = fixed_opts();
        char *a = render(formats[i], &o), *b = render(formats[i], &o);
        ck_assert_msg(a[0], "%s printed nothing", formats[i]);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(export_equals_direct)
{
    static const char *const formats[] = {"maco", "cape", "stix", "misp", "ndjson", "text"};
    mc_output_opts o = fixed_opts();
    char *saved = render("ndjson", &o);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        for (int tlp = 0; tlp < 2; tlp++) {
            o.tlp = tlp ? "red" : NULL;
            size_t bad = 99;
            char *direct = render(formats[i], &o), *exported = export_text(formats[i], &o, saved, &bad);
            ck_assert_uint_eq(bad, 0);
            ck_assert_msg(!strcmp(direct, exported), "%s: export differs from direct output",
                          formats[i]);
            free(direct);
            free(exported);
        }
    }
    free(saved);
}
END_TEST

START_TEST(export_bad_lines)
{
    mc_output_opts o = fixed_opts();
    char *saved = render("ndjson", &o);
    size_t n = strlen(saved) + 256;
    char *text = malloc(n);
    snprintf(text, n, "not json\n[1,2]\n\n{\"record_type\":\"config\"}\n%s{\"trunc", saved);
    size_t bad = 0;
    char *direct = render("maco", &o), *exported = export_text("maco", &o, text, &bad);
    ck_assert_uint_eq(bad, 4);
    ck_assert_str_eq(direct, exported);
    free(direct);
    free(exported);
    free(text);
    free(saved);
}
END_TEST

START_TEST(maco_and_cape)
{
    mc_output_opts o = fixed_opts();
    char *maco = render("maco", &o), *cape = render("cape", &o);
    size_t lines = 0;
    for (const char *p = maco; *p; p++)
        lines += *p == '\n';
    /* templates are not configurations a MACO consumer should see */
    ck_assert_uint_eq(lines, configs_of(&scanned, "complete") + configs_of(&scanned, "partial"));
    validate("schemas/validate_maco.py", "--min-configs 1", write_tmp("maco.ndjson", maco));
    char *line = strtok(cape, "\n");
    bool saw_remcos = false;
    for (; line; line = strtok(NULL, "\n")) {
        json_t *c = parse(line);
        json_t *r = json_object_get(c, "Remcos");
        if (r) {
            saw_remcos = true;
            json_t *cncs = json_object_get(r, "CNCs");
            ck_assert_str_eq(json_string_value(json_array_get(cncs, 0)), "tcp://192.0.2.77:2404");
            ck_assert_str_eq(json_string_value(json_array_get(cncs, 1)), "tcp://c2.feed.example:443");
            ck_assert_str_eq(json_string_value(json_object_get(r, "mutex")), "Rmc-FEED01");
            ck_assert_str_eq(json_string_value(json_object_get(r, "cryptokey_type")), "RC4");
            ck_assert(json_is_object(json_object_get(r, "raw")));
        }
        json_decref(c);
    }
    ck_assert(saw_remcos);
    free(maco);
    free(cape);
}
END_TEST

static const json_t *find_attr(const json_t *ev, const char *type, const char *value)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(ev, "Attribute"), i, a)
        if (!strcmp(json_string_value(json_object_get(a, "type")), type) &&
            !strcmp(json_string_value(json_object_get(a, "value")), value))
            return a;
    return NULL;
}

START_TEST(misp_events)
{
    mc_output_opts o = fixed_opts();
    o.tlp = "amber+strict";
    o.misp_org_name = "Example CERT";
    o.misp_org_uuid = "5f0c2a9e-1b3d-4e6f-8a7b-9c0d1e2f3a4b";
    char *text = render("misp", &o);
    validate_misp_lines(text);
    char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_ptr_nonnull(strchr(nl + 1, '\n'));       /* one event per input */
    *nl = '\0';
    json_t *doc = parse(text), *ev = json_object_get(doc, "Event");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "Orgc"), "name")),
                     "Example CERT");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "timestamp")), "1767323045");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "date")), "2026-01-02");
    const json_t *a = find_attr(ev, "ip-dst|port", "192.0.2.77|2404");
    ck_assert_ptr_nonnull(a);
    ck_assert(json_is_true(json_object_get(a, "to_ids")));
    ck_assert_str_eq(json_string_value(json_object_get(a, "comment")), "c2");
    ck_assert_str_eq(json_string_value(json_object_get(a, "category")), "Network activity");
    ck_assert_ptr_nonnull(find_attr(ev, "hostname", "c2.feed.example"));
    a = find_attr(ev, "mutex", "Rmc-FEED01");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(json_string_value(json_object_get(a, "category")), "Artifacts dropped");
    a = find_attr(ev, "campaign-id", "FeedBot");
    ck_assert(!a || json_is_false(json_object_get(a, "to_ids")));
    char *tags = json_dumps(json_object_get(ev, "Tag"), 0);
    ck_assert_ptr_nonnull(strstr(tags, "tlp:amber+strict"));
    ck_assert_ptr_nonnull(strstr(tags, "misp-galaxy:malpedia=\\\"Remcos\\\""));
    ck_assert_ptr_nonnull(strstr(tags, "estimative-language:likelihood-probability"));
    free(tags);
    size_t i;
    json_t *obj;
    size_t configs = 0;
    json_array_foreach(json_object_get(ev, "Object"), i, obj) {
        ck_assert_str_eq(json_string_value(json_object_get(obj, "name")), "malware-config");
        configs++;
    }
    ck_assert_uint_ge(configs, 2);
    json_decref(doc);
    free(text);
}
END_TEST

/* Decoys, unknown usages, templates and failures never become indicators or to_ids. */
START_TEST(non_detecting_values)
{
    const char *recs =
        "{\"schema_version\":\"1.0\",\"record_type\":\"config\",\"tool\":{},\"input\":{\"path\":\"x\",\"sha256\":\"00\"},"
        "\"status\":\"complete\",\"confidence\":80,\"fingerprint\":\"sha256:aa\",\"config\":{\"family\":\"remcos\","
        "\"tcp\":[{\"server_domain\":\"decoy.example\",\"server_port\":80,\"usage\":\"decoy\"},"
        "{\"server_ip\":\"198.51.100.200\",\"usage\":\"other\"},{\"server_ip\":\"203.0.113.9\",\"server_port\":1,\"usage\":\"c2\"}],"
        "\"http\":[{\"uri\":\"http://gate.example/p.php\",\"hostname\":\"gate.example\",\"user_agent\":\"UA/1\",\"usage\":\"c2\"}]}}\n"
        "{\"schema_version\":\"1.0\",\"record_type\":\"config\",\"tool\":{},\"input\":{\"path\":\"x\",\"sha256\":\"00\"},"
        "\"status\":\"template\",\"confidence\":30,\"fingerprint\":\"sha256:bb\",\"config\":{\"family\":\"quasar\","
        "\"tcp\":[{\"server_domain\":\"template.example\",\"server_port\":1,\"usage\":\"c2\"}]}}\n";
    mc_output_opts o = fixed_opts();
    size_t bad;
    char *stix = export_text("stix", &o, recs, &bad), *misp = export_text("misp", &o, recs, &bad);
    json_t *b = parse(stix);
    ck_assert(!any_pattern_has(b, "decoy.example"));
    ck_assert(!any_pattern_has(b, "198.51.100.200"));
    ck_assert(!any_pattern_has(b, "template.example"));
    ck_assert(any_pattern_has(b, "[url:value = 'http://gate.example/p.php']"));
    ck_assert(any_pattern_has(b, "203.0.113.9"));
    ck_assert_uint_eq(count_type(b, "malware"), 2);   /* the template's family is still named */
    json_t *doc = parse(misp), *ev = json_object_get(doc, "Event");
    const json_t *a = find_attr(ev, "domain", "decoy.example");
    ck_assert_ptr_nonnull(a);
    ck_assert(json_is_false(json_object_get(a, "to_ids")));
    ck_assert(json_is_false(json_object_get(find_attr(ev, "ip-dst", "198.51.100.200"), "to_ids")));
    ck_assert(json_is_false(json_object_get(find_attr(ev, "user-agent", "UA/1"), "to_ids")));
    ck_assert(json_is_true(json_object_get(find_attr(ev, "url", "http://gate.example/p.php"), "to_ids")));
    ck_assert_ptr_null(find_attr(ev, "hostname", "template.example"));
    validate("schemas/validate_stix.py", "--check-refs", write_tmp("decoy.json", stix));
    validate_misp_lines(misp);
    json_decref(doc);
    json_decref(b);
    free(stix);
    free(misp);
}
END_TEST

START_TEST(misp_feed_dir)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/feed", tu_tmpdir());
    mc_output_opts o = fixed_opts();
    o.misp_feed_dir = dir;
    char *out = render_n("misp", &o, &scanned, 1);
    ck_assert_str_eq(out, "");
    free(out);
    out = render_n("misp", &o, &scanned, 2);   /* a second run adds to the feed */
    free(out);
    char path[600];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m = json_load_file(path, 0, NULL);
    ck_assert_uint_eq(json_object_size(m), 2);
    const char *uuid;
    json_t *entry;
    json_object_foreach(m, uuid, entry) {
        ck_assert_ptr_nonnull(json_object_get(entry, "Orgc"));
        ck_assert_ptr_nonnull(json_object_get(entry, "info"));
        snprintf(path, sizeof path, "%s/%s.json", dir, uuid);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        validate("schemas/validate_misp.py", "--strict", path);
    }
    snprintf(path, sizeof path, "%s/hashes.csv", dir);
    size_t len;
    char *csv = (char *)tu_read_file(path, &len);
    ck_assert_ptr_nonnull(csv);
    char *z = realloc(csv, len + 1);
    ck_assert_ptr_nonnull(z);
    csv = z;
    csv[len] = '\0';
    /* both events' hashes, equally many (same configs), none doubled by the second run */
    json_t *lines = json_object(), *per_event = json_object();
    for (char *save = NULL, *l = strtok_r(csv, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(!json_object_get(lines, l), "hash line twice: %s", l);
        json_object_set_new(lines, l, json_true());
        const char *ev = strchr(l, ',');
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(strlen(ev + 1), 36);
        ck_assert_ptr_nonnull(json_object_get(m, ev + 1));
        json_int_t k = json_integer_value(json_object_get(per_event, ev + 1));
        json_object_set_new(per_event, ev + 1, json_integer(k + 1));
    }
    ck_assert_uint_eq(json_object_size(per_event), 2);
    json_int_t first = -1;
    json_object_foreach(per_event, uuid, entry) {
        ck_assert_int_ge(json_integer_value(entry), 6);
        if (first >= 0)
            ck_assert_int_eq(json_integer_value(entry), first);
        first = json_integer_value(entry);
    }
    json_decref(lines);
    json_decref(per_event);
    json_decref(m);
    free(csv);
}
END_TEST

START_TEST(defang_forced)
{
    mc_output_opts o = fixed_opts();
    o.defang = 1;
    char *stix = render("stix", &o), *maco = render("ndjson", &o);
    json_t *b = parse(stix);
    ck_assert(any_pattern_has(b, "'c2.feed.example'"));   /* patterns keep real values */
    ck_assert_ptr_nonnull(strstr(stix, "c2[.]feed[.]example"));     /* the note's record */
    ck_assert_uint_eq(count_type(b, "domain-name"), 0);  /* a defanged name is no SCO value */
    ck_assert_ptr_nonnull(strstr(maco, "c2[.]feed[.]example"));
    validate("schemas/validate_stix.py", "--check-refs", write_tmp("defanged.json", stix));
    /* defanged records still validate against `memcfg schema` */
    json_t *schema = mc_record_schema();
    const char *sp = write_tmp("schema.json", "");
    json_dump_file(schema, sp, 0);
    json_decref(schema);
    const char *rp = write_tmp("defanged.ndjson", maco);
    if (access(sp, R_OK) == 0 && system("python3 -c 'import jsonschema' 2>/dev/null") == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys,jsonschema\n"
                 "s=json.load(open(sys.argv[1]))\n"
                 "v=jsonschema.Draft202012Validator(s)\n"
                 "for l in open(sys.argv[2]):\n"
                 "    v.validate(json.loads(l))' '%s' '%s' >&2", sp, rp);
        ck_assert_int_eq(system(cmd), 0);
    }
    json_decref(b);
    free(stix);
    free(maco);
}
END_TEST

START_TEST(timestamps_and_tlp)
{
    int64_t ms;
    ck_assert(mc_parse_rfc3339(FIXED_TS, &ms));
    ck_assert_int_eq(ms, FIXED_MS);
    ck_assert(mc_parse_rfc3339("2026-01-02T05:04:05.250+02:00", &ms));
    ck_assert_int_eq(ms, FIXED_MS + 250);
    static const char *const bad[] = {"", "2026-01-02", "2026-13-02T00:00:00Z",
        "2026-02-30T00:00:00Z", "2026-01-02T24:00:00Z", "2026-01-02T00:00:00", "1969-12-31T00:00:00Z",
        "2026-01-02T00:00:00+2:00", "2026-01-02T00:00:00.Z", "2026-01-02T00:00:00Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!mc_parse_rfc3339(bad[i], &ms), "accepted '%s'", bad[i]);
    ck_assert(mc_tlp_valid("amber+strict"));
    ck_assert(!mc_tlp_valid("white"));
    ck_assert(!mc_tlp_valid(NULL));
}
END_TEST

/* ---------------------------------------------------------------- golden files */

static void golden(const char *format, const char *tlp)
{
    size_t len;
    char *recs = (char *)tu_read_file(tu_src("tests/data/feed/records.ndjson"), &len);
    ck_assert_ptr_nonnull(recs);
    char *z = realloc(recs, len + 1);
    ck_assert_ptr_nonnull(z);
    recs = z;
    recs[len] = '\0';
    mc_output_opts o = fixed_opts();
    o.tlp = tlp;
    o.misp_org_name = "Example CERT";
    size_t bad;
    char *out = export_text(format, &o, recs, &bad);
    ck_assert_uint_eq(bad, 0);
    char rel[128];
    snprintf(rel, sizeof rel, "tests/data/feed/golden.%s", format);
    if (getenv("MEMCFG_REGEN_GOLDEN")) {
        FILE *f = fopen(tu_src(rel), "w");
        ck_assert_ptr_nonnull(f);
        fputs(out, f);
        fclose(f);
    }
    size_t glen;
    char *want = (char *)tu_read_file(tu_src(rel), &glen);
    ck_assert_msg(want != NULL, "missing %s (MEMCFG_REGEN_GOLDEN=1 writes it)", rel);
    ck_assert_msg(glen == strlen(out) && !memcmp(want, out, glen), "%s differs from %s", format, rel);
    free(want);
    free(out);
    free(recs);
}

START_TEST(golden_formats)
{
    golden("maco", NULL);
    golden("cape", NULL);
    golden("stix", "clear");
    golden("misp", "green");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("feed");
    TCase *tc = tcase_create("formats");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, scene_has_families);
    tcase_add_test(tc, stix_bundle);
    tcase_add_test(tc, stix_every_tlp_validates);
    tcase_add_test(tc, stix_ids_stable);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, export_equals_direct);
    tcase_add_test(tc, export_bad_lines);
    tcase_add_test(tc, maco_and_cape);
    tcase_add_test(tc, misp_events);
    tcase_add_test(tc, non_detecting_values);
    tcase_add_test(tc, misp_feed_dir);
    tcase_add_test(tc, defang_forced);
    suite_add_tcase(s, tc);
    TCase *plain = tcase_create("plain");
    tcase_add_test(plain, timestamps_and_tlp);
    tcase_add_test(plain, golden_formats);
    suite_add_tcase(s, plain);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
