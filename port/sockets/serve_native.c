/*
 * port/sockets/serve_native.c — native protocol sockets for a device (see
 * serve_native.h). The engines do the protocol; this file only moves bytes
 * between them and non-blocking sockets.
 */
#include "serve_native.h"

#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

static uint32_t now32(const serve_native_t *s)
{
    return (uint32_t)s->serve->now_ms(s->serve->ctx);
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
}

int serve_native_open(serve_native_t *s, const serve_config_t *cfg, aloft_login_limiter_t *limiter,
                      uint32_t addr_be, uint16_t port)
{
    struct sockaddr_in a;
    int one = 1;
    memset(s, 0, sizeof *s);
    s->serve = cfg;
    s->listen_fd = s->last_fd = -1;
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++)
        s->conn[i].fd = -1;
    if (cfg->no_native)
        return 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = addr_be;
    a.sin_port = htons(port);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->listen_fd >= 0)
        setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->listen_fd, 4) != 0) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
        serve_bind_failed(cfg, "TCP", ip, port, errno);
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        s->listen_fd = -1;
        return ALOFT_ERR_CONNECT;
    }
    set_nonblocking(s->listen_fd);
    if (cfg->verifier) {
        s->verifier = *cfg->verifier;
        s->cfg.verifier = &s->verifier;
    } else {
        s->cfg.open = true;   /* no password: the caller said so at start */
    }
    s->cfg.inflate = cfg->inflate;
    s->cfg.delta = cfg->inflate ? cfg->delta : NULL;
    s->cfg.window = cfg->window;
    s->cfg.dev = cfg->dev;
    s->cfg.update = cfg->update;
    s->cfg.name = cfg->name ? cfg->name : "aloft";
    s->cfg.idle_timeout_ms = cfg->idle_timeout_ms;
    s->cfg.limiter = limiter;
    return 0;
}

/* Unread input makes close() send a reset, which can overtake the last
 * frame (an ERROR, a RESULT) on its way to the host: read away what has
 * arrived first, as serve.c does for the connect-back. */
static void half_close(int fd)
{
    uint8_t sink[512];
    shutdown(fd, SHUT_WR);
    while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
        ;
}

static void drop_conn(serve_native_conn_t *c)
{
    if (c->fd >= 0) {
        half_close(c->fd);
        close(c->fd);
    }
    c->fd = -1;
}

/* Send what the engine has, as far as the socket takes it now. */
static void send_pending(const serve_native_t *s, serve_native_conn_t *c)
{
    while (aloft_native_device_state(&c->eng) & ALOFT_NATIVE_HAS_TX) {
        size_t n;
        const uint8_t *p = aloft_native_device_tx_buf(&c->eng, &n);
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            aloft_native_device_tx_ack(&c->eng, (size_t)k);
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;   /* POLLOUT will bring us back */
        } else {
            aloft_native_device_peer_closed(&c->eng, now32(s));
            return;
        }
    }
}

/* Close a connection whose session is over once everything is out, or at
 * once with force (its slot is needed). */
static void close_if_over(serve_native_t *s, serve_native_conn_t *c, bool force)
{
    unsigned st = aloft_native_device_state(&c->eng);
    if (!(st & ALOFT_NATIVE_CLOSED) || ((st & ALOFT_NATIVE_HAS_TX) && !force))
        return;
    if (st & ALOFT_NATIVE_REBOOT) {   /* kept open until the restart: serve_native_sent */
        s->reboot = true;
        half_close(c->fd);
        if (s->last_fd >= 0)
            close(s->last_fd);
        s->last_fd = c->fd;
        c->fd = -1;
        return;
    }
    drop_conn(c);
}

static void flush(serve_native_t *s, serve_native_conn_t *c)
{
    send_pending(s, c);
    close_if_over(s, c, false);
}

/* The slot a connection from peer takes (aloft_native_admit's policy),
 * freed for it; NULL: turn it away. */
static serve_native_conn_t *admit(serve_native_t *s, uint32_t peer)
{
    aloft_native_device_t *engines[SERVE_NATIVE_CONNS];
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++)
        engines[i] = s->conn[i].fd >= 0 ? &s->conn[i].eng : NULL;
    int i = aloft_native_admit(engines, SERVE_NATIVE_CONNS, s->cfg.limiter, peer, now32(s));
    if (i < 0)
        return NULL;
    serve_native_conn_t *c = &s->conn[i];
    if (c->fd >= 0) {   /* a session that is over, or an unfinished login giving way */
        aloft_native_device_evict(&c->eng, now32(s));
        send_pending(s, c);
        close_if_over(s, c, true);
    }
    return c;
}

static void accept_new(serve_native_t *s)
{
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        int fd = accept(s->listen_fd, (struct sockaddr *)&from, &fl);
        if (fd < 0)
            return;
        uint32_t peer = ntohl(from.sin_addr.s_addr);
        serve_native_conn_t *c = admit(s, peer);
        if (c == NULL) {   /* every slot is logged in, or held by a known peer */
            close(fd);
            continue;
        }
        int one = 1;
        set_nonblocking(fd);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* ACKs are small */
        c->fd = fd;
        if (aloft_native_device_init(&c->eng, &s->cfg, peer, now32(s)) != 0) {
            drop_conn(c);
            continue;
        }
        flush(s, c);
    }
}

static void on_readable(const serve_native_t *s, serve_native_conn_t *c, short revents)
{
    size_t n;
    uint8_t *buf = aloft_native_device_rx_buf(&c->eng, &n);
    if (n == 0) {
        /* The engine is still busy with what it has; a reset or hang-up
         * must not wait for it (nor for the idle timeout). */
        if (revents & (POLLHUP | POLLERR))
            aloft_native_device_peer_closed(&c->eng, now32(s));
        return;
    }
    ssize_t k = recv(c->fd, buf, n, 0);
    if (k > 0)
        aloft_native_device_rx_ack(&c->eng, now32(s), (size_t)k);
    else if (k == 0 || (errno != EAGAIN && errno != EINTR))
        aloft_native_device_peer_closed(&c->eng, now32(s));
}

int serve_native_pollfds(const serve_native_t *s, struct pollfd *pfd)
{
    pfd[0] = (struct pollfd){s->listen_fd, POLLIN, 0};
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++) {
        const serve_native_conn_t *c = &s->conn[i];
        unsigned st = c->fd >= 0 ? aloft_native_device_state(&c->eng) : 0;
        short ev = (short)((st & ALOFT_NATIVE_WANT_RX ? POLLIN : 0) |
                           (st & ALOFT_NATIVE_HAS_TX ? POLLOUT : 0));
        pfd[1 + i] = (struct pollfd){c->fd, ev, 0};   /* fd -1: ignored by poll */
    }
    return SERVE_NATIVE_POLLFDS;
}

void serve_native_handle(serve_native_t *s, const struct pollfd *pfd, int n)
{
    for (int i = 0; i < SERVE_NATIVE_CONNS && 1 + i < n; i++) {
        serve_native_conn_t *c = &s->conn[i];
        if (c->fd < 0 || c->fd != pfd[1 + i].fd || !pfd[1 + i].revents)
            continue;
        if (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR))
            on_readable(s, c, pfd[1 + i].revents);
        flush(s, c);
    }
    if (n > 0 && s->listen_fd >= 0 && (pfd[0].revents & POLLIN))
        accept_new(s);
}

bool serve_native_has_work(const serve_native_t *s)
{
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++)
        if (s->conn[i].fd >= 0 &&
            (aloft_native_device_state(&s->conn[i].eng) & ALOFT_NATIVE_WANT_STEP))
            return true;
    return false;
}

void serve_native_step(serve_native_t *s)
{
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++) {
        serve_native_conn_t *c = &s->conn[i];
        if (c->fd < 0)
            continue;
        aloft_native_device_step(&c->eng, now32(s));
        flush(s, c);
    }
}

void serve_native_tick(serve_native_t *s)
{
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++) {
        serve_native_conn_t *c = &s->conn[i];
        if (c->fd < 0)
            continue;
        aloft_native_device_tick(&c->eng, now32(s));
        flush(s, c);
    }
}

bool serve_native_sent(const serve_native_t *s)
{
#ifdef SIOCOUTQNSD
    int unsent = 0;
    return s->last_fd >= 0 && ioctl(s->last_fd, SIOCOUTQNSD, &unsent) == 0 && unsent == 0;
#else
    (void)s;
    return false;
#endif
}

bool serve_native_active(const serve_native_t *s)
{
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++)
        if (s->conn[i].fd >= 0)
            return true;
    return false;
}

void serve_native_close(serve_native_t *s, bool close_listen)
{
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++) {
        serve_native_conn_t *c = &s->conn[i];
        if (c->fd >= 0)
            aloft_native_device_peer_closed(&c->eng, now32(s));   /* abandons an update */
        drop_conn(c);
    }
    if (s->last_fd >= 0)
        close(s->last_fd);
    s->last_fd = -1;
    if (close_listen && s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->cfg.inflate && s->cfg.inflate->end)
        s->cfg.inflate->end(s->cfg.inflate->ctx);
}
