/*
 * tests/unit/test_native_codec.c — the native protocol's frame codec
 * (lib/native_codec.c) against docs/PROTOCOL.md §2.1-2.3:
 *  - OFFER, ACK, ERROR and ROLLBACK written out byte by byte from the spec, MACs from
 *    Python's hmac (so spec and code cannot drift apart silently):
 *      hmac.new(bytes(range(32)), b'D' + pack('<I', 5) + frame, sha256)[:16]
 *  - every message type round-trips, with and without a MAC;
 *  - any flipped bit in a MACed frame, a wrong seq (replay, reorder), a
 *    wrong direction or key is refused;
 *  - truncated frames are incomplete, malformed payloads are PROTO.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/error.h"
#include "aloft/wire/native.h"
#include "crypto_mbedtls.h"
#include "native_tx.h"

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;
static uint8_t KEY[32];

static void str(aloft_native_str_t *s, const char *text)
{
    memset(s, 0, sizeof *s);
    s->len = (uint8_t)strlen(text);
    memcpy(s->s, text, s->len);
}

static void fill(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(start + i);
}

/* One message of each type, every field set to something distinctive. */
static const uint8_t DATA_BYTES[5] = {0xde, 0xad, 0xbe, 0xef, 0x00};

static void sample(uint8_t type, aloft_native_msg_t *m)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    switch (type) {
    case ALOFT_MSG_HELLO: {
        aloft_native_hello_t *h = &m->u.hello;
        h->version = ALOFT_NATIVE_VERSION;
        h->caps = ALOFT_CAP_AUTH | ALOFT_CAP_DEFLATE | ALOFT_CAP_RESUME;
        h->chip_id = 9;
        h->flash_size = 0x400000;
        h->window = 32768;
        h->max_payload = 4096;
        h->inflate_window_bits = 12;
        h->kdf_iterations = 10000;
        fill(h->salt, 16, 0x40);
        fill(h->nonce, 32, 0x80);
        str(&h->name, "kitchen-sensor");
        h->running_slot = 0;
        h->nslots = 2;
        str(&h->slots[0].label, "app0");
        h->slots[0].size = 0x140000;
        h->slots[0].state = 2;
        h->slots[0].has_image = true;
        str(&h->slots[0].project, "demo");
        str(&h->slots[0].version, "1.0.0");
        h->slots[0].secure_version = 3;
        fill(h->slots[0].sha256, 32, 0x10);
        str(&h->slots[1].label, "app1");
        h->slots[1].size = 0x140000;
        h->slots[1].state = 0xFFFFFFFFu;
        h->has_resume = true;
        h->resume_target = 0;
        h->resume_size = 200000;
        fill(h->resume_sha256, 32, 0x33);
        h->resume_offset = 131072;
        break;
    }
    case ALOFT_MSG_AUTH:
        fill(m->u.auth.nonce, 32, 1);
        fill(m->u.auth.proof, 32, 101);
        break;
    case ALOFT_MSG_AUTH_OK: fill(m->u.auth_ok_signature, 32, 7); break;
    case ALOFT_MSG_ERROR:
        m->u.error.code = ALOFT_ERR_TOO_LARGE;
        m->u.error.have = 1412096;
        m->u.error.want = 1310720;
        str(&m->u.error.where, "app1");
        str(&m->u.error.text, "image is larger than the slot");
        break;
    case ALOFT_MSG_OFFER:
        m->u.offer.target = 0;
        m->u.offer.encoding = 1;
        m->u.offer.flags = 1;
        m->u.offer.size = 0x12345;
        fill(m->u.offer.sha256, 32, 0);
        str(&m->u.offer.project, "demo");
        str(&m->u.offer.version, "2.0.0");
        m->u.offer.secure_version = 7;
        break;
    case ALOFT_MSG_ACCEPT:
        m->u.accept.offset = 65536;
        m->u.accept.window = 32768;
        break;
    case ALOFT_MSG_DATA:
        m->u.data.offset = 4092;
        m->u.data.data = DATA_BYTES;
        m->u.data.len = sizeof DATA_BYTES;
        break;
    case ALOFT_MSG_ACK:
        m->u.ack.consumed = 16384;
        m->u.ack.durable = 65536;
        break;
    case ALOFT_MSG_END: m->u.end.stream_len = 99999; break;
    case ALOFT_MSG_RESULT:
        m->u.result.slot = 1;
        str(&m->u.result.version, "2.0.0");
        m->u.result.reboot = 1;
        break;
    case ALOFT_MSG_ROLLBACK: break;   /* no payload */
    default: fail();
    }
}

static const uint8_t TYPES[] = {ALOFT_MSG_HELLO, ALOFT_MSG_AUTH,   ALOFT_MSG_AUTH_OK,
                                ALOFT_MSG_ERROR, ALOFT_MSG_OFFER,  ALOFT_MSG_ACCEPT,
                                ALOFT_MSG_DATA,  ALOFT_MSG_ACK,    ALOFT_MSG_END,
                                ALOFT_MSG_RESULT, ALOFT_MSG_ROLLBACK};

static void assert_same(const aloft_native_msg_t *a, const aloft_native_msg_t *b)
{
    assert_int_equal(a->type, b->type);
    if (a->type == ALOFT_MSG_DATA) {   /* data points into the frame */
        assert_int_equal(a->u.data.offset, b->u.data.offset);
        assert_int_equal(a->u.data.len, b->u.data.len);
        assert_memory_equal(a->u.data.data, b->u.data.data, a->u.data.len);
        return;
    }
    assert_memory_equal(&a->u, &b->u, sizeof a->u);
}

static void test_offer_ack_error_byte_exact(void **state)
{
    (void)state;
    uint8_t out[256];
    aloft_native_msg_t m, back;
    static const uint8_t offer[] = {
        0x10, 0x00, 0x37, 0x00,                  /* OFFER, flags 0, len 55 */
        0x00, 0x01, 0x01,                        /* target app, zlib, NO_REBOOT */
        0x45, 0x23, 0x01, 0x00,                  /* size 0x12345 */
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
        0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
        0x1c, 0x1d, 0x1e, 0x1f,                  /* sha256 */
        0x04, 'd', 'e', 'm', 'o',                /* project */
        0x05, '2', '.', '0', '.', '0',           /* version */
        0x07, 0x00, 0x00, 0x00,                  /* secure_version */
        0x00,                                    /* no signature block */
        /* MAC: key 00..1f, 'H', seq 0 (Python hmac) */
        0xd0, 0x03, 0x59, 0x08, 0x96, 0xa8, 0xce, 0x5f, 0x70, 0xf0, 0x18, 0x8b, 0xf8, 0xeb,
        0xd9, 0xdd};
    sample(ALOFT_MSG_OFFER, &m);
    assert_int_equal(aloft_native_encode(&m, SHA, NULL, 0, 0, out, sizeof out), 59);
    assert_memory_equal(out, offer, 59);
    assert_int_equal(aloft_native_encode(&m, SHA, KEY, 'H', 0, out, sizeof out), sizeof offer);
    assert_memory_equal(out, offer, sizeof offer);
    assert_int_equal(aloft_native_decode(offer, sizeof offer, SHA, KEY, 'H', 0, &back), 0);
    assert_same(&m, &back);

    static const uint8_t ack[] = {
        0x13, 0x00, 0x08, 0x00,   /* ACK, len 8 */
        0x00, 0x40, 0x00, 0x00,   /* consumed 16384 */
        0x00, 0x00, 0x01, 0x00,   /* durable 65536 */
        /* MAC: key 00..1f, 'D', seq 5 */
        0x2e, 0x69, 0x18, 0xce, 0xde, 0x1a, 0xb1, 0xc4, 0x78, 0x56, 0x7e, 0x7d, 0x1a, 0xbf,
        0x58, 0xb9};
    sample(ALOFT_MSG_ACK, &m);
    assert_int_equal(aloft_native_encode(&m, SHA, KEY, 'D', 5, out, sizeof out), sizeof ack);
    assert_memory_equal(out, ack, sizeof ack);

    static const uint8_t error[] = {
        0x04, 0x00, 0x0d, 0x00,   /* ERROR, len 13 */
        0xc3, 0xff,               /* code -61 as i16 */
        0x00, 0x8c, 0x15, 0x00,   /* have 1412096 */
        0x00, 0x00, 0x14, 0x00,   /* want 1310720 */
        0x01, 'x',                /* where */
        0x00};                    /* text (empty) */
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ERROR;
    m.u.error.code = ALOFT_ERR_TOO_LARGE;
    m.u.error.have = 1412096;
    m.u.error.want = 1310720;
    str(&m.u.error.where, "x");
    assert_int_equal(aloft_native_encode(&m, SHA, NULL, 0, 0, out, sizeof out), sizeof error);
    assert_memory_equal(out, error, sizeof error);
    assert_int_equal(aloft_native_decode(error, sizeof error, SHA, NULL, 0, 0, &back), 0);
    assert_int_equal(back.u.error.code, -61);

    static const uint8_t rollback[] = {
        0x16, 0x00, 0x00, 0x00,   /* ROLLBACK, len 0 */
        /* MAC: key 00..1f, 'H', seq 0 */
        0x5a, 0x85, 0x7b, 0xc4, 0xba, 0x47, 0xb9, 0xa5, 0xb4, 0xd0, 0xc5, 0xda, 0x91, 0x2b,
        0x71, 0xb3};
    sample(ALOFT_MSG_ROLLBACK, &m);
    assert_int_equal(aloft_native_encode(&m, SHA, KEY, 'H', 0, out, sizeof out), sizeof rollback);
    assert_memory_equal(out, rollback, sizeof rollback);
    assert_int_equal(aloft_native_decode(rollback, sizeof rollback, SHA, KEY, 'H', 0, &back), 0);
    assert_int_equal(back.type, ALOFT_MSG_ROLLBACK);
}

static void test_every_type_round_trips(void **state)
{
    (void)state;
    uint8_t out[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m, back;
    for (size_t i = 0; i < sizeof TYPES; i++) {
        for (int mac = 0; mac < 2; mac++) {
            const uint8_t *key = mac ? KEY : NULL;
            sample(TYPES[i], &m);
            int n = aloft_native_encode(&m, SHA, key, 'D', 42, out, sizeof out);
            /* ROLLBACK is the one message without a payload */
            assert_int_equal(n > (int)(ALOFT_NATIVE_HEADER_LEN + (mac ? ALOFT_NATIVE_MAC_LEN : 0)),
                             TYPES[i] != ALOFT_MSG_ROLLBACK);
            assert_int_equal(aloft_native_frame_len(out, (size_t)n, mac, 4096), n);
            assert_int_equal(aloft_native_frame_len(out, sizeof out, mac, 4096), n);
            assert_int_equal(aloft_native_decode(out, (size_t)n, SHA, key, 'D', 42, &back), 0);
            assert_same(&m, &back);
            /* the exact room is enough, one byte less is not */
            uint8_t tight[ALOFT_NATIVE_FRAME_MAX];
            assert_int_equal(aloft_native_encode(&m, SHA, key, 'D', 42, tight, (size_t)n), n);
            assert_int_equal(aloft_native_encode(&m, SHA, key, 'D', 42, tight, (size_t)n - 1),
                             ALOFT_ERR_BUFFER);
        }
    }
    /* the largest DATA frame */
    static uint8_t big[ALOFT_NATIVE_MAX_PAYLOAD - 4];
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_DATA;
    m.u.data.data = big;
    m.u.data.len = sizeof big;
    int n = aloft_native_encode(&m, SHA, KEY, 'H', 0, out, sizeof out);
    assert_int_equal(n, ALOFT_NATIVE_FRAME_MAX);
    assert_int_equal(aloft_native_decode(out, (size_t)n, SHA, KEY, 'H', 0, &back), 0);
    assert_int_equal(back.u.data.len, sizeof big);
}

static void test_any_flipped_bit_is_refused(void **state)
{
    (void)state;
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m, back;
    for (size_t t = 0; t < sizeof TYPES; t++) {
        sample(TYPES[t], &m);
        int n = aloft_native_encode(&m, SHA, KEY, 'H', 3, frame, sizeof frame);
        for (int bit = 0; bit < n * 8; bit++) {
            frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int err = aloft_native_decode(frame, (size_t)n, SHA, KEY, 'H', 3, &back);
            assert_true(err == ALOFT_ERR_INTEGRITY || err == ALOFT_ERR_PROTO);
            frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        assert_int_equal(aloft_native_decode(frame, (size_t)n, SHA, KEY, 'H', 3, &back), 0);
    }
}

static void test_replay_reorder_direction_and_key(void **state)
{
    (void)state;
    uint8_t f0[64], f1[64], other[32];
    aloft_native_msg_t m, back;
    sample(ALOFT_MSG_ACK, &m);
    int n0 = aloft_native_encode(&m, SHA, KEY, 'D', 0, f0, sizeof f0);
    m.u.ack.consumed += 1;
    int n1 = aloft_native_encode(&m, SHA, KEY, 'D', 1, f1, sizeof f1);
    assert_int_equal(aloft_native_decode(f0, (size_t)n0, SHA, KEY, 'D', 0, &back), 0);
    /* replay: frame 0 again where frame 1 is due */
    assert_int_equal(aloft_native_decode(f0, (size_t)n0, SHA, KEY, 'D', 1, &back), ALOFT_ERR_INTEGRITY);
    /* reorder: frame 1 first */
    assert_int_equal(aloft_native_decode(f1, (size_t)n1, SHA, KEY, 'D', 0, &back), ALOFT_ERR_INTEGRITY);
    /* reflection: a device frame fed back to the device as if from the host */
    assert_int_equal(aloft_native_decode(f0, (size_t)n0, SHA, KEY, 'H', 0, &back), ALOFT_ERR_INTEGRITY);
    /* another session's key */
    fill(other, 32, 1);
    assert_int_equal(aloft_native_decode(f0, (size_t)n0, SHA, other, 'D', 0, &back), ALOFT_ERR_INTEGRITY);
    /* a MACed frame read without a MAC, and the other way round */
    assert_int_equal(aloft_native_decode(f0, (size_t)n0, SHA, NULL, 0, 0, &back), ALOFT_ERR_PROTO);
    int plain = aloft_native_encode(&m, SHA, NULL, 0, 0, f1, sizeof f1);
    assert_int_not_equal(aloft_native_decode(f1, (size_t)plain, SHA, KEY, 'D', 1, &back), 0);
}

static void test_truncated_frames_are_incomplete(void **state)
{
    (void)state;
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m, back;
    for (size_t t = 0; t < sizeof TYPES; t++) {
        for (int mac = 0; mac < 2; mac++) {
            sample(TYPES[t], &m);
            int n = aloft_native_encode(&m, SHA, mac ? KEY : NULL, 'H', 0, frame, sizeof frame);
            for (int k = 0; k < n; k++) {
                assert_int_equal(aloft_native_frame_len(frame, (size_t)k, mac, 4096), 0);
                assert_int_equal(aloft_native_decode(frame, (size_t)k, SHA, mac ? KEY : NULL,
                                                     'H', 0, &back),
                                 ALOFT_ERR_PROTO);
            }
        }
    }
}

/* Decode a frame built by hand: header, then payload bytes. */
static int decode_raw(uint8_t type, uint8_t flags, const uint8_t *payload, size_t len)
{
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m;
    frame[0] = type;
    frame[1] = flags;
    frame[2] = (uint8_t)len;
    frame[3] = (uint8_t)(len >> 8);
    memcpy(frame + 4, payload, len);
    return aloft_native_decode(frame, 4 + len, SHA, NULL, 0, 0, &m);
}

/* Encode sample(type), then let edit change the payload (returns its new length). */
static int decode_edited(uint8_t type, size_t (*edit)(uint8_t *p, size_t len))
{
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m;
    sample(type, &m);
    int n = aloft_native_encode(&m, SHA, NULL, 0, 0, frame, sizeof frame);
    size_t len = edit(frame + 4, (size_t)n - 4);
    return decode_raw(type, 0, frame + 4, len);
}

static size_t cut_one(uint8_t *p, size_t len) { (void)p; return len - 1; }
static size_t add_one(uint8_t *p, size_t len) { p[len] = 0; return len + 1; }
static size_t hello_bad_magic(uint8_t *p, size_t len) { p[0] = 'X'; return len; }
static size_t hello_v2(uint8_t *p, size_t len) { p[4] = 2; return len; }
/* name str at payload offset 71: claim 33 bytes */
static size_t hello_long_name(uint8_t *p, size_t len) { p[71] = 33; return len; }
/* nslots at 71 + 1 + 14 (name) + 1 (running_slot) */
static size_t hello_five_slots(uint8_t *p, size_t len) { p[87] = 5; return len; }
/* has_image of slot 0: label str (5) + size + state */
static size_t hello_has_image_2(uint8_t *p, size_t len) { p[88 + 5 + 8] = 2; return len; }
static size_t result_reboot_2(uint8_t *p, size_t len) { p[len - 1] = 2; return len; }

static void test_malformed_payloads_are_proto(void **state)
{
    (void)state;
    uint8_t zeros[64] = {0};
    aloft_native_msg_t m;
    /* unknown types, with a plausible payload */
    assert_int_equal(decode_raw(0x00, 0, zeros, 8), ALOFT_ERR_PROTO);
    assert_int_equal(decode_raw(0x05, 0, zeros, 8), ALOFT_ERR_PROTO);
    assert_int_equal(decode_raw(0x17, 0, zeros, 8), ALOFT_ERR_PROTO);
    assert_int_equal(decode_raw(0xff, 0, zeros, 8), ALOFT_ERR_PROTO);
    /* flags must be 0 */
    assert_int_equal(decode_raw(ALOFT_MSG_ACK, 1, zeros, 8), ALOFT_ERR_PROTO);
    /* short and long payloads of every type */
    for (size_t t = 0; t < sizeof TYPES; t++) {
        if (TYPES[t] != ALOFT_MSG_DATA)   /* DATA takes any length >= 4 */
            assert_int_equal(decode_edited(TYPES[t], add_one), ALOFT_ERR_PROTO);
        if (TYPES[t] != ALOFT_MSG_ROLLBACK)   /* nothing to cut */
            assert_int_equal(decode_edited(TYPES[t], cut_one),
                             TYPES[t] == ALOFT_MSG_DATA ? 0 : ALOFT_ERR_PROTO);
    }
    assert_int_equal(decode_raw(ALOFT_MSG_DATA, 0, zeros, 3), ALOFT_ERR_PROTO);
    assert_int_equal(decode_raw(ALOFT_MSG_DATA, 0, zeros, 4), 0);   /* empty DATA is fine */
    assert_int_equal(decode_raw(ALOFT_MSG_END, 0, zeros, 0), ALOFT_ERR_PROTO);
    /* HELLO specifics */
    assert_int_equal(decode_edited(ALOFT_MSG_HELLO, hello_bad_magic), ALOFT_ERR_PROTO);
    assert_int_equal(decode_edited(ALOFT_MSG_HELLO, hello_v2), ALOFT_ERR_PROTO);
    assert_int_equal(decode_edited(ALOFT_MSG_HELLO, hello_long_name), ALOFT_ERR_PROTO);
    assert_int_equal(decode_edited(ALOFT_MSG_HELLO, hello_five_slots), ALOFT_ERR_PROTO);
    assert_int_equal(decode_edited(ALOFT_MSG_HELLO, hello_has_image_2), ALOFT_ERR_PROTO);
    assert_int_equal(decode_edited(ALOFT_MSG_RESULT, result_reboot_2), ALOFT_ERR_PROTO);
    /* a str of 33 bytes anywhere: the ERROR's where */
    uint8_t err[2 + 8 + 1 + 33 + 1] = {0};
    err[10] = 33;
    assert_int_equal(decode_raw(ALOFT_MSG_ERROR, 0, err, sizeof err), ALOFT_ERR_PROTO);
    err[10] = 32;   /* 32 is the limit; then the text's length byte is the last 0 */
    assert_int_equal(decode_raw(ALOFT_MSG_ERROR, 0, err, sizeof err - 1), 0);
    /* another version still tells the host which one */
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    sample(ALOFT_MSG_HELLO, &m);
    m.u.hello.version = 2;
    int n = aloft_native_encode(&m, SHA, NULL, 0, 0, frame, sizeof frame);
    assert_int_equal(aloft_native_decode(frame, (size_t)n, SHA, NULL, 0, 0, &m), ALOFT_ERR_PROTO);
    assert_int_equal(m.u.hello.version, 2);
}

static void test_frame_len_header_checks(void **state)
{
    (void)state;
    uint8_t h[4] = {ALOFT_MSG_DATA, 0, 0x00, 0x10};   /* len 4096 */
    assert_int_equal(aloft_native_frame_len(h, 4, false, 4096), 0);   /* fine, incomplete */
    assert_int_equal(aloft_native_frame_len(h, 4, false, 1024), ALOFT_ERR_PROTO);
    h[3] = 0x11;   /* 4352 > 4096 */
    assert_int_equal(aloft_native_frame_len(h, 4, false, 65535), ALOFT_ERR_PROTO);
    h[3] = 0;
    h[1] = 0x80;
    assert_int_equal(aloft_native_frame_len(h, 4, true, 4096), ALOFT_ERR_PROTO);
    h[1] = 0;
    assert_int_equal(aloft_native_frame_len(h, 4, false, 4096), 4);
    assert_int_equal(aloft_native_frame_len(h, 19, true, 4096), 0);
    assert_int_equal(aloft_native_frame_len(h, 20, true, 4096), 20);
}

static void test_encode_refuses_what_no_peer_may_send(void **state)
{
    (void)state;
    uint8_t out[ALOFT_NATIVE_FRAME_MAX + 16];
    aloft_native_msg_t m;
    static uint8_t big[ALOFT_NATIVE_MAX_PAYLOAD - 3];
    sample(ALOFT_MSG_RESULT, &m);
    m.u.result.version.len = 33;
    assert_int_equal(aloft_native_encode(&m, SHA, NULL, 0, 0, out, sizeof out), ALOFT_ERR_ARG);
    sample(ALOFT_MSG_HELLO, &m);
    m.u.hello.nslots = 5;
    assert_int_equal(aloft_native_encode(&m, SHA, NULL, 0, 0, out, sizeof out), ALOFT_ERR_ARG);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_DATA;
    m.u.data.data = big;
    m.u.data.len = sizeof big;   /* payload 4097 */
    assert_int_equal(aloft_native_encode(&m, SHA, NULL, 0, 0, out, sizeof out), ALOFT_ERR_ARG);
    m.type = 0x42;
    assert_int_equal(aloft_native_encode(&m, SHA, NULL, 0, 0, out, sizeof out), ALOFT_ERR_ARG);
    sample(ALOFT_MSG_ACK, &m);
    assert_int_equal(aloft_native_encode(&m, SHA, KEY, 'D', 0, out, 20), ALOFT_ERR_BUFFER);
    assert_int_equal(aloft_native_encode(&m, SHA, KEY, 'D', 0, out, 3), ALOFT_ERR_BUFFER);
}

/* Both engines' send buffers: what waits, partial takes, an over-long
 * take clamped, and the buffer starting over once empty. */
static void test_tx_buffer_unsent_and_taken(void **state)
{
    (void)state;
    uint8_t tx[16] = {0};
    size_t off = 0, len = 10, n;
    assert_ptr_equal(aloft_native_tx_unsent(tx, off, len, &n), tx);
    assert_int_equal(n, 10);
    aloft_native_tx_taken(&off, &len, 4);
    assert_ptr_equal(aloft_native_tx_unsent(tx, off, len, &n), tx + 4);
    assert_int_equal(n, 6);
    aloft_native_tx_taken(&off, &len, 0);
    assert_int_equal(off, 4);
    aloft_native_tx_taken(&off, &len, 100);   /* more than waits: all of it */
    assert_int_equal(off, 0);
    assert_int_equal(len, 0);
    assert_ptr_equal(aloft_native_tx_unsent(tx, off, len, &n), tx);
    assert_int_equal(n, 0);
    aloft_native_tx_taken(&off, &len, 1);   /* nothing waits: stays empty */
    assert_int_equal(off + len, 0);
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 32; i++)
        KEY[i] = (uint8_t)i;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_ack_error_byte_exact),
        cmocka_unit_test(test_every_type_round_trips),
        cmocka_unit_test(test_any_flipped_bit_is_refused),
        cmocka_unit_test(test_replay_reorder_direction_and_key),
        cmocka_unit_test(test_truncated_frames_are_incomplete),
        cmocka_unit_test(test_malformed_payloads_are_proto),
        cmocka_unit_test(test_frame_len_header_checks),
        cmocka_unit_test(test_encode_refuses_what_no_peer_may_send),
        cmocka_unit_test(test_tx_buffer_unsent_and_taken),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
