/* The engine: per input, open -> one libyara pass -> decoders -> records.
 *
 * Deadlines are cooperative. The per-input deadline (min(start + timeout, run_deadline)) bounds
 * the libyara pass (yr_scanner_set_timeout) and is handed to every decoder, which must poll
 * mc_expired() in its loops; C offers no safe way to stop a thread that does not, so a decoder
 * that never polls is a decoder bug. When the deadline passes, decoders not yet run are skipped,
 * what finished is still reported, the input is marked partial and its records say why.
 *
 * Nothing in a result depends on timing or threads other than partial/elapsed: records are
 * sorted by (family registry order, anchor VA, fingerprint) after merging duplicates.
 */
#include "mc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MEMCFG_VERSION
#define MEMCFG_VERSION "0.0.0"
#endif

struct mc_engine {
    const mc_decoder **dec;   /* selected decoders, registry order then extras */
    const char **fam;         /* their families, the record order */
    size_t ndec;
    const mc_decoder **known; /* every registered decoder (registry + extras) */
    size_t nknown;
    mc_ruledb db;
    json_t *tool;
    double timeout, run_deadline;
    int min_confidence, verbose;
    md_open_opts open;
    uint64_t kdf_budget;      /* PBKDF2 rounds per decoder job (decoder.h mc_kdf_budget) */
    bool yara_held;
    unsigned threads;         /* scan-thread budget shared by concurrent mc_engine_scan calls */
    mc_scan_helpers *helpers; /* running scans that take the threads of finished inputs */
    atomic_uint active;       /* mc_engine_scan calls in progress */
};

/* Start of the process (as near as a library gets: its load), for the -v start-up probe. */
static double process_start;

__attribute__((constructor)) static void mark_process_start(void)
{
    process_start = mc_now();
}

bool mc_engine_help(mc_engine *e)
{
    return e && mc_scan_help(e->helpers);
}

void mc_engine_set_threads(mc_engine *e, unsigned n)
{
    if (e)
        e->threads = n ? n : 1;
}

/* Threads for one dump: the budget split among the inputs being scanned now, so one input gets
 * them all and a batch gets one per input (the caller runs inputs in parallel). */
static unsigned scan_threads(mc_engine *e)
{
    unsigned active = atomic_load(&e->active);
    unsigned n = e->threads / (active ? active : 1);
    return n ? n : 1;
}

static bool name_in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && strcmp(list[i], s) == 0)
            return true;
    return false;
}

static const mc_decoder *known_find(const mc_engine *e, const char *family)
{
    for (size_t i = 0; i < e->nknown; i++)
        if (strcmp(e->known[i]->family, family) == 0)
            return e->known[i];
    return NULL;
}

static int collect_decoders(mc_engine *e, const mc_engine_opts *o, char *err, size_t errlen)
{
    size_t nreg = mc_decoder_count(), total = nreg + o->nextra;
    e->known = calloc(total ? total : 1, sizeof *e->known);
    e->dec = calloc(total ? total : 1, sizeof *e->dec);
    e->fam = calloc(total ? total : 1, sizeof *e->fam);
    if (!e->known || !e->dec || !e->fam) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < total; i++) {
        const mc_decoder *d = i < nreg ? mc_decoders[i] : o->extra_decoders[i - nreg];
        if (!d || !d->family || !*d->family || !d->decode) {
            snprintf(err, errlen, "decoder %zu is incomplete", i);
            return -1;
        }
        if (known_find(e, d->family)) {
            snprintf(err, errlen, "decoder family %s registered twice", d->family);
            return -1;
        }
        e->known[e->nknown++] = d;
    }
    const char *const *lists[2] = {o->families, o->exclude};
    size_t counts[2] = {o->nfamilies, o->nexclude};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < counts[l]; i++)
            if (!lists[l][i] || !known_find(e, lists[l][i])) {
                snprintf(err, errlen, "unknown family: %s", lists[l][i] ? lists[l][i] : "(null)");
                return -1;
            }
    for (size_t i = 0; i < e->nknown; i++) {
        const mc_decoder *d = e->known[i];
        if ((o->nfamilies && !name_in(d->family, o->families, o->nfamilies)) ||
            name_in(d->family, o->exclude, o->nexclude))
            continue;
        e->fam[e->ndec] = d->family;
        e->dec[e->ndec++] = d;
    }
    return 0;
}

/* The precompiled bundled rules, or the stand-in a test set (mc_engine_test_rules_blob). */
static const mc_rules_blob *test_rules_blob;

void mc_engine_test_rules_blob(const mc_rules_blob *blob)
{
    test_rules_blob = blob;
}

const mc_ruledb *mc_engine_ruledb(const mc_engine *e)
{
    return &e->db;
}

/* The selected decoders' bundled rules, then the user's. When that is the rule set rulec compiled
 * at build time (every registered decoder, no user rules: the same sources byte for byte), it is
 * loaded; otherwise, or when this libyara cannot load it, compiled (mc_ruledb_build). */
static int build_rules(mc_engine *e, const mc_engine_opts *o, char *err, size_t errlen)
{
    mc_rule_srcs s = {0};
    int rc = 0;
    if (mc_rule_srcs_add_bundled(&s, e->dec, e->ndec) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    for (size_t i = 0; i < o->nrule_paths && rc == 0; i++)
        rc = mc_rule_srcs_add_path(&s, o->rule_paths[i], err, errlen);
#ifdef MC_NO_PRECOMPILED_RULES
    const mc_rules_blob *blob = test_rules_blob;
#else
    const mc_rules_blob *blob = test_rules_blob ? test_rules_blob : &mc_rules_bundled;
#endif
    if (rc == 0)
        rc = mc_ruledb_build(&s, blob, &e->db, err, errlen);
    mc_rule_srcs_free(&s);
    return rc;
}

int mc_engine_new(const mc_engine_opts *opts, mc_engine **out, char *err, size_t errlen)
{
    static const mc_engine_opts none;
    const mc_engine_opts *o = opts ? opts : &none;
    *out = NULL;
    mc_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->timeout = o->timeout;
    e->run_deadline = o->run_deadline;
    e->min_confidence = o->min_confidence;
    e->verbose = o->verbose;
    e->open = o->open;
    /* The scan starts before the page-start probe for injected images; scan_opened runs it. */
    e->open.defer_image_probe = true;
    e->kdf_budget = o->kdf_budget ? o->kdf_budget : MC_KDF_BUDGET_DEFAULT;
    e->threads = 1;
    atomic_init(&e->active, 0);
    e->helpers = mc_scan_helpers_new();
    if (!e->helpers) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    double t0 = mc_now();
    if (collect_decoders(e, o, err, errlen) != 0)
        goto fail;
    if (mc_yara_acquire() != ERROR_SUCCESS) {
        snprintf(err, errlen, "cannot initialise libyara");
        goto fail;
    }
    e->yara_held = true;
    if (build_rules(e, o, err, errlen) != 0)
        goto fail;
    if (e->verbose)
        fprintf(stderr, "memcfg: rules: %zu rules %s in %.1f ms (%.1f ms after start)%s%s\n",
                e->db.nrules, e->db.precompiled ? "loaded (precompiled)" : "compiled",
                (mc_now() - t0) * 1e3, (mc_now() - process_start) * 1e3,
                e->db.note[0] ? "; precompiled rules not loaded: " : "", e->db.note);
    e->tool = json_pack("{s:s, s:s, s:s, s:s}", "name", MC_TOOL_NAME, "version", MEMCFG_VERSION,
                        "maco_version", MC_MACO_VERSION, "ruleset_sha256", e->db.sha256);
    if (!e->tool) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    *out = e;
    return 0;
fail:
    mc_engine_free(e);
    return -1;
}

void mc_engine_free(mc_engine *e)
{
    if (!e)
        return;
    if (e->db.rules)
        mc_ruledb_free(&e->db);
    if (e->yara_held)
        mc_yara_release();
    json_decref(e->tool);
    mc_scan_helpers_free(e->helpers);
    free(e->known);
    free(e->dec);
    free(e->fam);
    free(e);
}

const char *mc_engine_ruleset_sha256(const mc_engine *e)
{
    return e ? e->db.sha256 : NULL;
}

/* ---- input block ---- */

static void hex32(const unsigned char *md, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* SHA-256 and size of the input as given. A regular file is hashed from a mapping of its own, a
 * stretch at a time, each stretch released once hashed (no copy, nothing stays resident);
 * anything else is read in chunks. */
static bool hash_file(const char *path, char out[65], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    enum { CHUNK = 4 << 20 };
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    bool ok = h && EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    uint64_t total = 0;
    struct stat st;
    void *map = MAP_FAILED;
    if (ok && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
        madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
        for (size_t off = 0; ok && off < (size_t)st.st_size; off += CHUNK) {
            size_t n = (size_t)st.st_size - off < CHUNK ? (size_t)st.st_size - off : CHUNK;
            ok = EVP_DigestUpdate(h, (const uint8_t *)map + off, n) == 1;
            madvise((uint8_t *)map + off, n, MADV_DONTNEED);
            total += n;
        }
        munmap(map, (size_t)st.st_size);
    } else {
        unsigned char *buf = ok ? malloc(CHUNK) : NULL;
        ok = buf != NULL;
        while (ok) {
            ssize_t n = read(fd, buf, CHUNK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                ok = false;
            if (n <= 0)
                break;
            ok = EVP_DigestUpdate(h, buf, (size_t)n) == 1;
            total += (uint64_t)n;
        }
        free(buf);
    }
    unsigned char md[32];
    unsigned int mdlen;
    if (ok && EVP_DigestFinal_ex(h, md, &mdlen)) {
        hex32(md, out);
        *size = total;
    } else {
        ok = false;
    }
    EVP_MD_CTX_free(h);
    close(fd);
    return ok;
}

/* The input's SHA-256 and size. The hash is a full read of the input (0.7 s of CPU per GiB);
 * done first, it delayed the scan's first byte by a quarter of a second per 256 MiB. With two
 * threads or more for this input it runs on a thread of its own while the dump is opened,
 * scanned and decoded; with one (-p 1, or a batch's share), on the input's own thread once the
 * decoders are done, so -p N never keeps more than N threads busy. The record's input block gets
 * it before any record is built; its keys are placed first so the key order does not depend on
 * timing. */
typedef struct input_hash {
    const char *path;
    char hex[65];
    uint64_t size;
    bool ok, started, pending, alongside;
    double ms;
    pthread_t tid;
} input_hash;

static void *hash_thread(void *arg)
{
    input_hash *h = arg;
    double t0 = mc_now();
    h->ok = hash_file(h->path, h->hex, &h->size);
    h->ms = (mc_now() - t0) * 1e3;
    return NULL;
}

static json_t *input_base(const mc_input *in, unsigned threads, input_hash *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", mc_json_str(in->path ? in->path : "-"));
    json_object_set_new(o, "sha256", json_null());
    json_object_set_new(o, "size", json_null());
    *h = (input_hash){.path = in->path};
    if (in->mem) {
        unsigned char md[32];
        unsigned int mdlen;
        h->ok = EVP_Digest(in->mem, in->memlen, md, &mdlen, EVP_sha256(), NULL) == 1;
        if (h->ok)
            hex32(md, h->hex);
        h->size = in->memlen;
    } else if (in->path) {
        h->started = threads > 1 && pthread_create(&h->tid, NULL, hash_thread, h) == 0;
        h->pending = !h->started;
        h->alongside = h->started;
    }
    return o;
}

/* Wait for the hash and put it in the input block (once; later calls do nothing). */
static void input_hash_finish(input_hash *h, json_t *input)
{
    if (h->started)
        pthread_join(h->tid, NULL);
    else if (h->pending)
        hash_thread(h);
    h->started = h->pending = false;
    if (!json_is_null(json_object_get(input, "sha256")))
        return;
    if (h->ok) {
        json_object_set_new(input, "sha256", json_string(h->hex));
        json_object_set_new(input, "size", json_integer((json_int_t)h->size));
    } else {
        json_object_del(input, "sha256");
        json_object_del(input, "size");
    }
}

static const char *compression_name(md_compression c)
{
    return c == MD_COMP_GZIP ? "gzip" : c == MD_COMP_ZLIB ? "zlib" : NULL;
}

/* The reader's warnings about the dump itself, for people reading the input header; capped
 * because the block is repeated in every record and a hostile dump can warn without end. */
#define MC_INPUT_MAX_WARNINGS 32

static json_t *input_warnings(const md_dump *d)
{
    json_t *arr = json_array();
    size_t n = d->nwarnings < MC_INPUT_MAX_WARNINGS ? d->nwarnings : MC_INPUT_MAX_WARNINGS;
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, mc_json_str(d->warnings[i].msg ? d->warnings[i].msg : ""));
    if (arr && d->nwarnings > n) {
        char buf[64];
        snprintf(buf, sizeof buf, "%zu more warnings not shown", d->nwarnings - n);
        json_array_append_new(arr, json_string(buf));
    }
    return arr;
}

static void input_dump(json_t *o, const md_dump *d, const mc_input *in)
{
    json_object_set_new(o, "format", json_string(md_format_name(d->format)));
    const char *comp = compression_name(d->compression);
    if (comp)
        json_object_set_new(o, "compression", json_string(comp));
    json_object_set_new(o, "arch", json_string(md_arch_name(d->arch)));
    json_object_set_new(o, "regions", json_integer((json_int_t)d->nregions));
    if (d->nwarnings)
        json_object_set_new(o, "warnings", input_warnings(d));
    uint32_t pid = in->pid ? in->pid : d->pid;
    const char *name = in->process ? in->process : d->process;
    if (pid || name) {
        json_t *p = json_object();
        if (pid)
            json_object_set_new(p, "pid", json_integer(pid));
        if (name)
            json_object_set_new(p, "name", mc_json_str(name));
        json_object_set_new(o, "process", p);
    }
}

static const char *md_err_code(md_err e)
{
    static const char *const names[] = {
        [MD_OK] = "MD_OK", [MD_E_IO] = "MD_E_IO", [MD_E_EMPTY] = "MD_E_EMPTY",
        [MD_E_FORMAT] = "MD_E_FORMAT", [MD_E_CORRUPT] = "MD_E_CORRUPT",
        [MD_E_TRUNCATED] = "MD_E_TRUNCATED", [MD_E_LIMIT] = "MD_E_LIMIT",
        [MD_E_NOMEM] = "MD_E_NOMEM", [MD_E_ARG] = "MD_E_ARG",
    };
    return (unsigned)e < sizeof names / sizeof names[0] && names[e] ? names[e] : "MD_E_ARG";
}

static void error_record(const mc_engine *e, mc_input_result *res, const char *code)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "schema_version", json_string(MC_SCHEMA_VERSION));
    json_object_set_new(rec, "record_type", json_string("error"));
    json_object_set_new(rec, "tool", json_deep_copy(e->tool));
    json_object_set_new(rec, "input", json_deep_copy(res->input));
    json_object_set_new(rec, "status", json_string("failed"));
    json_object_set_new(rec, "error", json_pack("{s:s, s:o}", "code", code, "message",
                                                mc_json_str(res->error)));
    json_object_set_new(rec, "warnings", json_array());
    res->records = malloc(sizeof *res->records);
    if (res->records) {
        res->records[0] = rec;
        res->nrecords = 1;
    } else {
        json_decref(rec);
    }
    res->status = MC_INPUT_ERROR;
}

/* ---- dispatch ---- */

typedef struct job {
    const mc_decoder *dec;
    mc_hit *hits;         /* the family's hits, until the job is finished */
    size_t nhits;
    mc_results *out;
    json_t *rules;        /* detection.rules for this decoder's records */
    json_t *warnings;     /* decoder-specific warnings */
    int rc;               /* the decoder's return */
    mc_kdf_budget kdf;    /* its own PBKDF2 budget: refusals never depend on other jobs */
    bool skipped;         /* not run: the deadline had passed */
    bool expired;         /* the deadline passed while it ran */
    double ms;
} job;

typedef struct scan_state {
    const mc_engine *e;
    const md_dump *d;
    mc_scan scan;
    mc_decode_ctx ctx;
    json_t *user_rules;   /* detection.rules entries of rules no decoder claims */
    json_t *warnings;     /* input-level warnings, added to every record */
    json_t *input;        /* the record's input block (borrowed) */
    job *jobs;
    size_t njobs;
    bool timed_out;
    bool kdf_capped;      /* a job ran out of PBKDF2 budget */
} scan_state;

static json_t *rule_entry(const mc_rule_info *ri)
{
    return json_pack("{s:s, s:s, s:o}", "rule", ri->name, "namespace", ri->ns, "tags",
                     json_deep_copy(ri->tags));
}

static void warn(json_t *arr, const char *fmt, const char *a)
{
    char buf[512];
    snprintf(buf, sizeof buf, fmt, a);
    json_array_append_new(arr, mc_json_str(buf));
}

/* Dump warnings that change what a record means: memory missing or cut short. */
static void dump_warnings(const md_dump *d, json_t *arr)
{
    for (size_t i = 0; i < d->nwarnings; i++) {
        uint32_t c = d->warnings[i].code;
        if (c == MD_W_TRUNCATED || c == MD_W_RESULTSERVER_TRUNC || c == MD_W_SMALL_DUMP ||
            c == MD_W_LIMIT)
            warn(arr, "dump: %s", d->warnings[i].msg ? d->warnings[i].msg : "");
    }
}

static void collect_user_rules(scan_state *st)
{
    const mc_ruledb *db = &st->e->db;
    for (size_t i = 0; i < st->scan.nmatched; i++) {
        const mc_rule_info *ri = &db->rule[st->scan.matched[i]];
        if (!known_find(st->e, ri->family))
            json_array_append_new(st->user_rules, rule_entry(ri));
    }
}

static json_t *family_rules(const scan_state *st, const char *family)
{
    const mc_ruledb *db = &st->e->db;
    json_t *arr = json_array();
    for (size_t i = 0; i < st->scan.nmatched; i++) {
        const mc_rule_info *ri = &db->rule[st->scan.matched[i]];
        if (strcmp(ri->family, family) == 0)
            json_array_append_new(arr, rule_entry(ri));
    }
    json_array_extend(arr, st->user_rules);
    return arr;
}

/* The hits of one family, in the scan's (va, rule, string_id) order. */
static mc_hit *family_hits(const mc_scan *s, const char *family, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < s->nhits; i++)
        if (strcmp(s->hits[i].family, family) == 0)
            (*n)++;
    if (*n == 0)
        return NULL;
    mc_hit *v = malloc(*n * sizeof *v);
    if (!v) {
        *n = 0;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->nhits; i++)
        if (strcmp(s->hits[i].family, family) == 0)
            v[k++] = s->hits[i];
    return v;
}

/* Set up the job of one decoder whose family has hits (in the calling thread: jansson objects
 * are not shared across threads). */
static void prepare_job(scan_state *st, const mc_decoder *dec)
{
    size_t n;
    mc_hit *hv = family_hits(&st->scan, dec->family, &n);
    if (!hv)
        return;
    job *j = &st->jobs[st->njobs++];
    j->dec = dec;
    j->hits = hv;
    j->nhits = n;
    j->warnings = json_array();
    j->rules = family_rules(st, dec->family);
    j->out = mc_results_new();
    j->kdf.limit = st->e->kdf_budget;
}

/* Run one job's decoder. Touches only the job and read-only shared state, so jobs of one dump
 * run on several threads; what they report is assembled in job order afterwards. */
static void exec_job(const scan_state *st, job *j)
{
    if (mc_expired(&st->ctx)) {
        j->skipped = true;
        return;
    }
    double t0 = mc_now();
    mc_hits hits = {j->hits, j->nhits};
    mc_decode_ctx ctx = st->ctx;
    ctx.kdf = &j->kdf;
    j->rc = j->out ? j->dec->decode(&ctx, st->d, &hits, j->out) : -1;
    j->ms = (mc_now() - t0) * 1e3;
    j->expired = mc_expired(&st->ctx);
}

typedef struct job_pool {
    scan_state *st;
    atomic_size_t next;
} job_pool;

static void *job_worker(void *arg)
{
    job_pool *p = arg;
    size_t i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->st->njobs)
        exec_job(p->st, &p->st->jobs[i]);
    return NULL;
}

/* Run every job on up to `threads` threads (this one included). */
static void run_jobs(scan_state *st, unsigned threads)
{
    job_pool pool = {.st = st};
    atomic_init(&pool.next, 0);
    if (threads > st->njobs)
        threads = (unsigned)st->njobs;
    pthread_t *tid = threads > 1 ? calloc(threads - 1, sizeof *tid) : NULL;
    unsigned started = 0;
    for (unsigned t = 1; tid && t < threads; t++)
        if (pthread_create(&tid[started], NULL, job_worker, &pool) == 0)
            started++;
    job_worker(&pool);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    free(tid);
}

/* What a job's run means for the records: deadline warnings, a failed record for a decoder
 * that broke before reporting anything. */
static void finish_job(scan_state *st, job *j)
{
    const char *fam = j->dec->family;
    if (st->e->verbose && !j->skipped) {
        char kdf[96] = "";
        if (j->kdf.derived || j->kdf.skipped)
            snprintf(kdf, sizeof kdf, ", PBKDF2 %lu derivations %" PRIu64 " rounds, %lu refused",
                     j->kdf.derived, j->kdf.used, j->kdf.skipped);
        fprintf(stderr, "memcfg: decoder %s: %zu hits, %zu configs, %.1f ms%s\n", fam, j->nhits,
                j->out ? mc_results_count(j->out) : 0, j->ms, kdf);
    }
    if (j->skipped) {
        warn(st->warnings, "decoder %s not run: deadline reached", fam);
        st->timed_out = true;
        mc_results_free(j->out);
        j->out = NULL;
    } else if (j->expired) {
        warn(st->warnings, "decoder %s reached the deadline; its output may be incomplete", fam);
        st->timed_out = true;
    }
    if (j->kdf.skipped) {
        /* Every record of the input says so, as for a deadline; a decoder left with no config
         * gets the failed record below, so the warning always reaches the output. */
        char buf[256];
        snprintf(buf, sizeof buf, "decoder %s used up its PBKDF2 budget (%" PRIu64 " rounds): %lu "
                 "key derivations skipped; its output may be incomplete", fam, j->kdf.limit,
                 j->kdf.skipped);
        json_array_append_new(st->warnings, json_string(buf));
        st->kdf_capped = true;
    }
    if (!j->skipped && (j->rc != 0 || j->kdf.skipped) && j->out && mc_results_count(j->out) == 0) {
        mc_config *c = mc_cfg_new(j->out, fam, j->hits[0].va);
        mc_cfg_status(c, MC_STATUS_FAILED, 0);
    }
    if (!j->skipped && j->rc != 0)
        warn(j->warnings, "decoder %s reported an internal error", fam);
    free(j->hits);
    j->hits = NULL;
}

static void job_records(scan_state *st, const job *j, json_t ***recs, size_t *nrecs,
                        size_t *cap)
{
    json_t *extra = json_deep_copy(j->warnings);
    json_array_extend(extra, st->warnings);
    for (size_t i = 0; i < mc_results_count(j->out); i++) {
        mc_config *c = mc_results_get(j->out, i);
        if (j->dec->category && !json_object_get(mc_cfg_json(c), "category") &&
            mc_cfg_get_status(c) != MC_STATUS_FAILED)
            mc_cfg_category(c, j->dec->category);
        json_t *rec = mc_record_from_config(c, st->d, j->dec, st->e->tool, st->input, j->rules,
                                            extra);
        if (!rec)
            continue;
        if (*nrecs == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            json_t **v = realloc(*recs, nc * sizeof *v);
            if (!v) {
                json_decref(rec);
                continue;
            }
            *recs = v;
            *cap = nc;
        }
        (*recs)[(*nrecs)++] = rec;
    }
    json_decref(extra);
}

/* True when every value of the record was read from decrypted heap strings: a heap-only
 * stand-in, reported for when the image is gone. */
static bool heap_only(const json_t *rec)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach(json_object_get(rec, "provenance"), k, v) {
        size_t i;
        json_t *w;
        json_array_foreach(v, i, w) {
            const char *form = json_string_value(json_object_get(w, "form"));
            if (!form || strcmp(form, "heap_decrypted") != 0)
                return false;
            n++;
        }
    }
    return n > 0;
}

static const char *record_family(const json_t *rec)
{
    return json_string_value(json_object_get(json_object_get(rec, "config"), "family"));
}

/* Drop heap-only stand-ins of a family whose config the dump's image gave: the stand-in has
 * nothing the image config lacks, and beside other samples' heaps it may have borrowed their
 * values. */
static size_t drop_standins(json_t **recs, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *fam = record_family(recs[i]);
        bool drop = false;
        if (fam && heap_only(recs[i]))
            for (size_t j = 0; j < n && !drop; j++) {
                const char *f2 = record_family(recs[j]), *st = json_string_value(json_object_get(recs[j], "status"));
                drop = j != i && f2 && strcmp(f2, fam) == 0 && !heap_only(recs[j]) && st &&
                       strcmp(st, "failed") != 0;
            }
        if (drop)
            json_decref(recs[i]);
        else
            recs[k++] = recs[i];
    }
    return k;
}

static void finish_records(scan_state *st, mc_input_result *res)
{
    json_t **recs = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < st->njobs; i++)
        if (st->jobs[i].out)
            job_records(st, &st->jobs[i], &recs, &n, &cap);
    n = drop_standins(recs, n);
    n = mc_records_merge_sort(recs, n, st->e->fam, st->e->ndec);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_int_t conf = json_integer_value(json_object_get(recs[i], "confidence"));
        if (conf < st->e->min_confidence) {
            json_decref(recs[i]);
            continue;
        }
        recs[k++] = recs[i];
    }
    res->records = recs;
    res->nrecords = k;
}

static void state_free(scan_state *st)
{
    for (size_t i = 0; i < st->njobs; i++) {
        free(st->jobs[i].hits);
        mc_results_free(st->jobs[i].out);
        json_decref(st->jobs[i].rules);
        json_decref(st->jobs[i].warnings);
    }
    free(st->jobs);
    json_decref(st->user_rules);
    json_decref(st->warnings);
    mc_scan_free(&st->scan);
}

/* Where the time of one input went after its scan (the -v timing probe). */
typedef struct phase_ms {
    double probe, decoders, hash_wait;
    double index;             /* CPU time the scan's threads spent indexing the heap */
    bool indexed;             /* and the decoders got that index */
} phase_ms;

/* Until a rule's string matches, no decoder may run on this dump: the chunks scanned before are
 * indexed only when one will (mc_heap_indexer_finish), so a dump without hits pays nothing. */
static void index_item(void *arg, unsigned slot, const md_run *r, uint64_t lo, uint64_t hi,
                       bool matched)
{
    if (matched)
        mc_heap_indexer_item(arg, slot, r, lo, hi);
    else
        mc_heap_indexer_later(arg, slot, r, lo, hi);
}

static void report_timing(const mc_input *in, const mc_scan_stats *ss, const input_hash *h,
                          const phase_ms *ph, double t_open, double t_scan, double t_end, double t_in)
{
    double ms = 1e3;
    fprintf(stderr, "memcfg: %s: open %.1f ms, scan %.1f ms (%s, %u threads, %.1f MB in regions, "
            "%.1f MB matched, %.1f MB zero skipped, %.1f MB re-scanned for conditions; first byte "
            "scanned %.1f ms after start; heap index %.1f ms of it, %s), image probe %.1f ms, decoders %.1f ms, hash %.1f ms (%s; "
            "%.1f ms waited for), records %.1f ms, total %.1f ms\n",
            in->path ? in->path : "-", (t_scan - t_open) * ms, (ss->t_end - ss->t_start) * ms,
            ss->mode, ss->threads, ss->bytes / 1e6, ss->scanned / 1e6, ss->zero_skipped / 1e6,
            ss->window_bytes / 1e6, ss->t_first > 0 ? (ss->t_first - process_start) * ms : 0.0,
            ph->index, ph->indexed ? "used" : "not used", ph->probe, ph->decoders, h->ms, h->alongside ? "alongside" : "after the decoders",
            ph->hash_wait, (t_end - ss->t_end) * ms - ph->probe - ph->decoders - ph->hash_wait,
            (t_end - t_in) * ms);
}

static void scan_opened(const mc_engine *e, md_dump *d, const mc_input *in, double deadline,
                        unsigned threads, input_hash *h, mc_scan_stats *ss, phase_ms *ph,
                        mc_input_result *res)
{
    scan_state st = {.e = e, .d = d, .input = res->input};
    st.ctx.deadline = deadline;
    st.ctx.verbose = e->verbose;
    st.ctx.max_output = 64u << 20;
    st.user_rules = json_array();
    st.warnings = json_array();
    st.jobs = calloc(e->ndec ? e->ndec : 1, sizeof *st.jobs);
    char err[256] = "out of memory";
    int src = -1;
    unsigned spare = e->threads > threads ? e->threads - threads : 0;
    /* The scan's threads index the heap as they go (each chunk while it is in their hands). */
    mc_heap_indexer *hx = mc_heap_indexer_new(d, (threads ? threads : 1) + spare);
    if (st.user_rules && st.warnings && st.jobs)
        src = mc_scan_dump_ex(&e->db, d, deadline,
                              &(mc_scan_cfg){.threads = threads, .collect_mz = true,
                                             .helpers = e->helpers, .spare = spare,
                                             .item_fn = hx ? index_item : NULL, .item_arg = hx},
                              &st.scan, ss, err, sizeof err);
    ph->index = mc_heap_indexer_ms(hx);
    /* The probe the open left out (e->open.defer_image_probe): the decoders need every image,
     * and the input block the warnings it may add. The scan noted the page starts holding 'M'
     * as it went; without a whole scan, every page is read again. */
    double t0 = mc_now();
    md_err pe = src == 0 && st.scan.mz_ok ? md_probe_images_at(d, st.scan.mz, st.scan.nmz)
                                          : md_probe_images(d);
    ph->probe = (mc_now() - t0) * 1e3;
    input_dump(res->input, d, in);
    if (src == 0 && pe != MD_OK) {
        snprintf(err, sizeof err, "%s", md_strerror(pe));
        src = -1;
    }
    if (src != 0) {
        snprintf(res->error, sizeof res->error, "scan failed: %s", err);
        mc_heap_indexer_free(hx);
        state_free(&st);
        input_hash_finish(h, res->input);
        error_record(e, res, "MC_E_SCAN");
        return;
    }
    res->nhits = st.scan.nhits;
    dump_warnings(d, st.warnings);
    json_array_extend(st.warnings, st.scan.warnings);
    st.timed_out = st.scan.timed_out;
    collect_user_rules(&st);
    for (size_t i = 0; i < e->ndec; i++)
        prepare_job(&st, e->dec[i]);
    /* Indexes the decoders of this dump share (the managed-heap index): without it each
     * decoder would pass over the whole dump again. */
    st.ctx.shared = st.njobs ? mc_dump_shared_new() : NULL;
    t0 = mc_now();
    ph->indexed = mc_heap_indexer_finish(hx, st.ctx.shared, st.scan.items_ok);
    mc_heap_indexer_free(hx);
    run_jobs(&st, threads);
    mc_dump_shared_free(st.ctx.shared);
    st.ctx.shared = NULL;
    for (size_t i = 0; i < st.njobs; i++)
        finish_job(&st, &st.jobs[i]);
    ph->decoders = (mc_now() - t0) * 1e3;
    t0 = mc_now();
    input_hash_finish(h, res->input);
    ph->hash_wait = (mc_now() - t0) * 1e3;
    finish_records(&st, res);
    res->partial = st.scan.partial || st.timed_out || st.kdf_capped;
    if (st.timed_out) {
        res->status = MC_INPUT_TIMEOUT;
        snprintf(res->error, sizeof res->error, "deadline reached; results are partial");
    }
    state_free(&st);
}

mc_input_status mc_engine_scan(mc_engine *e, const mc_input *in, mc_input_result *res)
{
    memset(res, 0, sizeof *res);
    double t0 = mc_now();
    double deadline = e->timeout > 0 ? t0 + e->timeout : 0;
    if (e->run_deadline > 0 && (deadline == 0 || e->run_deadline < deadline))
        deadline = e->run_deadline;
    atomic_fetch_add(&e->active, 1);
    unsigned threads = scan_threads(e);
    input_hash h;
    res->input = input_base(in, threads, &h);
    double t_open = mc_now(), t_scan = t_open;
    mc_scan_stats ss = {.mode = "none"};
    phase_ms ph = {0};
    md_dump *d = NULL;
    char err[sizeof res->error];
    err[0] = 0;
    md_err rc = in->mem ? md_open_mem(in->mem, in->memlen, &e->open, &d, err, sizeof err)
                        : md_open(in->path ? in->path : "", &e->open, &d, err, sizeof err);
    if (rc != MD_OK || !d) {
        snprintf(res->error, sizeof res->error, "%s", err[0] ? err : md_strerror(rc));
        input_hash_finish(&h, res->input);
        error_record(e, res, md_err_code(rc != MD_OK ? rc : MD_E_ARG));
    } else {
        t_scan = mc_now();
        scan_opened(e, d, in, deadline, threads, &h, &ss, &ph, res);
        md_close(d);
        d = NULL;
    }
    input_hash_finish(&h, res->input);
    res->elapsed = mc_now() - t0;
    atomic_fetch_sub(&e->active, 1);
    if (e->verbose && rc == MD_OK)
        report_timing(in, &ss, &h, &ph, t_open, t_scan, t0 + res->elapsed, t0);
    return res->status;
}

void mc_input_result_clear(mc_input_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->nrecords; i++)
        json_decref(res->records[i]);
    free(res->records);
    json_decref(res->input);
    memset(res, 0, sizeof *res);
}
