/*
 * port/esp-idf/src/esp_app.h — what the application API (esp_app.c) lends
 * the transports outside the serving loop (the HTTP pull, esp_pull.c; the
 * web page, esp_web.c): the device it serves, its delta stage, and its
 * events. Internal to the component; the first three under esp_task_lock().
 */
#ifndef ALOFT_ESP_APP_H
#define ALOFT_ESP_APP_H

#include <stdbool.h>

#include "aloft_esp.h"
#include "aloft/pull.h"
#include "esp_device.h"

/* The device once aloft_start served; NULL before (or after aloft_stop). */
esp_device_t *esp_app_device(void);

/* While set, updates are reported as coming from proto; 0: from the
 * loop's own transports (espota or native). The web sets ALOFT_PROTO_WEB
 * whenever a request of its touched the pipeline, and the loop's next turn
 * clears it once reported: its events come from the loop, in the task the
 * application expects them in (aloft_handle's caller or aloft's task). */
void esp_app_set_source(aloft_esp_proto_t proto);

/* The delta stage the native server shares with the pull, and the inflate
 * it decodes with; stage NULL when the device takes no patches
 * (CONFIG_ALOFT_DELTA off, config delta false, or no inflate). */
aloft_pull_delta_t esp_app_delta(void);

/* Derive and deliver the events of what the pipeline did (as after every
 * turn of the serving loop). Without the lock held: on_event runs here. */
void esp_app_events(void);

#endif /* ALOFT_ESP_APP_H */
