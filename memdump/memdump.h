/* memdump: one region model for every process-memory snapshot.
 *
 * An input (minidump, CAPE/Cuckoo process dump, ELF core, PE file, raw bytes, or a gzip/zlib copy
 * of any of them) becomes a read-only buffer plus regions sorted by virtual address. Everything
 * after md_open() speaks virtual addresses only. No libyara and no decoder code lives here.
 */
#ifndef MEMCFG_MEMDUMP_H
#define MEMCFG_MEMDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum md_format {
    MD_FMT_UNKNOWN = 0,
    MD_FMT_RAW,
    MD_FMT_PE,
    MD_FMT_MINIDUMP,
    MD_FMT_CUCKOO,
    MD_FMT_ELFCORE,
} md_format;

typedef enum md_compression { MD_COMP_NONE = 0, MD_COMP_GZIP, MD_COMP_ZLIB } md_compression;

typedef enum md_arch {
    MD_ARCH_UNKNOWN = 0,
    MD_ARCH_X86,
    MD_ARCH_AMD64,
    MD_ARCH_ARM,
    MD_ARCH_ARM64,
} md_arch;

/* Typed errors. md_strerror() gives the generic text; md_open() also fills a specific message. */
typedef enum md_err {
    MD_OK = 0,
    MD_E_IO,          /* cannot open, stat or map the file */
    MD_E_EMPTY,       /* zero-length input */
    MD_E_FORMAT,      /* format not recognised (or not the forced one) */
    MD_E_CORRUPT,     /* structure is inconsistent beyond repair */
    MD_E_TRUNCATED,   /* input ends before any usable memory */
    MD_E_LIMIT,       /* a documented cap was exceeded and nothing usable remained */
    MD_E_NOMEM,
    MD_E_ARG,         /* bad argument from the caller */
} md_err;

/* Windows constants; other formats translate into them so that consumers test one set. */
enum {
    MD_MEM_COMMIT = 0x1000, MD_MEM_RESERVE = 0x2000, MD_MEM_FREE = 0x10000,
    MD_MEM_PRIVATE = 0x20000, MD_MEM_MAPPED = 0x40000, MD_MEM_IMAGE = 0x1000000,
    MD_PAGE_NOACCESS = 0x01, MD_PAGE_READONLY = 0x02, MD_PAGE_READWRITE = 0x04,
    MD_PAGE_WRITECOPY = 0x08, MD_PAGE_EXECUTE = 0x10, MD_PAGE_EXECUTE_READ = 0x20,
    MD_PAGE_EXECUTE_READWRITE = 0x40, MD_PAGE_EXECUTE_WRITECOPY = 0x80, MD_PAGE_GUARD = 0x100,
};

/* Region flags. */
enum {
    MD_R_TRUNCATED = 1u << 0,    /* the input held fewer bytes than the region's declared size */
    MD_R_EXEC = 1u << 1,
    MD_R_WRITE = 1u << 2,
    MD_R_IMAGE = 1u << 3,        /* MEM_IMAGE, a module range, or a PE file section */
    MD_R_HAS_MZ = 1u << 4,       /* region starts with a plausible PE header */
    MD_R_PROT_UNKNOWN = 1u << 5, /* the container carries no protection labels */
    MD_R_STACK = 1u << 6,        /* a thread stack (minidump ThreadListStream) */
};

typedef struct md_region {
    uint64_t va;          /* first virtual address */
    uint64_t size;        /* bytes present in the buffer (after clamping) */
    uint64_t off;         /* offset of those bytes in md_dump.buf */
    uint64_t alloc_base;  /* allocation base, 0 if unknown */
    uint32_t protect;     /* MD_PAGE_* (ELF PF_* translated), 0 if unknown */
    uint32_t state;       /* MD_MEM_COMMIT etc., 0 if unknown */
    uint32_t type;        /* MD_MEM_IMAGE/MAPPED/PRIVATE, 0 if unknown */
    uint32_t flags;       /* MD_R_* */
    int32_t module;       /* index into md_dump.modules, -1 if none */
} md_region;

/* A maximal stretch contiguous both in VA and in the buffer: one zero-copy scan block. */
typedef struct md_run {
    uint64_t va, size, off;
    uint32_t first_region, nregions;
} md_run;

typedef struct md_module {
    uint64_t base, size;
    char *path;           /* UTF-8, never NULL ("" when unknown) */
    uint32_t timestamp, checksum;
} md_module;

typedef struct md_thread {
    uint32_t tid;
    uint64_t stack_va, stack_size, teb;
} md_thread;

typedef enum md_layout { MD_LAYOUT_MAPPED = 1, MD_LAYOUT_FLAT = 2 } md_layout;

enum {
    MD_IMG_DOTNET = 1u << 0,    /* has a CLR runtime header (data directory 14) */
    MD_IMG_DLL = 1u << 1,
    MD_IMG_PE64 = 1u << 2,      /* PE32+ optional header */
    MD_IMG_NO_HEADER = 1u << 3, /* found without an intact MZ/PE header (reserved for finders) */
};

typedef struct md_image {
    uint64_t base;        /* where the image really is in this dump (not ImageBase) */
    uint64_t size;        /* SizeOfImage for mapped layout, file extent for flat layout */
    uint64_t image_base;  /* ImageBase from the optional header */
    md_layout layout;
    uint32_t flags;       /* MD_IMG_* */
    uint16_t machine;     /* IMAGE_FILE_HEADER.Machine */
    int32_t module;       /* index into md_dump.modules, -1 if not in the module list */
} md_image;

typedef struct md_warning {
    uint32_t code;        /* MD_W_* */
    char *msg;            /* one line, no trailing newline */
} md_warning;

enum {
    MD_W_TRUNCATED = 1,        /* file ends inside described memory */
    MD_W_RESULTSERVER_TRUNC,   /* CAPE result server "... (truncated)" cut */
    MD_W_OVERLAP,              /* overlapping ranges were trimmed or dropped */
    MD_W_BAD_RECORD,           /* a record or descriptor was malformed and skipped */
    MD_W_SMALL_DUMP,           /* only small-dump memory (MemoryListStream): little to find */
    MD_W_DUPLICATE_STREAM,
    MD_W_LIMIT,                /* a cap was hit; what is past it is ignored */
    MD_W_BAD_STRING,           /* a name or string was malformed */
};

typedef struct md_dump {
    md_format format;
    md_compression compression;
    md_arch arch;
    uint32_t pid;              /* 0 if unknown */
    char *process;             /* process image name (basename), NULL if unknown */

    const uint8_t *buf;        /* read-only: file mapping or decompressed buffer */
    uint64_t len;
    uint64_t file_size;        /* size of the input file as given (compressed size if compressed) */

    md_region *regions;  size_t nregions;   /* sorted by va, non-overlapping */
    md_run *runs;        size_t nruns;      /* sorted by va */
    md_module *modules;  size_t nmodules;   /* sorted by base */
    md_thread *threads;  size_t nthreads;
    md_image *images;    size_t nimages;    /* sorted by base */
    md_warning *warnings; size_t nwarnings;

    uint64_t bytes;            /* sum of region sizes */
    struct md_private *priv;
} md_dump;

typedef struct md_open_opts {
    md_format force_format;    /* MD_FMT_UNKNOWN = sniff */
    uint64_t raw_base;         /* base VA for raw input (and PE input when has_raw_base) */
    bool has_raw_base;
    uint64_t max_decompressed; /* 0 = default MD_DEFAULT_MAX_DECOMPRESSED */
    uint64_t max_regions;      /* 0 = default MD_DEFAULT_MAX_REGIONS */
    uint64_t max_modules;      /* 0 = default MD_DEFAULT_MAX_MODULES */
    /* Leave the probe of every page start for injected and manually mapped PEs (a read of each
     * page of the dump) to md_probe_images: a scanner can start on the bytes first. Until then
     * d->images holds only what the loader's lists (modules, MEM_IMAGE regions) name. */
    bool defer_image_probe;
} md_open_opts;

#define MD_DEFAULT_MAX_DECOMPRESSED (8ull << 30)
#define MD_DEFAULT_MAX_REGIONS (1u << 20)
#define MD_DEFAULT_MAX_MODULES 16384u
#define MD_MAX_STRING 4096u /* UTF-16 code units accepted for a module name and similar strings */

/* Open a file. On failure returns an error, *out is NULL, and err holds one line such as
 * "minidump stream 3 points past end of file" (no path, no trailing newline). */
md_err md_open(const char *path, const md_open_opts *opts, md_dump **out, char *err, size_t errlen);
/* Same from memory (tests, fuzzing). The buffer must outlive the dump unless compressed. */
md_err md_open_mem(const uint8_t *buf, uint64_t len, const md_open_opts *opts, md_dump **out,
                   char *err, size_t errlen);
void md_close(md_dump *d);
/* The page-start probe an open with defer_image_probe left out; afterwards d->images is what an
 * open without the option gives. Does nothing when nothing is pending. */
md_err md_probe_images(md_dump *d);
/* The same when a pass that read every byte of the dump collected the VAs of the page starts
 * (VA multiple of 4096) holding 'M', ascending: only those pages and the regions' first bytes are
 * looked at again. The result is md_probe_images'. */
md_err md_probe_images_at(md_dump *d, const uint64_t *page_va, size_t n);

const char *md_strerror(md_err e);
const char *md_format_name(md_format f);   /* "minidump", "cuckoo", "elfcore", "pe", "raw" */
md_format md_format_from_name(const char *name);
const char *md_arch_name(md_arch a);       /* "x86", "amd64", "arm", "arm64", "unknown" */
/* Sniff only, without building a model (used by --input-format auto and by tests). */
md_format md_sniff(const uint8_t *buf, uint64_t len);
/* Render protect as "RWX"-style text ("R", "RW", "RX", "RWX", "NA", "?" when unknown). */
const char *md_protect_str(uint32_t protect);

/* ---- bounded readers; never read outside the regions ---- */
const md_region *md_region_at(const md_dump *d, uint64_t va);        /* O(log n) */
const md_run *md_run_at(const md_dump *d, uint64_t va);
const md_run *md_run_after(const md_dump *d, uint64_t va);   /* first run starting past va */
/* Pointer to [va, va+len) when it lies inside one run (zero copy), else NULL. */
const uint8_t *md_ptr(const md_dump *d, uint64_t va, uint64_t len);
/* Bytes readable from va before the first hole, following adjacent regions. */
uint64_t md_avail(const md_dump *d, uint64_t va);
/* Copy up to len bytes across VA-adjacent regions; returns bytes copied (stops at a hole). */
uint64_t md_read(const md_dump *d, uint64_t va, void *dst, uint64_t len);
bool md_read_u8(const md_dump *d, uint64_t va, uint8_t *out);
bool md_read_u16(const md_dump *d, uint64_t va, uint16_t *out);
bool md_read_u32(const md_dump *d, uint64_t va, uint32_t *out);
bool md_read_u64(const md_dump *d, uint64_t va, uint64_t *out);
bool md_read_ptr(const md_dump *d, uint64_t va, unsigned ptr_size, uint64_t *out);
/* NUL-terminated string at va into dst (always terminated). Returns its length, or -1 when no
 * terminator is found within max-1 bytes or a hole comes first. */
long md_read_cstr(const md_dump *d, uint64_t va, char *dst, size_t max);
/* UTF-16LE string (terminated by 0x0000) as UTF-8 into dst; same return convention.
 * Unpaired surrogates become U+FFFD. */
long md_read_wstr_utf8(const md_dump *d, uint64_t va, char *dst, size_t max);
/* UTF-16LE bytes to UTF-8. Returns bytes written (excluding the NUL; dst always terminated) or
 * -1 when dst is too small. Unpaired surrogates become U+FFFD. */
long md_utf16le_to_utf8(const uint8_t *src, size_t nbytes, char *dst, size_t dstsz);
/* Translate between VA and buffer offset. */
bool md_va_to_off(const md_dump *d, uint64_t va, uint64_t *off);
bool md_off_to_va(const md_dump *d, uint64_t off, uint64_t *va);

/* ---- images ---- */
const md_image *md_image_at(const md_dump *d, uint64_t va);  /* image containing va, or NULL */
/* Copy an image into file layout (sections at PointerToRawData) or, with
 * MD_REBUILD_RAW_IS_VIRTUAL, keep the mapped layout and patch each section header so that
 * PointerToRawData = VirtualAddress. Holes are zero-filled. At most cap bytes. */
enum { MD_REBUILD_FILE = 0, MD_REBUILD_RAW_IS_VIRTUAL = 1 };
md_err md_image_rebuild(const md_dump *d, const md_image *img, int mode, uint64_t cap,
                        uint8_t **out, size_t *outlen);
/* Convert an RVA of an image to a VA, honouring its layout (flat images map RVAs through the
 * section table). Returns false when the RVA is outside every section and the headers. */
bool md_image_rva_to_va(const md_dump *d, const md_image *img, uint32_t rva, uint64_t *va);

/* A stretch [off, off+len) of md_dump.buf was read and is not needed any more; for a file
 * mapping its pages are dropped (MADV_DONTNEED, safe on a read-only private mapping) so a large
 * dump does not stay resident. No effect on memory buffers. Defined in memdump.c (also declared
 * in md_core.h). */
void md_release(const md_dump *d, uint64_t off, uint64_t len);
/* The same for the aligned stretch (4 MiB) around offset off: reading one byte of a file mapping
 * maps far more than its page (fault-around, the page cache's large folios), so a reader that
 * stops at off drops what spilled over its edge. */
void md_release_around(const md_dump *d, uint64_t off);
/* A stretch [off, off+len) of md_dump.buf is about to be read from end to end: read-ahead and
 * fault-around for it (the file is mapped for random access, which maps a page per fault).
 * Advice only; no effect on memory buffers. */
void md_advise_sequential(const md_dump *d, uint64_t off, uint64_t len);

#ifdef __cplusplus
}
#endif
#endif
