/*
 * tools/common/sim_native.h — the simulator's native-protocol listener: a
 * TCP socket (same port as espota's UDP one) and up to two connections,
 * each driven by an aloft_native_device_t engine. sim_net's poll() loop
 * calls it; it never blocks.
 */
#ifndef ALOFT_SIM_NATIVE_H
#define ALOFT_SIM_NATIVE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "aloft/native_device.h"
#include "inflate_zlib.h"
#include "sim_device.h"

#define SIM_NATIVE_CONNS 2         /* more are accepted and closed at once */
#define SIM_NATIVE_POLLFDS (1 + SIM_NATIVE_CONNS)
#define SIM_NATIVE_WINDOW_BITS 12  /* zlib window the simulated device inflates */

typedef struct sim_native_conn {
    int fd;                        /* -1 when free */
    aloft_native_device_t eng;
} sim_native_conn_t;

typedef struct sim_native {
    int listen_fd;
    sim_native_conn_t conn[SIM_NATIVE_CONNS];
    aloft_native_device_config_t cfg;
    aloft_native_verifier_t verifier;
    aloft_native_limiter_t limiter;
    inflate_zlib_t zst;
    aloft_inflate_t inflate;
    bool reboot;                   /* an update finished and asked for a restart */
} sim_native_t;

/* Listen on TCP addr:port (network byte order address, host order port)
 * for the device sim. verifier NULL = open device (no password). Returns 0
 * or -1 after printing why. */
int sim_native_open(sim_native_t *s, sim_device_t *sim, uint32_t addr_be, uint16_t port,
                    const aloft_native_verifier_t *verifier, uint32_t idle_timeout_ms);

/* The sockets to poll: writes up to SIM_NATIVE_POLLFDS entries, returns how many. */
int sim_native_pollfds(const sim_native_t *s, struct pollfd *pfd);

/* Handle what poll reported for the entries sim_native_pollfds wrote. */
void sim_native_handle(sim_native_t *s, const struct pollfd *pfd, int n);

/* True while an engine has work that should not wait for the network
 * (a frame to decode, erase-ahead): poll with timeout 0 then. */
bool sim_native_has_work(const sim_native_t *s);

/* One piece of that work per engine (call when nothing was readable). */
void sim_native_step(sim_native_t *s);

/* Timeouts. */
void sim_native_tick(sim_native_t *s);

/* True while a connection is open. */
bool sim_native_active(const sim_native_t *s);

/* Close every connection (reboot, exit); keeps listening unless close_listen. */
void sim_native_close(sim_native_t *s, bool close_listen);

#endif /* ALOFT_SIM_NATIVE_H */
