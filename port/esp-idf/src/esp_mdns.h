/*
 * port/esp-idf/src/esp_mdns.h — the device announces itself by mDNS
 * through ESP-IDF's mdns component (espressif/mdns from the component
 * registry): _aloft._tcp and, with espota on, _arduino._tcp as
 * arduino-esp32's ArduinoOTA does, with the TXT records the core builds
 * (aloft/discovery.h), under the device's name (NAME.local).
 *
 * A new address: the mdns component follows it by itself on its
 * predefined interfaces (CONFIG_MDNS_PREDEF_NETIF_STA/ETH, on by default):
 * mdns_init registers for the default event loop's IP_EVENT_STA_GOT_IP /
 * IP_EVENT_ETH_GOT_IP and announces the new address on each, so nothing
 * here listens for IP events. That needs the default event loop before
 * aloft_start (mdns_init fails without it, logged). An interface the
 * application made itself (its own esp_netif key, PPP) is the
 * application's: mdns_register_netif and mdns_netif_action.
 *
 * CONFIG_ALOFT_MDNS off: both calls do nothing. Under the Arduino library
 * AloftOTA turns cfg.mdns on or off (setMdnsEnabled); ESPmDNS is the same
 * responder, so a sketch's MDNS.begin() before AloftOTA.begin() keeps its
 * host name.
 *
 * Internal to the component: esp_app.c calls it from aloft_start/stop.
 */
#ifndef ALOFT_ESP_MDNS_H
#define ALOFT_ESP_MDNS_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/discovery.h"
#include "esp_kconfig.h"

typedef struct esp_mdns_config {
    const char *name;                /* host and instance name */
    uint16_t port;                   /* native TCP and espota UDP port */
    bool native;                     /* announce _aloft._tcp */
    bool espota;                     /* announce _arduino._tcp */
    aloft_discovery_state_t state;   /* what the records say (read once) */
} esp_mdns_config_t;

#ifdef CONFIG_ALOFT_MDNS
/* Start the mdns responder (or share the application's, keeping its host
 * name) and add the services. Returns 0 or ALOFT_ERR_CONNECT, logged; the
 * device serves either way (aloft_start does not fail for it). */
int esp_mdns_start(const esp_mdns_config_t *cfg);

/* Remove the services (goodbyes); stop the responder if we started it. */
void esp_mdns_stop(void);
#else
static inline int esp_mdns_start(const esp_mdns_config_t *cfg)
{
    (void)cfg;
    return 0;
}

static inline void esp_mdns_stop(void)
{
}
#endif

#endif /* ALOFT_ESP_MDNS_H */
