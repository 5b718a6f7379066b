/*
 * tests/unit/test_native_device.c — the native protocol's device engine,
 * driven in-process (no sockets) against a simulated device by a tiny host
 * made of the same codec and login functions the real host uses: full
 * uploads raw and zlib, login failures and the rate limiter, tampered,
 * replayed and injected frames, a second connection, timeouts across the
 * 32-bit wrap, refusals before any flash operation, erase-ahead with
 * keepalive ACKs, and resuming a dropped transfer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "aloft/native_device.h"
#include "crypto_mbedtls.h"
#include "inflate_zlib.h"
#include "sim_fixture.h"

#define HOST_IP 0xC0A80132u   /* 192.168.1.50 */
#define OTHER_IP 0xC0A80133u
#define ITERATIONS 1000u      /* quick logins; the simulator uses 10000 */
#define APP0 0x10000u
#define APP_SIZE 0x140000u
#define OTADATA 0xE000u

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;

typedef struct ctx {
    sim_fixture_t fx;
    aloft_native_verifier_t v;
    uint8_t client_key[32], wrong_key[32];   /* from the right and a wrong password */
    aloft_native_limiter_t limiter;
    inflate_zlib_t zst;
    aloft_inflate_t z;
    uint8_t v2_sha[32];
    uint8_t *snap;                            /* flash before the test acted */
    int paused, resumed;
    uint32_t now;
} ctx_t;

/* The in-test host: one connection to one engine. */
typedef struct host {
    ctx_t *c;
    aloft_native_device_t *d;
    size_t chunk;                             /* bytes per rx_ack */
    bool lazy;                                /* push does not settle (no erase-ahead) */
    uint8_t in[8192];
    size_t in_len;
    bool keyed;
    uint8_t key[32];
    uint32_t tx_seq, rx_seq;
    uint8_t hello_payload[ALOFT_NATIVE_MAX_PAYLOAD];
    size_t hello_len;
    aloft_native_hello_t hello;
    uint32_t consumed, durable;
    int acks;
    uint8_t last[ALOFT_NATIVE_FRAME_MAX];     /* the last frame sent, for replays */
    size_t last_len;
} host_t;

static void on_pause(void *p) { ((ctx_t *)p)->paused++; }
static void on_resume(void *p) { ((ctx_t *)p)->resumed++; }

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    uint8_t salt[16];
    for (int i = 0; i < 16; i++)
        salt[i] = (uint8_t)(0xA0 + i);
    if (simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 60000, 200000) != 0)
        return -1;
    aloft_quiesce_add(&c->fx.sim.quiesce, "app", on_pause, on_resume, c);
    aloft_native_derive(&aloft_mbedtls_crypto, "hunter2", salt, ITERATIONS, &c->v, c->client_key);
    aloft_native_verifier_t wrong;
    aloft_native_derive(&aloft_mbedtls_crypto, "hunter3", salt, ITERATIONS, &wrong, c->wrong_key);
    inflate_zlib_init(&c->z, &c->zst, 12);
    aloft_hash_oneshot(SHA, c->fx.v2, c->fx.v2_len, c->v2_sha);
    c->snap = simfx_snapshot(&c->fx);
    c->now = 1000;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    c->z.end(c->z.ctx);
    free(c->snap);
    simfx_teardown(&c->fx);
    free(c);
    return 0;
}

static uint64_t flash_ops(const ctx_t *c)
{
    return c->fx.sim.nor.count.erases + c->fx.sim.nor.count.progs;
}

/* The running firmware and otadata are as they were at setup. */
static void assert_untouched(const ctx_t *c)
{
    assert_true(simfx_same(&c->fx, c->snap, APP0, APP_SIZE));
    assert_true(simfx_same(&c->fx, c->snap, OTADATA, 0x2000));
}

/* ------------------------------------------------------------------ */
/* Moving bytes. */

static void pull(host_t *h)
{
    size_t n;
    const uint8_t *p = aloft_native_device_tx_buf(h->d, &n);
    assert_true(h->in_len + n <= sizeof h->in);
    memcpy(h->in + h->in_len, p, n);
    h->in_len += n;
    aloft_native_device_tx_ack(h->d, n);
}

/* Let the engine finish what it has (frames, data pieces, erase-ahead). */
static void settle(host_t *h)
{
    while (aloft_native_device_state(h->d) & ALOFT_NATIVE_WANT_STEP) {
        aloft_native_device_step(h->d, h->c->now);
        pull(h);
    }
}

/* Bytes from the host, handed over in pieces of h->chunk. */
static void push(host_t *h, const uint8_t *p, size_t n)
{
    while (n > 0 && !(aloft_native_device_state(h->d) & ALOFT_NATIVE_CLOSED)) {
        size_t space;
        uint8_t *buf = aloft_native_device_rx_buf(h->d, &space);
        if (space == 0) {
            assert_int_equal(aloft_native_device_step(h->d, h->c->now), 1);
            pull(h);
            continue;
        }
        size_t k = n < space ? n : space;
        if (k > h->chunk)
            k = h->chunk;
        memcpy(buf, p, k);
        aloft_native_device_rx_ack(h->d, h->c->now, k);
        pull(h);
        p += k;
        n -= k;
    }
    if (!h->lazy)
        settle(h);
}

static void send_msg(host_t *h, const aloft_native_msg_t *m)
{
    int n = aloft_native_encode(m, SHA, h->keyed ? h->key : NULL, 'H', h->tx_seq, h->last,
                                sizeof h->last);
    assert_true(n > 0);
    if (h->keyed)
        h->tx_seq++;
    h->last_len = (size_t)n;
    push(h, h->last, h->last_len);
}

/* The next frame from the device other than ACK (ACKs update the host's
 * view). Returns 1 with *m, or 0 if none is there. */
static int recv_msg(host_t *h, aloft_native_msg_t *m)
{
    for (;;) {
        pull(h);
        int n = aloft_native_frame_len(h->in, h->in_len, h->keyed, ALOFT_NATIVE_MAX_PAYLOAD);
        assert_true(n >= 0);
        if (n == 0)
            return 0;
        /* An ERROR answering AUTH comes before the key exists. */
        bool mac = h->keyed;
        assert_int_equal(aloft_native_decode(h->in, (size_t)n, SHA, mac ? h->key : NULL, 'D',
                                             h->rx_seq, m),
                         0);
        if (mac)
            h->rx_seq++;
        if (m->type == ALOFT_MSG_HELLO) {
            h->hello_len = (size_t)n - ALOFT_NATIVE_HEADER_LEN;
            memcpy(h->hello_payload, h->in + ALOFT_NATIVE_HEADER_LEN, h->hello_len);
            h->hello = m->u.hello;
        }
        memmove(h->in, h->in + n, h->in_len - (size_t)n);
        h->in_len -= (size_t)n;
        if (m->type != ALOFT_MSG_ACK)
            return 1;
        assert_true(m->u.ack.consumed >= h->consumed);
        assert_true(m->u.ack.durable >= h->durable);
        h->consumed = m->u.ack.consumed;
        h->durable = m->u.ack.durable;
        h->acks++;
    }
}

static aloft_native_msg_t expect_msg(host_t *h, uint8_t type)
{
    aloft_native_msg_t m;
    assert_int_equal(recv_msg(h, &m), 1);
    assert_int_equal(m.type, type);
    return m;
}

static void expect_error(host_t *h, int code)
{
    aloft_native_msg_t m = expect_msg(h, ALOFT_MSG_ERROR);
    assert_int_equal(m.u.error.code, code);
    assert_true(aloft_native_device_state(h->d) & ALOFT_NATIVE_CLOSED);
}

static void expect_closed_silently(host_t *h)
{
    aloft_native_msg_t m;
    assert_int_equal(recv_msg(h, &m), 0);
    assert_true(aloft_native_device_state(h->d) & ALOFT_NATIVE_CLOSED);
    assert_false(aloft_native_device_state(h->d) & ALOFT_NATIVE_REBOOT);
}

/* ------------------------------------------------------------------ */
/* Sessions. */

enum { OPEN = 0, PASSWORD = 1, DEFLATE = 2 };

/* Start an engine for a connection from ip and read its HELLO. */
static void connect_to(ctx_t *c, host_t *h, aloft_native_device_t *d, int opts, uint32_t ip)
{
    aloft_native_device_config_t cfg = {
        .dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
        .verifier = (opts & PASSWORD) ? &c->v : NULL, .inflate = (opts & DEFLATE) ? &c->z : NULL,
        .name = "test-device", .limiter = &c->limiter, .open = !(opts & PASSWORD)};
    memset(h, 0, sizeof *h);
    h->c = c;
    h->d = d;
    h->chunk = 1000;   /* frames arrive split across reads */
    assert_int_equal(aloft_native_device_init(d, &cfg, ip, c->now), 0);
    expect_msg(h, ALOFT_MSG_HELLO);
}

/* Log in with client_key (the host's side of PROTOCOL.md §2.4). */
static void send_auth(host_t *h, const uint8_t client_key[32], uint8_t am[32])
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_AUTH;
    memset(m.u.auth.nonce, 0x5a, 32);
    aloft_native_auth_message(SHA, h->hello_payload, h->hello_len, m.u.auth.nonce, am);
    aloft_native_client_proof(SHA, client_key, am, m.u.auth.proof);
    send_msg(h, &m);
}

static void login(host_t *h)
{
    uint8_t am[32];
    ctx_t *c = h->c;
    if (!(h->hello.caps & ALOFT_CAP_AUTH)) {   /* open device: zero key and nonce */
        static const uint8_t zero[32];
        aloft_native_auth_message(SHA, h->hello_payload, h->hello_len, zero, am);
        aloft_native_session_key(SHA, zero, am, h->key);
        h->keyed = true;
        return;
    }
    send_auth(h, c->client_key, am);
    aloft_native_msg_t m = expect_msg(h, ALOFT_MSG_AUTH_OK);
    assert_int_equal(aloft_native_host_keys(SHA, c->v.server_key, c->client_key, am,
                                            m.u.auth_ok_signature, h->key),
                     0);
    h->keyed = true;
}

static void send_offer_to(host_t *h, uint8_t target, uint32_t size, const uint8_t sha[32],
                          uint8_t encoding, uint8_t flags)
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.target = target;
    m.u.offer.encoding = encoding;
    m.u.offer.flags = flags;
    m.u.offer.size = size;
    memcpy(m.u.offer.sha256, sha, 32);
    m.u.offer.project.len = 4;
    memcpy(m.u.offer.project.s, "demo", 5);
    m.u.offer.version.len = 5;
    memcpy(m.u.offer.version.s, "2.0.0", 6);
    send_msg(h, &m);
}

static void send_offer(host_t *h, uint32_t size, const uint8_t sha[32], uint8_t encoding,
                       uint8_t flags)
{
    send_offer_to(h, 0, size, sha, encoding, flags);
}

static void send_data(host_t *h, uint32_t offset, const uint8_t *p, size_t n)
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_DATA;
    m.u.data.offset = offset;
    m.u.data.data = p;
    m.u.data.len = (uint16_t)n;
    send_msg(h, &m);
}

/* Send stream[from, to) in DATA frames, never more than window unconsumed:
 * the device must ACK in time for the host to go on. */
static void stream_part(host_t *h, const uint8_t *s, size_t from, size_t to, uint32_t window)
{
    for (size_t sent = from; sent < to;) {
        size_t n = to - sent < 4092 ? to - sent : 4092;
        aloft_native_msg_t m;
        while (recv_msg(h, &m) == 1)
            fail_msg("unexpected message type 0x%02x during DATA", m.type);
        assert_true(sent + n - h->consumed <= window);
        send_data(h, (uint32_t)sent, s + sent, n);
        sent += n;
    }
}

static aloft_native_msg_t send_end(host_t *h, uint32_t stream_len)
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_END;
    m.u.end.stream_len = stream_len;
    send_msg(h, &m);
    assert_int_equal(recv_msg(h, &m), 1);
    return m;
}

/* OFFER v2 and read the ACCEPT; returns its offset. */
static uint32_t offer_v2(host_t *h, uint8_t encoding)
{
    ctx_t *c = h->c;
    send_offer(h, (uint32_t)c->fx.v2_len, c->v2_sha, encoding, 0);
    aloft_native_msg_t m = expect_msg(h, ALOFT_MSG_ACCEPT);
    assert_int_equal(m.u.accept.window, ALOFT_NATIVE_WINDOW_DEFAULT);
    return m.u.accept.offset;
}

/* RESULT, the engine closed with REBOOT, and v2 boots after the restart. */
static void expect_result_and_boot_v2(host_t *h, aloft_native_msg_t m)
{
    ctx_t *c = h->c;
    assert_int_equal(m.type, ALOFT_MSG_RESULT);
    assert_int_equal(m.u.result.slot, 1);
    assert_string_equal(m.u.result.version.s, "2.0.0");
    assert_int_equal(m.u.result.reboot, 1);
    unsigned st = aloft_native_device_state(h->d);
    assert_true(st & ALOFT_NATIVE_CLOSED);
    assert_true(st & ALOFT_NATIVE_REBOOT);
    assert_false(st & ALOFT_NATIVE_HAS_TX);
    assert_int_equal(aloft_native_device_last_error(h->d), 0);
    assert_int_equal(c->paused, 1);
    assert_int_equal(c->resumed, 1);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
    assert_int_equal(c->fx.sim.boot.slot, 1);
}

static uint8_t *zlib_compress(const uint8_t *p, size_t n, int bits, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n);
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

/* ------------------------------------------------------------------ */
/* Tests. */

static void test_hello_describes_the_device(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    connect_to(c, &h, &d, PASSWORD | DEFLATE, HOST_IP);
    const aloft_native_hello_t *hi = &h.hello;
    assert_int_equal(hi->version, 1);
    assert_int_equal(hi->caps, ALOFT_CAP_AUTH | ALOFT_CAP_DEFLATE | ALOFT_CAP_RESUME);
    assert_int_equal(hi->chip_id, ALOFT_CHIP_ESP32);
    assert_int_equal(hi->flash_size, 0x400000);
    assert_int_equal(hi->window, ALOFT_NATIVE_WINDOW_DEFAULT);
    assert_int_equal(hi->max_payload, ALOFT_NATIVE_MAX_PAYLOAD);
    assert_int_equal(hi->inflate_window_bits, 12);
    assert_int_equal(hi->kdf_iterations, ITERATIONS);
    assert_memory_equal(hi->salt, c->v.salt, 16);
    assert_string_equal(hi->name.s, "test-device");
    assert_int_equal(hi->running_slot, 0);
    assert_int_equal(hi->nslots, 2);
    assert_string_equal(hi->slots[0].label.s, "app0");
    assert_int_equal(hi->slots[0].size, APP_SIZE);
    assert_int_equal(hi->slots[0].state, ALOFT_OTA_VALID);   /* written by the first boot */
    assert_true(hi->slots[0].has_image);
    assert_string_equal(hi->slots[0].project.s, "demo");
    assert_string_equal(hi->slots[0].version.s, "1.0.0");
    assert_memory_equal(hi->slots[0].sha256, c->fx.sim.boot.info.desc.app_elf_sha256, 32);
    assert_string_equal(hi->slots[1].label.s, "app1");
    assert_int_equal(hi->slots[1].state, ALOFT_OTA_UNDEFINED);
    assert_false(hi->slots[1].has_image);
    assert_false(hi->has_resume);

    /* a fresh nonce for every connection */
    aloft_native_device_t d2;
    host_t h2;
    connect_to(c, &h2, &d2, OPEN, HOST_IP);
    assert_memory_not_equal(h2.hello.nonce, hi->nonce, 32);
    assert_int_equal(h2.hello.caps, ALOFT_CAP_RESUME);
    assert_int_equal(h2.hello.kdf_iterations, 0);
    assert_int_equal(h2.hello.inflate_window_bits, 0);
}

static void test_full_upload_raw_with_password(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    uint64_t ops = flash_ops(c);
    login(&h);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);   /* paused only once the OFFER is accepted */
    assert_int_equal(offer_v2(&h, ALOFT_ENC_RAW), 0);
    assert_int_equal(c->paused, 1);
    stream_part(&h, c->fx.v2, 0, c->fx.v2_len, ALOFT_NATIVE_WINDOW_DEFAULT);
    aloft_native_msg_t m = send_end(&h, (uint32_t)c->fx.v2_len);
    /* at least one ACK per half window, and the durable marks */
    assert_true(h.acks >= (int)(c->fx.v2_len / (ALOFT_NATIVE_WINDOW_DEFAULT / 2)));
    assert_int_equal(h.durable, 196608);   /* three 64 KiB journal marks */
    expect_result_and_boot_v2(&h, m);
}

static void test_full_upload_deflate_open_device(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    size_t zlen;
    connect_to(c, &h, &d, OPEN | DEFLATE, HOST_IP);
    assert_false(h.hello.caps & ALOFT_CAP_AUTH);
    assert_true(h.hello.caps & ALOFT_CAP_DEFLATE);
    uint8_t *z = zlib_compress(c->fx.v2, c->fx.v2_len, h.hello.inflate_window_bits, &zlen);
    assert_true(zlen < c->fx.v2_len);
    login(&h);
    assert_int_equal(offer_v2(&h, ALOFT_ENC_DEFLATE), 0);
    h.chunk = 4116;   /* whole frames: each inflates in several pieces */
    stream_part(&h, z, 0, zlen, ALOFT_NATIVE_WINDOW_DEFAULT);
    aloft_native_msg_t m = send_end(&h, (uint32_t)zlen);
    free(z);
    expect_result_and_boot_v2(&h, m);
}

static void test_deflate_window_too_large_is_refused(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    size_t zlen;
    connect_to(c, &h, &d, OPEN | DEFLATE, HOST_IP);
    uint8_t *z = zlib_compress(c->fx.v2, c->fx.v2_len, 15, &zlen);   /* device allows 12 */
    login(&h);
    offer_v2(&h, ALOFT_ENC_DEFLATE);
    send_data(&h, 0, z, 4092);
    free(z);
    expect_error(&h, ALOFT_ERR_DECODE);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);
}

static void test_wrong_password_touches_nothing(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    uint8_t am[32];
    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    uint64_t ops = flash_ops(c);
    send_auth(&h, c->wrong_key, am);
    aloft_native_msg_t m = expect_msg(&h, ALOFT_MSG_ERROR);   /* no MAC: there is no key */
    assert_int_equal(m.u.error.code, ALOFT_ERR_AUTH);
    assert_string_equal(m.u.error.text.s, aloft_strerror(ALOFT_ERR_AUTH));
    assert_true(aloft_native_device_state(&d) & ALOFT_NATIVE_CLOSED);
    assert_int_equal(aloft_native_device_last_error(&d), ALOFT_ERR_AUTH);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);

    /* nor can an OFFER skip the login */
    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    send_offer(&h, (uint32_t)c->fx.v2_len, c->v2_sha, 0, 0);
    expect_error(&h, ALOFT_ERR_PROTO);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);
}

/* One login attempt from ip with client_key; returns the ERROR code or 0
 * for AUTH_OK. */
static int attempt(ctx_t *c, uint32_t ip, const uint8_t client_key[32], uint32_t *have)
{
    aloft_native_device_t d;
    host_t h;
    uint8_t am[32];
    aloft_native_msg_t m;
    connect_to(c, &h, &d, PASSWORD, ip);
    send_auth(&h, client_key, am);
    assert_int_equal(recv_msg(&h, &m), 1);
    if (have)
        *have = m.type == ALOFT_MSG_ERROR ? m.u.error.have : 0;
    return m.type == ALOFT_MSG_AUTH_OK ? 0 : m.u.error.code;
}

static void test_rate_limit_per_peer(void **state)
{
    ctx_t *c = *state;
    uint32_t have;
    assert_int_equal(attempt(c, HOST_IP, c->wrong_key, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, c->wrong_key, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, c->wrong_key, NULL), ALOFT_ERR_AUTH);
    /* third failure in a row: 1 s lockout, refused before the proof is
     * checked (the right password does not help) */
    assert_int_equal(attempt(c, HOST_IP, c->client_key, &have), ALOFT_ERR_RATE);
    assert_int_equal(have, 1);
    assert_int_equal(attempt(c, OTHER_IP, c->client_key, NULL), 0);   /* others are not locked */
    c->now += 999;
    assert_int_equal(attempt(c, HOST_IP, c->client_key, NULL), ALOFT_ERR_RATE);
    c->now += 1;
    /* a fourth failure doubles the wait */
    assert_int_equal(attempt(c, HOST_IP, c->wrong_key, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, c->client_key, &have), ALOFT_ERR_RATE);
    assert_int_equal(have, 2);
    c->now += 2000;
    assert_int_equal(attempt(c, HOST_IP, c->client_key, NULL), 0);
    /* a success forgets the failures */
    assert_int_equal(attempt(c, HOST_IP, c->wrong_key, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, c->wrong_key, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, c->client_key, NULL), 0);
    /* the wait is capped at 60 s */
    for (int i = 0; i < 12; i++) {
        assert_int_equal(attempt(c, HOST_IP, c->wrong_key, NULL), ALOFT_ERR_AUTH);
        c->now += 60000;
    }
    c->now -= 60000;
    assert_int_equal(attempt(c, HOST_IP, c->client_key, &have), ALOFT_ERR_RATE);
    assert_int_equal(have, 60);
    assert_int_equal(c->paused, 0);
}

/* Start an upload of v2 and send its first 20000 bytes. */
static void start_upload(ctx_t *c, host_t *h, aloft_native_device_t *d, int opts)
{
    connect_to(c, h, d, opts, HOST_IP);
    login(h);
    assert_int_equal(offer_v2(h, ALOFT_ENC_RAW), 0);
    stream_part(h, c->fx.v2, 0, 20000, ALOFT_NATIVE_WINDOW_DEFAULT);
}

static void expect_tamper_rejected(ctx_t *c, host_t *h)
{
    expect_closed_silently(h);
    assert_int_equal(aloft_native_device_last_error(h->d), ALOFT_ERR_AUTH);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "1.0.0");
}

static void test_flipped_bit_is_rejected(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    start_upload(c, &h, &d, PASSWORD);
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_DATA;
    m.u.data.offset = 20000;
    m.u.data.data = c->fx.v2 + 20000;
    m.u.data.len = 4092;
    int n = aloft_native_encode(&m, SHA, h.key, 'H', h.tx_seq, frame, sizeof frame);
    frame[1000] ^= 0x10;   /* in the image bytes */
    uint32_t received = c->fx.sim.update.received;
    push(&h, frame, (size_t)n);
    assert_int_equal(c->fx.sim.update.received, received);   /* not a byte of it fed */
    expect_tamper_rejected(c, &h);
}

static void test_replayed_frame_is_rejected(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    start_upload(c, &h, &d, PASSWORD);
    push(&h, h.last, h.last_len);   /* the last DATA frame once more */
    expect_tamper_rejected(c, &h);
}

static void test_injected_frame_is_rejected(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    uint8_t frame[64], guess[32];
    start_upload(c, &h, &d, PASSWORD);
    /* an attacker on the path writes an END with its own key */
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_END;
    m.u.end.stream_len = 20000;
    memset(guess, 0x42, sizeof guess);
    int n = aloft_native_encode(&m, SHA, guess, 'H', h.tx_seq, frame, sizeof frame);
    push(&h, frame, (size_t)n);
    expect_tamper_rejected(c, &h);
}

static void test_second_connection_busy_while_first_completes(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d1, d2;
    host_t h1, h2;
    start_upload(c, &h1, &d1, PASSWORD);
    connect_to(c, &h2, &d2, PASSWORD, OTHER_IP);
    login(&h2);
    send_offer(&h2, (uint32_t)c->fx.v2_len, c->v2_sha, 0, 0);
    expect_error(&h2, ALOFT_ERR_BUSY);
    aloft_native_device_peer_closed(&d2, c->now);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_RECEIVING);
    stream_part(&h1, c->fx.v2, 20000, c->fx.v2_len, ALOFT_NATIVE_WINDOW_DEFAULT);
    expect_result_and_boot_v2(&h1, send_end(&h1, (uint32_t)c->fx.v2_len));
}

static void test_idle_peer_dropped_across_wrap(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    c->now = 0xFFFFF000u;   /* the timer wraps during the silence */
    start_upload(c, &h, &d, OPEN);
    c->now += ALOFT_NATIVE_IDLE_TIMEOUT_MS - 1;
    aloft_native_device_tick(&d, c->now);
    assert_false(aloft_native_device_state(&d) & ALOFT_NATIVE_CLOSED);
    c->now += 1;
    aloft_native_device_tick(&d, c->now);
    aloft_native_msg_t m = expect_msg(&h, ALOFT_MSG_ERROR);   /* MACed */
    assert_int_equal(m.u.error.code, ALOFT_ERR_TIMEOUT);
    assert_int_equal(m.u.error.have, 20000);
    assert_int_equal(m.u.error.want, c->fx.v2_len);
    assert_true(aloft_native_device_state(&d) & ALOFT_NATIVE_CLOSED);
    assert_int_equal(aloft_native_device_last_error(&d), ALOFT_ERR_TIMEOUT);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);

    /* before the login too */
    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    c->now += ALOFT_NATIVE_IDLE_TIMEOUT_MS;
    aloft_native_device_tick(&d, c->now);
    expect_error(&h, ALOFT_ERR_TIMEOUT);
}

static void test_too_large_offer_refused_before_flash(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    login(&h);
    uint64_t ops = flash_ops(c);
    send_offer(&h, 1412096, c->v2_sha, 0, 0);
    aloft_native_msg_t m = expect_msg(&h, ALOFT_MSG_ERROR);
    assert_int_equal(m.u.error.code, ALOFT_ERR_TOO_LARGE);
    assert_int_equal(m.u.error.have, 1412096);
    assert_int_equal(m.u.error.want, 1310720);
    assert_string_equal(m.u.error.where.s, "app1");
    assert_string_equal(m.u.error.text.s, "image is larger than the slot");
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);
    assert_true(aloft_native_device_state(&d) & ALOFT_NATIVE_CLOSED);
}

static void test_protocol_errors_end_the_update(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    start_upload(c, &h, &d, OPEN);
    send_data(&h, 19999, c->fx.v2, 10);   /* not where the stream is */
    aloft_native_msg_t m = expect_msg(&h, ALOFT_MSG_ERROR);
    assert_int_equal(m.u.error.code, ALOFT_ERR_PROTO);
    assert_int_equal(m.u.error.have, 19999);
    assert_int_equal(m.u.error.want, 20000);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);

    /* a short END */
    start_upload(c, &h, &d, OPEN);
    m = send_end(&h, 20000);
    assert_int_equal(m.type, ALOFT_MSG_ERROR);
    assert_int_equal(m.u.error.code, ALOFT_ERR_SHORT);
    assert_int_equal(m.u.error.have, 20000);
    assert_int_equal(m.u.error.want, c->fx.v2_len);
    assert_untouched(c);
}

static void test_erase_ahead_with_keepalives(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    aloft_native_msg_t m;
    connect_to(c, &h, &d, OPEN, HOST_IP);
    login(&h);
    h.lazy = true;
    assert_int_equal(offer_v2(&h, ALOFT_ENC_RAW), 0);
    uint64_t erases = c->fx.sim.nor.count.erases;
    int units = 0;
    uint32_t last_ack = c->now;   /* ACCEPT */
    /* Each erase unit takes 300 ms. Whenever the device gets control, an
     * ACK is due if 500 ms passed since the last one. */
    while (aloft_native_device_state(&d) & ALOFT_NATIVE_WANT_STEP) {
        int acks = h.acks;
        units += aloft_native_device_step(&d, c->now);
        assert_int_equal(recv_msg(&h, &m), 0);
        if (h.acks > acks)
            last_ack = c->now;
        assert_true(c->now - last_ack < ALOFT_NATIVE_KEEPALIVE_MS);
        c->now += 300;
        aloft_native_device_tick(&d, c->now);
    }
    assert_int_equal(units, 4);   /* 200000 bytes: 3 blocks and a sector */
    assert_int_equal(c->fx.sim.nor.count.erases - erases, units);
    assert_true(h.acks >= units / 2);
    assert_false(aloft_native_device_state(&d) & ALOFT_NATIVE_CLOSED);
    /* the data then goes straight to flash; the only erase left is the
     * resume journal's sector */
    stream_part(&h, c->fx.v2, 0, c->fx.v2_len, ALOFT_NATIVE_WINDOW_DEFAULT);
    assert_int_equal(c->fx.sim.nor.count.erases - erases, units + 1);
    expect_result_and_boot_v2(&h, send_end(&h, (uint32_t)c->fx.v2_len));
}

static void test_resume_after_dropped_connection(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    login(&h);
    assert_int_equal(offer_v2(&h, ALOFT_ENC_RAW), 0);
    stream_part(&h, c->fx.v2, 0, 140000, ALOFT_NATIVE_WINDOW_DEFAULT);
    assert_int_equal(h.durable, 131072);
    aloft_native_device_peer_closed(&d, c->now);   /* the Wi-Fi drops */
    assert_int_equal(aloft_native_device_last_error(&d), ALOFT_ERR_CLOSED);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);

    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    assert_true(h.hello.has_resume);
    assert_int_equal(h.hello.resume_target, 0);
    assert_int_equal(h.hello.resume_size, c->fx.v2_len);
    assert_memory_equal(h.hello.resume_sha256, c->v2_sha, 32);
    assert_int_equal(h.hello.resume_offset, 131072);
    login(&h);
    uint64_t progs = c->fx.sim.nor.count.prog_bytes;
    uint32_t offset = offer_v2(&h, ALOFT_ENC_RAW);
    assert_int_equal(offset, 131072);
    stream_part(&h, c->fx.v2 + offset, 0, c->fx.v2_len - offset, ALOFT_NATIVE_WINDOW_DEFAULT);
    aloft_native_msg_t m = send_end(&h, (uint32_t)(c->fx.v2_len - offset));
    assert_true(c->fx.sim.nor.count.prog_bytes - progs < c->fx.v2_len - offset + 4096);
    c->paused = c->resumed = 1;   /* one pause per session */
    expect_result_and_boot_v2(&h, m);
}

static void test_resume_with_deflate(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    size_t zlen;
    connect_to(c, &h, &d, OPEN | DEFLATE, HOST_IP);
    login(&h);
    offer_v2(&h, ALOFT_ENC_RAW);
    stream_part(&h, c->fx.v2, 0, 150000, ALOFT_NATIVE_WINDOW_DEFAULT);
    c->now += ALOFT_NATIVE_IDLE_TIMEOUT_MS;   /* the host was killed */
    aloft_native_device_tick(&d, c->now);
    expect_error(&h, ALOFT_ERR_TIMEOUT);

    connect_to(c, &h, &d, OPEN | DEFLATE, HOST_IP);
    assert_int_equal(h.hello.resume_offset, 131072);
    login(&h);
    uint32_t offset = offer_v2(&h, ALOFT_ENC_DEFLATE);
    assert_int_equal(offset, 131072);
    /* one zlib stream started at the offset */
    uint8_t *z = zlib_compress(c->fx.v2 + offset, c->fx.v2_len - offset, 12, &zlen);
    stream_part(&h, z, 0, zlen, ALOFT_NATIVE_WINDOW_DEFAULT);
    free(z);
    aloft_native_msg_t m = send_end(&h, (uint32_t)zlen);
    c->paused = c->resumed = 1;
    expect_result_and_boot_v2(&h, m);
}

static void test_no_reboot_flag(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    connect_to(c, &h, &d, OPEN, HOST_IP);
    login(&h);
    send_offer(&h, (uint32_t)c->fx.v2_len, c->v2_sha, 0, ALOFT_OFFER_NO_REBOOT);
    expect_msg(&h, ALOFT_MSG_ACCEPT);
    stream_part(&h, c->fx.v2, 0, c->fx.v2_len, ALOFT_NATIVE_WINDOW_DEFAULT);
    aloft_native_msg_t m = send_end(&h, (uint32_t)c->fx.v2_len);
    assert_int_equal(m.type, ALOFT_MSG_RESULT);
    assert_int_equal(m.u.result.reboot, 0);
    assert_true(aloft_native_device_state(&d) & ALOFT_NATIVE_CLOSED);
    assert_false(aloft_native_device_state(&d) & ALOFT_NATIVE_REBOOT);
    /* activated all the same: the next restart runs it */
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
}

static void test_filesystem_upload_does_not_restart(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    uint8_t fs[60000], sha[32];
    for (size_t i = 0; i < sizeof fs; i++)
        fs[i] = (uint8_t)(i * 7 + (i >> 9));
    aloft_hash_oneshot(SHA, fs, sizeof fs, sha);
    const aloft_part_t *part = aloft_ptable_find_fs(&c->fx.sim.boot.pt, NULL);
    connect_to(c, &h, &d, PASSWORD, HOST_IP);
    login(&h);
    send_offer_to(&h, 1, sizeof fs, sha, 0, 0);
    assert_int_equal(expect_msg(&h, ALOFT_MSG_ACCEPT).u.accept.offset, 0);
    stream_part(&h, fs, 0, sizeof fs, ALOFT_NATIVE_WINDOW_DEFAULT);
    aloft_native_msg_t m = send_end(&h, sizeof fs);
    assert_int_equal(m.type, ALOFT_MSG_RESULT);
    assert_int_equal(m.u.result.slot, 0xFF);
    assert_string_equal(m.u.result.version.s, "2.0.0");   /* as offered */
    assert_int_equal(m.u.result.reboot, 0);
    assert_true(aloft_native_device_state(&d) & ALOFT_NATIVE_CLOSED);
    assert_false(aloft_native_device_state(&d) & ALOFT_NATIVE_REBOOT);
    assert_memory_equal(c->fx.sim.nor.mem + part->offset, fs, sizeof fs);
    assert_untouched(c);
}

static void test_host_error_abandons_quietly(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t d;
    host_t h;
    aloft_native_msg_t m;
    start_upload(c, &h, &d, OPEN);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ERROR;
    m.u.error.code = ALOFT_ERR_ABORTED;
    send_msg(&h, &m);
    expect_closed_silently(&h);
    assert_int_equal(aloft_native_device_last_error(&d), ALOFT_ERR_ABORTED);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_hello_describes_the_device),
        T(test_full_upload_raw_with_password),
        T(test_full_upload_deflate_open_device),
        T(test_deflate_window_too_large_is_refused),
        T(test_wrong_password_touches_nothing),
        T(test_rate_limit_per_peer),
        T(test_flipped_bit_is_rejected),
        T(test_replayed_frame_is_rejected),
        T(test_injected_frame_is_rejected),
        T(test_second_connection_busy_while_first_completes),
        T(test_idle_peer_dropped_across_wrap),
        T(test_too_large_offer_refused_before_flash),
        T(test_protocol_errors_end_the_update),
        T(test_erase_ahead_with_keepalives),
        T(test_resume_after_dropped_connection),
        T(test_resume_with_deflate),
        T(test_no_reboot_flag),
        T(test_filesystem_upload_does_not_restart),
        T(test_host_error_abandons_quietly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
