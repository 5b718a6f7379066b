/*
 * sim/web_server.h — aloft-sim's web page and API (aloft/web.h) over
 * libmicrohttpd, driven from the simulator's one loop (no thread: MHD's
 * external select mode, web_server_step each turn), so the engine runs on
 * the same thread as the other transports and the device.
 */
#ifndef ALOFT_SIM_WEB_SERVER_H
#define ALOFT_SIM_WEB_SERVER_H

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
    uint64_t active_ms;          /* last request seen */
} web_server_t;

/* Listen on bind:port (IPv4). Returns 0 or ALOFT_ERR_CONNECT (cannot bind)
 * after printing why. */
int web_server_open(web_server_t *s, const char *bind, uint16_t port);

/* Serve what is ready, without waiting. */
void web_server_step(web_server_t *s);

/* A request was seen in the last second (the loop then waits less). */
bool web_server_busy(const web_server_t *s);

void web_server_close(web_server_t *s);

#endif /* ALOFT_SIM_WEB_SERVER_H */
