/*
 * lib/native_codec.c — frames and messages of the native protocol (see
 * aloft/native.h and docs/PROTOCOL.md §2.1-2.3). Compiled into the device
 * and the host alike, so both sides read and write the same bytes.
 *
 * Every field is written and read explicitly, little-endian, through a
 * bounded cursor; nothing is cast to a struct. Decoding is strict: a
 * message must fill its payload exactly, strings are at most 32 bytes,
 * booleans are 0 or 1, and the MAC is checked (in constant time) before
 * any byte of the payload is looked at.
 */
#include <string.h>

#include "aloft/util.h"
#include "aloft/error.h"
#include "aloft/wire/espota.h"
#include "hmac.h"
#include "aloft/wire/native.h"
#include "aloft/wire/signature.h"
#include "bytes.h"
#include "native_tx.h"

/* ------------------------------------------------------------------ */
/* Output cursor: stops writing at cap, remembers that it ran over. */

typedef struct {
    uint8_t *p;
    size_t cap, len;
    bool over;      /* out of room: ALOFT_ERR_BUFFER */
    bool bad;       /* a field no peer may send (string too long): ALOFT_ERR_ARG */
} wcur_t;

static void put(wcur_t *w, const void *src, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = true;
        return;
    }
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put8(wcur_t *w, uint8_t v)
{
    put(w, &v, 1);
}

static void put16(wcur_t *w, uint16_t v)
{
    uint8_t b[2];
    aloft_st16(b, v);
    put(w, b, 2);
}

static void put32(wcur_t *w, uint32_t v)
{
    uint8_t b[4];
    aloft_st32(b, v);
    put(w, b, 4);
}

static void put_str(wcur_t *w, const aloft_native_str_t *s)
{
    if (s->len > ALOFT_NATIVE_STR_MAX) {
        w->bad = true;
        return;
    }
    put8(w, s->len);
    put(w, s->s, s->len);
}

/* ------------------------------------------------------------------ */
/* Input cursor: reading past the end marks it bad and yields zeros, so
 * the decoders read straight through and check once at the end. */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
} rcur_t;

static const uint8_t *take(rcur_t *r, size_t n)
{
    static const uint8_t zeros[ALOFT_NATIVE_KEY_LEN];
    if (r->bad || n > r->len - r->pos || n > sizeof zeros) {
        r->bad = true;
        return zeros;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

/* n bytes left in place (for long fields that point into the frame), or
 * NULL when they are not there. */
static const uint8_t *span(rcur_t *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = true;
        return NULL;
    }
    r->pos += n;
    return r->p + r->pos - n;
}

static uint8_t get8(rcur_t *r)
{
    return *take(r, 1);
}

static uint16_t get16(rcur_t *r)
{
    return aloft_ld16(take(r, 2));
}

static uint32_t get32(rcur_t *r)
{
    return aloft_ld32(take(r, 4));
}

static void get_bytes(rcur_t *r, uint8_t *out, size_t n)
{
    memcpy(out, take(r, n), n);
}

static bool get_bool(rcur_t *r)
{
    uint8_t v = get8(r);
    if (v > 1)
        r->bad = true;
    return v == 1;
}

static void get_str(rcur_t *r, aloft_native_str_t *s)
{
    uint8_t n = get8(r);
    if (n > ALOFT_NATIVE_STR_MAX) {
        r->bad = true;
        return;
    }
    memcpy(s->s, take(r, n), n);
    s->s[n] = '\0';
    s->len = r->bad ? 0 : n;
}

/* ------------------------------------------------------------------ */
/* Payloads (PROTOCOL.md §2.2 and §2.3), one writer and one reader each. */

static void enc_slot(wcur_t *w, const aloft_native_slot_t *s)
{
    put_str(w, &s->label);
    put32(w, s->size);
    put32(w, s->state);
    put8(w, s->has_image ? 1 : 0);
    if (s->has_image) {
        put_str(w, &s->project);
        put_str(w, &s->version);
        put32(w, s->secure_version);
        put(w, s->sha256, 32);
    }
}

static void enc_hello(wcur_t *w, const aloft_native_hello_t *h)
{
    put(w, ALOFT_NATIVE_MAGIC, 4);
    put8(w, h->version);
    put8(w, h->caps);
    put16(w, h->chip_id);
    put32(w, h->flash_size);
    put32(w, h->window);
    put16(w, h->max_payload);
    put8(w, h->inflate_window_bits);
    put32(w, h->kdf_iterations);
    put(w, h->salt, sizeof h->salt);
    put(w, h->nonce, sizeof h->nonce);
    put_str(w, &h->name);
    put8(w, h->running_slot);
    if (h->nslots > ALOFT_NATIVE_MAX_SLOTS) {
        w->bad = true;
        return;
    }
    put8(w, h->nslots);
    for (unsigned i = 0; i < h->nslots; i++)
        enc_slot(w, &h->slots[i]);
    put8(w, h->has_resume ? 1 : 0);
    if (h->has_resume) {
        put8(w, h->resume_target);
        put32(w, h->resume_size);
        put(w, h->resume_sha256, 32);
        put32(w, h->resume_offset);
    }
    if (h->caps & ALOFT_CAP_DELTA) {
        put32(w, h->base_size);
        put(w, h->base_sha256, 32);
    }
}

static void dec_slot(rcur_t *r, aloft_native_slot_t *s)
{
    get_str(r, &s->label);
    s->size = get32(r);
    s->state = get32(r);
    s->has_image = get_bool(r);
    if (s->has_image) {
        get_str(r, &s->project);
        get_str(r, &s->version);
        s->secure_version = get32(r);
        get_bytes(r, s->sha256, 32);
    }
}

static void dec_hello(rcur_t *r, aloft_native_hello_t *h)
{
    if (memcmp(take(r, 4), ALOFT_NATIVE_MAGIC, 4) != 0)
        r->bad = true;
    h->version = get8(r);
    if (h->version != ALOFT_NATIVE_VERSION) {
        r->bad = true;   /* the rest may be laid out differently */
        return;
    }
    h->caps = get8(r);
    h->chip_id = get16(r);
    h->flash_size = get32(r);
    h->window = get32(r);
    h->max_payload = get16(r);
    h->inflate_window_bits = get8(r);
    h->kdf_iterations = get32(r);
    get_bytes(r, h->salt, sizeof h->salt);
    get_bytes(r, h->nonce, sizeof h->nonce);
    get_str(r, &h->name);
    h->running_slot = get8(r);
    h->nslots = get8(r);
    if (h->nslots > ALOFT_NATIVE_MAX_SLOTS) {
        r->bad = true;
        return;
    }
    for (unsigned i = 0; i < h->nslots; i++)
        dec_slot(r, &h->slots[i]);
    h->has_resume = get_bool(r);
    if (h->has_resume) {
        h->resume_target = get8(r);
        h->resume_size = get32(r);
        get_bytes(r, h->resume_sha256, 32);
        h->resume_offset = get32(r);
    }
    if (h->caps & ALOFT_CAP_DELTA) {
        h->base_size = get32(r);
        get_bytes(r, h->base_sha256, 32);
    }
}

static void enc_error(wcur_t *w, const aloft_native_error_t *e)
{
    put16(w, (uint16_t)e->code);
    put32(w, e->have);
    put32(w, e->want);
    put_str(w, &e->where);
    put_str(w, &e->text);
}

static void dec_error(rcur_t *r, aloft_native_error_t *e)
{
    e->code = (int16_t)get16(r);
    e->have = get32(r);
    e->want = get32(r);
    get_str(r, &e->where);
    get_str(r, &e->text);
}

static void enc_offer(wcur_t *w, const aloft_native_offer_t *o)
{
    put8(w, o->target);
    put8(w, o->encoding);
    put8(w, o->flags);
    put32(w, o->size);
    put(w, o->sha256, 32);
    put_str(w, &o->project);
    put_str(w, &o->version);
    put32(w, o->secure_version);
    put8(w, o->sig_block_len);
    put(w, o->sig_block, o->sig_block_len);
    if (o->encoding == ALOFT_ENC_PATCH) {
        put16(w, o->patch_header_len);
        put(w, o->patch_header, o->patch_header_len);
    }
}

static void dec_offer(rcur_t *r, aloft_native_offer_t *o)
{
    o->target = get8(r);
    o->encoding = get8(r);
    o->flags = get8(r);
    o->size = get32(r);
    get_bytes(r, o->sha256, 32);
    get_str(r, &o->project);
    get_str(r, &o->version);
    o->secure_version = get32(r);
    o->sig_block_len = get8(r);
    if (o->sig_block_len > ALOFT_SIG_BLOCK_MAX)
        r->bad = true;
    o->sig_block = o->sig_block_len ? span(r, o->sig_block_len) : NULL;
    if (o->encoding == ALOFT_ENC_PATCH) {
        o->patch_header_len = get16(r);
        o->patch_header = span(r, o->patch_header_len);
    }
}

static void enc_payload(wcur_t *w, const aloft_native_msg_t *m)
{
    const uint8_t *data = m->u.data.data;
    switch (m->type) {
    case ALOFT_MSG_HELLO: enc_hello(w, &m->u.hello); break;
    case ALOFT_MSG_AUTH:
        put(w, m->u.auth.nonce, sizeof m->u.auth.nonce);
        put(w, m->u.auth.proof, sizeof m->u.auth.proof);
        break;
    case ALOFT_MSG_AUTH_OK: put(w, m->u.auth_ok_signature, 32); break;
    case ALOFT_MSG_ERROR: enc_error(w, &m->u.error); break;
    case ALOFT_MSG_OFFER: enc_offer(w, &m->u.offer); break;
    case ALOFT_MSG_ACCEPT:
        put32(w, m->u.accept.offset);
        put32(w, m->u.accept.window);
        break;
    case ALOFT_MSG_DATA:
        put32(w, m->u.data.offset);
        if (m->u.data.len && data == NULL)
            w->bad = true;
        else
            put(w, data, m->u.data.len);
        break;
    case ALOFT_MSG_ACK:
        put32(w, m->u.ack.consumed);
        put32(w, m->u.ack.durable);
        break;
    case ALOFT_MSG_END: put32(w, m->u.end.stream_len); break;
    case ALOFT_MSG_RESULT:
        put8(w, m->u.result.slot);
        put_str(w, &m->u.result.version);
        put8(w, m->u.result.reboot ? 1 : 0);
        break;
    case ALOFT_MSG_ROLLBACK: break;   /* no payload */
    default: w->bad = true; break;
    }
}

/* Returns false for an unknown type. */
static bool dec_payload(rcur_t *r, const uint8_t *payload, aloft_native_msg_t *m)
{
    switch (m->type) {
    case ALOFT_MSG_HELLO: dec_hello(r, &m->u.hello); break;
    case ALOFT_MSG_AUTH:
        get_bytes(r, m->u.auth.nonce, sizeof m->u.auth.nonce);
        get_bytes(r, m->u.auth.proof, sizeof m->u.auth.proof);
        break;
    case ALOFT_MSG_AUTH_OK: get_bytes(r, m->u.auth_ok_signature, 32); break;
    case ALOFT_MSG_ERROR: dec_error(r, &m->u.error); break;
    case ALOFT_MSG_OFFER: dec_offer(r, &m->u.offer); break;
    case ALOFT_MSG_ACCEPT:
        m->u.accept.offset = get32(r);
        m->u.accept.window = get32(r);
        break;
    case ALOFT_MSG_DATA:
        m->u.data.offset = get32(r);
        if (!r->bad) {   /* the rest of the payload is the data */
            m->u.data.data = payload + r->pos;
            m->u.data.len = (uint16_t)(r->len - r->pos);
            r->pos = r->len;
        }
        break;
    case ALOFT_MSG_ACK:
        m->u.ack.consumed = get32(r);
        m->u.ack.durable = get32(r);
        break;
    case ALOFT_MSG_END: m->u.end.stream_len = get32(r); break;
    case ALOFT_MSG_RESULT:
        m->u.result.slot = get8(r);
        get_str(r, &m->u.result.version);
        m->u.result.reboot = get_bool(r) ? 1 : 0;
        break;
    case ALOFT_MSG_ROLLBACK: break;   /* no payload: any byte is trailing */
    default: return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Frames. */

/* First 16 bytes of HMAC-SHA256(key, dir || seq u32 || header || payload). */
static int frame_mac(const aloft_hash_alg_t *sha256, const uint8_t *key, char dir, uint32_t seq,
                     const uint8_t *frame, size_t len, uint8_t mac[ALOFT_NATIVE_MAC_LEN])
{
    aloft_hmac_t h;
    uint8_t pre[5], full[32];
    if (sha256 == NULL || sha256->digest_len != sizeof full ||
        aloft_hmac_init(&h, sha256, key, ALOFT_NATIVE_KEY_LEN) != 0)
        return ALOFT_ERR_ARG;
    pre[0] = (uint8_t)dir;
    aloft_st32(pre + 1, seq);
    aloft_hmac_update(&h, pre, sizeof pre);
    aloft_hmac_update(&h, frame, len);
    aloft_hmac_final(&h, full);
    memcpy(mac, full, ALOFT_NATIVE_MAC_LEN);
    return ALOFT_OK;
}

int aloft_native_encode(const aloft_native_msg_t *msg, const aloft_hash_alg_t *sha256,
                        const uint8_t *mac_key, char dir, uint32_t seq, uint8_t *out, size_t cap)
{
    size_t mac_len = mac_key ? ALOFT_NATIVE_MAC_LEN : 0;
    if (msg == NULL || out == NULL)
        return ALOFT_ERR_ARG;
    if (cap < ALOFT_NATIVE_HEADER_LEN + mac_len)
        return ALOFT_ERR_BUFFER;
    wcur_t w = {.p = out + ALOFT_NATIVE_HEADER_LEN,
                .cap = cap - ALOFT_NATIVE_HEADER_LEN - mac_len};
    enc_payload(&w, msg);
    if (w.bad)
        return ALOFT_ERR_ARG;
    if (w.over)
        return ALOFT_ERR_BUFFER;
    if (w.len > ALOFT_NATIVE_MAX_PAYLOAD)
        return ALOFT_ERR_ARG;
    out[0] = msg->type;
    out[1] = 0;
    aloft_st16(out + 2, (uint16_t)w.len);
    size_t len = ALOFT_NATIVE_HEADER_LEN + w.len;
    if (mac_key) {
        int err = frame_mac(sha256, mac_key, dir, seq, out, len, out + len);
        if (err)
            return err;
        len += mac_len;
    }
    return (int)len;
}

void aloft_native_str_set(aloft_native_str_t *s, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (n > ALOFT_NATIVE_STR_MAX)
        n = ALOFT_NATIVE_STR_MAX;
    if (n)
        memcpy(s->s, text, n);
    s->s[n] = '\0';
    s->len = (uint8_t)n;
}

int aloft_native_frame_len(const uint8_t *buf, size_t len, bool with_mac, size_t max_payload)
{
    if (len < ALOFT_NATIVE_HEADER_LEN)
        return 0;
    size_t plen = aloft_ld16(buf + 2);
    if (buf[1] != 0 || plen > max_payload || plen > ALOFT_NATIVE_MAX_PAYLOAD)
        return ALOFT_ERR_PROTO;
    size_t total = ALOFT_NATIVE_HEADER_LEN + plen + (with_mac ? ALOFT_NATIVE_MAC_LEN : 0);
    return len < total ? 0 : (int)total;
}

int aloft_native_decode(const uint8_t *frame, size_t len, const aloft_hash_alg_t *sha256,
                        const uint8_t *mac_key, char dir, uint32_t seq, aloft_native_msg_t *msg)
{
    size_t mac_len = mac_key ? ALOFT_NATIVE_MAC_LEN : 0;
    if (frame == NULL || msg == NULL)
        return ALOFT_ERR_ARG;
    memset(msg, 0, sizeof *msg);
    if (len < ALOFT_NATIVE_HEADER_LEN + mac_len || frame[1] != 0)
        return ALOFT_ERR_PROTO;
    size_t plen = aloft_ld16(frame + 2);
    if (plen > ALOFT_NATIVE_MAX_PAYLOAD || len != ALOFT_NATIVE_HEADER_LEN + plen + mac_len)
        return ALOFT_ERR_PROTO;
    if (mac_key) {
        uint8_t want[ALOFT_NATIVE_MAC_LEN];
        int err = frame_mac(sha256, mac_key, dir, seq, frame, len - mac_len, want);
        if (err)
            return err;
        if (!aloft_ct_equal(want, frame + len - mac_len, sizeof want))
            return ALOFT_ERR_INTEGRITY;
    }
    const uint8_t *payload = frame + ALOFT_NATIVE_HEADER_LEN;
    rcur_t r = {.p = payload, .len = plen};
    msg->type = frame[0];
    if (!dec_payload(&r, payload, msg) || r.bad || r.pos != r.len)
        return ALOFT_ERR_PROTO;
    return ALOFT_OK;
}

const uint8_t *aloft_native_tx_unsent(const uint8_t *tx, size_t off, size_t len, size_t *n)
{
    *n = len - off;
    return tx + off;
}

void aloft_native_tx_taken(size_t *off, size_t *len, size_t n)
{
    if (n > *len - *off)
        n = *len - *off;
    *off += n;
    if (*off == *len)
        *off = *len = 0;
}
