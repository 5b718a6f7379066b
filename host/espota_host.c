/*
 * host/espota_host.c — the espota uploader: the engine of
 * aloft/espota_host.h driven by a poll() loop over the UDP socket, the
 * listener for the connect-back and the connection. The sockets are in
 * espota_net.c, the messages for how it ended in espota_outcome.c.
 */
#include <errno.h>
#include <string.h>

#include "espota_host_priv.h"
#include "progress.h"

void espota_emit(espota_session_t *s, espota_event_t ev, const char *detail)
{
    if (s->u->on_event)
        s->u->on_event(s->u->ctx, ev, detail ? detail : "");
}

static uint32_t now32(void)
{
    return (uint32_t)host_now_ms();
}

static const char *scheme_name(aloft_espota_auth_t scheme, bool md5_secret)
{
    if (scheme == ALOFT_ESPOTA_AUTH_MD5)
        return "MD5";
    return md5_secret ? "PBKDF2-HMAC-SHA256, MD5 secret" : "PBKDF2-HMAC-SHA256";
}

static void on_engine_event(espota_session_t *s, const aloft_espota_host_action_t *a)
{
    const char *scheme = scheme_name(a->auth, a->md5_secret);
    switch (a->event) {
    case ALOFT_ESPOTA_HOST_EV_INVITE: espota_emit(s, ESPOTA_EV_INVITE, s->r->device_addr); break;
    case ALOFT_ESPOTA_HOST_EV_NO_ANSWER: espota_emit(s, ESPOTA_EV_NO_ANSWER, NULL); break;
    case ALOFT_ESPOTA_HOST_EV_AUTH: espota_emit(s, ESPOTA_EV_AUTH, scheme); break;
    case ALOFT_ESPOTA_HOST_EV_AUTH_OK: espota_emit(s, ESPOTA_EV_AUTH_OK, scheme); break;
    case ALOFT_ESPOTA_HOST_EV_AUTH_FAILED: espota_emit(s, ESPOTA_EV_AUTH_FAILED, scheme); break;
    case ALOFT_ESPOTA_HOST_EV_RETRY_MD5: espota_emit(s, ESPOTA_EV_AUTH_RETRY_MD5, NULL); break;
    case ALOFT_ESPOTA_HOST_EV_ACCEPTED:
        espota_emit(s, ESPOTA_EV_ACCEPTED, s->r->connect_back);
        break;
    case ALOFT_ESPOTA_HOST_EV_SENT_ALL: espota_emit(s, ESPOTA_EV_SENT_ALL, NULL); break;
    }
}

/* Hand the connection what it takes of the engine's offer. Returns false
 * when it took nothing (it would block, or it failed: read on, the
 * device's reason may be waiting). */
static bool push(espota_session_t *s, const aloft_espota_host_action_t *a)
{
    if (s->tcp < 0 || s->write_failed)
        return false;
    ssize_t w = host_send(s->tcp, a->data, a->len, MSG_NOSIGNAL);
    int e = w < 0 ? host_sock_errno() : 0;
    if (w > 0) {
        aloft_espota_host_on_tcp_sent(&s->engine, now32(), (size_t)w);
        return true;
    }
    if (w < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR))
        s->want_write = true;   /* poll says when to try again */
    else
        s->write_failed = true;
    return false;
}

static void report_progress(espota_session_t *s)
{
    const aloft_espota_host_result_t *res = aloft_espota_host_result(&s->engine);
    if (s->u->on_progress && (res->sent != s->shown_sent || res->confirmed != s->shown_confirmed))
        s->u->on_progress(s->u->ctx, res->sent, res->confirmed, s->u->size);
    s->shown_sent = res->sent;
    s->shown_confirmed = res->confirmed;
}

/* Carry out what the engine asks until it asks nothing (or the
 * connection takes no more for now). The connect-back is told after the
 * engine's events (the login's OK may arrive with it, or not at all) and
 * before the first byte. */
static void carry_out(espota_session_t *s)
{
    aloft_espota_host_action_t a;
    while (aloft_espota_host_next(&s->engine, &a)) {
        if (a.kind != ALOFT_ESPOTA_HOST_ACT_EVENT && s->peer[0]) {
            espota_emit(s, ESPOTA_EV_CONNECTED, s->peer);
            s->peer[0] = '\0';
            report_progress(s);   /* (0, 0): the transfer starts */
        }
        if (a.kind == ALOFT_ESPOTA_HOST_ACT_EVENT)
            on_engine_event(s, &a);
        else if (a.kind == ALOFT_ESPOTA_HOST_ACT_UDP_SEND &&
                 espota_net_send(s, a.data, a.len) != ALOFT_OK)
            aloft_espota_host_on_send_failed(&s->engine, now32());
        else if (a.kind == ALOFT_ESPOTA_HOST_ACT_TCP_SEND && !push(s, &a))
            return;
    }
}

/* Devices send their counts with Nagle on: the next count waits until we
 * acknowledge the previous one, and a delayed ACK (40 ms on Linux, up to
 * 200 ms elsewhere) then stalls a full window. Acknowledge at once where
 * the system allows it (the flag does not stick, so after every read). */
static void ack_now(int fd)
{
#ifdef TCP_QUICKACK
    host_sock_setopt(fd, IPPROTO_TCP, TCP_QUICKACK, 1);
#else
    (void)fd;
#endif
}

static void receive_tcp(espota_session_t *s)
{
    char buf[512];
    ack_now(s->tcp);
    while (aloft_espota_host_state(&s->engine) == ALOFT_ESPOTA_HOST_SENDING) {
        ssize_t n = host_recv(s->tcp, buf, sizeof buf);
        int e = n < 0 ? host_sock_errno() : 0;
        if (n > 0) {
            aloft_espota_host_on_tcp(&s->engine, now32(), buf, (size_t)n);
        } else if (n == 0 || (e != EAGAIN && e != EWOULDBLOCK && e != EINTR)) {
            aloft_espota_host_on_tcp_closed(&s->engine, now32());
        } else if (e != EINTR) {
            return;
        }
    }
}

static void receive_udp(espota_session_t *s)
{
    char buf[256];
    size_t n;
    while ((n = espota_net_recv(s, buf, sizeof buf)) > 0)
        aloft_espota_host_on_datagram(&s->engine, now32(), buf, n);
}

/* Run the engine until it is done. */
static void run(espota_session_t *s)
{
    aloft_espota_host_t *e = &s->engine;
    double start = 0;
    s->shown_sent = s->shown_confirmed = UINT32_MAX;   /* the first report is (0, 0) */
    aloft_espota_host_start(e, now32(), s->listen_port);
    for (;;) {
        carry_out(s);
        aloft_espota_host_state_t st = aloft_espota_host_state(e);
        if (s->tcp >= 0 && s->peer[0] == '\0')
            report_progress(s);
        if (st == ALOFT_ESPOTA_HOST_DONE)
            break;
        bool handshake = st == ALOFT_ESPOTA_HOST_INVITING || st == ALOFT_ESPOTA_HOST_AUTHENTICATING;
        struct pollfd p[3] = {
            {handshake ? s->udp : -1, POLLIN, 0},
            {s->tcp < 0 ? s->listener : -1, POLLIN, 0},
            {s->tcp, (short)(POLLIN | (s->want_write ? POLLOUT : 0)), 0},
        };
        uint32_t wait = aloft_espota_host_wait_ms(e, now32());
        int rc = host_poll(p, 3, wait > 60000 ? 60000 : (int)wait);
        if (rc > 0 && p[0].revents)
            receive_udp(s);   /* before the accept: the device said OK, then connected */
        if (rc > 0 && p[1].revents && espota_net_accept(s)) {
            start = progress_clock();
            aloft_espota_host_on_connected(e, now32());
        }
        if (rc > 0 && (p[2].revents & POLLOUT))
            s->want_write = false;
        if (rc > 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
            receive_tcp(s);
        aloft_espota_host_tick(e, now32());
    }
    if (s->peer[0])   /* connected, and done before a byte went out */
        espota_emit(s, ESPOTA_EV_CONNECTED, s->peer);
    s->r->bytes = aloft_espota_host_result(e)->sent;
    if (s->tcp >= 0) {
        s->r->seconds = progress_clock() - start;
        s->r->rate_kib_s = s->r->seconds > 0 ? s->r->bytes / 1024.0 / s->r->seconds : 0.0;
    }
}

/* ---- the whole upload ------------------------------------------------ */

static int check_device(espota_session_t *s)
{
    const espota_upload_t *u = s->u;
    if (u->device == NULL ||
        host_parse_device(u->device, u->default_port ? u->default_port : ALOFT_ESPOTA_PORT,
                          s->host, sizeof s->host, &s->port) != 0)
        return host_error_set(&s->r->error, ALOFT_ERR_ARG, "bad device address",
                              "'%s' is not HOST or HOST:PORT (IPv4 address or name, port "
                              "1-65535)", u->device ? u->device : "");
    return ALOFT_OK;
}

static int init_engine(espota_session_t *s)
{
    const espota_upload_t *u = s->u;
    size_t size = u->data ? u->size : 0;
    aloft_espota_host_config_t cfg = {
        .crypto = host_crypto, .address = s->host,
        .filename = u->filename ? u->filename : "", .password = u->password,
        .md5_target = u->md5_target, .fs = u->fs, .stop_and_wait = u->stop_and_wait,
        .size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size, .data = u->data,
        .tries = u->tries, .invite_timeout_ms = u->invite_timeout_ms,
        .timeout_ms = u->timeout_ms, .window = u->window};
    int err = aloft_espota_host_init(&s->engine, &cfg);
    if (err == ALOFT_OK)
        return ALOFT_OK;
    if (size == 0)
        return host_error_set(&s->r->error, ALOFT_ERR_SIZE, "the file is empty",
                              "there is nothing to upload");
    if (err == ALOFT_ERR_SIZE)
        return host_error_set(&s->r->error, ALOFT_ERR_SIZE, "the file is too large",
                              "espota sizes are 31-bit; no ESP flash holds %zu bytes", u->size);
    return host_error_set(&s->r->error, err, "internal error", "%s", aloft_strerror(err));
}

int espota_upload(const espota_upload_t *u, espota_result_t *r)
{
    espota_session_t s;
    memset(r, 0, sizeof *r);
    memset(&s, 0, sizeof s);
    s.u = u;
    s.r = r;
    s.udp = s.listener = s.tcp = -1;
    s.ctx.size = (uint32_t)u->size;
    s.ctx.first_byte = u->size && u->data ? u->data[0] : -1;
    s.ctx.fs = u->fs;
    int rc = check_device(&s);
    if (rc == ALOFT_OK)
        rc = init_engine(&s);
    if (rc == ALOFT_OK)
        rc = espota_net_resolve(&s);
    if (rc == ALOFT_OK)
        rc = espota_net_open(&s);   /* the listener exists before any invitation */
    if (rc == ALOFT_OK) {
        run(&s);
        rc = espota_outcome(&s);
    }
    espota_net_close(&s);
    r->ok = rc == ALOFT_OK;
    if (r->ok)
        memset(&r->error, 0, sizeof r->error);
    else if (r->error.code == 0)
        r->error.code = rc;
    return rc;
}
