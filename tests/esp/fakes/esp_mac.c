/* tests/esp/fakes/esp_mac.c — see include/esp_mac.h. */
#include "esp_mac.h"

#include <string.h>

esp_err_t esp_read_mac(uint8_t *mac, esp_mac_type_t type)
{
    static const uint8_t sta[6] = {0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56};
    if (mac == NULL || type != ESP_MAC_WIFI_STA)
        return ESP_ERR_INVALID_ARG;
    memcpy(mac, sta, sizeof sta);
    return ESP_OK;
}
