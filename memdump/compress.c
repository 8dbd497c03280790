/* gzip/zlib inputs: detected by header and inflated into an anonymous mapping under a hard cap,
 * so a decompression bomb ends in MD_E_LIMIT instead of exhausting memory. */
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

md_compression md_sniff_compression(const uint8_t *buf, uint64_t len)
{
    if (!buf || len < 3) return MD_COMP_NONE;
    if (buf[0] == 0x1f && buf[1] == 0x8b && buf[2] == 0x08) return MD_COMP_GZIP;
    /* zlib: CM = 8 (deflate), window <= 32K, and the FCHECK bits make the header a multiple of 31;
     * a preset dictionary (FDICT) cannot be honoured without the dictionary. */
    if ((buf[0] & 0x0f) == 8 && (buf[0] >> 4) <= 7 && !(buf[1] & 0x20) &&
        ((unsigned)buf[0] * 256u + buf[1]) % 31u == 0)
        return MD_COMP_ZLIB;
    return MD_COMP_NONE;
}

void md_inflate_free(uint8_t *p, uint64_t len)
{
    (void)len;
    if (p) {
        size_t *hdr = (size_t *)(void *)(p - 64);
        munmap(hdr, hdr[0]);
    }
}

/* The mapping starts with a 64-byte header holding its length, so md_inflate_free does not
 * depend on the caller remembering the capacity. */
enum { HDR = 64 };

static uint8_t *map_new(size_t cap)
{
    void *m = mmap(NULL, cap + HDR, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    ((size_t *)m)[0] = cap + HDR;
    return (uint8_t *)m + HDR;
}

static uint8_t *map_grow(uint8_t *p, size_t newcap)
{
    size_t *hdr = (size_t *)(void *)(p - HDR);
    void *m = mremap(hdr, hdr[0], newcap + HDR, MREMAP_MAYMOVE);
    if (m == MAP_FAILED) return NULL;
    ((size_t *)m)[0] = newcap + HDR;
    return (uint8_t *)m + HDR;
}

static uint64_t initial_size(const uint8_t *buf, uint64_t len, md_compression kind, uint64_t cap)
{
    /* ISIZE (gzip trailer) is the size mod 2^32 of the last member only: a hint, never trusted. */
    uint64_t hint = len * 4;
    if (kind == MD_COMP_GZIP && len >= 18) {
        uint64_t isize = md_le32(buf + len - 4);
        if (isize > hint) hint = isize;
    }
    if (hint < 65536) hint = 65536;
    if (hint > (256ull << 20)) hint = 256ull << 20;
    return hint > cap ? (cap ? cap : 1) : hint;
}

typedef struct inflater {
    z_stream z;
    uint8_t *out;
    uint64_t cap, used, limit;
} inflater;

/* Make room for more output; MD_E_LIMIT when the cap is already filled. */
static md_err make_room(inflater *f)
{
    if (f->used < f->cap) return MD_OK;
    if (f->cap >= f->limit) return MD_E_LIMIT;
    uint64_t ncap = f->cap * 2 > f->limit ? f->limit : f->cap * 2;
    uint8_t *p = map_grow(f->out, (size_t)ncap);
    if (!p) return MD_E_NOMEM;
    f->out = p;
    f->cap = ncap;
    return MD_OK;
}

/* The input may be bigger than uInt; feed it in slices. */
static void feed(inflater *f, const uint8_t *buf, uint64_t len, uint64_t *fed)
{
    if (f->z.avail_in == 0 && *fed < len) {
        uint64_t n = len - *fed;
        if (n > (1u << 30)) n = 1u << 30;
        f->z.next_in = (Bytef *)(uintptr_t)(buf + *fed);
        f->z.avail_in = (uInt)n;
        *fed += n;
    }
}

static md_err run(inflater *f, const uint8_t *buf, uint64_t len, md_compression kind,
                  char *err, size_t errlen)
{
    uint64_t fed = 0;
    for (;;) {
        md_err e = make_room(f);
        if (e == MD_E_LIMIT) {
            md_setf(err, errlen, "decompressed size exceeds the limit of %llu bytes",
                    (unsigned long long)f->limit);
            return e;
        }
        if (e) return e;
        feed(f, buf, len, &fed);
        uint64_t room = f->cap - f->used;
        f->z.next_out = f->out + f->used;
        f->z.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
        uInt before = f->z.avail_out;
        int zr = inflate(&f->z, Z_NO_FLUSH);
        f->used += before - f->z.avail_out;
        if (zr == Z_STREAM_END) {
            uint64_t consumed = fed - f->z.avail_in;
            /* Concatenated gzip members are one file (gzip -c a >> f); anything else after the
             * stream is trailing junk that is ignored. */
            if (kind != MD_COMP_GZIP || len - consumed < 3 || buf[consumed] != 0x1f ||
                buf[consumed + 1] != 0x8b)
                return MD_OK;
            if (inflateReset(&f->z) != Z_OK) return MD_E_CORRUPT;
            continue;
        }
        if (zr == Z_BUF_ERROR && f->z.avail_in == 0 && fed == len) {
            md_setf(err, errlen, "compressed stream is truncated");
            return MD_E_TRUNCATED;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            md_setf(err, errlen, "compressed stream is corrupt: %s", f->z.msg ? f->z.msg : "inflate error");
            return zr == Z_MEM_ERROR ? MD_E_NOMEM : MD_E_CORRUPT;
        }
    }
}

md_err md_inflate(const uint8_t *buf, uint64_t len, md_compression kind, uint64_t cap,
                  uint8_t **out, uint64_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (kind == MD_COMP_NONE || !buf) return MD_E_ARG;
    if (cap == 0) cap = MD_DEFAULT_MAX_DECOMPRESSED;
    inflater f = { .limit = cap };
    f.cap = initial_size(buf, len, kind, cap);
    f.out = map_new((size_t)f.cap);
    if (!f.out) {
        md_setf(err, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    /* +32 lets zlib take either wrapper; the sniffed kind only decides member handling. */
    if (inflateInit2(&f.z, MAX_WBITS + 32) != Z_OK) {
        md_inflate_free(f.out, f.cap);
        md_setf(err, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    md_err e = run(&f, buf, len, kind, err, errlen);
    inflateEnd(&f.z);
    if (e) {
        if (e == MD_E_NOMEM) md_setf(err, errlen, "out of memory");
        md_inflate_free(f.out, f.cap);
        return e;
    }
    mprotect(f.out - HDR, (size_t)f.cap + HDR, PROT_READ);
    *out = f.out;
    *outlen = f.used;
    return MD_OK;
}
