/*
 * tests/esp/fakes/include/esp_netif_types.h — IP_EVENT and its ids and
 * the GOT_IP payload, as esp_netif declares them (ids in IDF's order).
 */
#ifndef FAKE_ESP_NETIF_TYPES_H
#define FAKE_ESP_NETIF_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_event.h"

ESP_EVENT_DECLARE_BASE(IP_EVENT);

typedef enum {
    IP_EVENT_STA_GOT_IP,
    IP_EVENT_STA_LOST_IP,
    IP_EVENT_AP_STAIPASSIGNED,
    IP_EVENT_GOT_IP6,
    IP_EVENT_ETH_GOT_IP,
    IP_EVENT_ETH_LOST_IP,
    IP_EVENT_PPP_GOT_IP,
    IP_EVENT_PPP_LOST_IP,
} ip_event_t;

typedef struct esp_netif_obj esp_netif_t;

typedef struct {
    uint32_t addr;   /* network byte order */
} esp_ip4_addr_t;

typedef struct {
    esp_ip4_addr_t ip, netmask, gw;
} esp_netif_ip_info_t;

typedef struct {
    esp_netif_t *esp_netif;
    esp_netif_ip_info_t ip_info;
    bool ip_changed;
} ip_event_got_ip_t;

#endif
