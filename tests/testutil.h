/* Shared helpers for the unit tests. */
#ifndef MEMCFG_TESTUTIL_H
#define MEMCFG_TESTUTIL_H

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

#endif
