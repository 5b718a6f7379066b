/*
 * tests/unit/test_espota_host_engine.c — the espota host engine
 * (aloft/espota_host.h) uploading to the espota DEVICE engine of a
 * simulated ESP32 in one process, no sockets: a wire between the two
 * carries datagrams (dropping the ones a test loses), the connect-back,
 * and TCP in device-sized reads, with the device's counts delivered at
 * once, coalesced or a byte at a time. Both logins, the MD5-secret retry,
 * wrong and missing passwords, a too-large image refused before any flash
 * operation, lost invitations, challenges, auth datagrams and answers, the
 * window and stop-and-wait, a device error line; scripted devices for the
 * ESP8266's delayed "OK" and for hostile or broken answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/espota_device.h"
#include "aloft/espota_host.h"
#include "crypto_mbedtls.h"
#include "sim_fixture.h"

#define HOST_IP 0x7F000001u
#define HOST_UDP 40000
#define LISTEN 51234
#define SEGMENT 1460u   /* a device reads at most this much at a time */
#define STEP_MS 10u

enum { ACKS_AT_ONCE, ACKS_COALESCED, ACKS_BYTEWISE };

typedef struct wire {
    sim_fixture_t fx;
    aloft_espota_t dev;
    aloft_espota_host_t host;
    aloft_espota_host_config_t hc;
    char secret[ALOFT_ESPOTA_HEX_MAX];
    uint32_t now;
    /* what the wire does */
    uint32_t drop_host_udp, drop_dev_udp;   /* bit i: lose datagram i of that side */
    bool refuse_connect;                    /* a firewall in front of the listener */
    bool stall_tcp;                         /* the connection takes nothing */
    int acks;                               /* ACKS_* */
    /* what it saw */
    unsigned host_udp, dev_udp, invitations, auth_datagrams;
    unsigned events[16];                    /* by aloft_espota_host_event_t */
    bool connected, rebooted;
    uint32_t delivered;                     /* image bytes the device has read */
    uint32_t counted;                       /* bytes in the counts the host has read */
    uint32_t max_in_flight;                 /* most image bytes ever beyond those counts */
    char held[4096];                        /* device bytes not yet delivered (coalescing) */
    size_t held_len;
    uint64_t flash_ops_at_start;
} wire_t;

static uint64_t flash_ops(const wire_t *w)
{
    return w->fx.sim.nor.count.erases + w->fx.sim.nor.count.progs;
}

static int setup(void **state)
{
    wire_t *w = simfx_ctx_new(sizeof *w, 60000, 70000);
    if (w == NULL)
        return -1;
    w->now = 0xFFFFF000u;   /* the timers cross the 32-bit wrap */
    w->hc = (aloft_espota_host_config_t){
        .crypto = &aloft_mbedtls_crypto, .address = "127.0.0.1", .filename = "v2.bin",
        .size = (uint32_t)w->fx.v2_len, .data = w->fx.v2};
    *state = w;
    return 0;
}

/* The device engine with a login of scheme (NONE: open) and its secret:
 * sha256hex or md5hex of the password, as the firmware would store it. */
static void device(wire_t *w, aloft_espota_auth_t scheme, aloft_espota_auth_t secret_of,
                   const char *password)
{
    aloft_espota_config_t cfg = {.dev = &w->fx.sim.dev, .update = &w->fx.sim.update,
                                 .auth = scheme};
    if (scheme != ALOFT_ESPOTA_AUTH_NONE) {
        assert_int_equal(aloft_espota_secret(&aloft_mbedtls_crypto, secret_of, password,
                                             w->secret), 0);
        cfg.secret = w->secret;
    }
    assert_int_equal(aloft_espota_init(&w->dev, &cfg), 0);
}

static void start_host(wire_t *w)
{
    assert_int_equal(aloft_espota_host_init(&w->host, &w->hc), 0);
    w->flash_ops_at_start = flash_ops(w);
    aloft_espota_host_start(&w->host, w->now, LISTEN);
}

static void to_host_tcp(wire_t *w, const char *p, size_t n)
{
    if (w->acks == ACKS_BYTEWISE) {
        for (size_t i = 0; i < n; i++)
            aloft_espota_host_on_tcp(&w->host, w->now, p + i, 1);
    } else {
        aloft_espota_host_on_tcp(&w->host, w->now, p, n);
    }
}

static void flush_held(wire_t *w)
{
    if (w->held_len) {
        to_host_tcp(w, w->held, w->held_len);
        w->held_len = 0;
    }
    w->counted = w->delivered;
}

/* Carry the host's actions; returns true if anything moved. */
static bool host_actions(wire_t *w)
{
    aloft_espota_host_action_t a;
    uint8_t seg[SEGMENT];
    bool moved = false;
    while (aloft_espota_host_next(&w->host, &a)) {
        if (a.kind != ALOFT_ESPOTA_HOST_ACT_TCP_SEND || !w->stall_tcp)
            moved = true;
        if (a.kind == ALOFT_ESPOTA_HOST_ACT_EVENT) {
            w->events[a.event]++;
        } else if (a.kind == ALOFT_ESPOTA_HOST_ACT_UDP_SEND) {
            bool lost = w->drop_host_udp >> (w->host_udp++ % 32) & 1;
            if (a.data[0] == '2')
                w->auth_datagrams++;
            else
                w->invitations++;
            if (!lost)
                aloft_espota_on_datagram(&w->dev, w->now, HOST_IP, HOST_UDP, a.data, a.len);
        } else {
            assert_int_equal(a.kind, ALOFT_ESPOTA_HOST_ACT_TCP_SEND);
            assert_true(w->connected);
            const aloft_espota_host_result_t *r = aloft_espota_host_result(&w->host);
            assert_true(a.len > 0 && r->sent + a.len <= w->hc.size);
            assert_memory_equal(a.data, w->fx.v2 + r->sent, a.len < 16 ? a.len : 16);
            if (w->stall_tcp) {
                aloft_espota_host_on_tcp_sent(&w->host, w->now, 0);
                return moved;
            }
            size_t n = a.len < SEGMENT ? a.len : SEGMENT;
            memcpy(seg, a.data, n);
            aloft_espota_host_on_tcp_sent(&w->host, w->now, n);
            uint32_t in_flight = r->sent - w->counted;
            if (in_flight > w->max_in_flight)
                w->max_in_flight = in_flight;
            w->delivered += (uint32_t)n;
            aloft_espota_on_tcp(&w->dev, w->now, seg, n);
        }
    }
    return moved;
}

static bool device_actions(wire_t *w)
{
    aloft_espota_action_t a;
    bool moved = false;
    while (aloft_espota_next(&w->dev, &a)) {
        moved = true;
        switch (a.kind) {
        case ALOFT_ESPOTA_ACT_UDP_SEND:
            assert_int_equal(a.ip, HOST_IP);
            assert_int_equal(a.port, HOST_UDP);
            if (!(w->drop_dev_udp >> (w->dev_udp++ % 32) & 1))
                aloft_espota_host_on_datagram(&w->host, w->now, a.data, a.len);
            break;
        case ALOFT_ESPOTA_ACT_CONNECT:
            assert_int_equal(a.port, LISTEN);
            aloft_espota_on_connect(&w->dev, w->now, !w->refuse_connect);
            if (!w->refuse_connect) {
                w->connected = true;
                aloft_espota_host_on_connected(&w->host, w->now);
            }
            break;
        case ALOFT_ESPOTA_ACT_TCP_SEND:
            if (w->acks == ACKS_COALESCED) {
                assert_true(w->held_len + a.len <= sizeof w->held);
                memcpy(w->held + w->held_len, a.data, a.len);
                w->held_len += a.len;
            } else {
                to_host_tcp(w, (const char *)a.data, a.len);
                w->counted = w->delivered;
            }
            break;
        case ALOFT_ESPOTA_ACT_TCP_CLOSE:
            flush_held(w);
            w->connected = false;
            aloft_espota_host_on_tcp_closed(&w->host, w->now);
            break;
        case ALOFT_ESPOTA_ACT_REBOOT:
            w->rebooted = true;
            break;
        default:
            fail();
        }
    }
    return moved;
}

/* Run both engines until the host is done (or limit_ms of simulated time
 * passed); returns the host's result. Coalesced counts reach the host only
 * when the host has nothing more to send: one digit run for a window. */
static const aloft_espota_host_result_t *run(wire_t *w, uint32_t limit_ms)
{
    for (uint32_t t = 0; t <= limit_ms;) {
        bool moved = true;
        while (moved) {
            moved = host_actions(w);
            moved = device_actions(w) || moved;
            if (!moved && w->held_len) {
                flush_held(w);
                moved = true;
            }
        }
        if (aloft_espota_host_state(&w->host) == ALOFT_ESPOTA_HOST_DONE) {
            for (int i = 0; i < 100 && !w->rebooted && w->connected; i++) {
                w->now += STEP_MS;   /* let the device's "OK" and reboot out */
                aloft_espota_tick(&w->dev, w->now);
                device_actions(w);
            }
            break;
        }
        uint32_t step = aloft_espota_host_wait_ms(&w->host, w->now);
        step = step > STEP_MS ? STEP_MS : step ? step : 1;
        w->now += step;
        t += step;
        aloft_espota_host_tick(&w->host, w->now);
        aloft_espota_tick(&w->dev, w->now);
    }
    assert_int_equal(aloft_espota_host_state(&w->host), ALOFT_ESPOTA_HOST_DONE);
    return aloft_espota_host_result(&w->host);
}

static void expect_v2_running(wire_t *w, const aloft_espota_host_result_t *r)
{
    assert_int_equal(r->err, 0);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_OK);
    assert_int_equal(r->sent, w->hc.size);
    assert_int_equal(r->confirmed, w->hc.size);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_SENT_ALL], 1);
    assert_true(w->rebooted);
    assert_int_equal(simfx_reboot(&w->fx), 0);
    assert_string_equal(w->fx.sim.boot.info.desc.version, "2.0.0");
}

/* ---- logins ------------------------------------------------------------ */

static void test_open_device(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    expect_v2_running(w, r);
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_NONE);
    assert_int_equal(w->invitations, 1);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_INVITE], 1);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_ACCEPTED], 1);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_AUTH], 0);
}

static void test_md5_login(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_MD5, ALOFT_ESPOTA_AUTH_MD5, "s3cret");
    w->hc.password = "s3cret";
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    expect_v2_running(w, r);
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_MD5);
    assert_true(r->md5_secret);   /* weak, and the port says so */
    assert_int_equal(w->auth_datagrams, 1);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_AUTH_OK], 1);
}

static void test_pbkdf2_login(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_PBKDF2, "s3cret");
    w->hc.password = "s3cret";
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    expect_v2_running(w, r);
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_PBKDF2);
    assert_false(r->md5_secret);
    assert_false(r->retried_md5);
    assert_int_equal(w->auth_datagrams, 1);
}

/* A device built with setPasswordHash(md5): the SHA-256 secret is refused,
 * a fresh invitation brings a new nonce for the MD5 one. */
static void test_pbkdf2_md5_secret_retry(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_MD5, "s3cret");
    w->hc.password = "s3cret";
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    expect_v2_running(w, r);
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_PBKDF2);
    assert_true(r->md5_secret);
    assert_true(r->retried_md5);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_AUTH_FAILED], 1);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_RETRY_MD5], 1);
    assert_int_equal(w->invitations, 2);
    assert_int_equal(w->auth_datagrams, 2);
}

static void test_md5_target_logs_in_once(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_MD5, "s3cret");
    w->hc.password = "s3cret";
    w->hc.md5_target = true;
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    expect_v2_running(w, r);
    assert_true(r->md5_secret);
    assert_false(r->retried_md5);
    assert_int_equal(w->auth_datagrams, 1);
}

static void expect_refused_untouched(wire_t *w, const aloft_espota_host_result_t *r)
{
    assert_false(w->connected || w->rebooted);
    assert_int_equal(r->sent, 0);
    assert_int_equal(flash_ops(w), w->flash_ops_at_start);
    assert_true(aloft_espota_state(&w->dev) <= ALOFT_ESPOTA_WAIT_AUTH);   /* never began */
}

static void test_wrong_password(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_MD5, ALOFT_ESPOTA_AUTH_MD5, "s3cret");
    w->hc.password = "wrong";
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->err, ALOFT_ERR_AUTH);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_AUTH_FAILED);
    assert_false(r->retried_md5);
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_NONE);   /* no login was accepted */
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_AUTH_FAILED], 1);
    expect_refused_untouched(w, r);
}

static void test_wrong_password_pbkdf2_tries_both_secrets(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_PBKDF2, "s3cret");
    w->hc.password = "wrong";
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_AUTH_FAILED);
    assert_true(r->retried_md5);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_AUTH_FAILED], 2);
    expect_refused_untouched(w, r);
}

static void test_no_password_given(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_PBKDF2, "s3cret");
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->err, ALOFT_ERR_AUTH);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_NO_PASSWORD);
    assert_int_equal(w->auth_datagrams, 0);
    expect_refused_untouched(w, r);
}

/* ---- refusals ---------------------------------------------------------- */

/* An image the slot cannot hold, read through the callback (never held in
 * memory): refused over UDP before any flash operation, the device's text
 * kept and its code recovered. */
static int big_read(void *ctx, uint32_t offset, void *buf, size_t n)
{
    (void)ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = offset + i == 0 ? 0xE9 : (uint8_t)((offset + i) * 31u);
    return (int)n;
}

static void test_too_large_refused_before_any_flash_op(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_PBKDF2, "s3cret");
    w->hc.password = "s3cret";
    w->hc.data = NULL;
    w->hc.read = big_read;
    w->hc.size = 1412096;
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->err, ALOFT_ERR_TOO_LARGE);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_REFUSED);
    assert_string_equal(r->text, "ERR: too large 1412096>1310720");
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_PBKDF2);   /* the login itself was good */
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_AUTH_OK], 1);
    expect_refused_untouched(w, r);
}

/* The device refuses while another upload runs; the refusal is sticky. */
static void test_busy_device(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    const char *other = "0 4000 70000 0123456789abcdef0123456789abcdef\n";
    aloft_espota_action_t a;
    aloft_espota_on_datagram(&w->dev, w->now, 0x7F000002u, 4001, other, strlen(other));
    while (aloft_espota_next(&w->dev, &a))
        ;   /* the other host's OK and connect-back: the device is busy with it */
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->err, ALOFT_ERR_BUSY);
    assert_string_equal(r->text, "ERR: busy");
    aloft_espota_host_on_datagram(&w->host, w->now, "OK", 2);
    aloft_espota_host_on_connected(&w->host, w->now);
    assert_int_equal(aloft_espota_host_result(&w->host)->err, ALOFT_ERR_BUSY);
    assert_false(aloft_espota_host_next(&w->host, &(aloft_espota_host_action_t){0}));
}

/* ---- losses ------------------------------------------------------------ */

static void test_lost_invitation_is_sent_again(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    w->hc.invite_timeout_ms = 1000;
    w->drop_host_udp = 1u << 0;
    start_host(w);
    expect_v2_running(w, run(w, 20000));
    assert_int_equal(w->invitations, 2);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_NO_ANSWER], 1);
}

/* The challenge is lost: the next invitation restarts the login. */
static void test_lost_challenge(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_PBKDF2, "s3cret");
    w->hc.password = "s3cret";
    w->hc.invite_timeout_ms = 1000;
    w->drop_dev_udp = 1u << 0;
    start_host(w);
    expect_v2_running(w, run(w, 20000));
    assert_int_equal(w->invitations, 2);
    assert_int_equal(w->auth_datagrams, 1);
}

/* The auth datagram is lost: it goes again after auth_resend_ms, long
 * before the device (10 s) or the host (timeout_ms) give up. */
static void test_lost_auth_datagram_is_sent_again(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_MD5, ALOFT_ESPOTA_AUTH_MD5, "s3cret");
    w->hc.password = "s3cret";
    w->drop_host_udp = 1u << 1;   /* 0 is the invitation */
    start_host(w);
    uint32_t t0 = w->now;
    expect_v2_running(w, run(w, 20000));
    assert_int_equal(w->auth_datagrams, 2);
    assert_int_equal(w->invitations, 1);
    assert_true(w->now - t0 < ALOFT_ESPOTA_HOST_TIMEOUT_MS);
}

/* The device's "OK" to the login is lost: its connect-back says it. */
static void test_lost_auth_answer(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_PBKDF2, ALOFT_ESPOTA_AUTH_PBKDF2, "s3cret");
    w->hc.password = "s3cret";
    w->drop_dev_udp = 1u << 1;   /* 0 is the challenge */
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    expect_v2_running(w, r);
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_PBKDF2);
    assert_int_equal(w->events[ALOFT_ESPOTA_HOST_EV_AUTH_OK], 1);
}

/* Every auth datagram is lost: unanswered (not "failed") after timeout_ms,
 * sent about once per auth_resend_ms meanwhile. */
static void test_auth_never_arrives(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_MD5, ALOFT_ESPOTA_AUTH_MD5, "s3cret");
    w->hc.password = "s3cret";
    w->hc.timeout_ms = 5000;
    w->drop_host_udp = ~1u;
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->err, ALOFT_ERR_TIMEOUT);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_AUTH_SILENT);
    assert_int_equal(w->auth_datagrams, 5);   /* at 0, 1, 2, 3, 4 s */
    expect_refused_untouched(w, r);
}

static void test_no_connect_back(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    w->refuse_connect = true;
    w->hc.timeout_ms = 3000;
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->err, ALOFT_ERR_CONNECT);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_NO_CONNECT);
    expect_refused_untouched(w, r);
}

/* ---- data phase -------------------------------------------------------- */

static void test_window_with_coalesced_counts(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    w->acks = ACKS_COALESCED;
    w->hc.window = 8192;
    start_host(w);
    expect_v2_running(w, run(w, 20000));
    assert_true(w->max_in_flight <= 8192);
    assert_true(w->max_in_flight > 8192 - SEGMENT);   /* and it used the window */
}

static void test_counts_a_byte_at_a_time(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    w->acks = ACKS_BYTEWISE;
    start_host(w);
    expect_v2_running(w, run(w, 20000));
    assert_true(w->max_in_flight <= ALOFT_ESPOTA_HOST_WINDOW);
}

static void test_stop_and_wait(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    w->acks = ACKS_COALESCED;
    w->hc.stop_and_wait = true;
    start_host(w);
    expect_v2_running(w, run(w, 20000));
    assert_true(w->max_in_flight <= ALOFT_ESPOTA_HOST_CHUNK);
}

/* The image fails the device's check at the end: its error line is the
 * result, and the running firmware stays. */
static void test_device_error_line(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    w->fx.v2[w->fx.v2_len / 2] ^= 0x01;   /* the MD5 is of this file: only the image hash fails */
    start_host(w);
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_DEVICE_ERROR);
    assert_int_equal(r->err, ALOFT_ERR_PROTO);
    assert_non_null(strstr(r->text, "ERR: "));
    assert_null(strchr(r->text, '\r'));
    assert_false(w->rebooted);
    assert_int_equal(simfx_reboot(&w->fx), 0);
    assert_string_equal(w->fx.sim.boot.info.desc.version, "1.0.0");
}

/* The connection takes nothing more: silence both ways ends the upload. */
static void test_stalled_connection(void **state)
{
    wire_t *w = *state;
    device(w, ALOFT_ESPOTA_AUTH_NONE, 0, NULL);
    w->hc.timeout_ms = 3000;
    start_host(w);
    aloft_espota_host_action_t a;
    while (aloft_espota_host_state(&w->host) != ALOFT_ESPOTA_HOST_SENDING) {
        host_actions(w);
        device_actions(w);
    }
    host_actions(w);   /* a window's worth, then the stall */
    device_actions(w);
    w->stall_tcp = true;
    const aloft_espota_host_result_t *r = run(w, 20000);
    assert_int_equal(r->err, ALOFT_ERR_TIMEOUT);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_SILENT);
    assert_true(r->sent > 0 && r->sent < w->hc.size);
    assert_false(aloft_espota_host_next(&w->host, &a));
}

/* ---- scripted devices ------------------------------------------------ */

typedef struct script {
    aloft_espota_host_t e;
    uint32_t now;
    unsigned udp;
    char last_udp[160];
} script_t;

/* Take the host's actions; TCP offers are taken whole. */
static uint32_t script_drain(script_t *s)
{
    aloft_espota_host_action_t a;
    uint32_t took = 0;
    while (aloft_espota_host_next(&s->e, &a)) {
        if (a.kind == ALOFT_ESPOTA_HOST_ACT_UDP_SEND) {
            s->udp++;
            snprintf(s->last_udp, sizeof s->last_udp, "%.*s", (int)a.len, (const char *)a.data);
        } else if (a.kind == ALOFT_ESPOTA_HOST_ACT_TCP_SEND) {
            aloft_espota_host_on_tcp_sent(&s->e, s->now, a.len);
            took += (uint32_t)a.len;
        }
    }
    return took;
}

static void script_start(script_t *s, const aloft_espota_host_config_t *cfg)
{
    memset(s, 0, sizeof *s);
    s->now = 5000;
    assert_int_equal(aloft_espota_host_init(&s->e, cfg), 0);
    aloft_espota_host_start(&s->e, s->now, LISTEN);
    script_drain(s);
}

static void script_say(script_t *s, const char *text)
{
    aloft_espota_host_on_datagram(&s->e, s->now, text, strlen(text));
    script_drain(s);
}

static void script_tcp(script_t *s, const char *text)
{
    aloft_espota_host_on_tcp(&s->e, s->now, text, strlen(text));
}

static void script_pass(script_t *s, uint32_t ms)
{
    for (uint32_t t = 0; t < ms; t += 10) {
        s->now += 10;
        aloft_espota_host_tick(&s->e, s->now);
        script_drain(s);
    }
}

/* Stock ESP8266 ArduinoOTA: the last count, 1 s of silence, "OK" (its own
 * segment, and here split across two reads), 1 s, close. */
static void test_esp8266_delayed_ok(void **state)
{
    wire_t *w = *state;
    script_t *s = malloc(sizeof *s);
    char count[16];
    w->hc.size = 5000;
    script_start(s, &w->hc);
    script_say(s, "OK");
    assert_int_equal(aloft_espota_host_state(&s->e), ALOFT_ESPOTA_HOST_CONNECTING);
    aloft_espota_host_on_connected(&s->e, s->now);
    uint32_t total = 0, took;
    while ((took = script_drain(s)) > 0) {   /* the ESP8266 reads all that is there */
        total += took;
        snprintf(count, sizeof count, "%u", (unsigned)took);
        script_tcp(s, count);
    }
    assert_int_equal(total, 5000);
    script_pass(s, 1000);
    assert_int_equal(aloft_espota_host_state(&s->e), ALOFT_ESPOTA_HOST_SENDING);
    script_tcp(s, "O");
    script_pass(s, 30);
    script_tcp(s, "K");
    const aloft_espota_host_result_t *r = aloft_espota_host_result(&s->e);
    assert_int_equal(aloft_espota_host_state(&s->e), ALOFT_ESPOTA_HOST_DONE);
    assert_int_equal(r->err, 0);
    assert_int_equal(r->confirmed, 5000);
    aloft_espota_host_on_tcp_closed(&s->e, s->now + 1000);   /* its close changes nothing */
    assert_int_equal(r->err, 0);
    free(s);
}

/* ... and one whose result never comes: all sent, silence, a clear end. */
static void test_result_never_comes(void **state)
{
    wire_t *w = *state;
    script_t *s = malloc(sizeof *s);
    w->hc.size = 3000;
    w->hc.timeout_ms = 2000;
    script_start(s, &w->hc);
    script_say(s, "OK");
    aloft_espota_host_on_connected(&s->e, s->now);
    assert_int_equal(script_drain(s), 3000);
    script_tcp(s, "146014601");   /* one count cut short: still pending */
    script_tcp(s, "80");
    script_pass(s, 1990);
    assert_int_equal(aloft_espota_host_state(&s->e), ALOFT_ESPOTA_HOST_SENDING);
    script_pass(s, 20);
    const aloft_espota_host_result_t *r = aloft_espota_host_result(&s->e);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_SILENT);
    assert_int_equal(r->sent, 3000);
    assert_int_equal(r->confirmed, 3000);
    free(s);
}

static void test_early_ok_and_close(void **state)
{
    wire_t *w = *state;
    script_t *s = malloc(sizeof *s);
    w->hc.size = 100000;
    script_start(s, &w->hc);
    script_say(s, "OK");
    aloft_espota_host_on_connected(&s->e, s->now);
    assert_int_equal(script_drain(s), ALOFT_ESPOTA_HOST_WINDOW);   /* a window, no more */
    script_tcp(s, "1460OK");
    assert_int_equal(aloft_espota_host_result(&s->e)->why, ALOFT_ESPOTA_HOST_WHY_EARLY_OK);
    assert_int_equal(aloft_espota_host_result(&s->e)->err, ALOFT_ERR_PROTO);

    script_start(s, &w->hc);
    script_say(s, "OK");
    aloft_espota_host_on_connected(&s->e, s->now);
    script_drain(s);
    script_tcp(s, "1460");
    aloft_espota_host_on_tcp_closed(&s->e, s->now);
    const aloft_espota_host_result_t *r = aloft_espota_host_result(&s->e);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_CLOSED);
    assert_int_equal(r->err, ALOFT_ERR_CLOSED);
    assert_int_equal(r->confirmed, 1460);
    free(s);
}

static void test_hostile_answers(void **state)
{
    wire_t *w = *state;
    script_t *s = malloc(sizeof *s);
    w->hc.password = "pw";
    script_start(s, &w->hc);
    script_say(s, "AUTH 1234");
    assert_int_equal(aloft_espota_host_result(&s->e)->why, ALOFT_ESPOTA_HOST_WHY_BAD_NONCE);
    assert_int_equal(aloft_espota_host_result(&s->e)->nonce_len, 4);

    script_start(s, &w->hc);
    aloft_espota_host_on_datagram(&s->e, s->now, "HELLO\0\x01\r\n", 9);
    assert_int_equal(aloft_espota_host_result(&s->e)->why, ALOFT_ESPOTA_HOST_WHY_BAD_ANSWER);
    assert_string_equal(aloft_espota_host_result(&s->e)->text, "HELLO??");

    script_start(s, &w->hc);   /* a code beyond aloft's (found by fuzz_espota_reply) */
    script_say(s, "ERR: code -111111111111111111111111111111");
    assert_int_equal(aloft_espota_host_result(&s->e)->why, ALOFT_ESPOTA_HOST_WHY_REFUSED);
    assert_int_equal(aloft_espota_host_result(&s->e)->err, ALOFT_ERR_PROTO);

    script_start(s, &w->hc);   /* ESP8266's refusal, after the login */
    script_say(s, "AUTH 0123456789abcdef0123456789abcdef");
    assert_int_equal(s->udp, 2);
    assert_memory_equal(s->last_udp, "200 ", 4);
    script_pass(s, 1000);   /* no answer: the same datagram again */
    assert_int_equal(s->udp, 3);
    script_say(s, "AUTH 00000000000000000000000000000000");   /* a late challenge is ignored */
    assert_int_equal(aloft_espota_host_state(&s->e), ALOFT_ESPOTA_HOST_AUTHENTICATING);
    script_say(s, "ERR: ERROR[4]: Not Enough Space\n");
    const aloft_espota_host_result_t *r = aloft_espota_host_result(&s->e);
    assert_int_equal(r->why, ALOFT_ESPOTA_HOST_WHY_REFUSED);
    assert_int_equal(r->err, ALOFT_ERR_PROTO);   /* not aloft's text: the port translates */
    assert_string_equal(r->text, "ERR: ERROR[4]: Not Enough Space");
    assert_int_equal(r->auth, ALOFT_ESPOTA_AUTH_MD5);
    free(s);
}

static void test_bad_config(void **state)
{
    wire_t *w = *state;
    aloft_espota_host_t *e = &w->host;
    aloft_espota_host_config_t c = w->hc;
    c.size = 0;
    assert_int_equal(aloft_espota_host_init(e, &c), ALOFT_ERR_SIZE);
    c.size = ALOFT_ESPOTA_HOST_SIZE_MAX + 1u;
    assert_int_equal(aloft_espota_host_init(e, &c), ALOFT_ERR_SIZE);
    c = w->hc;
    c.data = NULL;
    assert_int_equal(aloft_espota_host_init(e, &c), ALOFT_ERR_ARG);
    c = w->hc;
    c.crypto = NULL;
    assert_int_equal(aloft_espota_host_init(e, &c), ALOFT_ERR_ARG);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, simfx_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_device),
        T(test_md5_login),
        T(test_pbkdf2_login),
        T(test_pbkdf2_md5_secret_retry),
        T(test_md5_target_logs_in_once),
        T(test_wrong_password),
        T(test_wrong_password_pbkdf2_tries_both_secrets),
        T(test_no_password_given),
        T(test_too_large_refused_before_any_flash_op),
        T(test_busy_device),
        T(test_lost_invitation_is_sent_again),
        T(test_lost_challenge),
        T(test_lost_auth_datagram_is_sent_again),
        T(test_lost_auth_answer),
        T(test_auth_never_arrives),
        T(test_no_connect_back),
        T(test_window_with_coalesced_counts),
        T(test_counts_a_byte_at_a_time),
        T(test_stop_and_wait),
        T(test_device_error_line),
        T(test_stalled_connection),
        T(test_esp8266_delayed_ok),
        T(test_result_never_comes),
        T(test_early_ok_and_close),
        T(test_hostile_answers),
        T(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
