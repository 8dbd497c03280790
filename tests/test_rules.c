/* Rule compilation: every bundled decoder's rules compile with warnings fatal; user rules from
 * a file, a directory and NS:PATH; errors carry file:line; the ruleset hash covers names and
 * bytes in order. */
#include "mc_internal.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *write_tmp(const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

typedef struct lines { char buf[4096]; int n; } lines;

static void collect(void *arg, const char *line)
{
    lines *l = arg;
    strlcat(l->buf, line, sizeof l->buf);
    strlcat(l->buf, "\n", sizeof l->buf);
    l->n++;
}

START_TEST(bundled_rules_compile_warning_free)
{
    ck_assert_int_eq(mc_yara_acquire(), 0);
    for (size_t i = 0; i < mc_decoder_count(); i++) {
        const mc_decoder *d = mc_decoders[i];
        ck_assert_ptr_nonnull(d->rules);
        mc_rule_srcs s = {0};
        ck_assert_int_eq(mc_rule_srcs_add(&s, d->family, d->family, d->rules, strlen(d->rules)), 0);
        mc_ruledb db;
        char err[512] = "";
        lines l = {0};
        int rc = mc_ruledb_compile(&s, true, collect, &l, &db, err, sizeof err);
        ck_assert_msg(rc == 0, "%s: %s", d->family, l.buf);
        /* every rule of a family is bound to it through meta family */
        for (size_t r = 0; r < db.nrules; r++)
            ck_assert_msg(strcmp(db.rule[r].family, d->family) == 0, "%s: rule %s lacks family meta",
                          d->family, db.rule[r].name);
        mc_ruledb_free(&db);
        mc_rule_srcs_free(&s);
    }
    mc_yara_release();
}
END_TEST

START_TEST(registry_lookup)
{
    ck_assert_ptr_null(mc_decoders[mc_decoder_count()]);
    for (size_t i = 0; i < mc_decoder_count(); i++)
        ck_assert_ptr_eq(mc_decoder_find(mc_decoders[i]->family), mc_decoders[i]);
    ck_assert_ptr_null(mc_decoder_find("no-such-family"));
    ck_assert_ptr_null(mc_decoder_find(NULL));
}
END_TEST

START_TEST(user_file_dir_ns)
{
    const char *dir_rules = tu_tmpdir();
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/ruledir", dir_rules);
    mkdir(sub, 0700);
    write_tmp("ruledir/b.yara", "rule b_rule { strings: $b = \"BBBBBB\" condition: $b }\n");
    write_tmp("ruledir/a.yar", "rule a_rule { strings: $a = \"AAAAAA\" condition: $a }\n");
    write_tmp("ruledir/notes.txt", "not a rule");
    const char *single = write_tmp("one.yar",
        "rule one { meta: family = \"x\" strings: $o = \"ONEONE\" condition: $o }\n");
    char single_path[4096], nsarg[4200];
    strlcpy(single_path, single, sizeof single_path);
    snprintf(nsarg, sizeof nsarg, "custom:%s", single_path);

    ck_assert_int_eq(mc_yara_acquire(), 0);
    mc_rule_srcs s = {0};
    char err[512] = "";
    ck_assert_int_eq(mc_rule_srcs_add_path(&s, sub, err, sizeof err), 0);
    ck_assert_int_eq(mc_rule_srcs_add_path(&s, nsarg, err, sizeof err), 0);
    ck_assert_uint_eq(s.n, 3);
    ck_assert(strstr(s.v[0].name, "/a.yar") != NULL);
    ck_assert(strstr(s.v[1].name, "/b.yara") != NULL);
    ck_assert_str_eq(s.v[0].ns, "user");
    ck_assert_str_eq(s.v[2].ns, "custom");
    ck_assert_str_eq(s.v[2].name, single_path);

    mc_ruledb db;
    ck_assert_int_eq(mc_ruledb_compile(&s, true, NULL, NULL, &db, err, sizeof err), 0);
    ck_assert_uint_eq(db.nrules, 3);
    ck_assert_str_eq(db.rule[2].ns, "custom");
    ck_assert_str_eq(db.rule[2].family, "x");
    ck_assert_str_eq(db.rule[0].family, "");
    ck_assert_uint_eq(strlen(db.sha256), 64);
    char first[65];
    strlcpy(first, db.sha256, sizeof first);
    mc_ruledb_free(&db);

    /* same bytes under another namespace: another ruleset */
    free(s.v[2].ns);
    s.v[2].ns = strdup("other");
    ck_assert_int_eq(mc_ruledb_compile(&s, true, NULL, NULL, &db, err, sizeof err), 0);
    ck_assert_str_ne(db.sha256, first);
    mc_ruledb_free(&db);
    mc_rule_srcs_free(&s);

    ck_assert_int_ne(mc_rule_srcs_add_path(&s, "/nonexistent/rules.yar", err, sizeof err), 0);
    ck_assert(strstr(err, "/nonexistent/rules.yar") != NULL);
    snprintf(sub, sizeof sub, "%s/emptydir", dir_rules);
    mkdir(sub, 0700);
    ck_assert_int_ne(mc_rule_srcs_add_path(&s, sub, err, sizeof err), 0);
    mc_rule_srcs_free(&s);
    mc_yara_release();
}
END_TEST

START_TEST(errors_carry_file_and_line)
{
    const char *bad = write_tmp("bad.yar", "rule ok { condition: true }\n\nrule broken {\n"
                                           "  strings: $a = \"abc\"\n  condition: $b }\n");
    char path[4096];
    strlcpy(path, bad, sizeof path);
    lines l = {0};
    const char *paths[] = {path};
    ck_assert_int_ne(mc_check_rules(paths, 1, false, collect, &l), 0);
    char want[4200];
    snprintf(want, sizeof want, "%s:5: error:", path);
    ck_assert_msg(strstr(l.buf, want) != NULL, "got: %s", l.buf);

    mc_engine_opts o = {.rule_paths = paths, .nrule_paths = 1};
    mc_engine *e = NULL;
    char err[512] = "";
    ck_assert_int_ne(mc_engine_new(&o, &e, err, sizeof err), 0);
    ck_assert_ptr_null(e);
    ck_assert_msg(strstr(err, want) != NULL, "got: %s", err);
}
END_TEST

START_TEST(warnings_fatal_only_when_asked)
{
    /* a one-byte hex string gives libyara nothing to index: "slowing down scanning" */
    const char *slow = write_tmp("slow.yar", "rule slow { strings: $a = { 4? } condition: $a }\n");
    char path[4096];
    strlcpy(path, slow, sizeof path);
    const char *paths[] = {path};
    lines l = {0};
    ck_assert_int_eq(mc_check_rules(paths, 1, false, collect, &l), 0);
    ck_assert_msg(strstr(l.buf, "warning") != NULL, "got: %s", l.buf);
    lines l2 = {0};
    ck_assert_int_ne(mc_check_rules(paths, 1, true, collect, &l2), 0);
}
END_TEST

START_TEST(engine_ruleset_hash_stable)
{
    mc_engine *a = NULL, *b = NULL;
    char err[512];
    ck_assert_int_eq(mc_engine_new(NULL, &a, err, sizeof err), 0);
    ck_assert_int_eq(mc_engine_new(NULL, &b, err, sizeof err), 0);
    ck_assert_str_eq(mc_engine_ruleset_sha256(a), mc_engine_ruleset_sha256(b));
    ck_assert_uint_eq(strlen(mc_engine_ruleset_sha256(a)), 64);
    mc_engine_free(a);
    mc_engine_free(b);
    const char *fam[] = {"no-such-family"};
    mc_engine_opts o = {.families = fam, .nfamilies = 1};
    ck_assert_int_ne(mc_engine_new(&o, &a, err, sizeof err), 0);
    ck_assert(strstr(err, "no-such-family") != NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *t = tcase_create("rules");
    tcase_add_test(t, bundled_rules_compile_warning_free);
    tcase_add_test(t, registry_lookup);
    tcase_add_test(t, user_file_dir_ns);
    tcase_add_test(t, errors_carry_file_and_line);
    tcase_add_test(t, warnings_fatal_only_when_asked);
    tcase_add_test(t, engine_ruleset_hash_stable);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
