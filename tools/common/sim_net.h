/*
 * tools/common/sim_net.h — the simulator's network port: sockets and a
 * poll() loop around the sans-I/O protocol engines. It owns the espota UDP
 * socket and the connect-back TCP connection, carries out the engine's
 * actions, serves the native protocol on TCP at the same port number
 * (sim_native.h), and reboots the simulated device when an update asks for
 * it. Everything binds to the address given (127.0.0.1 by default).
 */
#ifndef ALOFT_SIM_NET_H
#define ALOFT_SIM_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/espota_device.h"
#include "aloft/native.h"
#include "sim_device.h"
#include "sim_native.h"

typedef struct sim_net_config {
    const char *bind;              /* IPv4 address; NULL = 127.0.0.1 */
    uint16_t port;                 /* espota UDP and native TCP port; 0 = 3232 */
    aloft_espota_auth_t auth;      /* NONE without a password */
    const char *secret;            /* hex H for auth (copied) */
    uint32_t idle_timeout_ms;      /* 0 = engine default (10 s) */
    const aloft_native_verifier_t *verifier;   /* native login; NULL = open (copied) */
} sim_net_config_t;

typedef struct sim_net {
    sim_device_t *sim;
    aloft_espota_t espota;
    char secret[ALOFT_ESPOTA_HEX_MAX];
    int udp;                       /* espota socket */
    int tcp;                       /* connect-back, -1 when none */
    bool connecting;
    bool reboot_pending;
    uint64_t reboot_at_ms;
    sim_native_t native;
} sim_net_t;

/* Bind the espota socket and the native listener and start the engines.
 * Returns 0, or -1 after printing why (e.g. the port is in use) to stderr. */
int sim_net_open(sim_net_t *n, sim_device_t *sim, const sim_net_config_t *cfg);

/* Handle timers, then wait up to wait_ms for network events and handle
 * them; performs a pending reboot. Returns 0 or a negative error code
 * (the device failed to boot). */
int sim_net_step(sim_net_t *n, int wait_ms);

/* True while an espota session is past the invitation or a native
 * connection is open. */
bool sim_net_busy(const sim_net_t *n);

void sim_net_close(sim_net_t *n);

#endif /* ALOFT_SIM_NET_H */
