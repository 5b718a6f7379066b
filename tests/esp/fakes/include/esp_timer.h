/* tests/esp/fakes/include/esp_timer.h — esp_timer_get_time over CLOCK_MONOTONIC. */
#ifndef FAKE_ESP_TIMER_H
#define FAKE_ESP_TIMER_H

#include <stdint.h>

/* Microseconds since the program started. */
int64_t esp_timer_get_time(void);

#endif
