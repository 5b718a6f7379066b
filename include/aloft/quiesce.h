/*
 * aloft/quiesce.h — pause the application's radio- and CPU-hungry work (BLE
 * scanning, MQTT reconnect loops, sensor polling) while an update runs.
 *
 * The app registers pause/resume hooks once. The update pipeline pauses them
 * only when an update has been authenticated and accepted, and resumes them
 * on every way out: success, error, timeout, abort. Pausing twice or
 * resuming twice is harmless, so no way out can leave the app paused.
 */
#ifndef ALOFT_QUIESCE_H
#define ALOFT_QUIESCE_H

#include <stdbool.h>
#include <stdint.h>

#define ALOFT_QUIESCE_MAX 8

typedef struct aloft_quiesce_hook {
    const char *name;            /* for logs: "ble-scan", "mqtt" */
    void (*pause)(void *ctx);
    void (*resume)(void *ctx);
    void *ctx;
} aloft_quiesce_hook_t;

/* Internal; do not rely on the fields. Zero-initialise. */
typedef struct aloft_quiesce {
    aloft_quiesce_hook_t hooks[ALOFT_QUIESCE_MAX];
    uint8_t count;
    bool paused;
} aloft_quiesce_t;

/* Register a hook; pause and resume must both be given. If the registry is
 * paused already, the new hook is paused at once. Returns 0,
 * ALOFT_ERR_ARG, or ALOFT_ERR_BUFFER when ALOFT_QUIESCE_MAX hooks exist. */
int aloft_quiesce_add(aloft_quiesce_t *q, const char *name,
                      void (*pause)(void *), void (*resume)(void *), void *ctx);

/* Pause every hook in registration order (no-op if already paused). */
void aloft_quiesce_pause(aloft_quiesce_t *q);

/* Resume every hook in reverse order (no-op if not paused). */
void aloft_quiesce_resume(aloft_quiesce_t *q);

bool aloft_quiesce_paused(const aloft_quiesce_t *q);

#endif /* ALOFT_QUIESCE_H */
