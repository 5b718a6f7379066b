/*
 * tests/esp/fakes/esp_event.c — the default event loop (include/esp_event.h)
 * and esp_netif's IP_EVENT base.
 */
#include "esp_event.h"

#include <pthread.h>
#include <string.h>

#include "esp_netif_types.h"

ESP_EVENT_DEFINE_BASE(IP_EVENT);

#define MAX_HANDLERS 8

typedef struct handler {
    esp_event_base_t base;
    int32_t id;
    esp_event_handler_t fn;
    void *arg;
} handler_t;

/* Recursive: a handler may post or unregister. */
static pthread_mutex_t lock;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static handler_t handlers[MAX_HANDLERS];
static int created;

static void init_lock(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&lock, &a);
    pthread_mutexattr_destroy(&a);
}

esp_err_t esp_event_loop_create_default(void)
{
    pthread_once(&once, init_lock);
    pthread_mutex_lock(&lock);
    esp_err_t err = created ? ESP_ERR_INVALID_STATE : ESP_OK;
    created = 1;
    pthread_mutex_unlock(&lock);
    return err;
}

esp_err_t esp_event_handler_instance_register(esp_event_base_t base, int32_t id,
                                              esp_event_handler_t fn, void *arg,
                                              esp_event_handler_instance_t *instance)
{
    esp_err_t err = ESP_ERR_NO_MEM;
    pthread_once(&once, init_lock);
    pthread_mutex_lock(&lock);
    if (!created) {
        err = ESP_ERR_INVALID_STATE;
    } else {
        for (int i = 0; i < MAX_HANDLERS; i++) {
            if (handlers[i].fn == NULL) {
                handlers[i] = (handler_t){base, id, fn, arg};
                if (instance)
                    *instance = &handlers[i];
                err = ESP_OK;
                break;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return err;
}

esp_err_t esp_event_handler_instance_unregister(esp_event_base_t base, int32_t id,
                                                esp_event_handler_instance_t instance)
{
    handler_t *h = instance;
    esp_err_t err = ESP_ERR_INVALID_ARG;
    pthread_once(&once, init_lock);
    pthread_mutex_lock(&lock);
    if (h >= handlers && h < handlers + MAX_HANDLERS && h->fn && h->base == base &&
        h->id == id) {
        memset(h, 0, sizeof *h);
        err = ESP_OK;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

esp_err_t esp_event_post(esp_event_base_t base, int32_t id, const void *data, size_t size,
                         TickType_t ticks)
{
    uint8_t copy[256];   /* IDF copies the payload too */
    (void)ticks;
    if (size > sizeof copy)
        return ESP_ERR_INVALID_SIZE;
    if (size)
        memcpy(copy, data, size);
    pthread_once(&once, init_lock);
    pthread_mutex_lock(&lock);
    if (!created) {
        pthread_mutex_unlock(&lock);
        return ESP_ERR_INVALID_STATE;
    }
    for (int i = 0; i < MAX_HANDLERS; i++) {
        handler_t h = handlers[i];
        if (h.fn && h.base == base && (h.id == ESP_EVENT_ANY_ID || h.id == id))
            h.fn(h.arg, base, id, size ? copy : NULL);
    }
    pthread_mutex_unlock(&lock);
    return ESP_OK;
}
