/*
 * host/win/mdns_win.c — host/mdns_host.h in aloft.exe, which has no Avahi:
 * NAME.local goes to Windows' own resolver (Windows 10 and later answer
 * .local names by mDNS), and `aloft discover` says it is not there yet.
 */
#include "mdns_host.h"

#include <string.h>

int mdns_browse(uint32_t timeout_ms, mdns_device_t *out, size_t max, size_t *n,
                host_error_t *e)
{
    (void)timeout_ms, (void)out, (void)max;
    *n = 0;
    return host_error_set(e, ALOFT_ERR_CONNECT, "aloft discover is not in aloft.exe yet",
                          "give the device's IP address, or NAME.local (Windows resolves .local "
                          "names itself); 'aloft discover' runs on Linux, through Avahi");
}

int mdns_resolve_host(const char *name, uint32_t timeout_ms, struct in_addr *addr,
                      bool *no_daemon, host_error_t *e)
{
    (void)name, (void)timeout_ms, (void)addr, (void)e;
    *no_daemon = true;   /* host_resolve asks the system's resolver */
    return ALOFT_ERR_CONNECT;
}

bool mdns_is_local_name(const char *host)
{
    size_t n = strlen(host);
    if (n && host[n - 1] == '.')
        n--;
    return n > 6 && _strnicmp(host + n - 6, ".local", 6) == 0;
}
