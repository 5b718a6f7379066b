/* Fake ESP-IDF esp_flash.h (spi_flash): the main chip's handle. */
#ifndef FAKE_ESP_FLASH_H
#define FAKE_ESP_FLASH_H

#include "esp_partition.h"

extern esp_flash_t *esp_flash_default_chip;

#endif
