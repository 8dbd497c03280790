/* Host, port and URL validation: the shapes decoders feed the config builder, including hostile
 * text (control bytes, overlong labels, shorthand IPs, bracket games). */
#include "lib/mc_net.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(ipv4_strict)
{
    ck_assert(mc_is_ipv4("192.0.2.1"));
    ck_assert(mc_is_ipv4("0.0.0.0"));
    ck_assert(mc_is_ipv4("255.255.255.255"));
    ck_assert(!mc_is_ipv4("256.0.0.1"));
    ck_assert(!mc_is_ipv4("192.0.2"));
    ck_assert(!mc_is_ipv4("127.1"));
    ck_assert(!mc_is_ipv4("192.0.2.01"));
    ck_assert(!mc_is_ipv4("0x7f.0.0.1"));
    ck_assert(!mc_is_ipv4(" 192.0.2.1"));
    ck_assert(!mc_is_ipv4("192.0.2.1 "));
    ck_assert(!mc_is_ipv4("192.0.2.1.5"));
    ck_assert(!mc_is_ipv4(""));
    ck_assert(!mc_is_ipv4(NULL));
}
END_TEST

START_TEST(ipv6_literals)
{
    ck_assert(mc_is_ipv6("2001:db8::1"));
    ck_assert(mc_is_ipv6("::1"));
    ck_assert(mc_is_ipv6("::ffff:192.0.2.1"));
    ck_assert(!mc_is_ipv6("2001:db8::1%eth0"));
    ck_assert(!mc_is_ipv6("[2001:db8::1]"));
    ck_assert(!mc_is_ipv6("2001:db8:::1"));
    ck_assert(!mc_is_ipv6("192.0.2.1"));
    ck_assert(!mc_is_ipv6("12345::1"));
    ck_assert(mc_is_ip("2001:db8::1") && mc_is_ip("198.51.100.7"));
}
END_TEST

START_TEST(domains)
{
    ck_assert(mc_is_domain("c2.example"));
    ck_assert(mc_is_domain("a-b.c2.test"));
    ck_assert(mc_is_domain("C2.Example."));
    ck_assert(mc_is_domain("xn--80ak6aa92e.xn--p1ai"));
    ck_assert(!mc_is_domain("localhost"));
    ck_assert(!mc_is_domain("example."));
    ck_assert(!mc_is_domain("-bad.example"));
    ck_assert(!mc_is_domain("bad-.example"));
    ck_assert(!mc_is_domain("a..example"));
    ck_assert(!mc_is_domain(".example"));
    ck_assert(!mc_is_domain("under_score.example"));
    ck_assert(!mc_is_domain("192.0.2.1"));
    ck_assert(!mc_is_domain("host.123"));
    ck_assert(!mc_is_domain("c2.example\x01"));
    ck_assert(!mc_is_domain("c2 .example"));
    ck_assert(!mc_is_domain("%Hosts%"));
    ck_assert(!mc_is_domain("c2[.]example"));
    ck_assert(!mc_is_domain("c2.ex\xc3\xa4mple"));

    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".example");
    ck_assert(!mc_is_domain(label));
    ck_assert(mc_is_domain(label + 1));   /* 63 characters is the limit */

    char longname[400] = "";
    for (int i = 0; i < 60; i++)
        strcat(longname, "abcd.");
    strcat(longname, "test");
    ck_assert(!mc_is_domain(longname));   /* 304 characters */
    ck_assert(mc_is_host("c2.example") && mc_is_host("::1") && !mc_is_host("nope"));
}
END_TEST

/* Hosts with no field name to vouch for them: IPs and lowercase domains, not file or type names. */
START_TEST(bare_hosts)
{
    static const char *const yes[] = {"192.0.2.1", "2001:db8::1", "c2.example", "c2.example.",
                                      "a-b.test", "xn--bcher-kva.example"};
    static const char *const no[] = {"kernel32.dll", "client.exe", "app.config", "settings.json",
                                     "System.Text", "C2.Example", "mscorlib.resources",
                                     "ntdll.dll.", "notes.txt", "localhost", "", "a..b"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        ck_assert_msg(mc_is_bare_host(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(!mc_is_bare_host(no[i]), "%s", no[i]);
    /* The plain host check still takes what a named field may hold. */
    ck_assert(mc_is_host("kernel32.dll") && mc_is_host("C2.Example"));
}
END_TEST

START_TEST(ports)
{
    long p = -5;
    ck_assert(mc_parse_port("0", &p) && p == 0);
    ck_assert(mc_parse_port("65535", &p) && p == 65535);
    ck_assert(mc_parse_port("00443", &p) && p == 443);
    ck_assert(!mc_parse_port("65536", &p));
    ck_assert(!mc_parse_port("-1", &p));
    ck_assert(!mc_parse_port("+80", &p));
    ck_assert(!mc_parse_port("80 ", &p));
    ck_assert(!mc_parse_port("", &p));
    ck_assert(!mc_parse_port("123456", &p));
    ck_assert(!mc_parse_port("99999999999999999999", &p));
    ck_assert(mc_port_ok(0) && mc_port_ok(65535) && !mc_port_ok(-1) && !mc_port_ok(70000));
}
END_TEST

START_TEST(hostport_split)
{
    char h[MC_HOST_MAX];
    long p;
    ck_assert(mc_split_hostport("c2.example:6606", h, sizeof h, &p));
    ck_assert_str_eq(h, "c2.example");
    ck_assert_int_eq(p, 6606);
    ck_assert(mc_split_hostport("203.0.113.7", h, sizeof h, &p));
    ck_assert_str_eq(h, "203.0.113.7");
    ck_assert_int_eq(p, -1);
    ck_assert(mc_split_hostport("[2001:db8::7]:443", h, sizeof h, &p));
    ck_assert_str_eq(h, "2001:db8::7");
    ck_assert_int_eq(p, 443);
    ck_assert(mc_split_hostport("[2001:db8::7]", h, sizeof h, &p));
    ck_assert_int_eq(p, -1);
    ck_assert(mc_split_hostport("2001:db8::7", h, sizeof h, &p));
    ck_assert_str_eq(h, "2001:db8::7");
    ck_assert_int_eq(p, -1);
    ck_assert(!mc_split_hostport("[2001:db8::7", h, sizeof h, &p));
    ck_assert(!mc_split_hostport("[2001:db8::7]x", h, sizeof h, &p));
    ck_assert(!mc_split_hostport("[]:80", h, sizeof h, &p));
    ck_assert(!mc_split_hostport(":80", h, sizeof h, &p));
    ck_assert(!mc_split_hostport("c2.example:", h, sizeof h, &p));
    ck_assert(!mc_split_hostport("c2.example:70000", h, sizeof h, &p));
    ck_assert(!mc_split_hostport("c2.example:80x", h, sizeof h, &p));
    char small[4];
    ck_assert(!mc_split_hostport("c2.example:80", small, sizeof small, &p));
}
END_TEST

START_TEST(url_parts)
{
    mc_url u;
    ck_assert(mc_url_parse("HTTPS://user:pw@c2.example:8443/gate.php?id=1#frag", &u));
    ck_assert_str_eq(u.scheme, "https");
    ck_assert_str_eq(u.username, "user");
    ck_assert_str_eq(u.password, "pw");
    ck_assert_str_eq(u.host, "c2.example");
    ck_assert_int_eq(u.port, 8443);
    ck_assert_str_eq(u.path, "/gate.php");
    ck_assert_str_eq(u.query, "id=1");
    ck_assert_str_eq(u.fragment, "frag");

    ck_assert(mc_url_parse("http://198.51.100.9", &u));
    ck_assert_str_eq(u.host, "198.51.100.9");
    ck_assert_int_eq(u.port, -1);
    ck_assert_str_eq(u.path, "");

    ck_assert(mc_url_parse("http://[2001:db8::1]:8080/x", &u));
    ck_assert_str_eq(u.host, "2001:db8::1");
    ck_assert_int_eq(u.port, 8080);

    ck_assert(mc_url_parse("http://c2.test?q", &u));
    ck_assert_str_eq(u.path, "");
    ck_assert_str_eq(u.query, "q");
}
END_TEST

START_TEST(url_hostile)
{
    mc_url u;
    ck_assert(!mc_url_parse("c2.example/gate", &u));
    ck_assert(!mc_url_parse("://c2.example/", &u));
    ck_assert(!mc_url_parse("1http://c2.example/", &u));
    ck_assert(!mc_url_parse("http:///path", &u));
    ck_assert(!mc_url_parse("http://c2.example:99999/", &u));
    ck_assert(!mc_url_parse("http://c2 .example/", &u));
    ck_assert(!mc_url_parse("http://c2.example/a b", &u));
    ck_assert(!mc_url_parse("http://c2.example/\x01", &u));
    ck_assert(!mc_url_parse("http://c2.ex\xc3\xa4mple/", &u));
    ck_assert(!mc_url_parse("http://2001:db8::1/", &u));
    ck_assert(!mc_url_parse("http://[192.0.2.1]/", &u));
    ck_assert(!mc_url_parse("http://hxxp[.]example/", &u));
    ck_assert(!mc_url_parse("http://%Host%/", &u));
    ck_assert(!mc_url_parse(NULL, &u));
    /* the last '@' ends the userinfo */
    ck_assert(mc_url_parse("http://a@b@c2.example/", &u));
    ck_assert_str_eq(u.username, "a@b");
    ck_assert_str_eq(u.host, "c2.example");

    size_t n = 3 * MC_URL_PART_MAX + 16;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    memcpy(big, "http://c2.example/", 18);
    big[n] = 0;
    ck_assert(!mc_url_parse(big, &u));
    big[18 + MC_URL_PART_MAX] = 0;  /* path one byte too long for its buffer */
    ck_assert(!mc_url_parse(big, &u));
    big[18 + MC_URL_PART_MAX - 2] = 0;
    ck_assert(mc_url_parse(big, &u));
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net");
    TCase *t = tcase_create("net");
    tcase_add_test(t, ipv4_strict);
    tcase_add_test(t, ipv6_literals);
    tcase_add_test(t, domains);
    tcase_add_test(t, bare_hosts);
    tcase_add_test(t, ports);
    tcase_add_test(t, hostport_split);
    tcase_add_test(t, url_parts);
    tcase_add_test(t, url_hostile);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
