/*
 * lib/native_host_upload.c — the host engine on a keyed session
 * (docs/PROTOCOL.md §2.5-2.6, 2.9): OFFER (raw or zlib, the signature block
 * ahead of the data), ACCEPT at an offset, DATA frames with at most
 * `window` stream bytes unconsumed, ACKs, END as soon as the last DATA is
 * out, RESULT; or ROLLBACK and its RESULT.
 */
#include <string.h>

#include "aloft/error.h"
#include "aloft/wire/otadata.h"
#include "aloft/wire/signature.h"
#include "native_host_int.h"

void aloft_nh_next_request(aloft_native_host_t *h)
{
    if (h->cfg.op == ALOFT_NATIVE_OP_INFO) {
        aloft_nh_done(h);
        return;
    }
    h->phase = h->cfg.op == ALOFT_NATIVE_OP_UPLOAD ? ALOFT_NATIVE_PH_OFFER
                                                    : ALOFT_NATIVE_PH_ROLLBACK;
    h->to_send = true;
}

/* ---- offer ------------------------------------------------------------ */

/* Event NO_DEFLATE (raw_why) or NO_PATCH (full_why): why the stream is
 * not what was asked for. Returns false (for pick_patch). */
static bool say(aloft_native_host_t *h, aloft_native_event_kind_t kind, int why, uint32_t have)
{
    aloft_native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    if (kind == ALOFT_NATIVE_EV_NO_DEFLATE)
        ev.raw_why = (aloft_native_raw_why_t)why;
    else
        ev.full_why = (aloft_native_full_why_t)why;
    ev.have = have;
    aloft_nh_emit(h, &ev);
    return false;
}

/* windowBits to deflate with, 0 for raw: zlib only when the device
 * inflates a window zlib can deflate for, and the image gets smaller. */
static unsigned pick_bits(aloft_native_host_t *h)
{
    const aloft_native_source_t *src = h->cfg.source;
    unsigned dev = h->hello.inflate_window_bits;
    unsigned bits = dev > ALOFT_NATIVE_DEFLATE_MAX_BITS ? ALOFT_NATIVE_DEFLATE_MAX_BITS : dev;
    uint32_t len = 0;
    if (!h->cfg.compress)
        return 0;
    if (!(h->hello.caps & ALOFT_CAP_DEFLATE)) {
        say(h, ALOFT_NATIVE_EV_NO_DEFLATE, ALOFT_NATIVE_RAW_NO_CAP, 0);
        return 0;
    }
    if (bits < ALOFT_NATIVE_DEFLATE_MIN_BITS) {
        say(h, ALOFT_NATIVE_EV_NO_DEFLATE, ALOFT_NATIVE_RAW_WINDOW, dev);
        return 0;
    }
    int err = src->open(src->ctx, 0, bits, &len);
    if (err) {
        say(h, ALOFT_NATIVE_EV_NO_DEFLATE, ALOFT_NATIVE_RAW_FAILED, (uint32_t)-err);
        return 0;
    }
    if (len >= h->cfg.size) {
        say(h, ALOFT_NATIVE_EV_NO_DEFLATE, ALOFT_NATIVE_RAW_NO_GAIN, len);
        return 0;
    }
    return bits;
}

/* A patch goes when the device takes them and runs the patch's base; the
 * device checks the base again before it erases anything. */
static bool pick_patch(aloft_native_host_t *h)
{
    const aloft_native_host_config_t *c = &h->cfg;
    aloft_diag_t dg;
    if (c->patch == NULL)
        return false;
    int err = aloft_delta_parse_header(c->patch, c->patch_len, &h->ph, &dg);
    if (err < 0 || c->patch_len != (size_t)h->ph.header_len + h->ph.body_len ||
        h->ph.new_size != c->size || memcmp(h->ph.new_sha256, c->sha256, 32) != 0 ||
        c->target != 0)
        return say(h, ALOFT_NATIVE_EV_NO_PATCH, ALOFT_NATIVE_FULL_BAD_PATCH,
                   (uint32_t)(err < 0 ? -err : 0));
    if (!(h->hello.caps & ALOFT_CAP_DELTA))
        return say(h, ALOFT_NATIVE_EV_NO_PATCH, ALOFT_NATIVE_FULL_NO_CAP, 0);
    if (h->hello.base_size != h->ph.base_size ||
        memcmp(h->hello.base_sha256, h->ph.base_sha256, 32) != 0)
        return say(h, ALOFT_NATIVE_EV_NO_PATCH, ALOFT_NATIVE_FULL_OTHER_BASE, h->hello.base_size);
    if (h->ph.window_bits > h->hello.inflate_window_bits)
        return say(h, ALOFT_NATIVE_EV_NO_PATCH, ALOFT_NATIVE_FULL_WINDOW, h->ph.window_bits);
    return true;
}

int aloft_nh_send_offer(aloft_native_host_t *h)
{
    const aloft_native_host_config_t *c = &h->cfg;
    aloft_native_msg_t m;
    if (c->sig_block_len > ALOFT_SIG_BLOCK_MAX) {
        aloft_nh_fail(h, ALOFT_ERR_SIGNATURE, ALOFT_NATIVE_WHY_SIG_TOO_LONG,
                      (uint32_t)c->sig_block_len, ALOFT_SIG_BLOCK_MAX);
        return 1;
    }
    h->patching = pick_patch(h);
    h->bits = h->patching ? 0 : pick_bits(h);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.target = c->target;
    m.u.offer.encoding = h->patching ? ALOFT_ENC_PATCH : h->bits ? ALOFT_ENC_DEFLATE : ALOFT_ENC_RAW;
    if (h->patching) {
        m.u.offer.patch_header = c->patch;
        m.u.offer.patch_header_len = h->ph.header_len;
    }
    m.u.offer.flags = c->no_reboot ? ALOFT_OFFER_NO_REBOOT : 0;
    m.u.offer.size = c->size;
    memcpy(m.u.offer.sha256, c->sha256, sizeof m.u.offer.sha256);
    aloft_native_str_set(&m.u.offer.project, c->project);
    aloft_native_str_set(&m.u.offer.version, c->version);
    m.u.offer.secure_version = c->secure_version;
    /* The signature travels here, ahead of the data, so that the device
     * checks it before erasing anything; DATA is the image alone. */
    m.u.offer.sig_block = c->sig_block;
    m.u.offer.sig_block_len = (uint8_t)c->sig_block_len;
    if (aloft_nh_queue(h, &m) != 0)
        return 1;
    size_t payload = h->tx_len - ALOFT_NATIVE_HEADER_LEN - ALOFT_NATIVE_MAC_LEN;
    if (payload > h->hello.max_payload) {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_OFFER_TOO_BIG, (uint32_t)payload,
                h->hello.max_payload);
        return 1;
    }
    h->to_send = false;
    aloft_nh_wait(h, ALOFT_NATIVE_PH_OFFER);
    return 1;
}

static void progress(aloft_native_host_t *h)
{
    aloft_native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ALOFT_NATIVE_EV_PROGRESS;
    ev.sent = h->sent;
    ev.consumed = h->consumed;
    ev.durable = h->durable;
    aloft_nh_emit(h, &ev);
}

/* The stream of a patch upload: its segments from the one that holds
 * image offset `from` (a durable 64 KiB mark) on; the device's decoder
 * drops that segment's output below the mark. */
static int open_patch(aloft_native_host_t *h, uint32_t from)
{
    uint32_t comp;
    aloft_diag_t dg;
    long at = h->ph.header_len;
    if (from % ALOFT_DELTA_MARK != 0)
        return ALOFT_ERR_PROTO;
    if (from >= h->ph.segment_span &&
        (at = aloft_delta_find_segment(h->cfg.patch, h->cfg.patch_len, &h->ph,
                                       from / h->ph.segment_span, &comp, &dg)) < 0)
        return (int)at;
    h->patch_off = (uint32_t)at;
    h->stream_len = h->ph.header_len + h->ph.body_len - h->patch_off;
    return ALOFT_OK;
}

void aloft_nh_on_accept(aloft_native_host_t *h, const aloft_native_accept_t *a)
{
    const aloft_native_source_t *src = h->cfg.source;
    aloft_native_event_t ev;
    if (a->offset > h->cfg.size) {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_BAD_ACCEPT, a->offset, h->cfg.size);
        return;
    }
    int err = h->patching ? open_patch(h, a->offset)
                          : src->open(src->ctx, a->offset, h->bits, &h->stream_len);
    if (err) {
        aloft_nh_fail(h, err, ALOFT_NATIVE_WHY_SOURCE, a->offset, h->bits);
        return;
    }
    h->window = a->window ? a->window : h->hello.window;
    if (h->cfg.window && h->cfg.window < h->window)
        h->window = h->cfg.window;
    h->sent = h->consumed = 0;
    h->durable = a->offset;
    aloft_nh_wait(h, ALOFT_NATIVE_PH_DATA);
    memset(&ev, 0, sizeof ev);
    ev.kind = ALOFT_NATIVE_EV_ACCEPTED;
    ev.offset = a->offset;
    ev.window = h->window;
    ev.window_bits = h->bits;
    ev.patch = h->patching;
    ev.stream_len = h->stream_len;
    aloft_nh_emit(h, &ev);
    progress(h);
}

/* ---- data ------------------------------------------------------------- */

/* Stream bytes the next DATA frame may carry. */
static uint32_t room(const aloft_native_host_t *h)
{
    uint32_t flight = h->sent - h->consumed, left = h->stream_len - h->sent;
    uint32_t n = flight >= h->window ? 0 : h->window - flight;
    uint32_t frame = (uint32_t)h->hello.max_payload - 4u;
    if (n > left)
        n = left;
    return n < frame ? n : frame;
}

bool aloft_nh_data_due(const aloft_native_host_t *h)
{
    return h->phase == ALOFT_NATIVE_PH_DATA &&
           (room(h) > 0 || h->sent == h->stream_len);
}

/* The next DATA frame, or END once the whole stream is out: the device
 * ACKs what it consumed either way, so waiting for a last ACK would only
 * cost a round trip. */
int aloft_nh_send_data(aloft_native_host_t *h)
{
    const aloft_native_source_t *src = h->cfg.source;
    aloft_native_msg_t m;
    uint32_t n = room(h);
    memset(&m, 0, sizeof m);
    if (n > 0) {
        int err = 0;
        if (h->patching)
            memcpy(h->chunk, h->cfg.patch + h->patch_off + h->sent, n);
        else
            err = src->read(src->ctx, h->sent, h->chunk, n);
        if (err) {
            aloft_nh_fail(h, err, ALOFT_NATIVE_WHY_SOURCE, h->sent, n);
            return 1;
        }
        m.type = ALOFT_MSG_DATA;
        m.u.data.offset = h->sent;
        m.u.data.data = h->chunk;
        m.u.data.len = (uint16_t)n;
        if (aloft_nh_queue(h, &m) == 0)
            h->sent += n;
        return 1;
    }
    if (h->sent != h->stream_len)
        return 0;
    m.type = ALOFT_MSG_END;
    m.u.end.stream_len = h->stream_len;
    if (aloft_nh_queue(h, &m) != 0)
        return 1;
    aloft_nh_wait(h, ALOFT_NATIVE_PH_RESULT);
    aloft_native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ALOFT_NATIVE_EV_SENT_ALL;
    aloft_nh_emit(h, &ev);
    return 1;
}

void aloft_nh_on_ack(aloft_native_host_t *h, const aloft_native_ack_t *a)
{
    if (a->consumed < h->consumed || a->consumed > h->sent || a->durable > h->cfg.size) {
        h->failure.aux = a->durable;
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_BAD_ACK, a->consumed, h->sent);
        return;
    }
    h->consumed = a->consumed;
    if (a->durable > h->durable)
        h->durable = a->durable;
    progress(h);
}

/* ---- the end ---------------------------------------------------------- */

void aloft_nh_on_result(aloft_native_host_t *h, const aloft_native_result_t *r)
{
    if (h->phase == ALOFT_NATIVE_PH_ROLLBACK) {
        if (r->slot >= h->hello.nslots) {
            aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_BAD_SLOT, r->slot, h->hello.nslots);
            return;
        }
    } else if (h->phase != ALOFT_NATIVE_PH_RESULT || h->tx_len) {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_EARLY_RESULT, h->sent, h->stream_len);
        return;
    } else {
        h->consumed = h->sent;
        h->durable = h->cfg.size;
        progress(h);
    }
    h->result = *r;
    aloft_nh_done(h);
}

/* The slot a rollback selects: the one after the running slot, as the
 * device chooses it; -1 when the HELLO does not say. */
static int other_slot(const aloft_native_hello_t *m)
{
    if (m->nslots < 2 || m->running_slot >= m->nslots)
        return -1;
    return (m->running_slot + 1) % m->nslots;
}

/* Going "back" to an image that never confirmed itself, or that its
 * firmware rejected, is not going back to a known-good image: not sent. */
int aloft_nh_send_rollback(aloft_native_host_t *h)
{
    aloft_native_msg_t m;
    int t = other_slot(&h->hello);
    if (t >= 0) {
        const aloft_native_slot_t *s = &h->hello.slots[t];
        if (s->has_image && (s->state == ALOFT_OTA_ABORTED || s->state == ALOFT_OTA_INVALID)) {
            aloft_nh_fail(h, ALOFT_ERR_NO_BOOTABLE, ALOFT_NATIVE_WHY_NOT_GOOD, (uint32_t)t,
                          s->state);
            return 1;
        }
    }
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ROLLBACK;
    if (aloft_nh_queue(h, &m) == 0) {
        h->to_send = false;
        aloft_nh_wait(h, ALOFT_NATIVE_PH_ROLLBACK);
    }
    return 1;
}
