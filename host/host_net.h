/*
 * host/host_net.h — what the host tools' network code shares (the
 * espota and native uploaders): device addresses, name lookup. IPv4, as
 * ArduinoOTA; the sockets themselves are host_os.h's.
 */
#ifndef ALOFT_HOST_NET_H
#define ALOFT_HOST_NET_H

#include <stddef.h>
#include <stdint.h>

#include "host_error.h"
#include "host_os.h"   /* sockaddr_in, host_now_ms */

/* Milliseconds left until deadline (host_now_ms() time), 0 once past, at
 * most INT_MAX (for poll()). */
int host_remaining_ms(uint64_t deadline);

/* Split "host[:port]" into host (n bytes) and port (default_port when
 * absent). Returns 0, or -1 if the port is not 1..65535 or the host is
 * empty or too long. */
int host_parse_device(const char *device, uint16_t default_port, char *host, size_t n,
                      uint16_t *port);

/* Resolve host (name or IPv4 address) to an IPv4 address with port; a
 * NAME.local name through the Avahi daemon (mdns_host.h), or the system's
 * resolver when no daemon runs. Returns 0, or ALOFT_ERR_CONNECT with e explaining why. */
int host_resolve(const char *host, uint16_t port, struct sockaddr_in *addr, host_error_t *e);

/* "a.b.c.d:port" of addr into out (at least 22 bytes). */
void host_addr_text(const struct sockaddr_in *addr, char *out, size_t n);

#endif /* ALOFT_HOST_NET_H */
