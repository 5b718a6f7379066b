/*
 * lib/native_device.c — the native protocol's device engine (contract in
 * aloft/native_device.h, protocol in docs/PROTOCOL.md §2).
 *
 * Implementation notes.
 *
 * Phases (one connection, one session):
 *   P_AUTH   HELLO queued, waiting for AUTH (devices with a password)
 *   P_OFFER  session key in use, waiting for OFFER or ROLLBACK (open devices
 *            start here)
 *   P_DATA   OFFER accepted: DATA ... END
 * and, across all of them, `closed`: the session is over (sticky). Every
 * way into `closed` goes through end_session(), which abandons an update
 * this connection began and frees the decoder.
 *
 * Buffers: rx holds received bytes; complete frames are handled from rx[0]
 * and then moved out. A DATA frame stays at rx[0] while its bytes are
 * decoded and fed in pieces (in_pos..in_end), at most one piece per
 * rx_ack/step call, so a heavily compressed frame cannot keep the device
 * away from the network (and its keepalive ACKs) for long. tx holds frames
 * to send; a frame is handled only when tx has REPLY_ROOM free, so replies
 * always fit (HELLO is the only large frame and goes first).
 *
 * MACs: once keyed, every frame in both directions carries one; rx_seq and
 * tx_seq count them. A frame whose MAC fails (or, once keyed, whose header
 * cannot be) is never acted upon and gets no answer: the connection just
 * ends with ALOFT_ERR_INTEGRITY.
 *
 * Time: now_ms is only compared by subtraction, so it may wrap.
 */
#include <string.h>

#include "aloft/native_device.h"
#include "bytes.h"
#include "native_delta.h"
#include "native_tx.h"

enum { P_AUTH = 0, P_OFFER, P_DATA };

/* Room a reply needs in tx: the largest frame after HELLO (ERROR, 96 B)
 * plus an ACK. */
#define REPLY_ROOM 160u

/* Decoded bytes per piece of DATA work. */
#define PIECE 4096u

static const aloft_hash_alg_t *sha(const aloft_native_device_t *d)
{
    return d->cfg.dev->crypto->sha256;
}

static size_t tx_room(const aloft_native_device_t *d)
{
    return sizeof d->tx - d->tx_len + d->tx_off;
}

/* ------------------------------------------------------------------ */
/* Sending and ending. */

static void end_session(aloft_native_device_t *d, int err);

/* Encode m into tx, with a MAC once keyed. */
static void queue(aloft_native_device_t *d, const aloft_native_msg_t *m)
{
    if (d->tx_off) {
        memmove(d->tx, d->tx + d->tx_off, d->tx_len - d->tx_off);
        d->tx_len -= d->tx_off;
        d->tx_off = 0;
    }
    int n = aloft_native_encode(m, sha(d), d->keyed ? d->key : NULL, 'D', d->tx_seq,
                                d->tx + d->tx_len, sizeof d->tx - d->tx_len);
    if (n < 0) {   /* cannot happen with REPLY_ROOM kept free; end rather than lie */
        if (m->type != ALOFT_MSG_ERROR)   /* an ERROR ends the session anyway */
            end_session(d, n);
        return;
    }
    d->tx_len += (size_t)n;
    if (d->keyed)
        d->tx_seq++;
}

/* Transport reasons keep the update's journal, so the next connection can
 * resume from the durable prefix (every byte fed was MAC-checked). */
static int abort_reason(int err)
{
    return err == ALOFT_ERR_TIMEOUT || err == ALOFT_ERR_CLOSED ? err : ALOFT_ERR_ABORTED;
}

/* The one way out: abandon our unfinished update, free the decoder, stop. */
static void end_session(aloft_native_device_t *d, int err)
{
    if (d->closed)
        return;
    d->closed = true;
    if (d->last_err == 0)
        d->last_err = err;
    if (d->owner && aloft_update_state(d->cfg.update) == ALOFT_UPDATE_RECEIVING)
        aloft_update_abort(d->cfg.update, abort_reason(err));
    if (d->inflating)
        d->cfg.inflate->end(d->cfg.inflate->ctx);
    d->inflating = false;
    if (d->patching) {
        aloft_delta_abort(&d->cfg.delta->u.dec);
        d->cfg.delta->in_use = false;
    }
    d->patching = false;
    if (d->hello_live)   /* no AUTH came (or an open device): release it */
        aloft_hash_drop(sha(d), &d->hello_hash);
    d->hello_live = false;
    d->rx_len = 0;
    memset(d->key, 0, sizeof d->key);
}

/* ERROR with dg's code and numbers, then end. */
static void send_error(aloft_native_device_t *d, const aloft_diag_t *dg)
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ERROR;
    m.u.error.code = (int16_t)dg->err;
    m.u.error.have = dg->have;
    m.u.error.want = dg->want;
    aloft_native_str_set(&m.u.error.where, dg->where);
    aloft_native_str_set(&m.u.error.text, aloft_strerror(dg->err));
    queue(d, &m);
    end_session(d, dg->err);
}

static void refuse(aloft_native_device_t *d, int err, uint32_t have, uint32_t want,
                   const char *where)
{
    aloft_diag_t dg;
    memset(&dg, 0, sizeof dg);
    aloft_diag_set(&dg, err, have, want, where);
    send_error(d, &dg);
}

/* The pipeline refused or failed with err: pass its numbers on, unless
 * the diag is not about this session (begin refused with BUSY or ARG
 * before it reset the session). */
static void pipeline_error(aloft_native_device_t *d, int err)
{
    aloft_diag_t dg = *aloft_update_diag(d->cfg.update);
    if (dg.err != err || err == ALOFT_ERR_BUSY || err == ALOFT_ERR_ARG) {
        memset(&dg, 0, sizeof dg);
        dg.err = err;
    }
    send_error(d, &dg);
}

static const char *msg_name(uint8_t type)
{
    switch (type) {
    case ALOFT_MSG_HELLO: return "HELLO";
    case ALOFT_MSG_AUTH: return "AUTH";
    case ALOFT_MSG_AUTH_OK: return "AUTH_OK";
    case ALOFT_MSG_OFFER: return "OFFER";
    case ALOFT_MSG_ACCEPT: return "ACCEPT";
    case ALOFT_MSG_DATA: return "DATA";
    case ALOFT_MSG_ACK: return "ACK";
    case ALOFT_MSG_END: return "END";
    case ALOFT_MSG_RESULT: return "RESULT";
    case ALOFT_MSG_ROLLBACK: return "ROLLBACK";
    default: return "message";
    }
}

/* ------------------------------------------------------------------ */
/* HELLO: who we are, cheaply (one small read per slot, no image verify). */

static void copy_field(aloft_native_str_t *s, const uint8_t *field, size_t n)
{
    size_t len = 0;
    while (len < n && len < ALOFT_NATIVE_STR_MAX && field[len] != 0)
        len++;
    memcpy(s->s, field, len);
    s->s[len] = '\0';
    s->len = (uint8_t)len;
}

/* An image header and an app description at the start of the slot mean
 * "has an image": what a host needs to show, not a bootability verdict
 * (a half-written slot has its first byte held back and shows none). */
static void describe_image(const aloft_flash_t *f, const aloft_part_t *p, aloft_native_slot_t *s)
{
    /* esp_app_desc_t at 0x20: magic, secure_version, reserved[8],
     * version[32], project_name[32], time, date, idf_ver, app_elf_sha256 */
    uint8_t b[ALOFT_APP_DESC_OFFSET + 176];
    const uint8_t *desc = b + ALOFT_APP_DESC_OFFSET;
    if (p->size < sizeof b || f->read(f, p->offset, b, sizeof b) != 0 ||
        b[0] != ALOFT_IMAGE_MAGIC || aloft_ld32(desc) != ALOFT_APP_DESC_MAGIC)
        return;
    s->has_image = true;
    s->secure_version = aloft_ld32(desc + 4);
    copy_field(&s->version, desc + 16, 32);
    copy_field(&s->project, desc + 48, 32);
    memcpy(s->sha256, desc + 144, 32);
}

void aloft_native_device_identify(aloft_native_delta_t *dl, const aloft_device_t *dev)
{
    aloft_nd_identify(dl, dev);
}

void aloft_native_describe_slots(const aloft_device_t *dev, aloft_native_hello_t *h)
{
    const aloft_part_t *slots[ALOFT_NATIVE_MAX_SLOTS];
    aloft_otadata_t od;
    bool have_od = aloft_otadata_open(&od, dev->flash, dev->ptable) == 0;
    int n = aloft_ptable_ota_slots(dev->ptable, slots, (int)ALOFT_NATIVE_MAX_SLOTS);
    if (n > (int)ALOFT_NATIVE_MAX_SLOTS)
        n = (int)ALOFT_NATIVE_MAX_SLOTS;
    h->running_slot = dev->running_slot >= 0 ? (uint8_t)dev->running_slot : 0xFF;
    h->nslots = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        aloft_native_slot_t *s = &h->slots[i];
        aloft_native_str_set(&s->label, slots[i]->label);
        s->size = slots[i]->size;
        s->state = have_od ? aloft_otadata_slot_state(&od, i) : ALOFT_OTA_UNDEFINED;
        describe_image(dev->flash, slots[i], s);
    }
}

static void describe_resume(const aloft_device_t *dev, aloft_native_hello_t *h)
{
    aloft_update_resume_t r;
    if (aloft_update_find_resume(dev, ALOFT_TARGET_APP, &r) != 1 &&
        aloft_update_find_resume(dev, ALOFT_TARGET_FS, &r) != 1)
        return;
    h->has_resume = true;
    h->resume_target = (uint8_t)r.target;
    h->resume_size = r.size;
    memcpy(h->resume_sha256, r.sha256, 32);
    h->resume_offset = r.offset;
}

/* auth_message = SHA-256(HELLO payload || host nonce); the HELLO part was
 * hashed when it was sent. */
static void auth_message(aloft_native_device_t *d, const uint8_t nonce[32], uint8_t am[32])
{
    sha(d)->update(&d->hello_hash, nonce, ALOFT_NATIVE_NONCE_LEN);
    sha(d)->finish(&d->hello_hash, am);
    d->hello_live = false;
}

static void send_hello(aloft_native_device_t *d)
{
    const aloft_device_t *dev = d->cfg.dev;
    const aloft_native_verifier_t *v = d->cfg.verifier;
    aloft_native_msg_t m;
    aloft_native_hello_t *h = &m.u.hello;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_HELLO;
    if (dev->crypto->random(dev->crypto->ctx, h->nonce, sizeof h->nonce) != 0 ||
        aloft_hash_init(sha(d), &d->hello_hash) != 0) {
        refuse(d, ALOFT_ERR_CRYPTO, 0, 0, "random");
        return;
    }
    d->hello_live = true;
    h->version = ALOFT_NATIVE_VERSION;
    h->caps = (uint8_t)((v ? ALOFT_CAP_AUTH : 0) | (d->cfg.inflate ? ALOFT_CAP_DEFLATE : 0) |
                        (dev->nkeys ? ALOFT_CAP_SIGNED : 0) | ALOFT_CAP_RESUME |
                        (d->cfg.delta ? ALOFT_CAP_DELTA : 0));
    if (d->cfg.delta) {
        aloft_nd_identify(d->cfg.delta, dev);
        h->base_size = d->cfg.delta->base_size;
        memcpy(h->base_sha256, d->cfg.delta->base_sha256, 32);
    }
    h->chip_id = dev->chip_id;
    h->flash_size = dev->flash->size;
    h->window = d->cfg.window;
    h->max_payload = ALOFT_NATIVE_MAX_PAYLOAD;
    h->inflate_window_bits = d->cfg.inflate ? d->cfg.inflate->max_window_bits : 0;
    if (v) {
        h->kdf_iterations = v->iterations;
        memcpy(h->salt, v->salt, sizeof h->salt);
    }
    aloft_native_str_set(&h->name, d->cfg.name);
    aloft_native_describe_slots(dev, h);
    describe_resume(dev, h);
    queue(d, &m);
    if (d->closed)
        return;
    /* HELLO is the first frame, so its payload starts at tx[4]. */
    sha(d)->update(&d->hello_hash, d->tx + ALOFT_NATIVE_HEADER_LEN,
                   d->tx_len - ALOFT_NATIVE_HEADER_LEN);
    if (v == NULL) {
        /* Open device: no AUTH; the key schedule runs with a zero client
         * key and a zero host nonce (PROTOCOL.md §2.1). */
        static const uint8_t zero[32];
        uint8_t am[32];
        auth_message(d, zero, am);
        aloft_native_session_key(sha(d), zero, am, d->key);
        d->keyed = true;
        d->phase = P_OFFER;
    }
}

/* ------------------------------------------------------------------ */
/* Login. */

static void on_auth(aloft_native_device_t *d, const aloft_native_auth_t *a)
{
    aloft_native_msg_t m;
    uint8_t am[32];
    uint32_t wait;
    int err = aloft_login_check(d->cfg.limiter, d->peer_ip, d->now_ms, false, &wait);
    if (err) {   /* locked out: the proof is not even looked at */
        refuse(d, err, (wait + 999u) / 1000u, 0, NULL);
        return;
    }
    memset(&m, 0, sizeof m);
    auth_message(d, a->nonce, am);
    if (aloft_native_verify_proof(sha(d), d->cfg.verifier, am, a->proof, d->key,
                                  m.u.auth_ok_signature) != 0) {
        aloft_login_failed(d->cfg.limiter, d->peer_ip, d->now_ms, false);
        refuse(d, ALOFT_ERR_AUTH, 0, 0, NULL);
        return;
    }
    aloft_login_succeeded(d->cfg.limiter, d->peer_ip);
    m.type = ALOFT_MSG_AUTH_OK;
    queue(d, &m);   /* the last frame without a MAC */
    d->keyed = true;
    d->logged_in = true;
    d->phase = P_OFFER;
}

/* ------------------------------------------------------------------ */
/* Offer and data. */

static void send_ack(aloft_native_device_t *d)
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ACK;
    m.u.ack.consumed = d->consumed;
    m.u.ack.durable = aloft_update_durable(d->cfg.update);
    queue(d, &m);
    d->acked = d->consumed;
    d->acked_durable = m.u.ack.durable;
    d->ack_ms = d->now_ms;
}

/* ACK every window/2 bytes, when more became durable, and as a keepalive. */
static void maybe_ack(aloft_native_device_t *d)
{
    if (d->closed)
        return;
    if (d->consumed - d->acked >= d->cfg.window / 2 ||
        aloft_update_durable(d->cfg.update) != d->acked_durable ||
        d->now_ms - d->ack_ms >= ALOFT_NATIVE_KEEPALIVE_MS)
        send_ack(d);
}

/* A signed offer announces the SHA-256 of the image it will send, and the
 * signed metadata holds the SHA-256 of the image that was signed: when they
 * differ (the image was changed after signing), refuse now, before the
 * first erase, rather than after the transfer (the pipeline checks the
 * received bytes at the end either way). Only where signatures count. */
static void on_offer(aloft_native_device_t *d, const aloft_native_offer_t *o)
{
    const aloft_inflate_t *z = d->cfg.inflate;
    aloft_native_msg_t m;
    if (o->target > ALOFT_TARGET_FS) {
        refuse(d, ALOFT_ERR_PROTO, o->target, ALOFT_TARGET_FS, "target");
        return;
    }
    unsigned top = d->cfg.delta ? ALOFT_ENC_PATCH : z ? ALOFT_ENC_DEFLATE : ALOFT_ENC_RAW;
    if (o->encoding > top) {
        refuse(d, ALOFT_ERR_PROTO, o->encoding, top, "encoding");
        return;
    }
    if (o->encoding == ALOFT_ENC_PATCH && o->target != ALOFT_TARGET_APP) {
        refuse(d, ALOFT_ERR_PROTO, o->target, ALOFT_TARGET_APP, "target");
        return;
    }
    if (o->flags & ~ALOFT_OFFER_NO_REBOOT) {
        refuse(d, ALOFT_ERR_PROTO, o->flags, ALOFT_OFFER_NO_REBOOT, "flags");
        return;
    }
    /* DATA carries the image alone; a signature travels in the OFFER. */
    aloft_update_req_t req = {.target = (aloft_target_t)o->target, .size = o->size,
                              .sha256 = o->sha256, .fs_label = d->cfg.fs_label,
                              .resume = true, .image_only = true,
                              .sig_block = o->sig_block_len ? o->sig_block : NULL,
                              .sig_block_len = o->sig_block_len};
    /* A patch for another base is refused here, before the pipeline
     * begins (nothing paused or erased); the decoder is shared, so not
     * while another connection's patch upload holds it. */
    aloft_diag_t dg;
    if (o->encoding == ALOFT_ENC_PATCH && d->cfg.delta->in_use) {
        refuse(d, ALOFT_ERR_BUSY, 0, 0, NULL);
        return;
    }
    if (o->encoding == ALOFT_ENC_PATCH && aloft_nd_open(d->cfg.delta, &d->cfg, o, &dg) != 0) {
        send_error(d, &dg);
        return;
    }
    int err = aloft_update_begin(d->cfg.update, d->cfg.dev, &req);
    d->owner = err == 0;   /* from here on, ending the session abandons the update */
    if (err) {
        pipeline_error(d, err);
        return;
    }
    d->deflate = o->encoding == ALOFT_ENC_DEFLATE;
    if (d->deflate) {
        if ((err = z->begin(z->ctx, z->max_window_bits)) != 0) {
            refuse(d, err, z->max_window_bits, 0, "inflate");
            return;
        }
        d->inflating = true;
    }
    d->patching = o->encoding == ALOFT_ENC_PATCH;
    if (d->patching)
        d->cfg.delta->in_use = true;
    if (d->patching && (err = aloft_nd_start(d->cfg.delta, aloft_update_offset(d->cfg.update))) != 0) {
        refuse(d, err, aloft_update_offset(d->cfg.update), 0, "patch resume");
        return;
    }
    d->no_reboot = o->flags & ALOFT_OFFER_NO_REBOOT;
    d->version = o->version;
    d->acked_durable = aloft_update_durable(d->cfg.update);
    d->ack_ms = d->now_ms;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ACCEPT;
    m.u.accept.offset = aloft_update_offset(d->cfg.update);
    m.u.accept.window = d->cfg.window;
    queue(d, &m);
    d->phase = P_DATA;
    d->logged_in = true;   /* an open device's only login */
}

static bool feed(aloft_native_device_t *d, const uint8_t *p, size_t n)
{
    int err = n ? aloft_update_feed(d->cfg.update, p, n) : 0;
    if (err)
        pipeline_error(d, err);
    return err == 0;
}

/* Inflate up to PIECE bytes of the current frame and feed them. zlib may
 * hold output after the input is used up (the chunk was full), so it is
 * called again until a call leaves room in the chunk. */
static void inflate_piece(aloft_native_device_t *d)
{
    const aloft_inflate_t *z = d->cfg.inflate;
    size_t produced = 0;
    while (d->pending && produced < PIECE) {
        size_t left = d->in_end - d->in_pos, used = 0, got = 0;
        if (d->stream_end) {   /* only an empty frame may follow the zlib stream */
            if (left)
                refuse(d, ALOFT_ERR_DECODE, d->consumed, 0, "after zlib end");
            d->pending = false;
            return;
        }
        int rc = z->run(z->ctx, d->rx + d->in_pos, left, &used, d->out, sizeof d->out, &got);
        if (rc < 0 || (left && used == 0 && got == 0)) {
            refuse(d, ALOFT_ERR_DECODE, d->consumed, 0, NULL);
            return;
        }
        d->in_pos += used;
        d->consumed += (uint32_t)used;
        produced += got;
        if (rc == 1)
            d->stream_end = true;
        d->pending = d->in_pos < d->in_end || (!d->stream_end && got == sizeof d->out);
        if (!feed(d, d->out, got))
            return;
    }
}

/* Decode patch bytes of the current frame until about PIECE image bytes
 * came out. */
static void patch_piece(aloft_native_device_t *d)
{
    aloft_native_delta_t *dl = d->cfg.delta;
    size_t used = 0;
    int err = aloft_nd_feed(dl, d->rx + d->in_pos, d->in_end - d->in_pos, PIECE, &used);
    d->in_pos += used;
    d->consumed += (uint32_t)used;
    if (err) {
        if (dl->pipe_err)
            pipeline_error(d, err);
        else
            send_error(d, aloft_delta_diag(&dl->u.dec));
        return;
    }
    d->pending = d->in_pos < d->in_end;
}

static void drop_frame(aloft_native_device_t *d, size_t n)
{
    memmove(d->rx, d->rx + n, d->rx_len - n);
    d->rx_len -= n;
}

/* One piece of the DATA frame at rx[0]; the frame goes once it is done. */
static void data_piece(aloft_native_device_t *d)
{
    d->active_ms = d->now_ms;
    if (d->deflate) {
        inflate_piece(d);
    } else if (d->patching) {
        patch_piece(d);
    } else {
        size_t n = d->in_end - d->in_pos;
        if (!feed(d, d->rx + d->in_pos, n))
            return;
        d->consumed += (uint32_t)n;
        d->in_pos = d->in_end;
        d->pending = false;
    }
    if (d->closed)
        return;
    if (!d->pending)
        drop_frame(d, d->frame_len);
    maybe_ack(d);
}

static void on_data(aloft_native_device_t *d, const aloft_native_data_t *m, size_t frame_len)
{
    if (m->offset != d->stream_pos) {
        refuse(d, ALOFT_ERR_PROTO, m->offset, d->stream_pos, "DATA offset");
        return;
    }
    d->stream_pos += m->len;
    d->in_pos = (size_t)(m->data - d->rx);
    d->in_end = d->in_pos + m->len;
    d->frame_len = frame_len;
    d->pending = true;   /* an empty frame just goes through one (empty) piece */
}

/* Slot index of the partition the update wrote (0xFF for a filesystem). */
static uint8_t result_slot(const aloft_native_device_t *d)
{
    const aloft_part_t *slots[ALOFT_OTA_SLOTS_MAX];
    const aloft_part_t *p = aloft_update_partition(d->cfg.update);
    int n = aloft_ptable_ota_slots(d->cfg.dev->ptable, slots, (int)ALOFT_OTA_SLOTS_MAX);
    for (int i = 0; p && i < n && i < (int)ALOFT_OTA_SLOTS_MAX; i++)
        if (slots[i]->offset == p->offset)
            return (uint8_t)i;
    return 0xFF;
}

static void on_end(aloft_native_device_t *d, const aloft_native_end_t *e)
{
    aloft_native_msg_t m;
    if (e->stream_len != d->stream_pos) {
        refuse(d, ALOFT_ERR_PROTO, e->stream_len, d->stream_pos, "END stream_len");
        return;
    }
    if (d->deflate && !d->stream_end) {
        refuse(d, ALOFT_ERR_DECODE, d->consumed, d->stream_pos, "zlib end");
        return;
    }
    if (d->patching && aloft_delta_finish(&d->cfg.delta->u.dec) != 0) {
        send_error(d, aloft_delta_diag(&d->cfg.delta->u.dec));
        return;
    }
    int err = aloft_update_finish(d->cfg.update);
    if (err) {
        pipeline_error(d, err);
        return;
    }
    const aloft_image_info_t *info = aloft_update_image_info(d->cfg.update);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_RESULT;
    m.u.result.slot = result_slot(d);
    if (m.u.result.slot != 0xFF && info->has_desc)
        aloft_native_str_set(&m.u.result.version, info->desc.version);
    else
        m.u.result.version = d->version;
    /* A new app needs a restart; a filesystem image does not (as espota). */
    m.u.result.reboot = m.u.result.slot != 0xFF && !d->no_reboot;
    queue(d, &m);
    d->reboot = m.u.result.reboot && !d->closed;
    end_session(d, ALOFT_OK);
}

/* ROLLBACK: boot the other slot's image next, without a download (the
 * pipeline verifies it as the bootloader will first). RESULT names the
 * slot and the version of the image just verified; then we restart. */
static void on_rollback(aloft_native_device_t *d)
{
    aloft_native_msg_t m;
    int err = aloft_update_rollback(d->cfg.update, d->cfg.dev);
    if (err) {
        pipeline_error(d, err);
        return;
    }
    const aloft_image_info_t *info = aloft_update_image_info(d->cfg.update);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_RESULT;
    m.u.result.slot = result_slot(d);
    if (info->has_desc)
        aloft_native_str_set(&m.u.result.version, info->desc.version);
    m.u.result.reboot = 1;
    queue(d, &m);
    d->reboot = !d->closed;
    end_session(d, ALOFT_OK);
}

/* ------------------------------------------------------------------ */
/* Frames in. */

/* Handle the complete frame of n bytes at rx[0]. */
static void handle_frame(aloft_native_device_t *d, size_t n)
{
    aloft_native_msg_t m;
    int err = aloft_native_decode(d->rx, n, sha(d), d->keyed ? d->key : NULL, 'H', d->rx_seq, &m);
    if (err == ALOFT_ERR_INTEGRITY) {   /* flipped, injected, replayed: do not act, do not answer */
        end_session(d, ALOFT_ERR_INTEGRITY);
        return;
    }
    if (err) {
        refuse(d, ALOFT_ERR_PROTO, d->rx[0], 0, msg_name(d->rx[0]));
        return;
    }
    if (d->keyed)
        d->rx_seq++;
    d->active_ms = d->now_ms;
    if (m.type == ALOFT_MSG_ERROR) {   /* the host gives up */
        end_session(d, ALOFT_ERR_ABORTED);
        return;
    }
    if (d->phase == P_AUTH && m.type == ALOFT_MSG_AUTH) {
        on_auth(d, &m.u.auth);
    } else if (d->phase == P_OFFER && m.type == ALOFT_MSG_OFFER) {
        on_offer(d, &m.u.offer);
    } else if (d->phase == P_OFFER && m.type == ALOFT_MSG_ROLLBACK) {
        on_rollback(d);
    } else if (d->phase == P_DATA && m.type == ALOFT_MSG_DATA) {
        on_data(d, &m.u.data, n);
        return;   /* the frame stays in rx while its bytes are fed */
    } else if (d->phase == P_DATA && m.type == ALOFT_MSG_END) {
        on_end(d, &m.u.end);
    } else {
        refuse(d, ALOFT_ERR_PROTO, m.type, 0, msg_name(m.type));
    }
    if (!d->closed)
        drop_frame(d, n);
}

/* A frame header no host may send (flags, or a length above the limit).
 * After the login it can only be corruption on the way, like a bad MAC:
 * the connection ends without an answer (and the next one can resume);
 * before, it is a peer that speaks something else. */
static void bad_header(aloft_native_device_t *d)
{
    if (d->keyed)
        end_session(d, ALOFT_ERR_INTEGRITY);
    else if (d->rx[1] != 0)
        refuse(d, ALOFT_ERR_PROTO, d->rx[1], 0, "frame flags");
    else
        refuse(d, ALOFT_ERR_PROTO, aloft_ld16(d->rx + 2), ALOFT_NATIVE_MAX_PAYLOAD, "frame length");
}

/* Handle what rx holds: frames, and at most one piece of image data. */
static void pump(aloft_native_device_t *d)
{
    while (!d->closed && tx_room(d) >= REPLY_ROOM) {
        if (d->pending) {
            data_piece(d);
            return;
        }
        int n = aloft_native_frame_len(d->rx, d->rx_len, d->keyed, ALOFT_NATIVE_MAX_PAYLOAD);
        if (n == 0)
            return;
        if (n < 0) {
            bad_header(d);
            return;
        }
        handle_frame(d, (size_t)n);
    }
}

/* ------------------------------------------------------------------ */
/* The port's side. */

int aloft_native_device_init(aloft_native_device_t *d, const aloft_native_device_config_t *cfg,
                             uint32_t peer_ip, uint32_t now_ms)
{
    if (d == NULL || cfg == NULL || cfg->dev == NULL || cfg->update == NULL ||
        cfg->dev->flash == NULL || cfg->dev->ptable == NULL || cfg->dev->crypto == NULL ||
        cfg->dev->crypto->sha256 == NULL || cfg->dev->crypto->random == NULL ||
        (cfg->verifier == NULL && !cfg->open) ||
        (cfg->inflate && (cfg->inflate->begin == NULL || cfg->inflate->run == NULL ||
                          cfg->inflate->end == NULL)) ||
        (cfg->delta && cfg->inflate == NULL))
        return ALOFT_ERR_ARG;
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    if (d->cfg.window == 0)
        d->cfg.window = ALOFT_NATIVE_WINDOW_DEFAULT;
    if (d->cfg.idle_timeout_ms == 0)
        d->cfg.idle_timeout_ms = ALOFT_NATIVE_IDLE_TIMEOUT_MS;
    if (d->cfg.login_timeout_ms == 0)
        d->cfg.login_timeout_ms = ALOFT_NATIVE_LOGIN_TIMEOUT_MS;
    d->peer_ip = peer_ip;
    d->now_ms = d->active_ms = d->ack_ms = d->start_ms = now_ms;
    send_hello(d);
    return ALOFT_OK;
}

uint8_t *aloft_native_device_rx_buf(aloft_native_device_t *d, size_t *len)
{
    *len = d->closed ? 0 : sizeof d->rx - d->rx_len;
    return d->rx + d->rx_len;
}

void aloft_native_device_rx_ack(aloft_native_device_t *d, uint32_t now_ms, size_t n)
{
    if (d->closed)
        return;
    if (n > sizeof d->rx - d->rx_len)
        n = sizeof d->rx - d->rx_len;
    d->rx_len += n;
    d->now_ms = now_ms;
    if (n)
        d->active_ms = now_ms;
    pump(d);
}

const uint8_t *aloft_native_device_tx_buf(aloft_native_device_t *d, size_t *len)
{
    return aloft_native_tx_unsent(d->tx, d->tx_off, d->tx_len, len);
}

void aloft_native_device_tx_ack(aloft_native_device_t *d, size_t n)
{
    aloft_native_tx_taken(&d->tx_off, &d->tx_len, n);
}

/* Frames or data waiting in rx. */
static bool rx_work(const aloft_native_device_t *d)
{
    return d->pending ||
           aloft_native_frame_len(d->rx, d->rx_len, d->keyed, ALOFT_NATIVE_MAX_PAYLOAD) != 0;
}

static bool erase_work(const aloft_native_device_t *d)
{
    return d->phase == P_DATA && d->owner && !d->erase_done &&
           aloft_update_state(d->cfg.update) == ALOFT_UPDATE_RECEIVING;
}

int aloft_native_device_step(aloft_native_device_t *d, uint32_t now_ms)
{
    if (d->closed || tx_room(d) < REPLY_ROOM)
        return 0;
    d->now_ms = now_ms;
    if (rx_work(d)) {
        pump(d);
        return 1;
    }
    if (!erase_work(d))
        return 0;
    int r = aloft_update_erase_ahead(d->cfg.update);
    if (r < 0) {
        pipeline_error(d, r);
        return 1;
    }
    d->erase_done = r == 0;
    maybe_ack(d);
    return r;
}

void aloft_native_device_tick(aloft_native_device_t *d, uint32_t now_ms)
{
    if (d->closed)
        return;
    d->now_ms = now_ms;
    if (!d->logged_in && now_ms - d->start_ms >= d->cfg.login_timeout_ms) {
        refuse(d, ALOFT_ERR_TIMEOUT, 0, 0, "login");   /* however its bytes trickled in */
        return;
    }
    if (now_ms - d->active_ms < d->cfg.idle_timeout_ms)
        return;
    aloft_diag_t dg;
    memset(&dg, 0, sizeof dg);
    dg.err = ALOFT_ERR_TIMEOUT;
    if (d->owner && aloft_update_state(d->cfg.update) == ALOFT_UPDATE_RECEIVING) {
        aloft_update_abort(d->cfg.update, ALOFT_ERR_TIMEOUT);   /* keeps the durable prefix */
        dg = *aloft_update_diag(d->cfg.update);
    }
    send_error(d, &dg);
}

void aloft_native_device_evict(aloft_native_device_t *d, uint32_t now_ms)
{
    if (d->closed)
        return;
    d->now_ms = now_ms;
    refuse(d, ALOFT_ERR_CROWDED, 0, 0, NULL);
}

void aloft_native_device_peer_closed(aloft_native_device_t *d, uint32_t now_ms)
{
    d->now_ms = now_ms;
    d->tx_off = d->tx_len = 0;
    end_session(d, ALOFT_ERR_CLOSED);
}

unsigned aloft_native_device_state(const aloft_native_device_t *d)
{
    unsigned st = 0;
    if (!d->closed && d->rx_len < sizeof d->rx)
        st |= ALOFT_NATIVE_WANT_RX;
    if (d->tx_len > d->tx_off)
        st |= ALOFT_NATIVE_HAS_TX;
    if (!d->closed && tx_room(d) >= REPLY_ROOM && (rx_work(d) || erase_work(d)))
        st |= ALOFT_NATIVE_WANT_STEP;
    if (d->closed)
        st |= ALOFT_NATIVE_CLOSED;
    if (d->reboot)
        st |= ALOFT_NATIVE_REBOOT;
    return st;
}

int aloft_native_device_last_error(const aloft_native_device_t *d)
{
    return d->last_err;
}
