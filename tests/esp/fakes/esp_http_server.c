/*
 * tests/esp/fakes/esp_http_server.c — the fake esp_http_server (see its
 * header) over plain sockets on 127.0.0.1: one thread, like IDF's server
 * task, polls the listening socket, the control socket and the idle
 * keep-alive sessions, reads one request's headers at a time and runs its
 * handler to the end before looking at anything else.
 */
#define _GNU_SOURCE   /* memmem */
#include "esp_http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_HDRS 24

typedef struct session {
    int fd;              /* -1: free */
    uint64_t lru;        /* last request's number */
} session_t;

typedef struct server {
    httpd_config_t cfg;
    int listen_fd, ctrl_fd;
    pthread_t thread;
    httpd_uri_t *uris;
    unsigned nuris;
    session_t *sess;     /* cfg.max_open_sockets */
    uint64_t served;
} server_t;

/* One request (IDF's httpd_req_aux). */
typedef struct req_aux {
    int fd;
    char *hdr;                       /* max_req_hdr_len + 1 bytes */
    size_t hdr_len;
    struct { const char *name, *value; } in[MAX_HDRS];
    unsigned nin;
    const char *query;               /* into hdr, NULL none */
    const char *ahead;               /* body bytes read with the headers */
    size_t ahead_len;
    size_t remaining;
    const char *status, *type;
    struct { const char *field, *value; } out[32];
    unsigned nout;
    bool chunked_started;
} req_aux_t;

static void set_timeout(int fd, int opt, uint16_t s)
{
    struct timeval tv = {.tv_sec = s ? s : 1};
    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

bool httpd_uri_match_wildcard(const char *tpl, const char *uri, size_t upto)
{
    size_t tl = strlen(tpl);
    if (tl > 0 && tpl[tl - 1] == '*')   /* a template ending in a star: any URI with what comes before it */
        return upto >= tl - 1 && strncmp(tpl, uri, tl - 1) == 0;
    return tl == upto && strncmp(tpl, uri, upto) == 0;
}

static bool match(const server_t *s, const char *tpl, const char *uri, size_t upto)
{
    if (s->cfg.uri_match_fn)
        return s->cfg.uri_match_fn(tpl, uri, upto);
    return strlen(tpl) == upto && strncmp(tpl, uri, upto) == 0;
}

/* IDF's httpd_resp_send_err without an error handler: the status, a
 * sentence, and the session closed. */
static void send_err(int fd, const char *status, const char *msg)
{
    char b[256];
    int n = snprintf(b, sizeof b,
                     "HTTP/1.1 %s\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n%s",
                     status, strlen(msg), msg);
    send_all(fd, b, (size_t)n);
}

/* http_parser's number of a method, -1 for one the server does not know. */
static int method_of(const char *name)
{
    static const char *const names[] = {"DELETE", "GET", "HEAD", "POST", "PUT"};
    for (int i = 0; i < 5; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* Read and parse one request's headers into a (headers beyond the buffer:
 * 431; a URI beyond max_uri_len: 414). false: the session ends. */
static bool read_request(server_t *s, req_aux_t *a, httpd_req_t *r)
{
    char *end = NULL;
    while (end == NULL) {
        if (a->hdr_len == s->cfg.max_req_hdr_len) {
            send_err(a->fd, "431 Request Header Fields Too Large",
                     "Header fields are too long");
            return false;
        }
        ssize_t k = recv(a->fd, a->hdr + a->hdr_len, s->cfg.max_req_hdr_len - a->hdr_len, 0);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* IDF's default handler of HTTPD_408_REQ_TIMEOUT */
            send_err(a->fd, "408 Request Timeout", "Server closed this connection");
            return false;
        }
        if (k <= 0)
            return false;
        a->hdr_len += (size_t)k;
        end = memmem(a->hdr, a->hdr_len, "\r\n\r\n", 4);
    }
    a->ahead = end + 4;
    a->ahead_len = a->hdr_len - (size_t)(a->ahead - a->hdr);
    *end = '\0';
    char *line = a->hdr, *next = strstr(line, "\r\n");
    if (next)
        *next = '\0';
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp2 == NULL) {
        send_err(a->fd, "400 Bad Request", "Bad request syntax");
        return false;
    }
    *sp1 = *sp2 = '\0';
    size_t ul = strlen(sp1 + 1);
    if (ul > s->cfg.max_uri_len || ul > CONFIG_HTTPD_MAX_URI_LEN) {
        send_err(a->fd, "414 URI Too Long", "URI is too long");
        return false;
    }
    r->method = method_of(line);
    memcpy((char *)r->uri, sp1 + 1, ul + 1);
    char *q = strchr((char *)r->uri, '?');
    a->query = q ? q + 1 : NULL;
    for (line = next ? next + 2 : NULL; line && *line; line = next) {
        next = strstr(line, "\r\n");
        if (next) {
            *next = '\0';
            next += 2;
        }
        char *colon = strchr(line, ':');
        if (colon == NULL || a->nin == MAX_HDRS)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        a->in[a->nin].name = line;
        a->in[a->nin].value = v;
        a->nin++;
    }
    const char *cl = NULL;
    for (unsigned i = 0; i < a->nin; i++)
        if (strcasecmp(a->in[i].name, "Content-Length") == 0)
            cl = a->in[i].value;
    r->content_len = cl ? strtoul(cl, NULL, 10) : 0;
    a->remaining = r->content_len;
    return true;
}

/* One request on a session: false closes it. */
static bool serve_one(server_t *s, int fd)
{
    req_aux_t a = {.fd = fd, .status = "200 OK", .type = "text/html"};
    httpd_req_t r = {.handle = s, .aux = &a};
    a.hdr = calloc(1, s->cfg.max_req_hdr_len + 1);
    bool keep = a.hdr && read_request(s, &a, &r);
    if (keep) {
        size_t upto = strcspn(r.uri, "?");
        const httpd_uri_t *h = NULL;
        bool uri_known = false;
        for (unsigned i = 0; i < s->nuris && h == NULL; i++) {
            if (!match(s, s->uris[i].uri, r.uri, upto))
                continue;
            uri_known = true;
            if ((int)s->uris[i].method == r.method)
                h = &s->uris[i];
        }
        if (h == NULL) {
            send_err(fd, uri_known ? "405 Method Not Allowed" : "404 Not Found",
                     uri_known ? "Request method for this URI is not handled by server"
                               : "Nothing matches the given URI");
            keep = false;
        } else {
            r.user_ctx = h->user_ctx;
            keep = h->handler(&r) == ESP_OK;
            char dump[32];   /* IDF purges a body the handler left */
            while (keep && a.remaining > 0)
                keep = httpd_req_recv(&r, dump, sizeof dump) > 0;
        }
    }
    free(a.hdr);
    return keep;
}

static void close_session(session_t *ss)
{
    close(ss->fd);
    ss->fd = -1;
}

static void accept_one(server_t *s)
{
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return;
    session_t *free_one = NULL, *lru = NULL;
    for (unsigned i = 0; i < s->cfg.max_open_sockets; i++) {
        session_t *ss = &s->sess[i];
        if (ss->fd < 0 && free_one == NULL)
            free_one = ss;
        if (ss->fd >= 0 && (lru == NULL || ss->lru < lru->lru))
            lru = ss;
    }
    if (free_one == NULL && s->cfg.lru_purge_enable && lru != NULL) {
        close_session(lru);
        free_one = lru;
    }
    if (free_one == NULL) {   /* IDF stops accepting while full: here it closes at once */
        close(fd);
        return;
    }
    set_timeout(fd, SO_RCVTIMEO, s->cfg.recv_wait_timeout);
    set_timeout(fd, SO_SNDTIMEO, s->cfg.send_wait_timeout);
    free_one->fd = fd;
    free_one->lru = s->served;
}

static void *server_task(void *arg)
{
    server_t *s = arg;
    unsigned n = s->cfg.max_open_sockets;
    struct pollfd *p = calloc(n + 2, sizeof *p);
    for (;;) {
        p[0] = (struct pollfd){.fd = s->ctrl_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        for (unsigned i = 0; i < n; i++)
            p[i + 2] = (struct pollfd){.fd = s->sess[i].fd, .events = POLLIN};
        if (poll(p, n + 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;   /* httpd_stop */
        for (unsigned i = 0; i < n; i++) {
            if (s->sess[i].fd < 0 || !(p[i + 2].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            s->sess[i].lru = ++s->served;
            if (!serve_one(s, s->sess[i].fd))
                close_session(&s->sess[i]);
        }
        if (p[1].revents & POLLIN)
            accept_one(s);
    }
    free(p);
    return NULL;
}

static int bound(int type, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1, fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return -1;
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

esp_err_t httpd_stop(httpd_handle_t handle)
{
    server_t *s = handle;
    if (s == NULL)
        return ESP_ERR_INVALID_ARG;
    if (s->thread) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->cfg.ctrl_port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        sendto(s->ctrl_fd, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
        pthread_join(s->thread, NULL);
    }
    for (unsigned i = 0; s->sess && i < s->cfg.max_open_sockets; i++)
        if (s->sess[i].fd >= 0)
            close(s->sess[i].fd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->ctrl_fd >= 0)
        close(s->ctrl_fd);
    free(s->sess);
    free(s->uris);
    free(s);
    return ESP_OK;
}

esp_err_t httpd_start(httpd_handle_t *handle, const httpd_config_t *config)
{
    server_t *s = calloc(1, sizeof *s);
    if (handle == NULL || config == NULL || s == NULL) {
        free(s);
        return ESP_ERR_INVALID_ARG;
    }
    s->cfg = *config;
    s->sess = calloc(config->max_open_sockets, sizeof *s->sess);
    s->uris = calloc(config->max_uri_handlers, sizeof *s->uris);
    for (unsigned i = 0; s->sess && i < config->max_open_sockets; i++)
        s->sess[i].fd = -1;
    /* IDF binds the control socket too: a taken ctrl_port fails the start */
    s->listen_fd = bound(SOCK_STREAM, config->server_port);
    s->ctrl_fd = bound(SOCK_DGRAM, config->ctrl_port);
    if (s->sess == NULL || s->uris == NULL || s->listen_fd < 0 || s->ctrl_fd < 0 ||
        listen(s->listen_fd, config->backlog_conn) != 0 ||
        pthread_create(&s->thread, NULL, server_task, s) != 0) {
        s->thread = 0;
        httpd_stop(s);
        return ESP_FAIL;
    }
    *handle = s;
    return ESP_OK;
}

esp_err_t httpd_register_uri_handler(httpd_handle_t handle, const httpd_uri_t *u)
{
    server_t *s = handle;
    if (s == NULL || u == NULL)
        return ESP_ERR_INVALID_ARG;
    for (unsigned i = 0; i < s->nuris; i++)
        if (s->uris[i].method == u->method && strcmp(s->uris[i].uri, u->uri) == 0)
            return ESP_ERR_HTTPD_HANDLER_EXISTS;
    if (s->nuris == s->cfg.max_uri_handlers)
        return ESP_ERR_HTTPD_HANDLERS_FULL;
    s->uris[s->nuris++] = *u;
    return ESP_OK;
}

int httpd_req_to_sockfd(httpd_req_t *r)
{
    return r ? ((req_aux_t *)r->aux)->fd : -1;
}

int httpd_req_recv(httpd_req_t *r, char *buf, size_t buf_len)
{
    if (r == NULL || buf == NULL)
        return HTTPD_SOCK_ERR_INVALID;
    req_aux_t *a = r->aux;
    if (buf_len > a->remaining)
        buf_len = a->remaining;
    if (buf_len == 0)
        return 0;
    if (a->ahead_len > 0) {   /* IDF's "pending" bytes: returned alone, at once */
        size_t n = a->ahead_len < buf_len ? a->ahead_len : buf_len;
        memcpy(buf, a->ahead, n);
        a->ahead += n;
        a->ahead_len -= n;
        a->remaining -= n;
        return (int)n;
    }
    ssize_t k = recv(a->fd, buf, buf_len, 0);
    if (k < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? HTTPD_SOCK_ERR_TIMEOUT
                                                       : HTTPD_SOCK_ERR_FAIL;
    a->remaining -= (size_t)k;
    return (int)k;
}

static const char *find_hdr(const req_aux_t *a, const char *field)
{
    for (unsigned i = 0; i < a->nin; i++)
        if (strcasecmp(a->in[i].name, field) == 0)
            return a->in[i].value;
    return NULL;
}

size_t httpd_req_get_hdr_value_len(httpd_req_t *r, const char *field)
{
    const char *v = r && field ? find_hdr(r->aux, field) : NULL;
    return v ? strlen(v) : 0;
}

/* IDF: the value cut to size (NUL-terminated) with ESP_ERR_HTTPD_RESULT_TRUNC. */
static esp_err_t copy_out(char *dst, size_t size, const char *src, size_t len)
{
    if (dst == NULL || size == 0)
        return ESP_ERR_INVALID_ARG;
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n < len ? ESP_ERR_HTTPD_RESULT_TRUNC : ESP_OK;
}

esp_err_t httpd_req_get_hdr_value_str(httpd_req_t *r, const char *field, char *val,
                                      size_t val_size)
{
    if (r == NULL || field == NULL)
        return ESP_ERR_INVALID_ARG;
    const char *v = find_hdr(r->aux, field);
    return v ? copy_out(val, val_size, v, strlen(v)) : ESP_ERR_NOT_FOUND;
}

esp_err_t httpd_req_get_url_query_str(httpd_req_t *r, char *buf, size_t buf_len)
{
    if (r == NULL || buf == NULL || buf_len == 0)
        return ESP_ERR_INVALID_ARG;
    const char *q = ((req_aux_t *)r->aux)->query;
    return q ? copy_out(buf, buf_len, q, strlen(q)) : ESP_ERR_NOT_FOUND;
}

/* key=value in list, pairs separated by sep (then spaces skipped). */
static esp_err_t key_value(const char *list, char sep, const char *key, char *val, size_t size)
{
    size_t kl = strlen(key);
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, sep), *eq = strchr(p, '=');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (eq && eq < p + len && (size_t)(eq - p) == kl && strncasecmp(p, key, kl) == 0)
            return copy_out(val, size, eq + 1, len - kl - 1);
        p = end ? end + 1 : NULL;
    }
    return ESP_ERR_NOT_FOUND;
}

esp_err_t httpd_query_key_value(const char *qry, const char *key, char *val, size_t val_size)
{
    if (qry == NULL || key == NULL || val == NULL || val_size == 0)
        return ESP_ERR_INVALID_ARG;
    return key_value(qry, '&', key, val, val_size);
}

esp_err_t httpd_req_get_cookie_val(httpd_req_t *req, const char *cookie_name, char *val,
                                   size_t *val_size)
{
    if (req == NULL || cookie_name == NULL || val == NULL || val_size == NULL)
        return ESP_ERR_INVALID_ARG;
    const char *c = find_hdr(req->aux, "Cookie");
    if (c == NULL)
        return ESP_ERR_NOT_FOUND;
    esp_err_t e = key_value(c, ';', cookie_name, val, *val_size);
    if (e == ESP_OK)
        *val_size = strlen(val);
    return e;
}

esp_err_t httpd_resp_set_status(httpd_req_t *r, const char *status)
{
    if (r == NULL || status == NULL)
        return ESP_ERR_INVALID_ARG;
    ((req_aux_t *)r->aux)->status = status;
    return ESP_OK;
}

esp_err_t httpd_resp_set_type(httpd_req_t *r, const char *type)
{
    if (r == NULL || type == NULL)
        return ESP_ERR_INVALID_ARG;
    ((req_aux_t *)r->aux)->type = type;
    return ESP_OK;
}

esp_err_t httpd_resp_set_hdr(httpd_req_t *r, const char *field, const char *value)
{
    if (r == NULL || field == NULL || value == NULL)
        return ESP_ERR_INVALID_ARG;
    req_aux_t *a = r->aux;
    server_t *s = r->handle;
    if (a->nout >= s->cfg.max_resp_headers || a->nout == sizeof a->out / sizeof a->out[0])
        return ESP_ERR_HTTPD_RESP_HDR;
    a->out[a->nout].field = field;
    a->out[a->nout].value = value;
    a->nout++;
    return ESP_OK;
}

/* The status line and headers; length < 0: chunked. */
static esp_err_t send_head(httpd_req_t *r, ssize_t length)
{
    req_aux_t *a = r->aux;
    char b[2048];
    int n = length >= 0 ? snprintf(b, sizeof b, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zd\r\n",
                                   a->status, a->type, length)
                        : snprintf(b, sizeof b, "HTTP/1.1 %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n",
                                   a->status, a->type);
    for (unsigned i = 0; i < a->nout && n > 0 && (size_t)n < sizeof b; i++)
        n += snprintf(b + n, sizeof b - (size_t)n, "%s: %s\r\n", a->out[i].field, a->out[i].value);
    if (n < 0 || (size_t)n + 2 >= sizeof b)
        return ESP_ERR_HTTPD_RESP_HDR;
    memcpy(b + n, "\r\n", 2);
    return send_all(a->fd, b, (size_t)n + 2) ? ESP_OK : ESP_ERR_HTTPD_RESP_SEND;
}

esp_err_t httpd_resp_send(httpd_req_t *r, const char *buf, ssize_t buf_len)
{
    if (r == NULL)
        return ESP_ERR_INVALID_ARG;
    if (buf_len == HTTPD_RESP_USE_STRLEN)
        buf_len = buf ? (ssize_t)strlen(buf) : 0;
    esp_err_t e = send_head(r, buf_len);
    if (e == ESP_OK && buf_len > 0 && !send_all(((req_aux_t *)r->aux)->fd, buf, (size_t)buf_len))
        e = ESP_ERR_HTTPD_RESP_SEND;
    return e;
}

esp_err_t httpd_resp_send_chunk(httpd_req_t *r, const char *buf, ssize_t buf_len)
{
    if (r == NULL)
        return ESP_ERR_INVALID_ARG;
    req_aux_t *a = r->aux;
    if (buf_len == HTTPD_RESP_USE_STRLEN)
        buf_len = buf ? (ssize_t)strlen(buf) : 0;
    if (!a->chunked_started) {
        esp_err_t e = send_head(r, -1);
        if (e != ESP_OK)
            return e;
        a->chunked_started = true;
    }
    char len[16];
    int n = snprintf(len, sizeof len, "%zx\r\n", (size_t)buf_len);
    bool ok = send_all(a->fd, len, (size_t)n) &&
              (buf_len == 0 || send_all(a->fd, buf, (size_t)buf_len)) &&
              send_all(a->fd, "\r\n", 2);
    return ok ? ESP_OK : ESP_ERR_HTTPD_RESP_SEND;
}
