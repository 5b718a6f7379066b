/*
 * lib/espota_host_data.c — the espota host engine's data phase: offer the
 * image within the window, read the device's counts, judge the result
 * (contract in aloft/espota_host.h).
 *
 * Streaming (default): keep up to `window` bytes beyond what the counts
 * confirm in flight and let TCP pace the rest. The device counts per read,
 * so it does not care how the bytes were cut; espota.py's stop-and-wait
 * costs a round trip per KiB. The count total is an estimate
 * (aloft/internal/espota_acks.h) that errs high; a digit run still open
 * counts at once (waiting for it to end would stall a full window per
 * burst of counts). Should the estimate lag, a window that stays full with
 * nothing arriving is opened by half after STALL_MS: a wrong estimate can
 * slow the upload but never stall it, while a device that stopped taking
 * data is not flooded.
 *
 * The result: "OK" is success. The first error text ends the upload (no
 * more bytes are offered) once its line ends, or TEXT_WAIT_MS after it
 * began; a close without "OK", or timeout_ms without a byte either way, is
 * a failure.
 */
#include <string.h>

#include "aloft/error.h"
#include "espota_host_data.h"

/* Window full and silent this long: open it by half. Longer than a flash
 * erase stall (<= 0.4 s), short of the 10 s timeout; a stock ESP32 that
 * starves re-sends its last count after 1 s anyway, which also opens it. */
#define STALL_MS 1500u
#define TEXT_WAIT_MS 2000u   /* time for the rest of an error line */
#define FLUSH_MS 50u         /* a digit run this old is a whole count */

static uint32_t in_flight(const aloft_espota_host_t *e)
{
    uint32_t sent = e->res.sent;
    uint32_t acked = e->acks.acked + aloft_espota_acks_pending(&e->acks, sent);
    return sent > acked ? sent - acked : 0;
}

static bool window_full(const aloft_espota_host_t *e)
{
    return !e->cfg.stop_and_wait && e->res.sent < e->cfg.size && in_flight(e) >= e->cfg.window;
}

/* Keep the result's numbers current; in stop-and-wait, a count lets the
 * next chunk go. */
static void note(aloft_espota_host_t *e)
{
    uint32_t sent = e->res.sent, left = e->cfg.size - sent;
    e->res.confirmed = e->acks.ok ? sent : e->acks.acked;
    if (e->cfg.stop_and_wait && sent == e->chunk_end && e->acks.counts != e->chunk_counts)
        e->chunk_end = sent + (left < ALOFT_ESPOTA_HOST_CHUNK ? left : ALOFT_ESPOTA_HOST_CHUNK);
}

/* Read the image at the first unsent byte (read callback only). */
static void refill(aloft_espota_host_t *e)
{
    uint32_t off = e->res.sent, left = e->cfg.size - off;
    uint32_t n = left < sizeof e->buf ? left : sizeof e->buf;
    if (e->cfg.data || n == 0 || off < e->buf_off + e->buf_len)
        return;
    int got = e->cfg.read(e->cfg.read_ctx, off, e->buf, n);
    if (got != (int)n) {
        aloft_espota_host_end(e, got < 0 ? got : ALOFT_ERR_IO, ALOFT_ESPOTA_HOST_WHY_LOCAL);
        return;
    }
    e->buf_off = off;
    e->buf_len = n;
}

void aloft_espota_host_data_begin(aloft_espota_host_t *e, uint32_t now)
{
    e->state = ALOFT_ESPOTA_HOST_SENDING;
    e->rx_ms = e->tx_ms = now;
    aloft_espota_acks_init(&e->acks);
    e->chunk_end = e->cfg.size < ALOFT_ESPOTA_HOST_CHUNK ? e->cfg.size : ALOFT_ESPOTA_HOST_CHUNK;
    refill(e);
}

/* The upload is over: success, the device's words, or fallback (a close,
 * silence) when it said nothing. */
static void judge(aloft_espota_host_t *e, int fallback_err, aloft_espota_host_why_t fallback)
{
    aloft_espota_acks_flush(&e->acks, e->res.sent);
    note(e);
    if (e->acks.ok) {
        bool all = e->res.sent == e->cfg.size;
        aloft_espota_host_end(e, all ? ALOFT_OK : ALOFT_ERR_PROTO,
                              all ? ALOFT_ESPOTA_HOST_WHY_OK : ALOFT_ESPOTA_HOST_WHY_EARLY_OK);
    } else if (e->acks.error) {
        memcpy(e->res.text, e->acks.text, sizeof e->res.text);
        aloft_espota_host_end(e, aloft_espota_host_text_code(e->res.text),
                              ALOFT_ESPOTA_HOST_WHY_DEVICE_ERROR);
    } else {
        aloft_espota_host_end(e, fallback_err, fallback);
    }
}

static bool text_over(const aloft_espota_host_t *e, uint32_t now)
{
    return e->acks.error &&
           (e->acks.error_done || aloft_espota_host_left(e->error_ms, TEXT_WAIT_MS, now) == 0);
}

size_t aloft_espota_host_data_offer(const aloft_espota_host_t *e, const uint8_t **data)
{
    uint32_t sent = e->res.sent, n;
    if (e->state != ALOFT_ESPOTA_HOST_SENDING || e->acks.error || e->acks.ok)
        return 0;
    if (e->cfg.stop_and_wait)
        n = e->chunk_end - sent;
    else if (in_flight(e) >= e->cfg.window)
        return 0;
    else
        n = e->cfg.window - in_flight(e);
    if (n > e->cfg.size - sent)
        n = e->cfg.size - sent;
    if (e->cfg.data) {
        *data = e->cfg.data + sent;
        return n;
    }
    if (n > e->buf_off + e->buf_len - sent)
        n = e->buf_off + e->buf_len - sent;
    *data = e->buf + (sent - e->buf_off);
    return n;
}

void aloft_espota_host_on_tcp_sent(aloft_espota_host_t *e, uint32_t now_ms, size_t n)
{
    const uint8_t *ignored;
    size_t offered = aloft_espota_host_data_offer(e, &ignored);
    if (n == 0 || offered == 0)
        return;
    e->res.sent += (uint32_t)(n < offered ? n : offered);
    e->tx_ms = now_ms;
    if (e->cfg.stop_and_wait && e->res.sent == e->chunk_end)
        e->chunk_counts = e->acks.counts;   /* wait for a count after the whole chunk */
    if (e->res.sent == e->cfg.size && !e->told_all_sent) {
        e->told_all_sent = true;
        aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_SENT_ALL);
    }
    note(e);
    refill(e);
}

void aloft_espota_host_on_tcp(aloft_espota_host_t *e, uint32_t now_ms, const void *data,
                              size_t len)
{
    if (e->state != ALOFT_ESPOTA_HOST_SENDING || len == 0)
        return;
    bool had_error = e->acks.error;
    aloft_espota_acks_feed(&e->acks, data, len, e->res.sent);
    e->rx_ms = now_ms;
    if (e->acks.error && !had_error)
        e->error_ms = now_ms;
    if (e->cfg.stop_and_wait)
        aloft_espota_acks_flush(&e->acks, e->res.sent);   /* a count per chunk */
    note(e);
    if (e->acks.ok || text_over(e, now_ms))
        judge(e, ALOFT_ERR_CLOSED, ALOFT_ESPOTA_HOST_WHY_CLOSED);
}

void aloft_espota_host_on_tcp_closed(aloft_espota_host_t *e, uint32_t now_ms)
{
    (void)now_ms;
    if (e->state == ALOFT_ESPOTA_HOST_SENDING)
        judge(e, ALOFT_ERR_CLOSED, ALOFT_ESPOTA_HOST_WHY_CLOSED);
}

void aloft_espota_host_data_tick(aloft_espota_host_t *e, uint32_t now)
{
    uint32_t quiet_rx = now - e->rx_ms, quiet_tx = now - e->tx_ms;
    if (e->acks.ndigits && quiet_rx >= FLUSH_MS) {
        aloft_espota_acks_flush(&e->acks, e->res.sent);
        note(e);
    }
    if (window_full(e) && quiet_rx >= STALL_MS) {
        e->acks.acked = e->res.sent - e->cfg.window / 2;
        note(e);
    }
    if (text_over(e, now))
        judge(e, ALOFT_ERR_CLOSED, ALOFT_ESPOTA_HOST_WHY_CLOSED);
    else if ((quiet_rx < quiet_tx ? quiet_rx : quiet_tx) >= e->cfg.timeout_ms)
        judge(e, ALOFT_ERR_TIMEOUT, ALOFT_ESPOTA_HOST_WHY_SILENT);
}

uint32_t aloft_espota_host_data_wait(const aloft_espota_host_t *e, uint32_t now)
{
    uint32_t w = aloft_espota_host_left(e->rx_ms, e->cfg.timeout_ms, now), t;
    uint32_t tx = aloft_espota_host_left(e->tx_ms, e->cfg.timeout_ms, now);
    if (tx > w)
        w = tx;   /* silence means both ways */
    if (e->acks.ndigits && (t = aloft_espota_host_left(e->rx_ms, FLUSH_MS, now)) < w)
        w = t;
    if (window_full(e) && (t = aloft_espota_host_left(e->rx_ms, STALL_MS, now)) < w)
        w = t;
    if (e->acks.error && (t = aloft_espota_host_left(e->error_ms, TEXT_WAIT_MS, now)) < w)
        w = t;
    return w;
}
