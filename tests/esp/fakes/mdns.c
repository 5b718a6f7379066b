/* tests/esp/fakes/mdns.c — the mdns component as a record of what the
 * port announced (fake_esp.h): copies, as the real one keeps its own; each
 * name and service announced is also a line on stdout ("mdns: NAME.local",
 * "mdns: _aloft._tcp port N txt k=v ..."), which the scripts wait on. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "esp_event.h"
#include "esp_netif_types.h"
#include "fake_esp.h"
#include "mdns.h"

fake_mdns_t fake_mdns;
static esp_event_handler_instance_t ip_handler;

/* The predefined interfaces' handler (mdns_netif.c): a new address on STA
 * or ETH enables the interface again, which probes and announces it. */
static void on_ip(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    const ip_event_got_ip_t *e = data;
    (void)arg;
    (void)base;
    if ((id != IP_EVENT_STA_GOT_IP && id != IP_EVENT_ETH_GOT_IP) || !fake_mdns.running)
        return;
    struct in_addr a = {.s_addr = e->ip_info.ip.addr};
    printf("mdns: %s.local announced at %s on %s\n", fake_mdns.hostname, inet_ntoa(a),
           id == IP_EVENT_STA_GOT_IP ? "STA" : "ETH");
    fflush(stdout);
}

esp_err_t mdns_init(void)
{
    if (fake_mdns.running)
        return ESP_OK;
    if (esp_event_handler_instance_register(IP_EVENT, ESP_EVENT_ANY_ID, on_ip, NULL,
                                            &ip_handler) != ESP_OK)
        return ESP_FAIL;
    fake_mdns.running = true;
    return ESP_OK;
}

void mdns_free(void)
{
    if (fake_mdns.running && ip_handler)
        esp_event_handler_instance_unregister(IP_EVENT, ESP_EVENT_ANY_ID, ip_handler);
    ip_handler = NULL;
    memset(&fake_mdns, 0, sizeof fake_mdns);
}

esp_err_t mdns_hostname_get(char *hostname)
{
    if (hostname == NULL)
        return ESP_ERR_INVALID_ARG;
    if (!fake_mdns.running)
        return ESP_ERR_INVALID_STATE;
    snprintf(hostname, MDNS_NAME_BUF_LEN, "%s", fake_mdns.hostname);
    return ESP_OK;
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
