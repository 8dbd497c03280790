/* Shared helpers for the unit tests. */
#ifndef MEMCFG_TESTUTIL_H
#define MEMCFG_TESTUTIL_H

#include "extractor/memcfg.h"
#include "fixtures/fx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Path under the source tree ($MEMCFG_SRCDIR, or the compile-time source root). Static buffer. */
const char *tu_src(const char *rel);
/* Path under ../shared next to the source tree; NULL when shared/ is absent. Static buffer. */
const char *tu_shared(const char *rel);
/* A fresh temporary directory for this process (removed at exit). */
const char *tu_tmpdir(void);
/* Read a whole file; NULL on error. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Options that open bytes as a raw dump at base; an md_dump of bytes opened that way (the test
 * fails when it does not open). */
md_open_opts tu_raw_opts(uint64_t base);
md_dump *tu_open_raw(const uint8_t *p, size_t len, uint64_t base);

/* The containers family tests place a process in, each written by its fx_* writer (gzip wraps a
 * full minidump). out is initialised here. */
typedef enum tu_container { TU_MINIDUMP = 0, TU_CUCKOO, TU_ELFCORE, TU_GZIP, TU__CONTAINERS } tu_container;
void tu_write_container(const fx_process *p, tu_container c, fx_buf *out);

/* An engine with these families' rules and decoders (NULL, 0: all), opening inputs with open
 * (NULL: detected). */
mc_engine *tu_engine_new(const char *const *families, size_t nfamilies, const md_open_opts *open);

/* One engine pass of a single family over an in-memory input; the scan must succeed. cfg[] holds
 * the MACO objects of the config records and rec[] the records themselves (owned by res; free
 * with mc_input_result_clear). */
typedef struct tu_run {
    mc_input_result res;
    size_t nconfigs;
    json_t *cfg[8];
    json_t *rec[8];
} tu_run;
void tu_engine_run(const char *family, const fx_buf *in, const md_open_opts *open, tu_run *r);
/* The same with several families enabled at once (rules and decoders of each). */
void tu_engine_run_families(const char *const *families, size_t nfamilies, const fx_buf *in,
                            const md_open_opts *open, tu_run *r);

/* True when the JSON array holds the string want. */
bool tu_json_has_str(json_t *arr, const char *want);
/* True when the MACO object's tcp list has host (server_ip or server_domain):port for c2. */
bool tu_has_conn(json_t *cfg, const char *host, long port);
/* The first string of the MACO object's array `key`, or NULL. */
const char *tu_first_str(json_t *cfg, const char *key);

#endif
