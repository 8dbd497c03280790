/* What the export writers (out_maco.c, out_cape.c, out_stix.c, out_misp.c) share: which records
 * and values are exportable, the IOCs of a MACO config, deterministic ids and the run's clock.
 * Private to the extractor. */
#ifndef MEMCFG_MC_FEED_H
#define MEMCFG_MC_FEED_H

#include "mc_config.h"
#include "mc_output.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* SDOs and SROs of memcfg live under this UUIDv5 namespace; SCOs use STIX's own. */
#define MC_FEED_NS_PROJECT "3c9e2b71-5d0a-4f6e-8a13-7b2c4d9e0f51"
#define MC_FEED_NS_STIX_SCO "00abedb4-aa42-466c-9c01-fed23315a9b7"

typedef enum mc_ioc_kind {
    MC_IOC_IPV4, MC_IOC_IPV6, MC_IOC_DOMAIN, MC_IOC_URL, MC_IOC_MUTEX, MC_IOC_PIPE,
    MC_IOC_REGKEY, MC_IOC_USER_AGENT, MC_IOC_CAMPAIGN,
} mc_ioc_kind;

typedef struct mc_ioc {
    mc_ioc_kind kind;
    const char *value;
    long port;                 /* -1 when the entry names none */
    const char *usage;         /* MACO usage, NULL when the config gives none */
    const char *scheme;        /* connection list it came from ("tcp", "http", ...), or NULL */
    bool beside_uri;           /* a host from an entry whose uri is reported too */
} mc_ioc;

/* Calls fn for every IOC in a MACO config, in field order. */
void mc_feed_iocs(const json_t *config, void (*fn)(void *arg, const mc_ioc *ioc), void *arg);

/* A config record with a decoded config: status complete or partial. Templates and failures
 * carry no values anyone should block on. */
bool mc_feed_exportable(const json_t *rec);
/* decoy and other usages never become indicators or to_ids attributes. */
bool mc_feed_usage_detects(const char *usage);
/* The decoder's display name for the record's family ("QuasarRAT"), else the family. */
const char *mc_feed_display(const json_t *rec);

/* UUIDv5 of name under the namespace ns (a UUID string): 36 characters and a NUL. */
bool mc_feed_uuid5(const char *ns, const char *name, char out[37]);
/* "<prefix>--<uuid5 of the parts joined by '|'>" under ns; NULL-terminated parts. */
char *mc_feed_id(const char *prefix, const char *ns, ...) __attribute__((sentinel));

/* The run's time as a STIX timestamp "YYYY-MM-DDTHH:MM:SS.mmmZ", a MISP date "YYYY-MM-DD" and
 * decimal epoch seconds. */
void mc_feed_stix_time(const mc_writer *w, char out[32]);
void mc_feed_date(const mc_writer *w, char out[16]);
void mc_feed_epoch(const mc_writer *w, char out[24]);

/* The run's TLP name, lowercase ("amber" when not given). */
const char *mc_feed_tlp(const mc_writer *w);

/* Compact JSON with the keys in insertion order; caller frees. */
char *mc_feed_dumps(const json_t *v);

#endif
