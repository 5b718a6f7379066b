/*
 * tests/esp/fakes/freertos.c — FreeRTOS tasks and semaphores over pthreads
 * (include/freertos/). Enough for the port's task: create, delete self,
 * delay, a binary semaphore and a recursive mutex with timeouts.
 */
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_task.h"

struct fake_task {
    TaskFunction_t fn;
    void *arg;
    pthread_t thread;
};

static pthread_mutex_t tasks_lock = PTHREAD_MUTEX_INITIALIZER;
static fake_task_info_t last;
static _Thread_local struct fake_task *self;

static void *run(void *p)
{
    self = p;
    self->fn(self->arg);
    fprintf(stderr, "FreeRTOS fake: a task function returned (it must vTaskDelete(NULL))\n");
    abort();
}

BaseType_t xTaskCreatePinnedToCore(TaskFunction_t fn, const char *name, uint32_t stack,
                                   void *arg, UBaseType_t priority, TaskHandle_t *out,
                                   BaseType_t core)
{
    struct fake_task *t = calloc(1, sizeof *t);   /* FreeRTOS allocates the TCB too */
    pthread_attr_t attr;
    if (t == NULL)
        return pdFAIL;
    t->fn = fn;
    t->arg = arg;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t->thread, &attr, run, t) != 0) {
        pthread_attr_destroy(&attr);
        free(t);
        return pdFAIL;
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&tasks_lock);
    snprintf(last.name, sizeof last.name, "%s", name ? name : "");
    last.stack = stack;
    last.priority = priority;
    last.core = core;
    last.created++;
    pthread_mutex_unlock(&tasks_lock);
    if (out)
        *out = t;
    return pdPASS;
}

void vTaskDelete(TaskHandle_t task)
{
    if (task != NULL && task != self) {
        fprintf(stderr, "FreeRTOS fake: vTaskDelete of another task is not supported\n");
        abort();
    }
    free(self);
    self = NULL;
    pthread_exit(NULL);
}

void vTaskDelay(TickType_t ticks)
{
    uint64_t ms = (uint64_t)ticks * portTICK_PERIOD_MS;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

TaskHandle_t xTaskGetCurrentTaskHandle(void)
{
    static _Thread_local struct fake_task other;   /* a thread the fake did not create */
    return self ? self : &other;
}

TickType_t xTaskGetTickCount(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (TickType_t)(((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) /
                        portTICK_PERIOD_MS);
}

void fake_task_last(fake_task_info_t *out)
{
    pthread_mutex_lock(&tasks_lock);
    *out = last;
    pthread_mutex_unlock(&tasks_lock);
}

/* ---- semaphores --------------------------------------------------------- */

static SemaphoreHandle_t sem_init(StaticSemaphore_t *s, unsigned count, int recursive)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->m, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->c, &ca);
    pthread_condattr_destroy(&ca);
    s->count = count;
    s->recursive = recursive;
    return s;
}

SemaphoreHandle_t xSemaphoreCreateBinaryStatic(StaticSemaphore_t *buf)
{
    return sem_init(buf, 0, 0);
}

SemaphoreHandle_t xSemaphoreCreateRecursiveMutexStatic(StaticSemaphore_t *buf)
{
    return sem_init(buf, 1, 1);
}

SemaphoreHandle_t xSemaphoreCreateMutexStatic(StaticSemaphore_t *buf)
{
    return sem_init(buf, 1, 0);
}

/* Wait until count > 0 (ticks: 0 = poll, portMAX_DELAY = forever). */
static BaseType_t take(SemaphoreHandle_t s, TickType_t ticks)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)ticks * portTICK_PERIOD_MS * 1000000u;
    until.tv_sec += (time_t)(ns / 1000000000u);
    until.tv_nsec = (long)(ns % 1000000000u);
    while (s->count == 0) {
        if (ticks == 0)
            return pdFALSE;
        int rc = ticks == portMAX_DELAY ? pthread_cond_wait(&s->c, &s->m)
                                        : pthread_cond_timedwait(&s->c, &s->m, &until);
        if (rc == ETIMEDOUT && s->count == 0)
            return pdFALSE;
    }
    s->count--;
    return pdTRUE;
}

BaseType_t xSemaphoreTake(SemaphoreHandle_t s, TickType_t ticks)
{
    pthread_mutex_lock(&s->m);
    BaseType_t ok = take(s, ticks);
    pthread_mutex_unlock(&s->m);
    return ok;
}

BaseType_t xSemaphoreGive(SemaphoreHandle_t s)
{
    BaseType_t ok = pdFALSE;
    pthread_mutex_lock(&s->m);
    if (s->count == 0) {   /* binary: a second give fails, as in FreeRTOS */
        s->count = 1;
        ok = pdTRUE;
        pthread_cond_signal(&s->c);
    }
    pthread_mutex_unlock(&s->m);
    return ok;
}

BaseType_t xSemaphoreTakeRecursive(SemaphoreHandle_t s, TickType_t ticks)
{
    TaskHandle_t me = xTaskGetCurrentTaskHandle();
    BaseType_t ok = pdTRUE;
    pthread_mutex_lock(&s->m);
    if (s->depth > 0 && s->holder == me)
        s->depth++;
    else if ((ok = take(s, ticks)) == pdTRUE) {
        s->holder = me;
        s->depth = 1;
    }
    pthread_mutex_unlock(&s->m);
    return ok;
}

BaseType_t xSemaphoreGiveRecursive(SemaphoreHandle_t s)
{
    BaseType_t ok = pdFALSE;
    pthread_mutex_lock(&s->m);
    if (s->depth > 0 && s->holder == xTaskGetCurrentTaskHandle()) {
        ok = pdTRUE;
        if (--s->depth == 0) {
            s->holder = NULL;
            s->count = 1;
            pthread_cond_signal(&s->c);
        }
    }
    pthread_mutex_unlock(&s->m);
    return ok;
}

void vSemaphoreDelete(SemaphoreHandle_t s)
{
    pthread_cond_destroy(&s->c);
    pthread_mutex_destroy(&s->m);
}
