/* tests/esp/fakes/include/esp_mac.h — the station MAC of the fake chip. */
#ifndef FAKE_ESP_MAC_H
#define FAKE_ESP_MAC_H

#include <stdint.h>

#include "esp_err.h"

typedef enum {
    ESP_MAC_WIFI_STA = 0,
} esp_mac_type_t;

/* 24:0a:c4:12:34:56 (an Espressif OUI). */
esp_err_t esp_read_mac(uint8_t *mac, esp_mac_type_t type);

#endif
