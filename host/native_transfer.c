/*
 * host/native_transfer.c — the upload on a keyed session of the
 * native uploader (docs/PROTOCOL.md §2.5-2.6): OFFER, ACCEPT or a refusal,
 * DATA frames of the stream from the accepted offset with at most `window`
 * bytes unconsumed, ACKs, END, RESULT. Failures a reconnect may heal are
 * marked retryable (see native_session.c).
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "aloft/wire/signature.h"
#include "host_net.h"
#include "native_host_priv.h"
#include "native_stream.h"
#include "progress.h"

#define READ_AFTER_FAIL_MS 1000u   /* for the ERROR that explains a broken connection */

/* ---- offer ------------------------------------------------------------ */

static void set_str(aloft_native_str_t *dst, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > ALOFT_NATIVE_STR_MAX)
        n = ALOFT_NATIVE_STR_MAX;
    memcpy(dst->s, src ? src : "", n);
    dst->s[n] = '\0';
    dst->len = (uint8_t)n;
}

/* Deflate the whole image once (kept for an ACCEPT at offset 0): worth
 * it only if the stream comes out smaller than the image. */
static bool compresses(native_session_t *s, unsigned bits)
{
    native_run_t *run = s->run;
    if (run->whole_bits != bits) {
        native_stream_close(&run->whole);
        run->whole_bits = 0;
        if (native_stream_open(&run->whole, run->u->data, run->u->size, 0, bits,
                               NATIVE_DEFLATE_LEVEL) != 0)
            return false;   /* zlib failed: raw still works */
        run->whole_bits = bits;
    }
    return native_stream_len(&run->whole) < run->u->size;
}

/* windowBits to deflate with, 0 for raw; says why when it cannot. */
static unsigned pick_encoding(native_session_t *s)
{
    const native_upload_t *u = s->run->u;
    char why[128];
    if (u->no_compress)
        return 0;
    unsigned bits = native_deflate_bits(s->hello.inflate_window_bits);
    if ((s->hello.caps & ALOFT_CAP_DEFLATE) && bits && compresses(s, bits))
        return bits;
    if (!s->run->resuming) {
        if ((s->hello.caps & ALOFT_CAP_DEFLATE) && bits)
            snprintf(why, sizeof why, "the image does not compress (deflated it would be %llu "
                     "bytes)", (unsigned long long)native_stream_len(&s->run->whole));
        else if (s->hello.caps & ALOFT_CAP_DEFLATE)
            snprintf(why, sizeof why, "its inflate window (2^%u bytes) is smaller than zlib "
                     "can deflate for", (unsigned)s->hello.inflate_window_bits);
        else
            snprintf(why, sizeof why, "the device cannot inflate");
        native_emit_simple(s, NATIVE_EV_NO_DEFLATE, why);
    }
    return 0;
}

static int send_offer(native_session_t *s, unsigned bits)
{
    const native_upload_t *u = s->run->u;
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.target = u->fs ? 1 : 0;
    m.u.offer.encoding = bits ? ALOFT_ENC_DEFLATE : ALOFT_ENC_RAW;
    m.u.offer.flags = u->no_reboot ? ALOFT_OFFER_NO_REBOOT : 0;
    m.u.offer.size = (uint32_t)u->size;
    memcpy(m.u.offer.sha256, s->run->sha256, sizeof m.u.offer.sha256);
    set_str(&m.u.offer.project, u->project);
    set_str(&m.u.offer.version, u->version);
    m.u.offer.secure_version = u->secure_version;
    /* A signed file's block travels here, ahead of the data, so that the
     * device checks it before erasing anything; DATA is the image alone. */
    if (u->sig_block_len > ALOFT_SIG_BLOCK_MAX)
        return host_error_set(native_err(s), ALOFT_ERR_SIGNATURE, "the signature block is too long",
                              "it has %zu bytes, a block has at most %u; sign the image again "
                              "with 'aloft sign'", u->sig_block_len, ALOFT_SIG_BLOCK_MAX);
    m.u.offer.sig_block = u->sig_block;
    m.u.offer.sig_block_len = (uint8_t)u->sig_block_len;
    int err = native_conn_queue(&s->c, &m);
    if (err)
        return host_error_set(native_err(s), err, "internal error", "the OFFER did not encode");
    size_t payload = s->c.tx_len - ALOFT_NATIVE_HEADER_LEN - ALOFT_NATIVE_MAC_LEN;
    if (payload > s->hello.max_payload)
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "the offer does not fit the device's "
                              "frames", "with its signature block the OFFER has %zu bytes but the "
                              "device takes frames of at most %u; upload the unsigned image if the "
                              "device does not require signatures, or use --protocol espota",
                              payload, (unsigned)s->hello.max_payload);
    err = native_conn_flush(&s->c, host_now_ms() + s->run->timeout_ms);
    if (err)
        return native_retry_later(s, err, "the offer could not be sent", "%s", native_closed_why(&s->c));
    return ALOFT_OK;
}

/* The HELLO shows an interrupted transfer of this very image. */
static bool resuming_this(const native_session_t *s)
{
    const aloft_native_hello_t *h = &s->hello;
    const native_upload_t *u = s->run->u;
    return h->has_resume && h->resume_size == u->size && h->resume_target == (u->fs ? 1 : 0) &&
           memcmp(h->resume_sha256, s->run->sha256, sizeof h->resume_sha256) == 0;
}

/* ACCEPT (the offset and window) or a refusal. */
static int read_accept(native_session_t *s, aloft_native_accept_t *acc)
{
    aloft_native_msg_t m;
    int got = native_conn_recv(&s->c, &m, host_now_ms() + NATIVE_HOST_ACCEPT_MS);
    if (got == ALOFT_ERR_AUTH)
        return native_retry_later(s, got, "a frame from the device failed its MAC check",
                           "a frame failed its MAC check (corrupted on the way?)");
    if (got < 0 && got != ALOFT_ERR_PROTO)
        return native_retry_later(s, got, "no answer to the offer", "%s",
                           got == ALOFT_ERR_TIMEOUT ? "no answer to the offer" : native_closed_why(&s->c));
    if (got > 0 && m.type == ALOFT_MSG_ERROR) {
        int code = m.u.error.code;
        snprintf(s->run->r->device_text, sizeof s->run->r->device_text, "%s", m.u.error.text.s);
        /* Busy right after a drop (ours, or a killed earlier run of this
         * upload): the device has not noticed the dead connection yet. */
        s->busy_with_us = code == ALOFT_ERR_BUSY && resuming_this(s);
        s->retryable = (code == ALOFT_ERR_BUSY && (s->run->resuming || s->busy_with_us)) ||
                       code == ALOFT_ERR_TIMEOUT;
        return native_explain_error(native_err(s), &m.u.error, false);
    }
    if (got < 0 || m.type != ALOFT_MSG_ACCEPT || m.u.accept.offset > s->run->u->size)
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "unexpected answer to the offer",
                              "the device answered with neither a valid ACCEPT nor an ERROR; its "
                              "firmware does not follow the protocol");
    *acc = m.u.accept;
    if (acc->window == 0)
        acc->window = s->hello.window;
    return ALOFT_OK;
}

static void accepted(native_session_t *s, const aloft_native_accept_t *acc, bool deflated)
{
    native_run_t *run = s->run;
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.text = "";
    ev.offset = acc->offset;
    ev.total = run->u->size;
    ev.hello = &s->hello;
    s->accepted = true;
    if (!run->ever_accepted) {
        run->ever_accepted = true;
        run->r->resumed_from = acc->offset;
        run->r->compressed = deflated;
        run->start = progress_clock();
        ev.kind = NATIVE_EV_ACCEPTED;
    } else {
        ev.kind = NATIVE_EV_RESUMED;
    }
    native_emit(run, &ev);
}

/* ---- data ------------------------------------------------------------- */

typedef struct {
    native_session_t *s;
    native_stream_t *st;      /* own, or the run's whole-image stream */
    native_stream_t own;
    native_window_t w;
    size_t chunk;             /* stream bytes per DATA frame */
    bool end_queued;
    uint64_t last_rx_ms, end_deadline;
    uint64_t durable;         /* the device's last ACK */
} xfer_t;

static void progress(xfer_t *x)
{
    native_run_t *run = x->s->run;
    uint64_t at = native_stream_image_pos(x->st, x->w.consumed);
    if (x->durable > at)
        at = x->durable;
    if (at > run->u->size)
        at = run->u->size;
    if (at > run->best)
        run->best = at;
    if (run->u->on_progress)
        run->u->on_progress(run->u->ctx, at, run->u->size);
}

/* Queue the next DATA frame, or END once everything is out. */
static int queue_next(xfer_t *x)
{
    native_conn_t *c = &x->s->c;
    size_t total = native_stream_len(x->st);
    size_t room = native_window_room(&x->w, total - (size_t)x->w.sent);
    aloft_native_msg_t m;
    if (c->tx_len || (room == 0 && (x->w.sent < total || x->end_queued)))
        return ALOFT_OK;
    memset(&m, 0, sizeof m);
    if (room > 0) {
        if (room > x->chunk)
            room = x->chunk;
        m.type = ALOFT_MSG_DATA;
        m.u.data.offset = (uint32_t)x->w.sent;
        m.u.data.data = native_stream_bytes(x->st) + x->w.sent;
        m.u.data.len = (uint16_t)room;
        native_window_sent(&x->w, room);
        x->s->run->r->stream_bytes += room;
    } else {
        m.type = ALOFT_MSG_END;
        m.u.end.stream_len = (uint32_t)total;
        x->end_queued = true;
        x->end_deadline = host_now_ms() + x->s->run->result_ms;
        native_emit_simple(x->s, NATIVE_EV_SENT_ALL, NULL);
    }
    int err = native_conn_queue(c, &m);
    return err ? host_error_set(native_err(x->s), err, "internal error", "a frame did not encode")
               : ALOFT_OK;
}

static int got_result(xfer_t *x, const aloft_native_result_t *res)
{
    native_result_t *r = x->s->run->r;
    if (!x->end_queued || x->s->c.tx_len)
        return host_error_set(native_err(x->s), ALOFT_ERR_PROTO, "the device answered too early",
                              "it sent its RESULT before the upload ended; its firmware does "
                              "not follow the protocol");
    r->slot = res->slot;
    r->slot_label[0] = '\0';
    if (res->slot < x->s->hello.nslots)
        snprintf(r->slot_label, sizeof r->slot_label, "%s", x->s->hello.slots[res->slot].label.s);
    snprintf(r->version, sizeof r->version, "%s", res->version.s);
    r->reboot = res->reboot != 0;
    x->durable = x->s->run->u->size;
    progress(x);
    return 1;
}

/* One frame from the device. Returns 0 to go on, 1 for the RESULT, or an
 * error code. */
static int handle(xfer_t *x, const aloft_native_msg_t *m)
{
    native_session_t *s = x->s;
    switch (m->type) {
    case ALOFT_MSG_ACK:
        if (native_window_ack(&x->w, m->u.ack.consumed) != 0 || m->u.ack.durable > s->run->u->size)
            return host_error_set(native_err(s), ALOFT_ERR_PROTO, "unexpected ACK from the device",
                                  "it confirmed %u stream bytes (%u image bytes) but %llu were "
                                  "sent; its firmware does not follow the protocol",
                                  (unsigned)m->u.ack.consumed, (unsigned)m->u.ack.durable,
                                  (unsigned long long)x->w.sent);
        if (m->u.ack.durable > x->durable)
            x->durable = m->u.ack.durable;
        progress(x);
        return 0;
    case ALOFT_MSG_ERROR:
        snprintf(s->run->r->device_text, sizeof s->run->r->device_text, "%s", m->u.error.text.s);
        /* The device gave up on a silent link: the next connection resumes. */
        s->retryable = m->u.error.code == ALOFT_ERR_TIMEOUT;
        return native_explain_error(native_err(s), &m->u.error, false);
    case ALOFT_MSG_RESULT:
        return got_result(x, &m->u.result);
    default:
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "unexpected message from the device",
                              "it sent message type 0x%02x during the upload; its firmware does "
                              "not follow the protocol", (unsigned)m->type);
    }
}

/* Frames that have arrived. Returns 0, 1 (RESULT) or an error code. */
static int take_frames(xfer_t *x)
{
    aloft_native_msg_t m;
    for (;;) {
        int got = native_conn_next(&x->s->c, &m);
        if (got == 0)
            return 0;
        if (got == ALOFT_ERR_AUTH)
            return native_retry_later(x->s, got, "a frame from the device failed its MAC check",
                               "a frame failed its MAC check (corrupted on the way?)");
        if (got < 0)
            return host_error_set(native_err(x->s), got, "malformed frame from the device",
                                  "its firmware does not follow the protocol");
        x->last_rx_ms = host_now_ms();
        int rc = handle(x, &m);
        if (rc != 0)
            return rc;
    }
}

static int check_time(xfer_t *x)
{
    native_session_t *s = x->s;
    uint64_t now = host_now_ms();
    bool waiting_ack = native_window_in_flight(&x->w) > 0 || s->c.tx_len > 0 || !x->end_queued;
    if (waiting_ack && now - x->last_rx_ms >= s->run->timeout_ms)
        return native_retry_later(s, ALOFT_ERR_TIMEOUT, "the device stopped responding",
                           "no ACK for %u s", (unsigned)(s->run->timeout_ms / 1000));
    if (!waiting_ack && now >= x->end_deadline)
        return host_error_set(native_err(s), ALOFT_ERR_TIMEOUT, "no result from the device",
                              "all data was sent but the device did not report the result within "
                              "%u s; it may still apply the update: check with 'aloft info' "
                              "before trying again", (unsigned)(s->run->result_ms / 1000));
    return ALOFT_OK;
}

/* Writing failed: the device may have said why (an ERROR) before it
 * closed; read for a moment before calling it a lost connection. */
static int write_failed(xfer_t *x)
{
    native_conn_t *c = &x->s->c;
    int why = c->sock_errno;
    uint64_t deadline = host_now_ms() + READ_AFTER_FAIL_MS;
    while (!c->eof && host_remaining_ms(deadline) > 0) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, host_remaining_ms(deadline)) > 0 && native_conn_read(c) <= 0)
            break;
    }
    int rc = take_frames(x);
    if (rc)
        return rc > 0 ? ALOFT_OK : rc;
    c->sock_errno = why;
    return native_retry_later(x->s, ALOFT_ERR_CLOSED, "connection to the device lost", "%s",
                       native_closed_why(c));
}

static int pump(xfer_t *x)
{
    native_conn_t *c = &x->s->c;
    for (;;) {
        int rc = queue_next(x);
        if (!rc && c->tx_len && native_conn_write(c) != 0)
            return write_failed(x);
        if (!rc)
            rc = take_frames(x);
        if (rc)
            return rc > 0 ? ALOFT_OK : rc;
        if (c->eof)
            return native_retry_later(x->s, ALOFT_ERR_CLOSED, "connection to the device lost", "%s%s",
                               native_closed_why(c), x->end_queued ? " before the result" : "");
        bool more = c->tx_len == 0 && !x->end_queued &&
                    native_window_room(&x->w, native_stream_len(x->st) - (size_t)x->w.sent) > 0;
        if (more)
            continue;   /* the window is open: keep filling it */
        short ev = native_conn_wait(c, 100);
        if (ev & (POLLIN | POLLHUP | POLLERR))
            native_conn_read(c);
        if ((rc = check_time(x)) != 0)
            return rc;
    }
}

int native_session_upload(native_session_t *s)
{
    native_run_t *run = s->run;
    aloft_native_accept_t acc;
    xfer_t x;
    memset(&acc, 0, sizeof acc);
    unsigned bits = pick_encoding(s);
    int err = send_offer(s, bits);
    if (!err)
        err = read_accept(s, &acc);
    if (err)
        return err;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.st = &x.own;
    if (bits && acc.offset == 0 && run->whole_bits == bits)
        x.st = &run->whole;
    else
        err = native_stream_open(&x.own, run->u->data, run->u->size, acc.offset, bits,
                                 NATIVE_DEFLATE_LEVEL);
    if (err)
        return host_error_set(native_err(s), err, "cannot compress the image",
                              "zlib failed; try again with --no-compress");
    accepted(s, &acc, bits != 0);
    native_window_init(&x.w, acc.window);
    x.chunk = s->c.max_payload - 4;
    x.last_rx_ms = host_now_ms();
    x.durable = acc.offset;
    progress(&x);
    err = pump(&x);
    native_stream_close(&x.own);
    return err;
}
