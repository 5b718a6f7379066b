/* Fake ESP-IDF esp_task_wdt.h (esp_system). */
#ifndef FAKE_ESP_TASK_WDT_H
#define FAKE_ESP_TASK_WDT_H

#include "esp_err.h"

/* IDF: ESP_ERR_NOT_FOUND when the calling task is not subscribed. */
esp_err_t esp_task_wdt_reset(void);

#endif
