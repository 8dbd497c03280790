/* Private interfaces between the extractor's files: rule sources and the compiled rule database
 * (rules.c), the libyara pass (scan.c), and record building (record.c). Not installed. */
#ifndef MEMCFG_MC_INTERNAL_H
#define MEMCFG_MC_INTERNAL_H

#include "memcfg.h"

#include <yara.h>

/* ---- rules.c ---- */

/* One rule source as compiled: namespace, a name for messages ("quasar.yar (bundled)" or the
 * path) and the exact bytes. */
typedef struct mc_rule_src {
    char *ns, *name, *text;
    size_t len;
} mc_rule_src;

typedef struct mc_rule_srcs {
    mc_rule_src *v;
    size_t n, cap;
} mc_rule_srcs;

void mc_rule_srcs_free(mc_rule_srcs *s);
int mc_rule_srcs_add(mc_rule_srcs *s, const char *ns, const char *name, const char *text,
                     size_t len);
/* Add the sources a --rules argument names: a file, a directory (its *.yar and *.yara files,
 * not recursive, sorted by name) or NS:PATH. Files without NS go to namespace "user". */
int mc_rule_srcs_add_path(mc_rule_srcs *s, const char *arg, char *err, size_t errlen);
/* The bundled rules of n decoders, in order: namespace = family, name "<family>.yar", the
 * decoder's embedded source; decoders without rules add nothing. The one place the bundled rule
 * set is assembled: the engine and the build-time precompiler (rulec) both call it. */
int mc_rule_srcs_add_bundled(mc_rule_srcs *s, const mc_decoder *const *dec, size_t n);
/* The ruleset hash of srcs (rules.c, top). */
void mc_rule_srcs_sha256(const mc_rule_srcs *s, char out[65]);

/* What a compiled rule looks like to the rest of the extractor, copied out of libyara once so
 * that hits can point at strings the engine owns. Indexed by rule index / string index. */
typedef struct mc_rule_info {
    char *name, *ns, *family;     /* family "" when the rule has no string meta "family" */
    json_t *tags;                 /* array of strings */
} mc_rule_info;

typedef struct mc_ruledb {
    YR_RULES *rules;
    mc_rule_info *rule; size_t nrules;
    char **string_id; size_t nstrings;
    char sha256[65];
    bool precompiled;             /* loaded from the build-time blob, not compiled */
    char note[160];               /* compiled although the blob matched: why it did not load */
    /* Whether any string matches in all-zero bytes (scan.c's zero probe, a property of the
     * rules): 0 not probed yet, 1 none does, 2 some does or the probe failed. */
    _Atomic int zeros;
} mc_ruledb;

/* Compile srcs in order. report (may be NULL) gets every error and warning as
 * "name:line: error|warning: message". Returns 0, or -1 with the first error in err. */
int mc_ruledb_compile(const mc_rule_srcs *s, bool warnings_fatal,
                      void (*report)(void *arg, const char *line), void *arg, mc_ruledb *db,
                      char *err, size_t errlen);
void mc_ruledb_free(mc_ruledb *db);

/* A rule set saved with yr_rules_save_stream: the bytes, the sources it was compiled from (as
 * mc_rule_src), their ruleset hash and its rule count. mc_rules_bundled (rules_blob.c, written
 * at build time by rulec) holds the bundled rules of every registered decoder, compiled with
 * warnings not fatal as the engine compiles them. The sources are kept so that the engine tells
 * by comparing bytes, without hashing, that it wants exactly this set. */
typedef struct mc_rules_blob_src {
    const char *ns, *name, *text;
    size_t len;
} mc_rules_blob_src;

typedef struct mc_rules_blob {
    const unsigned char *data;
    size_t len;
    const mc_rules_blob_src *srcs;
    size_t nsrcs;
    const char *sha256;
    size_t nrules;
} mc_rules_blob;
extern const mc_rules_blob mc_rules_bundled;

/* Serialise compiled rules (yr_rules_save_stream) into a malloc'ed buffer. 0 or -1. */
int mc_ruledb_save(const mc_ruledb *db, unsigned char **out, size_t *len);
/* Load blob (yr_rules_load_stream from memory) and build the tables as mc_ruledb_compile does;
 * db->sha256 = blob->sha256, db->precompiled set. -1 with the reason in err when libyara refuses
 * it (another arena version, corrupt) or it is not what it claims (rule count, trailing bytes). */
int mc_ruledb_load(const mc_rules_blob *blob, mc_ruledb *db, char *err, size_t errlen);
/* The database for srcs as the engine wants it: loaded from blob (may be NULL) when srcs are
 * exactly blob's sources and it loads, otherwise compiled (warnings not fatal); when a matching
 * blob failed to load, db->note says why. Returns 0, or -1 with the first compile error in err. */
int mc_ruledb_build(const mc_rule_srcs *s, const mc_rules_blob *blob, mc_ruledb *db, char *err,
                    size_t errlen);

/* engine.c, for tests: the engine's rule database, and the blob engines created from now on load
 * in place of mc_rules_bundled (NULL restores it; one with len 0 means none). */
const mc_ruledb *mc_engine_ruledb(const mc_engine *e);
void mc_engine_test_rules_blob(const mc_rules_blob *blob);

/* libyara's process-wide state, refcounted. The first acquire sets YR_CONFIG_MAX_MATCH_DATA
 * to 0: memcfg reads matched bytes from the dump, never from libyara's copies of them, which
 * otherwise cost up to 512 bytes per match and a 0.6 MiB match notebook page per scan. */
int mc_yara_acquire(void);
void mc_yara_release(void);

/* ---- scan.c ---- */

#define MC_MAX_HITS_PER_RULE 10000u

typedef struct mc_scan {
    mc_hit *hits; size_t nhits;                  /* sorted by (va, rule, string_id) */
    uint32_t *matched; size_t nmatched;          /* rule indexes that matched, ascending */
    json_t *warnings;                            /* array of strings */
    bool partial;                                /* timeout or a cap cut the scan short */
    bool timed_out;                              /* the deadline did */
    /* With mc_scan_cfg.collect_mz: the VAs of the page starts holding 'M', ascending, taken
     * while the scan had the pages in hand (for md_probe_images_at); mz_ok when every byte of
     * the dump was passed over and none was left out. */
    uint64_t *mz; size_t nmz;
    bool mz_ok;
    /* Every work item ran and the parallel pass stood (no stop, no fallback to the reference
     * pass): mc_scan_cfg.item_fn saw every byte of the dump's runs. */
    bool items_ok;
} mc_scan;

/* One libyara pass over the dump's runs; deadline 0 = none. Returns 0, or -1 on an internal
 * error (message in err). Timeouts are not errors: they set partial and a warning. */
int mc_scan_dump(const mc_ruledb *db, const md_dump *d, double deadline, mc_scan *out,
                 char *err, size_t errlen);
void mc_scan_free(mc_scan *s);

/* How to scan one dump. The default (all zero) is one thread with the parallel algorithm, whose
 * hits are those of the reference pass (one scanner over whole runs); see scan.c. */
typedef struct mc_scan_cfg {
    unsigned threads;          /* scanning threads for this dump; 0 or 1 = the caller only */
    bool reference;            /* force the reference pass */
    uint64_t chunk;            /* bytes per work item; 0 = 16 MiB (tests use small ones) */
    bool collect_mz;           /* fill mc_scan.mz (parallel pass only) */
    /* Threads with nothing else to do may join this scan through `helpers` (mc_scan_help),
     * at most `spare` of them at once. */
    struct mc_scan_helpers *helpers;
    unsigned spare;
    /* Called by the parallel pass for each work item once libyara is done with it, while its
     * pages are still mapped: VAs [lo, hi) of run r (items partition the runs). `slot` (below
     * threads + spare, one thread at a time per slot) lets the callee keep per-thread state;
     * `matched`: some string of the rules has matched in this dump so far (this item included).
     * Valid as a whole only when mc_scan.items_ok. */
    void (*item_fn)(void *arg, unsigned slot, const md_run *r, uint64_t lo, uint64_t hi,
                    bool matched);
    void *item_arg;
} mc_scan_cfg;

/* Where the parallel passes running now take helpers: a thread that has run out of inputs of
 * its own (the last inputs of a batch) scans items of theirs. */
typedef struct mc_scan_helpers mc_scan_helpers;
mc_scan_helpers *mc_scan_helpers_new(void);
void mc_scan_helpers_free(mc_scan_helpers *h);
/* Join one running pass that has items left and a free place, and scan items until it has none;
 * false at once when there is none to join. */
bool mc_scan_help(mc_scan_helpers *h);

/* What a scan did, for -v and the benchmark. Times are mc_now() values. */
typedef struct mc_scan_stats {
    const char *mode;          /* "parallel", "reference" or "fallback" (parallel, then reference) */
    unsigned threads;          /* threads that scanned */
    uint64_t bytes;            /* bytes in the dump's regions */
    uint64_t scanned;          /* bytes handed to libyara's matcher (phase 1 or reference) */
    uint64_t zero_skipped;     /* all-zero bytes left out */
    uint64_t window_bytes;     /* bytes re-scanned around matches to evaluate conditions */
    uint64_t reach;            /* bytes either side of a match start libyara may read */
    double t_start, t_first, t_matched, t_end;
} mc_scan_stats;

/* mc_scan_dump with a configuration (NULL = default) and statistics (may be NULL). */
int mc_scan_dump_ex(const mc_ruledb *db, const md_dump *d, double deadline,
                    const mc_scan_cfg *cfg, mc_scan *out, mc_scan_stats *stats, char *err,
                    size_t errlen);

/* ---- record.c ---- */

/* "0x%016llx" */
json_t *mc_json_va(uint64_t va);
/* The detection.region object of the region holding va, or NULL when va is in no region. */
json_t *mc_region_json(const md_dump *d, uint64_t va);
/* A complete config record for c in output.md 7.1 key order. tool, input and rules (the
 * detection.rules array) are copied; extra_warnings (may be NULL) are appended to the config's
 * own warnings. */
json_t *mc_record_from_config(const mc_config *c, const md_dump *d, const mc_decoder *dec,
                              json_t *tool, json_t *input, json_t *rules,
                              json_t *extra_warnings);
/* Merge records that share (config.family, fingerprint): provenance and raw are merged,
 * detection.locations concatenated, warnings united, the best status/confidence kept. Sorts the
 * rest by (order of family in fam_order, first anchor VA, fingerprint). Takes ownership of the
 * array's elements; returns the new count. */
size_t mc_records_merge_sort(json_t **recs, size_t n, const char *const *fam_order,
                             size_t nfam);

#endif
