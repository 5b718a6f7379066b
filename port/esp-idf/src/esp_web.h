/*
 * port/esp-idf/src/esp_web.h — the device web page and API (aloft/web.h,
 * docs/PROTOCOL.md §4) over esp_http_server: its task parses the requests,
 * and every call into the engine holds the loop's lock (esp_task_lock), so
 * the web shares the pipeline and the failed-login limiter with espota and
 * the native protocol. esp_http_server serves one request at a time, so
 * one exchange (static) is enough. Without esp_http_server in the build
 * (the Linux test fakes, an SDK without it) esp_web_start refuses.
 *
 * Internal to the component: esp_app.c drives it.
 */
#ifndef ALOFT_ESP_WEB_H
#define ALOFT_ESP_WEB_H

#include <stdint.h>

#include "aloft/web.h"

/* Start the HTTP server on port with cfg (copied; limiter and reboot are
 * filled in from the loop). A request whose body stops coming for idle_ms
 * (the transfers' idle timeout; 0 = ALOFT_WEB_IDLE_MS) is given up on: the
 * server has one task, and would serve no one else meanwhile. Returns 0,
 * ALOFT_ERR_ARG (no esp_http_server in this build, or a bad cfg),
 * ALOFT_ERR_CONNECT (httpd_start failed), each logged. */
int esp_web_start(const aloft_web_config_t *cfg, uint16_t port, uint32_t idle_ms);

/* The engine's timers; from the loop's after_turn (takes the lock). */
void esp_web_tick(void);

/* Stop the HTTP server (an upload it held is abandoned by the loop's
 * idle timeout or the next session). Safe when not started. */
void esp_web_stop(void);

#endif /* ALOFT_ESP_WEB_H */
