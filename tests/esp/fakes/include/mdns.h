/* Fake ESP-IDF mdns.h (espressif/mdns, esp-protocols components/mdns):
 * the calls the port makes, same signatures; fake_esp.h observes them. */
#ifndef FAKE_MDNS_H
#define FAKE_MDNS_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

typedef struct {
    const char *key;
    const char *value;
} mdns_txt_item_t;

esp_err_t mdns_init(void);
void mdns_free(void);
esp_err_t mdns_hostname_set(const char *hostname);
esp_err_t mdns_service_add(const char *instance_name, const char *service_type,
                           const char *proto, uint16_t port, mdns_txt_item_t txt[],
                           size_t num_items);
esp_err_t mdns_service_remove(const char *service_type, const char *proto);

#endif
