/* Sandbox integration: a CAPE/Cuckoo analysis folder as a set of inputs (cape_analysis.c),
 * merging config records per family across inputs (merge.c), and correlation of results by
 * shared infrastructure (correlate.c). Private to memcfg: not installed. */
#ifndef MEMCFG_MC_SANDBOX_H
#define MEMCFG_MC_SANDBOX_H

#include "mc_output.h"
#include "memcfg.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- cape_analysis.c: the folder ---- */

typedef enum mc_cape_kind {
    MC_CAPE_MEMORY = 0,   /* memory/<pid>.dmp, memory/<pid>-<n>.dmp: process memory */
    MC_CAPE_PROCDUMP,     /* procdump/<sha256>: process image dumps */
    MC_CAPE_PAYLOAD,      /* CAPE/<sha256>: unpacked or injected payloads */
} mc_cape_kind;

typedef struct mc_cape_item {
    char *path;           /* <dir>/<rel> */
    char *rel;            /* "memory/1234.dmp", "CAPE/<sha256>": as files.json names it */
    mc_cape_kind kind;
    uint32_t pid;         /* 0 = unknown */
    char *process;        /* image name (basename of the process path), NULL = unknown */
    int dump_type;        /* capemon DumpType from the metadata, -1 = unknown */
    uint64_t va;          /* payload address from the metadata, when has_va */
    bool has_va;
} mc_cape_item;

typedef struct mc_cape_analysis {
    mc_cape_item *items;  /* memory dumps by pid, then procdump/, then CAPE/, by name */
    size_t nitems;
    char **notes;         /* files left out and why, one line each */
    size_t nnotes;
} mc_cape_analysis;

/* Walk DIR's memory/, procdump/ and CAPE/ (one level each) and annotate every file from
 * files.json (and reports/report.json for process names). A folder without any of the three is
 * valid and yields no items. Returns 0, or -1 with a one-line message when DIR is not a readable
 * directory or memory runs out. */
int mc_cape_analysis_open(const char *dir, mc_cape_analysis **out, char *err, size_t errlen);
void mc_cape_analysis_free(mc_cape_analysis *a);

/* One capemon metadata string ("<DumpType>;?<ProcessPath>;?<ModulePath>;?..."). The payload
 * address is taken only from the UNPACKED_PE/UNPACKED_SHELLCODE form. *process_path is a heap
 * copy or NULL. Returns false when the string is not in that grammar. */
bool mc_cape_parse_metadata(const char *meta, int *dump_type, char **process_path, uint64_t *va,
                            bool *has_va);

/* ---- cape_analysis.c: the run ---- */

typedef struct mc_cape_run_opts {
    const mc_engine_opts *engine; /* the run's engine options; open is replaced per input */
    mc_engine *shared;            /* optional: made from *engine with sniffed input formats and
                                     no base, for every input without a payload address */
    const char *format;           /* writer name */
    FILE *out;
    mc_output_opts output;
    size_t threads;               /* >= 1 */
    bool merge;                   /* per-family merge across the folder */
    bool quiet;
} mc_cape_run_opts;

typedef struct mc_cape_run_stats {
    size_t inputs, errors, configs;
    size_t truncated;             /* inputs whose dump was cut short (exit status 3) */
    bool write_failed;
} mc_cape_run_stats;

/* Scan every input of a, bounded by engine->run_deadline, and write the records. Messages
 * (failed, truncated and skipped inputs) go to stderr. Returns 0, or -1 when the run could not
 * start (message in err). */
int mc_cape_run(const mc_cape_analysis *a, const mc_cape_run_opts *o, mc_cape_run_stats *st,
                char *err, size_t errlen);

/* ---- merge.c ---- */

/* Merge the config records of one run per family: records whose configs agree on every scalar
 * they both carry (recursively through objects) become one record with the lists unioned;
 * a conflicting scalar keeps the records apart. Failed and template records merge only with
 * their own status. Every output record carries "sources": [{path, sha256, pid, va}] and a
 * fingerprint of the merged config. recs are borrowed; the result holds new references, and
 * first[i] (when first is not NULL) is the index in recs of output i's first source. Output
 * order is the order of the first sources. Returns the number of records, or (size_t)-1 when
 * memory runs out. */
size_t mc_merge_records(json_t *const *recs, size_t n, json_t ***out, size_t **first);

/* The "sources" entry a record stands for: input path, sha256, process pid, first location. */
json_t *mc_record_source(const json_t *rec);

/* ---- correlate.c ---- */

typedef struct mc_corr mc_corr;

typedef enum mc_corr_format { MC_CORR_TEXT = 0, MC_CORR_JSON, MC_CORR_DOT } mc_corr_format;

mc_corr *mc_corr_new(void);
void mc_corr_free(mc_corr *c);
/* Add one record (config records only; others are ignored). Returns 0 or -1 (out of memory). */
int mc_corr_add_record(mc_corr *c, const json_t *rec);
/* Add every record in a buffer holding NDJSON, concatenated JSON, or a `-f json` document.
 * Returns the number of records seen, or -1 with a one-line message (malformed JSON). */
long mc_corr_add_buffer(mc_corr *c, const char *buf, size_t len, char *err, size_t errlen);
/* Add a results file (read whole, at most 1 GiB). Same return as mc_corr_add_buffer. */
long mc_corr_add_stream(mc_corr *c, FILE *fp, char *err, size_t errlen);
/* Render; defang applies to text. Deterministic: the same records in any order give the same
 * bytes. Returns 0 or -1 (write error, out of memory). */
int mc_corr_write(mc_corr *c, mc_corr_format f, bool defang, FILE *fp);
/* The groups as a JSON document (what -f json prints). */
json_t *mc_corr_json(mc_corr *c);

#endif
