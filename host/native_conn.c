/*
 * host/native_conn.c — the native client's socket loop: connect with a
 * timeout, then a non-blocking socket and host_poll() around the host engine
 * (aloft/native_host.h), which does the whole protocol.
 */
#include <errno.h>
#include <string.h>

#include "aloft/error.h"
#include "host_net.h"
#include "native_host_priv.h"

#define TICK_MS 50               /* timeouts are seconds: this is plenty */
#define READ_AFTER_FAIL_MS 1000u /* for the ERROR that explains a broken connection */

static uint32_t now32(void)
{
    return (uint32_t)host_now_ms();
}

int native_conn_open(native_conn_t *c, const struct sockaddr_in *addr, uint32_t timeout_ms,
                     bool *refused)
{
    int err = 0;
    memset(c, 0, sizeof *c);
    *refused = false;
    c->fd = (int)socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) {
        c->sock_errno = host_sock_errno();
        return ALOFT_ERR_CONNECT;
    }
    host_sock_nonblock(c->fd);
    /* Frames are small and the ACK clock matters more than packet count. */
    host_sock_setopt(c->fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        err = host_sock_errno();
        /* Windows says "would block" where POSIX says "in progress". */
        if (err == EINPROGRESS || err == EWOULDBLOCK)
            err = host_sock_connected(c->fd, (int)timeout_ms);
        if (err < 0)
            return ALOFT_ERR_TIMEOUT;
    }
    if (err) {
        c->sock_errno = err;
        *refused = err == ECONNREFUSED;
        return ALOFT_ERR_CONNECT;
    }
    return ALOFT_OK;
}

void native_conn_close(native_conn_t *c)
{
    if (c->fd >= 0)
        host_sock_close(c->fd);
    c->fd = -1;
}

const char *native_closed_why(const native_conn_t *c)
{
    return c->sock_errno ? host_sock_strerror(c->sock_errno) : "the device closed the connection";
}

/* Everything readable into the engine. Returns false at the end of the
 * stream or on an error (frames already read still count). */
static bool read_all(native_conn_t *c, aloft_native_host_t *h)
{
    for (;;) {
        size_t room;
        uint8_t *buf = aloft_native_host_rx_buf(h, &room);
        if (room == 0)
            return true;
        ssize_t n = host_recv(c->fd, buf, room);
        int e = n < 0 ? host_sock_errno() : 0;
        if (n > 0) {
            aloft_native_host_rx_ack(h, now32(), (size_t)n);
            continue;
        }
        if (n < 0 && e == EINTR)
            continue;
        if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK))
            return true;
        if (n < 0 && c->sock_errno == 0)
            c->sock_errno = e;
        return false;
    }
}

/* What the engine has to send, without blocking. Returns false when the
 * connection broke. */
static bool write_all(native_conn_t *c, aloft_native_host_t *h)
{
    for (;;) {
        size_t n;
        const uint8_t *p = aloft_native_host_tx_buf(h, &n);
        if (n == 0)
            return true;
        ssize_t w = host_send(c->fd, p, n, MSG_NOSIGNAL);
        int e = w < 0 ? host_sock_errno() : EPIPE;
        if (w > 0) {
            aloft_native_host_tx_ack(h, (size_t)w);
            c->tx_bytes += (uint64_t)w;
            continue;
        }
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return true;
        c->sock_errno = e;
        c->send_failed = true;
        return false;
    }
}

void native_conn_run(native_conn_t *c, aloft_native_host_t *h)
{
    bool broken = false;   /* writing failed: only listen, for a moment */
    uint32_t broken_at = 0;
    for (;;) {
        while (aloft_native_host_step(h, now32()) > 0 && !broken && write_all(c, h))
            ;   /* the window is open: keep filling it */
        unsigned st = aloft_native_host_state(h);
        if (st & ALOFT_NATIVE_CLOSED)
            return;
        if (!broken && (st & ALOFT_NATIVE_HAS_TX) && !write_all(c, h)) {
            broken = true;
            broken_at = now32();
        }
        st = aloft_native_host_state(h);
        short want = (short)((st & ALOFT_NATIVE_WANT_RX ? POLLIN : 0) |
                             (!broken && (st & ALOFT_NATIVE_HAS_TX) ? POLLOUT : 0));
        struct pollfd p = {c->fd, want, 0};
        int rc = host_poll(&p, 1, (st & ALOFT_NATIVE_WANT_STEP) ? 0 : TICK_MS);
        if (rc > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && !read_all(c, h))
            aloft_native_host_peer_closed(h, now32());
        if (broken && now32() - broken_at >= READ_AFTER_FAIL_MS)
            aloft_native_host_peer_closed(h, now32());
        aloft_native_host_tick(h, now32());
    }
}
