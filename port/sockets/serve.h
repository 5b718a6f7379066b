/*
 * port/sockets/serve.h — a device's network port: BSD sockets and a
 * poll() loop around the sans-I/O protocol engines, the same on Linux
 * (aloft-sim) and on ESP-IDF (lwIP). It owns the espota UDP socket and the
 * connect-back TCP connection, carries out the engine's actions, serves the
 * native protocol on TCP at the same port number (serve_native.h), and
 * restarts the device when an update asks for it. Both protocols' logins
 * share one limiter. Everything binds to the address given (127.0.0.1 by
 * default; a device binds 0.0.0.0).
 *
 * Nothing here knows the platform: the clock, the restart, the zlib decoder
 * and where messages go come in through the config.
 */
#ifndef ALOFT_SERVE_H
#define ALOFT_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/espota_device.h"
#include "aloft/update.h"
#include "aloft/wire/native.h"
#include "serve_native.h"

typedef struct serve_config {
    const aloft_device_t *dev;     /* what the engines update */
    aloft_update_t *update;        /* the pipeline, shared by both protocols */
    /* Monotonic milliseconds (never stepped); required. */
    uint64_t (*now_ms)(void *ctx);
    /* Restart the device (after an update asked for it: a native one once
     * its RESULT has left, else REBOOT_DELAY_MS later; every connection
     * closed and every session forgotten first). Returns
     * 0, or a negative error that serve_step passes up (no bootable image).
     * NULL: nothing happens (the sessions are still forgotten). */
    int (*reboot)(void *ctx);
    /* One line saying why serve_open failed (no newline); NULL = silent. */
    void (*log)(void *ctx, const char *msg);
    void *ctx;                     /* for now_ms, reboot and log */
    /* The native engine's zlib decoder (no DEFLATE cap when NULL); it must
     * outlive the serve_t. Its stream is ended when connections close. */
    const aloft_inflate_t *inflate;
    /* The native engine's delta stage (no DELTA cap when NULL; needs
     * inflate); zeroed by the caller, it must outlive the serve_t. */
    aloft_native_delta_t *delta;
    const char *name;              /* device name in the native HELLO; NULL = "aloft" */
    const char *bind;              /* IPv4 address; NULL = 127.0.0.1 */
    uint16_t port;                 /* espota UDP and native TCP port; 0 = 3232 */
    /* Appended to a bind failure in parentheses (what to do); may be NULL. */
    const char *bind_hint;
    aloft_espota_auth_t auth;      /* NONE without a password */
    const char *secret;            /* hex H for auth (copied) */
    uint32_t idle_timeout_ms;      /* 0 = engine default (10 s) */
    uint32_t window;               /* native DATA bytes in flight; 0 = engine default */
    const aloft_native_verifier_t *verifier;   /* native login; NULL = open (copied) */
    bool no_espota;                /* serve native only (no espota UDP socket) */
    bool no_native;                /* serve espota only (no TCP listener) */
} serve_config_t;

typedef struct serve {
    serve_config_t cfg;
    aloft_login_limiter_t limiter; /* one for both protocols' logins */
    aloft_espota_t espota;
    char secret[ALOFT_ESPOTA_HEX_MAX];
    int udp;                       /* espota socket, -1 with no_espota */
    int tcp;                       /* connect-back, -1 when none */
    bool connecting;
    bool reboot_pending;
    uint64_t reboot_at_ms;
    serve_native_t native;
} serve_t;

/* Bind the espota socket and the native listener and start the engines.
 * Returns 0, ALOFT_ERR_ARG (bad address or configuration) or
 * ALOFT_ERR_CONNECT (cannot bind, e.g. the port is in use), after one
 * line through cfg->log saying why. */
int serve_open(serve_t *n, const serve_config_t *cfg);

/* Handle timers (idle after a restart: identify the running image for the
 * delta stage), then wait up to wait_ms for network events and handle
 * them; performs a pending reboot. Returns 0 or cfg->reboot's error. */
int serve_step(serve_t *n, int wait_ms);

/* Wait up to wait_ms until serve_step has something to do (a socket is
 * ready, an engine has work, a restart is due), handling nothing: a port
 * whose API calls share a lock with the loop waits here without holding
 * it, then runs serve_step(n, 0) under it, so a lower-priority task
 * calling the API is never starved by the loop. Returns > 0 ready, 0 on
 * timeout, < 0 if poll() failed. */
int serve_wait(const serve_t *n, int wait_ms);

/* Restart the device REBOOT_DELAY_MS from now, as after an espota or
 * native update (every connection closed, sessions forgotten, then
 * cfg->reboot): for a transport served elsewhere (the web page). */
void serve_request_reboot(serve_t *n);

/* True while an espota session is past the invitation or a native
 * connection is open. */
bool serve_busy(const serve_t *n);

/* Close every socket. Sessions end as if their peers had gone: an update
 * in progress is abandoned (hooks resumed, firmware and otadata untouched,
 * a native transfer's durable prefix kept for a resume). */
void serve_close(serve_t *n);

/* Internal (serve.c, serve_native.c): log "cannot bind PROTO ip:port:
 * strerror(err) (hint)". */
void serve_bind_failed(const serve_config_t *cfg, const char *proto, const char *ip,
                       uint16_t port, int err);

#endif /* ALOFT_SERVE_H */
