/*
 * port/esp-idf/src/esp_mdns.c — see esp_mdns.h. The mdns component does
 * the protocol (probing, announcing, answering, goodbyes); this file hands
 * it the core's TXT pairs.
 */
#include "esp_mdns.h"

#ifdef CONFIG_ALOFT_MDNS
#include <string.h>

#include "esp_log.h"
#include "mdns.h"

static const char *TAG = "aloft";

/* Newer mdns.h have it; older ones (arduino-esp32 3.x's, IDF 5.1) keep it
 * in mdns_private.h: 64 + 1. */
#ifndef MDNS_NAME_BUF_LEN
#define MDNS_NAME_BUF_LEN 65
#endif

static bool owns_responder;   /* we ran mdns_init: mdns_free at stop */
static bool arduino_added, aloft_added;

/* mdns_service_add copies keys and values. */
static esp_err_t add(const char *instance, const char *service, uint16_t port,
                     const aloft_txt_t *t)
{
    mdns_txt_item_t items[ALOFT_TXT_MAX];
    for (size_t i = 0; i < t->count; i++) {
        items[i].key = t->items[i].key;
        items[i].value = t->items[i].value;
    }
    return mdns_service_add(instance, service, "_tcp", port, items, t->count);
}

int esp_mdns_start(const esp_mdns_config_t *cfg)
{
    aloft_txt_t txt;
    char name[MDNS_NAME_BUF_LEN];
    /* mdns_init answers ESP_OK when the responder runs already, so ask
     * first: the application's keeps its host name and is not freed at
     * stop. Ours registers for the default event loop's IP events (the
     * predefined STA/ETH interfaces): mdns_init fails without that loop. */
    esp_err_t e = ESP_OK;
    owns_responder = mdns_hostname_get(name) == ESP_ERR_INVALID_STATE;
    if (owns_responder && (e = mdns_init()) == ESP_OK)
        e = mdns_hostname_set(cfg->name);
    else if (owns_responder)
        ESP_LOGW(TAG, "mDNS: mdns_init failed (it does without the default event loop: "
                      "call esp_event_loop_create_default() before aloft_start)");
    if (e == ESP_OK && cfg->native && aloft_discovery_txt(&cfg->state, &txt) == 0 &&
        (e = add(cfg->name, "_aloft", cfg->port, &txt)) == ESP_OK)
        aloft_added = true;
    if (e == ESP_OK && cfg->espota && aloft_discovery_txt_arduino(&cfg->state, &txt) == 0 &&
        (e = add(cfg->name, "_arduino", cfg->port, &txt)) == ESP_OK)
        arduino_added = true;
    if (e != ESP_OK) {
        ESP_LOGW(TAG, "mDNS: cannot announce %s.local: %s (the device serves anyway; "
                      "use its IP address)", cfg->name, esp_err_to_name(e));
        esp_mdns_stop();
        return ALOFT_ERR_CONNECT;
    }
    ESP_LOGI(TAG, "mDNS: %s.local (%s%s%s)", cfg->name, aloft_added ? ALOFT_MDNS_SERVICE : "",
             aloft_added && arduino_added ? ", " : "",
             arduino_added ? ALOFT_MDNS_ARDUINO_SERVICE : "");
    return 0;
}

void esp_mdns_stop(void)
{
    if (aloft_added)
        mdns_service_remove("_aloft", "_tcp");
    if (arduino_added)
        mdns_service_remove("_arduino", "_tcp");
    if (owns_responder)
        mdns_free();
    aloft_added = arduino_added = owns_responder = false;
}
#endif
