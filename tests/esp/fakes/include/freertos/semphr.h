/*
 * tests/esp/fakes/include/freertos/semphr.h — static FreeRTOS semaphores
 * (binary, recursive mutex) over a pthread mutex and condition variable.
 */
#ifndef FAKE_FREERTOS_SEMPHR_H
#define FAKE_FREERTOS_SEMPHR_H

#include <pthread.h>

#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

typedef struct StaticSemaphore {
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned count;         /* binary: 0/1; mutex: 1 when free */
    TaskHandle_t holder;    /* recursive mutex */
    unsigned depth;
    int recursive;
} StaticSemaphore_t;

typedef StaticSemaphore_t *SemaphoreHandle_t;

SemaphoreHandle_t xSemaphoreCreateBinaryStatic(StaticSemaphore_t *buf);
SemaphoreHandle_t xSemaphoreCreateRecursiveMutexStatic(StaticSemaphore_t *buf);
SemaphoreHandle_t xSemaphoreCreateMutexStatic(StaticSemaphore_t *buf);
BaseType_t xSemaphoreTake(SemaphoreHandle_t s, TickType_t ticks);
BaseType_t xSemaphoreGive(SemaphoreHandle_t s);
BaseType_t xSemaphoreTakeRecursive(SemaphoreHandle_t s, TickType_t ticks);
BaseType_t xSemaphoreGiveRecursive(SemaphoreHandle_t s);
void vSemaphoreDelete(SemaphoreHandle_t s);

#endif
