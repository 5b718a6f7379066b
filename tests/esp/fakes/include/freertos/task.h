/*
 * tests/esp/fakes/include/freertos/task.h — FreeRTOS tasks as pthreads.
 */
#ifndef FAKE_FREERTOS_TASK_H
#define FAKE_FREERTOS_TASK_H

#include "freertos/FreeRTOS.h"

typedef struct fake_task *TaskHandle_t;

/* A detached thread running fn(arg); fn must end with vTaskDelete(NULL)
 * (returning from it aborts, as FreeRTOS does). stack is in bytes (ESP-IDF);
 * priority and core are recorded (fake_task_last). Returns pdPASS. */
BaseType_t xTaskCreatePinnedToCore(TaskFunction_t fn, const char *name, uint32_t stack,
                                   void *arg, UBaseType_t priority, TaskHandle_t *out,
                                   BaseType_t core);

/* NULL: the calling task (its thread ends here). Others are not supported. */
void vTaskDelete(TaskHandle_t task);

void vTaskDelay(TickType_t ticks);

/* The calling task; a thread not made by xTaskCreatePinnedToCore gets a
 * handle of its own too (app_main's task). */
TaskHandle_t xTaskGetCurrentTaskHandle(void);

TickType_t xTaskGetTickCount(void);

#endif
