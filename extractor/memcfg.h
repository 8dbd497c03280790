/* libmemcfg: the extraction engine.
 *
 * One engine holds the compiled ruleset (bundled decoder rules plus user rules) and the decoder
 * selection; it is shared read-only by every worker thread. mc_engine_scan() takes one input
 * through open -> one libyara pass -> decoders -> records, and returns the records as JSON objects
 * shaped as described in the README ("Records"). Output writers render those objects.
 */
#ifndef MEMCFG_H
#define MEMCFG_H

#include "memdump.h"
#include "decoder.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MC_TOOL_NAME "memcfg"
#define MC_SCHEMA_VERSION "1.0"
#define MC_MACO_VERSION "1.2.26"

typedef struct mc_engine mc_engine;

/* PBKDF2 budget of one decoder on one input (decoder.h mc_kdf_budget), in rounds (iterations x
 * 20-byte blocks; a whole Aes256 key at 50,000 iterations is 250,000). The default is 64 such
 * derivations, about 2.5 s of PBKDF2 in a release build. Measured (issue 7): the costliest job of
 * the bench stress dump (every .NET fixture variant in one 64 MiB dump: 7 Quasar and 7 AesRAT
 * family assemblies, look-alikes included) is quasar's, 45 derivations = 2,920,000 rounds; the
 * asyncrat, dcrat and venomrat jobs take 7 = 1,750,000 each; the costliest single fixture, the
 * Quasar look-alike, 16 = 2,040,000 (8 key candidates, none right). 16,000,000 is 5.5 times the
 * worst of those, room for a few copies of a sample or a fork's own salts and count, while a
 * hostile image (64 .cctors x 8 key candidates x 5 salts x 2 counts, up to 10^7 iterations each)
 * is stopped after seconds instead of hours. */
#define MC_KDF_BUDGET_DEFAULT 16000000u
#define MC_KDF_UNLIMITED UINT64_MAX

typedef struct mc_engine_opts {
    const char *const *rule_paths; size_t nrule_paths;   /* user rules: file, directory, NS:PATH */
    const char *const *families; size_t nfamilies;       /* only these decoders (empty = all) */
    const char *const *exclude; size_t nexclude;         /* never these decoders */
    const mc_decoder *const *extra_decoders; size_t nextra; /* registered only in tests */
    double timeout;            /* seconds per input, 0 = none */
    double run_deadline;       /* absolute CLOCK_MONOTONIC seconds for the whole run, 0 = none */
    int min_confidence;        /* records below are dropped */
    int verbose;
    uint64_t kdf_budget;       /* PBKDF2 rounds per decoder and input: 0 = MC_KDF_BUDGET_DEFAULT,
                                * MC_KDF_UNLIMITED = none */
    md_open_opts open;         /* format forcing, raw base, caps */
} mc_engine_opts;

/* Returns 0, or non-zero with a one-line message (rule compile errors carry file:line). */
int mc_engine_new(const mc_engine_opts *opts, mc_engine **out, char *err, size_t errlen);
void mc_engine_free(mc_engine *e);
const char *mc_engine_ruleset_sha256(const mc_engine *e);   /* hex */

typedef enum mc_input_status {
    MC_INPUT_OK = 0,
    MC_INPUT_ERROR,       /* could not be opened or parsed: one error record */
    MC_INPUT_TIMEOUT,     /* the deadline stopped it; what finished is still reported */
} mc_input_status;

typedef struct mc_input {
    const char *path;          /* file to open, or a label when mem is set */
    const uint8_t *mem;        /* optional: scan this buffer instead of opening path */
    uint64_t memlen;
    uint32_t pid;              /* optional overrides (CAPE files.json); 0/NULL = from the dump */
    const char *process;
} mc_input;

typedef struct mc_input_result {
    mc_input_status status;
    char error[512];           /* one line when status != OK */
    json_t *input;             /* the record's "input" block (path, sha256, size, format, process) */
    json_t **records;          /* wrapper records, in deterministic order */
    size_t nrecords;
    size_t nhits;
    double elapsed;            /* seconds */
    bool partial;              /* a decoder or scan hit its deadline or a cap */
} mc_input_result;

/* Thread-safe for concurrent calls on one engine. Always fills *res (free with
 * mc_input_result_clear); returns its status. */
mc_input_status mc_engine_scan(mc_engine *e, const mc_input *in, mc_input_result *res);
void mc_input_result_clear(mc_input_result *res);

/* Compile rules only (check-rules): 0 when every file compiles; messages go to report(). */
int mc_check_rules(const char *const *paths, size_t npaths, bool warnings_as_errors,
                   void (*report)(void *arg, const char *line), void *arg);

/* The JSON Schema (draft 2020-12) of a record, with the MACO model under $defs. */
json_t *mc_record_schema(void);

/* Order-independent fingerprint of a MACO config: "sha256:<hex>". */
char *mc_fingerprint(const json_t *config);

/* Added (owner: perf). Scan-thread budget of the engine (default 1). Concurrent mc_engine_scan
 * calls share it: a call started while k inputs are being scanned uses budget / k threads (at
 * least 1) inside its dump, so `-p N` with one input scans that dump on N threads and `-p N`
 * over a batch scans N inputs at once on one thread each. Results never depend on it. Set it
 * before the first mc_engine_scan. */
void mc_engine_set_threads(mc_engine *e, unsigned n);
/* For a thread that has run out of inputs of its own: scan items of an input another call is
 * scanning (one whose scan has items left and fewer threads than the budget), until it has
 * none; true when it did. A batch keeps its threads busy to the end this way. */
bool mc_engine_help(mc_engine *e);

#ifdef __cplusplus
}
#endif
#endif
