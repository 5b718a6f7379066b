/*
 * host/espota_transfer.c — the espota data phase: push the image on
 * the connection the device opened, read its acks, and judge the result.
 *
 * Streaming (default): keep up to `window` bytes beyond what the acks
 * confirm in flight and let TCP pace the rest. The device acks per read,
 * so it does not care how the bytes were cut; espota's stop-and-wait
 * (1024 bytes, then wait for an ack) costs a round trip per KiB. The ack
 * total is only an estimate (espota_acks.h) that errs high; should it lag,
 * a window that stays full with nothing arriving is opened by half after
 * STALL_MS, so a wrong estimate can slow the upload but never stall it,
 * while a device that stopped taking data is not flooded.
 *
 * The result: "OK" is success. The first error text ends the upload (we
 * stop sending at once) and is translated by espota_reply.c; a close
 * without "OK" or timeout_ms without a byte either way is a failure.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "espota_acks.h"
#include "espota_host_priv.h"
#include "progress.h"

/* Window full and silent this long: open it by half. Longer than a flash
 * erase stall (<= 0.4 s), short of the 10 s timeout; a stock ESP32 that
 * starves re-sends its last count after 1 s anyway, which also opens it. */
#define STALL_MS 1500u
#define TEXT_WAIT_MS 2000u     /* time for the rest of an error line */

typedef struct {
    espota_session_t *s;
    espota_acks_t acks;
    uint64_t sent;
    uint64_t last_rx_ms, last_tx_ms, error_ms;
    double start;              /* progress_clock() at the connect-back */
    bool closed;               /* the device closed (or reset) the connection */
    bool write_failed;         /* it stopped taking data */
    bool timed_out;
    bool told_all_sent;
} xfer_t;

static void progress(xfer_t *x)
{
    const espota_upload_t *u = x->s->u;
    uint64_t confirmed = x->acks.ok ? x->sent : x->acks.acked;
    if (u->on_progress)
        u->on_progress(u->ctx, x->sent, confirmed, u->size);
    if (x->sent == u->size && !x->told_all_sent) {
        x->told_all_sent = true;
        espota_emit(x->s, ESPOTA_EV_SENT_ALL, NULL);
    }
}

static bool finished(const xfer_t *x)
{
    return x->acks.ok || x->acks.error_done || x->closed || x->timed_out ||
           (x->acks.error && host_now_ms() - x->error_ms >= TEXT_WAIT_MS);
}

/* Devices send their counts with Nagle on: the next count waits until we
 * acknowledge the previous one, and a delayed ACK (40 ms on Linux, up to
 * 200 ms elsewhere) then stalls a full window. Acknowledge at once where
 * the system allows it (the flag does not stick, so after every read). */
static void ack_now(int fd)
{
#ifdef TCP_QUICKACK
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
    (void)fd;
#endif
}

/* Read what the device sent (non-blocking socket). */
static void receive(xfer_t *x)
{
    char buf[512];
    ack_now(x->s->tcp);
    for (;;) {
        ssize_t n = recv(x->s->tcp, buf, sizeof buf, 0);
        if (n > 0) {
            bool had_error = x->acks.error;
            espota_acks_feed(&x->acks, buf, (size_t)n, x->sent);
            x->last_rx_ms = host_now_ms();
            if (x->acks.error && !had_error)
                x->error_ms = x->last_rx_ms;
            progress(x);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            x->closed = true;
        if (n == 0 || errno != EINTR)
            return;
    }
}

/* Send up to max bytes of what is left. */
static void transmit(xfer_t *x, size_t max)
{
    const espota_upload_t *u = x->s->u;
    size_t n = u->size - (size_t)x->sent;
    if (n > max)
        n = max;
    ssize_t w = send(x->s->tcp, u->data + x->sent, n, MSG_NOSIGNAL);
    if (w > 0) {
        x->sent += (uint64_t)w;
        x->last_tx_ms = host_now_ms();
        progress(x);
    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        x->write_failed = true;   /* read on: the reason may be waiting */
    }
}

/* Unconfirmed bytes. A digit run at the end of what arrived counts at once
 * (tentatively): waiting for the idle flush would stall a full window for
 * every burst of acks. */
static uint64_t in_flight(const xfer_t *x)
{
    uint64_t acked = x->acks.acked + espota_acks_pending(&x->acks, x->sent);
    return x->sent > acked ? x->sent - acked : 0;
}

static bool may_send(const xfer_t *x, uint64_t limit)
{
    return !x->acks.error && !x->write_failed && x->sent < x->s->u->size && in_flight(x) < limit;
}

/* Nothing happened for a while: decode a pending count, open a stalled
 * window, and give up after timeout_ms of silence both ways. */
static void idle(xfer_t *x, uint64_t limit)
{
    uint64_t now = host_now_ms();
    uint64_t last = x->last_rx_ms > x->last_tx_ms ? x->last_rx_ms : x->last_tx_ms;
    espota_acks_flush(&x->acks, x->sent);
    if (limit && in_flight(x) >= limit && now - x->last_rx_ms >= STALL_MS)
        x->acks.acked = x->sent - limit / 2;
    if (now - last >= x->s->timeout_ms)
        x->timed_out = true;
}

/* Run until the result is in, sending while the window allows (limit 0:
 * only read). */
static void pump(xfer_t *x, uint64_t limit)
{
    while (!finished(x)) {
        bool tx = limit && may_send(x, limit);
        struct pollfd p = {x->s->tcp, (short)(POLLIN | (tx ? POLLOUT : 0)), 0};
        int rc = poll(&p, 1, tx ? 1000 : 50);
        if (rc < 0 && errno != EINTR)
            x->closed = true;
        if (rc > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            receive(x);
        if (rc > 0 && (p.revents & POLLOUT) && tx && !finished(x))
            transmit(x, (size_t)(limit - in_flight(x)));
        if (rc == 0)
            idle(x, limit);
    }
}

/* espota.py's way: 1024 bytes, then wait for the device's answer. */
static void stop_and_wait(xfer_t *x)
{
    while (x->sent < x->s->u->size && !finished(x) && !x->write_failed) {
        uint64_t target = x->sent + ESPOTA_HOST_CHUNK;
        if (target > x->s->u->size)
            target = x->s->u->size;
        while (x->sent < target && !finished(x) && !x->write_failed) {
            struct pollfd p = {x->s->tcp, POLLOUT, 0};
            if (poll(&p, 1, 50) > 0)
                transmit(x, (size_t)(target - x->sent));
            else
                idle(x, 0);
        }
        uint32_t counts = x->acks.counts;
        while (!finished(x) && x->acks.counts == counts && !x->acks.error) {
            struct pollfd p = {x->s->tcp, POLLIN, 0};
            if (poll(&p, 1, 50) > 0)
                receive(x);
            espota_acks_flush(&x->acks, x->sent);   /* a count per chunk */
            if (x->acks.counts == counts)
                idle(x, 0);
        }
    }
}

static int judge(xfer_t *x)
{
    espota_session_t *s = x->s;
    espota_result_t *r = s->r;
    char done[32], total[32];
    host_grouped(x->acks.ok ? x->sent : x->acks.acked, done);
    host_grouped(s->u->size, total);
    if (x->acks.ok && x->sent == s->u->size)
        return ALOFT_OK;
    if (x->acks.ok)
        return host_error_set(&r->error, ALOFT_ERR_PROTO, "the device said OK too early",
                              "it confirmed the update after %s of %s bytes; its firmware "
                              "does not follow the protocol", host_grouped(x->sent, done),
                              total);
    if (x->acks.error) {
        snprintf(r->device_text, sizeof r->device_text, "%s", x->acks.text);
        espota_emit(s, ESPOTA_EV_DEVICE_SAID, r->device_text);
        return espota_explain_result(&r->error, x->acks.text, &s->ctx);
    }
    if (x->timed_out && x->sent == s->u->size)
        return host_error_set(&r->error, ALOFT_ERR_TIMEOUT, "the device stopped responding",
                              "all %s bytes were sent but no result came within %u s; the "
                              "update was probably not applied; check the device's serial log",
                              total, (unsigned)(s->timeout_ms / 1000));
    if (x->timed_out)
        return host_error_set(&r->error, ALOFT_ERR_TIMEOUT, "the device stopped responding",
                              "nothing for %u s after about %s of %s bytes; check the Wi-Fi "
                              "signal and try again (the device keeps its running firmware)",
                              (unsigned)(s->timeout_ms / 1000), done, total);
    if (x->acks.acked < s->u->size)   /* it did not confirm everything */
        return host_error_set(&r->error, ALOFT_ERR_CLOSED, "the device closed the connection early",
                              "it stopped after about %s of %s bytes without saying why; stock "
                              "ArduinoOTA does that when a flash write fails (e.g. the file is "
                              "not an app image for this chip) or when the data stalls for a "
                              "second; check the device's serial log and try again", done, total);
    return host_error_set(&r->error, ALOFT_ERR_CLOSED,
                          "the device closed the connection without confirming",
                          "all %s bytes were sent but it never said OK, so the update was "
                          "probably not applied; check its serial log", total);
}

int espota_transfer(espota_session_t *s)
{
    xfer_t x;
    memset(&x, 0, sizeof x);
    x.s = s;
    espota_acks_init(&x.acks);
    x.start = progress_clock();
    x.last_rx_ms = x.last_tx_ms = host_now_ms();
    progress(&x);
    if (s->u->stop_and_wait)
        stop_and_wait(&x);
    else
        pump(&x, s->window);
    pump(&x, 0);   /* everything is out (or it failed): read the result */
    espota_acks_flush(&x.acks, x.sent);
    s->r->bytes = x.sent;
    s->r->seconds = progress_clock() - x.start;
    s->r->rate_kib_s = s->r->seconds > 0 ? (double)x.sent / 1024.0 / s->r->seconds : 0.0;
    return judge(&x);
}
