/*
 * host/mdns_host.c — see mdns_host.h. Avahi's client library does the
 * mDNS work (queries, caching, the daemon shared with every other program
 * on the machine); this file only runs its simple poll loop until the
 * answers are in or the time is up, and turns TXT records into an
 * mdns_device_t.
 */
#include "mdns_host.h"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/simple-watch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aloft/discovery.h"
#include "host_net.h"

typedef struct loop {
    AvahiSimplePoll *poll;
    AvahiClient *client;
    host_error_t *e;
} loop_t;

static const char no_daemon_hint[] =
    "the Avahi daemon does not answer (%s); start it (Debian: apt install avahi-daemon; "
    "systemctl start avahi-daemon), or give the device's IP address";

static int loop_open(loop_t *l, host_error_t *e, bool *no_daemon)
{
    int error = 0;
    memset(l, 0, sizeof *l);
    l->e = e;
    l->poll = avahi_simple_poll_new();
    if (l->poll == NULL)
        return host_error_set(e, ALOFT_ERR_CONNECT, "cannot use mDNS", "out of memory");
    l->client = avahi_client_new(avahi_simple_poll_get(l->poll), 0, NULL, NULL, &error);
    if (l->client == NULL) {
        if (no_daemon)
            *no_daemon = true;
        avahi_simple_poll_free(l->poll);
        l->poll = NULL;
        return host_error_set(e, ALOFT_ERR_CONNECT, "cannot use mDNS", no_daemon_hint,
                              avahi_strerror(error));
    }
    return ALOFT_OK;
}

static void loop_close(loop_t *l)
{
    if (l->client)
        avahi_client_free(l->client);   /* frees its browsers and resolvers */
    if (l->poll)
        avahi_simple_poll_free(l->poll);
}

/* Run the loop until *done or the deadline. */
static void loop_run(loop_t *l, uint64_t deadline, const bool *done)
{
    while (!*done) {
        int ms = host_remaining_ms(deadline);
        if (ms == 0 || avahi_simple_poll_iterate(l->poll, ms) != 0)
            break;
    }
}

/* ---- browsing ------------------------------------------------------------ */

typedef struct browse {
    loop_t loop;
    mdns_device_t *out;
    size_t max, n;
    AvahiServiceBrowser *browsers[2];
    unsigned listed;   /* bit i: browsers[i] has listed what the daemon knows */
    int resolving;     /* resolvers not answered yet */
    bool done;
} browse_t;

static void check_done(browse_t *b)
{
    b->done = b->listed == 3 && b->resolving == 0;
}

static void txt_copy(AvahiStringList *txt, const char *key, char *out, size_t n)
{
    AvahiStringList *item = avahi_string_list_find(txt, key);
    char *k = NULL, *v = NULL;
    out[0] = '\0';
    if (item && avahi_string_list_get_pair(item, &k, &v, NULL) == 0 && v) {
        strncpy(out, v, n - 1);
        out[n - 1] = '\0';
    }
    avahi_free(k);
    avahi_free(v);
}

static bool txt_yes(AvahiStringList *txt, const char *key)
{
    char v[8];
    txt_copy(txt, key, v, sizeof v);
    return strcmp(v, "yes") == 0;
}

static mdns_device_t *find_or_add(browse_t *b, const char *name, const char *host)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->out[i].name, name) == 0 && strcasecmp(b->out[i].host, host) == 0)
            return &b->out[i];
    if (b->n == b->max)
        return NULL;
    mdns_device_t *d = &b->out[b->n++];
    memset(d, 0, sizeof *d);
    strncpy(d->name, name, sizeof d->name - 1);
    strncpy(d->host, host, sizeof d->host - 1);
    return d;
}

static void on_resolved(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
                        AvahiResolverEvent event, const char *name, const char *type,
                        const char *domain, const char *host, const AvahiAddress *a,
                        uint16_t port, AvahiStringList *txt, AvahiLookupResultFlags flags,
                        void *ctx)
{
    browse_t *b = ctx;
    mdns_device_t *d;
    (void)iface, (void)proto, (void)domain, (void)flags;
    if (event == AVAHI_RESOLVER_FOUND && (d = find_or_add(b, name, host)) != NULL) {
        bool aloft = strcmp(type, ALOFT_MDNS_SERVICE) == 0;
        avahi_address_snprint(d->address, sizeof d->address, a);
        if (aloft) {
            char v[8];
            d->aloft = true;
            d->port = port;
            txt_copy(txt, ALOFT_TXT_PROTO, v, sizeof v);
            d->proto = (unsigned)strtoul(v, NULL, 10);
            txt_copy(txt, ALOFT_TXT_CHIP, d->chip, sizeof d->chip);
            txt_copy(txt, ALOFT_TXT_PROJECT, d->project, sizeof d->project);
            txt_copy(txt, ALOFT_TXT_VERSION, d->version, sizeof d->version);
            d->auth = txt_yes(txt, ALOFT_TXT_AUTH);
            d->signed_only = txt_yes(txt, ALOFT_TXT_SIGNED);
        } else {
            d->arduino = true;
            if (!d->aloft)
                d->port = port;
            txt_copy(txt, ALOFT_TXT_BOARD, d->board, sizeof d->board);
            d->auth_upload = txt_yes(txt, ALOFT_TXT_AUTH_UPLOAD);
        }
    }
    avahi_service_resolver_free(r);
    b->resolving--;
    check_done(b);
}

static void on_browse(AvahiServiceBrowser *sb, AvahiIfIndex iface, AvahiProtocol proto,
                      AvahiBrowserEvent event, const char *name, const char *type,
                      const char *domain, AvahiLookupResultFlags flags, void *ctx)
{
    browse_t *b = ctx;
    (void)flags;
    switch (event) {
    case AVAHI_BROWSER_NEW:
        if (avahi_service_resolver_new(b->loop.client, iface, proto, name, type, domain,
                                       AVAHI_PROTO_INET, 0, on_resolved, b) != NULL)
            b->resolving++;
        break;
    case AVAHI_BROWSER_ALL_FOR_NOW:
    case AVAHI_BROWSER_FAILURE:   /* nothing more will come from this one */
        b->listed |= sb == b->browsers[1] ? 2u : 1u;
        break;
    default:
        break;
    }
    check_done(b);
}

static int by_name(const void *x, const void *y)
{
    const mdns_device_t *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->host, b->host);
}

int mdns_browse(uint32_t timeout_ms, mdns_device_t *out, size_t max, size_t *n,
                host_error_t *e)
{
    static const char *const types[2] = {ALOFT_MDNS_SERVICE, ALOFT_MDNS_ARDUINO_SERVICE};
    browse_t b;
    memset(&b, 0, sizeof b);
    b.out = out;
    b.max = max;
    *n = 0;
    int err = loop_open(&b.loop, e, NULL);
    if (err)
        return err;
    for (int i = 0; i < 2; i++) {
        b.browsers[i] = avahi_service_browser_new(b.loop.client, AVAHI_IF_UNSPEC,
                                                  AVAHI_PROTO_INET, types[i], NULL, 0,
                                                  on_browse, &b);
        if (b.browsers[i] == NULL) {
            err = host_error_set(e, ALOFT_ERR_CONNECT, "cannot browse for devices",
                                 "the Avahi daemon refused to browse %s: %s", types[i],
                                 avahi_strerror(avahi_client_errno(b.loop.client)));
            loop_close(&b.loop);
            return err;
        }
    }
    loop_run(&b.loop, host_now_ms() + timeout_ms, &b.done);
    loop_close(&b.loop);
    qsort(out, b.n, sizeof *out, by_name);
    *n = b.n;
    return ALOFT_OK;
}

/* ---- one host name --------------------------------------------------------- */

typedef struct lookup {
    struct in_addr addr;
    int error;      /* avahi error once it failed */
    bool done, found;
} lookup_t;

static void on_host(AvahiHostNameResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
                    AvahiResolverEvent event, const char *name, const AvahiAddress *a,
                    AvahiLookupResultFlags flags, void *ctx)
{
    lookup_t *l = ctx;
    (void)iface, (void)proto, (void)name, (void)flags;
    if (event == AVAHI_RESOLVER_FOUND && a->proto == AVAHI_PROTO_INET) {
        l->addr.s_addr = a->data.ipv4.address;   /* network order, as in_addr */
        l->found = true;
    } else {
        l->error = avahi_client_errno(avahi_host_name_resolver_get_client(r));
    }
    l->done = true;
}

int mdns_resolve_host(const char *name, uint32_t timeout_ms, struct in_addr *addr,
                      bool *no_daemon, host_error_t *e)
{
    loop_t loop;
    lookup_t l;
    memset(&l, 0, sizeof l);
    *no_daemon = false;
    int err = loop_open(&loop, e, no_daemon);
    if (err)
        return err;
    if (avahi_host_name_resolver_new(loop.client, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, name,
                                     AVAHI_PROTO_INET, 0, on_host, &l) == NULL)
        l.error = avahi_client_errno(loop.client), l.done = true;
    loop_run(&loop, host_now_ms() + timeout_ms, &l.done);
    loop_close(&loop);
    if (l.found) {
        *addr = l.addr;
        return ALOFT_OK;
    }
    return host_error_set(e, ALOFT_ERR_CONNECT, "cannot find the device",
                          "no device answered for %s within %u s: %s; is it on and on this "
                          "network? 'aloft discover' lists the devices that answer",
                          name, (unsigned)((timeout_ms + 999) / 1000),
                          l.done ? avahi_strerror(l.error) : "no answer");
}

bool mdns_is_local_name(const char *host)
{
    size_t n = strlen(host);
    if (n && host[n - 1] == '.')
        n--;
    return n > 6 && strncasecmp(host + n - 6, ".local", 6) == 0;
}
