/*
 * port/esp-idf/src/esp_task.h — the socket loop (port/sockets/serve.h)
 * over lwIP: run by a FreeRTOS task of its own, or one turn at a time by
 * aloft_handle(). It subscribes that task to the task watchdog and resets
 * it every turn, closes and rebinds the sockets when the IP address changes
 * or goes (an update in progress is abandoned, firmware untouched), and
 * stops cleanly. One instance (static state).
 *
 * Internal to the component: esp_app.c drives it.
 */
#ifndef ALOFT_ESP_TASK_H
#define ALOFT_ESP_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "serve.h"

typedef struct esp_task_config {
    serve_config_t serve;     /* copied; now_ms may be NULL (esp_timer) */
    bool task;                /* own task; false: the caller runs esp_task_handle */
    uint32_t stack;           /* bytes */
    uint8_t priority;
    int8_t core;              /* -1 = no affinity */
    /* After every turn, outside the lock (esp_app derives its events). */
    void (*after_turn)(void *ctx);
    void *ctx;
} esp_task_config_t;

/* Bind the sockets (in the caller: a busy port fails here), register for
 * IP events and start the task. Returns 0, ALOFT_ERR_BUSY (running),
 * serve_open's error, or ALOFT_ERR_BUFFER (no memory for the task). */
int esp_task_start(const esp_task_config_t *cfg);

/* No-task mode: one turn, waiting up to wait_ms for the network.
 * ALOFT_ERR_STATE when not started or in task mode. */
int esp_task_handle(uint32_t wait_ms);

/* Close the sockets (abandoning any update: hooks resumed), end the task
 * and wait for it; from inside the task (a callback) only ask it to end.
 * Safe when not started. */
void esp_task_stop(void);

bool esp_task_running(void);

/* The loop's lock (recursive): held while the engines and the pipeline
 * run; take it to touch what they use (otadata, quiesce) from elsewhere. */
void esp_task_lock(void);
void esp_task_unlock(void);

/* The loop's state, to read under the lock. */
const serve_t *esp_task_serve(void);

/* The device's one failed-login limiter (the loop's), for the web API;
 * use it under the lock. */
aloft_login_limiter_t *esp_task_limiter(void);

/* Restart ~100 ms from now through the loop, as after an update of its
 * own (the web API's); call under the lock. */
void esp_task_request_reboot(void);

#endif /* ALOFT_ESP_TASK_H */
