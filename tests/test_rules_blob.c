/* The precompiled bundled rules (rulec -> rules_blob.c -> mc_ruledb_build): the blob is the
 * bundled rule set; loaded, it equals the compiled set rule by rule (namespaces, flags, metadata,
 * tags, strings); a default engine loads it and gives byte-identical records and the same hits as
 * one that compiles; a blob libyara refuses or that is not what it claims falls back to
 * compiling; a subset of families, user rules and a blob of other sources compile as before. */
#include "mc_internal.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *build_path(const char *rel)
{
    static char path[4][4200];
    static int k;
    const char *b = getenv("MEMCFG_BUILDDIR");
    char *p = path[k++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", b && *b ? b : ".", rel);
    return p;
}

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The bundled example dump (mkfixture), in a container; written once per format. */
static const char *example(const char *format)
{
    static char path[2][4200];
    int k = strcmp(format, "minidump") == 0 ? 0 : 1;
    if (!path[k][0]) {
        const char *mk = build_path("fixtures/mkfixture");
        ck_assert_msg(access(mk, X_OK) == 0, "%s not built", mk);
        snprintf(path[k], sizeof path[k], "%s/example-%s.dmp", tu_tmpdir(), format);
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "'%s' '%s' --format %s", mk, path[k], format);
        ck_assert_int_eq(sh(cmd), 0);
    }
    return path[k];
}

/* srcs as a blob keeps them (pointers into s). */
static mc_rules_blob_src *blob_srcs(const mc_rule_srcs *s)
{
    mc_rules_blob_src *v = calloc(s->n + 1, sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < s->n; i++)
        v[i] = (mc_rules_blob_src){s->v[i].ns, s->v[i].name, s->v[i].text, s->v[i].len};
    return v;
}

static void bundled_srcs(mc_rule_srcs *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(mc_rule_srcs_add_bundled(s, mc_decoders, mc_decoder_count()), 0);
    ck_assert_uint_gt(s->n, 0);
}

/* ---------------------------------------------------------------- the blob itself */

START_TEST(blob_is_the_bundled_set)
{
    const mc_rules_blob *b = &mc_rules_bundled;
    ck_assert_uint_gt(b->len, 2048);
    ck_assert_mem_eq(b->data, "YARA", 4);
    ck_assert_uint_eq(b->data[4], YR_ARENA_FILE_VERSION);
    /* the hash of exactly the sources the engine assembles for every registered decoder */
    mc_rule_srcs s;
    bundled_srcs(&s);
    ck_assert_uint_eq(s.n, mc_decoder_count());
    for (size_t i = 0; i < s.n; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s.yar", mc_decoders[i]->family);
        ck_assert_str_eq(s.v[i].ns, mc_decoders[i]->family);
        ck_assert_str_eq(s.v[i].name, name);
        ck_assert_str_eq(s.v[i].text, mc_decoders[i]->rules);
    }
    /* the blob keeps them, and their hash */
    ck_assert_uint_eq(b->nsrcs, s.n);
    for (size_t i = 0; i < s.n; i++) {
        ck_assert_str_eq(b->srcs[i].ns, s.v[i].ns);
        ck_assert_str_eq(b->srcs[i].name, s.v[i].name);
        ck_assert_uint_eq(b->srcs[i].len, s.v[i].len);
        ck_assert_mem_eq(b->srcs[i].text, s.v[i].text, s.v[i].len);
    }
    char sha[65];
    mc_rule_srcs_sha256(&s, sha);
    ck_assert_str_eq(b->sha256, sha);
    mc_rule_srcs_free(&s);
}
END_TEST

/* Every rule of a and b alike, in order, as libyara holds them. */
static void yr_rules_equal(YR_RULES *a, YR_RULES *b)
{
    ck_assert_uint_eq(a->num_rules, b->num_rules);
    ck_assert_uint_eq(a->num_strings, b->num_strings);
    ck_assert_uint_eq(a->num_namespaces, b->num_namespaces);
    const YR_RULE *ra = a->rules_table, *rb = b->rules_table;
    size_t n = 0;
    for (; !RULE_IS_NULL(ra) && !RULE_IS_NULL(rb); ra++, rb++, n++) {
        ck_assert_str_eq(ra->identifier, rb->identifier);
        ck_assert_str_eq(ra->ns->name, rb->ns->name);
        ck_assert_int_eq(ra->flags, rb->flags);
        ck_assert_int_eq(ra->num_atoms, rb->num_atoms);
        const char *ta = ra->tags, *tb = rb->tags;
        size_t nt = 0;
        for (; ta && tb && *ta && *tb; ta += strlen(ta) + 1, tb += strlen(tb) + 1, nt++)
            ck_assert_str_eq(ta, tb);
        ck_assert(!(ta && *ta) && !(tb && *tb));
        const YR_META *ma = ra->metas, *mb = rb->metas;
        ck_assert_int_eq(ma == NULL, mb == NULL);
        for (; ma && mb; ma++, mb++) {
            ck_assert_str_eq(ma->identifier, mb->identifier);
            ck_assert_int_eq(ma->type, mb->type);
            ck_assert_int_eq(ma->integer, mb->integer);
            ck_assert_int_eq(ma->string == NULL, mb->string == NULL);
            if (ma->string)
                ck_assert_str_eq(ma->string, mb->string);
            ck_assert_int_eq(META_IS_LAST_IN_RULE(ma), META_IS_LAST_IN_RULE(mb));
            if (META_IS_LAST_IN_RULE(ma))
                break;
        }
        const YR_STRING *sa = ra->strings, *sb = rb->strings;
        ck_assert_int_eq(sa == NULL, sb == NULL);
        for (; sa && sb; sa++, sb++) {
            ck_assert_str_eq(sa->identifier, sb->identifier);
            ck_assert_uint_eq(sa->idx, sb->idx);
            ck_assert_uint_eq(sa->flags, sb->flags);
            ck_assert_uint_eq(sa->rule_idx, sb->rule_idx);
            ck_assert_int_eq(sa->fixed_offset, sb->fixed_offset);
            ck_assert_int_eq(sa->chained_to == NULL, sb->chained_to == NULL);
            ck_assert_int_eq(sa->chain_gap_min, sb->chain_gap_min);
            ck_assert_int_eq(sa->chain_gap_max, sb->chain_gap_max);
            ck_assert_int_eq(sa->length, sb->length);
            if (sa->length > 0)   /* a regex or hex string may have no literal bytes */
                ck_assert_mem_eq(sa->string, sb->string, (size_t)sa->length);
            ck_assert_int_eq(STRING_IS_LAST_IN_RULE(sa), STRING_IS_LAST_IN_RULE(sb));
            if (STRING_IS_LAST_IN_RULE(sa))
                break;
        }
    }
    ck_assert(RULE_IS_NULL(ra) && RULE_IS_NULL(rb));
    ck_assert_uint_eq(n, a->num_rules);
}

/* The extractor's tables of a and b alike. */
static void ruledb_equal(const mc_ruledb *a, const mc_ruledb *b)
{
    ck_assert_str_eq(a->sha256, b->sha256);
    ck_assert_uint_eq(a->nrules, b->nrules);
    ck_assert_uint_eq(a->nstrings, b->nstrings);
    for (size_t i = 0; i < a->nrules; i++) {
        ck_assert_str_eq(a->rule[i].name, b->rule[i].name);
        ck_assert_str_eq(a->rule[i].ns, b->rule[i].ns);
        ck_assert_str_eq(a->rule[i].family, b->rule[i].family);
        ck_assert(json_equal(a->rule[i].tags, b->rule[i].tags));
    }
    for (size_t i = 0; i < a->nstrings; i++) {
        ck_assert_int_eq(a->string_id[i] == NULL, b->string_id[i] == NULL);
        if (a->string_id[i])
            ck_assert_str_eq(a->string_id[i], b->string_id[i]);
    }
    yr_rules_equal(a->rules, b->rules);
}

START_TEST(loaded_equals_compiled)
{
    ck_assert_int_eq(mc_yara_acquire(), 0);
    mc_rule_srcs s;
    bundled_srcs(&s);
    mc_ruledb comp, load, built;
    char err[512] = "";
    ck_assert_int_eq(mc_ruledb_compile(&s, false, NULL, NULL, &comp, err, sizeof err), 0);
    ck_assert(!comp.precompiled);
    ck_assert_int_eq(mc_ruledb_load(&mc_rules_bundled, &load, err, sizeof err), 0);
    ck_assert(load.precompiled);
    ck_assert_uint_eq(load.nrules, mc_rules_bundled.nrules);
    ruledb_equal(&comp, &load);
    /* the engine's entry point takes the blob for these sources */
    ck_assert_int_eq(mc_ruledb_build(&s, &mc_rules_bundled, &built, err, sizeof err), 0);
    ck_assert(built.precompiled);
    ck_assert_str_eq(built.note, "");
    ruledb_equal(&comp, &built);
    /* saved again, the loaded set is the same bytes (nothing lost in the round trip) */
    unsigned char *again = NULL;
    size_t len = 0;
    ck_assert_int_eq(mc_ruledb_save(&load, &again, &len), 0);
    ck_assert_uint_eq(len, mc_rules_bundled.len);
    ck_assert_mem_eq(again, mc_rules_bundled.data, len);
    free(again);
    mc_ruledb_free(&built);
    mc_ruledb_free(&load);
    mc_ruledb_free(&comp);
    mc_rule_srcs_free(&s);
    mc_yara_release();
}
END_TEST

/* The bundled rules carry no tags and only string metas; a rule set that has every kind of
 * thing goes through save and load whole too. */
START_TEST(save_load_round_trip)
{
    ck_assert_int_eq(mc_yara_acquire(), 0);
    static const char *const text[2] = {
        "global private rule gate { condition: filesize > 16 }\n"
        "rule tagged : alpha beta { meta: family = \"quasar\" n = -7 ok = true note = \"x\"\n"
        "  strings: $a = \"Office04\" wide nocase $h = { 4D 5A [0-300] 50 45 }\n"
        "  $r = /c2\\.[a-z]{3,8}\\.example/ $c = { 01 02 03 04 [-] 05 06 07 08 }\n"
        "  condition: any of them }\n",
        "import \"pe\"\nrule other : gamma { strings: $x = \"abc\" xor(1-3) condition: $x or "
        "pe.number_of_sections > 100 }\n",
    };
    mc_rule_srcs s = {0};
    ck_assert_int_eq(mc_rule_srcs_add(&s, "one", "one.yar", text[0], strlen(text[0])), 0);
    ck_assert_int_eq(mc_rule_srcs_add(&s, "two", "two.yar", text[1], strlen(text[1])), 0);
    mc_ruledb comp, load;
    char err[512] = "";
    ck_assert_msg(mc_ruledb_compile(&s, true, NULL, NULL, &comp, err, sizeof err) == 0, "%s", err);
    unsigned char *bytes = NULL;
    size_t len = 0;
    ck_assert_int_eq(mc_ruledb_save(&comp, &bytes, &len), 0);
    mc_rules_blob_src *bsrc = blob_srcs(&s);
    mc_rules_blob b = {.data = bytes, .len = len, .srcs = bsrc, .nsrcs = s.n,
                       .sha256 = comp.sha256, .nrules = comp.nrules};
    ck_assert_int_eq(mc_ruledb_load(&b, &load, err, sizeof err), 0);
    ck_assert_uint_eq(load.nrules, 3);
    ck_assert_str_eq(load.rule[1].family, "quasar");
    ck_assert_uint_eq(json_array_size(load.rule[1].tags), 2);
    ck_assert_str_eq(json_string_value(json_array_get(load.rule[2].tags, 0)), "gamma");
    ruledb_equal(&comp, &load);
    mc_ruledb_free(&load);
    /* built for these sources, it is taken; for the bundled ones, it is not */
    ck_assert_int_eq(mc_ruledb_build(&s, &b, &load, err, sizeof err), 0);
    ck_assert(load.precompiled);
    mc_ruledb_free(&load);
    mc_rule_srcs bs;
    bundled_srcs(&bs);
    ck_assert_int_eq(mc_ruledb_build(&bs, &b, &load, err, sizeof err), 0);
    ck_assert(!load.precompiled);
    ck_assert_uint_eq(load.nrules, mc_rules_bundled.nrules);
    mc_ruledb_free(&load);
    mc_rule_srcs_free(&bs);
    free(bsrc);
    free(bytes);
    mc_ruledb_free(&comp);
    mc_rule_srcs_free(&s);
    mc_yara_release();
}
END_TEST

/* ---------------------------------------------------------------- the engine */

static const mc_rules_blob no_blob = {0};

static mc_engine *engine(const mc_engine_opts *o)
{
    mc_engine *e = NULL;
    char err[512] = "";
    ck_assert_msg(mc_engine_new(o, &e, err, sizeof err) == 0, "%s", err);
    return e;
}

/* The records of one input as compact sorted-key JSON, one per line. */
static char *scan_text(mc_engine *e, const char *path, size_t *nhits)
{
    mc_input in = {.path = path};
    mc_input_result res;
    ck_assert_int_eq(mc_engine_scan(e, &in, &res), MC_INPUT_OK);
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < res.nrecords; i++) {
        char *s = json_dumps(res.records[i], JSON_SORT_KEYS | JSON_COMPACT);
        ck_assert_ptr_nonnull(s);
        fprintf(f, "%s\n", s);
        free(s);
    }
    char *s = json_dumps(res.input, JSON_SORT_KEYS | JSON_COMPACT);
    fprintf(f, "input %s\n", s);
    free(s);
    fclose(f);
    *nhits = res.nhits;
    mc_input_result_clear(&res);
    return out;
}

static void hits_equal(const mc_ruledb *a, const mc_ruledb *b, const char *path)
{
    md_dump *d = NULL;
    char err[512] = "";
    ck_assert_msg(md_open(path, NULL, &d, err, sizeof err) == MD_OK, "%s", err);
    mc_scan sa, sb;
    ck_assert_int_eq(mc_scan_dump(a, d, 0, &sa, err, sizeof err), 0);
    ck_assert_int_eq(mc_scan_dump(b, d, 0, &sb, err, sizeof err), 0);
    ck_assert_uint_gt(sa.nhits, 0);
    ck_assert_uint_eq(sa.nhits, sb.nhits);
    for (size_t i = 0; i < sa.nhits; i++) {
        ck_assert_uint_eq(sa.hits[i].va, sb.hits[i].va);
        ck_assert_uint_eq(sa.hits[i].len, sb.hits[i].len);
        ck_assert_str_eq(sa.hits[i].rule, sb.hits[i].rule);
        ck_assert_str_eq(sa.hits[i].ns, sb.hits[i].ns);
        ck_assert_str_eq(sa.hits[i].string_id, sb.hits[i].string_id);
        ck_assert_str_eq(sa.hits[i].family, sb.hits[i].family);
    }
    ck_assert_uint_eq(sa.nmatched, sb.nmatched);
    if (sa.nmatched)
        ck_assert_mem_eq(sa.matched, sb.matched, sa.nmatched * sizeof *sa.matched);
    mc_scan_free(&sa);
    mc_scan_free(&sb);
    md_close(d);
}

START_TEST(engine_loads_and_matches_compiled)
{
    mc_engine_test_rules_blob(NULL);
    mc_engine *pre = engine(NULL);
    const mc_ruledb *dp = mc_engine_ruledb(pre);
    ck_assert_msg(dp->precompiled, "default engine compiled its rules (%s)", dp->note);
    ck_assert_str_eq(dp->note, "");
    ck_assert_str_eq(mc_engine_ruleset_sha256(pre), mc_rules_bundled.sha256);

    mc_engine_test_rules_blob(&no_blob);
    mc_engine *comp = engine(NULL);
    mc_engine_test_rules_blob(NULL);
    const mc_ruledb *dc = mc_engine_ruledb(comp);
    ck_assert(!dc->precompiled);
    ck_assert_str_eq(dc->note, "");
    ruledb_equal(dc, dp);

    const char *formats[] = {"minidump", "elfcore"};
    for (size_t f = 0; f < 2; f++) {
        const char *path = example(formats[f]);
        size_t ha = 0, hb = 0;
        char *a = scan_text(pre, path, &ha);
        char *b = scan_text(comp, path, &hb);
        /* the example carries a QuasarRAT and a Remcos config */
        ck_assert_msg(strstr(a, "\"family\":\"quasar\"") && strstr(a, "\"family\":\"remcos\""),
                      "%s: %s", formats[f], a);
        ck_assert_ptr_nonnull(strstr(a, mc_rules_bundled.sha256));
        ck_assert_uint_gt(ha, 0);
        ck_assert_uint_eq(ha, hb);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
        hits_equal(dp, dc, path);
    }
    mc_engine_free(comp);
    mc_engine_free(pre);
}
END_TEST

/* A copy of the bundled blob, damaged one way. */
typedef enum { BAD_VERSION, BAD_MAGIC, TRUNCATED, TRAILING, WRONG_COUNT, BAD__N } damage;

static mc_rules_blob damaged(damage how, unsigned char **buf)
{
    const mc_rules_blob *b = &mc_rules_bundled;
    *buf = malloc(b->len + 1);
    ck_assert_ptr_nonnull(*buf);
    memcpy(*buf, b->data, b->len);
    mc_rules_blob d = *b;
    d.data = *buf;
    switch (how) {
    case BAD_VERSION: (*buf)[4] = (unsigned char)(YR_ARENA_FILE_VERSION + 1); break;
    case BAD_MAGIC: (*buf)[0] = 'X'; break;
    case TRUNCATED: d.len = b->len / 2; break;
    case TRAILING: (*buf)[b->len] = 0; d.len = b->len + 1; break;
    case WRONG_COUNT: d.nrules = b->nrules + 1; break;
    default: ck_abort();
    }
    return d;
}

START_TEST(bad_blob_falls_back_to_compiling)
{
    static const char *const why[BAD__N] = {
        "saved by an incompatible libyara", "not a compiled rule set", "corrupt",
        "1 bytes after the rule set", "rules where",
    };
    mc_engine_test_rules_blob(&no_blob);
    mc_engine *ref = engine(NULL);
    mc_engine_test_rules_blob(NULL);
    size_t nh = 0;
    char *want = scan_text(ref, example("minidump"), &nh);
    for (int k = 0; k < BAD__N; k++) {
        unsigned char *buf;
        mc_rules_blob d = damaged((damage)k, &buf);
        /* the loader refuses it */
        mc_ruledb db;
        char err[512] = "";
        ck_assert_int_eq(mc_ruledb_load(&d, &db, err, sizeof err), -1);
        ck_assert_msg(strstr(err, why[k]), "damage %d: %s", k, err);
        ck_assert_ptr_null(db.rules);
        /* and an engine compiles, says why, and gives the same records */
        mc_engine_test_rules_blob(&d);
        mc_engine *e = engine(NULL);
        mc_engine_test_rules_blob(NULL);
        const mc_ruledb *dp = mc_engine_ruledb(e);
        ck_assert_msg(!dp->precompiled, "damage %d loaded", k);
        ck_assert_msg(strstr(dp->note, why[k]), "damage %d: note '%s'", k, dp->note);
        ruledb_equal(dp, mc_engine_ruledb(ref));
        size_t nh2 = 0;
        char *got = scan_text(e, example("minidump"), &nh2);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(nh2, nh);
        free(got);
        mc_engine_free(e);
        free(buf);
    }
    free(want);
    mc_engine_free(ref);
}
END_TEST

/* A blob is taken only for the sources it was compiled from. */
START_TEST(other_rule_sets_compile)
{
    mc_engine_test_rules_blob(NULL);
    mc_engine *all = engine(NULL);
    ck_assert(mc_engine_ruledb(all)->precompiled);
    size_t nall = mc_engine_ruledb(all)->nrules;

    /* a subset of families */
    const char *fam[] = {"quasar", "remcos"};
    mc_engine_opts o = {.families = fam, .nfamilies = 2};
    mc_engine *sub = engine(&o);
    const mc_ruledb *ds = mc_engine_ruledb(sub);
    ck_assert(!ds->precompiled);
    ck_assert_str_eq(ds->note, "");
    ck_assert_uint_gt(ds->nrules, 0);
    ck_assert_uint_lt(ds->nrules, nall);
    ck_assert_str_ne(ds->sha256, mc_rules_bundled.sha256);

    /* one family left out */
    const char *ex[] = {"rokrat"};
    mc_engine_opts ox = {.exclude = ex, .nexclude = 1};
    mc_engine *exc = engine(&ox);
    ck_assert(!mc_engine_ruledb(exc)->precompiled);
    ck_assert_uint_lt(mc_engine_ruledb(exc)->nrules, nall);
    mc_engine_free(exc);

    /* user rules on top of the bundled ones */
    char path[4200];
    snprintf(path, sizeof path, "%s/user.yar", tu_tmpdir());
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("rule user_example_marker : demo { meta: family = \"quasar\" strings: $a = "
          "\"Office04\" wide condition: $a }\n", f);
    fclose(f);
    const char *paths[] = {path};
    mc_engine_opts ou = {.rule_paths = paths, .nrule_paths = 1};
    mc_engine *user = engine(&ou);
    const mc_ruledb *du = mc_engine_ruledb(user);
    ck_assert(!du->precompiled);
    ck_assert_uint_eq(du->nrules, nall + 1);
    ck_assert_str_eq(du->rule[nall].name, "user_example_marker");
    ck_assert_str_eq(du->rule[nall].ns, "user");
    ck_assert_str_ne(du->sha256, mc_rules_bundled.sha256);
    size_t nh = 0;
    char *recs = scan_text(user, example("minidump"), &nh);
    ck_assert_msg(strstr(recs, "\"rule\":\"user_example_marker\""), "%s", recs);
    free(recs);
    mc_engine_free(user);

    /* a blob compiled from other sources is not taken, even for the default set: one source
     * fewer, one byte of a source changed, a namespace changed */
    mc_rule_srcs bs;
    bundled_srcs(&bs);
    for (int k = 0; k < 3; k++) {
        mc_rules_blob_src *v = blob_srcs(&bs);
        mc_rules_blob d = mc_rules_bundled;
        d.srcs = v;
        d.nsrcs = bs.n - (k == 0);
        char *text = strdup(bs.v[1].text), ns[] = "quasaR";
        ck_assert_ptr_nonnull(text);
        text[bs.v[1].len / 2] ^= 1;
        if (k == 1)
            v[1].text = text;
        if (k == 2)
            v[0].ns = ns;
        mc_engine_test_rules_blob(&d);
        mc_engine *other = engine(NULL);
        mc_engine_test_rules_blob(NULL);
        ck_assert_msg(!mc_engine_ruledb(other)->precompiled, "case %d loaded", k);
        ck_assert_str_eq(mc_engine_ruledb(other)->note, "");
        ruledb_equal(mc_engine_ruledb(other), mc_engine_ruledb(all));
        mc_engine_free(other);
        free(text);
        free(v);
    }
    mc_rule_srcs_free(&bs);
    mc_engine_free(sub);
    mc_engine_free(all);
}
END_TEST

/* memcfg(1) itself takes the precompiled path and says so under -v. */
START_TEST(cli_reports_precompiled)
{
    const char *bin = build_path("extractor/memcfg");
    ck_assert_msg(access(bin, X_OK) == 0, "%s not built", bin);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' scan -v -f ndjson '%s' 2>&1 >/dev/null | grep -Eq "
             "'^memcfg: rules: %zu rules loaded \\(precompiled\\) in [0-9.]+ ms \\([0-9.]+ ms "
             "after start\\)$'", bin, example("minidump"), mc_rules_bundled.nrules);
    ck_assert_int_eq(sh(cmd), 0);
    /* with user rules it compiles */
    snprintf(cmd, sizeof cmd, "printf 'rule u { condition: false }\\n' > '%s/u.yar' && '%s' scan "
             "-v -R '%s/u.yar' '%s' 2>&1 >/dev/null | grep -Eq '^memcfg: rules: %zu rules "
             "compiled in'", tu_tmpdir(), bin, tu_tmpdir(), example("minidump"),
             mc_rules_bundled.nrules + 1);
    ck_assert_int_eq(sh(cmd), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rules_blob");
    TCase *t = tcase_create("core");
    tcase_add_test(t, blob_is_the_bundled_set);
    tcase_add_test(t, loaded_equals_compiled);
    tcase_add_test(t, save_load_round_trip);
    tcase_add_test(t, engine_loads_and_matches_compiled);
    tcase_add_test(t, bad_blob_falls_back_to_compiling);
    tcase_add_test(t, other_rule_sets_compile);
    tcase_add_test(t, cli_reports_precompiled);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
