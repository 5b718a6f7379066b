/*
 * host/espota_net.c — sockets for the espota uploader: resolving the
 * device, the TCP listener, the one UDP socket (ESP8266 answers on the
 * invitation's source port, ESP32 on the auth datagram's: one socket
 * satisfies both) and the connect-back. Errors are explained here, where
 * the reason (host_sock_errno) is known.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "espota_host_priv.h"

int espota_net_resolve(espota_session_t *s)
{
    int err = host_resolve(s->host, s->port, &s->dev, &s->r->error);
    if (err == ALOFT_OK)
        host_addr_text(&s->dev, s->r->device_addr, sizeof s->r->device_addr);
    return err;
}

/* host_ip as an address; INADDR_ANY when not given. */
static int host_address(espota_session_t *s, struct in_addr *a)
{
    a->s_addr = htonl(INADDR_ANY);
    if (s->u->host_ip == NULL || s->u->host_ip[0] == '\0')
        return ALOFT_OK;
    if (inet_pton(AF_INET, s->u->host_ip, a) != 1)
        return host_error_set(&s->r->error, ALOFT_ERR_ARG, "bad host address",
                              "'%s' is not an IPv4 address of this computer", s->u->host_ip);
    return ALOFT_OK;
}

/* A port in espota's range, different on every call. */
static uint16_t random_port(void)
{
    static uint32_t x;
    if (x == 0)
        x = (uint32_t)host_now_ms() ^ ((uint32_t)getpid() * 2654435761u) ^ (uint32_t)time(NULL);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return (uint16_t)(ESPOTA_HOST_PORT_MIN + x % (ESPOTA_HOST_PORT_MAX - ESPOTA_HOST_PORT_MIN + 1));
}

static int try_bind(int fd, struct in_addr ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr = ip;
    a.sin_port = htons(port);
    return bind(fd, (struct sockaddr *)&a, sizeof a);
}

static int open_listener(espota_session_t *s, struct in_addr ip)
{
    int rc = -1, e = 0;
    uint16_t port = s->u->host_port;
    char ipt[INET_ADDRSTRLEN];
    s->listener = (int)socket(AF_INET, SOCK_STREAM, 0);
    if (s->listener < 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot open a TCP socket",
                              "%s", host_sock_strerror(host_sock_errno()));
#ifndef _WIN32   /* on Windows SO_REUSEADDR lets another program take the port too */
    host_sock_setopt(s->listener, SOL_SOCKET, SO_REUSEADDR, 1);
#endif
    /* A random port may be taken, or on Windows reserved (Hyper-V's
     * excluded ranges refuse with WSAEACCES): draw again a few times. */
    for (int attempt = 0; attempt < 20; attempt++) {
        port = s->u->host_port ? s->u->host_port : random_port();
        rc = try_bind(s->listener, ip, port);
        e = rc == 0 ? 0 : host_sock_errno();
        if (rc == 0 || s->u->host_port || (e != EADDRINUSE && e != EACCES))
            break;
    }
    if (rc == 0 && (rc = listen(s->listener, 1)) != 0)
        e = host_sock_errno();
    if (rc != 0) {
        inet_ntop(AF_INET, &ip, ipt, sizeof ipt);
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot listen for the device",
                              "binding TCP %s:%u failed (%s); choose another port with %s N, or "
                              "check that the host address is one of this computer's",
                              ipt, (unsigned)port, host_sock_strerror(e),
                              s->u->host_port_flag ? s->u->host_port_flag : "--host-port");
    }
    s->listen_port = port;
    return ALOFT_OK;
}

/* The device connects back to the source address of our datagrams, which
 * the kernel picks for a connected UDP socket: report that one. */
static void note_connect_back(espota_session_t *s)
{
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    char text[64];
    memset(&local, 0, sizeof local);
    getsockname(s->udp, (struct sockaddr *)&local, &len);
    local.sin_port = htons(s->listen_port);
    host_addr_text(&local, s->r->connect_back, sizeof s->r->connect_back);
    len = sizeof local;
    getsockname(s->listener, (struct sockaddr *)&local, &len);
    host_addr_text(&local, text, sizeof text);
    espota_emit(s, ESPOTA_EV_LISTENING, text);
}

int espota_net_open(espota_session_t *s)
{
    struct in_addr ip;
    int err = host_address(s, &ip);
    if (err == ALOFT_OK)
        err = open_listener(s, ip);
    if (err != ALOFT_OK)
        return err;
    s->udp = (int)socket(AF_INET, SOCK_DGRAM, 0);
    if (s->udp < 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot open a UDP socket",
                              "%s", host_sock_strerror(host_sock_errno()));
    host_sock_nonblock(s->udp);   /* espota_net_recv only takes what is there */
    /* With -I the invitation leaves from that address too, so the device
     * connects back to the address the listener is bound to. */
    if (ip.s_addr != htonl(INADDR_ANY) && try_bind(s->udp, ip, 0) != 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot use the host address",
                              "binding UDP to %s failed (%s)", s->u->host_ip,
                              host_sock_strerror(host_sock_errno()));
    if (connect(s->udp, (struct sockaddr *)&s->dev, sizeof s->dev) != 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot reach the device",
                              "no route to %s (%s); check the address and this computer's "
                              "network connection", s->r->device_addr,
                              host_sock_strerror(host_sock_errno()));
    note_connect_back(s);
    return ALOFT_OK;
}

/* An ICMP "port unreachable" on the UDP socket: ECONNREFUSED on POSIX,
 * WSAECONNRESET on Windows. */
static bool refused(int e)
{
    return e == ECONNREFUSED || e == ECONNRESET;
}

int espota_net_send(espota_session_t *s, const void *data, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (host_send(s->udp, data, len, 0) == (ssize_t)len) {
            s->send_errno = 0;
            return ALOFT_OK;
        }
        int e = host_sock_errno();
        /* An earlier ICMP "port unreachable" surfaces on the next send. */
        if (refused(e))
            s->port_refused = true;
        else if (e != EINTR) {
            s->send_errno = e;
            break;
        }
    }
    return ALOFT_ERR_CONNECT;
}

size_t espota_net_recv(espota_session_t *s, char *buf, size_t n)
{
    for (;;) {
        ssize_t got = host_recv(s->udp, buf, n);
        int e = got < 0 ? host_sock_errno() : 0;
        if (got > 0)
            return (size_t)got;
        if (got < 0 && refused(e))
            s->port_refused = true;   /* nothing listens there (yet); keep waiting */
        else if (got == 0 || e != EINTR)
            return 0;
    }
}

/* Only the device may take the upload: another host connecting to our
 * port (a scanner, a stale device) is turned away. */
static bool from_device(const espota_session_t *s, const struct sockaddr_in *peer)
{
    return peer->sin_addr.s_addr == s->dev.sin_addr.s_addr;
}

bool espota_net_accept(espota_session_t *s)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int fd = (int)accept(s->listener, (struct sockaddr *)&peer, &len);
    if (fd < 0)
        return false;
    if (!from_device(s, &peer)) {
        host_sock_close(fd);
        return false;
    }
    host_sock_nonblock(fd);
    host_sock_close(s->listener);   /* one device, one connection */
    s->listener = -1;
    s->tcp = fd;
    host_addr_text(&peer, s->peer, sizeof s->peer);
    return true;
}

void espota_net_close(espota_session_t *s)
{
    if (s->tcp >= 0)
        host_sock_close(s->tcp);
    if (s->udp >= 0)
        host_sock_close(s->udp);
    if (s->listener >= 0)
        host_sock_close(s->listener);
    s->tcp = s->udp = s->listener = -1;
}
