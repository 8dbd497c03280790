/* Rule sources, compilation, the ruleset hash and check-rules.
 *
 * ruleset_sha256 is SHA-256 over every source in compile order, each contributing
 *     namespace NUL name NUL decimal-length NUL bytes
 * where name is "<family>.yar" for bundled rules and the path as given for user rules. The
 * length prefix keeps the framing unambiguous, so two different rule sets cannot hash alike by
 * moving bytes between files. Includes are disabled: every byte the ruleset is made of is in the
 * hash, and a rule file cannot pull in files the user did not name.
 *
 * The bundled rule set (every registered decoder's rules, mc_rule_srcs_add_bundled) is compiled
 * at build time by rulec (extractor/rulec.c) and saved with yr_rules_save_stream; the engine
 * loads it (mc_ruledb_build) when the sources it runs with are exactly the ones that blob was
 * compiled from (kept beside it), and compiles them when they are not or when this libyara
 * cannot load it.
 * This file is a library of its own (mcrules) so that rulec links it without the blob.
 */
#include "mc_internal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MC_MAX_RULE_FILE (64u << 20)

/* ---- libyara lifetime ---- */

static pthread_mutex_t yara_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned yara_refs;

int mc_yara_acquire(void)
{
    int rc = 0;
    pthread_mutex_lock(&yara_lock);
    if (yara_refs == 0) {
        uint32_t no_copies = 0;
        rc = yr_initialize();
        if (rc == ERROR_SUCCESS)   /* fails only for an unknown name; then copies are made */
            (void)yr_set_configuration(YR_CONFIG_MAX_MATCH_DATA, &no_copies);
    }
    if (rc == ERROR_SUCCESS)
        yara_refs++;
    pthread_mutex_unlock(&yara_lock);
    return rc;
}

void mc_yara_release(void)
{
    pthread_mutex_lock(&yara_lock);
    if (yara_refs > 0 && --yara_refs == 0)
        yr_finalize();
    pthread_mutex_unlock(&yara_lock);
}

/* ---- sources ---- */

void mc_rule_srcs_free(mc_rule_srcs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].ns);
        free(s->v[i].name);
        free(s->v[i].text);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

int mc_rule_srcs_add(mc_rule_srcs *s, const char *ns, const char *name, const char *text,
                     size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        mc_rule_src *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    mc_rule_src *r = &s->v[s->n];
    r->ns = strdup(ns);
    r->name = strdup(name);
    r->text = malloc(len + 1);
    if (!r->ns || !r->name || !r->text) {
        free(r->ns);
        free(r->name);
        free(r->text);
        return -1;
    }
    memcpy(r->text, text, len);
    r->text[len] = 0;
    r->len = len;
    s->n++;
    return 0;
}

int mc_rule_srcs_add_bundled(mc_rule_srcs *s, const mc_decoder *const *dec, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const mc_decoder *d = dec[i];
        if (!d || !d->rules || !*d->rules)
            continue;
        char name[160];
        snprintf(name, sizeof name, "%s.yar", d->family);
        if (mc_rule_srcs_add(s, d->family, name, d->rules, strlen(d->rules)) != 0)
            return -1;
    }
    return 0;
}

static int add_file(mc_rule_srcs *s, const char *ns, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= MC_MAX_RULE_FILE) {
                snprintf(err, errlen, "%s: rule file larger than %u MiB", path,
                         MC_MAX_RULE_FILE >> 20);
                rc = -1;
                break;
            }
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = -1;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    if (rc == 0 && memchr(buf ? buf : "", 0, len)) {
        snprintf(err, errlen, "%s: rule file contains a NUL byte", path);
        rc = -1;
    }
    if (rc == 0 && mc_rule_srcs_add(s, ns, path, buf ? buf : "", len) != 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -1;
    }
    free(buf);
    fclose(f);
    return rc;
}

static bool rule_file_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && ((l > 4 && strcmp(n + l - 4, ".yar") == 0) ||
                           (l > 5 && strcmp(n + l - 5, ".yara") == 0));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(mc_rule_srcs *s, const char *ns, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!rule_file_name(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) { rc = -1; break; }
            names = nn;
        }
        if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0) { rc = -1; break; }
        n++;
    }
    closedir(d);
    if (rc != 0)
        snprintf(err, errlen, "%s: out of memory", dir);
    else if (n == 0) {
        snprintf(err, errlen, "%s: no .yar or .yara files", dir);
        rc = -1;
    }
    if (rc == 0)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            rc = add_file(s, ns, names[i], err, errlen);
        free(names[i]);
    }
    free(names);
    return rc;
}

static bool is_identifier(const char *p, size_t n)
{
    if (n == 0 || n > 128 || !(p[0] == '_' || (p[0] >= 'A' && p[0] <= 'Z') ||
                               (p[0] >= 'a' && p[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(p[i] == '_' || (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= 'a' && p[i] <= 'z')))
            return false;
    return true;
}

int mc_rule_srcs_add_path(mc_rule_srcs *s, const char *arg, char *err, size_t errlen)
{
    char ns[130] = "user";
    const char *path = arg;
    struct stat st;
    const char *colon = strchr(arg, ':');
    /* NS:PATH, unless the whole argument is itself an existing path. */
    if (colon && is_identifier(arg, (size_t)(colon - arg)) && stat(arg, &st) != 0) {
        memcpy(ns, arg, (size_t)(colon - arg));
        ns[colon - arg] = 0;
        path = colon + 1;
    }
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return add_dir(s, ns, path, err, errlen);
    return add_file(s, ns, path, err, errlen);
}

/* ---- compilation ---- */

typedef struct compile_ctx {
    const char *cur;                  /* name of the source being compiled */
    int nerrors, nwarnings;
    char first[512];                  /* first error (or fatal warning) */
    bool warnings_fatal;
    void (*report)(void *arg, const char *line);
    void *arg;
} compile_ctx;

static void compiler_cb(int level, const char *file, int line, const YR_RULE *rule,
                        const char *msg, void *user)
{
    (void)file;
    (void)rule;
    compile_ctx *c = user;
    bool warn = level == YARA_ERROR_LEVEL_WARNING;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s:%d: %s: %s", c->cur, line, warn ? "warning" : "error", msg);
    if (c->report)
        c->report(c->arg, buf);
    if (warn)
        c->nwarnings++;
    else
        c->nerrors++;
    if (!c->first[0] && (!warn || c->warnings_fatal))
        strlcpy(c->first, buf, sizeof c->first);
}

void mc_rule_srcs_sha256(const mc_rule_srcs *s, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    for (size_t i = 0; i < s->n; i++) {
        char len[32];
        int ll = snprintf(len, sizeof len, "%zu", s->v[i].len);
        EVP_DigestUpdate(h, s->v[i].ns, strlen(s->v[i].ns) + 1);
        EVP_DigestUpdate(h, s->v[i].name, strlen(s->v[i].name) + 1);
        EVP_DigestUpdate(h, len, (size_t)ll + 1);
        EVP_DigestUpdate(h, s->v[i].text, s->v[i].len);
    }
    EVP_DigestFinal_ex(h, md, &mdlen);
    EVP_MD_CTX_free(h);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static char *meta_family(const YR_RULE *r)
{
    const YR_META *m;
    yr_rule_metas_foreach(r, m) {
        if (m->type == META_TYPE_STRING && strcmp(m->identifier, "family") == 0)
            return strdup(m->string);
    }
    return strdup("");
}

static int ruledb_tables(mc_ruledb *db)
{
    YR_RULES *rules = db->rules;
    db->nrules = rules->num_rules;
    db->nstrings = rules->num_strings;
    db->rule = calloc(db->nrules ? db->nrules : 1, sizeof *db->rule);
    db->string_id = calloc(db->nstrings ? db->nstrings : 1, sizeof *db->string_id);
    if (!db->rule || !db->string_id)
        return -1;
    const YR_RULE *r;
    size_t i = 0;
    yr_rules_foreach(rules, r) {
        mc_rule_info *ri = &db->rule[i++];
        ri->name = strdup(r->identifier);
        ri->ns = strdup(r->ns->name);
        ri->family = meta_family(r);
        ri->tags = json_array();
        if (!ri->name || !ri->ns || !ri->family || !ri->tags)
            return -1;
        const char *tag;
        yr_rule_tags_foreach(r, tag) json_array_append_new(ri->tags, json_string(tag));
        const YR_STRING *st;
        yr_rule_strings_foreach(r, st) {
            if (st->idx < db->nstrings && !db->string_id[st->idx] &&
                !(db->string_id[st->idx] = strdup(st->identifier)))
                return -1;
        }
    }
    return 0;
}

void mc_ruledb_free(mc_ruledb *db)
{
    if (!db)
        return;
    for (size_t i = 0; db->rule && i < db->nrules; i++) {
        free(db->rule[i].name);
        free(db->rule[i].ns);
        free(db->rule[i].family);
        json_decref(db->rule[i].tags);
    }
    for (size_t i = 0; db->string_id && i < db->nstrings; i++)
        free(db->string_id[i]);
    free(db->rule);
    free(db->string_id);
    if (db->rules)
        yr_rules_destroy(db->rules);
    memset(db, 0, sizeof *db);
}

int mc_ruledb_compile(const mc_rule_srcs *s, bool warnings_fatal,
                      void (*report)(void *arg, const char *line), void *arg, mc_ruledb *db,
                      char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    YR_COMPILER *comp = NULL;
    if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
        snprintf(err, errlen, "cannot create the YARA compiler");
        return -1;
    }
    compile_ctx cc = {.warnings_fatal = warnings_fatal, .report = report, .arg = arg};
    yr_compiler_set_callback(comp, compiler_cb, &cc);
    yr_compiler_set_include_callback(comp, NULL, NULL, NULL);
    /* After a failed add the compiler is unusable, so stop at the first source with errors. */
    for (size_t i = 0; i < s->n && cc.nerrors == 0; i++) {
        cc.cur = s->v[i].name;
        yr_compiler_add_string(comp, s->v[i].text, s->v[i].ns);
    }
    int rc = 0;
    if (cc.nerrors || (warnings_fatal && cc.nwarnings)) {
        snprintf(err, errlen, "%s", cc.first[0] ? cc.first : "rule compilation failed");
        rc = -1;
    } else if (yr_compiler_get_rules(comp, &db->rules) != ERROR_SUCCESS) {
        snprintf(err, errlen, "cannot build the compiled rules");
        rc = -1;
    }
    yr_compiler_destroy(comp);
    if (rc == 0 && ruledb_tables(db) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc != 0) {
        mc_ruledb_free(db);
        return -1;
    }
    mc_rule_srcs_sha256(s, db->sha256);
    return 0;
}

/* ---- precompiled rules ---- */

/* A YR_STREAM over memory: reads from p[0..len), or writes to a buffer grown as needed. */
typedef struct mem_stream {
    const unsigned char *p;
    unsigned char *buf;
    size_t len, pos, cap;
    bool failed;
} mem_stream;

static size_t mem_read(void *ptr, size_t size, size_t count, void *user)
{
    mem_stream *m = user;
    if (size == 0 || count == 0)
        return 0;
    size_t avail = (m->len - m->pos) / size;
    size_t n = count < avail ? count : avail;
    memcpy(ptr, m->p + m->pos, n * size);
    m->pos += n * size;
    return n;
}

static size_t mem_write(const void *ptr, size_t size, size_t count, void *user)
{
    mem_stream *m = user;
    if (m->failed)
        return 0;
    if (size == 0 || count == 0)
        return count;
    if (count > (SIZE_MAX - m->len) / size) {
        m->failed = true;
        return 0;
    }
    size_t need = m->len + size * count;
    if (need > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        unsigned char *nb = realloc(m->buf, cap);
        if (!nb) {
            m->failed = true;
            return 0;
        }
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, ptr, size * count);
    m->len = need;
    return count;
}

int mc_ruledb_save(const mc_ruledb *db, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    mem_stream m = {0};
    YR_STREAM st = {.user_data = &m, .write = mem_write};
    if (!db->rules || yr_rules_save_stream(db->rules, &st) != ERROR_SUCCESS || m.failed) {
        free(m.buf);
        return -1;
    }
    *out = m.buf;
    *len = m.len;
    return 0;
}

static const char *yr_load_error(int rc)
{
    switch (rc) {
    case ERROR_INVALID_FILE: return "not a compiled rule set";
    case ERROR_UNSUPPORTED_FILE_VERSION: return "saved by an incompatible libyara";
    case ERROR_CORRUPT_FILE: return "corrupt";
    case ERROR_INSUFFICIENT_MEMORY: return "out of memory";
    default: return NULL;
    }
}

int mc_ruledb_load(const mc_rules_blob *blob, mc_ruledb *db, char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    if (!blob || !blob->data || !blob->len || !blob->sha256 || strlen(blob->sha256) != 64) {
        snprintf(err, errlen, "no precompiled rules");
        return -1;
    }
    mem_stream m = {.p = blob->data, .len = blob->len};
    YR_STREAM st = {.user_data = &m, .read = mem_read};
    int yrc = yr_rules_load_stream(&st, &db->rules);
    if (yrc != ERROR_SUCCESS) {
        db->rules = NULL;
        const char *why = yr_load_error(yrc);
        if (why)
            snprintf(err, errlen, "%s", why);
        else
            snprintf(err, errlen, "libyara error %d", yrc);
        return -1;
    }
    int rc = 0;
    if (m.pos != m.len) {
        snprintf(err, errlen, "%zu bytes after the rule set", m.len - m.pos);
        rc = -1;
    } else if (ruledb_tables(db) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else if (db->nrules != blob->nrules) {
        snprintf(err, errlen, "%zu rules where %zu were saved", db->nrules, blob->nrules);
        rc = -1;
    }
    if (rc != 0) {
        mc_ruledb_free(db);
        return -1;
    }
    strlcpy(db->sha256, blob->sha256, sizeof db->sha256);
    db->precompiled = true;
    return 0;
}

/* s is, byte for byte and in order, what blob was compiled from. */
static bool blob_has_srcs(const mc_rules_blob *blob, const mc_rule_srcs *s)
{
    if (!blob->srcs || blob->nsrcs != s->n)
        return false;
    for (size_t i = 0; i < s->n; i++) {
        const mc_rules_blob_src *b = &blob->srcs[i];
        if (!b->ns || !b->name || !b->text || b->len != s->v[i].len ||
            strcmp(b->ns, s->v[i].ns) != 0 || strcmp(b->name, s->v[i].name) != 0 ||
            memcmp(b->text, s->v[i].text, b->len) != 0)
            return false;
    }
    return true;
}

int mc_ruledb_build(const mc_rule_srcs *s, const mc_rules_blob *blob, mc_ruledb *db, char *err,
                    size_t errlen)
{
    char note[sizeof db->note] = "";
    /* No hashing here: the first SHA-256 of a process costs OpenSSL's initialisation (a
     * millisecond or more), and the blob's hash is that of exactly these bytes. */
    if (blob && blob->len && blob_has_srcs(blob, s) &&
        mc_ruledb_load(blob, db, note, sizeof note) == 0)
        return 0;
    if (mc_ruledb_compile(s, false, NULL, NULL, db, err, errlen) != 0)
        return -1;
    strlcpy(db->note, note, sizeof db->note);
    return 0;
}

int mc_check_rules(const char *const *paths, size_t npaths, bool warnings_as_errors,
                   void (*report)(void *arg, const char *line), void *arg)
{
    if (mc_yara_acquire() != ERROR_SUCCESS) {
        if (report)
            report(arg, "cannot initialise libyara");
        return -1;
    }
    int rc = 0;
    char err[512];
    mc_rule_srcs s = {0};
    for (size_t i = 0; i < npaths && rc == 0; i++) {
        if (mc_rule_srcs_add_path(&s, paths[i], err, sizeof err) != 0) {
            if (report)
                report(arg, err);
            rc = -1;
        }
    }
    if (rc == 0) {
        mc_ruledb db;
        rc = mc_ruledb_compile(&s, warnings_as_errors, report, arg, &db, err, sizeof err);
        if (rc == 0)
            mc_ruledb_free(&db);
    }
    mc_rule_srcs_free(&s);
    mc_yara_release();
    return rc;
}
