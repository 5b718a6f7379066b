/*
 * tests/unit/test_native_device.c — the native protocol's device engine,
 * driven in-process (no sockets) by the host engine over a simulated link
 * (support/native_link.h): full uploads raw and zlib, login failures and
 * the rate limiter, a second connection, timeouts across the 32-bit wrap,
 * refusals before any flash operation, erase-ahead with keepalive ACKs,
 * and resuming a dropped transfer. The adversarial cases (flipped,
 * replayed and injected frames, an OFFER before the login, a DATA frame at
 * the wrong offset, the host's ERROR) change or add frames on the link;
 * everything else is the real host.
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
#include "crypto_mbedtls.h"
#include "inflate_zlib.h"
#include "native_link.h"
#include "native_stream.h"
#include "sim_fixture.h"

#define HOST_IP 0xC0A80132u   /* 192.168.1.50 */
#define OTHER_IP 0xC0A80133u
#define ITERATIONS 1000u      /* quick logins; the simulator uses 10000 */
#define APP0 0x10000u
#define APP_SIZE 0x140000u
#define OTADATA 0xE000u
#define DATA_BYTES 4092u      /* image bytes in a full DATA frame (max_payload 4096) */

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;

/* One connection: both engines, the link between them, what the host heard. */
typedef struct sess {
    struct ctx *c;
    aloft_native_device_t d;
    aloft_native_host_t h;
    native_link_t l;
    native_frames_t up;                       /* the host's frames, as they pass */
    aloft_native_hello_t hello;
    int events[ALOFT_NATIVE_EV_ERROR + 1];
    unsigned bits;                            /* ACCEPTED: zlib windowBits */
    uint32_t accepted_at, durable, durable_acked;
    int acks;                                 /* PROGRESS events after the ACCEPT's */
    uint64_t ops_at_login;                    /* flash operations when the login succeeded */
    int paused_at_login, paused_at_accept;
    bool hold_at_end;                         /* hold the link once END is queued */
} sess_t;

typedef struct ctx {
    sim_fixture_t fx;
    aloft_native_verifier_t v;
    aloft_login_limiter_t limiter;
    inflate_zlib_t zst;
    aloft_inflate_t z;
    uint8_t v2_sha[32];
    native_source_t src;                      /* v2's stream */
    uint8_t *snap;                            /* flash before the test acted */
    int paused, resumed;
    uint32_t now;
    sess_t s[2];
} ctx_t;

/* What the host is told to do. */
typedef struct hopts {
    aloft_native_op_t op;
    const char *password;
    uint8_t target;
    bool no_reboot, compress;
    uint32_t size;                            /* 0: v2 */
    const uint8_t *sha;
    const aloft_native_source_t *source;
} hopts_t;

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
    aloft_native_derive(&aloft_mbedtls_crypto, "hunter2", salt, ITERATIONS, &c->v, NULL);
    inflate_zlib_init(&c->z, &c->zst, 12);
    aloft_hash_oneshot(SHA, c->fx.v2, c->fx.v2_len, c->v2_sha);
    native_source_init(&c->src, c->fx.v2, c->fx.v2_len);
    c->snap = simfx_snapshot(&c->fx);
    c->now = 1000;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    c->z.end(c->z.ctx);
    native_source_close(&c->src);
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
/* Sessions. */

enum { OPEN = 0, PASSWORD = 1, DEFLATE = 2 };

static void on_event(void *p, const aloft_native_event_t *ev)
{
    sess_t *s = p;
    s->events[ev->kind]++;
    switch (ev->kind) {
    case ALOFT_NATIVE_EV_HELLO: s->hello = *ev->hello; break;
    case ALOFT_NATIVE_EV_OPEN:
    case ALOFT_NATIVE_EV_AUTH_OK:
        s->ops_at_login = flash_ops(s->c);
        s->paused_at_login = s->c->paused;
        break;
    case ALOFT_NATIVE_EV_ACCEPTED:
        s->accepted_at = ev->offset;
        s->bits = ev->window_bits;
        s->paused_at_accept = s->c->paused;
        s->acks = -1;   /* the ACCEPT's own progress event follows */
        break;
    case ALOFT_NATIVE_EV_PROGRESS:
        s->durable_acked = s->durable;   /* the last one is the RESULT's */
        s->durable = ev->durable;
        s->acks++;
        break;
    case ALOFT_NATIVE_EV_SENT_ALL: s->l.hold_up = s->hold_at_end; break;
    default: break;
    }
}

static void up_tap(void *p, bool up, uint8_t *b, size_t n)
{
    sess_t *s = p;
    for (size_t i = 0; up && i < n; i++)
        native_frames_byte(&s->up, b[i]);
}

/* Start both engines for a connection from ip (session k of the test). */
static sess_t *open_session(ctx_t *c, int k, int opts, uint32_t ip, const hopts_t *o)
{
    sess_t *s = &c->s[k];
    aloft_native_device_config_t dc = {
        .dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
        .verifier = (opts & PASSWORD) ? &c->v : NULL, .inflate = (opts & DEFLATE) ? &c->z : NULL,
        .name = "test-device", .limiter = &c->limiter, .open = !(opts & PASSWORD)};
    aloft_native_host_config_t hc = {
        .crypto = &aloft_mbedtls_crypto, .op = o->op, .password = o->password,
        .source = o->source ? o->source : &c->src.src, .size = o->size ? o->size
                                                                       : (uint32_t)c->fx.v2_len,
        .sha256 = o->sha ? o->sha : c->v2_sha, .target = o->target, .no_reboot = o->no_reboot,
        .compress = o->compress, .project = "demo", .version = "2.0.0",
        .on_event = on_event, .ctx = s};
    memset(s, 0, sizeof *s);
    s->c = c;
    s->up.dir = 'H';
    s->l = (native_link_t){.host = &s->h, .dev = &s->d, .now = c->now, .chunk = 1000,
                           .tap = up_tap, .tap_ctx = s};
    assert_int_equal(aloft_native_device_init(&s->d, &dc, ip, c->now), 0);
    assert_int_equal(aloft_native_host_init(&s->h, &hc, c->now), 0);
    return s;
}

static sess_t *upload(ctx_t *c, int k, int opts, uint32_t ip)
{
    hopts_t o = {.op = ALOFT_NATIVE_OP_UPLOAD, .password = (opts & PASSWORD) ? "hunter2" : NULL,
                 .compress = (opts & DEFLATE) != 0};
    return open_session(c, k, opts, ip, &o);
}

/* Pump until the host has sent `frames` DATA frames (whole frames: the
 * host's send buffer holds one, so pieces end at frame boundaries), then
 * hold the host's side and let the device settle. */
static void run_until_data(sess_t *s, unsigned frames)
{
    while (s->up.data < frames && native_link_pump(&s->l))
        ;
    assert_int_equal(s->up.data, frames);
    s->l.hold_up = true;
    native_link_run(&s->l);
}

static const aloft_native_failure_t *failure(const sess_t *s)
{
    return aloft_native_host_failure(&s->h);
}

/* The host heard the device's ERROR with code. */
static void expect_device_error(const sess_t *s, int code)
{
    assert_int_equal(failure(s)->why, ALOFT_NATIVE_WHY_DEVICE);
    assert_int_equal(failure(s)->device.code, code);
    assert_true(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED);
}

/* RESULT, the engine closed with REBOOT, and v2 boots after the restart. */
static void expect_result_and_boot_v2(sess_t *s)
{
    ctx_t *c = s->c;
    const aloft_native_result_t *r = aloft_native_host_result(&s->h);
    assert_non_null(r);
    assert_int_equal(aloft_native_host_last_error(&s->h), 0);
    assert_int_equal(r->slot, 1);
    assert_string_equal(r->version.s, "2.0.0");
    assert_int_equal(r->reboot, 1);
    unsigned st = aloft_native_device_state(&s->d);
    assert_true(st & ALOFT_NATIVE_CLOSED);
    assert_true(st & ALOFT_NATIVE_REBOOT);
    assert_false(st & ALOFT_NATIVE_HAS_TX);
    assert_int_equal(aloft_native_device_last_error(&s->d), 0);
    assert_int_equal(c->paused, 1);
    assert_int_equal(c->resumed, 1);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
    assert_int_equal(c->fx.sim.boot.slot, 1);
}

/* The device ended on a tampered frame: silently, nothing of it acted on. */
static void expect_tamper_rejected(ctx_t *c, sess_t *s)
{
    native_link_run(&s->l);
    assert_int_equal(aloft_native_device_last_error(&s->d), ALOFT_ERR_INTEGRITY);
    assert_false(aloft_native_device_state(&s->d) & ALOFT_NATIVE_REBOOT);
    assert_int_equal(failure(s)->why, ALOFT_NATIVE_WHY_CLOSED);   /* no answer, just the end */
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "1.0.0");
}

/* A stream source that lies to the engine: deflated with a 15-bit window
 * whatever it is asked for, or raw and cut short. */
typedef struct liar {
    aloft_native_source_t src;
    native_source_t *real;
    unsigned force_bits;
    uint32_t cut;
} liar_t;

static int liar_open(void *p, uint32_t from, unsigned bits, uint32_t *len)
{
    liar_t *l = p;
    const aloft_native_source_t *r = &l->real->src;
    int err = r->open(r->ctx, from, bits && l->force_bits ? l->force_bits : bits, len);
    if (!err && l->cut && *len > l->cut)
        *len = l->cut;
    return err;
}

static int liar_read(void *p, uint32_t off, uint8_t *buf, size_t n)
{
    liar_t *l = p;
    return l->real->src.read(l->real->src.ctx, off, buf, n);
}

static void liar_init(liar_t *l, ctx_t *c, unsigned force_bits, uint32_t cut)
{
    *l = (liar_t){.src = {liar_open, liar_read, l}, .real = &c->src, .force_bits = force_bits,
                  .cut = cut};
}

/* ------------------------------------------------------------------ */
/* Tests. */

static void test_hello_describes_the_device(void **state)
{
    ctx_t *c = *state;
    hopts_t info = {.op = ALOFT_NATIVE_OP_INFO};
    sess_t *s = open_session(c, 0, PASSWORD | DEFLATE, HOST_IP, &info);
    native_link_run(&s->l);
    assert_int_equal(s->events[ALOFT_NATIVE_EV_DONE], 1);   /* the HELLO is all info needs */
    const aloft_native_hello_t *hi = &s->hello;
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
    sess_t *s2 = open_session(c, 1, OPEN, HOST_IP, &info);
    native_link_run(&s2->l);
    assert_memory_not_equal(s2->hello.nonce, hi->nonce, 32);
    assert_int_equal(s2->hello.caps, ALOFT_CAP_RESUME);
    assert_int_equal(s2->hello.kdf_iterations, 0);
    assert_int_equal(s2->hello.inflate_window_bits, 0);
}

static void test_full_upload_raw_with_password(void **state)
{
    ctx_t *c = *state;
    uint64_t ops = flash_ops(c);
    sess_t *s = upload(c, 0, PASSWORD, HOST_IP);
    native_link_run(&s->l);
    assert_int_equal(s->events[ALOFT_NATIVE_EV_AUTH_OK], 1);
    assert_int_equal(s->ops_at_login, ops);   /* nothing touched before the login */
    assert_int_equal(s->paused_at_login, 0);   /* paused only once the OFFER is accepted */
    assert_int_equal(s->paused_at_accept, 1);
    assert_int_equal(s->accepted_at, 0);
    assert_int_equal(s->bits, 0);
    /* at least one ACK per half window, and the durable marks */
    assert_true(s->acks >= (int)(c->fx.v2_len / (ALOFT_NATIVE_WINDOW_DEFAULT / 2)));
    assert_int_equal(s->durable_acked, 196608);   /* three 64 KiB journal marks */
    expect_result_and_boot_v2(s);
}

static void test_full_upload_deflate_open_device(void **state)
{
    ctx_t *c = *state;
    sess_t *s = upload(c, 0, OPEN | DEFLATE, HOST_IP);
    s->l.chunk = 0;   /* whole frames: each inflates in several pieces */
    native_link_run(&s->l);
    assert_false(s->hello.caps & ALOFT_CAP_AUTH);
    assert_true(s->hello.caps & ALOFT_CAP_DEFLATE);
    assert_int_equal(s->events[ALOFT_NATIVE_EV_OPEN], 1);
    assert_int_equal(s->bits, 12);   /* the device's window */
    assert_true(s->l.up < c->fx.v2_len);
    expect_result_and_boot_v2(s);
}

static void test_deflate_window_too_large_is_refused(void **state)
{
    ctx_t *c = *state;
    liar_t liar;
    liar_init(&liar, c, 15, 0);   /* the device allows 12 */
    hopts_t o = {.op = ALOFT_NATIVE_OP_UPLOAD, .compress = true, .source = &liar.src};
    sess_t *s = open_session(c, 0, OPEN | DEFLATE, HOST_IP, &o);
    native_link_run(&s->l);
    expect_device_error(s, ALOFT_ERR_DECODE);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);
}

static void test_wrong_password_touches_nothing(void **state)
{
    ctx_t *c = *state;
    uint64_t ops = flash_ops(c);
    hopts_t o = {.op = ALOFT_NATIVE_OP_UPLOAD, .password = "hunter3"};
    sess_t *s = open_session(c, 0, PASSWORD, HOST_IP, &o);
    native_link_run(&s->l);
    expect_device_error(s, ALOFT_ERR_AUTH);   /* its ERROR has no MAC: there is no key */
    assert_int_equal(failure(s)->phase, ALOFT_NATIVE_PH_LOGIN);
    assert_string_equal(failure(s)->device.text.s, aloft_strerror(ALOFT_ERR_AUTH));
    assert_int_equal(aloft_native_device_last_error(&s->d), ALOFT_ERR_AUTH);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);

    /* nor can an OFFER skip the login: one where AUTH should be */
    aloft_native_msg_t m;
    uint8_t frame[256];
    hopts_t hold = {.op = ALOFT_NATIVE_OP_INFO};
    s = open_session(c, 0, PASSWORD, HOST_IP, &hold);
    s->l.hold_up = true;
    native_link_run(&s->l);   /* the HELLO, and info is content */
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.size = (uint32_t)c->fx.v2_len;
    memcpy(m.u.offer.sha256, c->v2_sha, 32);
    int n = aloft_native_encode(&m, SHA, NULL, 'H', 0, frame, sizeof frame);
    native_link_push_raw(&s->l, frame, (size_t)n);
    assert_int_equal(aloft_native_device_last_error(&s->d), ALOFT_ERR_PROTO);
    assert_true(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);
}

/* One login from ip with password; returns the device's ERROR code (with
 * its have in *have) or 0 for a login that worked. */
static int attempt(ctx_t *c, uint32_t ip, const char *password, uint32_t *have)
{
    hopts_t o = {.op = ALOFT_NATIVE_OP_INFO, .password = password};
    sess_t *s = open_session(c, 0, PASSWORD, ip, &o);
    native_link_run(&s->l);
    const aloft_native_failure_t *f = failure(s);
    if (have)
        *have = f->device.have;
    if (f->code == 0)
        assert_int_equal(s->events[ALOFT_NATIVE_EV_AUTH_OK], 1);
    else
        assert_int_equal(f->why, ALOFT_NATIVE_WHY_DEVICE);
    return f->device.code;
}

static void test_rate_limit_per_peer(void **state)
{
    ctx_t *c = *state;
    uint32_t have;
    const char *right = "hunter2", *wrong = "hunter3";
    assert_int_equal(attempt(c, HOST_IP, wrong, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, wrong, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, wrong, NULL), ALOFT_ERR_AUTH);
    /* third failure in a row: 1 s lockout, refused before the proof is
     * checked (the right password does not help) */
    assert_int_equal(attempt(c, HOST_IP, right, &have), ALOFT_ERR_RATE);
    assert_int_equal(have, 1);
    assert_int_equal(attempt(c, OTHER_IP, right, NULL), 0);   /* others are not locked */
    c->now += 999;
    assert_int_equal(attempt(c, HOST_IP, right, NULL), ALOFT_ERR_RATE);
    c->now += 1;
    /* a fourth failure doubles the wait */
    assert_int_equal(attempt(c, HOST_IP, wrong, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, right, &have), ALOFT_ERR_RATE);
    assert_int_equal(have, 2);
    c->now += 2000;
    assert_int_equal(attempt(c, HOST_IP, right, NULL), 0);
    /* a success forgets the failures */
    assert_int_equal(attempt(c, HOST_IP, wrong, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, wrong, NULL), ALOFT_ERR_AUTH);
    assert_int_equal(attempt(c, HOST_IP, right, NULL), 0);
    /* the wait is capped at 60 s */
    for (int i = 0; i < 12; i++) {
        assert_int_equal(attempt(c, HOST_IP, wrong, NULL), ALOFT_ERR_AUTH);
        c->now += 60000;
    }
    c->now -= 60000;
    assert_int_equal(attempt(c, HOST_IP, right, &have), ALOFT_ERR_RATE);
    assert_int_equal(have, 60);
    assert_int_equal(c->paused, 0);
}

/* Flip bit 4 of byte 1000 of the host's 6th DATA frame on the way. */
static void flip_tap(void *p, bool up, uint8_t *b, size_t n)
{
    sess_t *s = p;
    for (size_t i = 0; up && i < n; i++) {
        if (s->up.data == 5 && s->up.pos == 1000 && s->up.cur[0] == ALOFT_MSG_DATA)
            b[i] ^= 0x10;
        native_frames_byte(&s->up, b[i]);
    }
}

static void test_flipped_bit_is_rejected(void **state)
{
    ctx_t *c = *state;
    sess_t *s = upload(c, 0, PASSWORD, HOST_IP);
    s->l.tap = flip_tap;
    native_link_run(&s->l);
    /* not a byte of it fed: what came before, and then the end */
    assert_int_equal(c->fx.sim.update.received, 5 * DATA_BYTES);
    expect_tamper_rejected(c, s);
}

static void test_replayed_frame_is_rejected(void **state)
{
    ctx_t *c = *state;
    sess_t *s = upload(c, 0, PASSWORD, HOST_IP);
    run_until_data(s, 5);
    native_link_push_raw(&s->l, s->up.last, s->up.last_len);   /* the last DATA once more */
    expect_tamper_rejected(c, s);
}

static void test_injected_frame_is_rejected(void **state)
{
    ctx_t *c = *state;
    uint8_t frame[64], guess[32];
    sess_t *s = upload(c, 0, PASSWORD, HOST_IP);
    run_until_data(s, 5);
    /* an attacker on the path writes an END with its own key */
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_END;
    m.u.end.stream_len = 5 * DATA_BYTES;
    memset(guess, 0x42, sizeof guess);
    int n = aloft_native_encode(&m, SHA, guess, 'H', s->h.tx_seq, frame, sizeof frame);
    native_link_push_raw(&s->l, frame, (size_t)n);
    expect_tamper_rejected(c, s);
}

static void test_second_connection_busy_while_first_completes(void **state)
{
    ctx_t *c = *state;
    sess_t *s1 = upload(c, 0, PASSWORD, HOST_IP);
    run_until_data(s1, 5);
    sess_t *s2 = upload(c, 1, PASSWORD, OTHER_IP);
    native_link_run(&s2->l);
    expect_device_error(s2, ALOFT_ERR_BUSY);
    assert_int_equal(failure(s2)->phase, ALOFT_NATIVE_PH_OFFER);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_RECEIVING);
    s1->l.hold_up = false;
    native_link_run(&s1->l);
    expect_result_and_boot_v2(s1);
}

static void test_idle_peer_dropped_across_wrap(void **state)
{
    ctx_t *c = *state;
    c->now = 0xFFFFF000u;   /* the timer wraps during the silence */
    sess_t *s = upload(c, 0, OPEN, HOST_IP);
    run_until_data(s, 5);
    s->l.hold_down = true;   /* the link is gone both ways */
    aloft_native_device_tick(&s->d, c->now + ALOFT_NATIVE_IDLE_TIMEOUT_MS - 1);
    assert_false(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED);
    aloft_native_device_tick(&s->d, c->now + ALOFT_NATIVE_IDLE_TIMEOUT_MS);
    assert_true(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED);
    assert_int_equal(aloft_native_device_last_error(&s->d), ALOFT_ERR_TIMEOUT);
    s->l.hold_down = false;   /* its ERROR (MACed) still reaches the host */
    native_link_run(&s->l);
    expect_device_error(s, ALOFT_ERR_TIMEOUT);
    assert_int_equal(failure(s)->device.have, 5 * DATA_BYTES);
    assert_int_equal(failure(s)->device.want, c->fx.v2_len);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);

    /* before the login too */
    s = upload(c, 0, PASSWORD, HOST_IP);
    s->l.hold_up = true;   /* AUTH never arrives */
    native_link_run(&s->l);
    aloft_native_device_tick(&s->d, c->now + ALOFT_NATIVE_IDLE_TIMEOUT_MS);
    native_link_run(&s->l);
    expect_device_error(s, ALOFT_ERR_TIMEOUT);
    assert_int_equal(failure(s)->phase, ALOFT_NATIVE_PH_LOGIN);
}

static void test_too_large_offer_refused_before_flash(void **state)
{
    ctx_t *c = *state;
    hopts_t o = {.op = ALOFT_NATIVE_OP_UPLOAD, .password = "hunter2", .size = 1412096};
    sess_t *s = open_session(c, 0, PASSWORD, HOST_IP, &o);
    uint64_t ops = flash_ops(c);
    native_link_run(&s->l);
    expect_device_error(s, ALOFT_ERR_TOO_LARGE);
    const aloft_native_error_t *e = &failure(s)->device;
    assert_int_equal(e->have, 1412096);
    assert_int_equal(e->want, 1310720);
    assert_string_equal(e->where.s, "app1");
    assert_string_equal(e->text.s, "image is larger than the slot");
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);
}

static void test_protocol_errors_end_the_update(void **state)
{
    ctx_t *c = *state;
    aloft_native_msg_t m;
    sess_t *s = upload(c, 0, OPEN, HOST_IP);
    run_until_data(s, 5);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_DATA;   /* not where the stream is */
    m.u.data.offset = 5 * DATA_BYTES - 1;
    m.u.data.data = c->fx.v2;
    m.u.data.len = 10;
    assert_true(native_link_inject(&s->l, &m) > 0);
    native_link_run(&s->l);
    expect_device_error(s, ALOFT_ERR_PROTO);
    assert_int_equal(failure(s)->device.have, 5 * DATA_BYTES - 1);
    assert_int_equal(failure(s)->device.want, 5 * DATA_BYTES);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);

    /* a short END: a stream that ends before the image does */
    liar_t liar;
    liar_init(&liar, c, 0, 20000);
    hopts_t o = {.op = ALOFT_NATIVE_OP_UPLOAD, .source = &liar.src};
    s = open_session(c, 0, OPEN, HOST_IP, &o);
    native_link_run(&s->l);
    assert_int_equal(s->events[ALOFT_NATIVE_EV_SENT_ALL], 1);
    expect_device_error(s, ALOFT_ERR_SHORT);
    assert_int_equal(failure(s)->device.have, 20000);
    assert_int_equal(failure(s)->device.want, c->fx.v2_len);
    assert_untouched(c);
}

static void test_erase_ahead_with_keepalives(void **state)
{
    ctx_t *c = *state;
    sess_t *s = upload(c, 0, OPEN, HOST_IP);
    s->l.dev_manual = true;
    while (s->events[ALOFT_NATIVE_EV_ACCEPTED] == 0 && native_link_pump(&s->l))
        ;
    assert_int_equal(s->accepted_at, 0);
    s->l.hold_up = true;   /* no data yet: the device has time to erase ahead */
    uint64_t erases = c->fx.sim.nor.count.erases;
    int units = 0;
    uint32_t last_ack = s->l.now;   /* ACCEPT */
    /* Each erase unit takes 300 ms. Whenever the device gets control, an
     * ACK is due if 500 ms passed since the last one. */
    while (aloft_native_device_state(&s->d) & ALOFT_NATIVE_WANT_STEP) {
        int acks = s->acks;
        units += aloft_native_device_step(&s->d, s->l.now);
        native_link_run(&s->l);
        if (s->acks > acks)
            last_ack = s->l.now;
        assert_true(s->l.now - last_ack < ALOFT_NATIVE_KEEPALIVE_MS);
        s->l.now += 300;
        aloft_native_device_tick(&s->d, s->l.now);
    }
    assert_int_equal(units, 4);   /* 200000 bytes: 3 blocks and a sector */
    assert_int_equal(c->fx.sim.nor.count.erases - erases, units);
    assert_true(s->acks >= units / 2);
    assert_false(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED);
    /* the data then goes straight to flash; the only erase left is the
     * resume journal's sector */
    s->l.hold_up = false;
    s->l.dev_manual = false;
    s->hold_at_end = true;   /* END waits: the activation erases otadata */
    native_link_run(&s->l);
    assert_int_equal(c->fx.sim.nor.count.erases - erases, units + 1);
    s->l.hold_up = false;
    native_link_run(&s->l);
    expect_result_and_boot_v2(s);
}

static void test_resume_after_dropped_connection(void **state)
{
    ctx_t *c = *state;
    sess_t *s = upload(c, 0, PASSWORD, HOST_IP);
    run_until_data(s, 35);   /* 143 220 bytes */
    assert_int_equal(s->durable, 131072);
    native_link_drop(&s->l);   /* the Wi-Fi drops */
    assert_int_equal(aloft_native_device_last_error(&s->d), ALOFT_ERR_CLOSED);
    assert_int_equal(failure(s)->why, ALOFT_NATIVE_WHY_CLOSED);
    assert_true(failure(s)->lost);
    assert_int_equal(c->paused, c->resumed);
    assert_untouched(c);

    s = upload(c, 0, PASSWORD, HOST_IP);
    uint64_t progs = c->fx.sim.nor.count.prog_bytes;
    native_link_run(&s->l);
    assert_true(s->hello.has_resume);
    assert_int_equal(s->hello.resume_target, 0);
    assert_int_equal(s->hello.resume_size, c->fx.v2_len);
    assert_memory_equal(s->hello.resume_sha256, c->v2_sha, 32);
    assert_int_equal(s->hello.resume_offset, 131072);
    assert_int_equal(s->accepted_at, 131072);
    assert_true(s->l.up < c->fx.v2_len - 131072 + 4096);   /* only the rest went */
    assert_true(c->fx.sim.nor.count.prog_bytes - progs < c->fx.v2_len - 131072 + 4096);
    c->paused = c->resumed = 1;   /* one pause per session */
    expect_result_and_boot_v2(s);
}

static void test_resume_with_deflate(void **state)
{
    ctx_t *c = *state;
    hopts_t raw = {.op = ALOFT_NATIVE_OP_UPLOAD};   /* the first session goes raw */
    sess_t *s = open_session(c, 0, OPEN | DEFLATE, HOST_IP, &raw);
    run_until_data(s, 37);   /* 151 404 bytes */
    aloft_native_device_tick(&s->d, s->l.now + ALOFT_NATIVE_IDLE_TIMEOUT_MS);   /* host killed */
    native_link_run(&s->l);
    expect_device_error(s, ALOFT_ERR_TIMEOUT);

    s = upload(c, 0, OPEN | DEFLATE, HOST_IP);
    native_link_run(&s->l);
    assert_int_equal(s->hello.resume_offset, 131072);
    assert_int_equal(s->accepted_at, 131072);
    assert_int_equal(s->bits, 12);   /* one zlib stream started at the offset */
    c->paused = c->resumed = 1;
    expect_result_and_boot_v2(s);
}

static void test_no_reboot_flag(void **state)
{
    ctx_t *c = *state;
    hopts_t o = {.op = ALOFT_NATIVE_OP_UPLOAD, .no_reboot = true};
    sess_t *s = open_session(c, 0, OPEN, HOST_IP, &o);
    native_link_run(&s->l);
    const aloft_native_result_t *r = aloft_native_host_result(&s->h);
    assert_non_null(r);
    assert_int_equal(r->reboot, 0);
    assert_true(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED);
    assert_false(aloft_native_device_state(&s->d) & ALOFT_NATIVE_REBOOT);
    /* activated all the same: the next restart runs it */
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
}

static void test_filesystem_upload_does_not_restart(void **state)
{
    ctx_t *c = *state;
    uint8_t fs[60000], sha[32];
    native_source_t src;
    for (size_t i = 0; i < sizeof fs; i++)
        fs[i] = (uint8_t)(i * 7 + (i >> 9));
    aloft_hash_oneshot(SHA, fs, sizeof fs, sha);
    native_source_init(&src, fs, sizeof fs);
    const aloft_part_t *part = aloft_ptable_find_fs(&c->fx.sim.boot.pt, NULL);
    hopts_t o = {.op = ALOFT_NATIVE_OP_UPLOAD, .password = "hunter2", .target = 1,
                 .size = sizeof fs, .sha = sha, .source = &src.src};
    sess_t *s = open_session(c, 0, PASSWORD, HOST_IP, &o);
    native_link_run(&s->l);
    assert_int_equal(s->accepted_at, 0);
    const aloft_native_result_t *r = aloft_native_host_result(&s->h);
    assert_non_null(r);
    assert_int_equal(r->slot, 0xFF);
    assert_string_equal(r->version.s, "2.0.0");   /* as offered */
    assert_int_equal(r->reboot, 0);
    assert_true(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED);
    assert_false(aloft_native_device_state(&s->d) & ALOFT_NATIVE_REBOOT);
    assert_memory_equal(c->fx.sim.nor.mem + part->offset, fs, sizeof fs);
    assert_untouched(c);
    native_source_close(&src);
}

static void test_host_error_abandons_quietly(void **state)
{
    ctx_t *c = *state;
    aloft_native_msg_t m;
    sess_t *s = upload(c, 0, OPEN, HOST_IP);
    run_until_data(s, 5);
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ERROR;
    m.u.error.code = ALOFT_ERR_ABORTED;
    assert_true(native_link_inject(&s->l, &m) > 0);
    native_link_run(&s->l);
    assert_int_equal(failure(s)->why, ALOFT_NATIVE_WHY_CLOSED);   /* no answer */
    assert_int_equal(aloft_native_device_last_error(&s->d), ALOFT_ERR_ABORTED);
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
