/*
 * host/espota_net.c — sockets for the espota uploader: resolving the
 * device, the TCP listener, the one UDP socket (ESP8266 answers on the
 * invitation's source port, ESP32 on the auth datagram's: one socket
 * satisfies both) and the connect-back. Errors are explained here, where
 * the reason (errno) is known.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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
    int one = 1, rc = -1;
    uint16_t port = s->u->host_port;
    char ipt[INET_ADDRSTRLEN];
    s->listener = socket(AF_INET, SOCK_STREAM, 0);
    if (s->listener < 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot open a TCP socket",
                              "%s", strerror(errno));
    setsockopt(s->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* A random port may be taken: draw again a few times. */
    for (int attempt = 0; attempt < 20; attempt++) {
        port = s->u->host_port ? s->u->host_port : random_port();
        rc = try_bind(s->listener, ip, port);
        if (rc == 0 || s->u->host_port || errno != EADDRINUSE)
            break;
    }
    if (rc == 0)
        rc = listen(s->listener, 1);
    if (rc != 0) {
        int e = errno;
        inet_ntop(AF_INET, &ip, ipt, sizeof ipt);
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot listen for the device",
                              "binding TCP %s:%u failed (%s); choose another port with %s N, or "
                              "check that the host address is one of this computer's",
                              ipt, (unsigned)port, strerror(e),
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
    s->udp = socket(AF_INET, SOCK_DGRAM, 0);
    if (s->udp < 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot open a UDP socket",
                              "%s", strerror(errno));
    /* With -I the invitation leaves from that address too, so the device
     * connects back to the address the listener is bound to. */
    if (ip.s_addr != htonl(INADDR_ANY) && try_bind(s->udp, ip, 0) != 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot use the host address",
                              "binding UDP to %s failed (%s)", s->u->host_ip, strerror(errno));
    if (connect(s->udp, (struct sockaddr *)&s->dev, sizeof s->dev) != 0)
        return host_error_set(&s->r->error, ALOFT_ERR_CONNECT, "cannot reach the device",
                              "no route to %s (%s); check the address and this computer's "
                              "network connection", s->r->device_addr, strerror(errno));
    note_connect_back(s);
    return ALOFT_OK;
}

int espota_net_send(espota_session_t *s, const void *data, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (send(s->udp, data, len, 0) == (ssize_t)len) {
            s->send_errno = 0;
            return ALOFT_OK;
        }
        /* An earlier ICMP "port unreachable" surfaces on the next send. */
        if (errno == ECONNREFUSED)
            s->port_refused = true;
        else if (errno != EINTR) {
            s->send_errno = errno;
            break;
        }
    }
    return ALOFT_ERR_CONNECT;
}

size_t espota_net_recv(espota_session_t *s, char *buf, size_t n)
{
    for (;;) {
        ssize_t got = recv(s->udp, buf, n, MSG_DONTWAIT);
        if (got > 0)
            return (size_t)got;
        if (got < 0 && errno == ECONNREFUSED)
            s->port_refused = true;   /* nothing listens there (yet); keep waiting */
        else if (got == 0 || errno != EINTR)
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
    int fd = accept(s->listener, (struct sockaddr *)&peer, &len);
    if (fd < 0)
        return false;
    if (!from_device(s, &peer)) {
        close(fd);
        return false;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    close(s->listener);   /* one device, one connection */
    s->listener = -1;
    s->tcp = fd;
    host_addr_text(&peer, s->peer, sizeof s->peer);
    return true;
}

void espota_net_close(espota_session_t *s)
{
    if (s->tcp >= 0)
        close(s->tcp);
    if (s->udp >= 0)
        close(s->udp);
    if (s->listener >= 0)
        close(s->listener);
    s->tcp = s->udp = s->listener = -1;
}
