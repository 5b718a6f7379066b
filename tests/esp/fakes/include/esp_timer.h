/* tests/esp/fakes/include/esp_timer.h — esp_timer_get_time over CLOCK_MONOTONIC. */
#ifndef FAKE_ESP_TIMER_H
#define FAKE_ESP_TIMER_H

#include <stdint.h>

/* Microseconds since the program started. */
int64_t esp_timer_get_time(void);

/* One-shot timers, as esp_agent.c uses them (declarations only: no test
 * starts the MQTT agent's ESP-IDF port). */
#include "esp_err.h"
typedef struct esp_timer *esp_timer_handle_t;
typedef struct esp_timer_create_args {
    void (*callback)(void *arg);
    void *arg;
    const char *name;
} esp_timer_create_args_t;
esp_err_t esp_timer_create(const esp_timer_create_args_t *args, esp_timer_handle_t *out);
esp_err_t esp_timer_start_once(esp_timer_handle_t timer, uint64_t timeout_us);
esp_err_t esp_timer_start_periodic(esp_timer_handle_t timer, uint64_t period_us);
esp_err_t esp_timer_stop(esp_timer_handle_t timer);

#endif
