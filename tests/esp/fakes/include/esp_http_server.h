/* Fake ESP-IDF esp_http_server.h (components/esp_http_server): the calls
 * esp_web.c makes, same signatures, types and defaults as IDF's
 * (tests/esp/fakes/esp_http_server.c serves them over plain sockets). What
 * the port relies on behaves as IDF's does: one server task runs every
 * handler in turn; the request's headers must fit max_req_hdr_len (431
 * otherwise), its URI CONFIG_HTTPD_MAX_URI_LEN (414); no route is 404 and
 * a route without the method 405, answered by the server; httpd_req_recv
 * returns HTTPD_SOCK_ERR_TIMEOUT after recv_wait_timeout seconds without a
 * byte, 0 once content_len is read or the peer closed; a body the handler
 * left unread is drained; at most max_resp_headers set_hdr per response,
 * kept by pointer until it is sent; ESP_FAIL from a handler closes the
 * socket. */
#ifndef FAKE_ESP_HTTP_SERVER_H
#define FAKE_ESP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "esp_err.h"
#include "freertos/FreeRTOS.h"

#define CONFIG_HTTPD_MAX_REQ_HDR_LEN 1024
#define CONFIG_HTTPD_MAX_URI_LEN 512
#define ESP_HTTPD_DEF_CTRL_PORT 32768

/* http_parser.h's method numbers, as IDF's req->method carries them */
enum http_method { HTTP_DELETE = 0, HTTP_GET = 1, HTTP_HEAD = 2, HTTP_POST = 3, HTTP_PUT = 4 };
typedef enum http_method httpd_method_t;

#define HTTPD_SOCK_ERR_FAIL -1
#define HTTPD_SOCK_ERR_INVALID -2
#define HTTPD_SOCK_ERR_TIMEOUT -3
#define HTTPD_RESP_USE_STRLEN -1

#define ESP_ERR_HTTPD_BASE 0xb000
#define ESP_ERR_HTTPD_HANDLERS_FULL (ESP_ERR_HTTPD_BASE + 1)
#define ESP_ERR_HTTPD_HANDLER_EXISTS (ESP_ERR_HTTPD_BASE + 2)
#define ESP_ERR_HTTPD_INVALID_REQ (ESP_ERR_HTTPD_BASE + 3)
#define ESP_ERR_HTTPD_RESULT_TRUNC (ESP_ERR_HTTPD_BASE + 4)
#define ESP_ERR_HTTPD_RESP_HDR (ESP_ERR_HTTPD_BASE + 5)
#define ESP_ERR_HTTPD_RESP_SEND (ESP_ERR_HTTPD_BASE + 6)
#define ESP_ERR_HTTPD_TASK (ESP_ERR_HTTPD_BASE + 8)

typedef void *httpd_handle_t;
typedef bool (*httpd_uri_match_func_t)(const char *reference_uri, const char *uri_to_match,
                                       size_t match_upto);

typedef struct httpd_config {
    unsigned task_priority;
    size_t stack_size;
    BaseType_t core_id;
    size_t max_req_hdr_len;
    size_t max_uri_len;
    uint16_t server_port;
    uint16_t ctrl_port;          /* IDF: a UDP socket on 127.0.0.1 for httpd_stop; bound here too */
    uint16_t max_open_sockets;   /* IDF reserves 3 of LWIP_MAX_SOCKETS for itself */
    uint16_t max_uri_handlers;
    uint16_t max_resp_headers;
    uint16_t backlog_conn;
    bool lru_purge_enable;       /* a new client when full closes the least recently used */
    uint16_t recv_wait_timeout;  /* seconds */
    uint16_t send_wait_timeout;  /* seconds */
    httpd_uri_match_func_t uri_match_fn;   /* NULL: exact match */
} httpd_config_t;

#define HTTPD_DEFAULT_CONFIG()                                                              \
    {                                                                                       \
        .task_priority = 5, .stack_size = 4096, .core_id = tskNO_AFFINITY,                  \
        .max_req_hdr_len = CONFIG_HTTPD_MAX_REQ_HDR_LEN,                                    \
        .max_uri_len = CONFIG_HTTPD_MAX_URI_LEN, .server_port = 80,                         \
        .ctrl_port = ESP_HTTPD_DEF_CTRL_PORT, .max_open_sockets = 7, .max_uri_handlers = 8, \
        .max_resp_headers = 8, .backlog_conn = 5, .lru_purge_enable = false,                \
        .recv_wait_timeout = 5, .send_wait_timeout = 5, .uri_match_fn = NULL,               \
    }

typedef struct httpd_req {
    httpd_handle_t handle;
    int method;
    const char uri[CONFIG_HTTPD_MAX_URI_LEN + 1];
    size_t content_len;
    void *aux;
    void *user_ctx;
} httpd_req_t;

typedef struct httpd_uri {
    const char *uri;
    httpd_method_t method;
    esp_err_t (*handler)(httpd_req_t *r);
    void *user_ctx;
} httpd_uri_t;

esp_err_t httpd_start(httpd_handle_t *handle, const httpd_config_t *config);
esp_err_t httpd_stop(httpd_handle_t handle);
esp_err_t httpd_register_uri_handler(httpd_handle_t handle, const httpd_uri_t *uri_handler);
bool httpd_uri_match_wildcard(const char *uri_template, const char *uri_to_match,
                              size_t match_upto);

int httpd_req_to_sockfd(httpd_req_t *r);
int httpd_req_recv(httpd_req_t *r, char *buf, size_t buf_len);
size_t httpd_req_get_hdr_value_len(httpd_req_t *r, const char *field);
esp_err_t httpd_req_get_hdr_value_str(httpd_req_t *r, const char *field, char *val,
                                      size_t val_size);
esp_err_t httpd_req_get_url_query_str(httpd_req_t *r, char *buf, size_t buf_len);
esp_err_t httpd_query_key_value(const char *qry, const char *key, char *val, size_t val_size);
esp_err_t httpd_req_get_cookie_val(httpd_req_t *req, const char *cookie_name, char *val,
                                   size_t *val_size);

esp_err_t httpd_resp_set_status(httpd_req_t *r, const char *status);
esp_err_t httpd_resp_set_type(httpd_req_t *r, const char *type);
esp_err_t httpd_resp_set_hdr(httpd_req_t *r, const char *field, const char *value);
esp_err_t httpd_resp_send(httpd_req_t *r, const char *buf, ssize_t buf_len);
esp_err_t httpd_resp_send_chunk(httpd_req_t *r, const char *buf, ssize_t buf_len);

#endif
