/*
 * examples/esp-idf/main/main.c — aloft in a plain ESP-IDF firmware:
 * Wi-Fi station (menuconfig: "aloft example"), aloft started with the
 * password from menuconfig ("aloft": CONFIG_ALOFT_PASSWORD), a sensor task
 * paused while an update writes flash, and a health check that keeps a new
 * image only once it has stayed on the network.
 */
#include <string.h>

#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/event_groups.h"
#include "freertos/task.h"
#include "nvs_flash.h"

#include "aloft_esp.h"

static const char *TAG = "example";
static EventGroupHandle_t net;
#define GOT_IP BIT0

static void on_wifi(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)data;
    if (base == WIFI_EVENT && (id == WIFI_EVENT_STA_START || id == WIFI_EVENT_STA_DISCONNECTED)) {
        xEventGroupClearBits(net, GOT_IP);
        esp_wifi_connect();
    } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
        xEventGroupSetBits(net, GOT_IP);
    }
}

static void wifi_start(void)
{
    ESP_ERROR_CHECK(esp_netif_init());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    esp_netif_create_default_wifi_sta();
    wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
    ESP_ERROR_CHECK(esp_wifi_init(&init));
    ESP_ERROR_CHECK(esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_wifi, NULL));
    ESP_ERROR_CHECK(esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_wifi, NULL));
    wifi_config_t wc = {0};
    strlcpy((char *)wc.sta.ssid, CONFIG_EXAMPLE_WIFI_SSID, sizeof wc.sta.ssid);
    strlcpy((char *)wc.sta.password, CONFIG_EXAMPLE_WIFI_PASSWORD, sizeof wc.sta.password);
    ESP_ERROR_CHECK(esp_wifi_set_mode(WIFI_MODE_STA));
    ESP_ERROR_CHECK(esp_wifi_set_config(WIFI_IF_STA, &wc));
    ESP_ERROR_CHECK(esp_wifi_start());
}

/* The application's own work: a sensor read every second, which an update
 * pauses (its flash writes and the radio should not compete with it). */
static volatile bool sensor_paused;

static void sensor_task(void *arg)
{
    (void)arg;
    for (;;) {
        if (!sensor_paused)
            ESP_LOGD(TAG, "sensor read");
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
}

static void sensor_pause(void *ctx) { (void)ctx; sensor_paused = true; }
static void sensor_resume(void *ctx) { (void)ctx; sensor_paused = false; }

static void on_update(void *ctx, const aloft_esp_event_t *ev)
{
    (void)ctx;
    if (ev->kind == ALOFT_EV_PROGRESS && ev->total > 0)
        ESP_LOGI(TAG, "update %u%%", (unsigned)((uint64_t)ev->done * 100 / ev->total));
    else if (ev->kind == ALOFT_EV_END)
        ESP_LOGI(TAG, "update activated, restarting");
    else if (ev->kind == ALOFT_EV_ERROR)
        ESP_LOGW(TAG, "update failed: %s", ev->message);
}

void app_main(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        ESP_ERROR_CHECK(nvs_flash_erase());
        err = nvs_flash_init();
    }
    ESP_ERROR_CHECK(err);
    net = xEventGroupCreate();
    wifi_start();
    xTaskCreate(sensor_task, "sensor", 3072, NULL, 5, NULL);

    aloft_esp_config_t cfg;
    aloft_esp_config_default(&cfg);   /* port, password and the rest from menuconfig */
    cfg.on_event = on_update;
    int rc = aloft_add_pause("sensor", sensor_pause, sensor_resume, NULL);
    if (rc == 0)
        rc = aloft_start(&cfg);
    if (rc != 0) {
        ESP_LOGE(TAG, "aloft_start: %s", aloft_strerror(rc));
        return;
    }

    aloft_status_t st;
    if (aloft_status(&st) == 0 && st.pending_verify) {
        /* Health check: a new image must reach the network and stay on it. */
        ESP_LOGI(TAG, "%s %s runs on probation", st.project, st.version);
        xEventGroupWaitBits(net, GOT_IP, pdFALSE, pdTRUE, portMAX_DELAY);
        vTaskDelay(pdMS_TO_TICKS(CONFIG_EXAMPLE_HEALTH_SECONDS * 1000));
        if (xEventGroupGetBits(net) & GOT_IP)
            rc = aloft_confirm();
        else
            rc = aloft_reject();   /* returns only if nothing else can boot */
        ESP_LOGI(TAG, "health check: %s", rc == 0 ? "confirmed" : aloft_strerror(rc));
    }
}
