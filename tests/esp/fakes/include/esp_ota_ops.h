/* Fake ESP-IDF esp_ota_ops.h (app_update): what the port calls. */
#ifndef FAKE_ESP_OTA_OPS_H
#define FAKE_ESP_OTA_OPS_H

#include "esp_partition.h"

const esp_partition_t *esp_ota_get_running_partition(void);

#endif
