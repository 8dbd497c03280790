/* Record and JSON writers with hostile strings: mc_json_bytes (checked by decoding its output
 * back to the input bytes), the config builder's adders, record building (which computes the
 * fingerprint), defanging, the terminal-safe text, and every output writer (json, ndjson, text;
 * the ndjson lines must parse back).
 *
 * The parse-back of the writers' output builds a throw-away jansson tree of ~1500 nodes per
 * input that nothing but json_loadb and json_decref (uninstrumented jansson) ever touches; its
 * nodes come from glibc directly (json_set_alloc_funcs, only while parse_back is set), which
 * took a fifth of the time on the ASan heap. Every value the library builds stays there. A replay
 * (-DFZ_REPLAY) leaves jansson's allocator alone. */
#include "fuzz_common.h"
#include "mc_internal.h"
#include "mc_output.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_PIECES 24

static bool parse_back;   /* json_loadb of a writer's output, and its json_decref, running */

#ifndef FZ_REPLAY
#include <sanitizer/allocator_interface.h>

void *__libc_malloc(size_t n);
void __libc_free(void *p);

static void *fz_json_malloc(size_t n)
{
    return parse_back ? __libc_malloc(n) : malloc(n);
}

/* A node goes back to the allocator it came from. */
static void fz_json_free(void *p)
{
    if (p && !__sanitizer_get_ownership(p))
        __libc_free(p);
    else
        free(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    json_set_alloc_funcs(fz_json_malloc, fz_json_free);
    return 0;
}
#endif

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Inverse of the escaping rule in mc_config.h. */
static void check_escape_roundtrip(const uint8_t *data, size_t size)
{
    json_t *j = mc_json_bytes(data, size);
    if (!j)
        abort();
    const char *s = json_string_value(j);
    size_t n = json_string_length(j), o = 0;
    uint8_t *back = malloc(n + 1);
    if (!back)
        abort();
    for (size_t i = 0; i < n;) {
        if (s[i] == 0)
            abort();   /* NUL must be escaped */
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
            back[o++] = '\\';
            i += 2;
        } else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && isxdigit((unsigned char)s[i + 2]) &&
                   isxdigit((unsigned char)s[i + 3])) {
            back[o++] = (uint8_t)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
            i += 4;
        } else {
            back[o++] = (uint8_t)s[i++];
        }
    }
    if (o != size || memcmp(back, data, size) != 0) {
        fprintf(stderr, "fuzz: mc_json_bytes does not round-trip\n");
        abort();
    }
    free(back);
    json_decref(j);
}

/* Splits data at '\n' into NUL-terminated copies. */
static size_t split(const uint8_t *data, size_t size, char **out)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < FZ_MAX_PIECES; i++) {
        if (i == size || data[i] == '\n') {
            out[n] = strndup((const char *)data + start, i - start);
            if (!out[n])
                abort();
            n++;
            start = i + 1;
        }
    }
    return n;
}

static void add_values(mc_config *c, char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mc_where w = mc_at(FZ_BASE + i, (mc_form)(i % 4));
        const char *s = v[i];
        long port = (long)(strlen(s) * 977) - 100;
        switch (i % 13) {
        case 0: mc_cfg_version(c, s, w); break;
        case 1: mc_cfg_str(c, (mc_strfield)(i % MC_F__COUNT), s, w); break;
        case 2: mc_cfg_conn(c, s, port, i & 1, "c2", w); break;
        case 3: mc_cfg_hostport(c, s, i & 1 ? 443 : -1, "c2", w); break;
        case 4: {
            const char *hn[] = {"X-A", s}, *hv[] = {s, "v"};
            mc_http_extra x = {.user_agent = s, .method = "POST", .header_names = hn,
                               .header_values = hv, .nheaders = 2};
            mc_cfg_url(c, s, i & 1 ? "http" : NULL, "c2", &x, w);
            break;
        }
        case 5: mc_cfg_path(c, s, "install", w); break;
        case 6: mc_cfg_registry(c, s, "persistence", w); break;
        case 7: mc_cfg_raw_str(c, "field", s); break;
        case 8: mc_cfg_other(c, "value", mc_json_str(s), w); break;
        case 9: {
            mc_crypto e = {.algorithm = "RC4", .key = (const uint8_t *)s, .key_len = strlen(s),
                           .password = s, .usage = "config"};
            mc_cfg_encryption(c, &e, w);
            break;
        }
        case 10: mc_cfg_category(c, s); break;
        case 11: mc_cfg_sleep_ms(c, port * 1000, w); break;
        default: mc_cfg_warn(c, "hostile %s", s); break;
        }
        char *d = mc_defang_url(s), *h = mc_defang_host(s), *t = mc_text_safe(s);
        fz_sink += (d ? strlen(d) : 0) + (h ? strlen(h) : 0) + (t ? strlen(t) : 0);
        free(d), free(h), free(t);
    }
}

static void write_all(json_t **recs, size_t n)
{
    static const char *const fmts[] = {"json", "ndjson", "text"};
    mc_input_result res = {.status = MC_INPUT_OK, .records = recs, .nrecords = n,
                           .input = json_pack("{s:s}", "path", "fuzz")};
    for (size_t f = 0; f < 3; f++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        mc_output_opts o = {.defang = (int)f - 1};
        mc_writer *w = fp ? mc_writer_new(fmts[f], fp, &o) : NULL;
        if (!w)
            abort();
        mc_writer_input(w, "fuzz\x1b[2J\xff", &res);
        mc_writer_finish(w);
        mc_writer_free(w);
        fclose(fp);
        /* json: the whole output is one document; ndjson: every line is one. */
        for (size_t at = 0; f < 2 && at < len;) {
            const char *nl = f == 1 ? memchr(buf + at, '\n', len - at) : NULL;
            size_t end = nl ? (size_t)(nl - buf) : len;
            json_error_t e;
            parse_back = true;
            json_t *j = json_loadb(buf + at, end - at, 0, &e);
            json_decref(j);
            parse_back = false;
            if (!j) {
                fprintf(stderr, "fuzz: %s writer output does not parse at %zu: %s\n", fmts[f],
                        at, e.text);
                abort();
            }
            at = end + 1;
        }
        free(buf);
    }
    json_decref(res.input);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_escape_roundtrip(data, size);

    static const md_open_opts ro = {.force_format = MD_FMT_RAW, .raw_base = FZ_BASE,
                                    .has_raw_base = true};
    static const uint8_t page[64];
    md_dump *d = NULL;
    char err[128];
    if (md_open_mem(page, sizeof page, &ro, &d, err, sizeof err) != MD_OK)
        abort();
    char *v[FZ_MAX_PIECES];
    size_t n = split(data, size, v);
    mc_results *r = mc_results_new();
    /* Families are decoder constants, never data: take a registered one. */
    const mc_decoder *dec = mc_decoders[size % mc_decoder_count()];
    mc_config *c = r ? mc_cfg_new(r, dec->family, FZ_BASE) : NULL;
    if (!c)
        abort();
    mc_cfg_status(c, (mc_status)(size % 4), (int)(size % 120) - 10);
    add_values(c, v, n);

    json_t *tool = mc_tool_block(NULL), *input = json_pack("{s:s}", "path", "fuzz");
    json_t *rules = json_pack("[{s:s}]", "rule", n > 1 ? v[1] : "r");
    json_t *rec[2] = {NULL, NULL};
    rec[0] = mc_record_from_config(c, d, dec, tool, input, rules, NULL);
    if (!rec[0])
        abort();
    rec[1] = mc_record_defanged(rec[0]);
    /* mc_record_from_config computed the fingerprint (mc_fingerprint) of this config. */
    const char *fp = json_string_value(json_object_get(rec[0], "fingerprint"));
    if (!fp || strlen(fp) != 71 || strncmp(fp, "sha256:", 7) != 0) {
        fprintf(stderr, "fuzz: record without a fingerprint\n");
        abort();
    }
    write_all(rec, rec[1] ? 2 : 1);

    json_decref(rec[0]);
    json_decref(rec[1]);
    json_decref(tool), json_decref(input), json_decref(rules);
    mc_results_free(r);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    md_close(d);
    return 0;
}
