/* tests/esp/fakes/include/esp_timer.h — esp_timer_get_time over
 * CLOCK_MONOTONIC, and timers whose callbacks run in one thread of their
 * own, as IDF's esp_timer task runs them (esp_timer.c). */
#ifndef FAKE_ESP_TIMER_H
#define FAKE_ESP_TIMER_H

#include <stdint.h>

#include "esp_err.h"

/* Microseconds since the program started. */
int64_t esp_timer_get_time(void);

typedef struct esp_timer *esp_timer_handle_t;
typedef struct esp_timer_create_args {
    void (*callback)(void *arg);
    void *arg;
    const char *name;
} esp_timer_create_args_t;

esp_err_t esp_timer_create(const esp_timer_create_args_t *args, esp_timer_handle_t *out);
/* ESP_ERR_INVALID_STATE when it runs already (as IDF). */
esp_err_t esp_timer_start_once(esp_timer_handle_t timer, uint64_t timeout_us);
esp_err_t esp_timer_start_periodic(esp_timer_handle_t timer, uint64_t period_us);
/* ESP_ERR_INVALID_STATE when it does not run. */
esp_err_t esp_timer_stop(esp_timer_handle_t timer);

#endif
