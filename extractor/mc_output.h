/* Output writers: render the records of a run, one writer per format, all over the same records.
 *
 * The caller hands each input's result to the writer in input order (mc_writer_input) and calls
 * mc_writer_finish once at the end. A writer never sees anything but records and the per-input
 * summary, so a new format (maco, cape, stix, misp, or an `export` that replays NDJSON) is one
 * more mc_writer_ops in its own file, listed in mc_writers[] in output.c.
 */
#ifndef MC_OUTPUT_H
#define MC_OUTPUT_H

#include "memcfg.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_output_opts {
    int defang;                  /* -1 = the format's default (text on, machine formats off) */
    int verbose;                 /* json: adds elapsed_ms per input; text: timings */
    const char *ruleset_sha256;  /* for the json document's "tool" block; may be NULL */
    /* Exports (maco, cape, stix, misp). */
    const char *tlp;             /* clear|green|amber|amber+strict|red; NULL = amber */
    bool fixed_time;             /* time_ms comes from --fixed-timestamp */
    int64_t time_ms;             /* ms since the epoch; set to "now" by mc_writer_new unless fixed */
    const char *misp_org_name;   /* Orgc.name; NULL = "memcfg" */
    const char *misp_org_uuid;   /* Orgc.uuid; NULL = derived from the name */
    const char *misp_feed_dir;   /* misp: write a feed folder here instead of events to fp */
} mc_output_opts;

typedef struct mc_output_stats {
    size_t inputs, hits, records, errors;
    size_t configs;              /* records with record_type "config" */
} mc_output_stats;

/* One input as the writers see it: the records already include the error record of a failed
 * input, and are defanged when the run asked for it on a machine format. */
typedef struct mc_output_input {
    const char *path;                 /* as given on the command line */
    const mc_input_result *res;
    json_t *const *records;
    size_t nrecords;
} mc_output_input;

typedef struct mc_writer mc_writer;

typedef struct mc_writer_ops {
    const char *name;            /* -f value */
    const char *help;            /* one line for --help */
    bool machine;                /* carries real (fanged) values unless --defang is forced */
    int (*begin)(mc_writer *w);
    int (*input)(mc_writer *w, const mc_output_input *in);
    int (*finish)(mc_writer *w);
    void (*release)(mc_writer *w);   /* frees w->state */
    bool self_defang;            /* gets the real records and applies w->defang itself, because
                                    some of its values (STIX patterns, MISP to_ids) never defang */
} mc_writer_ops;

/* Public so that writers in other files can reach their stream, options and state. */
struct mc_writer {
    const mc_writer_ops *ops;
    FILE *fp;
    mc_output_opts opts;
    bool defang;                 /* resolved from opts.defang and ops->machine */
    mc_output_stats stats;
    void *state;
};

/* NULL-terminated, in --help order. */
extern const mc_writer_ops *const mc_writers[];
const mc_writer_ops *mc_writer_lookup(const char *name);

/* Returns NULL when the format is unknown or memory runs out. fp stays the caller's. */
mc_writer *mc_writer_new(const char *format, FILE *fp, const mc_output_opts *opts);
/* Each returns 0, or -1 when writing failed (errno set by stdio). */
int mc_writer_input(mc_writer *w, const char *path, const mc_input_result *res);
int mc_writer_finish(mc_writer *w);
void mc_writer_free(mc_writer *w);
const mc_output_stats *mc_writer_stats(const mc_writer *w);

/* The error record of an input that failed (record_type "error", error {code, message}), shaped
 * as the engine's own. input may be NULL. */
json_t *mc_error_record(const char *path, const json_t *input, const char *code,
                        const char *message, const char *ruleset_sha256);
/* The run's "tool" block. */
json_t *mc_tool_block(const char *ruleset_sha256);

/* Defanging for people: "http://a.example/x" -> "hxxp://a[.]example/x", "192.0.2.1" ->
 * "192[.]0[.]2[.]1". Dots are bracketed only in the host part of a URL. Caller frees. */
char *mc_defang_url(const char *s);
char *mc_defang_host(const char *s);
/* A deep copy of a record with every host, IP and URI in "config" defanged and "defanged": true
 * set in the wrapper (machine formats with --defang). */
json_t *mc_record_defanged(const json_t *rec);

/* Text-safe copy for a terminal: control characters, C1 controls and bidi overrides become
 * \xNN / \u{NNNN}, so a hostile string cannot drive the terminal. Caller frees. */
char *mc_text_safe(const char *s);

/* ---- exports (out_*.c, export.c) ---- */

/* The export writers, listed in mc_writers[]. */
extern const mc_writer_ops mc_maco_ops, mc_cape_ops, mc_stix_ops, mc_misp_ops;

/* --tlp values: true when name is one of clear, green, amber, amber+strict, red. */
bool mc_tlp_valid(const char *name);
/* RFC 3339 date-time ("2026-01-02T03:04:05Z", fraction and numeric offset accepted) to ms since
 * the epoch; false when malformed or out of range. */
bool mc_parse_rfc3339(const char *s, int64_t *ms);

/* Re-renders saved NDJSON records through w without scanning: consecutive records with the same
 * "input" block form one input, as the scan handed them to the writer. A line that is not a JSON
 * object record is reported through report ("LINE: message") and skipped. Returns 0, or -1 when
 * writing failed; *bad gets the number of skipped lines. */
int mc_export_ndjson(FILE *in, mc_writer *w, void (*report)(void *arg, size_t line,
                                                            const char *msg),
                     void *arg, size_t *bad);

#ifdef __cplusplus
}
#endif
#endif
