/* Shared helpers for the unit tests. */
#ifndef MEMCFG_TESTUTIL_H
#define MEMCFG_TESTUTIL_H

#include "extractor/memcfg.h"
#include "fixtures/fx.h"

#include <check.h>
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

/* ---- native payload processes (remcos, lumma, vidar, rokrat) ----
 * Where such a process keeps things: 0x4000 noise bytes (seed 5), the payload as the loader
 * mapped it (an image region and a module), its file bytes (private read-write), a mapped copy
 * with the headers wiped (private read-write-execute), the heap. */
#define TU_NOISE_VA 0x00300000ull
#define TU_IMG_VA 0x00A10000ull
#define TU_FLAT_VA 0x02200000ull
#define TU_INJ_VA 0x03300000ull
#define TU_HEAP_VA 0x05500000ull

/* A family's image writer, as fx_<family>_image: mapped at load_base, else the file bytes. */
typedef void (*tu_image_fn)(const void *payload, bool mapped, uint64_t load_base, fx_buf *out);
enum { TU_WITH_MAPPED = 1, TU_WITH_FLAT = 2, TU_WITH_INJECTED = 4 };

/* The process: its regions point into the scene's buffers (img[] holds the mapped, flat and
 * injected copies, in that order of regions). */
typedef struct tu_scene {
    fx_buf noise, img[3], heap;
    fx_region regions[6];
    size_t nregions;
    fx_module module;
    int arch;
} tu_scene;
/* The noise region alone; the other buffers empty. */
void tu_scene_init(tu_scene *s, int arch);
/* One more region over b's bytes (b stays the caller's, usually one of the scene's buffers). */
void tu_scene_add(tu_scene *s, const fx_buf *b, uint64_t va, uint32_t protect, uint32_t type, uint64_t alloc_base);
/* tu_scene_init, then the payload in each layout of what (TU_WITH_*), mapped first; the mapped
 * copy is the module module_path. Write s->heap and tu_scene_add_heap() after it for a heap. */
void tu_scene_build(tu_scene *s, int arch, unsigned what, tu_image_fn image, const void *payload,
                    const char *module_path);
/* s->heap as the region at TU_HEAP_VA. */
void tu_scene_add_heap(tu_scene *s);
void tu_scene_free(tu_scene *s);
/* The scene as process 4242 in a container (out is initialised here). */
void tu_scene_container(const tu_scene *s, tu_container c, fx_buf *out);

/* A raw dump of such a process, opened with tu_raw_opts(TU_RAW_BASE): 0x3000 noise bytes (seed
 * 3), at TU_RAW_IMG_VA the payload mapped there with its headers wiped, then the heap bytes. */
#define TU_RAW_BASE 0x10000000ull
#define TU_RAW_IMG_VA (TU_RAW_BASE + 0x3000)
void tu_raw_payload(tu_image_fn image, const void *payload, const fx_buf *heap, fx_buf *out);

/* A look-alike's process as a full minidump: 0x2000 zero bytes at TU_NOISE_VA and data at va
 * (execute-read, of this type: an image region is its own allocation base), x86 process 7. */
void tu_region_dump(const fx_buf *data, uint64_t va, uint32_t type, fx_buf *out);

/* How many configs one engine pass of family finds in the process p written as a full minidump. */
size_t tu_count_configs(const char *family, const fx_process *p);

/* Hex text to bytes (each pair must parse); *n (when n is not NULL) is the byte count; free() it. */
uint8_t *tu_unhex(const char *hex, size_t *n);

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
/* True when the JSON array holds want: as a string element (key NULL), or as the string member
 * `key` of an object element (an "encryption" key, a "paths" path...). */
bool tu_json_str_in(json_t *arr, const char *key, const char *want);
/* True when a provenance object ({"tcp[0]": [{"va": ..., "form": ...}], ...}) has a location of
 * this form under key, or under any key when key is NULL. A key's value is an array of
 * locations or a single location object. */
bool tu_prov_has_form(json_t *prov, const char *key, const char *form);
/* True when the MACO object's tcp list has host (server_ip or server_domain):port for c2. */
bool tu_has_conn(json_t *cfg, const char *host, long port);
/* The first string of the MACO object's array `key`, or NULL. */
const char *tu_first_str(json_t *cfg, const char *key);

/* Run the suite (CK_NORMAL); the exit status of a test program: 1 when a test failed. */
int tu_run_suite(Suite *s);

#endif
