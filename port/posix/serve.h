/*
 * port/posix/serve.h — the simulator's network port: sockets and a
 * poll() loop around the sans-I/O protocol engines. It owns the espota UDP
 * socket and the connect-back TCP connection, carries out the engine's
 * actions, serves the native protocol on TCP at the same port number
 * (serve_native.h), and reboots the simulated device when an update asks
 * for it. Both protocols' logins share one limiter. Everything binds to the
 * address given (127.0.0.1 by default).
 */
#ifndef ALOFT_POSIX_SERVE_H
#define ALOFT_POSIX_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/espota_device.h"
#include "aloft/update.h"
#include "aloft/wire/native.h"
#include "serve_native.h"

typedef struct serve_config {
    const aloft_device_t *dev;     /* what the engines update */
    aloft_update_t *update;        /* the pipeline, shared by both protocols */
    /* Restart the device (REBOOT_DELAY_MS after an update asked for it,
     * every connection closed and every session forgotten first). Returns
     * 0, or a negative error that serve_step passes up (no bootable image). */
    int (*reboot)(void *ctx);
    void *ctx;
    const char *name;              /* device name in the native HELLO; NULL = "aloft" */
    const char *bind;              /* IPv4 address; NULL = 127.0.0.1 */
    uint16_t port;                 /* espota UDP and native TCP port; 0 = 3232 */
    aloft_espota_auth_t auth;      /* NONE without a password */
    const char *secret;            /* hex H for auth (copied) */
    uint32_t idle_timeout_ms;      /* 0 = engine default (10 s) */
    const aloft_native_verifier_t *verifier;   /* native login; NULL = open (copied) */
    bool no_espota;                /* serve native only (no espota UDP socket) */
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
 * Returns 0, or -1 after printing why (e.g. the port is in use) to stderr. */
int serve_open(serve_t *n, const serve_config_t *cfg);

/* Handle timers, then wait up to wait_ms for network events and handle
 * them; performs a pending reboot. Returns 0 or cfg->reboot's error. */
int serve_step(serve_t *n, int wait_ms);

/* True while an espota session is past the invitation or a native
 * connection is open. */
bool serve_busy(const serve_t *n);

void serve_close(serve_t *n);

#endif /* ALOFT_POSIX_SERVE_H */
