#include "testutil.h"

#include <check.h>
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

md_open_opts tu_raw_opts(uint64_t base)
{
    return (md_open_opts){.force_format = MD_FMT_RAW, .raw_base = base, .has_raw_base = true};
}

md_dump *tu_open_raw(const uint8_t *p, size_t len, uint64_t base)
{
    md_open_opts o = tu_raw_opts(base);
    md_dump *d = NULL;
    char err[256];
    ck_assert_msg(md_open_mem(p, len, &o, &d, err, sizeof err) == MD_OK, "%s", err);
    return d;
}

void tu_write_container(const fx_process *p, tu_container c, fx_buf *out)
{
    fx_buf_init(out);
    switch (c) {
    case TU_MINIDUMP: fx_minidump(p, FX_MD_FULL, out); break;
    case TU_CUCKOO: fx_cuckoo(p, out); break;
    case TU_ELFCORE: fx_elfcore(p, 64, FX_ELF_PAGES, out); break;
    default: {
        fx_buf md;
        fx_buf_init(&md);
        fx_minidump(p, FX_MD_FULL, &md);
        fx_deflate(&md, true, out);
        fx_buf_free(&md);
    }
    }
}

void tu_engine_run(const char *family, const fx_buf *in, const md_open_opts *open, tu_run *r)
{
    const char *const fam[] = {family};
    tu_engine_run_families(fam, 1, in, open, r);
}

mc_engine *tu_engine_new(const char *const *families, size_t nfamilies, const md_open_opts *open)
{
    mc_engine_opts o;
    memset(&o, 0, sizeof o);
    o.families = families;
    o.nfamilies = nfamilies;
    if (open) o.open = *open;
    mc_engine *e = NULL;
    char err[512];
    ck_assert_msg(mc_engine_new(&o, &e, err, sizeof err) == 0, "engine: %s", err);
    return e;
}

void tu_engine_run_families(const char *const *families, size_t nfamilies, const fx_buf *in,
                            const md_open_opts *open, tu_run *r)
{
    mc_engine *e = tu_engine_new(families, nfamilies, open);
    memset(r, 0, sizeof *r);
    mc_input inp = {"fixture", in->p, in->len, 0, NULL};
    mc_engine_scan(e, &inp, &r->res);
    ck_assert_msg(r->res.status == MC_INPUT_OK, "scan: %s", r->res.error);
    mc_engine_free(e);
    for (size_t i = 0; i < r->res.nrecords; i++) {
        json_t *rec = r->res.records[i];
        const char *rt = json_string_value(json_object_get(rec, "record_type"));
        if (rt && strcmp(rt, "config") == 0 && r->nconfigs < 8) {
            r->rec[r->nconfigs] = rec;
            r->cfg[r->nconfigs++] = json_object_get(rec, "config");
        }
    }
}

bool tu_json_has_str(json_t *arr, const char *want)
{
    json_t *v;
    size_t i;
    json_array_foreach(arr, i, v)
        if (json_string_value(v) && strcmp(json_string_value(v), want) == 0) return true;
    return false;
}

bool tu_has_conn(json_t *cfg, const char *host, long port)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(cfg, "tcp"), i, e) {
        const char *h = json_string_value(json_object_get(e, "server_ip"));
        if (!h) h = json_string_value(json_object_get(e, "server_domain"));
        if (h && strcmp(h, host) == 0 && json_integer_value(json_object_get(e, "server_port")) == port &&
            strcmp(json_string_value(json_object_get(e, "usage")), "c2") == 0)
            return true;
    }
    return false;
}

const char *tu_first_str(json_t *cfg, const char *key)
{
    return json_string_value(json_array_get(json_object_get(cfg, key), 0));
}
