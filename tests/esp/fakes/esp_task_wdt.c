/*
 * tests/esp/fakes/esp_task_wdt.c — the task watchdog, counting: which tasks
 * are subscribed, how often they reset it, and the longest gap between a
 * task's subscription or reset and its next reset or unsubscription
 * (fake_wdt_stats). A real watchdog would fire after
 * CONFIG_ESP_TASK_WDT_TIMEOUT_S (5 s) of such a gap.
 */
#include "esp_task_wdt.h"

#include <pthread.h>

#include "esp_timer.h"
#include "fake_esp.h"
#include "fake_task.h"

#define MAX_TASKS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static TaskHandle_t subscribed[MAX_TASKS];
static int64_t since_us[MAX_TASKS];
static fake_wdt_stats_t stats;
unsigned fake_wdt_resets;

static int find(TaskHandle_t t)
{
    for (int i = 0; i < MAX_TASKS; i++)
        if (subscribed[i] == t)
            return i;
    return -1;
}

/* The gap that ends now for slot i. */
static void gap_ends(int i)
{
    int64_t now = esp_timer_get_time();
    uint32_t ms = (uint32_t)((now - since_us[i]) / 1000);
    if (ms > stats.longest_ms)
        stats.longest_ms = ms;
    since_us[i] = now;
}

esp_err_t esp_task_wdt_add(TaskHandle_t task)
{
    TaskHandle_t t = task ? task : xTaskGetCurrentTaskHandle();
    esp_err_t err = ESP_ERR_NO_MEM;
    pthread_mutex_lock(&lock);
    int i = find(t);
    if (i >= 0) {
        err = ESP_ERR_INVALID_ARG;
    } else if ((i = find(NULL)) >= 0) {
        subscribed[i] = t;
        since_us[i] = esp_timer_get_time();
        stats.subscribed++;
        err = ESP_OK;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

esp_err_t esp_task_wdt_reset(void)
{
    esp_err_t err = ESP_ERR_NOT_FOUND;
    pthread_mutex_lock(&lock);
    fake_wdt_resets++;
    int i = find(xTaskGetCurrentTaskHandle());
    if (i >= 0) {
        gap_ends(i);
        stats.resets++;
        err = ESP_OK;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

esp_err_t esp_task_wdt_delete(TaskHandle_t task)
{
    esp_err_t err = ESP_ERR_INVALID_ARG;
    pthread_mutex_lock(&lock);
    int i = find(task ? task : xTaskGetCurrentTaskHandle());
    if (i >= 0) {
        gap_ends(i);
        subscribed[i] = NULL;
        stats.subscribed--;
        err = ESP_OK;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

void fake_wdt_stats(fake_wdt_stats_t *out)
{
    pthread_mutex_lock(&lock);
    *out = stats;
    pthread_mutex_unlock(&lock);
}
