/* The memcfg command line: scan (the batch runner), list-families, schema, check-rules, and the
 * dispatch to info. Results go to stdout or -o; messages and progress go to stderr. */
#include "cli.h"
#include "mc_output.h"
#include "mc_sandbox.h"
#include "memcfg.h"

#include <errno.h>
#include <fts.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MEMCFG_VERSION
#define MEMCFG_VERSION "0"
#endif

#define MAX_THREADS 256

/* Shared by scan and export: how the feed formats (maco, cape, stix, misp) are stamped. */
#define FEED_USAGE \
    "      --tlp LEVEL          clear, green, amber (default), amber+strict, red (stix, misp)\n" \
    "      --fixed-timestamp T  RFC 3339 time for every export timestamp (reproducible)\n" \
    "      --misp-feed-dir DIR  -f misp: write a MISP feed folder instead of stdout\n" \
    "      --misp-org-name NAME -f misp: the events' Orgc name (default memcfg)\n" \
    "      --misp-org-uuid UUID -f misp: the events' Orgc uuid (default derived from the name)\n"

/* ---------------------------------------------------------------- messages */

void mc_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memcfg: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int mc_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memcfg: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fprintf(stderr, "Try 'memcfg %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return MC_EXIT_USAGE;
}

static void print_version(void)
{
    printf("%s %s (record schema %s, MACO %s)\n", MC_TOOL_NAME, MEMCFG_VERSION, MC_SCHEMA_VERSION,
           MC_MACO_VERSION);
}

static const char main_usage[] =
    "Usage: memcfg COMMAND [OPTIONS] [ARGS]\n"
    "Extract malware configurations from process memory snapshots.\n"
    "\n"
    "Commands:\n"
    "  scan [OPTIONS] PATH...      extract configurations (see memcfg scan --help)\n"
    "  info [-f text|json] DUMP... describe snapshots: format, regions, modules, images\n"
    "  export -f FORMAT NDJSON     re-render saved records (see memcfg export --help)\n"
    "  correlate [-f FMT] NDJSON.. group results by shared C2 hosts, IPs, mutexes, keys\n"
    "  list-families [-f json]     the decoders built in\n"
    "  schema                      print the JSON Schema of a record\n"
    "  check-rules -R PATH...      compile YARA rule files and report errors\n"
    "\n"
    "  -h, --help     this help\n"
    "      --version  print the version\n"
    "\n"
    "Exit status: 0 done (found or not), 1 runtime error, 2 usage error, 3 some inputs failed,\n"
    "4 nothing found with --fail-on-empty, 12 invalid rules. See memcfg(1).\n";

static const char scan_usage[] =
    "Usage: memcfg scan [OPTIONS] PATH...\n"
    "Scan snapshots (minidump, CAPE/Cuckoo process dump, ELF core, PE, raw, gzip/zlib of any)\n"
    "and print the configurations found. PATH '-' reads paths from stdin, one per line.\n"
    "\n"
    "  -r, --recursive          scan the files under directories\n"
    "  -R, --rules [NS:]PATH    add YARA rules (file or directory); repeatable\n"
    "  -F, --family NAME        run only this decoder; repeatable\n"
    "      --exclude-family NAME  never run this decoder; repeatable\n"
    "  -f, --format FORMAT      text (default), json, ndjson, maco, cape, stix, misp\n"
    "  -o, --output FILE        write results to FILE instead of stdout\n"
    "      --input-format FMT   auto (default), raw, minidump, cuckoo, elfcore, pe\n"
    "      --base ADDR          base address of raw and PE input (0x accepted)\n"
    "      --cape-analysis DIR  scan a CAPE/Cuckoo analysis folder: memory/, procdump/, CAPE/\n"
    "                           with pids and payload addresses from files.json (no PATH)\n"
    "      --merge, --no-merge  merge each family's configs across the folder (default on)\n"
    "  -p, --threads N          threads: one input scanned, hashed and decoded on all of\n"
    "                           them, or N inputs at a time (output never changes)\n"
    "  -a, --timeout SEC        time limit per input\n"
    "      --deadline SEC       time limit for the whole run\n"
    "      --kdf-budget N       PBKDF2 rounds each decoder may spend per input (default\n"
    "                           16000000, 64 key derivations; 0 = unlimited)\n"
    "      --min-confidence N   drop records below confidence N (0-100)\n"
    "      --fail-on-empty      exit 4 when no configuration is found\n"
    "      --defang             defang hosts and URLs (default for text)\n"
    "      --no-defang          print real values (default for every machine format)\n"
    FEED_USAGE
    "  -q, --quiet              no progress or notes on stderr\n"
    "  -v, --verbose            timings and engine notes\n"
    "  -h, --help               this help\n"
    "      --version            print the version\n";

/* ---------------------------------------------------------------- export options */

typedef struct feed_opts {
    const char *tlp, *feed_dir, *org_name, *org_uuid;
    bool fixed_time;
    int64_t time_ms;
} feed_opts;

enum { OPT_TLP = 512, OPT_FIXED_TS, OPT_MISP_FEED_DIR, OPT_MISP_ORG_NAME, OPT_MISP_ORG_UUID };

#define FEED_LONG_OPTIONS \
    {"tlp", required_argument, NULL, OPT_TLP}, \
    {"fixed-timestamp", required_argument, NULL, OPT_FIXED_TS}, \
    {"misp-feed-dir", required_argument, NULL, OPT_MISP_FEED_DIR}, \
    {"misp-org-name", required_argument, NULL, OPT_MISP_ORG_NAME}, \
    {"misp-org-uuid", required_argument, NULL, OPT_MISP_ORG_UUID}

static bool uuid_shaped(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}

/* Returns -1 when handled, an exit status on a bad value, -2 when c is not a feed option. */
static int feed_option(feed_opts *f, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case OPT_TLP:
        if (!mc_tlp_valid(arg))
            return mc_cli_usage_error(cmd, "TLP must be clear, green, amber, amber+strict or "
                                      "red, not '%s'", arg);
        f->tlp = arg;
        return -1;
    case OPT_FIXED_TS:
        if (!mc_parse_rfc3339(arg, &f->time_ms))
            return mc_cli_usage_error(cmd, "bad RFC 3339 timestamp '%s'", arg);
        f->fixed_time = true;
        return -1;
    case OPT_MISP_FEED_DIR: f->feed_dir = arg; return -1;
    case OPT_MISP_ORG_NAME:
        if (!arg[0])
            return mc_cli_usage_error(cmd, "empty organisation name");
        f->org_name = arg;
        return -1;
    case OPT_MISP_ORG_UUID:
        if (!uuid_shaped(arg))
            return mc_cli_usage_error(cmd, "bad UUID '%s'", arg);
        f->org_uuid = arg;
        return -1;
    default: return -2;
    }
}

static int feed_check(const feed_opts *f, const char *cmd, const char *format)
{
    if (f->feed_dir && strcmp(format, "misp"))
        return mc_cli_usage_error(cmd, "--misp-feed-dir needs -f misp");
    return -1;
}

static void feed_apply(const feed_opts *f, mc_output_opts *wo)
{
    wo->tlp = f->tlp;
    wo->fixed_time = f->fixed_time;
    wo->time_ms = f->time_ms;
    wo->misp_feed_dir = f->feed_dir;
    wo->misp_org_name = f->org_name;
    wo->misp_org_uuid = f->org_uuid;
}

/* ---------------------------------------------------------------- option values */

bool mc_cli_parse_input_format(const char *name, md_format *out)
{
    static const struct { const char *name; md_format fmt; } map[] = {
        {"auto", MD_FMT_UNKNOWN}, {"raw", MD_FMT_RAW}, {"minidump", MD_FMT_MINIDUMP},
        {"cuckoo", MD_FMT_CUCKOO}, {"elfcore", MD_FMT_ELFCORE}, {"pe", MD_FMT_PE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(name, map[i].name)) {
            *out = map[i].fmt;
            return true;
        }
    return false;
}

bool mc_cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s[0] || s[0] == '-' || s[0] == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !s[0] || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !s[0] || *end || !(v >= 0) || v > 1e9)
        return false;
    *out = v;
    return true;
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- string lists */

typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

static bool strv_push(strv *s, const char *str)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = reallocarray(s->v, cap, sizeof *v);
        if (!v)
            return false;
        s->v = v;
        s->cap = cap;
    }
    char *d = str ? strdup(str) : NULL;
    if (str && !d)
        return false;
    s->v[s->n++] = d;
    return true;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- inputs */

/* An input path, with the error that stops it before the engine sees it (NULL = none). */
typedef struct input_list {
    strv paths;
    strv preset_errors;
} input_list;

static bool input_add(input_list *l, const char *path, const char *error)
{
    return strv_push(&l->paths, path) && strv_push(&l->preset_errors, error);
}

static int by_name(const FTSENT **a, const FTSENT **b)
{
    return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* Files under dir, in name order so that the run is the same on every file system. Symbolic
 * links are followed to regular files only, so a link cannot loop the walk. */
static bool walk_dir(input_list *l, const char *dir)
{
    char *const roots[] = {(char *)dir, NULL};
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_COMFOLLOW, by_name);
    if (!fts)
        return input_add(l, dir, strerror(errno));
    bool ok = true;
    FTSENT *e;
    struct stat st;
    while (ok && (e = fts_read(fts)) != NULL) {
        switch (e->fts_info) {
        case FTS_F:
            ok = input_add(l, e->fts_path, NULL);
            break;
        case FTS_SL:
            if (stat(e->fts_accpath, &st) == 0 && S_ISREG(st.st_mode))
                ok = input_add(l, e->fts_path, NULL);
            break;
        case FTS_DNR:
        case FTS_ERR:
        case FTS_NS:
            ok = input_add(l, e->fts_path, strerror(e->fts_errno));
            break;
        default:
            break;
        }
    }
    fts_close(fts);
    return ok;
}

static bool add_path(input_list *l, const char *path, bool recursive)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return input_add(l, path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return recursive ? walk_dir(l, path) : input_add(l, path, "is a directory (use -r)");
    return input_add(l, path, NULL);
}

static bool add_stdin_paths(input_list *l, bool recursive)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool ok = true;
    while (ok && (n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0)
            ok = add_path(l, line, recursive);
    }
    free(line);
    return ok;
}

/* ---------------------------------------------------------------- scan options */

typedef struct scan_opts {
    strv rules, families, exclude;
    const char *format, *output;
    md_open_opts open;
    bool recursive, fail_on_empty, quiet;
    int defang;          /* -1 = the format's default */
    int verbose;
    long threads, min_confidence;
    double timeout, deadline;
    uint64_t kdf_budget;    /* 0 = the engine's default */
    feed_opts feed;
    const char *cape_dir;   /* --cape-analysis */
    int merge;              /* -1 = default (on with --cape-analysis) */
} scan_opts;

enum {
    OPT_EXCLUDE = 256, OPT_INPUT_FORMAT, OPT_BASE, OPT_DEADLINE, OPT_MIN_CONF, OPT_FAIL_EMPTY,
    OPT_DEFANG, OPT_NO_DEFANG, OPT_VERSION, OPT_CAPE, OPT_MERGE, OPT_NO_MERGE, OPT_KDF_BUDGET,
};

static const struct option scan_long[] = {
    {"recursive", no_argument, NULL, 'r'},
    {"rules", required_argument, NULL, 'R'},
    {"family", required_argument, NULL, 'F'},
    {"exclude-family", required_argument, NULL, OPT_EXCLUDE},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"input-format", required_argument, NULL, OPT_INPUT_FORMAT},
    {"base", required_argument, NULL, OPT_BASE},
    {"threads", required_argument, NULL, 'p'},
    {"timeout", required_argument, NULL, 'a'},
    {"deadline", required_argument, NULL, OPT_DEADLINE},
    {"kdf-budget", required_argument, NULL, OPT_KDF_BUDGET},
    {"min-confidence", required_argument, NULL, OPT_MIN_CONF},
    {"fail-on-empty", no_argument, NULL, OPT_FAIL_EMPTY},
    {"defang", no_argument, NULL, OPT_DEFANG},
    {"no-defang", no_argument, NULL, OPT_NO_DEFANG},
    {"cape-analysis", required_argument, NULL, OPT_CAPE},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"no-merge", no_argument, NULL, OPT_NO_MERGE},
    FEED_LONG_OPTIONS,
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static long default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : n;
}

static int check_family(const char *name)
{
    if (mc_decoder_find(name))
        return 0;
    return mc_cli_usage_error("scan", "unknown family '%s' (see memcfg list-families)", name);
}

/* Returns -1 to go on, or an exit status (help, version, usage error). */
static int scan_option(scan_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'r': o->recursive = true; return -1;
    case 'R': return strv_push(&o->rules, arg) ? -1 : MC_EXIT_FATAL;
    case 'F':
        if (check_family(arg))
            return MC_EXIT_USAGE;
        return strv_push(&o->families, arg) ? -1 : MC_EXIT_FATAL;
    case OPT_EXCLUDE:
        if (check_family(arg))
            return MC_EXIT_USAGE;
        return strv_push(&o->exclude, arg) ? -1 : MC_EXIT_FATAL;
    case 'f':
        if (!mc_writer_lookup(arg))
            return mc_cli_usage_error("scan", "unknown output format '%s'", arg);
        o->format = arg;
        return -1;
    case 'o': o->output = arg; return -1;
    case OPT_INPUT_FORMAT:
        if (!mc_cli_parse_input_format(arg, &o->open.force_format))
            return mc_cli_usage_error("scan", "unknown input format '%s'", arg);
        return -1;
    case OPT_BASE:
        if (!mc_cli_parse_u64(arg, &o->open.raw_base))
            return mc_cli_usage_error("scan", "bad address '%s'", arg);
        o->open.has_raw_base = true;
        return -1;
    case 'p':
        if (!parse_long(arg, 1, MAX_THREADS, &o->threads))
            return mc_cli_usage_error("scan", "threads must be 1 to %d, not '%s'", MAX_THREADS, arg);
        return -1;
    case 'a':
        if (!parse_seconds(arg, &o->timeout))
            return mc_cli_usage_error("scan", "bad timeout '%s'", arg);
        return -1;
    case OPT_DEADLINE:
        if (!parse_seconds(arg, &o->deadline))
            return mc_cli_usage_error("scan", "bad deadline '%s'", arg);
        return -1;
    case OPT_KDF_BUDGET:
        if (!mc_cli_parse_u64(arg, &o->kdf_budget))
            return mc_cli_usage_error("scan", "bad PBKDF2 budget '%s'", arg);
        if (o->kdf_budget == 0)
            o->kdf_budget = MC_KDF_UNLIMITED;
        return -1;
    case OPT_MIN_CONF:
        if (!parse_long(arg, 0, 100, &o->min_confidence))
            return mc_cli_usage_error("scan", "confidence must be 0 to 100, not '%s'", arg);
        return -1;
    case OPT_FAIL_EMPTY: o->fail_on_empty = true; return -1;
    case OPT_DEFANG: o->defang = 1; return -1;
    case OPT_NO_DEFANG: o->defang = 0; return -1;
    case OPT_CAPE: o->cape_dir = arg; return -1;
    case OPT_MERGE: o->merge = 1; return -1;
    case OPT_NO_MERGE: o->merge = 0; return -1;
    case 'q': o->quiet = true; return -1;
    case 'v': o->verbose++; return -1;
    case 'h': fputs(scan_usage, stdout); return MC_EXIT_OK;
    case OPT_VERSION: print_version(); return MC_EXIT_OK;
    default: return mc_cli_usage_error("scan", "invalid option");
    }
}

/* The option getopt just rejected: a long one as typed, a short one by its letter (it may sit
 * inside a cluster such as -rZ). */
const char *mc_cli_bad_option(char **argv)
{
    static char buf[3];
    const char *last = optind > 0 ? argv[optind - 1] : NULL;
    if (last && !strncmp(last, "--", 2))
        return last;
    if (optopt > 0 && optopt < 128) {
        snprintf(buf, sizeof buf, "-%c", optopt);
        return buf;
    }
    return last ? last : "?";
}

static int parse_scan(int argc, char **argv, scan_opts *o)
{
    o->format = "text";
    o->defang = -1;
    o->merge = -1;
    o->threads = default_threads();
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":rR:F:f:o:p:a:qvh", scan_long, NULL)) != -1) {
        if (c == ':')
            return mc_cli_usage_error("scan", "option '%s' needs a value", mc_cli_bad_option(argv));
        if (c == '?')
            return mc_cli_usage_error("scan", "unknown option '%s'", mc_cli_bad_option(argv));
        int rc = feed_option(&o->feed, "scan", c, optarg);
        if (rc == -2)
            rc = scan_option(o, c, optarg);
        if (rc >= 0)
            return rc;
    }
    if (o->cape_dir && (optind < argc || o->recursive || o->open.force_format ||
                        o->open.has_raw_base))
        return mc_cli_usage_error("scan", "--cape-analysis takes no PATH, -r, --input-format "
                                  "or --base: the folder decides");
    if (o->merge >= 0 && !o->cape_dir)
        return mc_cli_usage_error("scan", "--merge and --no-merge go with --cape-analysis");
    if (optind >= argc && !o->cape_dir)
        return mc_cli_usage_error("scan", "no input given");
    return feed_check(&o->feed, "scan", o->format);
}

static bool collect_inputs(int argc, char **argv, const scan_opts *o, input_list *l)
{
    bool ok = true;
    for (int i = optind; ok && i < argc; i++)
        ok = strcmp(argv[i], "-") ? add_path(l, argv[i], o->recursive)
                                  : add_stdin_paths(l, o->recursive);
    return ok;
}

/* ---------------------------------------------------------------- the runner */

typedef struct job {
    const char *path;
    const char *preset_error;
    mc_input_result res;
    bool done;
} job;

typedef struct runner {
    mc_engine *engine;
    job *jobs;
    size_t n, next, written, window;
    double deadline;           /* absolute, 0 = none */
    pthread_mutex_t mu;
    pthread_cond_t done_cv, space_cv;
} runner;

/* An input the engine never saw: its error record is made here with the engine's shape. */
static void fail_job(const runner *r, job *j, const char *code, const char *message)
{
    j->res.status = MC_INPUT_ERROR;
    snprintf(j->res.error, sizeof j->res.error, "%s", message);
    j->res.input = json_pack("{s:o}", "path", mc_json_str(j->path));
    j->res.records = malloc(sizeof *j->res.records);
    if (!j->res.records)
        return;
    j->res.records[0] = mc_error_record(j->path, j->res.input, code, message,
                                        mc_engine_ruleset_sha256(r->engine));
    j->res.nrecords = j->res.records[0] != NULL;
}

static void run_job(runner *r, job *j)
{
    memset(&j->res, 0, sizeof j->res);
    if (j->preset_error) {
        fail_job(r, j, "MD_E_IO", j->preset_error);
        return;
    }
    if (r->deadline > 0 && now_mono() >= r->deadline) {
        fail_job(r, j, "MC_E_DEADLINE", "deadline reached");
        return;
    }
    mc_input in = {.path = j->path};
    mc_engine_scan(r->engine, &in, &j->res);
}

/* Workers take inputs in order; the window keeps them from running far ahead of the writer so
 * that finished results waiting to be written stay few. */
static void *worker(void *arg)
{
    runner *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->next < r->n && r->next >= r->written + r->window)
            pthread_cond_wait(&r->space_cv, &r->mu);
        if (r->next >= r->n)
            break;
        job *j = &r->jobs[r->next++];
        pthread_mutex_unlock(&r->mu);
        run_job(r, j);
        pthread_mutex_lock(&r->mu);
        j->done = true;
        pthread_cond_broadcast(&r->done_cv);
    }
    pthread_mutex_unlock(&r->mu);
    /* No input left to start: scan items of the inputs still being scanned. */
    while (mc_engine_help(r->engine))
        ;
    return NULL;
}

typedef struct progress {
    bool on;
    bool shown;
    double start;
} progress;

static void progress_clear(progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        p->shown = false;
    }
}

static void progress_show(progress *p, size_t done, size_t n, const char *path)
{
    char *safe = mc_text_safe(path);
    fprintf(stderr, "\r\033[K[%zu/%zu] %.60s (%.0fs)", done, n, safe ? safe : "", now_mono() - p->start);
    free(safe);
    p->shown = true;
}

static void wait_for(runner *r, size_t i, progress *p)
{
    pthread_mutex_lock(&r->mu);
    while (!r->jobs[i].done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&r->done_cv, &r->mu, &ts);
        /* a single input gets a progress line only once it has taken a while */
        if (!r->jobs[i].done && p->on && (r->n > 1 || now_mono() - p->start >= 2))
            progress_show(p, i, r->n, r->jobs[i].path);
    }
    pthread_mutex_unlock(&r->mu);
}

static void report_failure(const job *j, bool quiet)
{
    if (j->res.status == MC_INPUT_OK || (quiet && j->res.status == MC_INPUT_TIMEOUT))
        return;
    const char *msg = j->res.error[0] ? j->res.error
                      : j->res.status == MC_INPUT_TIMEOUT ? "timeout" : "input failed";
    char *safe = mc_text_safe(j->path);
    mc_cli_error("%s: %s", safe ? safe : j->path, msg);
    free(safe);
}

/* Writes results in input order as they complete; returns false when the output failed. */
static bool write_results(runner *r, mc_writer *w, const scan_opts *o)
{
    progress p = {.on = !o->quiet && isatty(STDERR_FILENO), .start = now_mono()};
    bool ok = true;
    for (size_t i = 0; i < r->n; i++) {
        wait_for(r, i, &p);
        job *j = &r->jobs[i];
        progress_clear(&p);
        report_failure(j, o->quiet);
        if (ok && mc_writer_input(w, j->path, &j->res) != 0)
            ok = false;
        mc_input_result_clear(&j->res);
        if (p.on && r->n > 1 && i + 1 < r->n)
            progress_show(&p, i + 1, r->n, r->jobs[i + 1].path);
        pthread_mutex_lock(&r->mu);
        r->written++;
        pthread_cond_broadcast(&r->space_cv);
        pthread_mutex_unlock(&r->mu);
    }
    progress_clear(&p);
    return ok;
}

static bool run_all(runner *r, mc_writer *w, const scan_opts *o)
{
    size_t nthreads = (size_t)o->threads < r->n ? (size_t)o->threads : r->n;
    pthread_t *tids = calloc(nthreads ? nthreads : 1, sizeof *tids);
    if (!tids)
        return false;
    size_t started = 0;
    for (; started < nthreads; started++)
        if (pthread_create(&tids[started], NULL, worker, r) != 0)
            break;
    bool ok = started > 0 || r->n == 0;
    if (!ok)
        mc_cli_error("cannot start worker threads");
    else
        ok = write_results(r, w, o);
    if (!ok) {
        /* stop handing out work; workers finish the input they hold */
        pthread_mutex_lock(&r->mu);
        r->n = r->next;
        pthread_cond_broadcast(&r->space_cv);
        pthread_mutex_unlock(&r->mu);
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    return ok;
}

/* ---------------------------------------------------------------- scan */

static void report_to_stderr(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

static void report_nothing(void *arg, const char *line)
{
    (void)arg;
    (void)line;
}

static mc_engine_opts engine_opts(const scan_opts *o, double deadline)
{
    return (mc_engine_opts){
        .rule_paths = (const char *const *)o->rules.v, .nrule_paths = o->rules.n,
        .families = (const char *const *)o->families.v, .nfamilies = o->families.n,
        .exclude = (const char *const *)o->exclude.v, .nexclude = o->exclude.n,
        .timeout = o->timeout, .run_deadline = deadline, .kdf_budget = o->kdf_budget,
        .min_confidence = (int)o->min_confidence, .verbose = o->verbose, .open = o->open,
    };
}

static int engine_open(const scan_opts *o, double deadline, mc_engine **e)
{
    mc_engine_opts eo = engine_opts(o, deadline);
    char err[512] = "";
    if (mc_engine_new(&eo, e, err, sizeof err) == 0)
        return MC_EXIT_OK;
    mc_cli_error("%s", err[0] ? err : "cannot create the engine");
    /* tell a rule error (user-fixable, 12) from a runtime failure; the message is out already */
    if (o->rules.n && mc_check_rules((const char *const *)o->rules.v, o->rules.n, false,
                                     report_nothing, NULL) != 0)
        return MC_EXIT_BAD_RULES;
    return MC_EXIT_FATAL;
}

static int exit_status(const mc_output_stats *st, const scan_opts *o)
{
    if (st->errors)
        return MC_EXIT_PARTIAL;
    if (o->fail_on_empty && st->configs == 0)
        return MC_EXIT_EMPTY;
    return MC_EXIT_OK;
}

static int scan_inputs(const scan_opts *o, const input_list *l, mc_engine *e, double deadline,
                       FILE *out)
{
    runner r = {.engine = e, .n = l->paths.n, .window = (size_t)o->threads * 4 + 16,
                .deadline = deadline};
    r.jobs = calloc(r.n ? r.n : 1, sizeof *r.jobs);
    mc_output_opts wo = {.defang = o->defang, .verbose = o->verbose,
                         .ruleset_sha256 = mc_engine_ruleset_sha256(e)};
    feed_apply(&o->feed, &wo);
    mc_writer *w = r.jobs ? mc_writer_new(o->format, out, &wo) : NULL;
    if (!w) {
        free(r.jobs);
        mc_cli_error("out of memory");
        return MC_EXIT_FATAL;
    }
    for (size_t i = 0; i < r.n; i++) {
        r.jobs[i].path = l->paths.v[i];
        r.jobs[i].preset_error = l->preset_errors.v[i];
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.done_cv, NULL);
    pthread_cond_init(&r.space_cv, NULL);
    bool ok = run_all(&r, w, o) && mc_writer_finish(w) == 0;
    int status = ok ? exit_status(mc_writer_stats(w), o) : MC_EXIT_FATAL;
    if (!ok)
        mc_cli_error("cannot write the output: %s", strerror(errno));
    for (size_t i = 0; i < l->paths.n; i++)
        mc_input_result_clear(&r.jobs[i].res);
    pthread_cond_destroy(&r.space_cv);
    pthread_cond_destroy(&r.done_cv);
    pthread_mutex_destroy(&r.mu);
    mc_writer_free(w);
    free(r.jobs);
    return status;
}

static int scan_with_engine(const scan_opts *o, const input_list *l)
{
    double deadline = o->deadline > 0 ? now_mono() + o->deadline : 0;
    mc_engine *e = NULL;
    int rc = engine_open(o, deadline, &e);
    if (rc != MC_EXIT_OK)
        return rc;
    mc_engine_set_threads(e, (unsigned)o->threads);
    FILE *out = stdout;
    if (o->output && !(out = fopen(o->output, "w"))) {
        mc_cli_error("%s: %s", o->output, strerror(errno));
        mc_engine_free(e);
        return MC_EXIT_FATAL;
    }
    rc = scan_inputs(o, l, e, deadline, out);
    if (out != stdout && fclose(out) != 0 && rc != MC_EXIT_FATAL) {
        mc_cli_error("%s: %s", o->output, strerror(errno));
        rc = MC_EXIT_FATAL;
    }
    mc_engine_free(e);
    return rc;
}

static void scan_opts_free(scan_opts *o)
{
    strv_free(&o->rules);
    strv_free(&o->families);
    strv_free(&o->exclude);
}

/* --cape-analysis: the folder's inputs through mc_cape_run (cape_analysis.c). Truncated dumps
 * exit 3 like failed inputs: what was found is written, but the input was incomplete. */
static int cape_scan(const scan_opts *o)
{
    char err[512] = "";
    mc_cape_analysis *a = NULL;
    if (mc_cape_analysis_open(o->cape_dir, &a, err, sizeof err) != 0) {
        mc_cli_error("%s", err);
        return MC_EXIT_FATAL;
    }
    double deadline = o->deadline > 0 ? now_mono() + o->deadline : 0;
    mc_engine *e = NULL;
    int rc = engine_open(o, deadline, &e);
    FILE *out = stdout;
    if (rc == MC_EXIT_OK && o->output && !(out = fopen(o->output, "w"))) {
        mc_cli_error("%s: %s", o->output, strerror(errno));
        rc = MC_EXIT_FATAL;
    }
    if (rc == MC_EXIT_OK) {
        mc_engine_opts eo = engine_opts(o, deadline);
        mc_cape_run_opts ro = {.engine = &eo, .shared = e, .format = o->format, .out = out,
                               .output = {.defang = o->defang, .verbose = o->verbose,
                                          .ruleset_sha256 = mc_engine_ruleset_sha256(e)},
                               .threads = (size_t)o->threads, .merge = o->merge != 0,
                               .quiet = o->quiet};
        feed_apply(&o->feed, &ro.output);
        mc_cape_run_stats st;
        if (mc_cape_run(a, &ro, &st, err, sizeof err) != 0) {
            mc_cli_error("%s", err);
            rc = MC_EXIT_FATAL;
        } else if (st.write_failed) {
            mc_cli_error("cannot write the output: %s", strerror(errno));
            rc = MC_EXIT_FATAL;
        } else {
            rc = st.errors || st.truncated ? MC_EXIT_PARTIAL
                 : o->fail_on_empty && st.configs == 0 ? MC_EXIT_EMPTY : MC_EXIT_OK;
        }
        if (out != stdout && fclose(out) != 0 && rc != MC_EXIT_FATAL) {
            mc_cli_error("%s: %s", o->output, strerror(errno));
            rc = MC_EXIT_FATAL;
        }
    }
    mc_engine_free(e);
    mc_cape_analysis_free(a);
    return rc;
}

static int cmd_scan(int argc, char **argv)
{
    scan_opts o = {0};
    input_list l = {0};
    int rc = parse_scan(argc, argv, &o);
    if (rc < 0 && o.cape_dir)
        rc = cape_scan(&o);
    if (rc < 0 && !collect_inputs(argc, argv, &o, &l)) {
        mc_cli_error("out of memory");
        rc = MC_EXIT_FATAL;
    }
    if (rc < 0)
        rc = scan_with_engine(&o, &l);
    strv_free(&l.paths);
    strv_free(&l.preset_errors);
    scan_opts_free(&o);
    return rc;
}

/* ---------------------------------------------------------------- list-families, schema */

/* Parses `-f text|json` (and -h) for the small subcommands; returns -1 to go on. */
static int parse_format_only(const char *cmd, int argc, char **argv, const char *usage,
                             bool *json)
{
    static const struct option lo[] = {
        {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":f:h", lo, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return MC_EXIT_OK;
        }
        if (c == ':')
            return mc_cli_usage_error(cmd, "option '%s' needs a value", mc_cli_bad_option(argv));
        if (c != 'f')
            return mc_cli_usage_error(cmd, "bad option '%s'", mc_cli_bad_option(argv));
        if (strcmp(optarg, "json") && strcmp(optarg, "text"))
            return mc_cli_usage_error(cmd, "format must be text or json, not '%s'", optarg);
        *json = !strcmp(optarg, "json");
    }
    return -1;
}

static int print_json(json_t *doc)
{
    int rc = doc && json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF &&
             fflush(stdout) == 0 ? MC_EXIT_OK : MC_EXIT_FATAL;
    json_decref(doc);
    if (rc != MC_EXIT_OK)
        mc_cli_error("cannot write the output");
    return rc;
}

static int cmd_list_families(int argc, char **argv)
{
    static const char usage[] = "Usage: memcfg list-families [-f text|json]\n"
                                "List the built-in decoders: family, display name, version, category.\n";
    bool json = false;
    int rc = parse_format_only("list-families", argc, argv, usage, &json);
    if (rc >= 0)
        return rc;
    if (optind < argc)
        return mc_cli_usage_error("list-families", "unexpected argument '%s'", argv[optind]);
    if (!json) {
        printf("%-12s %-16s %-8s %s\n", "FAMILY", "NAME", "VERSION", "CATEGORY");
        for (size_t i = 0; mc_decoders[i]; i++) {
            const mc_decoder *d = mc_decoders[i];
            printf("%-12s %-16s %-8s %s\n", d->family, d->display, d->version,
                   d->category ? d->category : "");
        }
        return fflush(stdout) == 0 ? MC_EXIT_OK : MC_EXIT_FATAL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && mc_decoders[i]; i++) {
        const mc_decoder *d = mc_decoders[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?}", "family", d->family,
                                             "display", d->display, "version", d->version,
                                             "category", d->category));
    }
    return print_json(arr);
}

static int cmd_schema(int argc, char **argv)
{
    static const char usage[] = "Usage: memcfg schema\n"
                                "Print the JSON Schema (draft 2020-12) of a record.\n";
    bool json = true;
    int rc = parse_format_only("schema", argc, argv, usage, &json);
    if (rc >= 0)
        return rc;
    if (optind < argc)
        return mc_cli_usage_error("schema", "unexpected argument '%s'", argv[optind]);
    json_t *schema = mc_record_schema();
    if (!schema) {
        mc_cli_error("no schema available");
        return MC_EXIT_FATAL;
    }
    return print_json(schema);
}

/* ---------------------------------------------------------------- check-rules */

static int cmd_check_rules(int argc, char **argv)
{
    static const char usage[] =
        "Usage: memcfg check-rules [-w] -R [NS:]PATH... [PATH...]\n"
        "Compile YARA rule files (or directories of them) and report errors with file:line.\n"
        "  -R, --rules PATH         rules to check; repeatable\n"
        "  -w, --fail-on-warnings   treat warnings as errors\n"
        "Exit status 0 when every file compiles, 12 otherwise.\n";
    static const struct option lo[] = {
        {"rules", required_argument, NULL, 'R'}, {"fail-on-warnings", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    strv paths = {0};
    bool werror = false;
    int rc = -1, c;
    optind = 1;
    opterr = 0;
    while (rc < 0 && (c = getopt_long(argc, argv, ":R:wh", lo, NULL)) != -1) {
        if (c == 'R')
            rc = strv_push(&paths, optarg) ? -1 : MC_EXIT_FATAL;
        else if (c == 'w')
            werror = true;
        else if (c == 'h')
            rc = (fputs(usage, stdout), MC_EXIT_OK);
        else if (c == ':')
            rc = mc_cli_usage_error("check-rules", "option '%s' needs a value",
                                    mc_cli_bad_option(argv));
        else
            rc = mc_cli_usage_error("check-rules", "bad option '%s'", mc_cli_bad_option(argv));
    }
    for (int i = optind; rc < 0 && i < argc; i++)
        rc = strv_push(&paths, argv[i]) ? -1 : MC_EXIT_FATAL;
    if (rc < 0 && paths.n == 0)
        rc = mc_cli_usage_error("check-rules", "no rules given");
    if (rc < 0) {
        int bad = mc_check_rules((const char *const *)paths.v, paths.n, werror, report_to_stderr,
                                 NULL);
        rc = bad ? MC_EXIT_BAD_RULES : MC_EXIT_OK;
        if (!bad)
            printf("%zu rule path%s OK\n", paths.n, paths.n == 1 ? "" : "s");
    }
    strv_free(&paths);
    return rc;
}

/* ---------------------------------------------------------------- export */

static const char export_usage[] =
    "Usage: memcfg export -f FORMAT [OPTIONS] RESULTS.ndjson\n"
    "Re-render records saved by 'memcfg scan -f ndjson' without scanning again ('-' = stdin).\n"
    "The output equals what 'memcfg scan -f FORMAT' with the same options prints.\n"
    "\n"
    "  -f, --format FORMAT      maco, cape, stix, misp (or text, json, ndjson)\n"
    "  -o, --output FILE        write to FILE instead of stdout\n"
    "      --defang / --no-defang\n"
    FEED_USAGE
    "  -h, --help               this help\n"
    "Exit status 3 when a line is not a record (reported with its line number) or a saved\n"
    "input had failed.\n";

typedef struct export_opts {
    const char *format, *output;
    int defang;
    feed_opts feed;
} export_opts;

static int parse_export(int argc, char **argv, export_opts *o)
{
    static const struct option lo[] = {
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"defang", no_argument, NULL, OPT_DEFANG}, {"no-defang", no_argument, NULL, OPT_NO_DEFANG},
        FEED_LONG_OPTIONS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":f:o:h", lo, NULL)) != -1) {
        int rc = feed_option(&o->feed, "export", c, optarg);
        if (rc != -2) {
            if (rc >= 0)
                return rc;
            continue;
        }
        if (c == 'f' && !mc_writer_lookup(optarg))
            return mc_cli_usage_error("export", "unknown output format '%s'", optarg);
        if (c == 'f')
            o->format = optarg;
        else if (c == 'o')
            o->output = optarg;
        else if (c == OPT_DEFANG || c == OPT_NO_DEFANG)
            o->defang = c == OPT_DEFANG;
        else if (c == 'h')
            return (fputs(export_usage, stdout), MC_EXIT_OK);
        else if (c == ':')
            return mc_cli_usage_error("export", "option '%s' needs a value",
                                      mc_cli_bad_option(argv));
        else
            return mc_cli_usage_error("export", "unknown option '%s'", mc_cli_bad_option(argv));
    }
    if (!o->format)
        return mc_cli_usage_error("export", "no format given (-f)");
    if (optind + 1 != argc)
        return mc_cli_usage_error("export", optind >= argc ? "no results file given"
                                                           : "one results file only");
    return feed_check(&o->feed, "export", o->format);
}

static void report_bad_line(void *arg, size_t line, const char *msg)
{
    char *safe = mc_text_safe(msg);
    mc_cli_error("%s:%zu: %s", (const char *)arg, line, safe ? safe : "malformed line");
    free(safe);
}

static int export_to(const export_opts *o, FILE *in, const char *name, FILE *out)
{
    mc_output_opts wo = {.defang = o->defang};
    feed_apply(&o->feed, &wo);
    mc_writer *w = mc_writer_new(o->format, out, &wo);
    if (!w) {
        mc_cli_error(o->feed.feed_dir ? "%s: cannot create the feed folder" : "out of memory",
                     o->feed.feed_dir);
        return MC_EXIT_FATAL;
    }
    size_t bad = 0;
    bool ok = mc_export_ndjson(in, w, report_bad_line, (void *)name, &bad) == 0 &&
              mc_writer_finish(w) == 0;
    int rc = !ok ? MC_EXIT_FATAL : bad || mc_writer_stats(w)->errors ? MC_EXIT_PARTIAL : MC_EXIT_OK;
    if (!ok)
        mc_cli_error("cannot write the output: %s", strerror(errno));
    if (ferror(in)) {
        mc_cli_error("%s: read error", name);
        rc = MC_EXIT_FATAL;
    }
    mc_writer_free(w);
    return rc;
}

static int cmd_export(int argc, char **argv)
{
    export_opts o = {.defang = -1};
    int rc = parse_export(argc, argv, &o);
    if (rc >= 0)
        return rc;
    const char *path = argv[optind];
    bool std_in = !strcmp(path, "-");
    FILE *in = std_in ? stdin : fopen(path, "r");
    if (!in) {
        mc_cli_error("%s: %s", path, strerror(errno));
        return MC_EXIT_PARTIAL;
    }
    FILE *out = stdout;
    if (o.output && !(out = fopen(o.output, "w"))) {
        mc_cli_error("%s: %s", o.output, strerror(errno));
        rc = MC_EXIT_FATAL;
    } else {
        rc = export_to(&o, in, std_in ? "<stdin>" : path, out);
        if (out != stdout && fclose(out) != 0 && rc != MC_EXIT_FATAL) {
            mc_cli_error("%s: %s", o.output, strerror(errno));
            rc = MC_EXIT_FATAL;
        }
    }
    if (!std_in)
        fclose(in);
    return rc;
}

/* ---------------------------------------------------------------- correlate */

static int correlate_files(int argc, char **argv, mc_corr_format f, bool defang)
{
    mc_corr *c = mc_corr_new();
    int rc = c ? MC_EXIT_OK : MC_EXIT_FATAL;
    for (int i = optind; c && i < argc; i++) {
        bool std_in = !strcmp(argv[i], "-");
        FILE *fp = std_in ? stdin : fopen(argv[i], "r");
        char err[256] = "";
        if (!fp || mc_corr_add_stream(c, fp, err, sizeof err) < 0) {
            mc_cli_error("%s: %s", argv[i], fp ? err : strerror(errno));
            rc = MC_EXIT_PARTIAL;
        }
        if (fp && !std_in)
            fclose(fp);
    }
    if (c && (mc_corr_write(c, f, defang, stdout) != 0 || fflush(stdout) != 0)) {
        mc_cli_error("cannot write the output");
        rc = MC_EXIT_FATAL;
    }
    mc_corr_free(c);
    return rc;
}

static int cmd_correlate(int argc, char **argv)
{
    static const char usage[] =
        "Usage: memcfg correlate [-f text|json|dot] [--no-defang] RESULTS...\n"
        "Group the samples of saved records (scan -f ndjson or -f json; '-' = stdin) by the C2\n"
        "hosts, IPs, mutexes and keys their configurations share.\n"
        "  -f, --format FMT   text (default), json, dot (Graphviz: dot -Tsvg)\n"
        "      --no-defang    text: print hosts and IPs as they are\n"
        "Exit status 3 when a results file cannot be read or is not JSON.\n";
    static const struct option lo[] = {
        {"format", required_argument, NULL, 'f'}, {"no-defang", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    mc_corr_format f = MC_CORR_TEXT;
    bool defang = true;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:h", lo, NULL)) != -1) {
        if (c == 'h')
            return (fputs(usage, stdout), MC_EXIT_OK);
        if (c == 'D')
            defang = false;
        else if (c == 'f' && (!strcmp(optarg, "text") || !strcmp(optarg, "json") ||
                              !strcmp(optarg, "dot")))
            f = !strcmp(optarg, "text") ? MC_CORR_TEXT : !strcmp(optarg, "json") ? MC_CORR_JSON
                                                                                  : MC_CORR_DOT;
        else if (c == 'f')
            return mc_cli_usage_error("correlate", "format must be text, json or dot, not '%s'",
                                      optarg);
        else if (c == ':')
            return mc_cli_usage_error("correlate", "option '%s' needs a value",
                                      mc_cli_bad_option(argv));
        else
            return mc_cli_usage_error("correlate", "unknown option '%s'", mc_cli_bad_option(argv));
    }
    if (optind >= argc)
        return mc_cli_usage_error("correlate", "no results file given");
    return correlate_files(argc, argv, f, defang);
}

/* ---------------------------------------------------------------- dispatch */

int mc_cli_main(int argc, char **argv)
{
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        {"scan", cmd_scan}, {"info", mc_cli_info}, {"list-families", cmd_list_families},
        {"schema", cmd_schema}, {"check-rules", cmd_check_rules}, {"export", cmd_export},
        {"correlate", cmd_correlate},
    };
    if (argc < 2)
        return mc_cli_usage_error(NULL, "no command given");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(main_usage, stdout);
        return MC_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        print_version();
        return MC_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    return mc_cli_usage_error(NULL, "unknown command '%s'", cmd);
}
