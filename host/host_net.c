/* host/host_net.c — see host_net.h. */
#include "host_net.h"

#include "mdns_host.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
#include <netdb.h>
#endif

int host_remaining_ms(uint64_t deadline)
{
    uint64_t now = host_now_ms();
    if (now >= deadline)
        return 0;
    return deadline - now > (uint64_t)INT_MAX ? INT_MAX : (int)(deadline - now);
}

int host_parse_device(const char *device, uint16_t default_port, char *host, size_t n,
                      uint16_t *port)
{
    const char *colon = strrchr(device, ':');
    size_t hl = colon ? (size_t)(colon - device) : strlen(device);
    *port = default_port;
    if (hl == 0 || hl >= n || (colon && strchr(device, ':') != colon))
        return -1;   /* empty, too long, or an IPv6 literal */
    if (colon) {
        unsigned long v = 0;
        const char *p = colon + 1;
        if (*p == '\0')
            return -1;
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned long)(*p - '0')) > 65535)
                return -1;
        }
        if (v == 0)
            return -1;
        *port = (uint16_t)v;
    }
    memcpy(host, device, hl);
    host[hl] = '\0';
    return 0;
}

int host_resolve(const char *host, uint16_t port, struct sockaddr_in *addr, host_error_t *e)
{
    struct addrinfo hints, *res = NULL;
    /* NAME.local: ask the Avahi daemon (no nss-mdns needed); only without a
     * daemon fall through to the system's resolver (Bonjour, nss-mdns). */
    if (mdns_is_local_name(host)) {
        bool no_daemon = false;
        memset(addr, 0, sizeof *addr);
        int err = mdns_resolve_host(host, MDNS_RESOLVE_MS, &addr->sin_addr, &no_daemon, e);
        if (err == ALOFT_OK) {
            addr->sin_family = AF_INET;
            addr->sin_port = htons(port);
            return ALOFT_OK;
        }
        if (!no_daemon)
            return err;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;   /* ArduinoOTA speaks IPv4 only */
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL)
        return host_error_set(e, ALOFT_ERR_CONNECT, "cannot find the device",
                              "no IPv4 address for '%s' (%s); check the name, or use the "
                              "device's IP address (names ending in .local need mDNS on this "
                              "computer: Bonjour, or avahi with nss-mdns)",
                              host, gai_strerror(rc));
    memcpy(addr, res->ai_addr, sizeof *addr);
    addr->sin_port = htons(port);
    freeaddrinfo(res);
    return ALOFT_OK;
}

void host_addr_text(const struct sockaddr_in *addr, char *out, size_t n)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof ip);
    snprintf(out, n, "%s:%u", ip, (unsigned)ntohs(addr->sin_port));
}
