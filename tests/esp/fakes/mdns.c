/* tests/esp/fakes/mdns.c — the mdns component as a record of what the
 * port announced (fake_esp.h): copies, as the real one keeps its own; each
 * name and service announced is also a line on stdout ("mdns: NAME.local",
 * "mdns: _aloft._tcp port N txt k=v ..."), which the scripts wait on. */
#include <stdio.h>
#include <string.h>

#include "fake_esp.h"
#include "mdns.h"

fake_mdns_t fake_mdns;

esp_err_t mdns_init(void)
{
    if (fake_mdns.running)
        return ESP_ERR_INVALID_STATE;
    fake_mdns.running = true;
    return ESP_OK;
}

void mdns_free(void)
{
    memset(&fake_mdns, 0, sizeof fake_mdns);
}

esp_err_t mdns_hostname_set(const char *hostname)
{
    if (!fake_mdns.running)
        return ESP_ERR_INVALID_STATE;
    snprintf(fake_mdns.hostname, sizeof fake_mdns.hostname, "%s", hostname);
    printf("mdns: %s.local\n", fake_mdns.hostname);
    return ESP_OK;
}

esp_err_t mdns_service_add(const char *instance_name, const char *service_type,
                           const char *proto, uint16_t port, mdns_txt_item_t txt[],
                           size_t num_items)
{
    fake_mdns_service_t *s = NULL;
    if (!fake_mdns.running)
        return ESP_ERR_INVALID_STATE;
    for (size_t i = 0; i < FAKE_MDNS_SERVICES && s == NULL; i++)
        if (fake_mdns.services[i].type[0] == '\0')
            s = &fake_mdns.services[i];
    if (s == NULL || num_items > FAKE_MDNS_TXT)
        return ESP_ERR_NO_MEM;
    snprintf(s->instance, sizeof s->instance, "%s", instance_name ? instance_name : "");
    snprintf(s->type, sizeof s->type, "%s.%s", service_type, proto);
    s->port = port;
    s->ntxt = num_items;
    printf("mdns: %s port %u txt", s->type, (unsigned)port);
    for (size_t i = 0; i < num_items; i++) {
        snprintf(s->txt[i], sizeof s->txt[i], "%s=%s", txt[i].key, txt[i].value);
        printf(" %s", s->txt[i]);
    }
    printf("\n");
    fflush(stdout);
    return ESP_OK;
}

esp_err_t mdns_service_remove(const char *service_type, const char *proto)
{
    char type[32];
    snprintf(type, sizeof type, "%s.%s", service_type, proto);
    for (size_t i = 0; i < FAKE_MDNS_SERVICES; i++) {
        if (strcmp(fake_mdns.services[i].type, type) == 0) {
            memset(&fake_mdns.services[i], 0, sizeof fake_mdns.services[i]);
            return ESP_OK;
        }
    }
    return ESP_ERR_NOT_FOUND;
}

const char *esp_err_to_name(esp_err_t code)
{
    return code == ESP_OK ? "ESP_OK" : code == ESP_ERR_NO_MEM ? "ESP_ERR_NO_MEM"
         : code == ESP_ERR_INVALID_STATE ? "ESP_ERR_INVALID_STATE" : "ESP_FAIL";
}
