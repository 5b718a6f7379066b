/*
 * tests/esp/fakes/include/esp_event.h — the default event loop: handler
 * instances registered per base and id; esp_event_post runs the handlers
 * at once in the poster's thread (IDF runs them in its event task: either
 * way, another thread than aloft's).
 */
#ifndef FAKE_ESP_EVENT_H
#define FAKE_ESP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "freertos/FreeRTOS.h"

typedef const char *esp_event_base_t;
typedef void *esp_event_handler_instance_t;
typedef void (*esp_event_handler_t)(void *arg, esp_event_base_t base, int32_t id, void *data);

#define ESP_EVENT_ANY_ID -1
#define ESP_EVENT_DECLARE_BASE(id) extern esp_event_base_t const id
#define ESP_EVENT_DEFINE_BASE(id) esp_event_base_t const id = #id

/* Before it, registering fails with ESP_ERR_INVALID_STATE (as in IDF). */
esp_err_t esp_event_loop_create_default(void);

esp_err_t esp_event_handler_instance_register(esp_event_base_t base, int32_t id,
                                              esp_event_handler_t handler, void *arg,
                                              esp_event_handler_instance_t *instance);

/* Waits for a handler running in another thread to return. */
esp_err_t esp_event_handler_instance_unregister(esp_event_base_t base, int32_t id,
                                                esp_event_handler_instance_t instance);

esp_err_t esp_event_post(esp_event_base_t base, int32_t id, const void *data, size_t size,
                         TickType_t ticks);

#endif
