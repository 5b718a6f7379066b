/* Fake ESP-IDF esp_random.h (esp_hw_support). */
#ifndef FAKE_ESP_RANDOM_H
#define FAKE_ESP_RANDOM_H

#include <stddef.h>
#include <stdint.h>

uint32_t esp_random(void);
void esp_fill_random(void *buf, size_t len);

#endif
