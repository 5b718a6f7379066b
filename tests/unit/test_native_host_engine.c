/*
 * tests/unit/test_native_host_engine.c — the host engine
 * (aloft/native_host.h) on its own: against the real device engine over
 * an in-process link (support/native_link.h), and against a fake device
 * made of the codec that says what a test needs, lies included.
 *
 *  - every refusal before anything is sent: not an aloft device, another
 *    version, an unusable HELLO, no password, an impostor's AUTH_OK, a
 *    rollback to an image that never confirmed itself, a signature block
 *    or an OFFER too large for the device;
 *  - keys derived once for every reconnect; resume offsets (the source
 *    opened there, DATA offsets from 0, progress from the durable prefix);
 *  - the window never exceeded (a small device window); END as soon as
 *    the last DATA is out, without waiting for an ACK;
 *  - every timeout by tick, exactly at its limit;
 *  - a device that lies (ACKs that go back or beyond, an ACCEPT beyond the
 *    image, early or misplaced RESULTs, unprompted messages, a bad MAC, a
 *    malformed frame with a good MAC) and failures that stay failed;
 *  - the soak's "unexpected message from the peer" after a resume: a bit
 *    flipped in a frame header is corruption, the connection is LOST and
 *    the next one resumes (it used to end the upload with ERROR -80).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "bytes.h"
#include "crypto_mbedtls.h"
#include "hmac.h"
#include "inflate_zlib.h"
#include "native_link.h"
#include "native_stream.h"
#include "sim_fixture.h"

#define HOST_IP 0xC0A80132u
#define DATA_BYTES 4092u

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;

/* PBKDF2 through mbedTLS, counted. */
static int pbkdf2_calls;
static int counted_pbkdf2(void *ctx, const void *pw, size_t pw_len, const void *salt,
                          size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
    pbkdf2_calls++;
    return aloft_mbedtls_crypto.pbkdf2_sha256(ctx, pw, pw_len, salt, salt_len, iterations, out,
                                              out_len);
}

typedef struct rec {
    aloft_native_event_kind_t kinds[64];
    int n;
    int count[ALOFT_NATIVE_EV_ERROR + 1];
    uint32_t accepted_at, first_durable, durable;
    unsigned bits;
    aloft_native_raw_why_t raw_why;
    uint32_t raw_have;
    bool resumable;
} rec_t;

typedef struct ctx {
    sim_fixture_t fx;
    aloft_crypto_t crypto;
    aloft_native_verifier_t v;
    inflate_zlib_t zst;
    aloft_inflate_t z;
    uint8_t v2_sha[32];
    native_source_t src;
    uint8_t small[20000], small_sha[32];    /* an image the fake device takes whole */
    native_source_t small_src;
    aloft_native_keys_t keys;
    aloft_native_device_t d;
    aloft_native_host_t h;
    native_link_t l;
    native_frames_t up, down;
    rec_t rec;
    uint32_t window;                 /* the device's; 0 = default */
    /* tap */
    int flip_frame, flip_pos;        /* flip in the up stream: DATA frame index, byte */
    uint8_t flip_mask;
    uint32_t consumed, max_flight;   /* what ACKs said; the most DATA unconsumed */
    bool end_seen, error_down;
    uint32_t consumed_at_end;
} ctx_t;

static void on_event(void *p, const aloft_native_event_t *ev)
{
    rec_t *r = p;
    if (r->n < 64)
        r->kinds[r->n++] = ev->kind;
    r->count[ev->kind]++;
    switch (ev->kind) {
    case ALOFT_NATIVE_EV_HELLO: r->resumable = ev->resumable; break;
    case ALOFT_NATIVE_EV_ACCEPTED:
        r->accepted_at = ev->offset;
        r->bits = ev->window_bits;
        break;
    case ALOFT_NATIVE_EV_PROGRESS:
        if (r->count[ev->kind] == 1)
            r->first_durable = ev->durable;
        r->durable = ev->durable;
        break;
    case ALOFT_NATIVE_EV_NO_DEFLATE:
        r->raw_why = ev->raw_why;
        r->raw_have = ev->have;
        break;
    default: break;
    }
}

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    uint8_t salt[16] = {1, 2, 3};
    if (simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 60000, 200000) != 0)
        return -1;
    c->crypto = aloft_mbedtls_crypto;
    c->crypto.pbkdf2_sha256 = counted_pbkdf2;
    aloft_native_derive(&aloft_mbedtls_crypto, "pw", salt, 1000, &c->v, NULL);
    inflate_zlib_init(&c->z, &c->zst, 12);
    aloft_hash_oneshot(SHA, c->fx.v2, c->fx.v2_len, c->v2_sha);
    native_source_init(&c->src, c->fx.v2, c->fx.v2_len);
    for (size_t i = 0; i < sizeof c->small; i++)
        c->small[i] = (uint8_t)(i * 13 + (i >> 7));
    aloft_hash_oneshot(SHA, c->small, sizeof c->small, c->small_sha);
    native_source_init(&c->small_src, c->small, sizeof c->small);
    pbkdf2_calls = 0;
    c->flip_frame = -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    c->z.end(c->z.ctx);
    native_source_close(&c->src);
    native_source_close(&c->small_src);
    simfx_teardown(&c->fx);
    free(c);
    return 0;
}

static aloft_native_host_config_t host_cfg(ctx_t *c, aloft_native_op_t op, const char *password)
{
    aloft_native_host_config_t hc = {
        .crypto = &c->crypto, .op = op, .password = password, .keys = &c->keys,
        .source = &c->src.src, .size = (uint32_t)c->fx.v2_len, .sha256 = c->v2_sha,
        .project = "demo", .version = "2.0.0", .on_event = on_event, .ctx = &c->rec};
    return hc;
}

/* Watch both ways: DATA in flight against the ACKs, END, and a flip. */
static void tap(void *p, bool up, uint8_t *b, size_t n)
{
    ctx_t *c = p;
    native_frames_t *f = up ? &c->up : &c->down;
    for (size_t i = 0; i < n; i++) {
        if (up && (int)f->data == c->flip_frame && (int)f->pos == c->flip_pos &&
            (f->pos == 0 || f->cur[0] == ALOFT_MSG_DATA)) {
            b[i] ^= c->flip_mask;
            c->flip_frame = -1;
        }
        if (!native_frames_byte(f, b[i]))
            continue;
        const uint8_t *fr = f->last;
        if (up && fr[0] == ALOFT_MSG_DATA) {
            uint32_t end = aloft_ld32(fr + 4) + aloft_ld16(fr + 2) - 4;
            if (end - c->consumed > c->max_flight)
                c->max_flight = end - c->consumed;
        } else if (up && fr[0] == ALOFT_MSG_END) {
            c->end_seen = true;
            c->consumed_at_end = c->consumed;
        } else if (!up && fr[0] == ALOFT_MSG_ACK) {
            c->consumed = aloft_ld32(fr + 4);
        } else if (!up && fr[0] == ALOFT_MSG_ACCEPT) {
            c->consumed = 0;
        } else if (!up && fr[0] == ALOFT_MSG_ERROR) {
            c->error_down = true;
        }
    }
}

/* A connection to the simulated device (password "pw" when password). */
static void connect_real(ctx_t *c, const aloft_native_host_config_t *hc, bool password)
{
    aloft_native_device_config_t dc = {
        .dev = &c->fx.sim.dev, .update = &c->fx.sim.update, .verifier = password ? &c->v : NULL,
        .inflate = &c->z, .name = "real", .window = c->window, .open = !password};
    memset(&c->rec, 0, sizeof c->rec);
    memset(&c->up, 0, sizeof c->up);
    memset(&c->down, 0, sizeof c->down);
    c->up.dir = 'H';
    c->down.dir = 'D';
    c->consumed = c->max_flight = 0;
    c->end_seen = c->error_down = false;
    uint32_t now = c->l.now;
    c->l = (native_link_t){.host = &c->h, .dev = &c->d, .now = now, .chunk = 1500, .tap = tap,
                           .tap_ctx = c};
    assert_int_equal(aloft_native_device_init(&c->d, &dc, HOST_IP, now), 0);
    assert_int_equal(aloft_native_host_init(&c->h, hc, now), 0);
}

static const aloft_native_failure_t *failure(const ctx_t *c)
{
    return aloft_native_host_failure(&c->h);
}

/* ---- a fake device ------------------------------------------------------ */

typedef struct fake {
    ctx_t *c;
    aloft_native_hello_t hello;
    bool keyed;
    uint8_t key[32];
    uint32_t tx_seq, rx_seq;
    uint8_t in[32768];
    size_t in_len;
    uint32_t now;
} fake_t;

static void default_hello(aloft_native_hello_t *h, uint8_t caps)
{
    memset(h, 0, sizeof *h);
    h->version = 1;
    h->caps = caps;
    h->window = 32768;
    h->max_payload = 4096;
    h->inflate_window_bits = 12;
    h->kdf_iterations = 1000;
    h->salt[0] = 1, h->salt[1] = 2, h->salt[2] = 3;
    memset(h->nonce, 0x77, sizeof h->nonce);
    aloft_native_str_set(&h->name, "fake");
    h->nslots = 2;
    aloft_native_str_set(&h->slots[0].label, "app0");
    aloft_native_str_set(&h->slots[1].label, "app1");
    h->slots[0].state = h->slots[1].state = ALOFT_OTA_VALID;
}

static void fake_start(ctx_t *c, fake_t *f, const aloft_native_host_config_t *hc)
{
    memset(f, 0, sizeof *f);
    memset(&c->rec, 0, sizeof c->rec);
    f->c = c;
    f->now = 1000;
    default_hello(&f->hello, ALOFT_CAP_RESUME);
    assert_int_equal(aloft_native_host_init(&c->h, hc, f->now), 0);
}

static void fake_bytes(fake_t *f, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t room;
        uint8_t *buf = aloft_native_host_rx_buf(&f->c->h, &room);
        if (room == 0)
            return;
        size_t k = n < room ? n : room;
        memcpy(buf, p, k);
        aloft_native_host_rx_ack(&f->c->h, f->now, k);
        p += k;
        n -= k;
    }
}

/* A frame with any payload, MACed like a device's once keyed. */
static void fake_frame(fake_t *f, uint8_t type, const uint8_t *payload, size_t len)
{
    uint8_t fr[ALOFT_NATIVE_FRAME_MAX], mac[32], pre[5] = {'D'};
    fr[0] = type;
    fr[1] = 0;
    aloft_st16(fr + 2, (uint16_t)len);
    memcpy(fr + 4, payload, len);
    size_t n = 4 + len;
    if (f->keyed) {
        aloft_hmac_t m;
        aloft_st32(pre + 1, f->tx_seq++);
        aloft_hmac_init(&m, SHA, f->key, 32);
        aloft_hmac_update(&m, pre, sizeof pre);
        aloft_hmac_update(&m, fr, n);
        aloft_hmac_final(&m, mac);
        memcpy(fr + n, mac, 16);
        n += 16;
    }
    fake_bytes(f, fr, n);
}

static void fake_send(fake_t *f, const aloft_native_msg_t *m)
{
    uint8_t fr[ALOFT_NATIVE_FRAME_MAX];
    int n = aloft_native_encode(m, SHA, f->keyed ? f->key : NULL, 'D', f->tx_seq, fr, sizeof fr);
    assert_true(n > 0);
    f->tx_seq += f->keyed;
    fake_bytes(f, fr, (size_t)n);
}

/* The HELLO; an open device is keyed with the zero key right after. */
static void fake_hello(fake_t *f)
{
    static const uint8_t zero[32];
    uint8_t fr[ALOFT_NATIVE_FRAME_MAX], am[32];
    aloft_native_msg_t m = {.type = ALOFT_MSG_HELLO};
    m.u.hello = f->hello;
    int n = aloft_native_encode(&m, SHA, NULL, 'D', 0, fr, sizeof fr);
    assert_true(n > 0);
    fake_bytes(f, fr, (size_t)n);
    if (!(f->hello.caps & ALOFT_CAP_AUTH)) {
        aloft_native_auth_message(SHA, fr + 4, (size_t)n - 4, zero, am);
        aloft_native_session_key(SHA, zero, am, f->key);
        f->keyed = true;
    }
}

/* Step the host and take what it sends. */
static void fake_pull(fake_t *f)
{
    while (aloft_native_host_step(&f->c->h, f->now) > 0) {
        size_t n;
        const uint8_t *p = aloft_native_host_tx_buf(&f->c->h, &n);
        assert_true(f->in_len + n <= sizeof f->in);
        memcpy(f->in + f->in_len, p, n);
        f->in_len += n;
        aloft_native_host_tx_ack(&f->c->h, n);
    }
}

/* The host's next frame: 1 with m, 0 if none. */
static int fake_recv(fake_t *f, aloft_native_msg_t *m)
{
    fake_pull(f);
    bool mac = f->keyed;
    int n = aloft_native_frame_len(f->in, f->in_len, mac, ALOFT_NATIVE_MAX_PAYLOAD);
    if (n > 0 && f->in[0] == ALOFT_MSG_AUTH)
        n = aloft_native_frame_len(f->in, f->in_len, mac = false, ALOFT_NATIVE_MAX_PAYLOAD);
    assert_true(n >= 0);
    if (n == 0)
        return 0;
    assert_int_equal(aloft_native_decode(f->in, (size_t)n, SHA, mac ? f->key : NULL, 'H',
                                         f->rx_seq, m), 0);
    f->rx_seq += mac;
    memmove(f->in, f->in + n, f->in_len - (size_t)n);
    f->in_len -= (size_t)n;
    return 1;
}

static aloft_native_msg_t fake_expect(fake_t *f, uint8_t type)
{
    aloft_native_msg_t m;
    assert_int_equal(fake_recv(f, &m), 1);
    assert_int_equal(m.type, type);
    return m;
}

static void fake_accept(fake_t *f, uint32_t offset, uint32_t window)
{
    aloft_native_msg_t m = {.type = ALOFT_MSG_ACCEPT};
    m.u.accept.offset = offset;
    m.u.accept.window = window;
    fake_send(f, &m);
}

static void fake_ack(fake_t *f, uint32_t consumed, uint32_t durable)
{
    aloft_native_msg_t m = {.type = ALOFT_MSG_ACK};
    m.u.ack.consumed = consumed;
    m.u.ack.durable = durable;
    fake_send(f, &m);
}

static void fake_result(fake_t *f, uint8_t slot)
{
    aloft_native_msg_t m = {.type = ALOFT_MSG_RESULT};
    m.u.result.slot = slot;
    aloft_native_str_set(&m.u.result.version, "2.0.0");
    m.u.result.reboot = 1;
    fake_send(f, &m);
}

/* Open fake device, upload of the small image: HELLO, OFFER, ACCEPT at 0
 * with window. */
static void fake_to_data(ctx_t *c, fake_t *f, uint32_t window)
{
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.source = &c->small_src.src;
    hc.size = sizeof c->small;
    hc.sha256 = c->small_sha;
    fake_start(c, f, &hc);
    fake_hello(f);
    fake_expect(f, ALOFT_MSG_OFFER);
    fake_accept(f, 0, window);
}

static void expect_failure(const ctx_t *c, aloft_native_why_t why, int code)
{
    assert_true(aloft_native_host_state(&c->h) & ALOFT_NATIVE_CLOSED);
    assert_int_equal(failure(c)->why, why);
    assert_int_equal(failure(c)->code, code);
    assert_int_equal(aloft_native_host_last_error(&c->h), code);
    assert_int_equal(c->rec.count[failure(c)->lost ? ALOFT_NATIVE_EV_LOST : ALOFT_NATIVE_EV_ERROR],
                     1);
}

/* ---- against the device engine ------------------------------------------ */

static void test_upload_events_in_order(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    connect_real(c, &hc, true);
    native_link_run(&c->l);
    rec_t *r = &c->rec;
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_int_equal(r->kinds[0], ALOFT_NATIVE_EV_HELLO);
    assert_int_equal(r->kinds[1], ALOFT_NATIVE_EV_AUTH_OK);
    assert_int_equal(r->kinds[2], ALOFT_NATIVE_EV_ACCEPTED);
    assert_int_equal(r->kinds[3], ALOFT_NATIVE_EV_PROGRESS);
    assert_int_equal(r->kinds[r->n - 1], ALOFT_NATIVE_EV_DONE);
    assert_int_equal(r->kinds[r->n - 2], ALOFT_NATIVE_EV_PROGRESS);   /* the RESULT's: 100 % */
    assert_int_equal(r->durable, c->fx.v2_len);
    assert_int_equal(r->count[ALOFT_NATIVE_EV_SENT_ALL], 1);
    assert_int_equal(r->count[ALOFT_NATIVE_EV_LOST] + r->count[ALOFT_NATIVE_EV_ERROR], 0);
    const aloft_native_result_t *res = aloft_native_host_result(&c->h);
    assert_non_null(res);
    assert_int_equal(res->slot, 1);
    assert_string_equal(res->version.s, "2.0.0");
    assert_int_equal(c->up.count, c->up.data + 3);   /* AUTH, OFFER, DATA ..., END */
    assert_true(aloft_native_device_state(&c->d) & ALOFT_NATIVE_REBOOT);
}

static void test_keys_derived_once(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_INFO, "pw");
    connect_real(c, &hc, true);
    native_link_run(&c->l);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_AUTH_OK], 1);
    assert_int_equal(pbkdf2_calls, 1);
    assert_true(c->keys.valid);
    for (int i = 0; i < 3; i++) {   /* reconnects: the cache */
        connect_real(c, &hc, true);
        native_link_run(&c->l);
        assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_DONE], 1);
    }
    assert_int_equal(pbkdf2_calls, 1);
    /* keys alone (no password) log in too */
    hc.password = NULL;
    connect_real(c, &hc, true);
    native_link_run(&c->l);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_AUTH_OK], 1);
    /* a device with another salt: derived again; keys alone are stale */
    uint8_t salt[16] = {9};
    aloft_native_derive(&aloft_mbedtls_crypto, "pw", salt, 1000, &c->v, NULL);
    connect_real(c, &hc, true);
    native_link_run(&c->l);
    expect_failure(c, ALOFT_NATIVE_WHY_STALE_KEYS, ALOFT_ERR_AUTH);
    hc.password = "pw";
    connect_real(c, &hc, true);
    native_link_run(&c->l);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_AUTH_OK], 1);
    assert_int_equal(pbkdf2_calls, 2);
    /* info on a device that wants a password, without one: the HELLO only */
    aloft_native_host_config_t bare = host_cfg(c, ALOFT_NATIVE_OP_INFO, NULL);
    bare.keys = NULL;
    connect_real(c, &bare, true);
    native_link_run(&c->l);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_DONE], 1);
    assert_int_equal(c->up.count, 0);
}

static void test_resume_offset_and_source(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    connect_real(c, &hc, true);
    while (c->up.data < 35 && native_link_pump(&c->l))
        ;
    c->l.hold_up = true;
    native_link_run(&c->l);
    native_link_drop(&c->l);
    expect_failure(c, ALOFT_NATIVE_WHY_CLOSED, ALOFT_ERR_CLOSED);
    assert_true(failure(c)->lost);
    assert_int_equal(failure(c)->phase, ALOFT_NATIVE_PH_DATA);

    connect_real(c, &hc, true);
    native_link_run(&c->l);
    assert_true(c->rec.resumable);   /* the HELLO shows this very image */
    assert_int_equal(c->rec.accepted_at, 131072);
    assert_int_equal(c->rec.first_durable, 131072);   /* progress starts there */
    assert_int_equal(c->src.cur->start, 131072);      /* the source opened there */
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_int_equal(c->up.data, (c->fx.v2_len - 131072 + DATA_BYTES - 1) / DATA_BYTES);
    assert_int_equal(pbkdf2_calls, 1);
}

/* Run the upload to its end with ACKs that come late, 700 bytes a read:
 * the host runs into its window before each one. */
static void run_late_acks(ctx_t *c)
{
    c->l.chunk = 700;
    for (int i = 0; i < 10000 && !(aloft_native_host_state(&c->h) & ALOFT_NATIVE_CLOSED); i++) {
        c->l.hold_down = true;
        native_link_run(&c->l);
        c->l.hold_down = false;
        native_link_pump(&c->l);
    }
    native_link_run(&c->l);
}

static void test_window_respected(void **state)
{
    ctx_t *c = *state;
    c->window = 5000;   /* not a multiple of the frame size */
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    connect_real(c, &hc, false);
    run_late_acks(c);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_non_null(aloft_native_host_result(&c->h));
    assert_true(c->max_flight <= 5000);
    assert_true(c->max_flight > 4092);   /* it did fill the window */
    assert_true(c->up.data > c->fx.v2_len / DATA_BYTES);   /* short frames where it ran out */
}

/* A host window below the device's (aloft upload --window: the ESPHome-like
 * pace with half the device's window) caps what is in flight, and the
 * device's ACK every half window keeps it going. */
static void test_host_window_cap(void **state)
{
    ctx_t *c = *state;
    c->window = 16384;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.window = 8192;
    connect_real(c, &hc, false);
    run_late_acks(c);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_non_null(aloft_native_host_result(&c->h));
    assert_true(c->max_flight <= 8192);
    assert_true(c->max_flight > 8192 - 4092);   /* it did fill its window */
}

static void test_end_without_final_ack(void **state)
{
    ctx_t *c = *state;
    uint8_t fs[20000], sha[32];
    native_source_t src;
    for (size_t i = 0; i < sizeof fs; i++)
        fs[i] = (uint8_t)(i * 13 + (i >> 7));
    aloft_hash_oneshot(SHA, fs, sizeof fs, sha);
    native_source_init(&src, fs, sizeof fs);
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.target = ALOFT_TARGET_FS;
    hc.source = &src.src;
    hc.size = sizeof fs;
    hc.sha256 = sha;
    connect_real(c, &hc, false);
    while (c->rec.count[ALOFT_NATIVE_EV_ACCEPTED] == 0 && native_link_pump(&c->l))
        ;
    c->l.hold_down = true;   /* no ACK reaches the host */
    native_link_run(&c->l);
    assert_true(c->end_seen);   /* the whole image fits the window: END at once */
    assert_int_equal(c->consumed_at_end, 0);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_SENT_ALL], 1);
    c->l.hold_down = false;
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_int_equal(aloft_native_host_result(&c->h)->slot, 0xFF);
    native_source_close(&src);
}

static void test_rollback_real(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t up = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    connect_real(c, &up, true);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_int_equal(simfx_reboot(&c->fx), 0);   /* v2 runs, PENDING_VERIFY */
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_ROLLBACK, "pw");
    connect_real(c, &hc, true);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    const aloft_native_result_t *r = aloft_native_host_result(&c->h);
    assert_int_equal(r->slot, 0);
    assert_string_equal(r->version.s, "1.0.0");
    assert_int_equal(r->reboot, 1);
    assert_int_equal(c->up.count, 2);   /* AUTH, ROLLBACK */
}

/* The soak failure (upload 64 of `make soak`, seed 1: a flip at byte
 * 150228 of each connection): the first connection lost a DATA frame to a
 * flipped payload bit and resumed; on the second the flip landed in a
 * DATA frame's header (flags, or a length above max_payload), which the
 * device answered with ERROR -80 "unexpected message from the peer" as if
 * the host spoke another protocol, and the host gave up. Whether the flip
 * hits a header depends on where the window cut the frames, hence "once".
 * A keyed session's impossible header is corruption like a bad MAC: the
 * device closes without an answer, the host hears a lost connection, and
 * the next one resumes. */
static void run_flipped_connection(ctx_t *c, const aloft_native_host_config_t *hc, int frame,
                                   int pos, uint8_t mask)
{
    connect_real(c, hc, true);
    c->flip_frame = frame;
    c->flip_pos = pos;
    c->flip_mask = mask;
    native_link_run(&c->l);
}

static void test_flipped_header_on_resumed_connection_resumes(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    /* the first connection: a payload bit, well into the image */
    run_flipped_connection(c, &hc, 35, 100, 0x20);
    assert_true(failure(c)->lost);
    assert_int_equal(aloft_native_device_last_error(&c->d), ALOFT_ERR_INTEGRITY);
    const struct { int pos; uint8_t mask; } headers[] = {
        {1, 0x04},   /* flags */
        {2, 0x04},   /* length 4100: above max_payload */
        {3, 0x04},   /* length 5120 */
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        run_flipped_connection(c, &hc, 5, headers[i].pos, headers[i].mask);
        assert_int_equal(c->rec.accepted_at, 131072);   /* it resumed ... */
        assert_int_equal(aloft_native_device_last_error(&c->d), ALOFT_ERR_INTEGRITY);
        assert_false(c->error_down);   /* no ERROR -80: the device just closed */
        expect_failure(c, ALOFT_NATIVE_WHY_CLOSED, ALOFT_ERR_CLOSED);
        assert_true(failure(c)->lost);   /* ... and a lost link resumes again */
        assert_int_equal(failure(c)->phase, ALOFT_NATIVE_PH_DATA);
    }
    connect_real(c, &hc, true);
    native_link_run(&c->l);
    assert_int_equal(c->rec.accepted_at, 131072);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
}

/* The host's side of the same: a device frame corrupted on the way. */
static void down_flip_tap(void *p, bool up, uint8_t *b, size_t n)
{
    ctx_t *c = p;
    for (size_t i = 0; !up && i < n; i++) {
        if (c->down.count == 4 && (int)c->down.pos == c->flip_pos)
            b[i] ^= c->flip_mask;
        native_frames_byte(&c->down, b[i]);
    }
}

static void test_corrupt_device_frame_is_lost(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    const int positions[] = {1, 6, 20};   /* an ACK's flags, its payload, its MAC */
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        connect_real(c, &hc, true);
        c->l.tap = down_flip_tap;
        c->flip_pos = positions[i];
        c->flip_mask = 0x01;
        native_link_run(&c->l);
        expect_failure(c, ALOFT_NATIVE_WHY_CORRUPT, ALOFT_ERR_INTEGRITY);
        assert_true(failure(c)->lost);
        assert_int_equal(aloft_native_device_last_error(&c->d), ALOFT_ERR_CLOSED);
    }
}

/* ---- against the fake device: refusals before anything is sent ------------ */

static void test_not_an_aloft_device(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    fake_start(c, &f, &hc);
    fake_bytes(&f, (const uint8_t *)"SSH-2.0-OpenSSH_9.2\r\n", 21);
    expect_failure(c, ALOFT_NATIVE_WHY_NOT_ALOFT, ALOFT_ERR_PROTO);
    assert_false(failure(c)->lost);

    /* nothing at all: no HELLO after exactly 3 s */
    fake_start(c, &f, &hc);
    fake_bytes(&f, (const uint8_t *)"\x01\x00", 2);
    aloft_native_host_tick(&c->h, f.now + ALOFT_NATIVE_HOST_HELLO_MS - 1);
    assert_false(aloft_native_host_state(&c->h) & ALOFT_NATIVE_CLOSED);
    aloft_native_host_tick(&c->h, f.now + ALOFT_NATIVE_HOST_HELLO_MS);
    expect_failure(c, ALOFT_NATIVE_WHY_NO_HELLO, ALOFT_ERR_TIMEOUT);
    assert_true(failure(c)->lost);

    /* closed before a HELLO (a device serving others) */
    fake_start(c, &f, &hc);
    aloft_native_host_peer_closed(&c->h, f.now);
    expect_failure(c, ALOFT_NATIVE_WHY_NO_HELLO, ALOFT_ERR_CLOSED);

    /* another version */
    fake_start(c, &f, &hc);
    f.hello.version = 2;
    fake_hello(&f);
    expect_failure(c, ALOFT_NATIVE_WHY_VERSION, ALOFT_ERR_PROTO);
    assert_int_equal(failure(c)->have, 2);

    /* busy before the HELLO: the device's own words */
    fake_start(c, &f, &hc);
    aloft_native_msg_t m = {.type = ALOFT_MSG_ERROR};
    m.u.error.code = ALOFT_ERR_BUSY;
    fake_send(&f, &m);
    expect_failure(c, ALOFT_NATIVE_WHY_DEVICE, ALOFT_ERR_BUSY);
    assert_int_equal(failure(c)->phase, ALOFT_NATIVE_PH_HELLO);

    /* a HELLO that stops halfway: the first bytes, then silence */
    fake_start(c, &f, &hc);
    uint8_t fr[ALOFT_NATIVE_FRAME_MAX];
    m.type = ALOFT_MSG_HELLO;
    m.u.hello = f.hello;
    int n = aloft_native_encode(&m, SHA, NULL, 'D', 0, fr, sizeof fr);
    fake_bytes(&f, fr, (size_t)n / 2);
    uint32_t limit = ALOFT_NATIVE_HOST_HELLO_MS + ALOFT_NATIVE_HOST_TIMEOUT_MS;
    aloft_native_host_tick(&c->h, f.now + limit - 1);
    assert_false(aloft_native_host_state(&c->h) & ALOFT_NATIVE_CLOSED);
    aloft_native_host_tick(&c->h, f.now + limit);
    expect_failure(c, ALOFT_NATIVE_WHY_SILENT, ALOFT_ERR_TIMEOUT);
    assert_int_equal(failure(c)->phase, ALOFT_NATIVE_PH_HELLO);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_HELLO], 0);
}

static void test_unusable_hello(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    fake_start(c, &f, &hc);
    f.hello.max_payload = 100;
    fake_hello(&f);
    expect_failure(c, ALOFT_NATIVE_WHY_BAD_HELLO, ALOFT_ERR_PROTO);
    assert_int_equal(failure(c)->have, 100);

    fake_start(c, &f, &hc);
    f.hello.window = 0;
    fake_hello(&f);
    expect_failure(c, ALOFT_NATIVE_WHY_BAD_HELLO, ALOFT_ERR_PROTO);

    const uint32_t iterations[] = {0, ALOFT_NATIVE_HOST_MAX_ITERATIONS + 1};
    for (int i = 0; i < 2; i++) {
        fake_start(c, &f, &hc);
        f.hello.caps |= ALOFT_CAP_AUTH;
        f.hello.kdf_iterations = iterations[i];
        fake_hello(&f);
        expect_failure(c, ALOFT_NATIVE_WHY_ITERATIONS, ALOFT_ERR_PROTO);
        assert_int_equal(failure(c)->have, iterations[i]);
    }
    assert_int_equal(pbkdf2_calls, 0);
}

static void test_needs_a_password(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_msg_t m;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_AUTH;
    fake_hello(&f);
    expect_failure(c, ALOFT_NATIVE_WHY_NEED_PASSWORD, ALOFT_ERR_AUTH);
    assert_int_equal(fake_recv(&f, &m), 0);   /* nothing was sent */

    /* rollback too; info is content with the HELLO */
    hc.op = ALOFT_NATIVE_OP_ROLLBACK;
    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_AUTH;
    fake_hello(&f);
    expect_failure(c, ALOFT_NATIVE_WHY_NEED_PASSWORD, ALOFT_ERR_AUTH);
    hc.op = ALOFT_NATIVE_OP_INFO;
    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_AUTH;
    fake_hello(&f);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_DONE], 1);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
}

static void test_impostor_gets_nothing(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_msg_t m;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_AUTH;
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_AUTH);
    m.type = ALOFT_MSG_AUTH_OK;   /* a signature it cannot know */
    memset(m.u.auth_ok_signature, 0x5a, 32);
    fake_send(&f, &m);
    expect_failure(c, ALOFT_NATIVE_WHY_IMPOSTOR, ALOFT_ERR_AUTH);
    assert_int_equal(fake_recv(&f, &m), 0);   /* no OFFER */
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_AUTH_OK], 0);
}

static void test_rollback_not_to_an_unconfirmed_image(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_msg_t m;
    const uint32_t states[] = {ALOFT_OTA_ABORTED, ALOFT_OTA_INVALID};
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_ROLLBACK, NULL);
    for (int i = 0; i < 2; i++) {
        fake_start(c, &f, &hc);
        f.hello.slots[1].has_image = true;
        f.hello.slots[1].state = states[i];
        fake_hello(&f);
        fake_pull(&f);
        expect_failure(c, ALOFT_NATIVE_WHY_NOT_GOOD, ALOFT_ERR_NO_BOOTABLE);
        assert_int_equal(failure(c)->have, 1);
        assert_int_equal(fake_recv(&f, &m), 0);   /* no ROLLBACK */
    }
    /* a RESULT that names no slot of the device */
    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_ROLLBACK);
    fake_result(&f, 2);
    expect_failure(c, ALOFT_NATIVE_WHY_BAD_SLOT, ALOFT_ERR_PROTO);
}

static void test_offer_limits(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_msg_t m;
    uint8_t block[225];
    memset(block, 0xAB, sizeof block);
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.sig_block = block;
    hc.sig_block_len = sizeof block;   /* one more than a block can be */
    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_pull(&f);
    expect_failure(c, ALOFT_NATIVE_WHY_SIG_TOO_LONG, ALOFT_ERR_SIGNATURE);
    assert_int_equal(fake_recv(&f, &m), 0);

    hc.sig_block_len = 224;   /* fits a block, not the device's frames */
    fake_start(c, &f, &hc);
    f.hello.max_payload = 128;
    fake_hello(&f);
    fake_pull(&f);
    expect_failure(c, ALOFT_NATIVE_WHY_OFFER_TOO_BIG, ALOFT_ERR_PROTO);
    assert_int_equal(failure(c)->want, 128);
    assert_int_equal(fake_recv(&f, &m), 0);

    /* a small device frame size: DATA follows it */
    hc.sig_block_len = 0;
    fake_start(c, &f, &hc);
    f.hello.max_payload = 128;
    f.hello.window = 1000;
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_OFFER);
    fake_accept(&f, 0, 0);   /* window 0: the HELLO's */
    m = fake_expect(&f, ALOFT_MSG_DATA);
    assert_int_equal(m.u.data.len, 124);
}

static void test_no_deflate_reasons(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_msg_t m;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.compress = true;
    fake_start(c, &f, &hc);   /* no cap DEFLATE */
    fake_hello(&f);
    m = fake_expect(&f, ALOFT_MSG_OFFER);
    assert_int_equal(m.u.offer.encoding, ALOFT_ENC_RAW);
    assert_int_equal(c->rec.raw_why, ALOFT_NATIVE_RAW_NO_CAP);

    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_DEFLATE;
    f.hello.inflate_window_bits = 8;
    fake_hello(&f);
    assert_int_equal(fake_expect(&f, ALOFT_MSG_OFFER).u.offer.encoding, ALOFT_ENC_RAW);
    assert_int_equal(c->rec.raw_why, ALOFT_NATIVE_RAW_WINDOW);
    assert_int_equal(c->rec.raw_have, 8);

    /* an image that does not shrink */
    uint8_t noise[5000], sha[32];
    uint32_t x = 12345;
    native_source_t src;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
    native_source_init(&src, noise, sizeof noise);
    aloft_hash_oneshot(SHA, noise, sizeof noise, sha);
    aloft_native_host_config_t nc = hc;
    nc.source = &src.src;
    nc.size = sizeof noise;
    nc.sha256 = sha;
    fake_start(c, &f, &nc);
    f.hello.caps |= ALOFT_CAP_DEFLATE;
    fake_hello(&f);
    assert_int_equal(fake_expect(&f, ALOFT_MSG_OFFER).u.offer.encoding, ALOFT_ENC_RAW);
    assert_int_equal(c->rec.raw_why, ALOFT_NATIVE_RAW_NO_GAIN);
    assert_true(c->rec.raw_have >= sizeof noise);
    native_source_close(&src);

    /* it does: zlib at the device's window (15 at most), and no event */
    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_DEFLATE;
    f.hello.inflate_window_bits = 16;
    fake_hello(&f);
    assert_int_equal(fake_expect(&f, ALOFT_MSG_OFFER).u.offer.encoding, ALOFT_ENC_DEFLATE);
    fake_accept(&f, 0, 0);
    assert_int_equal(c->rec.bits, 15);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_NO_DEFLATE], 0);

    /* not asked to: raw without a word */
    hc.compress = false;
    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_DEFLATE;
    fake_hello(&f);
    assert_int_equal(fake_expect(&f, ALOFT_MSG_OFFER).u.offer.encoding, ALOFT_ENC_RAW);
    assert_int_equal(c->rec.count[ALOFT_NATIVE_EV_NO_DEFLATE], 0);
}

/* ---- timeouts, by tick --------------------------------------------------- */

/* Nothing until exactly ms after `since`, then SILENT in phase. */
static void expect_silent_after(ctx_t *c, uint32_t since, uint32_t ms, aloft_native_phase_t phase)
{
    aloft_native_host_tick(&c->h, since + ms - 1);
    assert_false(aloft_native_host_state(&c->h) & ALOFT_NATIVE_CLOSED);
    aloft_native_host_tick(&c->h, since + ms);
    expect_failure(c, ALOFT_NATIVE_WHY_SILENT, ALOFT_ERR_TIMEOUT);
    assert_true(failure(c)->lost);
    assert_int_equal(failure(c)->phase, phase);
    assert_int_equal(failure(c)->have, ms);
}

static void test_timeouts(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_msg_t m;
    /* the login's answer */
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    fake_start(c, &f, &hc);
    f.hello.caps |= ALOFT_CAP_AUTH;
    f.hello.kdf_iterations = 1;
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_AUTH);
    expect_silent_after(c, f.now, ALOFT_NATIVE_HOST_TIMEOUT_MS, ALOFT_NATIVE_PH_LOGIN);

    /* the ACCEPT: 30 s (a resume re-reads the prefix) */
    hc.password = NULL;
    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_OFFER);
    expect_silent_after(c, f.now, ALOFT_NATIVE_HOST_ACCEPT_MS, ALOFT_NATIVE_PH_OFFER);

    /* ACK silence with data unconsumed (the window is full) */
    fake_to_data(c, &f, 10000);
    while (fake_recv(&f, &m))
        ;
    f.now += 2000;
    fake_ack(&f, 4092, 0);   /* the silence counts from the last frame heard */
    while (fake_recv(&f, &m))
        ;
    expect_silent_after(c, f.now, ALOFT_NATIVE_HOST_TIMEOUT_MS, ALOFT_NATIVE_PH_DATA);
    assert_int_equal(failure(c)->want, 1);

    /* END sent, data unconsumed: still the ACK's 10 s */
    fake_to_data(c, &f, 1u << 20);
    while (fake_recv(&f, &m))
        ;
    assert_int_equal(aloft_native_host_failure(&c->h)->why, ALOFT_NATIVE_WHY_NONE);
    expect_silent_after(c, f.now, ALOFT_NATIVE_HOST_TIMEOUT_MS, ALOFT_NATIVE_PH_RESULT);
    assert_int_equal(failure(c)->want, 1);

    /* all consumed: the RESULT may take 60 s (verify, activate) */
    fake_to_data(c, &f, 1u << 20);
    while (fake_recv(&f, &m))
        ;
    fake_ack(&f, sizeof c->small, sizeof c->small);
    expect_silent_after(c, f.now, ALOFT_NATIVE_HOST_RESULT_MS, ALOFT_NATIVE_PH_RESULT);
    assert_int_equal(failure(c)->want, 0);

    /* the ROLLBACK's RESULT: 30 s */
    hc.op = ALOFT_NATIVE_OP_ROLLBACK;
    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_ROLLBACK);
    expect_silent_after(c, f.now, ALOFT_NATIVE_HOST_ACCEPT_MS, ALOFT_NATIVE_PH_ROLLBACK);

    /* and across the 32-bit wrap */
    hc.op = ALOFT_NATIVE_OP_UPLOAD;
    fake_start(c, &f, &hc);
    f.now = 0xFFFFF000u;
    assert_int_equal(aloft_native_host_init(&c->h, &hc, f.now), 0);
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_OFFER);
    expect_silent_after(c, f.now, ALOFT_NATIVE_HOST_ACCEPT_MS, ALOFT_NATIVE_PH_OFFER);
}

/* ---- a device that lies ---------------------------------------------------- */

static void test_device_lies(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    aloft_native_msg_t m;
    uint32_t size = sizeof c->small;

    fake_to_data(c, &f, 4092);   /* one frame in flight */
    fake_expect(&f, ALOFT_MSG_DATA);
    fake_ack(&f, 4093, 0);   /* more than was sent */
    expect_failure(c, ALOFT_NATIVE_WHY_BAD_ACK, ALOFT_ERR_PROTO);
    assert_int_equal(failure(c)->have, 4093);
    assert_int_equal(failure(c)->want, 4092);

    fake_to_data(c, &f, 8184);
    fake_expect(&f, ALOFT_MSG_DATA);
    fake_expect(&f, ALOFT_MSG_DATA);
    fake_ack(&f, 8000, 0);
    fake_ack(&f, 7999, 0);   /* going back */
    expect_failure(c, ALOFT_NATIVE_WHY_BAD_ACK, ALOFT_ERR_PROTO);

    fake_to_data(c, &f, 4092);
    fake_expect(&f, ALOFT_MSG_DATA);
    fake_ack(&f, 10, size + 1);   /* durable beyond the image */
    expect_failure(c, ALOFT_NATIVE_WHY_BAD_ACK, ALOFT_ERR_PROTO);
    assert_int_equal(failure(c)->aux, size + 1);

    fake_to_data(c, &f, 32768);
    fake_result(&f, 1);   /* before END */
    expect_failure(c, ALOFT_NATIVE_WHY_EARLY_RESULT, ALOFT_ERR_PROTO);

    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_OFFER);
    fake_accept(&f, (uint32_t)c->fx.v2_len + 1, 0);   /* beyond the image */
    expect_failure(c, ALOFT_NATIVE_WHY_BAD_ACCEPT, ALOFT_ERR_PROTO);

    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_accept(&f, 0, 0);   /* before the OFFER went out */
    expect_failure(c, ALOFT_NATIVE_WHY_UNEXPECTED, ALOFT_ERR_PROTO);
    assert_int_equal(failure(c)->have, ALOFT_MSG_ACCEPT);

    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_OFFER);
    m.type = ALOFT_MSG_AUTH_OK;   /* no login was asked for */
    memset(m.u.auth_ok_signature, 0, 32);
    fake_send(&f, &m);
    expect_failure(c, ALOFT_NATIVE_WHY_UNEXPECTED, ALOFT_ERR_PROTO);

    fake_start(c, &f, &hc);
    fake_hello(&f);
    fake_expect(&f, ALOFT_MSG_OFFER);
    fake_result(&f, 1);   /* a RESULT for an OFFER */
    expect_failure(c, ALOFT_NATIVE_WHY_UNEXPECTED, ALOFT_ERR_PROTO);

    /* a good MAC on a payload that is not an ACK */
    fake_to_data(c, &f, 32768);
    fake_frame(&f, ALOFT_MSG_ACK, (const uint8_t *)"abc", 3);
    expect_failure(c, ALOFT_NATIVE_WHY_MALFORMED, ALOFT_ERR_PROTO);

    /* a bad MAC: corruption, a new connection may continue */
    fake_to_data(c, &f, 32768);
    f.key[0] ^= 1;
    fake_ack(&f, 0, 0);
    expect_failure(c, ALOFT_NATIVE_WHY_CORRUPT, ALOFT_ERR_INTEGRITY);
    assert_true(failure(c)->lost);

    /* an ERROR whose code is not an error */
    fake_to_data(c, &f, 32768);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ERROR;
    m.u.error.code = 5;
    fake_send(&f, &m);
    expect_failure(c, ALOFT_NATIVE_WHY_DEVICE, ALOFT_ERR_PROTO);
    assert_int_equal(failure(c)->device.code, 5);
}

static void test_failure_is_sticky(void **state)
{
    ctx_t *c = *state;
    fake_t f;
    size_t n;
    fake_to_data(c, &f, 32768);
    fake_result(&f, 1);
    expect_failure(c, ALOFT_NATIVE_WHY_EARLY_RESULT, ALOFT_ERR_PROTO);
    aloft_native_host_rx_buf(&c->h, &n);
    assert_int_equal(n, 0);
    aloft_native_host_tx_buf(&c->h, &n);
    assert_int_equal(n, 0);
    assert_int_equal(aloft_native_host_step(&c->h, f.now), 0);
    aloft_native_host_tick(&c->h, f.now + 100000);
    aloft_native_host_peer_closed(&c->h, f.now);
    aloft_native_host_rx_ack(&c->h, f.now, 10);
    assert_int_equal(aloft_native_host_state(&c->h), ALOFT_NATIVE_CLOSED);
    expect_failure(c, ALOFT_NATIVE_WHY_EARLY_RESULT, ALOFT_ERR_PROTO);   /* one event, unchanged */
    assert_null(aloft_native_host_result(&c->h));
}

static void test_init_checks_its_config(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    aloft_crypto_t no_random = aloft_mbedtls_crypto;
    no_random.random = NULL;
    assert_int_equal(aloft_native_host_init(&c->h, NULL, 0), ALOFT_ERR_ARG);
    hc.crypto = &no_random;
    assert_int_equal(aloft_native_host_init(&c->h, &hc, 0), ALOFT_ERR_ARG);
    hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.source = NULL;
    assert_int_equal(aloft_native_host_init(&c->h, &hc, 0), ALOFT_ERR_ARG);
    hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.size = 0;
    assert_int_equal(aloft_native_host_init(&c->h, &hc, 0), ALOFT_ERR_ARG);
    hc = host_cfg(c, ALOFT_NATIVE_OP_UPLOAD, NULL);
    hc.sha256 = NULL;
    assert_int_equal(aloft_native_host_init(&c->h, &hc, 0), ALOFT_ERR_ARG);
    hc = host_cfg(c, ALOFT_NATIVE_OP_INFO, NULL);
    hc.source = NULL;   /* info needs no image */
    hc.size = 0;
    assert_int_equal(aloft_native_host_init(&c->h, &hc, 0), ALOFT_OK);
    assert_int_equal(aloft_native_host_state(&c->h), ALOFT_NATIVE_WANT_RX);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_upload_events_in_order),
        T(test_keys_derived_once),
        T(test_resume_offset_and_source),
        T(test_window_respected),
        T(test_host_window_cap),
        T(test_end_without_final_ack),
        T(test_rollback_real),
        T(test_flipped_header_on_resumed_connection_resumes),
        T(test_corrupt_device_frame_is_lost),
        T(test_not_an_aloft_device),
        T(test_unusable_hello),
        T(test_needs_a_password),
        T(test_impostor_gets_nothing),
        T(test_rollback_not_to_an_unconfirmed_image),
        T(test_offer_limits),
        T(test_no_deflate_reasons),
        T(test_timeouts),
        T(test_device_lies),
        T(test_failure_is_sticky),
        T(test_init_checks_its_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
