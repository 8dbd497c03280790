#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MEMCFG_SOURCE_ROOT
#define MEMCFG_SOURCE_ROOT "."
#endif

static const char *srcdir(void)
{
    const char *s = getenv("MEMCFG_SRCDIR");
    return s && *s ? s : MEMCFG_SOURCE_ROOT;
}

const char *tu_src(const char *rel)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s/%s", srcdir(), rel);
    return buf;
}

const char *tu_shared(const char *rel)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s/../shared/%s", srcdir(), rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

static char tmpdir[PATH_MAX];

static void rm_tmpdir(void)
{
    if (tmpdir[0]) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) { /* best effort */ }
    }
}

const char *tu_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/memcfg-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); abort(); }
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0) { fclose(f); return NULL; }
    rewind(f);
    uint8_t *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    if (p) { p[n] = 0; *len = (size_t)n; }
    return p;
}
