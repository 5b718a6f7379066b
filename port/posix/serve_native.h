/*
 * port/posix/serve_native.h — a device's native-protocol listener: a
 * TCP socket (same port as espota's UDP one) and up to two connections,
 * each driven by an aloft_native_device_t engine; when both are taken, a
 * new connection gets a slot as aloft_native_admit decides (it may displace
 * an unfinished login). serve's poll() loop calls it; it never blocks.
 */
#ifndef ALOFT_POSIX_SERVE_NATIVE_H
#define ALOFT_POSIX_SERVE_NATIVE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "aloft/native_device.h"
#include "inflate_zlib.h"

#define SERVE_NATIVE_CONNS 2         /* more: see aloft_native_admit */
#define SERVE_NATIVE_POLLFDS (1 + SERVE_NATIVE_CONNS)
#define SERVE_NATIVE_WINDOW_BITS 12  /* zlib window the simulated device inflates */

typedef struct serve_native_conn {
    int fd;                        /* -1 when free */
    aloft_native_device_t eng;
} serve_native_conn_t;

typedef struct serve_native {
    int listen_fd;
    serve_native_conn_t conn[SERVE_NATIVE_CONNS];
    aloft_native_device_config_t cfg;
    aloft_native_verifier_t verifier;
    inflate_zlib_t zst;
    aloft_inflate_t inflate;
    bool reboot;                   /* an update finished and asked for a restart */
} serve_native_t;

struct serve_config;

/* Listen on TCP addr:port (network byte order address, host order port)
 * for cfg's device (serve.h), logins limited by limiter (shared with
 * espota; it must outlive s). cfg->verifier NULL = open device (no
 * password). Returns 0 or -1 after printing why. */
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

/* True while a connection is open. */
bool serve_native_active(const serve_native_t *s);

/* Close every connection (reboot, exit); keeps listening unless close_listen. */
void serve_native_close(serve_native_t *s, bool close_listen);

#endif /* ALOFT_POSIX_SERVE_NATIVE_H */
