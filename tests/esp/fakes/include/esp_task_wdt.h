/*
 * tests/esp/fakes/include/esp_task_wdt.h — the task watchdog (esp_system)
 * as the port uses it; fakes/esp_task_wdt.c counts the resets and the
 * longest silence of each subscribed task (fake_task.h).
 */
#ifndef FAKE_ESP_TASK_WDT_H
#define FAKE_ESP_TASK_WDT_H

#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

/* NULL = the calling task. ESP_ERR_INVALID_ARG when subscribed already. */
esp_err_t esp_task_wdt_add(TaskHandle_t task);

/* IDF: ESP_ERR_NOT_FOUND when the calling task is not subscribed. */
esp_err_t esp_task_wdt_reset(void);

/* NULL = the calling task. ESP_ERR_INVALID_ARG when not subscribed. */
esp_err_t esp_task_wdt_delete(TaskHandle_t task);

#endif
