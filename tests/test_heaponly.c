/* XWorm and RedLine with the image gone from the dump: the decrypted strings the client left on
 * its heap (CLR string objects, in the order the client allocates them) give a low-confidence
 * partial config, in every container; network indicators only when the heap shape supports them;
 * look-alikes (prose naming the families, host:port strings without the markers, one marker
 * alone, another family's heap) give nothing. */
#include "lib/mc_crypto.h"
#include "xwred_dumps.h"

#include <inttypes.h>

/* VA of the CLR string object holding exactly `text` on the heap of x (the length field, the
 * chars and the NUL char match), or 0. */
static uint64_t heap_obj_va(const td_dump *x, const char *text)
{
    size_t n = strlen(text);
    uint8_t pat[4 + 2 * 256 + 2] = {0};
    ck_assert_uint_le(n, 256);
    pat[0] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) pat[4 + 2 * i] = (uint8_t)text[i];
    const uint8_t *m = memmem(x->raw.p + x->heap_off, x->raw.len - x->heap_off, pat, 4 + 2 * n + 2);
    return m ? XT_BASE + (uint64_t)(m - x->raw.p) - 8 : 0;
}

/* The provenance entry `key` names this VA in this form. */
static bool has_prov(json_t *rec, const char *key, uint64_t va, const char *form)
{
    char want[32];
    json_t *e;
    size_t i;
    snprintf(want, sizeof want, "0x%016" PRIx64, va);
    json_array_foreach(json_object_get(json_object_get(rec, "provenance"), key), i, e)
        if (strcmp(json_string_value(json_object_get(e, "va")) ?: "", want) == 0 &&
            strcmp(json_string_value(json_object_get(e, "form")) ?: "", form) == 0)
            return true;
    return false;
}

static const char *status_of(json_t *rec) { return json_string_value(json_object_get(rec, "status")); }
static int confidence_of(json_t *rec) { return (int)json_integer_value(json_object_get(rec, "confidence")); }

static char *b64(const char *text)
{
    char *out = malloc(4 * ((strlen(text) + 2) / 3) + 1);
    ck_assert_ptr_nonnull(out);
    mc_b64_encode((const uint8_t *)text, strlen(text), out);
    return out;
}

/* A heap-only dump of these strings in every container; check(rec, x) on the one record of
 * `family` each container gives (want = 1), or no record at all (want = 0). */
typedef void (*check_fn)(json_t *rec, const td_dump *x, const char *where);

static void each_container(const char *family, const char *const *heap, size_t nheap, size_t want, check_fn check)
{
    td_spec sp = {NULL, false, heap, nheap};
    td_dump x;
    xt_build(&sp, &x);
    for (int kind = 0; kind < TD__KINDS; kind++) {
        json_t *recs[4];
        size_t n = xt_scan(&x, kind, family, recs, 4);
        ck_assert_msg(n == want, "%s %s (first heap string \"%s\"): %zu records, want %zu", family,
                      td_kind_names[kind], nheap ? heap[0] : "", n, want);
        if (n == 1 && check) check(recs[0], &x, td_kind_names[kind]);
        for (size_t i = 0; i < n && i < 4; i++) json_decref(recs[i]);
    }
    td_free(&x);
}

/* ---- XWorm ---- */

/* Decrypted at startup in this order: Hosts, Port, KEY, SPL, Groub, USBNM (xworm5's values). */
static const char *const xw_heap[] = {"c2.example.net", "7000", "<123456789>", "<Xwormmm>", "XWorm V5.6", "USB.exe"};

static void check_xw_common(json_t *rec, const td_dump *x, const char *where)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_msg(strcmp(status_of(rec), "partial") == 0, "%s: status %s", where, status_of(rec));
    ck_assert_str_eq(tu_first_str(cfg, "category"), "rat");
    ck_assert_str_eq(xt_other(cfg, "key"), "<123456789>");
    ck_assert_str_eq(xt_other(cfg, "splitter"), "<Xwormmm>");
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "5.6");
    ck_assert_str_eq(xt_other(cfg, "usb_name"), "USB.exe");
    ck_assert_ptr_null(json_object_get(cfg, "mutex"));
    ck_assert_ptr_null(json_object_get(cfg, "encryption"));
    ck_assert(has_prov(rec, "other.key", heap_obj_va(x, "<123456789>"), "heap_decrypted"));
    ck_assert(has_prov(rec, "other.splitter", heap_obj_va(x, "<Xwormmm>"), "heap_decrypted"));
    ck_assert(has_prov(rec, "version", heap_obj_va(x, "XWorm V5.6"), "heap_decrypted"));
    ck_assert(has_prov(rec, "other.usb_name", heap_obj_va(x, "USB.exe"), "heap_decrypted"));
    ck_assert_uint_ge(json_array_size(json_object_get(rec, "warnings")), 1);
}

static void check_xw_full(json_t *rec, const td_dump *x, const char *where)
{
    json_t *cfg = json_object_get(rec, "config");
    check_xw_common(rec, x, where);
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
    ck_assert(tu_has_conn(cfg, "c2.example.net", 7000));
    ck_assert(has_prov(rec, "tcp[0]", heap_obj_va(x, "c2.example.net"), "heap_decrypted"));
    ck_assert_int_eq(confidence_of(rec), 25);
    json_t *raw = json_object_get(rec, "raw");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "heap_hosts")), "c2.example.net");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "heap_port")), "7000");
}

START_TEST(xworm_heap_partial)
{
    each_container("xworm", xw_heap, 6, 1, check_xw_full);
}
END_TEST

static void check_xw_two_hosts(json_t *rec, const td_dump *x, const char *where)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_msg(strcmp(status_of(rec), "partial") == 0, "%s", where);
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 2);
    ck_assert(tu_has_conn(cfg, "203.0.113.45", 4444));
    ck_assert(tu_has_conn(cfg, "relay.xworm.test", 4444));
    ck_assert(has_prov(rec, "tcp[1]", heap_obj_va(x, "203.0.113.45,relay.xworm.test"), "heap_decrypted"));
    ck_assert_str_eq(xt_other(cfg, "key"), "<987654321>");
    ck_assert_str_eq(xt_other(cfg, "splitter"), "<Xwormmm>");
    ck_assert_ptr_null(json_object_get(cfg, "version"));   /* an own group, no version text */
    ck_assert_int_eq(confidence_of(rec), 25);
}

/* xwormtg's values: two hosts, a group of the operator's, no "XWorm V" text; KEY and splitter
 * are the two markers. */
START_TEST(xworm_heap_two_hosts)
{
    static const char *const heap[] = {"203.0.113.45,relay.xworm.test", "4444", "<987654321>", "<Xwormmm>",
                                       "ops-group", "USBupdate.exe"};
    each_container("xworm", heap, 6, 1, check_xw_two_hosts);
}
END_TEST

static void check_xw_no_net(json_t *rec, const td_dump *x, const char *where)
{
    check_xw_common(rec, x, where);
    ck_assert_ptr_null(json_object_get(json_object_get(rec, "config"), "tcp"));
    ck_assert_int_eq(confidence_of(rec), 15);
}

/* The markers, but no host and port strings before them (here: after them, not where the client
 * allocates its settings): a partial without network indicators. */
START_TEST(xworm_heap_no_network_shape)
{
    static const char *const heap[] = {"<123456789>", "<Xwormmm>", "XWorm V5.6", "USB.exe", "c2.example.net", "7000"};
    each_container("xworm", heap, 6, 1, check_xw_no_net);
    static const char *const bare[] = {"<123456789>", "<Xwormmm>", "XWorm V5.6", "USB.exe"};
    each_container("xworm", bare, 4, 1, check_xw_no_net);
}
END_TEST

START_TEST(xworm_heap_lookalikes)
{
    /* prose naming the family and its defaults, with a host and a port */
    static const char *const prose[] = {
        "XWorm V5.6 keeps <Xwormmm> as its splitter and <123456789> as KEY", "c2.example.net", "7000",
        "The XWorm client decrypts Hosts, Port, KEY and SPL with AES-ECB"};
    each_container("xworm", prose, 4, 0, NULL);
    /* host and port strings without the markers */
    static const char *const hostport[] = {"c2.example.net", "7000", "c2.example.net:7000", "USB.exe"};
    each_container("xworm", hostport, 4, 0, NULL);
    /* one marker kind only (twice), beside a host and port */
    static const char *const one[] = {"c2.example.net", "7000", "<Xwormmm>", "<Xwormmm>"};
    each_container("xworm", one, 4, 0, NULL);
    /* markers split across strings that are not whole values */
    static const char *const parts[] = {"c2.example.net", "7000", "key=<123456789>", "spl=<Xwormmm>", "XWorm v"};
    each_container("xworm", parts, 5, 0, NULL);
    /* RedLine's heap is not XWorm's */
    static const char *const redline[] = {"Yandex\\YaAddon", "Authorization", "198.51.100.61:40411",
                                          "net.tcp://198.51.100.61:40411/"};
    each_container("xworm", redline, 4, 0, NULL);
}
END_TEST

/* ---- RedLine ---- */

#define RL_IP "198.51.100.61:40411"
#define RL_ID "spring-campaign"

static void check_rl_traced(json_t *rec, const td_dump *x, const char *where)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_msg(strcmp(status_of(rec), "partial") == 0, "%s: status %s", where, status_of(rec));
    ck_assert_str_eq(tu_first_str(cfg, "category"), "infostealer");
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
    ck_assert(tu_has_conn(cfg, "198.51.100.61", 40411));
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "campaign_id")), 1);
    ck_assert_str_eq(tu_first_str(cfg, "campaign_id"), RL_ID);
    ck_assert_ptr_null(json_object_get(cfg, "encryption"));
    /* the plaintext StringDecrypt produced, and the channel URI built from it */
    ck_assert(has_prov(rec, "tcp[0]", heap_obj_va(x, RL_IP), "heap_decrypted"));
    ck_assert(has_prov(rec, "tcp[0]", heap_obj_va(x, "net.tcp://" RL_IP "/"), "heap_decrypted"));
    ck_assert(has_prov(rec, "campaign_id[0]", heap_obj_va(x, RL_ID), "heap_decrypted"));
    ck_assert_int_eq(confidence_of(rec), 25);
    json_t *raw = json_object_get(rec, "raw");
    ck_assert_str_eq(json_string_value(json_object_get(raw, "IP")), RL_IP);
    ck_assert_str_eq(json_string_value(json_object_get(raw, "ID")), RL_ID);
    ck_assert_str_eq(json_string_value(json_object_get(raw, "heap_endpoint_uri")), "net.tcp://" RL_IP "/");
}

/* Early snapshot: the interned markers, StringDecrypt's inner base64 text before each plaintext
 * (IP, then ID), the channel URI. */
START_TEST(redline_heap_traced)
{
    char *ip64 = b64(RL_IP), *id64 = b64(RL_ID);
    const char *heap[] = {"Yandex\\YaAddon", "Authorization", ip64, RL_IP, id64, RL_ID, "net.tcp://" RL_IP "/",
                          "localhost"};
    each_container("redline", heap, 8, 1, check_rl_traced);
    free(ip64);
    free(id64);
}
END_TEST

static void check_rl_late(json_t *rec, const td_dump *x, const char *where)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_msg(strcmp(status_of(rec), "partial") == 0, "%s", where);
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 1);
    ck_assert(tu_has_conn(cfg, "198.51.100.61", 40411));
    ck_assert(has_prov(rec, "tcp[0]", heap_obj_va(x, RL_IP), "heap_decrypted"));
    /* the ID is not told apart from other strings without StringDecrypt's trace */
    ck_assert_ptr_null(json_object_get(cfg, "campaign_id"));
    ck_assert_int_eq(confidence_of(rec), 20);
}

/* Late snapshot (a GC ran): the markers and the settings the static fields keep. */
START_TEST(redline_heap_late)
{
    static const char *const heap[] = {"Yandex\\YaAddon", "Authorization", RL_IP, RL_ID, "System.Text"};
    each_container("redline", heap, 5, 1, check_rl_late);
}
END_TEST

static void check_rl_pipe(json_t *rec, const td_dump *x, const char *where)
{
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_msg(strcmp(status_of(rec), "partial") == 0, "%s", where);
    ck_assert_uint_eq(json_array_size(json_object_get(cfg, "tcp")), 2);
    ck_assert(tu_has_conn(cfg, "203.0.113.80", 6677));
    ck_assert(tu_has_conn(cfg, "relay.redline.test", 6678));
    ck_assert(has_prov(rec, "tcp[0]", heap_obj_va(x, "203.0.113.80:6677|relay.redline.test:6678"), "heap_decrypted"));
    ck_assert(has_prov(rec, "tcp[0]", heap_obj_va(x, "net.tcp://203.0.113.80:6677/"), "heap_decrypted"));
    /* a plaintext ID build: no StringDecrypt trace after the IP */
    ck_assert_ptr_null(json_object_get(cfg, "campaign_id"));
    /* traced endpoints exclude the unrelated host:port string near the markers */
    ck_assert(!tu_has_conn(cfg, "192.0.2.9", 8080));
    ck_assert_int_eq(confidence_of(rec), 25);
}

/* Two endpoints separated by `|` (redlineanchor's IP), the URI of the one in use, an unrelated
 * host:port string. */
START_TEST(redline_heap_pipe)
{
    char *ip64 = b64("203.0.113.80:6677|relay.redline.test:6678");
    const char *heap[] = {"Authorization", "Yandex\\YaAddon", ip64, "203.0.113.80:6677|relay.redline.test:6678",
                          "plain-id-77", "192.0.2.9:8080", "net.tcp://203.0.113.80:6677/"};
    each_container("redline", heap, 7, 1, check_rl_pipe);
    free(ip64);
}
END_TEST

START_TEST(redline_heap_lookalikes)
{
    char *ip64 = b64(RL_IP), *id64 = b64(RL_ID);
    /* host:port strings, StringDecrypt's trace and the URI, but no Yandex\YaAddon */
    const char *no_marker[] = {"Authorization", ip64, RL_IP, id64, RL_ID, "net.tcp://" RL_IP "/"};
    each_container("redline", no_marker, 6, 0, NULL);
    /* prose naming the family and its markers, beside an endpoint */
    static const char *const prose[] = {
        "RedLine reads Yandex\\YaAddon and sends an Authorization header over net.tcp://", RL_IP,
        "Yandex\\YaAddon and Authorization are RedLine's anchors"};
    each_container("redline", prose, 3, 0, NULL);
    /* the markers and nothing a config is made of */
    static const char *const markers[] = {"Yandex\\YaAddon", "Authorization", "System.Text", "Default"};
    each_container("redline", markers, 4, 0, NULL);
    /* one marker kind alone */
    static const char *const one[] = {"Yandex\\YaAddon", RL_IP, RL_ID};
    each_container("redline", one, 3, 0, NULL);
    /* XWorm's heap is not RedLine's */
    each_container("redline", xw_heap, 6, 0, NULL);
    free(ip64);
    free(id64);
}
END_TEST

/* ---- every decoder at once ---- */

static size_t all_families(const char *const *heap, size_t nheap, const char **family)
{
    td_spec sp = {NULL, false, heap, nheap};
    td_dump x;
    tu_run r;
    xt_build(&sp, &x);
    td_scan(&x, TD_MINIDUMP, NULL, 0, &r);
    size_t n = r.nconfigs;
    static char fam[32];
    snprintf(fam, sizeof fam, "%s", n ? json_string_value(json_object_get(r.cfg[0], "family")) : "");
    *family = fam;
    mc_input_result_clear(&r.res);
    td_free(&x);
    return n;
}

/* With every family's rules and decoders, a heap gives its own family's record only, and the
 * look-alike heaps give no record of any family. */
START_TEST(all_families_heap_only)
{
    const char *fam;
    ck_assert_uint_eq(all_families(xw_heap, 6, &fam), 1);
    ck_assert_str_eq(fam, "xworm");
    char *ip64 = b64(RL_IP), *id64 = b64(RL_ID);
    const char *rl[] = {"Yandex\\YaAddon", "Authorization", ip64, RL_IP, id64, RL_ID, "net.tcp://" RL_IP "/"};
    ck_assert_uint_eq(all_families(rl, 7, &fam), 1);
    ck_assert_str_eq(fam, "redline");
    const char *none[] = {"XWorm V5.6 keeps <Xwormmm> as its splitter", "c2.example.net", "7000",
                          "RedLine reads Yandex\\YaAddon", RL_IP, "net.tcp://" RL_IP "/", ip64, RL_IP};
    ck_assert_uint_eq(all_families(none, 8, &fam), 0);
    free(ip64);
    free(id64);
}
END_TEST

/* ---- hostile heaps ---- */

/* A string object written by hand: any MethodTable value, any length field, any offset. */
static void put_obj(fx_buf *b, uint64_t mt, uint32_t len, const char *text, bool nul)
{
    fx_put_u64(b, mt);
    fx_put_u32(b, len);
    fx_put_utf16(b, text);
    if (nul) fx_put_u16(b, 0);
}

/* The buffer as one heap region of an amd64 process (8-byte pointers and alignment), in a
 * minidump and in an ELF core; the number of records must agree, *rec gets the minidump's. */
static size_t scan_hostile(const fx_buf *heap, const char *family, json_t **rec)
{
    fx_region reg = {.va = XT_BASE, .data = heap->p, .size = heap->len};
    fx_process proc = {.pid = 77, .arch = MD_ARCH_AMD64, .regions = &reg, .nregions = 1};
    size_t n[2];
    tu_container kinds[2] = {TU_MINIDUMP, TU_ELFCORE};
    *rec = NULL;
    for (int k = 0; k < 2; k++) {
        fx_buf b;
        tu_run r;
        tu_write_container(&proc, kinds[k], &b);
        tu_engine_run(family, &b, NULL, &r);
        n[k] = r.nconfigs;
        if (k == 0 && n[k]) *rec = json_incref(r.rec[0]);
        mc_input_result_clear(&r.res);
        fx_buf_free(&b);
    }
    ck_assert_uint_eq(n[0], n[1]);
    return n[0];
}

/* Valid markers among objects that only look like strings: a zero MethodTable, a misaligned
 * object, a length field of 0xFFFFFFFF or 0x7FFFFFFF, a length beyond the chars, an object cut
 * by the end of the dump. Only real objects count: the port-shaped fakes before the KEY would
 * otherwise pair with the host before them. */
START_TEST(hostile_heap_objects)
{
    fx_buf b;
    json_t *rec;
    fx_buf_init(&b);
    fx_put_zeros(&b, 0x1000);
    fx_put_clr_string(&b, 8, TD_MT, "c2.example.net");
    put_obj(&b, 0, 4, "7000", true);                               /* no MethodTable */
    fx_align(&b, 8);
    fx_put_u32(&b, 0);
    put_obj(&b, TD_MT, 4, "7001", true);                           /* misaligned by 4 */
    fx_align(&b, 8);
    put_obj(&b, TD_MT, 9, "7002", true);                           /* length beyond its chars */
    fx_put_clr_string(&b, 8, TD_MT, "<123456789>");
    fx_put_clr_string(&b, 8, TD_MT, "<Xwormmm>");
    fx_put_clr_string(&b, 8, TD_MT, "XWorm V5.6");
    put_obj(&b, TD_MT, 0xFFFFFFFFu, "relay.xworm.test", true);
    fx_align(&b, 8);
    put_obj(&b, TD_MT, 200, "c2.example.net", false);             /* runs off the end */
    ck_assert_uint_eq(scan_hostile(&b, "xworm", &rec), 1);
    json_t *cfg = json_object_get(rec, "config");
    ck_assert_str_eq(status_of(rec), "partial");
    ck_assert_int_eq(confidence_of(rec), 15);
    ck_assert_ptr_null(json_object_get(cfg, "tcp"));
    ck_assert_str_eq(xt_other(cfg, "key"), "<123456789>");
    ck_assert_str_eq(json_string_value(json_object_get(cfg, "version")), "5.6");
    json_decref(rec);
    fx_buf_free(&b);

    fx_buf_init(&b);
    fx_put_zeros(&b, 0x1000);
    fx_put_clr_string(&b, 8, TD_MT, "Yandex\\YaAddon");
    fx_put_clr_string(&b, 8, TD_MT, "Authorization");
    put_obj(&b, 0, 19, RL_IP, true);                              /* no MethodTable */
    fx_align(&b, 8);
    fx_put_u32(&b, 0);
    put_obj(&b, TD_MT, 19, RL_IP, true);                          /* misaligned by 4 */
    fx_align(&b, 8);
    put_obj(&b, TD_MT, 0x7FFFFFFFu, "net.tcp://" RL_IP "/", true);
    fx_align(&b, 8);
    put_obj(&b, TD_MT, 19, RL_IP, false);                         /* no NUL char, then the end */
    ck_assert_uint_eq(scan_hostile(&b, "redline", &rec), 0);
    fx_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("heaponly");
    TCase *tc = tcase_create("heap");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, xworm_heap_partial);
    tcase_add_test(tc, xworm_heap_two_hosts);
    tcase_add_test(tc, xworm_heap_no_network_shape);
    tcase_add_test(tc, xworm_heap_lookalikes);
    tcase_add_test(tc, redline_heap_traced);
    tcase_add_test(tc, redline_heap_late);
    tcase_add_test(tc, redline_heap_pipe);
    tcase_add_test(tc, redline_heap_lookalikes);
    tcase_add_test(tc, all_families_heap_only);
    tcase_add_test(tc, hostile_heap_objects);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
