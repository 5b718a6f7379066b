/*
 * port/esp-idf/src/esp_task.c — the socket loop in a FreeRTOS task (see
 * esp_task.h).
 */
#include "esp_task.h"

#include <stdatomic.h>
#include <string.h>

#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "esp_kconfig.h"
#ifdef CONFIG_ESP_TASK_WDT_EN
#include "esp_task_wdt.h"
#endif
#ifndef CONFIG_IDF_TARGET_LINUX   /* no esp_netif there: no IP events */
#include "esp_event.h"
#include "esp_netif_types.h"
#define ALOFT_IP_EVENTS 1
#endif

static const char *TAG = "aloft";

#define TURN_MS 20            /* longest wait for the network per turn */
#define RETRY_BIND_MS 1000    /* after a failed rebind */

static struct {
    esp_task_config_t cfg;
    serve_t net;
    bool started, open;
    TaskHandle_t task;
    StaticSemaphore_t lock_buf, done_buf;
    SemaphoreHandle_t lock, done;
    atomic_bool stop, rebind;
#ifdef ALOFT_IP_EVENTS
    esp_event_handler_instance_t ip_handler;
#endif
} T;

static uint64_t clock_ms(void *ctx)
{
    (void)ctx;
    return (uint64_t)esp_timer_get_time() / 1000u;
}

void esp_task_lock(void)
{
    xSemaphoreTakeRecursive(T.lock, portMAX_DELAY);
}

void esp_task_unlock(void)
{
    xSemaphoreGiveRecursive(T.lock);
}

const serve_t *esp_task_serve(void)
{
    return &T.net;
}

aloft_login_limiter_t *esp_task_limiter(void)
{
    return &T.net.limiter;
}

void esp_task_request_reboot(void)
{
    serve_request_reboot(&T.net);
}

bool esp_task_running(void)
{
    return T.started;
}

#ifdef ALOFT_IP_EVENTS
/* In IDF's event task: only note it; the loop rebinds at its next turn. */
static void on_ip_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)base;
    if (id == IP_EVENT_STA_GOT_IP || id == IP_EVENT_ETH_GOT_IP) {
        const ip_event_got_ip_t *e = data;
        if (e == NULL || e->ip_changed)   /* a DHCP renewal of the same address is not */
            atomic_store(&T.rebind, true);
    } else if (id == IP_EVENT_STA_LOST_IP || id == IP_EVENT_ETH_LOST_IP) {
        atomic_store(&T.rebind, true);
    }
}
#endif

/* Close and bind again: every connection is over when the address changes. */
static void rebind(void)
{
    if (T.open) {
        ESP_LOGI(TAG, "IP address changed: closing the sockets%s",
                 serve_busy(&T.net) ? " (the update in progress is abandoned)" : "");
        serve_close(&T.net);
        T.open = false;
    }
    T.open = serve_open(&T.net, &T.cfg.serve) == 0;
    if (T.open)
        ESP_LOGI(TAG, "serving again on port %u", (unsigned)T.cfg.serve.port);
    else
        atomic_store(&T.rebind, true);   /* try again */
}

static int turn(uint32_t wait_ms)
{
    int err = 0;
    /* Wait for the network without the lock: aloft's task runs above the
     * app's (priority 5 against app_main's 1), and one that held the lock
     * through the wait would take it back at once and starve every API
     * call from a lower priority (seen on IDF's Linux target; on a
     * single-core C3 alike). */
    if (T.open)
        serve_wait(&T.net, (int)wait_ms);
    esp_task_lock();
    if (atomic_exchange(&T.rebind, false))
        rebind();
    if (T.open)
        err = serve_step(&T.net, 0);
    esp_task_unlock();
    if (!T.open)   /* no sockets to wait on: do not spin */
        vTaskDelay(pdMS_TO_TICKS(wait_ms < RETRY_BIND_MS ? RETRY_BIND_MS : wait_ms));
    if (T.cfg.after_turn)
        T.cfg.after_turn(T.cfg.ctx);
    return err;
}

static void loop_task(void *arg)
{
    (void)arg;
#ifdef CONFIG_ESP_TASK_WDT_EN
    /* Long erases reset it too (esp_flash.c); without a started watchdog
     * (CONFIG_ESP_TASK_WDT_INIT off) this fails and nothing is fed. */
    bool wdt = esp_task_wdt_add(NULL) == ESP_OK;
#endif
    while (!atomic_load(&T.stop)) {
        int err = turn(TURN_MS);
        if (err)
            ESP_LOGE(TAG, "restart failed: %s", aloft_strerror(err));
#ifdef CONFIG_ESP_TASK_WDT_EN
        if (wdt)
            esp_task_wdt_reset();
#endif
    }
    esp_task_lock();
    if (T.open)
        serve_close(&T.net);
    T.open = false;
    esp_task_unlock();
#ifdef CONFIG_ESP_TASK_WDT_EN
    if (wdt)
        esp_task_wdt_delete(NULL);
#endif
    xSemaphoreGive(T.done);
    vTaskDelete(NULL);
}

int esp_task_start(const esp_task_config_t *cfg)
{
    int err;
    if (T.started)
        return ALOFT_ERR_BUSY;
    if (T.lock == NULL) {   /* once: the lock outlives stop/start */
        T.lock = xSemaphoreCreateRecursiveMutexStatic(&T.lock_buf);
        T.done = xSemaphoreCreateBinaryStatic(&T.done_buf);
    }
    esp_task_lock();
    T.cfg = *cfg;
    if (T.cfg.serve.now_ms == NULL)
        T.cfg.serve.now_ms = clock_ms;
    atomic_store(&T.stop, false);
    atomic_store(&T.rebind, false);
    err = serve_open(&T.net, &T.cfg.serve);
    T.open = err == 0;
    esp_task_unlock();
    if (err)
        return err;
#ifdef ALOFT_IP_EVENTS
    if (esp_event_handler_instance_register(IP_EVENT, ESP_EVENT_ANY_ID, on_ip_event, NULL,
                                            &T.ip_handler) != ESP_OK) {
        T.ip_handler = NULL;
        ESP_LOGW(TAG, "no default event loop (esp_event_loop_create_default): "
                      "the sockets are not rebound when the IP address changes");
    }
#endif
    T.started = true;
    if (cfg->task) {
        BaseType_t core = cfg->core < 0 ? tskNO_AFFINITY : cfg->core;
        if (xTaskCreatePinnedToCore(loop_task, "aloft", cfg->stack, NULL, cfg->priority, &T.task,
                                    core) != pdPASS) {
            ESP_LOGE(TAG, "cannot create the aloft task (%u bytes of stack)",
                     (unsigned)cfg->stack);
            esp_task_stop();
            return ALOFT_ERR_BUFFER;
        }
    }
    return 0;
}

int esp_task_handle(uint32_t wait_ms)
{
    if (!T.started || T.cfg.task)
        return ALOFT_ERR_STATE;
    return turn(wait_ms);
}

void esp_task_stop(void)
{
    if (!T.started)
        return;
    atomic_store(&T.stop, true);
    if (T.task != NULL && xTaskGetCurrentTaskHandle() == T.task)
        return;   /* a callback of the task itself: it ends after this turn */
#ifdef ALOFT_IP_EVENTS
    if (T.ip_handler)
        esp_event_handler_instance_unregister(IP_EVENT, ESP_EVENT_ANY_ID, T.ip_handler);
    T.ip_handler = NULL;
#endif
    if (T.task != NULL) {
        xSemaphoreTake(T.done, portMAX_DELAY);
        T.task = NULL;
    } else {
        esp_task_lock();
        if (T.open)
            serve_close(&T.net);
        T.open = false;
        esp_task_unlock();
    }
    T.started = false;
}
