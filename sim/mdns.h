/*
 * sim/mdns.h — aloft-sim announces itself by mDNS as a device does:
 * _aloft._tcp and (unless espota is off) _arduino._tcp with the TXT
 * records of aloft/discovery.h, and NAME.local for its --bind address,
 * published through the Avahi daemon (libavahi-client). The records follow
 * the device: each step rebuilds them and re-announces what changed (a
 * reboot into another version, a rollback), and sim_mdns_moved announces
 * a new address.
 */
#ifndef ALOFT_SIM_MDNS_H
#define ALOFT_SIM_MDNS_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/discovery.h"

typedef struct sim_mdns sim_mdns_t;

typedef struct sim_mdns_config {
    const char *name;         /* instance and host name (NAME.local) */
    const char *bind;         /* IPv4 the device serves on; "0.0.0.0": this machine's
                                 own host name, no NAME.local record */
    uint16_t port;            /* native TCP and espota UDP port */
    bool espota;              /* announce _arduino._tcp too */
    aloft_discovery_state_t state;   /* what the records say; read at every step */
} sim_mdns_config_t;

/* Connect to the Avahi daemon and publish. The config is kept by pointer
 * and must outlive the handle. Returns the handle, or NULL after one line
 * on stderr saying why. */
sim_mdns_t *sim_mdns_open(const sim_mdns_config_t *cfg);

/* Handle the daemon's events without blocking and re-announce records
 * that changed; a daemon that went away (restarted) is reconnected to and
 * everything published again once it is back. Returns 0, or -1 after a
 * line on stderr (the name is taken on the network). */
int sim_mdns_step(sim_mdns_t *m);

/* The device serves at a new address (cfg->bind changed): withdraw
 * NAME.local and the services (goodbyes) and publish them again there, as
 * the mdns component does when its interface gets a new address. Returns
 * 0, or -1 after a line on stderr. */
int sim_mdns_moved(sim_mdns_t *m);

/* Withdraw everything (goodbye packets) and disconnect. NULL is ignored. */
void sim_mdns_close(sim_mdns_t *m);

#endif /* ALOFT_SIM_MDNS_H */
