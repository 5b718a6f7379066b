/* Fake ESP-IDF mdns.h (espressif/mdns, esp-protocols components/mdns):
 * the calls the port makes, same signatures; fake_esp.h observes them. */
#ifndef FAKE_MDNS_H
#define FAKE_MDNS_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#define MDNS_NAME_BUF_LEN 64

typedef struct {
    const char *key;
    const char *value;
} mdns_txt_item_t;

/* As espressif/mdns: ESP_OK when it runs already; ESP_FAIL when it cannot
 * register for the default event loop's IP events (its predefined STA and
 * ETH interfaces, on by default), i.e. before esp_event_loop_create_default.
 * Then an IP_EVENT_STA_GOT_IP (or ETH) announces the new address. */
esp_err_t mdns_init(void);
/* ESP_ERR_INVALID_STATE when mdns does not run */
esp_err_t mdns_hostname_get(char *hostname);
void mdns_free(void);
esp_err_t mdns_hostname_set(const char *hostname);
esp_err_t mdns_service_add(const char *instance_name, const char *service_type,
                           const char *proto, uint16_t port, mdns_txt_item_t txt[],
                           size_t num_items);
esp_err_t mdns_service_remove(const char *service_type, const char *proto);

#endif
