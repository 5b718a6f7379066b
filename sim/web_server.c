/*
 * sim/web_server.c — libmicrohttpd around the web engine (see web_server.h).
 */
#include "web_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

typedef struct query_buf {
    char s[256];
    size_t len;
    bool cut;
} query_buf_t;

/* MHD has parsed the query into arguments; the engine takes the text. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    query_buf_t *q = cls;
    (void)kind;
    int k = snprintf(q->s + q->len, sizeof q->s - q->len, "%s%s=%s", q->len ? "&" : "", key,
                     value ? value : "");
    if (k < 0 || (size_t)k >= sizeof q->s - q->len) {
        q->cut = true;
        return MHD_NO;
    }
    q->len += (size_t)k;
    return MHD_YES;
}

static uint32_t peer_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL || ci->client_addr->sa_family != AF_INET)
        return 0;
    return ntohl(((const struct sockaddr_in *)ci->client_addr)->sin_addr.s_addr);
}

static enum MHD_Result respond(web_server_t *s, struct MHD_Connection *c,
                               const aloft_web_response_t *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, (void *)r->body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    if (r->gzip) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; "
                                "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "
                                "frame-ancestors 'none'");
    }
    if (r->set_cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    enum MHD_Result ok = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    if (r->reboot && s->reboot)
        s->reboot(s->ctx);
    return ok;
}

static enum MHD_Result too_busy(struct MHD_Connection *c)
{
    static const char body[] = "{\"ok\":false,\"code\":-9,\"message\":\"another update is in progress\"}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result handle(web_server_t *s, struct MHD_Connection *c, const char *url,
                              const char *method, const char *upload, size_t *upload_size,
                              void **con_cls)
{
    uint32_t now = (uint32_t)s->now_ms(s->ctx);
    if (*con_cls == NULL) {   /* headers are in */
        int i = 0;
        while (i < WEB_SERVER_EXCHANGES && s->pool[i].used)
            i++;
        if (i == WEB_SERVER_EXCHANGES)
            return too_busy(c);
        query_buf_t q = {.len = 0};
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
        aloft_web_request_t r = {
            .method = strcmp(method, "GET") == 0 ? ALOFT_WEB_GET
                      : strcmp(method, "POST") == 0 ? ALOFT_WEB_POST : ALOFT_WEB_OTHER,
            .path = url,
            .query = q.cut ? "query too long" : q.s,
            .session = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "aloft_session"),
            .csrf = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Aloft-CSRF"),
            .peer = peer_of(c),
        };
        s->pool[i].used = true;
        s->pool[i].finished = false;
        aloft_web_start(s->web, &s->pool[i].x, &r, now);
        *con_cls = &s->pool[i];
        return MHD_YES;
    }
    web_slot_t *e = *con_cls;
    if (*upload_size > 0) {
        aloft_web_body(s->web, &e->x, upload, *upload_size, now);
        *upload_size = 0;
        return MHD_YES;
    }
    if (e->finished)
        return MHD_YES;
    e->finished = true;
    return respond(s, c, aloft_web_finish(s->web, &e->x, now));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    web_server_t *s = cls;
    (void)version;
    pthread_mutex_lock(s->lock);
    enum MHD_Result ok = handle(s, c, url, method, upload, upload_size, con_cls);
    pthread_mutex_unlock(s->lock);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    web_server_t *s = cls;
    web_slot_t *e = *con_cls;
    (void)c;
    (void)toe;
    if (e == NULL)
        return;
    pthread_mutex_lock(s->lock);
    aloft_web_cancel(s->web, &e->x);   /* a browser that went away mid-chunk */
    e->used = false;
    pthread_mutex_unlock(s->lock);
    *con_cls = NULL;
}

int web_server_open(web_server_t *s, const char *bind, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    const char *ip = bind ? bind : "127.0.0.1";
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "aloft-sim: --bind %s is not an IPv4 address\n", ip);
        return ALOFT_ERR_ARG;
    }
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, port, NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                                 MHD_OPTION_END);
    if (s->daemon == NULL) {
        fprintf(stderr, "aloft-sim: cannot bind HTTP %s:%u (port in use? use another --http)\n", ip,
                port);
        return ALOFT_ERR_CONNECT;
    }
    return ALOFT_OK;
}

void web_server_close(web_server_t *s)
{
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}
