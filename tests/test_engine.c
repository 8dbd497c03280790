/* End to end through the engine with test-only decoders (registered through extra_decoders,
 * never part of the product): every container, record shape against mc_record_schema() and the
 * MACO validator, merging of duplicate configs, deadlines, error records, filters, and
 * byte-identical results across runs and threads. */
#include "fixtures/fx.h"
#include "memcfg.h"
#include "testutil.h"

#include <check.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VA_HEAP 0x20000000ull
#define VA_TEXT 0x400000ull
#define OFF_A1 0x100u
#define OFF_B 0x400u
#define OFF_A2 0x800u

/* ---- the test decoders ---- */

/* "FXCFG:<host:port>;<mutex>" NUL-terminated: one config per marker. */
static int fxcfg_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                        mc_results *out)
{
    for (size_t i = 0; i < hits->n && !mc_expired(ctx); i++) {
        if (!mc_hit_is(&hits->v[i], "$cfg"))
            continue;
        char s[128];
        uint64_t va = hits->v[i].va;
        if (md_read_cstr(d, va, s, sizeof s) < 0)
            continue;
        char *semi = strchr(s, ';');
        if (!semi)
            continue;
        *semi = 0;
        mc_config *c = mc_cfg_new(out, "fxcfg", va);
        mc_cfg_hostport(c, s + 6, -1, "c2", mc_at(va + 6, MC_FORM_PLAINTEXT));
        mc_cfg_str(c, MC_F_MUTEX, semi + 1, mc_at(va + (uint64_t)(semi + 1 - s), MC_FORM_PLAINTEXT));
        mc_cfg_raw_str(c, "line", s);
        mc_cfg_status(c, MC_STATUS_COMPLETE, 90);
    }
    return 0;
}

static const mc_decoder fxcfg = {
    .family = "fxcfg", .display = "FxCfg", .version = "1", .category = "rat",
    .rules = "rule fxcfg_marker { meta: family = \"fxcfg\" strings: $cfg = \"FXCFG:\" "
             "condition: $cfg }\n",
    .decode = fxcfg_decode,
};

/* Spins until its deadline, polling as the contract asks; a safety stop keeps a broken engine
 * from hanging the test when no deadline is set. */
static int fxslow_decode(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                         mc_results *out)
{
    (void)d;
    mc_config *c = mc_cfg_new(out, "fxslow", hits->v[0].va);
    mc_cfg_status(c, MC_STATUS_PARTIAL, 40);
    double stop = mc_now() + 10;
    while (!mc_expired(ctx) && mc_now() < stop)
        ;
    return 0;
}

static const mc_decoder fxslow = {
    .family = "fxslow", .display = "FxSlow", .version = "1", .category = "loader",
    .rules = "rule fxslow_marker { meta: family = \"fxslow\" strings: $s = \"FXSLOW!\" "
             "condition: $s }\n",
    .decode = fxslow_decode,
};

/* ---- fixtures ---- */

static uint8_t heap[0x1000], text[0x1000];
static char user_rule_path[4096];

static void make_memory(bool slow)
{
    fx_fill_noise(heap, sizeof heap, 21);
    fx_fill_noise(text, sizeof text, 22);
    memcpy(heap + OFF_A1, "FXCFG:c2.example:4782;MutexA", 29);
    memcpy(heap + OFF_B, "FXCFG:198.51.100.7:80;MutexB", 29);
    memcpy(heap + OFF_A2, "FXCFG:c2.example:4782;MutexA", 29);
    memcpy(text + 0x40, "USERMARK", 8);
    if (slow)
        memcpy(text + 0x80, "FXSLOW!", 7);
}

static const fx_region regions[] = {
    {.va = VA_TEXT, .data = text, .size = sizeof text, .protect = MD_PAGE_EXECUTE_READ,
     .type = MD_MEM_IMAGE},
    {.va = VA_HEAP, .data = heap, .size = sizeof heap},
};
static const fx_module modules[] = {{.base = VA_TEXT, .size = 0x1000, .path = "C:\\fx\\host.exe"}};
static const fx_process proc = {.pid = 3131, .arch = MD_ARCH_AMD64, .regions = regions,
                                .nregions = 2, .modules = modules, .nmodules = 1};

enum { C_RAW, C_MINIDUMP, C_CUCKOO, C_ELFCORE, C_GZIP, C__N };

static void build(int kind, fx_buf *b)
{
    fx_buf_init(b);
    fx_buf tmp;
    switch (kind) {
    case C_RAW: fx_put(b, heap, sizeof heap); break;
    case C_MINIDUMP: fx_minidump(&proc, FX_MD_FULL, b); break;
    case C_CUCKOO: fx_cuckoo(&proc, b); break;
    case C_ELFCORE: fx_elfcore(&proc, 64, 0, b); break;
    default:
        fx_buf_init(&tmp);
        fx_minidump(&proc, FX_MD_FULL, &tmp);
        fx_deflate(&tmp, true, b);
        fx_buf_free(&tmp);
    }
}

static mc_engine *engine(const mc_engine_opts *extra, bool raw)
{
    static const mc_decoder *const decs[] = {&fxcfg, &fxslow};
    static const char *paths[1];
    paths[0] = user_rule_path;
    mc_engine_opts o = extra ? *extra : (mc_engine_opts){0};
    if (!o.extra_decoders) {
        o.extra_decoders = decs;
        o.nextra = 2;
    }
    o.rule_paths = paths;
    o.nrule_paths = 1;
    if (raw) {
        o.open.force_format = MD_FMT_RAW;
        o.open.raw_base = VA_HEAP;
        o.open.has_raw_base = true;
    }
    mc_engine *e = NULL;
    char err[512] = "";
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "%s", err);
    return e;
}

static void setup(void)
{
    make_memory(false);
    snprintf(user_rule_path, sizeof user_rule_path, "%s/user.yar", tu_tmpdir());
    FILE *f = fopen(user_rule_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("rule user_marker : tagged { strings: $u = \"USERMARK\" condition: $u }\n", f);
    fclose(f);
}

static const char *sget(const json_t *o, const char *path)
{
    char buf[256];
    strlcpy(buf, path, sizeof buf);
    const json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        char *br = strchr(tok, '[');
        size_t idx = 0;
        if (br) {
            idx = strtoul(br + 1, NULL, 10);
            *br = 0;
        }
        cur = json_object_get(cur, tok);
        if (br)
            cur = json_array_get(cur, idx);
    }
    return json_string_value(cur);
}

static const json_t *jget(const json_t *o, const char *k) { return json_object_get(o, k); }

static const char *sha_hex(const uint8_t *p, size_t n)
{
    static char hex[65];
    unsigned char md[32];
    EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

/* ---- schema validation through python3 ---- */

static bool have_jsonschema(void)
{
    return system("python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
}

/* 0 valid, 1 invalid, -1 skipped (python3-jsonschema missing) */
static int schema_check(json_t **recs, size_t n, bool run_maco);

static void validate_records(json_t **recs, size_t n)
{
    ck_assert_msg(schema_check(recs, n, true) != 1, "records do not validate");
}

static int schema_check(json_t **recs, size_t n, bool run_maco)
{
    if (!have_jsonschema()) {
        fprintf(stderr, "test_engine: python3-jsonschema missing; schema validation skipped\n");
        return -1;
    }
    char schema[4096], data[4096], cmd[16384];
    snprintf(schema, sizeof schema, "%s/schema.json", tu_tmpdir());
    snprintf(data, sizeof data, "%s/records.ndjson", tu_tmpdir());
    json_t *s = mc_record_schema();
    ck_assert_int_eq(json_dump_file(s, schema, 0), 0);
    json_decref(s);
    FILE *f = fopen(data, "w");
    for (size_t i = 0; i < n; i++) {
        char *line = json_dumps(recs[i], JSON_COMPACT);
        fprintf(f, "%s\n", line);
        free(line);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys,jsonschema\n"
             "s=json.load(open(sys.argv[1]))\n"
             "jsonschema.Draft202012Validator.check_schema(s)\n"
             "v=jsonschema.Draft202012Validator(s)\n"
             "bad=0\n"
             "for l in open(sys.argv[2]):\n"
             "  for e in v.iter_errors(json.loads(l)):\n"
             "    print(list(e.absolute_path), e.message); bad=1\n"
             "sys.exit(bad)' '%s' '%s'", schema, data);
    if (system(cmd) != 0)
        return 1;
    const char *maco = tu_shared("schemas/validate_maco.py");
    if (run_maco && maco) {
        snprintf(cmd, sizeof cmd, "python3 '%s' --quiet '%s' >&2 2>/dev/null", maco, data);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}

/* ---- tests ---- */

static void check_records(const mc_engine *e, const mc_input_result *r, int kind,
                          const uint8_t *buf, size_t len)
{
    ck_assert_int_eq(r->status, MC_INPUT_OK);
    ck_assert(!r->partial);
    ck_assert_uint_eq(r->nrecords, 2);
    ck_assert_uint_ge(r->nhits, 3);
    const json_t *a = r->records[0], *b = r->records[1];
    ck_assert_str_eq(sget(a, "schema_version"), "1.0");
    ck_assert_str_eq(sget(a, "record_type"), "config");
    ck_assert_str_eq(sget(a, "tool.name"), "memcfg");
    ck_assert_str_eq(sget(a, "tool.maco_version"), MC_MACO_VERSION);
    ck_assert_str_eq(sget(a, "tool.ruleset_sha256"), mc_engine_ruleset_sha256(e));
    ck_assert_str_eq(sget(a, "input.sha256"), sha_hex(buf, len));
    ck_assert_int_eq(json_integer_value(jget(jget(a, "input"), "size")), (json_int_t)len);
    static const char *const fmt[] = {"raw", "minidump", "cuckoo", "elfcore", "minidump"};
    ck_assert_str_eq(sget(a, "input.format"), fmt[kind]);
    if (kind == C_GZIP)
        ck_assert_str_eq(sget(a, "input.compression"), "gzip");
    ck_assert_str_eq(sget(a, "decoder.name"), "fxcfg");
    ck_assert_str_eq(sget(a, "status"), "complete");
    ck_assert_int_eq(json_integer_value(jget(a, "confidence")), 90);
    ck_assert(strncmp(sget(a, "fingerprint"), "sha256:", 7) == 0);
    ck_assert_str_eq(sget(a, "config.family"), "fxcfg");
    ck_assert_str_eq(sget(a, "config.category[0]"), "rat");
    ck_assert_str_eq(sget(a, "config.tcp[0].server_domain"), "c2.example");
    ck_assert_int_eq(json_integer_value(jget(json_array_get(jget(jget(a, "config"), "tcp"), 0),
                                             "server_port")), 4782);
    ck_assert_str_eq(sget(b, "config.tcp[0].server_ip"), "198.51.100.7");
    ck_assert_str_eq(sget(a, "config.mutex[0]"), "MutexA");

    /* the duplicate config became one record with both anchors */
    const json_t *locs = jget(jget(a, "detection"), "locations");
    ck_assert_uint_eq(json_array_size(locs), 2);
    ck_assert_str_eq(sget(a, "detection.locations[0].va"), "0x0000000020000100");
    ck_assert_str_eq(sget(a, "detection.locations[1].va"), "0x0000000020000800");
    ck_assert_uint_eq(json_array_size(jget(jget(a, "provenance"), "tcp[0]")), 2);
    ck_assert_str_eq(sget(a, "detection.region.va"), "0x0000000020000000");
    ck_assert_str_eq(sget(b, "detection.locations[0].va"), "0x0000000020000400");

    /* family rule and the user rule are both in detection.rules */
    const json_t *rules = jget(jget(a, "detection"), "rules");
    bool fam = false, user = (kind == C_RAW);  /* the raw blob holds the heap only */
    size_t i;
    json_t *ru;
    json_array_foreach(rules, i, ru) {
        if (strcmp(sget(ru, "rule"), "fxcfg_marker") == 0) {
            fam = true;
            ck_assert_str_eq(sget(ru, "namespace"), "fxcfg");
        }
        if (strcmp(sget(ru, "rule"), "user_marker") == 0) {
            user = true;
            ck_assert_str_eq(sget(ru, "namespace"), "user");
            ck_assert_str_eq(json_string_value(json_array_get(jget(ru, "tags"), 0)), "tagged");
        }
    }
    ck_assert(fam && user);
    if (kind == C_MINIDUMP || kind == C_ELFCORE)
        ck_assert_int_eq(json_integer_value(jget(jget(jget(a, "input"), "process"), "pid")), 3131);
}

START_TEST(every_container)
{
    int kind = _i;
    fx_buf b;
    build(kind, &b);
    mc_engine *e = engine(NULL, kind == C_RAW);
    mc_input in = {.path = "fx-input", .mem = b.p, .memlen = b.len};
    mc_input_result r;
    mc_engine_scan(e, &in, &r);
    check_records(e, &r, kind, b.p, b.len);
    validate_records(r.records, r.nrecords);
    mc_input_result_clear(&r);

    /* the same through a file path */
    char path[4096];
    snprintf(path, sizeof path, "%s/input-%d.bin", tu_tmpdir(), kind);
    ck_assert(fx_write_file(path, &b));
    mc_input fin = {.path = path};
    mc_engine_scan(e, &fin, &r);
    check_records(e, &r, kind, b.p, b.len);
    ck_assert_str_eq(sget(r.records[0], "input.path"), path);
    mc_input_result_clear(&r);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

START_TEST(deadline_keeps_finished_work)
{
    make_memory(true);
    fx_buf b;
    build(C_MINIDUMP, &b);
    mc_engine_opts o = {.timeout = 0.5};
    mc_engine *e = engine(&o, false);
    mc_input in = {.path = "slow", .mem = b.p, .memlen = b.len};
    mc_input_result r;
    double t0 = mc_now();
    ck_assert_int_eq(mc_engine_scan(e, &in, &r), MC_INPUT_TIMEOUT);
    ck_assert(mc_now() - t0 < 5);
    ck_assert(r.partial);
    /* fxcfg ran before the slow decoder: its two records survive, plus fxslow's own */
    ck_assert_uint_eq(r.nrecords, 3);
    ck_assert_str_eq(sget(r.records[0], "decoder.name"), "fxcfg");
    ck_assert_str_eq(sget(r.records[2], "decoder.name"), "fxslow");
    for (size_t i = 0; i < r.nrecords; i++) {
        const json_t *w = jget(r.records[i], "warnings");
        bool found = false;
        size_t k;
        json_t *x;
        json_array_foreach(w, k, x) found |= strstr(json_string_value(x), "deadline") != NULL;
        ck_assert_msg(found, "record %zu lacks the deadline warning", i);
    }
    validate_records(r.records, r.nrecords);
    mc_input_result_clear(&r);

    /* a run deadline already past: nothing is scanned, the input is partial */
    mc_engine_opts late = {.run_deadline = mc_now() - 1};
    mc_engine *e2 = engine(&late, false);
    ck_assert_int_eq(mc_engine_scan(e2, &in, &r), MC_INPUT_TIMEOUT);
    ck_assert_uint_eq(r.nrecords, 0);
    mc_input_result_clear(&r);
    mc_engine_free(e2);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

static void check_error(mc_engine *e, const mc_input *in, const char *code)
{
    mc_input_result r;
    ck_assert_int_eq(mc_engine_scan(e, in, &r), MC_INPUT_ERROR);
    ck_assert_uint_eq(r.nrecords, 1);
    ck_assert(r.error[0]);
    const json_t *rec = r.records[0];
    ck_assert_str_eq(sget(rec, "record_type"), "error");
    ck_assert_str_eq(sget(rec, "status"), "failed");
    ck_assert_str_eq(sget(rec, "error.code"), code);
    ck_assert_str_eq(sget(rec, "error.message"), r.error);
    ck_assert_ptr_null(jget(rec, "config"));
    ck_assert_str_eq(sget(rec, "input.path"), in->path);
    validate_records(r.records, r.nrecords);
    mc_input_result_clear(&r);
}

START_TEST(error_records)
{
    mc_engine *e = engine(NULL, false);
    mc_input empty = {.path = "empty", .mem = (const uint8_t *)"", .memlen = 0};
    check_error(e, &empty, "MD_E_EMPTY");
    mc_input missing = {.path = "/nonexistent/dir/x.dmp"};
    check_error(e, &missing, "MD_E_IO");

    fx_buf b;
    build(C_MINIDUMP, &b);
    mc_input trunc = {.path = "truncated.dmp", .mem = b.p, .memlen = 40};
    mc_input_result r;
    ck_assert_int_eq(mc_engine_scan(e, &trunc, &r), MC_INPUT_ERROR);
    ck_assert_str_eq(sget(r.records[0], "record_type"), "error");
    ck_assert_str_eq(sget(r.records[0], "input.sha256"), sha_hex(b.p, 40));
    ck_assert_int_eq(json_integer_value(jget(jget(r.records[0], "input"), "size")), 40);
    mc_input_result_clear(&r);
    fx_buf_free(&b);
    mc_engine_free(e);

    mc_engine_opts o = {0};
    o.open.force_format = MD_FMT_MINIDUMP;
    mc_engine *em = engine(&o, false);
    uint8_t garbage[4096];
    fx_fill_noise(garbage, sizeof garbage, 99);
    mc_input g = {.path = "garbage", .mem = garbage, .memlen = sizeof garbage};
    check_error(em, &g, "MD_E_FORMAT");
    mc_engine_free(em);
}
END_TEST

START_TEST(filters_and_user_only_hits)
{
    fx_buf b;
    build(C_MINIDUMP, &b);
    mc_input in = {.path = "f", .mem = b.p, .memlen = b.len};
    mc_input_result r;

    mc_engine_opts o = {.min_confidence = 95};
    mc_engine *e = engine(&o, false);
    ck_assert_int_eq(mc_engine_scan(e, &in, &r), MC_INPUT_OK);
    ck_assert_uint_eq(r.nrecords, 0);
    mc_input_result_clear(&r);
    mc_engine_free(e);

    const char *ex[] = {"fxcfg"};
    mc_engine_opts o2 = {.exclude = ex, .nexclude = 1};
    e = engine(&o2, false);
    ck_assert_int_eq(mc_engine_scan(e, &in, &r), MC_INPUT_OK);
    ck_assert_uint_eq(r.nrecords, 0);
    ck_assert_uint_ge(r.nhits, 1);     /* the user rule still hit */
    mc_input_result_clear(&r);
    mc_engine_free(e);

    const char *only[] = {"fxslow"};
    mc_engine_opts o3 = {.families = only, .nfamilies = 1};
    e = engine(&o3, false);
    ck_assert_int_eq(mc_engine_scan(e, &in, &r), MC_INPUT_OK);
    ck_assert_uint_eq(r.nrecords, 0);   /* no FXSLOW marker: the decoder is not called */
    mc_input_result_clear(&r);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

typedef struct worker {
    mc_engine *e;
    const mc_input *in;
    char *out;
} worker;

static char *render(const mc_input_result *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->nrecords; i++)
        json_array_append(arr, r->records[i]);
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

static void *work(void *arg)
{
    worker *w = arg;
    mc_input_result r;
    mc_engine_scan(w->e, w->in, &r);
    w->out = render(&r);
    mc_input_result_clear(&r);
    return NULL;
}

START_TEST(deterministic_across_runs_and_threads)
{
    fx_buf b;
    build(C_CUCKOO, &b);
    mc_engine *e = engine(NULL, false);
    mc_input in = {.path = "det", .mem = b.p, .memlen = b.len};
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){e, &in, NULL};
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    worker seq = {e, &in, NULL};
    work(&seq);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(w[i].out, seq.out);
        free(w[i].out);
    }
    free(seq.out);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

START_TEST(schema_rejects_bad_records)
{
    fx_buf b;
    build(C_MINIDUMP, &b);
    mc_engine *e = engine(NULL, false);
    mc_input in = {.path = "neg", .mem = b.p, .memlen = b.len};
    mc_input_result r;
    mc_engine_scan(e, &in, &r);
    ck_assert_uint_ge(r.nrecords, 1);
    json_t *rec = json_deep_copy(r.records[0]);
    json_object_set_new(json_object_get(rec, "config"), "c2", json_string("x"));
    int rc = schema_check(&rec, 1, false);
    ck_assert(rc == 1 || rc == -1);
    json_decref(rec);
    rec = json_deep_copy(r.records[0]);
    json_object_set_new(json_array_get(json_object_get(json_object_get(rec, "config"), "tcp"), 0),
                        "usage", json_string("command"));
    rc = schema_check(&rec, 1, false);
    ck_assert(rc == 1 || rc == -1);
    json_decref(rec);
    rec = json_deep_copy(r.records[0]);
    json_object_set_new(rec, "record_type", json_string("error"));
    rc = schema_check(&rec, 1, false);
    ck_assert(rc == 1 || rc == -1);
    json_decref(rec);
    mc_input_result_clear(&r);
    mc_engine_free(e);
    fx_buf_free(&b);
}
END_TEST

START_TEST(schema_is_valid_draft_2020_12)
{
    json_t *s = mc_record_schema();
    ck_assert_str_eq(sget(s, "$schema"), "https://json-schema.org/draft/2020-12/schema");
    const json_t *defs = jget(s, "$defs");
    ck_assert_ptr_nonnull(jget(defs, "maco_ExtractorModel"));
    ck_assert(json_is_false(jget(jget(defs, "maco_Connection"), "additionalProperties")));
    ck_assert_uint_eq(json_array_size(jget(jget(defs, "maco_CategoryEnum"), "enum")), 34);
    ck_assert_uint_eq(json_array_size(jget(jget(defs, "maco_ConnUsageEnum"), "enum")), 9);
    ck_assert_uint_eq(json_object_size(jget(jget(defs, "maco_ExtractorModel"), "properties")), 33);
    json_decref(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine");
    TCase *t = tcase_create("engine");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_loop_test(t, every_container, 0, C__N);
    tcase_add_test(t, deadline_keeps_finished_work);
    tcase_add_test(t, error_records);
    tcase_add_test(t, filters_and_user_only_hits);
    tcase_add_test(t, deterministic_across_runs_and_threads);
    tcase_add_test(t, schema_is_valid_draft_2020_12);
    tcase_add_test(t, schema_rejects_bad_records);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
