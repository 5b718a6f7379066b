/*
 * host/mdns_host.h — finding devices by mDNS / DNS-SD through the Avahi
 * daemon (libavahi-client over D-Bus; the system bus, or
 * DBUS_SYSTEM_BUS_ADDRESS): browse the services devices announce
 * (aloft/discovery.h, docs/PROTOCOL.md "Discovery (mDNS)") and resolve a
 * NAME.local host name. Each call runs its own short event loop and
 * returns; nothing stays open.
 */
#ifndef ALOFT_MDNS_HOST_H
#define ALOFT_MDNS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_error.h"
#include "host_os.h"   /* struct in_addr */

#define MDNS_DEVICES_MAX 64
#define MDNS_RESOLVE_MS 5000u   /* how long a NAME.local lookup waits */

/* One device: the _aloft._tcp and _arduino._tcp instances of one name on
 * one host, merged. Strings are empty when not announced. */
typedef struct mdns_device {
    char name[64];          /* service instance name ("gateway") */
    char host[128];         /* its host name ("gateway.local") */
    char address[16];       /* IPv4, dotted */
    uint16_t port;          /* native TCP port (_aloft), else espota's (_arduino) */
    bool aloft, arduino;    /* which of the two services it announces */
    unsigned proto;         /* _aloft proto, 0 when absent */
    char chip[16], project[33], version[33];
    bool auth, signed_only; /* _aloft auth=yes, signed=yes */
    char board[32];         /* _arduino board */
    bool auth_upload;       /* _arduino auth_upload=yes */
} mdns_device_t;

/* Browse both services for at most timeout_ms (less once the daemon says
 * it has listed everything it knows and each instance is resolved) and
 * merge what answered into out[0..max), sorted by name. *n is the count.
 * Returns 0, or ALOFT_ERR_CONNECT with e saying why (no Avahi daemon). */
int mdns_browse(uint32_t timeout_ms, mdns_device_t *out, size_t max, size_t *n,
                host_error_t *e);

/* Resolve host name (such as "gateway.local") to an IPv4 address through
 * the Avahi daemon, waiting at most timeout_ms. Returns 0, or
 * ALOFT_ERR_CONNECT with e saying why (no answer in time, or no daemon:
 * then *no_daemon is true). */
int mdns_resolve_host(const char *name, uint32_t timeout_ms, struct in_addr *addr,
                      bool *no_daemon, host_error_t *e);

/* True if host ends in ".local" (either case, a final dot allowed). */
bool mdns_is_local_name(const char *host);

#endif /* ALOFT_MDNS_HOST_H */
