/*
 * host/native_conn.c — the native uploader's TCP connection:
 * connect with a timeout, frames in and out through the shared codec
 * (aloft/native.h), a MAC on each once the session is keyed, sequence
 * numbers per direction. Non-blocking socket, poll() to wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aloft/error.h"
#include "host_net.h"
#include "native_host_priv.h"

int native_conn_open(native_conn_t *c, const struct sockaddr_in *addr, uint32_t timeout_ms,
                     bool *refused)
{
    int one = 1, err = 0;
    socklen_t len = sizeof err;
    *refused = false;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) {
        c->sock_errno = errno;
        return ALOFT_ERR_CONNECT;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    /* Frames are small and the ACK clock matters more than packet count. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        if (errno != EINPROGRESS) {
            err = errno;
        } else {
            struct pollfd p = {c->fd, POLLOUT, 0};
            int rc;
            do
                rc = poll(&p, 1, (int)timeout_ms);
            while (rc < 0 && errno == EINTR);
            if (rc == 0)
                return ALOFT_ERR_TIMEOUT;
            if (rc < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
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
        close(c->fd);
    c->fd = -1;
    memset(c->key, 0, sizeof c->key);
}

int native_conn_queue(native_conn_t *c, const aloft_native_msg_t *m)
{
    if (c->tx_len != c->tx_off)
        return ALOFT_ERR_STATE;
    int n = aloft_native_encode(m, c->sha256, c->keyed ? c->key : NULL, 'H', c->tx_seq, c->tx,
                                sizeof c->tx);
    if (n < 0)
        return n;
    if (c->keyed)
        c->tx_seq++;
    c->tx_off = 0;
    c->tx_len = (size_t)n;
    return ALOFT_OK;
}

int native_conn_write(native_conn_t *c)
{
    while (c->tx_off < c->tx_len) {
        ssize_t w = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->tx_off += (size_t)w;
            c->tx_bytes += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return ALOFT_OK;
        c->sock_errno = w < 0 ? errno : EPIPE;
        return ALOFT_ERR_CLOSED;
    }
    c->tx_off = c->tx_len = 0;
    return ALOFT_OK;
}

short native_conn_wait(native_conn_t *c, int timeout_ms)
{
    struct pollfd p = {c->fd, (short)(POLLIN | (c->tx_len ? POLLOUT : 0)), 0};
    int rc = poll(&p, 1, timeout_ms);
    return rc > 0 ? p.revents : 0;
}

int native_conn_flush(native_conn_t *c, uint64_t deadline)
{
    for (;;) {
        int err = native_conn_write(c);
        if (err || c->tx_len == 0)
            return err;
        struct pollfd p = {c->fd, POLLOUT, 0};
        int ms = host_remaining_ms(deadline);
        if (ms == 0 || poll(&p, 1, ms) == 0)
            return ALOFT_ERR_TIMEOUT;
    }
}

int native_conn_read(native_conn_t *c)
{
    size_t total = 0;
    while (c->rx_len < sizeof c->rx) {
        ssize_t n = recv(c->fd, c->rx + c->rx_len, sizeof c->rx - c->rx_len, 0);
        if (n > 0) {
            c->rx_len += (size_t)n;
            total += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* The end, or a reset: frames already here still count. */
        c->eof = true;
        c->sock_errno = n < 0 ? errno : 0;
        if (total == 0)
            return ALOFT_ERR_CLOSED;
        break;
    }
    return (int)total;
}

int native_conn_next(native_conn_t *c, aloft_native_msg_t *m)
{
    int n = aloft_native_frame_len(c->rx, c->rx_len, c->keyed, c->max_payload);
    if (n <= 0)
        return n;
    memcpy(c->frame, c->rx, (size_t)n);
    c->frame_len = (size_t)n;
    memmove(c->rx, c->rx + n, c->rx_len - (size_t)n);
    c->rx_len -= (size_t)n;
    int err = aloft_native_decode(c->frame, c->frame_len, c->sha256, c->keyed ? c->key : NULL,
                                  'D', c->rx_seq, m);
    if (err)
        return err;
    if (c->keyed)
        c->rx_seq++;
    return 1;
}

int native_conn_recv(native_conn_t *c, aloft_native_msg_t *m, uint64_t deadline)
{
    for (;;) {
        int got = native_conn_next(c, m);
        if (got != 0)
            return got;
        if (c->eof)
            return ALOFT_ERR_CLOSED;
        int ms = host_remaining_ms(deadline);
        if (ms == 0)
            return ALOFT_ERR_TIMEOUT;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, ms) > 0) {
            int err = native_conn_read(c);
            if (err < 0 && c->rx_len == 0)
                return err;
        }
    }
}
