/*
 * tests/esp/fakes/esp_http_client.c — the fake esp_http_client (see its
 * header): a blocking HTTP/1.1 GET over a TCP socket with SO_RCVTIMEO as
 * the timeout, the response's headers passed to the event handler as IDF
 * does (HTTP_EVENT_ON_HEADER), the body read with its Content-Length.
 */
#define _GNU_SOURCE   /* memmem */
#include "esp_http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct esp_http_client {
    esp_http_client_config_t cfg;
    char host[64], path[256], extra[256];
    uint16_t port;
    int fd;
    int status;
    int64_t length;        /* -1: none */
    int64_t got;
    char buf[4096];        /* header bytes read ahead of the body */
    size_t have, pos;
};

esp_http_client_handle_t esp_http_client_init(const esp_http_client_config_t *config)
{
    struct esp_http_client *c = calloc(1, sizeof *c);
    const char *u = config->url;
    unsigned port = 80;
    if (c == NULL || strncmp(u, "http://", 7) != 0) {   /* no TLS in the fake */
        free(c);
        return NULL;
    }
    c->cfg = *config;
    c->fd = -1;
    u += 7;
    size_t hl = strcspn(u, ":/");
    if (hl >= sizeof c->host) {
        free(c);
        return NULL;
    }
    memcpy(c->host, u, hl);
    u += hl;
    if (*u == ':')
        port = (unsigned)strtoul(u + 1, (char **)&u, 10);
    c->port = (uint16_t)port;
    snprintf(c->path, sizeof c->path, "%s", *u ? u : "/");
    return c;
}

esp_err_t esp_http_client_set_header(esp_http_client_handle_t c, const char *key,
                                     const char *value)
{
    size_t n = strlen(c->extra);
    snprintf(c->extra + n, sizeof c->extra - n, "%s: %s\r\n", key, value);
    return ESP_OK;
}

esp_err_t esp_http_client_open(esp_http_client_handle_t c, int write_len)
{
    char req[768];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(c->port)};
    int ms = c->cfg.timeout_ms ? c->cfg.timeout_ms : 5000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    (void)write_len;
    if (inet_pton(AF_INET, c->host, &a.sin_addr) != 1 ||
        (c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return ESP_ERR_HTTP_CONNECT;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n%sConnection: close\r\n\r\n",
                     c->path, c->host, (unsigned)c->port, c->extra);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return ESP_ERR_HTTP_CONNECT;
    return ESP_OK;
}

/* One header line "Key: value" to the event handler. */
static void header_event(esp_http_client_handle_t c, char *line)
{
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ')
        v++;
    if (strcasecmp(line, "Content-Length") == 0)
        c->length = strtoll(v, NULL, 10);
    if (c->cfg.event_handler) {
        esp_http_client_event_t ev = {.event_id = HTTP_EVENT_ON_HEADER, .client = c,
                                      .user_data = c->cfg.user_data, .header_key = line,
                                      .header_value = v};
        c->cfg.event_handler(&ev);
    }
}

int64_t esp_http_client_fetch_headers(esp_http_client_handle_t c)
{
    char *end = NULL;
    c->length = -1;
    while ((end = memmem(c->buf, c->have, "\r\n\r\n", 4)) == NULL) {
        if (c->have == sizeof c->buf)
            return ESP_FAIL;
        ssize_t n = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
        if (n <= 0)
            return n < 0 && errno == EAGAIN ? -ESP_ERR_HTTP_EAGAIN : ESP_FAIL;
        c->have += (size_t)n;
    }
    *end = '\0';
    c->pos = (size_t)(end + 4 - c->buf);
    char *save, *line = strtok_r(c->buf, "\r\n", &save);
    if (line == NULL || sscanf(line, "HTTP/%*s %d", &c->status) != 1)
        return ESP_FAIL;
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL)
        header_event(c, line);
    return c->length < 0 ? 0 : c->length;
}

int esp_http_client_get_status_code(esp_http_client_handle_t c)
{
    return c->status;
}

bool esp_http_client_is_chunked_response(esp_http_client_handle_t c)
{
    (void)c;
    return false;
}

int esp_http_client_read(esp_http_client_handle_t c, char *buffer, int len)
{
    int64_t left = c->length >= 0 ? c->length - c->got : len;
    size_t want = (size_t)(left < len ? left : len);
    ssize_t n;
    if (want == 0)
        return 0;
    if (c->pos < c->have) {
        n = (ssize_t)(c->have - c->pos < want ? c->have - c->pos : want);
        memcpy(buffer, c->buf + c->pos, (size_t)n);
        c->pos += (size_t)n;
    } else if ((n = recv(c->fd, buffer, want, 0)) < 0) {
        return errno == EAGAIN ? -ESP_ERR_HTTP_EAGAIN : ESP_FAIL;
    }
    c->got += n;
    return (int)n;
}

bool esp_http_client_is_complete_data_received(esp_http_client_handle_t c)
{
    return c->length >= 0 && c->got == c->length;
}

esp_err_t esp_http_client_close(esp_http_client_handle_t c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return ESP_OK;
}

esp_err_t esp_http_client_cleanup(esp_http_client_handle_t c)
{
    esp_http_client_close(c);
    free(c);
    return ESP_OK;
}
