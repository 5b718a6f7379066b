/*
 * tests/esp/fakes/include/freertos/FreeRTOS.h — the few FreeRTOS types and
 * macros the ESP-IDF port uses, for running it on Linux over pthreads
 * (fakes/freertos.c). Same names and meanings as ESP-IDF's FreeRTOS.
 */
#ifndef FAKE_FREERTOS_H
#define FAKE_FREERTOS_H

#include <stdint.h>

typedef int BaseType_t;
typedef unsigned UBaseType_t;
typedef uint32_t TickType_t;
typedef void (*TaskFunction_t)(void *);

#define pdFALSE 0
#define pdTRUE 1
#define pdPASS 1
#define pdFAIL 0
#define configTICK_RATE_HZ 1000
#define portTICK_PERIOD_MS (1000 / configTICK_RATE_HZ)
#define portMAX_DELAY ((TickType_t)0xffffffffu)
#define pdMS_TO_TICKS(ms) ((TickType_t)(((uint64_t)(ms) * configTICK_RATE_HZ) / 1000))
#define tskNO_AFFINITY 0x7fffffff

#endif
