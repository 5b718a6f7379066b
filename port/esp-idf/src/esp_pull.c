/*
 * port/esp-idf/src/esp_pull.c — aloft_pull (aloft_esp.h): esp_http_client
 * as the port of the pull engine (aloft/pull.h), which decides what to
 * request, checks each response and feeds the pipeline. Runs in the
 * caller's task; the pipeline calls take the serving loop's lock, the
 * network waits do not.
 */
#include "aloft_esp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "esp_http_client.h"
#include "esp_kconfig.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#if defined(CONFIG_MBEDTLS_CERTIFICATE_BUNDLE)
#include "esp_crt_bundle.h"
#endif

#include "aloft/pull.h"
#include "esp_app.h"
#include "esp_task.h"

static const char *TAG = "aloft";

#define PULL_TIMEOUT_MS 10000

/* One pull at a time (the pipeline has one session anyway). */
static struct {
    bool running;
    bool told_fallback;     /* the patch's refusal was logged */
    aloft_pull_t engine;
    aloft_pull_release_t rel;
    char content_range[80];
    uint8_t buf[2048];
} P;

static uint64_t now_ms(void)
{
    return (uint64_t)esp_timer_get_time() / 1000u;
}

/* Response headers come as events; the engine needs only Content-Range
 * (status and Content-Length have their own calls). */
static esp_err_t on_http_event(esp_http_client_event_t *ev)
{
    if (ev->event_id == HTTP_EVENT_ON_HEADER && ev->header_key && ev->header_value &&
        strcasecmp(ev->header_key, "Content-Range") == 0)
        snprintf(P.content_range, sizeof P.content_range, "%s", ev->header_value);
    return ESP_OK;
}

static int read_err(int n)
{
    return n == -ESP_ERR_HTTP_EAGAIN ? ALOFT_ERR_TIMEOUT : ALOFT_ERR_CLOSED;
}

/* Stream the body into the engine; returns what end() is told. */
static int read_body(esp_http_client_handle_t h)
{
    int rc = 0;
    for (;;) {
        int n = esp_http_client_read(h, (char *)P.buf, sizeof P.buf);
        if (n <= 0)
            return n == 0 && esp_http_client_is_complete_data_received(h) ? 0 : read_err(n);
        esp_task_lock();
        rc = aloft_pull_body(&P.engine, P.buf, (size_t)n);
        esp_task_unlock();
        esp_app_events();
        if (rc)
            return 0;   /* the engine decided already */
    }
}

static void one_request(const aloft_esp_pull_t *req, const aloft_pull_next_t *next)
{
    char range[24];
    int err = ALOFT_ERR_CONNECT, rc;
    aloft_pull_status_t st;
    esp_http_client_config_t c;
    memset(&c, 0, sizeof c);
    c.url = next->url;
    c.timeout_ms = req->timeout_ms ? (int)req->timeout_ms : PULL_TIMEOUT_MS;
    c.event_handler = on_http_event;
    c.cert_pem = req->cert_pem;
#if defined(CONFIG_MBEDTLS_CERTIFICATE_BUNDLE)
    if (req->cert_pem == NULL)
        c.crt_bundle_attach = esp_crt_bundle_attach;
#endif
    P.content_range[0] = '\0';
    snprintf(range, sizeof range, "bytes=%u-", (unsigned)next->from);
    esp_task_lock();
    aloft_pull_status(&P.engine, &st);
    esp_task_unlock();
    ESP_LOGI(TAG, "pull attempt %u of %u: GET %s%s%s", (unsigned)st.attempt, (unsigned)st.tries,
             next->url,
             next->from ? " Range: " : "", next->from ? range : "");
    esp_http_client_handle_t h = esp_http_client_init(&c);
    if (h && next->from)
        esp_http_client_set_header(h, "Range", range);
    if (h && esp_http_client_open(h, 0) == ESP_OK) {
        int64_t len = esp_http_client_fetch_headers(h);
        if (len < 0) {
            err = read_err((int)len);
        } else {
            /* 0: no Content-Length (or chunked): the pipeline counts */
            int64_t cl = len == 0 || esp_http_client_is_chunked_response(h) ? -1 : len;
            esp_task_lock();
            rc = aloft_pull_response(&P.engine, esp_http_client_get_status_code(h), cl,
                                     P.content_range[0] ? P.content_range : NULL);
            esp_task_unlock();
            err = rc ? 0 : read_body(h);
        }
    }
    if (h) {
        esp_http_client_close(h);
        esp_http_client_cleanup(h);
    }
    esp_task_lock();
    aloft_pull_end(&P.engine, err, now_ms());
    aloft_pull_status(&P.engine, &st);
    esp_task_unlock();
    if (st.patch_diag.err && !P.told_fallback) {
        char text[192];
        aloft_diag_format(&st.patch_diag, text, sizeof text);
        ESP_LOGW(TAG, "pull: %s (%s): the full image instead", st.why, text);
        P.told_fallback = true;
    }
}

/* Take the pull slot (*taken) and begin; not taken: not started, or a
 * pull runs. */
static int start(const aloft_esp_pull_t *req, bool *taken)
{
    esp_task_lock();
    esp_device_t *d = esp_app_device();
    int err = d == NULL ? ALOFT_ERR_STATE : P.running ? ALOFT_ERR_BUSY : 0;
    *taken = err == 0;
    if (err == 0) {
        P.rel = (aloft_pull_release_t){.url = req->url, .size = req->size,
                                       .is_signed = req->is_signed, .patches = req->patches,
                                       .npatches = req->npatches};
        memcpy(P.rel.sha256, req->sha256, sizeof P.rel.sha256);
        aloft_pull_policy_t policy = {.tries = req->tries, .backoff_ms = req->backoff_ms};
        aloft_pull_delta_t delta = esp_app_delta();
        esp_app_set_source(ALOFT_PROTO_HTTP);
        P.running = true;
        P.told_fallback = false;
        err = aloft_pull_start(&P.engine, &d->dev, &d->update, &P.rel, &policy, &delta);
        aloft_pull_status_t st;
        aloft_pull_status(&P.engine, &st);
        if (st.patch)
            ESP_LOGI(TAG, "pull: %s: %u bytes instead of %u", st.why, (unsigned)st.total,
                     (unsigned)req->size);
        else
            ESP_LOGI(TAG, "pull: the full image: %s", st.why);
    }
    esp_task_unlock();
    return err;
}

/* The pull is over: its last events still as ALOFT_PROTO_HTTP. */
static void over(aloft_pull_status_t *st)
{
    esp_app_events();
    esp_task_lock();
    aloft_pull_status(&P.engine, st);
    esp_app_set_source(0);
    P.running = false;
    esp_task_unlock();
}

int aloft_pull(const aloft_esp_pull_t *req)
{
    aloft_pull_next_t next;
    aloft_pull_status_t st;
    if (req == NULL || req->url == NULL)
        return ALOFT_ERR_ARG;
    bool taken;
    int err = start(req, &taken);
    if (!taken)
        return err;
    if (err) {   /* the pipeline's refusal (too large, unconfirmed, busy, ...) */
        over(&st);
        return err;
    }
    esp_app_events();   /* START */
    for (;;) {
        esp_task_lock();
        aloft_pull_phase_t ph = aloft_pull_poll(&P.engine, now_ms(), &next);
        esp_task_unlock();
        if (ph == ALOFT_PULL_WAIT)
            vTaskDelay(pdMS_TO_TICKS(next.wait_ms) ? pdMS_TO_TICKS(next.wait_ms) : 1);
        else if (ph == ALOFT_PULL_REQUEST)
            one_request(req, &next);
        else
            break;
    }
    over(&st);
    if (st.phase != ALOFT_PULL_DONE) {
        char text[192];
        aloft_diag_format(&st.diag, text, sizeof text);
        ESP_LOGW(TAG, "pull %s after %u attempt(s): %s", aloft_pull_phase_name(st.phase),
                 (unsigned)st.attempt, text);
        return st.diag.err ? st.diag.err : ALOFT_ERR_FAILED;
    }
    ESP_LOGI(TAG, "pull complete: %u bytes%s in %u attempt(s), %u on the wire, verified and "
             "activated", (unsigned)st.total, st.patch ? " (a patch)" : "", (unsigned)st.attempt,
             (unsigned)st.wire);
    return 0;
}
