/* `memcfg info`: what a snapshot holds as memdump sees it (format, process, regions, modules, PE
 * images, warnings), for a person or as JSON with integer addresses. */
#include "cli.h"
#include "mc_output.h"
#include "memcfg.h"
#include "memdump.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson integers are signed 64-bit; an address above INT64_MAX (a kernel page in an ELF core)
 * travels as a marked string and is turned back into a bare number when the text is written. */
#define BIG_MARK "\x01u64:"
#define BIG_MARK_JSON "\"\\u0001u64:"

static json_t *json_u64(uint64_t v)
{
    if (v <= INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[40];
    snprintf(buf, sizeof buf, BIG_MARK "%" PRIu64, v);
    return json_string(buf);
}

/* Rewrites "\u0001u64:123" as 123 in place: the replacement is always shorter. */
static void unmark_big(char *s)
{
    size_t ml = strlen(BIG_MARK_JSON);
    char *p;
    while ((p = strstr(s, BIG_MARK_JSON)) != NULL) {
        char *digits = p + ml;
        size_t nd = strspn(digits, "0123456789");
        memmove(p, digits, nd);
        memmove(p + nd, digits + nd + 1, strlen(digits + nd + 1) + 1);
    }
}

static json_t *modules_json(const md_dump *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->nmodules; i++) {
        const md_module *m = &d->modules[i];
        json_array_append_new(arr, json_pack("{s:o, s:o, s:o}", "base", json_u64(m->base),
                                             "size", json_u64(m->size), "path",
                                             mc_json_str(m->path ? m->path : "")));
    }
    return arr;
}

static const char *image_kind(const md_image *img)
{
    return (img->flags & MD_IMG_DOTNET) ? "dotnet" : "native";
}

static const char *image_layout(const md_image *img)
{
    return img->layout == MD_LAYOUT_FLAT ? "flat" : "mapped";
}

static json_t *images_json(const md_dump *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->nimages; i++) {
        const md_image *img = &d->images[i];
        json_t *o = json_pack("{s:o, s:o, s:s, s:s, s:b, s:b}", "base", json_u64(img->base),
                              "size", json_u64(img->size), "layout", image_layout(img), "kind",
                              image_kind(img), "pe64", (img->flags & MD_IMG_PE64) != 0, "dll",
                              (img->flags & MD_IMG_DLL) != 0);
        if (o && img->module >= 0 && (size_t)img->module < d->nmodules)
            json_object_set_new(o, "module", mc_json_str(d->modules[img->module].path));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *dump_json(const md_dump *d)
{
    json_t *warnings = json_array();
    for (size_t i = 0; warnings && i < d->nwarnings; i++)
        json_array_append_new(warnings, mc_json_str(d->warnings[i].msg ? d->warnings[i].msg : ""));
    return json_pack("{s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "format",
                     md_format_name(d->format), "arch", md_arch_name(d->arch), "pid",
                     d->pid ? json_integer(d->pid) : json_null(), "process",
                     d->process ? mc_json_str(d->process) : json_null(), "regions",
                     (json_int_t)d->nregions, "bytes", json_u64(d->bytes), "modules",
                     modules_json(d), "images", images_json(d), "warnings", warnings);
}

static void put_safe(const char *s)
{
    char *safe = mc_text_safe(s ? s : "");
    fputs(safe ? safe : "?", stdout);
    free(safe);
}

static void dump_text(const char *path, const md_dump *d)
{
    put_safe(path);
    printf("\n  format    %s%s\n", md_format_name(d->format),
           d->compression == MD_COMP_GZIP ? " (gzip)" : d->compression == MD_COMP_ZLIB ? " (zlib)" : "");
    printf("  arch      %s\n", md_arch_name(d->arch));
    if (d->pid)
        printf("  pid       %" PRIu32 "\n", d->pid);
    if (d->process) {
        fputs("  process   ", stdout);
        put_safe(d->process);
        putchar('\n');
    }
    printf("  regions   %zu, %" PRIu64 " bytes\n", d->nregions, d->bytes);
    printf("  modules   %zu\n", d->nmodules);
    for (size_t i = 0; i < d->nmodules; i++) {
        printf("    0x%016" PRIx64 " %10" PRIu64 "  ", d->modules[i].base, d->modules[i].size);
        put_safe(d->modules[i].path);
        putchar('\n');
    }
    printf("  images    %zu\n", d->nimages);
    for (size_t i = 0; i < d->nimages; i++) {
        const md_image *img = &d->images[i];
        printf("    0x%016" PRIx64 " %10" PRIu64 "  %-6s %s\n", img->base, img->size,
               image_layout(img), (img->flags & MD_IMG_DOTNET) ? ".NET" : "native");
    }
    for (size_t i = 0; i < d->nwarnings; i++) {
        fputs("  warning   ", stdout);
        put_safe(d->warnings[i].msg);
        putchar('\n');
    }
    putchar('\n');
}

typedef struct info_opts {
    bool json;
    md_open_opts open;
} info_opts;

static const char info_usage[] =
    "Usage: memcfg info [OPTIONS] DUMP...\n"
    "Describe snapshots: format, arch, pid, process, regions and bytes, modules, PE images\n"
    "found (layout mapped or flat, .NET or native), warnings.\n"
    "  -f, --format text|json   json: one object per dump (an array for several), keys\n"
    "                           format, arch, pid, process, regions, bytes, modules, images,\n"
    "                           warnings; addresses are integers\n"
    "      --input-format FMT   auto (default), raw, minidump, cuckoo, elfcore, pe\n"
    "      --base ADDR          base address of raw and PE input\n"
    "  -h, --help               this help\n";

/* Returns -1 to go on, or an exit status. */
static int parse_info(int argc, char **argv, info_opts *o)
{
    static const struct option lo[] = {
        {"format", required_argument, NULL, 'f'}, {"input-format", required_argument, NULL, 'I'},
        {"base", required_argument, NULL, 'B'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":f:h", lo, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "json") && strcmp(optarg, "text"))
                return mc_cli_usage_error("info", "format must be text or json, not '%s'", optarg);
            o->json = !strcmp(optarg, "json");
            break;
        case 'I':
            if (!mc_cli_parse_input_format(optarg, &o->open.force_format))
                return mc_cli_usage_error("info", "unknown input format '%s'", optarg);
            break;
        case 'B':
            if (!mc_cli_parse_u64(optarg, &o->open.raw_base))
                return mc_cli_usage_error("info", "bad address '%s'", optarg);
            o->open.has_raw_base = true;
            break;
        case 'h':
            fputs(info_usage, stdout);
            return MC_EXIT_OK;
        case ':':
            return mc_cli_usage_error("info", "option '%s' needs a value", mc_cli_bad_option(argv));
        default:
            return mc_cli_usage_error("info", "bad option '%s'", mc_cli_bad_option(argv));
        }
    }
    if (optind >= argc)
        return mc_cli_usage_error("info", "no dump given");
    return -1;
}

/* Opens one dump and renders it; returns false when it could not be opened. */
static bool info_one(const char *path, const info_opts *o, json_t *out)
{
    md_dump *d = NULL;
    char err[512] = "";
    md_err rc = md_open(path, &o->open, &d, err, sizeof err);
    if (rc != MD_OK) {
        const char *msg = err[0] ? err : md_strerror(rc);
        char *safe = mc_text_safe(path);
        mc_cli_error("%s: %s", safe ? safe : path, msg);
        free(safe);
        if (o->json)
            json_array_append_new(out, json_pack("{s:o, s:o}", "path", mc_json_str(path), "error",
                                                 mc_json_str(msg)));
        return false;
    }
    if (o->json)
        json_array_append_new(out, dump_json(d));
    else
        dump_text(path, d);
    md_close(d);
    return true;
}

static int write_info_json(json_t *arr)
{
    json_t *doc = json_array_size(arr) == 1 ? json_array_get(arr, 0) : arr;
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (!text) {
        mc_cli_error("out of memory");
        return MC_EXIT_FATAL;
    }
    unmark_big(text);
    int ok = puts(text) != EOF && fflush(stdout) == 0;
    free(text);
    if (!ok)
        mc_cli_error("cannot write the output: %s", strerror(errno));
    return ok ? MC_EXIT_OK : MC_EXIT_FATAL;
}

int mc_cli_info(int argc, char **argv)
{
    info_opts o = {0};
    int rc = parse_info(argc, argv, &o);
    if (rc >= 0)
        return rc;
    json_t *arr = json_array();
    if (!arr)
        return MC_EXIT_FATAL;
    bool all_ok = true;
    for (int i = optind; i < argc; i++)
        all_ok &= info_one(argv[i], &o, arr);
    if (o.json) {
        rc = write_info_json(arr);
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        mc_cli_error("cannot write the output: %s", strerror(errno));
        rc = MC_EXIT_FATAL;
    } else {
        rc = MC_EXIT_OK;
    }
    json_decref(arr);
    if (rc == MC_EXIT_OK && !all_ok)
        rc = MC_EXIT_PARTIAL;
    return rc;
}
