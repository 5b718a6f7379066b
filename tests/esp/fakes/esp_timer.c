/* tests/esp/fakes/esp_timer.c — see include/esp_timer.h. */
#include "esp_timer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct esp_timer {
    esp_timer_create_args_t args;
    struct esp_timer *next;   /* all timers */
    bool armed;
    int64_t due_us, period_us;   /* period 0: one-shot */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;
static struct esp_timer *timers;
static bool started;

int64_t esp_timer_get_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The esp_timer task: the earliest due timer's callback, without the lock. */
static void *timer_task(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        struct esp_timer *t = NULL;
        for (struct esp_timer *i = timers; i; i = i->next)
            if (i->armed && (t == NULL || i->due_us < t->due_us))
                t = i;
        int64_t now = esp_timer_get_time();
        if (t == NULL) {
            pthread_cond_wait(&changed, &lock);
            continue;
        }
        if (t->due_us > now) {
            struct timespec ts = {(time_t)(t->due_us / 1000000), (long)(t->due_us % 1000000) * 1000};
            pthread_cond_timedwait(&changed, &lock, &ts);
            continue;
        }
        if (t->period_us)
            t->due_us += t->period_us;
        else
            t->armed = false;
        pthread_mutex_unlock(&lock);
        t->args.callback(t->args.arg);
        pthread_mutex_lock(&lock);
    }
    return NULL;
}

esp_err_t esp_timer_create(const esp_timer_create_args_t *args, esp_timer_handle_t *out)
{
    struct esp_timer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ESP_ERR_NO_MEM;
    t->args = *args;
    pthread_mutex_lock(&lock);
    if (!started) {
        pthread_condattr_t ca;
        pthread_t th;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&changed, &ca);
        pthread_condattr_destroy(&ca);
        if (pthread_create(&th, NULL, timer_task, NULL) != 0) {
            pthread_mutex_unlock(&lock);
            free(t);
            return ESP_FAIL;
        }
        pthread_detach(th);
        started = true;
    }
    t->next = timers;
    timers = t;
    pthread_mutex_unlock(&lock);
    *out = t;
    return ESP_OK;
}

static esp_err_t arm(esp_timer_handle_t t, uint64_t us, bool periodic)
{
    esp_err_t err = ESP_ERR_INVALID_STATE;
    pthread_mutex_lock(&lock);
    if (!t->armed) {
        t->armed = true;
        t->due_us = esp_timer_get_time() + (int64_t)us;
        t->period_us = periodic ? (int64_t)us : 0;
        pthread_cond_signal(&changed);
        err = ESP_OK;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

esp_err_t esp_timer_start_once(esp_timer_handle_t t, uint64_t timeout_us)
{
    return arm(t, timeout_us, false);
}

esp_err_t esp_timer_start_periodic(esp_timer_handle_t t, uint64_t period_us)
{
    return arm(t, period_us, true);
}

esp_err_t esp_timer_stop(esp_timer_handle_t t)
{
    pthread_mutex_lock(&lock);
    esp_err_t err = t->armed ? ESP_OK : ESP_ERR_INVALID_STATE;
    t->armed = false;
    pthread_mutex_unlock(&lock);
    return err;
}
