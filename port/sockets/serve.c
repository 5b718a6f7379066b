/*
 * port/sockets/serve.c — a device's sockets and poll loop (see serve.h).
 */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ArduinoOTA reads at most one TCP segment's worth per loop. */
#define READ_MAX 1460
/* The ESP32 core restarts 100 ms after sending "OK". A native update
 * restarts as soon as its RESULT has left (serve_native_sent), at the
 * latest this long after. */
#define REBOOT_DELAY_MS 100

static uint64_t now_ms(const serve_t *n)
{
    return n->cfg.now_ms(n->cfg.ctx);
}

static uint32_t now32(const serve_t *n)
{
    return (uint32_t)now_ms(n);
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
}

static void say(const serve_config_t *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const serve_config_t *cfg, const char *fmt, ...)
{
    char msg[192];
    va_list ap;
    if (cfg->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg->log(cfg->ctx, msg);
}

void serve_bind_failed(const serve_config_t *cfg, const char *proto, const char *ip,
                       uint16_t port, int err)
{
    say(cfg, "cannot bind %s %s:%u: %s%s%s%s", proto, ip, port, strerror(err),
        cfg->bind_hint ? " (" : "", cfg->bind_hint ? cfg->bind_hint : "",
        cfg->bind_hint ? ")" : "");
}

static struct sockaddr_in ipv4(uint32_t ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(port);
    return a;
}

int serve_open(serve_t *n, const serve_config_t *cfg)
{
    struct in_addr addr;
    const char *bind_to = cfg->bind ? cfg->bind : "127.0.0.1";
    uint16_t port = cfg->port ? cfg->port : ALOFT_ESPOTA_PORT;
    int err;
    memset(n, 0, sizeof *n);
    n->cfg = *cfg;
    n->tcp = n->udp = -1;
    n->native.listen_fd = n->native.last_fd = -1;
    for (int i = 0; i < SERVE_NATIVE_CONNS; i++)
        n->native.conn[i].fd = -1;
    if (cfg->now_ms == NULL) {
        say(cfg, "no clock (serve_config_t.now_ms)");
        return ALOFT_ERR_ARG;
    }
    if (inet_pton(AF_INET, bind_to, &addr) != 1) {
        say(cfg, "%s is not an IPv4 address", bind_to);
        return ALOFT_ERR_ARG;
    }
    struct sockaddr_in a = ipv4(ntohl(addr.s_addr), port);
    n->udp = cfg->no_espota ? -1 : socket(AF_INET, SOCK_DGRAM, 0);
    if (!cfg->no_espota && (n->udp < 0 || bind(n->udp, (struct sockaddr *)&a, sizeof a) != 0)) {
        serve_bind_failed(cfg, "UDP", bind_to, port, errno);
        if (n->udp >= 0)
            close(n->udp);
        n->udp = -1;
        return ALOFT_ERR_CONNECT;
    }
    if (n->udp >= 0)
        set_nonblocking(n->udp);
    if (cfg->secret)
        snprintf(n->secret, sizeof n->secret, "%s", cfg->secret);
    aloft_espota_config_t ec = {
        .dev = cfg->dev, .update = cfg->update, .auth = cfg->auth,
        .secret = cfg->secret ? n->secret : NULL, .idle_timeout_ms = cfg->idle_timeout_ms,
        .limiter = &n->limiter};
    if (aloft_espota_init(&n->espota, &ec) != 0) {
        say(cfg, "bad espota configuration");
        err = ALOFT_ERR_ARG;
    } else {
        err = serve_native_open(&n->native, &n->cfg, &n->limiter, addr.s_addr, port);
    }
    if (err && n->udp >= 0)
        close(n->udp);
    if (err)
        n->udp = -1;
    return err;
}

void serve_request_reboot(serve_t *n)
{
    if (!n->reboot_pending) {
        n->reboot_pending = true;
        n->reboot_at_ms = now_ms(n) + REBOOT_DELAY_MS;
    }
}

bool serve_busy(const serve_t *n)
{
    return aloft_espota_state(&n->espota) >= ALOFT_ESPOTA_CONNECTING ||
           serve_native_active(&n->native);
}

/* Close the connect-back. Unread input makes close() send a reset, which
 * can overtake a result line still on its way to the host, so read away
 * what has arrived first. */
static void close_tcp(serve_t *n)
{
    uint8_t sink[READ_MAX];
    if (n->tcp >= 0) {
        shutdown(n->tcp, SHUT_WR);
        while (recv(n->tcp, sink, sizeof sink, MSG_DONTWAIT) > 0)
            ;
        close(n->tcp);
    }
    n->tcp = -1;
    n->connecting = false;
}

void serve_close(serve_t *n)
{
    serve_native_close(&n->native, true);
    if (n->tcp >= 0) {   /* an espota upload on it is abandoned */
        close_tcp(n);
        aloft_espota_on_tcp_closed(&n->espota, now32(n));
    }
    if (n->udp >= 0)
        close(n->udp);
    n->udp = -1;
}

static void start_connect(serve_t *n, uint32_t ip, uint16_t port)
{
    struct sockaddr_in a = ipv4(ip, port);
    close_tcp(n);
    n->tcp = socket(AF_INET, SOCK_STREAM, 0);
    if (n->tcp < 0) {
        aloft_espota_on_connect(&n->espota, now32(n), false);
        return;
    }
    set_nonblocking(n->tcp);
    /* From the address we serve on, as a device's connection comes from its
     * only address: the host takes the connect-back from the device's
     * address alone (a simulator on 127.0.0.2 would otherwise connect from
     * 127.0.0.1). Bound to any address: the system picks, as before. */
    struct in_addr self;
    if (n->cfg.bind && inet_pton(AF_INET, n->cfg.bind, &self) == 1 &&
        self.s_addr != htonl(INADDR_ANY)) {
        struct sockaddr_in from = ipv4(ntohl(self.s_addr), 0);
        bind(n->tcp, (struct sockaddr *)&from, sizeof from);   /* failing: connect says */
    }
    /* Acks are a few bytes each; do not let Nagle hold them (ESP8266
     * ArduinoOTA sets setNoDelay(true) for the same reason). */
    int one = 1;
    setsockopt(n->tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(n->tcp, (struct sockaddr *)&a, sizeof a) == 0) {
        aloft_espota_on_connect(&n->espota, now32(n), true);
    } else if (errno == EINPROGRESS) {
        n->connecting = true;
    } else {
        close_tcp(n);
        aloft_espota_on_connect(&n->espota, now32(n), false);
    }
}

/* Small writes (acks, the result line): wait for room rather than drop. */
static void send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            len -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            if (poll(&pfd, 1, 1000) <= 0)
                return;
        } else {
            return;
        }
    }
}

static void run_actions(serve_t *n)
{
    aloft_espota_action_t a;
    while (aloft_espota_next(&n->espota, &a)) {
        switch (a.kind) {
        case ALOFT_ESPOTA_ACT_UDP_SEND: {
            struct sockaddr_in to = ipv4(a.ip, a.port);
            sendto(n->udp, a.data, a.len, 0, (struct sockaddr *)&to, sizeof to);
            break;
        }
        case ALOFT_ESPOTA_ACT_CONNECT:
            start_connect(n, a.ip, a.port);
            break;
        case ALOFT_ESPOTA_ACT_TCP_SEND:
            if (n->tcp >= 0)
                send_all(n->tcp, a.data, a.len);
            break;
        case ALOFT_ESPOTA_ACT_TCP_CLOSE:
            close_tcp(n);
            break;
        case ALOFT_ESPOTA_ACT_REBOOT:
            n->reboot_pending = true;
            n->reboot_at_ms = now_ms(n) + REBOOT_DELAY_MS;
            break;
        default:
            break;
        }
    }
}

static void on_udp(serve_t *n)
{
    uint8_t buf[512];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t k;
    while ((k = recvfrom(n->udp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) >= 0) {
        aloft_espota_on_datagram(&n->espota, now32(n), ntohl(from.sin_addr.s_addr),
                                 ntohs(from.sin_port), buf, (size_t)k);
        run_actions(n);
        fl = sizeof from;
    }
}

static void on_tcp(serve_t *n, short revents)
{
    uint8_t buf[READ_MAX];
    if (n->connecting) {
        int err = 0;
        socklen_t el = sizeof err;
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
            return;
        getsockopt(n->tcp, SOL_SOCKET, SO_ERROR, &err, &el);
        n->connecting = false;
        if (err)
            close_tcp(n);
        aloft_espota_on_connect(&n->espota, now32(n), err == 0);
        return;
    }
    ssize_t k = recv(n->tcp, buf, sizeof buf, 0);
    if (k > 0) {
        aloft_espota_on_tcp(&n->espota, now32(n), buf, (size_t)k);
    } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_tcp(n);
        aloft_espota_on_tcp_closed(&n->espota, now32(n));
    }
}

#define POLLFDS (2 + SERVE_NATIVE_POLLFDS)

/* espota UDP, the connect-back (fd -1 when none: poll skips it), native. */
static int pollfds(const serve_t *n, struct pollfd pfd[POLLFDS])
{
    pfd[0] = (struct pollfd){n->udp, POLLIN, 0};
    pfd[1] = (struct pollfd){n->tcp, 0, 0};
    if (n->tcp >= 0)
        pfd[1].events = n->connecting ? POLLOUT : POLLIN;
    return 2 + serve_native_pollfds(&n->native, pfd + 2);
}

int serve_wait(const serve_t *n, int wait_ms)
{
    struct pollfd pfd[POLLFDS];
    int nfds = pollfds(n, pfd);
    if (serve_native_has_work(&n->native) || n->reboot_pending)
        return 1;
    return poll(pfd, (nfds_t)nfds, wait_ms);
}

int serve_step(serve_t *n, int wait_ms)
{
    /* Timers first: after the loop was stalled (a simulated BLE scan holding
     * the radio), the silence counts before any late data is read. */
    aloft_espota_tick(&n->espota, now32(n));
    run_actions(n);
    serve_native_tick(&n->native);
    /* Idle after a restart: identify the running image now rather than in
     * the first HELLO, where an upload would wait for it. */
    if (n->native.cfg.delta && !n->native.cfg.delta->identified && !serve_busy(n))
        aloft_native_device_identify(n->native.cfg.delta, n->cfg.dev);

    struct pollfd pfd[POLLFDS];
    int nfds = pollfds(n, pfd);
    /* While a native engine can erase ahead, only peek at the sockets. */
    int ready = poll(pfd, (nfds_t)nfds, serve_native_has_work(&n->native) ? 0 : wait_ms);
    if (ready > 0) {
        if (pfd[0].revents & POLLIN)
            on_udp(n);
        if (n->tcp >= 0 && pfd[1].revents)
            on_tcp(n, pfd[1].revents);
        run_actions(n);
        serve_native_handle(&n->native, pfd + 2, nfds - 2);
    } else if (ready == 0) {
        serve_native_step(&n->native);
    }
    if (n->reboot_pending && (now_ms(n) >= n->reboot_at_ms || serve_native_sent(&n->native))) {
        n->reboot_pending = false;
        close_tcp(n);
        serve_native_close(&n->native, false);   /* a restart drops every connection */
        aloft_espota_config_t cfg = n->espota.cfg;   /* and forgets every session */
        if (n->cfg.delta)   /* another image runs after the restart */
            n->cfg.delta->identified = false;
        aloft_espota_init(&n->espota, &cfg);
        return n->cfg.reboot ? n->cfg.reboot(n->cfg.ctx) : 0;
    }
    /* Asked for in this turn: the restart comes in a later one, so that the
     * port's work after a turn (its END event) sees the update done. */
    if (n->native.reboot) {
        n->native.reboot = false;
        serve_request_reboot(n);
    }
    return 0;
}
