/* ECMA-335 metadata reader for .NET images found in a dump, and IL scanning for config items.
 *
 * mc_dn_open() reads the CLI header, the metadata root and its streams from an image in either
 * layout (mapped or flat: both are tried, and the one whose CLR header, `BSJB` root and stream
 * headers validate wins). The metadata block is copied once (capped) so that every later lookup
 * is a bounds-checked index into an owned buffer. Method bodies and FieldRVA data are read
 * through md_read on demand, also capped. Every count, index and length from the image is checked;
 * a lying header gives a typed error, never a read outside the image.
 */
#ifndef MEMCFG_MC_DOTNET_H
#define MEMCFG_MC_DOTNET_H

#include "decoder.h"
#include "memdump.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mc_dn_err {
    MC_DN_OK = 0,
    MC_DN_E_ARG,        /* bad argument from the caller */
    MC_DN_E_PE,         /* no readable PE header at the image base */
    MC_DN_E_NOCLR,      /* no CLR header (data directory 14) */
    MC_DN_E_ROOT,       /* CLI header or metadata root (BSJB) invalid in every layout */
    MC_DN_E_STREAM,     /* a stream header lies (offset/size outside the metadata) */
    MC_DN_E_TABLES,     /* #~ header, row counts or table extents invalid */
    MC_DN_E_INDEX,      /* a row, heap index or token out of range */
    MC_DN_E_BODY,       /* method body header invalid or unreadable */
    MC_DN_E_LIMIT,      /* a cap was exceeded */
    MC_DN_E_NOMEM,
} mc_dn_err;

const char *mc_dn_strerror(mc_dn_err e);

/* Table ids used by decoders (ECMA-335 II.22). */
enum {
    MC_DN_T_MODULE = 0x00, MC_DN_T_TYPEREF = 0x01, MC_DN_T_TYPEDEF = 0x02, MC_DN_T_FIELDPTR = 0x03,
    MC_DN_T_FIELD = 0x04, MC_DN_T_METHODPTR = 0x05, MC_DN_T_METHODDEF = 0x06,
    MC_DN_T_MEMBERREF = 0x0A, MC_DN_T_TYPESPEC = 0x1B, MC_DN_T_FIELDRVA = 0x1D, MC_DN_T_COUNT = 0x2D,
};

/* Caps (the reader refuses larger inputs with MC_DN_E_LIMIT). */
#define MC_DN_MAX_METADATA (64u << 20)
#define MC_DN_MAX_BODY (1u << 20)
#define MC_DN_MAX_ROWS (1u << 24)

typedef struct mc_dn_heap {
    uint32_t off, size;       /* inside the metadata copy */
} mc_dn_heap;

typedef struct mc_dn_section {
    uint32_t va, vsize, raw_off, raw_size;
} mc_dn_section;

typedef struct mc_dotnet {
    const md_dump *d;
    uint64_t base;            /* VA of the image (MZ) in the dump */
    md_layout layout;         /* the layout whose metadata validated */
    uint16_t nsections;
    mc_dn_section sect[96];
    uint32_t size_of_headers;

    uint8_t *md;              /* copy of the metadata block (root .. root+size) */
    uint32_t md_len;
    uint64_t md_va;           /* VA of the BSJB root in the dump */
    char runtime[32];         /* metadata version string, e.g. "v4.0.30319" */

    mc_dn_heap strings, us, blob, guid, tables;
    bool uncompressed;        /* "#-" stream */
    uint8_t heap_sizes;
    uint32_t rows[64];
    uint32_t row_size[MC_DN_T_COUNT];
    uint8_t col_off[MC_DN_T_COUNT][11];  /* byte offset of each column in a row; [n] = row size */
    uint32_t table_off[MC_DN_T_COUNT];   /* offset in md of each table's first row */
} mc_dotnet;

/* Open the .NET metadata of the image at img->base. img->layout is tried first, then the other
 * layout. On success *out owns a metadata copy; free it with mc_dn_close. */
mc_dn_err mc_dn_open(const md_dump *d, const md_image *img, mc_dotnet **out);
/* Same for an image at a VA with a layout hint (for images the finder did not list). */
mc_dn_err mc_dn_open_at(const md_dump *d, uint64_t base, md_layout hint, mc_dotnet **out);
void mc_dn_close(mc_dotnet *dn);

/* RVA to VA in the layout that validated; false when outside the headers and every section. */
bool mc_dn_rva_to_va(const mc_dotnet *dn, uint32_t rva, uint64_t *va);

uint32_t mc_dn_rows(const mc_dotnet *dn, unsigned table);
/* Raw cell of a row (1-based) and column (0-based) of any known table: the value of a fixed
 * field, a heap offset, a table row, or a coded index (undecoded). */
mc_dn_err mc_dn_cell(const mc_dotnet *dn, unsigned table, uint32_t row, unsigned col,
                     uint32_t *val);

/* #Strings entry: pointer into the copy, NUL-terminated inside the heap; NULL when out of range
 * or unterminated. */
const char *mc_dn_string(const mc_dotnet *dn, uint32_t idx);
/* #Blob entry at idx: its bytes (pointer into the copy). */
mc_dn_err mc_dn_blob(const mc_dotnet *dn, uint32_t idx, const uint8_t **p, uint32_t *len);
/* #US entry for an ldstr token (0x70xxxxxx) or plain offset: UTF-16LE bytes without the flag
 * byte, and the VA of the entry (its length prefix) in the dump. */
mc_dn_err mc_dn_us(const mc_dotnet *dn, uint32_t token, const uint8_t **utf16, uint32_t *nbytes,
                   uint64_t *va);
/* Same, converted to UTF-8 (NUL-terminated, at most dstsz-1 bytes). */
mc_dn_err mc_dn_us_utf8(const mc_dotnet *dn, uint32_t token, char *dst, size_t dstsz,
                        uint64_t *va);

typedef struct mc_dn_typedef {
    uint32_t flags;
    const char *name, *ns;    /* "" when the index is bad */
    uint32_t field_first, field_end;    /* Field rows [first, end) */
    uint32_t method_first, method_end;  /* MethodDef rows [first, end) */
} mc_dn_typedef;
mc_dn_err mc_dn_get_typedef(const mc_dotnet *dn, uint32_t row, mc_dn_typedef *out);

typedef struct mc_dn_field {
    uint16_t flags;
    const char *name;
    uint32_t sig;             /* #Blob index of the signature */
} mc_dn_field;
/* row is a Field row (after FieldPtr indirection, when the caller passes a list position use
 * mc_dn_field_at). */
mc_dn_err mc_dn_get_field(const mc_dotnet *dn, uint32_t row, mc_dn_field *out);

typedef struct mc_dn_method {
    uint32_t rva;
    uint16_t impl_flags, flags;
    const char *name;
    uint32_t sig;
} mc_dn_method;
mc_dn_err mc_dn_get_method(const mc_dotnet *dn, uint32_t row, mc_dn_method *out);
/* Row in the Field/MethodDef table for a list position of a TypeDef (resolves the #- Ptr tables). */
uint32_t mc_dn_field_at(const mc_dotnet *dn, uint32_t pos);
uint32_t mc_dn_method_at(const mc_dotnet *dn, uint32_t pos);
/* Name of a MemberRef row ("" when bad). */
const char *mc_dn_memberref_name(const mc_dotnet *dn, uint32_t row);
/* Name of the type a MemberRef row belongs to, namespace in *ns (NULL: not wanted): a TypeDef or
 * TypeRef, or the generic type of a GENERICINST TypeSpec ("List`1"); "" when bad or other. */
const char *mc_dn_memberref_class(const mc_dotnet *dn, uint32_t row, const char **ns);

/* Field type from its signature: the ELEMENT_TYPE byte (0x02 bool, 0x08 i4, 0x0E string,
 * 0x1D szarray, 0x11 valuetype, 0x12 class), and for valuetype/class the type's name. */
mc_dn_err mc_dn_field_type(const mc_dotnet *dn, uint32_t field_row, uint8_t *elem,
                           const char **type_name);
/* Initial data of a static field (FieldRVA): copies n bytes into dst, sets *va. */
mc_dn_err mc_dn_field_data(const mc_dotnet *dn, uint32_t field_row, uint8_t *dst, size_t n,
                           uint64_t *va);

typedef struct mc_dn_body {
    uint8_t *code;            /* owned copy of the IL */
    uint32_t len;
    uint64_t va;              /* VA of the first IL byte */
    bool fat;
} mc_dn_body;
mc_dn_err mc_dn_get_body(const mc_dotnet *dn, uint32_t method_row, mc_dn_body *out);
void mc_dn_body_free(mc_dn_body *b);

/* One decoded IL instruction. */
typedef struct mc_dn_insn {
    uint32_t off;             /* offset in the body */
    uint16_t op;              /* one-byte opcode, or 0xFE00|second byte */
    uint8_t len;              /* instruction length in bytes (switch: header only) */
    int64_t arg;              /* immediate or token (0 when none) */
} mc_dn_insn;
/* Decode the instruction at *pos and advance; false at the end or on a truncated operand.
 * Unknown opcodes decode as 1-byte instructions so junk cannot stop a scan. */
bool mc_dn_next_insn(const uint8_t *il, uint32_t len, uint32_t *pos, mc_dn_insn *out);

typedef enum mc_dn_item_kind {
    MC_DN_ITEM_STR = 1,       /* ldstr [call] stsfld */
    MC_DN_ITEM_INT,           /* ldc.i4* stsfld (also bools and enum values) */
    MC_DN_ITEM_NULL,          /* ldnull stsfld */
    MC_DN_ITEM_BYTES,         /* ldc.i4 n; newarr; dup; ldtoken F; call InitializeArray; stsfld */
    MC_DN_ITEM_COPY,          /* ldsfld T; stsfld (mcs compiles "" as ldsfld String::Empty) */
} mc_dn_item_kind;

typedef struct mc_dn_item {
    mc_dn_item_kind kind;
    uint32_t field;           /* Field row stored to (stsfld token & 0xFFFFFF) */
    uint32_t il_off;          /* offset of the first instruction of the item */
    uint32_t us_token;        /* STR: ldstr token */
    bool via_call;            /* STR: a call sat between ldstr and stsfld */
    uint8_t int_form;         /* INT: 0 ldc.i4.N short, 1 ldc.i4.s, 2 ldc.i4 */
    int32_t ival;             /* INT value; BYTES: array length */
    uint32_t data_field;      /* BYTES: Field row of the ldtoken operand (has a FieldRVA) */
    uint32_t src_token;       /* COPY: the ldsfld operand (0x04 Field or 0x0A MemberRef token) */
} mc_dn_item;

/* Scan IL for config items in IL order (families.md §1.2 shapes). Returns the count written,
 * at most max. */
size_t mc_dn_scan_items(const uint8_t *il, uint32_t len, mc_dn_item *out, size_t max);

/* First MethodDef row named `name` in the TypeDef `type_row`, 0 when none. */
uint32_t mc_dn_find_method(const mc_dotnet *dn, uint32_t type_row, const char *name);
/* TypeDef row owning a Field row, 0 when none. */
uint32_t mc_dn_field_owner(const mc_dotnet *dn, uint32_t field_row);

/* The text a config item stores: the #US literal of an ldstr, or "" for a copy of String.Empty
 * into a string field (how mcs compiles ""), which turns the item into MC_DN_ITEM_STR. Returns a
 * malloc'd UTF-8 string of at most max bytes with its #US VA in *va (0 for String.Empty), or
 * NULL when the item holds no text or its token is bad. */
char *mc_dn_item_text(const mc_dotnet *dn, mc_dn_item *it, size_t max, uint64_t *va);

/* Call fn once for every distinct image that a hit falls in and whose .NET metadata opens (hit
 * order, at most MC_DN_MAX_IMAGES images, stopping at the deadline); returns the sum of what fn
 * returned. The metadata is closed when fn returns. */
#define MC_DN_MAX_IMAGES 64
typedef size_t (*mc_dn_image_fn)(void *arg, const md_image *img, mc_dotnet *dn);
size_t mc_dn_each_image(const mc_decode_ctx *ctx, const md_dump *d, const mc_hits *hits,
                        mc_dn_image_fn fn, void *arg);

#endif
