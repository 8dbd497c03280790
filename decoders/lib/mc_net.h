/* Network value validation and parsing for decoders and the config builder.
 *
 * Everything here takes hostile text (bytes recovered from a dump) and answers strictly: a value
 * is accepted only when it has the exact shape of its kind, so that what the config builder puts
 * in typed MACO fields (server_ip, server_domain, ports, URLs) is real. Nothing allocates.
 */
#ifndef MEMCFG_MC_NET_H
#define MEMCFG_MC_NET_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MC_HOST_MAX 256   /* a domain is at most 253 characters; an IPv6 literal 45 */
#define MC_URL_PART_MAX 2048

/* Dotted-quad IPv4 with exactly four decimal parts, no leading zeros, no whitespace. */
bool mc_is_ipv4(const char *s);
/* IPv6 literal without brackets or zone id ("2001:db8::1", "::ffff:192.0.2.1"). */
bool mc_is_ipv6(const char *s);
bool mc_is_ip(const char *s);
/* DNS name: LDH labels of 1-63 characters, at least two labels, at most 253 characters (a
 * trailing dot is accepted), no hyphen at a label edge, a top-level label that is alphabetic
 * (or an IDNA "xn--" label). Underscores and IP literals are rejected. */
bool mc_is_domain(const char *s);
/* An IP literal or a domain: what may go into a hostname field. */
bool mc_is_host(const char *s);
/* A host standing alone, with no field name to say it is one (decrypted strings on a heap): an IP
 * literal, or a domain as builders type them, all lowercase and not ending in a file extension.
 * Without those rules .NET names ("System.Text") and file names ("kernel32.dll") pass. */
bool mc_is_bare_host(const char *s);

/* Decimal port 0-65535 of at most 5 digits, nothing else. */
bool mc_parse_port(const char *s, long *port);
bool mc_port_ok(long port);

/* Split "host:port", "[v6]:port", "[v6]", "host" or a bare IPv6 literal into host and port.
 * *port is -1 when absent. Returns false when the text is malformed (empty host, bad port,
 * unbalanced brackets, host longer than hostsz-1). The host is not validated beyond that. */
bool mc_split_hostport(const char *s, char *host, size_t hostsz, long *port);

/* The parts of an absolute URL "scheme://[user[:pass]@]host[:port][/path][?query][#fragment]".
 * Strings are NUL-terminated copies; empty when absent. scheme is lowercased; host keeps IPv6
 * literals without brackets. */
typedef struct mc_url {
    char scheme[16];
    char username[256], password[256];
    char host[MC_HOST_MAX];
    long port;                    /* -1 when absent */
    char path[MC_URL_PART_MAX];
    char query[MC_URL_PART_MAX];
    char fragment[MC_URL_PART_MAX];
} mc_url;

/* Parse a URL. Fails on: no "scheme://", a scheme that is not alphanumeric/+/-/., a host that
 * is neither an IP literal nor a domain, a bad port, whitespace or control characters anywhere,
 * or any part too long for its buffer. */
bool mc_url_parse(const char *s, mc_url *u);

#ifdef __cplusplus
}
#endif
#endif
