/*
 * port/esp-idf/src/esp_web.c — esp_http_server around the web engine (see
 * esp_web.h).
 */
#include "esp_web.h"

#include <string.h>

#include "esp_app.h"
#include "esp_kconfig.h"
#include "esp_log.h"
#include "esp_task.h"
#include "esp_timer.h"

static const char *TAG = "aloft";

static struct {
    aloft_web_t web;
    bool started;
#if defined(__has_include) && __has_include("esp_http_server.h")
#define ALOFT_ESP_HTTPD 1
    void *server;                 /* httpd_handle_t */
    aloft_web_exchange_t x;       /* one request at a time (httpd's one task) */
    uint32_t idle_ms;             /* a silent body is given up on after this */
    uint8_t buf[1460];            /* a TCP segment of body per receive */
#endif
} W;

static uint32_t now_ms(void)
{
    return (uint32_t)((uint64_t)esp_timer_get_time() / 1000u);
}

void esp_web_tick(void)
{
    if (!W.started)
        return;
    esp_task_lock();
    aloft_web_tick(&W.web, now_ms());
    esp_task_unlock();
}

#ifdef ALOFT_ESP_HTTPD
#include <lwip/sockets.h>

#include "esp_http_server.h"

/* The client's IPv4 address (an IPv4-mapped IPv6 one too), 0 if none. */
static uint32_t peer_of(httpd_req_t *req)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getpeername(httpd_req_to_sockfd(req), (struct sockaddr *)&a, &len) != 0)
        return 0;
    if (a.ss_family == AF_INET)
        return ntohl(((struct sockaddr_in *)&a)->sin_addr.s_addr);
#ifdef CONFIG_LWIP_IPV6
    if (a.ss_family == AF_INET6) {
        const uint8_t *b = (const uint8_t *)&((struct sockaddr_in6 *)&a)->sin6_addr;
        return (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
    }
#endif
    return 0;
}

static const char *status_line(uint16_t status)
{
    switch (status) {
    case 200: return "200 OK";
    case 400: return "400 Bad Request";
    case 401: return "401 Unauthorized";
    case 403: return "403 Forbidden";
    case 404: return "404 Not Found";
    case 405: return "405 Method Not Allowed";
    case 409: return "409 Conflict";
    case 422: return "422 Unprocessable Content";
    case 429: return "429 Too Many Requests";
    default: return "500 Internal Server Error";
    }
}

static esp_err_t send_response(httpd_req_t *req, const aloft_web_response_t *r)
{
    httpd_resp_set_status(req, status_line(r->status));
    httpd_resp_set_type(req, r->content_type);
    httpd_resp_set_hdr(req, "Cache-Control", "no-store");
    httpd_resp_set_hdr(req, "X-Content-Type-Options", "nosniff");
    httpd_resp_set_hdr(req, "X-Frame-Options", "DENY");
    if (r->gzip) {
        httpd_resp_set_hdr(req, "Content-Encoding", "gzip");
        httpd_resp_set_hdr(req, "Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; "
                           "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "
                           "frame-ancestors 'none'");
    }
    if (r->set_cookie[0])
        httpd_resp_set_hdr(req, "Set-Cookie", r->set_cookie);
    return httpd_resp_send(req, (const char *)r->body, (ssize_t)r->len);
}

static esp_err_t on_request(httpd_req_t *req)
{
    char path[48], query[256], cookie[2 * ALOFT_WEB_TOKEN_LEN + 1], csrf[2 * ALOFT_WEB_TOKEN_LEN + 1];
    size_t cl = sizeof cookie, pl = strcspn(req->uri, "?");
    if (pl >= sizeof path)
        pl = sizeof path - 1;   /* no route is that long: it stays unknown */
    memcpy(path, req->uri, pl);
    path[pl] = '\0';
    aloft_web_request_t r = {
        .method = req->method == HTTP_GET ? ALOFT_WEB_GET
                  : req->method == HTTP_POST ? ALOFT_WEB_POST : ALOFT_WEB_OTHER,
        .path = path,
        .query = httpd_req_get_url_query_str(req, query, sizeof query) == ESP_OK ? query : NULL,
        .session = httpd_req_get_cookie_val(req, "aloft_session", cookie, &cl) == ESP_OK ? cookie
                                                                                      : NULL,
        .csrf = httpd_req_get_hdr_value_str(req, "X-Aloft-CSRF", csrf, sizeof csrf) == ESP_OK
                    ? csrf : NULL,
        .peer = peer_of(req),
    };
    /* what a POST does to the pipeline the loop's next turn reports as
     * the web's (a GET changes nothing) */
    aloft_esp_proto_t source = r.method == ALOFT_WEB_POST ? ALOFT_PROTO_WEB : 0;
    esp_task_lock();
    if (source)
        esp_app_set_source(source);
    aloft_web_start(&W.web, &W.x, &r, now_ms());
    esp_task_unlock();
    uint32_t last = now_ms();
    for (size_t left = req->content_len; left > 0;) {
        int n = httpd_req_recv(req, (char *)W.buf, left < sizeof W.buf ? left : sizeof W.buf);
        /* httpd's recv_wait_timeout passed, the socket still open: wait on,
         * but not past the idle timeout, or this one task serves no one
         * else for as long as the browser stays silent */
        if (n == HTTPD_SOCK_ERR_TIMEOUT && now_ms() - last < W.idle_ms)
            continue;
        esp_task_lock();
        if (n <= 0)
            aloft_web_cancel(&W.web, &W.x);   /* the browser went away */
        else
            aloft_web_body(&W.web, &W.x, W.buf, (size_t)n, now_ms());
        if (source)
            esp_app_set_source(source);
        esp_task_unlock();
        if (n <= 0)
            return ESP_FAIL;
        left -= (size_t)n;
        last = now_ms();
    }
    esp_task_lock();
    const aloft_web_response_t *resp = aloft_web_finish(&W.web, &W.x, now_ms());
    if (resp->reboot)
        esp_task_request_reboot();
    if (source)
        esp_app_set_source(source);
    esp_task_unlock();
    return send_response(req, resp);   /* resp lives in W.x until the next request */
}

int esp_web_start(const aloft_web_config_t *cfg, uint16_t port, uint32_t idle_ms)
{
    httpd_config_t hc = HTTPD_DEFAULT_CONFIG();
    aloft_web_config_t wc = *cfg;
    if (W.started)
        return ALOFT_ERR_BUSY;
    wc.limiter = esp_task_limiter();
    if (aloft_web_init(&W.web, &wc) != 0) {
        ESP_LOGE(TAG, "bad web configuration");
        return ALOFT_ERR_ARG;
    }
    hc.server_port = port;
    hc.ctrl_port = (uint16_t)(port + 1u);   /* not httpd's default 32768: a second server may use it */
    hc.uri_match_fn = httpd_uri_match_wildcard;
    hc.lru_purge_enable = true;
    hc.max_uri_handlers = 2;
    /* the handlers run the pipeline's begin (ECDSA, SHA-256) as aloft's
     * task does: its stack, not httpd's 4 KiB */
    hc.stack_size = CONFIG_ALOFT_TASK_STACK;
    /* recv waits at most this long at a time (seconds, httpd's default 5
     * at most), so a silent body is noticed within a second of idle_ms */
    W.idle_ms = idle_ms ? idle_ms : ALOFT_WEB_IDLE_MS;
    hc.recv_wait_timeout = (uint16_t)(W.idle_ms < 5000u ? (W.idle_ms + 999u) / 1000u : 5u);
    httpd_handle_t h = NULL;
    if (httpd_start(&h, &hc) != ESP_OK) {
        ESP_LOGE(TAG, "cannot serve the web page on TCP port %u", (unsigned)port);
        return ALOFT_ERR_CONNECT;
    }
    static const httpd_uri_t get = {.uri = "/*", .method = HTTP_GET, .handler = on_request};
    static const httpd_uri_t post = {.uri = "/*", .method = HTTP_POST, .handler = on_request};
    httpd_register_uri_handler(h, &get);
    httpd_register_uri_handler(h, &post);
    W.server = h;
    W.started = true;
    ESP_LOGI(TAG, "web page on TCP port %u (%s)", (unsigned)port,
             cfg->verifier ? "password" : "open");
    return ALOFT_OK;
}

void esp_web_stop(void)
{
    if (W.started)
        httpd_stop(W.server);
    W.server = NULL;
    W.started = false;
}

#else /* no esp_http_server in this build */

int esp_web_start(const aloft_web_config_t *cfg, uint16_t port, uint32_t idle_ms)
{
    (void)cfg;
    (void)idle_ms;
    ESP_LOGE(TAG, "this build has no esp_http_server: no web page on port %u", (unsigned)port);
    return ALOFT_ERR_ARG;
}

void esp_web_stop(void)
{
}

#endif
