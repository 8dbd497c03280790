/* Synthetic process dumps for the .NET family tests (quasar, quasar_banker, asyncrat, xworm,
 * redline, heaponly, clridx): one raw process image at a base VA, laid out as
 *
 *   0                noise, prose naming the families, UTF-16 words  (td_layout.noise_*, prose, utf16)
 *   TD_DLL_OFF       a system-DLL-like native image                   (td_layout.dll)
 *   TD_IMG_OFF       the sample: a compiled fixture, flat or mapped, or 0x4000 zero bytes
 *   heap_off         (page aligned) a managed heap: noise, CLR strings, the caller's objects
 *                    (byte[] arrays...), zero bytes, then prose when td_layout.prose_gap is set
 *
 * td_layout holds what a test file keeps fixed, td_spec what each dump varies; td_container
 * writes the dump in every container (tu_write_container) with the regions' protections and
 * types and the modules a process of that shape has. */
#ifndef MEMCFG_TDUMP_H
#define MEMCFG_TDUMP_H

#include "decoder.h"
#include "mc_config.h"
#include "testutil.h"

#define TD_DLL_OFF 0x8000u
#define TD_IMG_OFF 0x10000u
#define TD_MT 0x00007FF812345678ull   /* the MethodTable pointer of the x64 heap objects */

/* What surrounds the sample; fixed per test file. */
typedef struct td_layout {
    uint64_t base;            /* VA of the dump's first byte; the DLL's image base is base + TD_DLL_OFF */
    uint64_t noise_seed;
    size_t noise_len;         /* noise bytes at offset 0 (the rest up to the DLL or sample is zero) */
    const char *prose;        /* written with its NUL at noise_len, or after the heap (prose_gap) */
    size_t prose_gap;         /* nonzero: the prose follows the heap after this many zero bytes */
    const char *utf16;        /* ASCII text written as UTF-16LE 16 bytes after the prose */
    bool dll;                 /* a native DLL at TD_DLL_OFF */
    unsigned ptr_size;        /* of the heap objects; 0: 8 */
    uint64_t mt;              /* MethodTable of the heap objects; 0: TD_MT */
    size_t heap_noise;        /* noise bytes (heap_noise_seed) at the heap's start */
    uint64_t heap_noise_seed;
    const char *filler;       /* a CLR string before each heap string; NULL: none */
    size_t heap_tail;         /* zero bytes after the heap objects */
    uint32_t pid;             /* of the process in the containers */
    const char *module_path;  /* the sample's module (mapped only) */
} td_layout;

/* One dump. */
typedef struct td_spec {
    const char *fixture;      /* fixtures/dotnet/<fixture>; NULL (and no td_extra.img): no sample */
    bool mapped;              /* the sample as the loader maps it, else its file bytes */
    const char *const *heap;  /* decrypted strings to place on the heap as CLR strings */
    size_t nheap;
} td_spec;

/* More heap objects, after the strings (out is the whole dump). */
typedef void (*td_heap_fn)(fx_buf *out, const td_layout *lay, const void *arg);

/* What few dumps need (td_build_ex): the sample from bytes, more heap objects. */
typedef struct td_extra {
    const uint8_t *img;       /* the sample's file bytes, instead of a fixture */
    size_t img_len;
    td_heap_fn heap_more;
    const void *arg;          /* for heap_more */
} td_extra;

typedef struct td_dump {
    fx_buf raw;               /* the flat process image */
    const td_layout *lay;
    size_t heap_off;          /* the heap's offset; the sample spans TD_IMG_OFF..heap_off */
    bool mapped;
} td_dump;

/* A fixture from fixtures/dotnet (the test fails when it is missing); free() it. */
uint8_t *td_load(const char *name, size_t *len);
/* A CLR string per s[i], each after the filler string when filler is not NULL. */
void td_put_strings(fx_buf *out, unsigned ptr_size, uint64_t mt, const char *filler,
                    const char *const *s, size_t n);

void td_build(const td_layout *lay, const td_spec *sp, td_dump *d);
void td_build_ex(const td_layout *lay, const td_spec *sp, const td_extra *ex, td_dump *d);
void td_free(td_dump *d);

/* The containers: TD_RAW is the raw image itself (opened with tu_raw_opts), the others are
 * tu_write_container's. */
enum { TD_RAW = 0, TD_MINIDUMP, TD_CUCKOO, TD_ELFCORE, TD_GZIP, TD__KINDS };
extern const char *const td_kind_names[TD__KINDS];

/* The process of a dump: the noise and prose (private), the DLL (image, a module), the sample
 * (image and a module when mapped, private read-write when flat), the heap. */
typedef struct td_proc {
    fx_region regs[4];
    fx_module mods[2];
    fx_process proc;
} td_proc;
void td_process(const td_dump *d, td_proc *p);
void td_container(const td_dump *d, int kind, fx_buf *out);
/* One engine pass of these families (NULL, 0: all) over the dump in a container. */
void td_scan(const td_dump *d, int kind, const char *const *families, size_t nfamilies, tu_run *r);

/* The dump's shared state with the heap indexes the scan's threads would build (one chunk per
 * run), for decoders called directly; mc_dump_shared_free() it. */
mc_dump_shared *td_heap_index(const md_dump *d);
/* Every config of r (JSON, provenance, status, confidence) as one text; free() it. */
char *td_results_text(const mc_results *r);

/* Hits as a rule's strings would give them: one per occurrence of each mark in p[0..len) at VA
 * va + offset, mark by mark; appended to hits[n..max). Returns the new count. */
typedef struct td_mark { const char *id; const char *pat; size_t len; } td_mark;
size_t td_mark_hits(const td_mark *marks, size_t nmarks, const uint8_t *p, size_t len, uint64_t va,
                    const char *rule, const char *ns, const char *family, mc_hit *hits, size_t n,
                    size_t max);

#endif
