/* A CAPE/Cuckoo analysis folder (storage/analyses/<task>/, memdump.md 2.4-2.5) as memcfg inputs,
 * and the run over it.
 *
 * Inputs: memory/<pid>.dmp and Cuckoo's memory/<pid>-<n>.dmp (process memory; the pid is in the
 * name), procdump/ (image dumps) and CAPE/ (payloads). files.json, one JSON object per upload,
 * names the uploading pid and carries capemon's metadata string, whose process path names the
 * process and whose "0x<Address>" places an unpacked payload. reports/report.json
 * (behavior.processes) names processes that files.json does not. The files that procmemory
 * derives from a dump (<pid>_0x<addr> PE carvings, .strings) are left out: they repeat the dump.
 *
 * Files are found by listing the folder, never by following paths from files.json, so that a
 * hostile files.json cannot point the run outside the folder.
 */
#include "mc_sandbox.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ITEMS 100000u               /* files taken from one folder */
#define MAX_FILES_JSON_LINE (1u << 20)  /* a files.json line longer than this is skipped */
#define MAX_FILES_JSON_LINES 1000000u
#define MAX_REPORT_JSON (64ull << 20)   /* report.json is read for names only up to this size */

enum { DUMP_UNPACKED_PE = 8, DUMP_UNPACKED_SHELLCODE = 9 };

/* ---------------------------------------------------------------- metadata */

static char *basename_win(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '\\' || *p == '/')
            b = p + 1;
    return *b ? strdup(b) : NULL;
}

static bool parse_u64_hex(const char *s, size_t n, uint64_t *out)
{
    if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || n > 18)
        return false;
    uint64_t v = 0;
    for (size_t i = 2; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!isxdigit(c))
            return false;
        v = v << 4 | (uint64_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
    }
    *out = v;
    return true;
}

bool mc_cape_parse_metadata(const char *meta, int *dump_type, char **process_path, uint64_t *va,
                            bool *has_va)
{
    *dump_type = -1;
    *process_path = NULL;
    *has_va = false;
    if (!meta)
        return false;
    /* fields are terminated by ";?"; the last one may lack it */
    const char *f[5];
    size_t len[5], nf = 0;
    for (const char *p = meta; *p && nf < 5;) {
        const char *e = strstr(p, ";?");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        f[nf] = p;
        len[nf++] = n;
        p += n + (e ? 2 : 0);
    }
    if (nf < 2 || len[0] == 0 || len[0] > 9)
        return false;
    long t = 0;
    for (size_t i = 0; i < len[0]; i++) {
        if (!isdigit((unsigned char)f[0][i]))
            return false;
        t = t * 10 + (f[0][i] - '0');
    }
    *dump_type = (int)t;
    if (len[1]) {
        *process_path = strndup(f[1], len[1]);
        if (!*process_path)
            return false;
    }
    if ((t == DUMP_UNPACKED_PE || t == DUMP_UNPACKED_SHELLCODE) && nf >= 4)
        *has_va = parse_u64_hex(f[3], len[3], va);
    return true;
}

/* ---------------------------------------------------------------- files.json */

typedef struct fj_entry {
    char *rel;
    uint32_t pid;
    char *process;
    int dump_type;
    uint64_t va;
    bool has_va;
} fj_entry;

typedef struct fj_table {
    fj_entry *v;
    size_t n, cap;
} fj_table;

static void fj_free(fj_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].rel);
        free(t->v[i].process);
    }
    free(t->v);
}

static bool fj_push(fj_table *t, fj_entry *e)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        fj_entry *v = reallocarray(t->v, cap, sizeof *v);
        if (!v)
            return false;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = *e;
    return true;
}

static uint32_t first_pid(const json_t *pids)
{
    json_int_t p = json_integer_value(json_array_get(pids, 0));
    return p > 0 && p <= UINT32_MAX ? (uint32_t)p : 0;
}

static bool fj_line(fj_table *t, const char *line, size_t len)
{
    json_t *o = json_loadb(line, len, 0, NULL);
    const char *rel = json_string_value(json_object_get(o, "path"));
    bool ok = true;
    if (json_is_object(o) && rel) {
        fj_entry e = {.rel = strdup(rel), .pid = first_pid(json_object_get(o, "pids")),
                      .dump_type = -1};
        char *ppath = NULL;
        mc_cape_parse_metadata(json_string_value(json_object_get(o, "metadata")), &e.dump_type,
                               &ppath, &e.va, &e.has_va);
        e.process = ppath ? basename_win(ppath) : NULL;
        free(ppath);
        ok = e.rel && fj_push(t, &e);
        if (!ok) {
            free(e.rel);
            free(e.process);
        }
    }
    json_decref(o);
    return ok;
}

/* A missing files.json is normal (Cuckoo 2.x has none); unparsable lines are skipped. */
static bool fj_load(const char *dir, fj_table *t)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/files.json", dir);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return true;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool ok = true;
    for (size_t lines = 0; ok && lines < MAX_FILES_JSON_LINES &&
                           (n = getline(&line, &cap, fp)) > 0; lines++)
        if ((size_t)n <= MAX_FILES_JSON_LINE)
            ok = fj_line(t, line, (size_t)n);
    free(line);
    fclose(fp);
    return ok;
}

static const fj_entry *fj_find(const fj_table *t, const char *rel)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].rel, rel))
            return &t->v[i];
    return NULL;
}

static const char *fj_name_of(const fj_table *t, uint32_t pid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].pid == pid && t->v[i].process)
            return t->v[i].process;
    return NULL;
}

/* ---------------------------------------------------------------- report.json */

static json_t *report_processes(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/reports/report.json", dir);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_REPORT_JSON)
        return NULL;
    json_t *doc = json_load_file(path, 0, NULL);
    json_t *procs = json_incref(json_object_get(json_object_get(doc, "behavior"), "processes"));
    json_decref(doc);
    return procs;
}

static char *report_name_of(const json_t *procs, uint32_t pid)
{
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) {
        if (json_integer_value(json_object_get(p, "process_id")) != (json_int_t)pid)
            continue;
        const char *name = json_string_value(json_object_get(p, "process_name"));
        return name && *name ? basename_win(name) : NULL;
    }
    return NULL;
}

/* ---------------------------------------------------------------- the walk */

typedef struct walk {
    mc_cape_analysis *a;
    size_t cap, notes_cap;
} walk;

static bool note(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool note(walk *w, const char *fmt, ...)
{
    mc_cape_analysis *a = w->a;
    if (a->nnotes == w->notes_cap) {
        size_t cap = w->notes_cap ? w->notes_cap * 2 : 8;
        char **v = reallocarray(a->notes, cap, sizeof *v);
        if (!v)
            return false;
        a->notes = v;
        w->notes_cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&a->notes[a->nnotes], fmt, ap);
    va_end(ap);
    if (r < 0)
        return false;
    a->nnotes++;
    return true;
}

static bool push_item(walk *w, mc_cape_item *it)
{
    mc_cape_analysis *a = w->a;
    if (a->nitems == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        mc_cape_item *v = reallocarray(a->items, cap, sizeof *v);
        if (!v)
            return false;
        a->items = v;
        w->cap = cap;
    }
    a->items[a->nitems++] = *it;
    return true;
}

static void item_free(mc_cape_item *it)
{
    free(it->path);
    free(it->rel);
    free(it->process);
}

/* "<pid>.dmp" or "<pid>-<n>.dmp"; returns the pid, 0 when the name is neither. */
static uint32_t memory_pid(const char *name)
{
    const char *p = name;
    uint64_t pid = 0;
    while (isdigit((unsigned char)*p) && pid <= UINT32_MAX)
        pid = pid * 10 + (uint64_t)(*p++ - '0');
    if (p == name || pid == 0 || pid > UINT32_MAX)
        return 0;
    if (*p == '-') {
        const char *q = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        if (p == q)
            return 0;
    }
    return strcmp(p, ".dmp") == 0 ? (uint32_t)pid : 0;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files in dir (symbolic links followed), sorted by name. NULL names with *n = 0 when
 * the directory does not exist. */
static char **list_dir(const char *dir, size_t *n, bool *ok)
{
    *n = 0;
    *ok = true;
    DIR *d = opendir(dir);
    if (!d) {
        *ok = errno == ENOENT || errno == ENOTDIR;
        return NULL;
    }
    char **v = NULL;
    size_t cap = 0;
    struct dirent *e;
    while (*ok && *n < MAX_ITEMS && (e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.' ||
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nv = reallocarray(v, cap, sizeof *nv);
            if (!nv) {
                *ok = false;
                break;
            }
            v = nv;
        }
        if (!(v[*n] = strdup(e->d_name)))
            *ok = false;
        else
            (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static int cmp_item(const void *a, const void *b)
{
    const mc_cape_item *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->kind == MC_CAPE_MEMORY && x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return strcmp(x->rel, y->rel);
}

static bool file_is_empty(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size == 0;
}

/* Whether name in a category is an input; a note says why one is not, when that matters. */
static bool wanted(walk *w, mc_cape_kind kind, const char *rel, const char *name, bool *ok)
{
    if (kind != MC_CAPE_MEMORY)
        return true;
    if (memory_pid(name))
        return true;
    if (has_suffix(name, ".dmp.zip"))
        *ok = note(w, "%s: ZIP archives (CAPE reporting compression) are not read; unzip it "
                      "and scan the .dmp", rel);
    return false;
}

static bool add_category(walk *w, const char *dir, const char *cat, mc_cape_kind kind,
                         const fj_table *fj)
{
    char sub[PATH_MAX];
    if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, cat) >= sizeof sub)
        return false;
    size_t n;
    bool ok;
    char **names = list_dir(sub, &n, &ok);
    for (size_t i = 0; ok && i < n; i++) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/%s", cat, names[i]);
        if (!wanted(w, kind, rel, names[i], &ok))
            continue;
        mc_cape_item it = {.kind = kind, .dump_type = -1, .rel = strdup(rel)};
        if (asprintf(&it.path, "%s/%s", sub, names[i]) < 0)
            it.path = NULL;
        if (it.path && file_is_empty(it.path)) {
            ok = note(w, "%s: empty, skipped", rel);
            item_free(&it);
            continue;
        }
        const fj_entry *e = fj_find(fj, rel);
        it.pid = kind == MC_CAPE_MEMORY ? memory_pid(names[i]) : e ? e->pid : 0;
        if (e) {
            it.dump_type = e->dump_type;
            it.va = e->va;
            it.has_va = e->has_va;
            if (e->process && kind != MC_CAPE_MEMORY)
                it.process = strdup(e->process);
        }
        ok = it.rel && it.path && push_item(w, &it);
        if (!ok)
            item_free(&it);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ok;
}

/* Processes without a name from their own metadata take one from any upload of the same pid,
 * then from the report. */
static bool name_processes(mc_cape_analysis *a, const fj_table *fj, const char *dir)
{
    json_t *procs = NULL;
    bool loaded = false;
    for (size_t i = 0; i < a->nitems; i++) {
        mc_cape_item *it = &a->items[i];
        if (it->process || !it->pid)
            continue;
        const char *n = fj_name_of(fj, it->pid);
        if (n) {
            if (!(it->process = strdup(n)))
                return false;
            continue;
        }
        if (!loaded) {
            procs = report_processes(dir);
            loaded = true;
        }
        it->process = report_name_of(procs, it->pid);
    }
    json_decref(procs);
    return true;
}

int mc_cape_analysis_open(const char *dir, mc_cape_analysis **out, char *err, size_t errlen)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return -1;
    }
    errno = 0;
    mc_cape_analysis *a = calloc(1, sizeof *a);
    fj_table fj = {0};
    walk w = {.a = a};
    static const struct { const char *cat; mc_cape_kind kind; } cats[] = {
        {"memory", MC_CAPE_MEMORY}, {"procdump", MC_CAPE_PROCDUMP}, {"CAPE", MC_CAPE_PAYLOAD},
    };
    bool ok = a && fj_load(dir, &fj);
    for (size_t i = 0; ok && i < sizeof cats / sizeof cats[0]; i++)
        ok = add_category(&w, dir, cats[i].cat, cats[i].kind, &fj);
    ok = ok && name_processes(a, &fj, dir);
    fj_free(&fj);
    if (!ok) {
        snprintf(err, errlen, "%s: cannot read the analysis folder: %s", dir,
                 errno ? strerror(errno) : "out of memory");
        mc_cape_analysis_free(a);
        return -1;
    }
    if (a->nitems > 1)
        qsort(a->items, a->nitems, sizeof *a->items, cmp_item);
    *out = a;
    return 0;
}

void mc_cape_analysis_free(mc_cape_analysis *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nitems; i++)
        item_free(&a->items[i]);
    for (size_t i = 0; i < a->nnotes; i++)
        free(a->notes[i]);
    free(a->items);
    free(a->notes);
    free(a);
}

/* ---------------------------------------------------------------- the run */

typedef struct cape_job {
    const mc_cape_item *item;
    mc_input_result res;
    char truncated[256];   /* why the input is incomplete; "" when whole */
    bool done;
} cape_job;

typedef struct cape_runner {
    const mc_cape_run_opts *o;
    mc_engine *engine;     /* inputs opened by sniffing alone */
    cape_job *jobs;
    size_t n, next;
    pthread_mutex_t mu, compile_mu;
    pthread_cond_t done_cv;
} cape_runner;

static void fail_job(const cape_runner *r, cape_job *j, const char *code, const char *msg)
{
    mc_input_result *res = &j->res;
    res->status = MC_INPUT_ERROR;
    snprintf(res->error, sizeof res->error, "%s", msg);
    res->input = json_pack("{s:o}", "path", mc_json_str(j->item->path));
    res->records = malloc(sizeof *res->records);
    if (res->records && (res->records[0] = mc_error_record(j->item->path, res->input, code, msg,
                                                  mc_engine_ruleset_sha256(r->engine))))
        res->nrecords = 1;
}

static void check_truncation(const md_open_opts *open, cape_job *j)
{
    md_dump *d = NULL;
    char err[256];
    if (md_open(j->item->path, open, &d, err, sizeof err) != MD_OK)
        return;
    for (size_t i = 0; i < d->nwarnings && !j->truncated[0]; i++) {
        uint32_t c = d->warnings[i].code;
        if (c == MD_W_RESULTSERVER_TRUNC || c == MD_W_TRUNCATED)
            snprintf(j->truncated, sizeof j->truncated, "%s",
                     d->warnings[i].msg ? d->warnings[i].msg : "truncated");
    }
    md_close(d);
}

/* A payload with a known address gets an engine whose raw/PE base is that address: the
 * engine's open options are per engine, and compiling the rules takes milliseconds. */
static mc_engine *item_engine(cape_runner *r, const mc_cape_item *it, md_open_opts *open,
                              char *err, size_t errlen)
{
    *open = r->o->engine->open;
    open->force_format = MD_FMT_UNKNOWN;
    open->has_raw_base = it->has_va;
    open->raw_base = it->has_va ? it->va : 0;
    if (!it->has_va)
        return r->engine;
    mc_engine_opts eo = *r->o->engine;
    eo.open = *open;
    mc_engine *e = NULL;
    pthread_mutex_lock(&r->compile_mu);
    int rc = mc_engine_new(&eo, &e, err, errlen);
    pthread_mutex_unlock(&r->compile_mu);
    return rc == 0 ? e : NULL;
}

static void run_job(cape_runner *r, cape_job *j)
{
    const mc_cape_item *it = j->item;
    double deadline = r->o->engine->run_deadline;
    if (deadline > 0 && mc_now() >= deadline) {
        fail_job(r, j, "MC_E_DEADLINE", "deadline reached");
        return;
    }
    md_open_opts open;
    char err[256] = "";
    mc_engine *e = item_engine(r, it, &open, err, sizeof err);
    if (!e) {
        fail_job(r, j, "MC_E_ENGINE", err[0] ? err : "cannot create the engine");
        return;
    }
    check_truncation(&open, j);
    mc_input in = {.path = it->path, .pid = it->pid, .process = it->process};
    mc_engine_scan(e, &in, &j->res);
    if (j->truncated[0])
        j->res.partial = true;
    if (e != r->engine) {
        pthread_mutex_lock(&r->compile_mu);
        mc_engine_free(e);
        pthread_mutex_unlock(&r->compile_mu);
    }
}

static void *worker(void *arg)
{
    cape_runner *r = arg;
    pthread_mutex_lock(&r->mu);
    while (r->next < r->n) {
        cape_job *j = &r->jobs[r->next++];
        pthread_mutex_unlock(&r->mu);
        run_job(r, j);
        pthread_mutex_lock(&r->mu);
        j->done = true;
        pthread_cond_broadcast(&r->done_cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void wait_done(cape_runner *r, size_t i)
{
    pthread_mutex_lock(&r->mu);
    while (!r->jobs[i].done)
        pthread_cond_wait(&r->done_cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

static void report_job(const cape_runner *r, const cape_job *j)
{
    char *safe = mc_text_safe(j->item->path);
    const char *p = safe ? safe : j->item->path;
    if (j->res.status != MC_INPUT_OK && !(r->o->quiet && j->res.status == MC_INPUT_TIMEOUT))
        fprintf(stderr, "memcfg: %s: %s\n", p, j->res.error[0] ? j->res.error : "input failed");
    if (j->truncated[0]) {
        char *msg = mc_text_safe(j->truncated);
        fprintf(stderr, "memcfg: warning: %s: %s; configurations in the missing part are not "
                        "reported\n", p, msg ? msg : "truncated");
        free(msg);
    }
    free(safe);
}

static bool is_config(const json_t *rec)
{
    const char *t = json_string_value(json_object_get(rec, "record_type"));
    return !t || !strcmp(t, "config");
}

/* Replace every job's config records by the merged ones, each given to the job of its first
 * source. Error records stay with their job. */
static bool merge_jobs(cape_runner *r)
{
    size_t total = 0;
    for (size_t i = 0; i < r->n; i++)
        total += r->jobs[i].res.nrecords;
    json_t **all = calloc(total ? total : 1, sizeof *all);
    size_t *owner = calloc(total ? total : 1, sizeof *owner);
    json_t **merged = NULL;
    size_t *first = NULL, nc = 0, nm = (size_t)-1;
    if (all && owner) {
        for (size_t i = 0; i < r->n; i++)
            for (size_t k = 0; k < r->jobs[i].res.nrecords; k++)
                if (is_config(r->jobs[i].res.records[k])) {
                    owner[nc] = i;
                    all[nc++] = r->jobs[i].res.records[k];
                }
        nm = mc_merge_records(all, nc, &merged, &first);
    }
    bool ok = nm != (size_t)-1;
    for (size_t i = 0; ok && i < r->n; i++) {
        mc_input_result *res = &r->jobs[i].res;
        size_t keep = 0, cap = res->nrecords + nm;
        json_t **v = calloc(cap ? cap : 1, sizeof *v);
        if (!v) {
            ok = false;
            break;
        }
        for (size_t k = 0; k < res->nrecords; k++) {
            if (is_config(res->records[k]))
                json_decref(res->records[k]);
            else
                v[keep++] = res->records[k];
        }
        for (size_t m = 0; m < nm; m++)
            if (owner[first[m]] == i)
                v[keep++] = json_incref(merged[m]);
        free(res->records);
        res->records = v;
        res->nrecords = keep;
    }
    for (size_t m = 0; nm != (size_t)-1 && m < nm; m++)
        json_decref(merged[m]);
    free(merged);
    free(first);
    free(all);
    free(owner);
    return ok;
}

static void write_job(cape_runner *r, mc_writer *w, cape_job *j, mc_cape_run_stats *st)
{
    report_job(r, j);
    st->truncated += j->truncated[0] != 0;
    if (!st->write_failed && mc_writer_input(w, j->item->path, &j->res) != 0)
        st->write_failed = true;
    mc_input_result_clear(&j->res);
}

static void write_all(cape_runner *r, mc_writer *w, mc_cape_run_stats *st)
{
    for (size_t i = 0; i < r->n; i++) {
        wait_done(r, i);
        if (!r->o->merge)
            write_job(r, w, &r->jobs[i], st);
    }
    if (r->o->merge) {
        if (!merge_jobs(r))
            fprintf(stderr, "memcfg: out of memory while merging; records are not merged\n");
        for (size_t i = 0; i < r->n; i++)
            write_job(r, w, &r->jobs[i], st);
    }
}

static void run_threads(cape_runner *r, mc_writer *w, mc_cape_run_stats *st)
{
    size_t nt = r->o->threads < r->n ? r->o->threads : r->n;
    pthread_t *tids = calloc(nt ? nt : 1, sizeof *tids);
    size_t started = 0;
    while (tids && started < nt && pthread_create(&tids[started], NULL, worker, r) == 0)
        started++;
    if (started == 0)
        worker(r);   /* no thread could start: run here, the result is the same */
    write_all(r, w, st);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
}

int mc_cape_run(const mc_cape_analysis *a, const mc_cape_run_opts *o, mc_cape_run_stats *st,
                char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    cape_runner r = {.o = o, .n = a->nitems};
    mc_engine_opts eo = *o->engine;
    eo.open.force_format = MD_FMT_UNKNOWN;
    eo.open.has_raw_base = false;
    eo.open.raw_base = 0;
    r.engine = o->shared;
    if (!r.engine && mc_engine_new(&eo, &r.engine, err, errlen) != 0)
        return -1;
    r.jobs = calloc(r.n ? r.n : 1, sizeof *r.jobs);
    mc_writer *w = r.jobs ? mc_writer_new(o->format, o->out, &o->output) : NULL;
    if (!w) {
        snprintf(err, errlen, "out of memory");
        free(r.jobs);
        if (r.engine != o->shared)
            mc_engine_free(r.engine);
        return -1;
    }
    for (size_t i = 0; i < a->nnotes && !o->quiet; i++)
        fprintf(stderr, "memcfg: note: %s\n", a->notes[i]);
    for (size_t i = 0; i < r.n; i++)
        r.jobs[i].item = &a->items[i];
    pthread_mutex_init(&r.mu, NULL);
    pthread_mutex_init(&r.compile_mu, NULL);
    pthread_cond_init(&r.done_cv, NULL);
    run_threads(&r, w, st);
    if (mc_writer_finish(w) != 0)
        st->write_failed = true;
    const mc_output_stats *ws = mc_writer_stats(w);
    st->inputs = ws->inputs;
    st->errors = ws->errors;
    st->configs = ws->configs;
    pthread_cond_destroy(&r.done_cv);
    pthread_mutex_destroy(&r.compile_mu);
    pthread_mutex_destroy(&r.mu);
    mc_writer_free(w);
    free(r.jobs);
    if (r.engine != o->shared)
        mc_engine_free(r.engine);
    return 0;
}
