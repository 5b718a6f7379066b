/*
 * port/sockets/serve_native.h — a device's native-protocol listener: a
 * TCP socket (same port as espota's UDP one) and up to two connections,
 * each driven by an aloft_native_device_t engine; when both are taken, a
 * new connection gets a slot as aloft_native_admit decides (it may displace
 * an unfinished login). serve's poll() loop calls it; it never blocks.
 */
#ifndef ALOFT_SERVE_NATIVE_H
#define ALOFT_SERVE_NATIVE_H

#include <stdbool.h>
#include <stdint.h>
/* The one ESP-IDF has (no <poll.h>), and before any lwIP header: lwIP
 * defines poll types of its own unless these exist. */
#include <sys/poll.h>

#include "aloft/native_device.h"

#define SERVE_NATIVE_CONNS 2         /* more: see aloft_native_admit */
#define SERVE_NATIVE_POLLFDS (1 + SERVE_NATIVE_CONNS)

typedef struct serve_native_conn {
    int fd;                        /* -1 when free */
    aloft_native_device_t eng;
} serve_native_conn_t;

struct serve_config;

typedef struct serve_native {
    int listen_fd;                 /* -1 when not listening */
    serve_native_conn_t conn[SERVE_NATIVE_CONNS];
    const struct serve_config *serve;   /* clock, log, inflate */
    aloft_native_device_config_t cfg;
    aloft_native_verifier_t verifier;
    bool reboot;                   /* an update finished and asked for a restart */
    int last_fd;                   /* that update's connection, closed for writing while
                                      its RESULT leaves; -1 when none */
} serve_native_t;

/* Listen on TCP addr:port (network byte order address, host order port)
 * for cfg's device (serve.h; cfg must outlive s), logins limited by
 * limiter (shared with espota; it must outlive s). cfg->verifier NULL =
 * open device (no password). Returns 0 or ALOFT_ERR_CONNECT after logging
 * why. */
int serve_native_open(serve_native_t *s, const struct serve_config *cfg,
                      aloft_login_limiter_t *limiter, uint32_t addr_be, uint16_t port);

/* The sockets to poll: writes up to SERVE_NATIVE_POLLFDS entries, returns how many. */
int serve_native_pollfds(const serve_native_t *s, struct pollfd *pfd);

/* Handle what poll reported for the entries serve_native_pollfds wrote. */
void serve_native_handle(serve_native_t *s, const struct pollfd *pfd, int n);

/* True while an engine has work that should not wait for the network
 * (a frame to decode, erase-ahead): poll with timeout 0 then. */
bool serve_native_has_work(const serve_native_t *s);

/* One piece of that work per engine (call when nothing was readable). */
void serve_native_step(serve_native_t *s);

/* Timeouts. */
void serve_native_tick(serve_native_t *s);

/* True once the connection that asked for the restart has handed all it
 * sent, its RESULT and FIN, to the network: the restart need not wait
 * longer. False while bytes wait, and where the stack cannot tell (lwIP
 * has no SIOCOUTQNSD): serve then waits its fixed delay. */
bool serve_native_sent(const serve_native_t *s);

/* True while a connection is open. */
bool serve_native_active(const serve_native_t *s);

/* Close every connection (reboot, exit); keeps listening unless close_listen. */
void serve_native_close(serve_native_t *s, bool close_listen);

#endif /* ALOFT_SERVE_NATIVE_H */
