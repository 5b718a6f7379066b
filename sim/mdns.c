/*
 * sim/mdns.c — see mdns.h. The Avahi daemon does the mDNS work (probing,
 * announcing, answering queries, goodbyes); this file turns the core's
 * TXT pairs into Avahi string lists and polls the client's simple event
 * loop from aloft-sim's own loop, so no thread touches the device.
 */
#include "mdns.h"

#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/error.h>
#include <avahi-common/simple-watch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_mdns {
    const sim_mdns_config_t *cfg;
    AvahiSimplePoll *poll;
    AvahiClient *client;
    AvahiEntryGroup *group;
    AvahiStringList *txt[2];   /* what is announced: _aloft, _arduino */
    char host[80];             /* NAME.local, or "" for this machine's */
    bool published_once;       /* from then on a lost daemon is waited for */
    bool lost;                 /* the daemon went away: reconnect at the next step */
    bool failed;
};

static const char *const types[2] = {ALOFT_MDNS_SERVICE, ALOFT_MDNS_ARDUINO_SERVICE};

static AvahiStringList *to_list(const aloft_txt_t *t)
{
    AvahiStringList *l = NULL;
    for (size_t i = t->count; i-- > 0;)   /* prepending: build from the end */
        l = avahi_string_list_add_pair(l, t->items[i].key, t->items[i].value);
    return l;
}

/* The records as the device's state says now. */
static void build(const sim_mdns_t *m, AvahiStringList *out[2])
{
    aloft_txt_t t;
    aloft_discovery_txt(&m->cfg->state, &t);
    out[0] = to_list(&t);
    aloft_discovery_txt_arduino(&m->cfg->state, &t);
    out[1] = to_list(&t);
}

/* One line saying why publishing failed; mDNS is over for this run. */
static void failed(sim_mdns_t *m, int err)
{
    if (err == AVAHI_ERR_COLLISION)
        fprintf(stderr, "aloft-sim: the mDNS name '%s' is taken on this network; "
                        "choose another --name\n", m->cfg->name);
    else
        fprintf(stderr, "aloft-sim: cannot publish '%s' by mDNS: %s\n", m->cfg->name,
                avahi_strerror(err));
    m->failed = true;
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *ctx)
{
    sim_mdns_t *m = ctx;
    (void)g;
    if (state == AVAHI_ENTRY_GROUP_COLLISION)   /* another host has it */
        failed(m, AVAHI_ERR_COLLISION);
    else if (state == AVAHI_ENTRY_GROUP_FAILURE)
        failed(m, avahi_client_errno(m->client));
}

static int publish(sim_mdns_t *m)
{
    const sim_mdns_config_t *cfg = m->cfg;
    const char *host = m->host[0] ? m->host : NULL;
    int err = 0;
    m->group = avahi_entry_group_new(m->client, on_group, m);
    if (m->group == NULL)
        return avahi_client_errno(m->client);
    if (host) {
        AvahiAddress a = {.proto = AVAHI_PROTO_INET};
        inet_pton(AF_INET, cfg->bind, &a.data.ipv4.address);
        err = avahi_entry_group_add_address(m->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, 0,
                                            host, &a);
    }
    for (int i = 0; i < (cfg->espota ? 2 : 1) && err == 0; i++)
        err = avahi_entry_group_add_service_strlst(m->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET,
                                                   0, cfg->name, types[i], NULL, host,
                                                   cfg->port, m->txt[i]);
    return err ? err : avahi_entry_group_commit(m->group);
}

/* Publish once the daemon runs (it may still be probing its own name when
 * the client connects); its name collided or it re-registers: again. A
 * daemon that goes away (restarted, upgraded) is waited for, as a device
 * keeps announcing across a restart of the network's other hosts. */
static void on_client(AvahiClient *c, AvahiClientState state, void *ctx)
{
    sim_mdns_t *m = ctx;
    int err = 0;
    m->client = c;   /* also called from inside avahi_client_new */
    if (state == AVAHI_CLIENT_S_RUNNING && m->group == NULL) {
        err = publish(m);
        m->published_once = err == 0;
    } else if ((state == AVAHI_CLIENT_S_COLLISION || state == AVAHI_CLIENT_S_REGISTERING) &&
               m->group) {
        avahi_entry_group_free(m->group);
        m->group = NULL;
    } else if (state == AVAHI_CLIENT_FAILURE) {
        err = avahi_client_errno(c);
        if (err == AVAHI_ERR_DISCONNECTED && m->published_once) {
            fprintf(stderr, "aloft-sim: the Avahi daemon went away; announcing again once "
                            "it is back\n");
            m->lost = true;
            err = 0;
        }
    }
    if (err)
        failed(m, err);
}

sim_mdns_t *sim_mdns_open(const sim_mdns_config_t *cfg)
{
    int error = 0;
    sim_mdns_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->cfg = cfg;
    if (strcmp(cfg->bind, "0.0.0.0") != 0)
        snprintf(m->host, sizeof m->host, "%s.local", cfg->name);
    build(m, m->txt);
    m->poll = avahi_simple_poll_new();
    if (m->poll)
        m->client = avahi_client_new(avahi_simple_poll_get(m->poll), 0, on_client, m, &error);
    if (m->client == NULL) {
        fprintf(stderr, "aloft-sim: --mdns needs the Avahi daemon: %s (Debian: apt install "
                        "avahi-daemon)\n", avahi_strerror(error));
        sim_mdns_close(m);
        return NULL;
    }
    if (m->failed) {
        sim_mdns_close(m);
        return NULL;
    }
    return m;
}

int sim_mdns_step(sim_mdns_t *m)
{
    AvahiStringList *now[2];
    /* each iteration dispatches at most one event */
    for (int i = 0; i < 8 && !m->failed; i++)
        if (avahi_simple_poll_iterate(m->poll, 0) != 0)
            m->failed = true;
    if (m->lost) {   /* not from inside its own callback: now */
        int error = 0;
        avahi_client_free(m->client);   /* and the group with it */
        m->client = NULL;
        m->group = NULL;
        m->lost = false;
        m->client = avahi_client_new(avahi_simple_poll_get(m->poll), AVAHI_CLIENT_NO_FAIL,
                                     on_client, m, &error);   /* waits for the daemon */
        if (m->client == NULL) {
            fprintf(stderr, "aloft-sim: mDNS: %s\n", avahi_strerror(error));
            m->failed = true;
        }
    }
    if (m->failed)
        return -1;
    if (m->group == NULL)
        return 0;   /* not published (yet): the daemon is starting or away */
    build(m, now);
    for (int i = 0; i < (m->cfg->espota ? 2 : 1); i++) {
        if (avahi_string_list_equal(now[i], m->txt[i]))
            continue;
        int err = avahi_entry_group_update_service_txt_strlst(
            m->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, 0, m->cfg->name, types[i], NULL,
            now[i]);
        if (err) {
            fprintf(stderr, "aloft-sim: cannot re-announce %s: %s\n", types[i],
                    avahi_strerror(err));
            m->failed = true;
        }
        avahi_string_list_free(m->txt[i]);
        m->txt[i] = now[i];
        now[i] = NULL;
    }
    avahi_string_list_free(now[0]);
    avahi_string_list_free(now[1]);
    return m->failed ? -1 : 0;
}

int sim_mdns_moved(sim_mdns_t *m)
{
    if (m->group == NULL)
        return m->failed ? -1 : 0;   /* not published yet: it will be at the new address */
    avahi_entry_group_free(m->group);
    m->group = NULL;
    int err = publish(m);
    if (err)
        failed(m, err);
    return m->failed ? -1 : 0;
}

void sim_mdns_close(sim_mdns_t *m)
{
    if (m == NULL)
        return;
    if (m->client)
        avahi_client_free(m->client);   /* frees the group: the daemon says goodbye */
    if (m->poll)
        avahi_simple_poll_free(m->poll);
    avahi_string_list_free(m->txt[0]);
    avahi_string_list_free(m->txt[1]);
    free(m);
}
