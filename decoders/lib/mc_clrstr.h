/* CLR System.String objects on a .NET heap: how decoders find the decrypted copies of the values
 * they decoded from an image. An object is the MethodTable pointer (pointer-sized, non-zero), the
 * int32 count of UTF-16 chars, the chars and a NUL char. Shared by every .NET family decoder. */
#ifndef MEMCFG_MC_CLRSTR_H
#define MEMCFG_MC_CLRSTR_H

#include "decoder.h"

#include <stdbool.h>
#include <stdint.h>

#define MC_CLR_MAX_CHARS 1024u   /* longest text searched for */

/* Pointer size of the process's CLR objects (4 for x86/ARM dumps, else 8). */
unsigned mc_clr_ptr_size(const md_dump *d);
/* True when nchars UTF-16 chars at chars_va are the body of a CLR string object; *obj_va gets
 * the object's address. */
bool mc_clr_string_at(const md_dump *d, uint64_t chars_va, uint32_t nchars, uint64_t *obj_va);
/* The first CLR string object (in VA order) whose text is `text` (ASCII), found by one bounded
 * pass over the dump's runs that stops at the first match or at the deadline. Texts shorter than
 * min_chars (they would match by chance) or longer than MC_CLR_MAX_CHARS are not searched. */
bool mc_clr_find(const mc_decode_ctx *ctx, const md_dump *d, const char *text, size_t min_chars,
                 uint64_t *obj_va);

#endif
