/*
 * lib/native_host.c — the native protocol's host engine: the caller's side
 * (buffers, step, tick, peer_closed, state), frames in, and the one way a
 * session ends. Contract in aloft/native_host.h; the login is in
 * native_host_login.c, the offer and the data in native_host_upload.c.
 *
 * Buffers: rx holds received bytes; complete frames are handled from rx[0]
 * and moved out at once (every frame a device sends is small, the HELLO
 * included), so rx never needs more than one frame. tx holds one frame to
 * send; step fills it only once it is empty, so nothing is ever queued
 * behind a frame the socket has not taken yet.
 *
 * Once keyed, a frame that fails its MAC, or a header no device may send,
 * can only be corruption (or an attack) on the way: the session is LOST
 * with ALOFT_ERR_INTEGRITY, and a new connection may resume, as the device
 * does for the host's frames.
 *
 * Time: now_ms is only compared by subtraction, so it may wrap.
 */
#include <string.h>

#include "aloft/error.h"
#include "native_host_int.h"
#include "native_tx.h"

/* First bytes of a HELLO or ERROR that tell what is there (frame header,
 * magic, version). */
#define FIRST_BYTES (ALOFT_NATIVE_HEADER_LEN + 5u)

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

void aloft_nh_emit(aloft_native_host_t *h, aloft_native_event_t *ev)
{
    ev->hello = h->have_hello ? &h->hello : NULL;
    if (h->cfg.on_event)
        h->cfg.on_event(h->cfg.ctx, ev);
}

static void forget_secrets(aloft_native_host_t *h)
{
    memset(h->key, 0, sizeof h->key);
    memset(h->client_key, 0, sizeof h->client_key);
    memset(h->server_key, 0, sizeof h->server_key);
    memset(h->auth_message, 0, sizeof h->auth_message);
}

static void end(aloft_native_host_t *h)
{
    h->closed = true;
    h->rx_len = h->tx_off = h->tx_len = 0;
    h->to_send = false;
    forget_secrets(h);
}

void aloft_nh_fail(aloft_native_host_t *h, int code, aloft_native_why_t why, uint32_t have,
             uint32_t want)
{
    aloft_native_failure_t *f = &h->failure;
    aloft_native_event_t ev;
    if (h->closed)
        return;
    f->code = code;
    f->why = why;
    f->phase = h->phase;
    f->have = have;
    f->want = want;
    f->lost = why == ALOFT_NATIVE_WHY_NO_HELLO || why == ALOFT_NATIVE_WHY_SILENT ||
              why == ALOFT_NATIVE_WHY_CLOSED || why == ALOFT_NATIVE_WHY_CORRUPT;
    end(h);
    memset(&ev, 0, sizeof ev);
    ev.kind = f->lost ? ALOFT_NATIVE_EV_LOST : ALOFT_NATIVE_EV_ERROR;
    ev.failure = f;
    aloft_nh_emit(h, &ev);
}

void aloft_nh_done(aloft_native_host_t *h)
{
    aloft_native_event_t ev;
    bool has_result = h->phase == ALOFT_NATIVE_PH_RESULT || h->phase == ALOFT_NATIVE_PH_ROLLBACK;
    h->phase = ALOFT_NATIVE_PH_DONE;
    end(h);
    memset(&ev, 0, sizeof ev);
    ev.kind = ALOFT_NATIVE_EV_DONE;
    ev.result = has_result ? &h->result : NULL;
    aloft_nh_emit(h, &ev);
}

int aloft_nh_queue(aloft_native_host_t *h, const aloft_native_msg_t *m)
{
    int n = aloft_native_encode(m, aloft_nh_sha(h), h->keyed ? h->key : NULL, 'H', h->tx_seq, h->tx,
                                sizeof h->tx);
    if (n < 0) {   /* every message the engine builds fits: a caller's bad field */
        aloft_nh_fail(h, n, ALOFT_NATIVE_WHY_MALFORMED, m->type, 0);
        return n;
    }
    h->tx_off = 0;
    h->tx_len = (size_t)n;
    if (h->keyed)
        h->tx_seq++;
    return ALOFT_OK;
}

void aloft_nh_wait(aloft_native_host_t *h, aloft_native_phase_t phase)
{
    h->phase = phase;
    h->wait_ms = h->now_ms;
}

/* ------------------------------------------------------------------ */
/* Frames in. */

static void on_error(aloft_native_host_t *h, const aloft_native_error_t *e)
{
    h->failure.device = *e;
    aloft_nh_fail(h, e->code < 0 ? e->code : ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_DEVICE, e->have,
                  e->want);
}

/* A message in a phase that has no place for it (before the phase's own
 * request went out, nothing is expected yet). */
static void dispatch(aloft_native_host_t *h, const aloft_native_msg_t *m)
{
    uint8_t t = m->type;
    bool asked = !h->to_send;
    if (t == ALOFT_MSG_ERROR) {
        on_error(h, &m->u.error);
    } else if (h->phase == ALOFT_NATIVE_PH_LOGIN && asked && t == ALOFT_MSG_AUTH_OK) {
        aloft_nh_on_auth_ok(h, m->u.auth_ok_signature);
    } else if (h->phase == ALOFT_NATIVE_PH_OFFER && asked && t == ALOFT_MSG_ACCEPT) {
        aloft_nh_on_accept(h, &m->u.accept);
    } else if ((h->phase == ALOFT_NATIVE_PH_DATA || h->phase == ALOFT_NATIVE_PH_RESULT) &&
               t == ALOFT_MSG_ACK) {
        aloft_nh_on_ack(h, &m->u.ack);
    } else if ((h->phase == ALOFT_NATIVE_PH_DATA || h->phase == ALOFT_NATIVE_PH_RESULT ||
                (h->phase == ALOFT_NATIVE_PH_ROLLBACK && asked)) && t == ALOFT_MSG_RESULT) {
        aloft_nh_on_result(h, &m->u.result);
    } else {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_UNEXPECTED, t, 0);
    }
}

static void handle_frame(aloft_native_host_t *h, size_t n)
{
    aloft_native_msg_t m;
    int err = aloft_native_decode(h->rx, n, aloft_nh_sha(h), h->keyed ? h->key : NULL, 'D',
                                  h->rx_seq, &m);
    if (err == ALOFT_ERR_INTEGRITY) {
        aloft_nh_fail(h, err, ALOFT_NATIVE_WHY_CORRUPT, h->rx[0], 0);
        return;
    }
    if (err) {
        bool hello = h->phase == ALOFT_NATIVE_PH_HELLO;
        aloft_nh_fail(h, ALOFT_ERR_PROTO,
                      hello ? ALOFT_NATIVE_WHY_NOT_ALOFT : ALOFT_NATIVE_WHY_MALFORMED, h->rx[0], 0);
        return;
    }
    if (h->keyed)
        h->rx_seq++;
    h->rx_ms = h->now_ms;
    if (h->phase != ALOFT_NATIVE_PH_HELLO)
        dispatch(h, &m);
    else if (m.type == ALOFT_MSG_HELLO)
        aloft_nh_on_hello(h, &m.u.hello, h->rx + ALOFT_NATIVE_HEADER_LEN,
                          n - ALOFT_NATIVE_HEADER_LEN);
    else if (m.type == ALOFT_MSG_ERROR)
        on_error(h, &m.u.error);   /* a refusal before HELLO: busy, its RNG failed */
    else
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_NOT_ALOFT, m.type, 0);
}

/* The first bytes tell what is there: a HELLO of this version, an ERROR,
 * or something else. Returns true to read on. */
static bool first_bytes(aloft_native_host_t *h)
{
    const uint8_t *b = h->rx;
    if (h->rx_len < FIRST_BYTES)
        return false;
    h->first_seen = true;
    if (b[0] == ALOFT_MSG_ERROR)
        return true;
    if (b[0] != ALOFT_MSG_HELLO ||
        memcmp(b + ALOFT_NATIVE_HEADER_LEN, ALOFT_NATIVE_MAGIC, 4) != 0) {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_NOT_ALOFT, b[0], 0);
        return false;
    }
    unsigned version = b[ALOFT_NATIVE_HEADER_LEN + 4];
    if (version != ALOFT_NATIVE_VERSION) {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_VERSION, version, ALOFT_NATIVE_VERSION);
        return false;
    }
    return true;
}

static void take_frames(aloft_native_host_t *h)
{
    while (!h->closed) {
        if (h->phase == ALOFT_NATIVE_PH_HELLO && !h->first_seen && !first_bytes(h))
            return;
        int n = aloft_native_frame_len(h->rx, h->rx_len, h->keyed, ALOFT_NATIVE_MAX_PAYLOAD);
        if (n == 0)
            return;
        if (n < 0) {
            if (h->keyed)
                aloft_nh_fail(h, ALOFT_ERR_INTEGRITY, ALOFT_NATIVE_WHY_CORRUPT, h->rx[0], 0);
            else
                aloft_nh_fail(h, ALOFT_ERR_PROTO, h->phase == ALOFT_NATIVE_PH_HELLO
                                                ? ALOFT_NATIVE_WHY_NOT_ALOFT
                                                : ALOFT_NATIVE_WHY_MALFORMED, h->rx[0], 0);
            return;
        }
        handle_frame(h, (size_t)n);
        if (h->closed)
            return;
        memmove(h->rx, h->rx + n, h->rx_len - (size_t)n);
        h->rx_len -= (size_t)n;
    }
}

/* ------------------------------------------------------------------ */
/* The caller's side. */

int aloft_native_host_init(aloft_native_host_t *h, const aloft_native_host_config_t *cfg,
                           uint32_t now_ms)
{
    const aloft_native_source_t *src = cfg ? cfg->source : NULL;
    if (h == NULL || cfg == NULL || cfg->crypto == NULL || cfg->crypto->sha256 == NULL ||
        cfg->crypto->random == NULL || cfg->op > ALOFT_NATIVE_OP_ROLLBACK ||
        (cfg->op == ALOFT_NATIVE_OP_UPLOAD &&
         (src == NULL || src->open == NULL || src->read == NULL || cfg->size == 0 ||
          cfg->sha256 == NULL || (cfg->sig_block_len && cfg->sig_block == NULL))))
        return ALOFT_ERR_ARG;
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    h->cfg.hello_timeout_ms = or_default(cfg->hello_timeout_ms, ALOFT_NATIVE_HOST_HELLO_MS);
    h->cfg.timeout_ms = or_default(cfg->timeout_ms, ALOFT_NATIVE_HOST_TIMEOUT_MS);
    h->cfg.accept_timeout_ms = or_default(cfg->accept_timeout_ms, ALOFT_NATIVE_HOST_ACCEPT_MS);
    h->cfg.result_timeout_ms = or_default(cfg->result_timeout_ms, ALOFT_NATIVE_HOST_RESULT_MS);
    h->phase = ALOFT_NATIVE_PH_HELLO;
    h->now_ms = h->start_ms = h->wait_ms = h->rx_ms = now_ms;
    return ALOFT_OK;
}

uint8_t *aloft_native_host_rx_buf(aloft_native_host_t *h, size_t *len)
{
    *len = h->closed ? 0 : sizeof h->rx - h->rx_len;
    return h->rx + h->rx_len;
}

void aloft_native_host_rx_ack(aloft_native_host_t *h, uint32_t now_ms, size_t n)
{
    if (h->closed)
        return;
    if (n > sizeof h->rx - h->rx_len)
        n = sizeof h->rx - h->rx_len;
    h->rx_len += n;
    h->now_ms = now_ms;
    take_frames(h);
}

const uint8_t *aloft_native_host_tx_buf(aloft_native_host_t *h, size_t *len)
{
    return aloft_native_tx_unsent(h->tx, h->tx_off, h->tx_len, len);
}

void aloft_native_host_tx_ack(aloft_native_host_t *h, size_t n)
{
    aloft_native_tx_taken(&h->tx_off, &h->tx_len, n);
}

static bool step_due(const aloft_native_host_t *h)
{
    return !h->closed && h->tx_len == 0 && (h->to_send || aloft_nh_data_due(h));
}

int aloft_native_host_step(aloft_native_host_t *h, uint32_t now_ms)
{
    if (!step_due(h))
        return 0;
    h->now_ms = now_ms;
    if (!h->to_send)
        return aloft_nh_send_data(h);
    switch (h->phase) {
    case ALOFT_NATIVE_PH_LOGIN: return aloft_nh_send_auth(h);
    case ALOFT_NATIVE_PH_OFFER: return aloft_nh_send_offer(h);
    case ALOFT_NATIVE_PH_ROLLBACK: return aloft_nh_send_rollback(h);
    default: return 0;
    }
}

/* The wait of the current phase, since when it runs, and whether it
 * waits for an ACK. */
static uint32_t phase_wait(const aloft_native_host_t *h, uint32_t *since, bool *ack)
{
    const aloft_native_host_config_t *c = &h->cfg;
    *since = h->wait_ms;
    *ack = false;
    switch (h->phase) {
    case ALOFT_NATIVE_PH_HELLO:
        *since = h->start_ms;
        return h->first_seen ? c->hello_timeout_ms + c->timeout_ms : c->hello_timeout_ms;
    case ALOFT_NATIVE_PH_LOGIN: return c->timeout_ms;
    case ALOFT_NATIVE_PH_OFFER:
    case ALOFT_NATIVE_PH_ROLLBACK: return c->accept_timeout_ms;
    default:
        /* Data unconsumed (or not all sent): the device ACKs at least every
         * 500 ms while it works, so silence means the link is gone. Then
         * the device verifies and activates: the RESULT may take longer. */
        if (h->phase == ALOFT_NATIVE_PH_DATA || h->sent != h->consumed || h->tx_len) {
            *since = h->rx_ms;
            *ack = true;
            return c->timeout_ms;
        }
        return c->result_timeout_ms;
    }
}

void aloft_native_host_tick(aloft_native_host_t *h, uint32_t now_ms)
{
    uint32_t since;
    bool ack;
    if (h->closed || h->to_send)
        return;   /* a request still to send waits for step, not for the device */
    h->now_ms = now_ms;
    uint32_t wait = phase_wait(h, &since, &ack);
    if (now_ms - since < wait)
        return;
    if (h->phase == ALOFT_NATIVE_PH_HELLO && !h->first_seen)
        aloft_nh_fail(h, ALOFT_ERR_TIMEOUT, ALOFT_NATIVE_WHY_NO_HELLO, wait, 0);
    else
        aloft_nh_fail(h, ALOFT_ERR_TIMEOUT, ALOFT_NATIVE_WHY_SILENT, wait, ack);
}

void aloft_native_host_peer_closed(aloft_native_host_t *h, uint32_t now_ms)
{
    if (h->closed)
        return;
    h->now_ms = now_ms;
    if (h->phase == ALOFT_NATIVE_PH_HELLO && !h->first_seen)
        aloft_nh_fail(h, ALOFT_ERR_CLOSED, ALOFT_NATIVE_WHY_NO_HELLO, (uint32_t)h->rx_len, 0);
    else
        aloft_nh_fail(h, ALOFT_ERR_CLOSED, ALOFT_NATIVE_WHY_CLOSED, 0, 0);
}

unsigned aloft_native_host_state(const aloft_native_host_t *h)
{
    unsigned st = 0;
    if (!h->closed && h->rx_len < sizeof h->rx)
        st |= ALOFT_NATIVE_WANT_RX;
    if (h->tx_len > h->tx_off)
        st |= ALOFT_NATIVE_HAS_TX;
    if (step_due(h))
        st |= ALOFT_NATIVE_WANT_STEP;
    if (h->closed)
        st |= ALOFT_NATIVE_CLOSED;
    return st;
}

int aloft_native_host_last_error(const aloft_native_host_t *h)
{
    return h->failure.code;
}

const aloft_native_failure_t *aloft_native_host_failure(const aloft_native_host_t *h)
{
    return &h->failure;
}

const aloft_native_hello_t *aloft_native_host_hello(const aloft_native_host_t *h)
{
    return h->have_hello ? &h->hello : NULL;
}

const aloft_native_result_t *aloft_native_host_result(const aloft_native_host_t *h)
{
    return h->phase == ALOFT_NATIVE_PH_DONE && h->cfg.op != ALOFT_NATIVE_OP_INFO ? &h->result
                                                                                 : NULL;
}
