/* Strict host, port and URL checks (see mc_net.h). The IP parsers are inet_pton's, which already
 * refuses the historical shorthands ("127.1", octal, hex) that malware configs use to dodge
 * naive filters; the rest is plain character-class checking with explicit length bounds. */
#include "mc_net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

static bool ascii_printable_no_space(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

bool mc_is_ipv4(const char *s)
{
    unsigned char a[4];
    return s && strlen(s) <= 15 && inet_pton(AF_INET, s, a) == 1;
}

bool mc_is_ipv6(const char *s)
{
    unsigned char a[16];
    return s && strlen(s) <= 45 && strchr(s, ':') && inet_pton(AF_INET6, s, a) == 1;
}

bool mc_is_ip(const char *s)
{
    return mc_is_ipv4(s) || mc_is_ipv6(s);
}

static bool label_ok(const char *l, size_t n)
{
    if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)l[i]) && l[i] != '-')
            return false;
    return true;
}

static bool tld_ok(const char *l, size_t n)
{
    if (n >= 4 && strncasecmp(l, "xn--", 4) == 0)
        return true;
    if (n < 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalpha((unsigned char)l[i]))
            return false;
    return true;
}

bool mc_is_domain(const char *s)
{
    if (!s)
        return false;
    size_t len = strnlen(s, 256);
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (!label_ok(s + start, i - start))
            return false;
        labels++;
        if (i == len && !tld_ok(s + start, i - start))
            return false;
        start = i + 1;
    }
    return labels >= 2;
}

bool mc_is_host(const char *s)
{
    return mc_is_ip(s) || mc_is_domain(s);
}

bool mc_is_bare_host(const char *s)
{
    if (mc_is_ip(s))
        return true;
    if (!mc_is_domain(s))
        return false;
    for (const char *p = s; *p; p++)
        if (isupper((unsigned char)*p))
            return false;
    /* Extensions of files a Windows process names, none of them a TLD in use by C2s. */
    static const char *const ext[] = {"dll", "exe", "sys", "drv", "ocx", "cpl", "scr", "tmp",
                                      "dat", "log", "ini", "cfg", "config", "xml", "json", "txt",
                                      "pdb", "lnk", "bat", "cmd", "vbs", "bin", "resources",
                                      "manifest", "mui", "nls", "db", "cs", "vb"};
    size_t len = strlen(s);
    if (s[len - 1] == '.')  /* a trailing dot: the label before it is the top level */
        len--;
    size_t start = len;
    while (start > 0 && s[start - 1] != '.')
        start--;
    const char *tld = s + start;
    size_t n = len - start;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strlen(ext[i]) == n && strncmp(tld, ext[i], n) == 0)
            return false;
    return true;
}

bool mc_port_ok(long port)
{
    return port >= 0 && port <= 65535;
}

bool mc_parse_port(const char *s, long *port)
{
    if (!s)
        return false;
    size_t n = strnlen(s, 6);
    if (n == 0 || n > 5)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (!mc_port_ok(v))
        return false;
    *port = v;
    return true;
}

static bool copy_part(const char *p, size_t n, char *dst, size_t dstsz)
{
    if (n >= dstsz)
        return false;
    memcpy(dst, p, n);
    dst[n] = 0;
    return true;
}

bool mc_split_hostport(const char *s, char *host, size_t hostsz, long *port)
{
    if (!s || !host || hostsz == 0)
        return false;
    *port = -1;
    host[0] = 0;
    const char *hend, *rest;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1)
            return false;
        if (!copy_part(s + 1, (size_t)(close - s - 1), host, hostsz))
            return false;
        rest = close + 1;
        if (*rest == 0)
            return true;
        if (*rest != ':')
            return false;
        return mc_parse_port(rest + 1, port);
    }
    const char *colon = strchr(s, ':');
    if (colon && strchr(colon + 1, ':')) {
        /* Two or more colons without brackets: an IPv6 literal, which cannot carry a port. */
        return copy_part(s, strlen(s), host, hostsz);
    }
    hend = colon ? colon : s + strlen(s);
    if (hend == s || !copy_part(s, (size_t)(hend - s), host, hostsz))
        return false;
    return colon ? mc_parse_port(colon + 1, port) : true;
}

static bool scheme_ok(const char *p, size_t n, char *dst, size_t dstsz)
{
    if (n == 0 || n >= dstsz || !isalpha((unsigned char)p[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)p[i]) && p[i] != '+' && p[i] != '-' && p[i] != '.')
            return false;
        dst[i] = (char)tolower((unsigned char)p[i]);
    }
    dst[n] = 0;
    return true;
}

static bool split_userinfo(const char *p, size_t n, mc_url *u)
{
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return copy_part(p, n, u->username, sizeof u->username);
    return copy_part(p, (size_t)(colon - p), u->username, sizeof u->username) &&
           copy_part(colon + 1, n - (size_t)(colon - p) - 1, u->password, sizeof u->password);
}

/* authority = [userinfo@]host[:port], the text up to the first '/', '?' or '#'. */
static bool parse_authority(const char *p, size_t n, mc_url *u)
{
    char hp[MC_HOST_MAX + 8];
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '@')
            at = p + i;   /* the last '@' ends the userinfo */
    if (at) {
        if (!split_userinfo(p, (size_t)(at - p), u))
            return false;
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (!copy_part(p, n, hp, sizeof hp))
        return false;
    if (hp[0] != '[' && strchr(hp, ':') && strchr(strchr(hp, ':') + 1, ':'))
        return false;   /* an unbracketed IPv6 literal is ambiguous inside a URL */
    if (!mc_split_hostport(hp, u->host, sizeof u->host, &u->port))
        return false;
    if (hp[0] == '[')
        return mc_is_ipv6(u->host);
    return mc_is_ipv4(u->host) || mc_is_domain(u->host);
}

bool mc_url_parse(const char *s, mc_url *u)
{
    if (!s || !u)
        return false;
    memset(u, 0, sizeof *u);
    u->port = -1;
    if (strnlen(s, 3 * MC_URL_PART_MAX + 1) > 3 * MC_URL_PART_MAX || !ascii_printable_no_space(s))
        return false;
    const char *sep = strstr(s, "://");
    if (!sep || !scheme_ok(s, (size_t)(sep - s), u->scheme, sizeof u->scheme))
        return false;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (!parse_authority(auth, alen, u))
        return false;
    const char *p = auth + alen;
    size_t plen = strcspn(p, "?#");
    if (!copy_part(p, plen, u->path, sizeof u->path))
        return false;
    p += plen;
    if (*p == '?') {
        size_t qlen = strcspn(p + 1, "#");
        if (!copy_part(p + 1, qlen, u->query, sizeof u->query))
            return false;
        p += 1 + qlen;
    }
    if (*p == '#')
        return copy_part(p + 1, strlen(p + 1), u->fragment, sizeof u->fragment);
    return true;
}
