/*
 * sim/web_server.h — aloft-sim's web page and API (aloft/web.h) over
 * libmicrohttpd, on MHD's own thread, as esp_http_server runs its own task
 * on a device: every call into the engine (and through it the pipeline and
 * the device) holds the loop's lock, which the simulator's loop holds
 * while it runs the other transports and lets go while it waits
 * (serve_wait), the ESP-IDF port's shape.
 */
#ifndef ALOFT_SIM_WEB_SERVER_H
#define ALOFT_SIM_WEB_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "aloft/web.h"

#define WEB_SERVER_EXCHANGES 4   /* requests in flight at once (more get 503) */

typedef struct web_slot {
    aloft_web_exchange_t x;
    bool used, finished;
} web_slot_t;

typedef struct web_server {
    aloft_web_t *web;
    struct MHD_Daemon *daemon;
    uint64_t (*now_ms)(void *ctx);
    /* A response asked for a restart (update activated, rollback): called
     * once it is queued; the port restarts ~100 ms later. */
    void (*reboot)(void *ctx);
    void *ctx;
    web_slot_t pool[WEB_SERVER_EXCHANGES];
    pthread_mutex_t *lock;       /* the loop's */
} web_server_t;

/* Listen on bind:port (IPv4) and start MHD's thread. Returns 0 or
 * ALOFT_ERR_CONNECT (cannot bind) after printing why. */
int web_server_open(web_server_t *s, const char *bind, uint16_t port);

/* Stop the thread (waits for it; call without holding the lock). */
void web_server_close(web_server_t *s);

#endif /* ALOFT_SIM_WEB_SERVER_H */
