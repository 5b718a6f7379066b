/*
 * tests/unit/test_espota_device.c — the ArduinoOTA device engine, driven
 * event by event (no sockets) on a simulated device: byte-exact exchanges
 * for both auth schemes with the protocol.md §3 vectors, refusals before
 * any flash operation, busy handling, timeouts (also across the 32-bit
 * wrap of now_ms) and the quiesce contract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/util.h"
#include "aloft/espota_device.h"
#include "crypto_mbedtls.h"
#include "sim_fixture.h"

#define HOST 0xC0A80132u   /* 192.168.1.50 */
#define OTHER 0xC0A80133u
#define HPORT 40000

/* The nonce the engine draws: a repeated pattern, so the exchanges are the
 * protocol.md vectors byte for byte. */
static uint8_t pattern[8];
static size_t pattern_len;
static int fixed_random(void *ctx, void *out, size_t n)
{
    (void)ctx;
    uint8_t *p = out;
    for (size_t i = 0; i < n; i++)
        p[i] = pattern[i % pattern_len];
    return 0;
}

static void set_nonce(const uint8_t *bytes, size_t n)
{
    memcpy(pattern, bytes, n);
    pattern_len = n;
}

static const uint8_t AB[1] = {0xab};

typedef struct ctx {
    sim_fixture_t fx;
    aloft_crypto_t crypto;
    aloft_espota_t e;
    int paused, resumed;
    uint32_t now;
} ctx_t;

static void on_pause(void *c) { ((ctx_t *)c)->paused++; }
static void on_resume(void *c) { ((ctx_t *)c)->resumed++; }

static int setup(void **state)
{
    ctx_t *c = simfx_ctx_new(sizeof *c, 60000, 70000);
    if (c == NULL)
        return -1;
    c->crypto = aloft_mbedtls_crypto;
    c->crypto.random = fixed_random;
    c->fx.sim.dev.crypto = &c->crypto;
    aloft_quiesce_add(&c->fx.sim.quiesce, "app", on_pause, on_resume, c);
    c->now = 1000;
    *state = c;
    return 0;
}

static void start(ctx_t *c, aloft_espota_auth_t auth, const char *secret)
{
    aloft_espota_config_t cfg = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                                 .auth = auth, .secret = secret};
    assert_int_equal(aloft_espota_init(&c->e, &cfg), 0);
}

static void datagram(ctx_t *c, uint32_t ip, const char *text)
{
    aloft_espota_on_datagram(&c->e, c->now, ip, HPORT, text, strlen(text));
}

/* The next action must be kind (with these bytes, if text is not NULL). */
static aloft_espota_action_t expect(ctx_t *c, aloft_espota_action_kind_t kind, const char *text)
{
    aloft_espota_action_t a;
    assert_true(aloft_espota_next(&c->e, &a));
    assert_int_equal(a.kind, kind);
    if (text) {
        assert_int_equal(a.len, strlen(text));
        assert_memory_equal(a.data, text, a.len);
    }
    return a;
}

static void expect_nothing(ctx_t *c)
{
    aloft_espota_action_t a;
    assert_false(aloft_espota_next(&c->e, &a));
}

static uint64_t flash_ops(ctx_t *c)
{
    return c->fx.sim.nor.count.erases + c->fx.sim.nor.count.progs;
}

static void invite_v2(ctx_t *c, uint32_t ip, char *line, size_t n)
{
    aloft_espota_invite_t inv = {.cmd = 0, .port = 51234, .size = (uint32_t)c->fx.v2_len};
    uint8_t md5[16];
    aloft_hash_oneshot(&aloft_mbedtls_md5, c->fx.v2, c->fx.v2_len, md5);
    aloft_hex(md5, 16, inv.md5);
    aloft_espota_format_invite(&inv, line, n);
    datagram(c, ip, line);
}

/* Send v2 in 1024-byte chunks as espota does; every read is acked. */
static void send_image(ctx_t *c)
{
    char ack[8];
    for (size_t off = 0; off < c->fx.v2_len; off += 1024) {
        size_t n = c->fx.v2_len - off < 1024 ? c->fx.v2_len - off : 1024;
        aloft_espota_on_tcp(&c->e, c->now, c->fx.v2 + off, n);
        snprintf(ack, sizeof ack, "%zu", n);
        expect(c, ALOFT_ESPOTA_ACT_TCP_SEND, ack);
    }
}

static void finish_ok(ctx_t *c)
{
    expect_nothing(c);   /* "OK" waits, so it never rides on the last ack */
    c->now += ALOFT_ESPOTA_RESULT_DELAY_MS;
    aloft_espota_tick(&c->e, c->now);
    expect(c, ALOFT_ESPOTA_ACT_TCP_SEND, "OK");
    expect(c, ALOFT_ESPOTA_ACT_TCP_CLOSE, NULL);
    expect(c, ALOFT_ESPOTA_ACT_REBOOT, NULL);
    assert_int_equal(aloft_espota_state(&c->e), ALOFT_ESPOTA_IDLE);
    assert_int_equal(c->paused, 1);
    assert_int_equal(c->resumed, 1);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
}

static void test_no_auth_full_upload(void **state)
{
    ctx_t *c = *state;
    char line[96];
    start(c, ALOFT_ESPOTA_AUTH_NONE, NULL);
    invite_v2(c, HOST, line, sizeof line);
    aloft_espota_action_t a = expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
    assert_int_equal(a.ip, HOST);
    assert_int_equal(a.port, HPORT);
    a = expect(c, ALOFT_ESPOTA_ACT_CONNECT, NULL);
    assert_int_equal(a.ip, HOST);
    assert_int_equal(a.port, 51234);
    aloft_espota_on_connect(&c->e, c->now, true);
    send_image(c);
    finish_ok(c);
}

static void test_md5_auth_byte_exact(void **state)
{
    ctx_t *c = *state;
    char h[65];
    static const uint8_t n0123[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    set_nonce(n0123, 8);   /* nonce "0123456789abcdef" x 2, as in §3.3 */
    aloft_espota_secret(&c->crypto, ALOFT_ESPOTA_AUTH_MD5, "admin", h);
    start(c, ALOFT_ESPOTA_AUTH_MD5, h);
    datagram(c, HOST, "0 51234 1168784 0123456789abcdef0123456789abcdef\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "AUTH 0123456789abcdef0123456789abcdef");
    uint64_t ops = flash_ops(c);
    datagram(c, HOST, "200 43cebe68834499088e32d7c0483f0fce 4b00f9a2b312b759216142e9e32c7349\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
    expect(c, ALOFT_ESPOTA_ACT_CONNECT, NULL);
    assert_int_equal(flash_ops(c), ops);   /* accepted, nothing written yet */
    assert_int_equal(c->paused, 1);        /* paused only after auth */
}

static void test_pbkdf2_auth_vector(void **state)
{
    ctx_t *c = *state;
    char h[65];
    set_nonce(AB, 1);   /* nonce "ab" x 32 from §3.4 */
    aloft_espota_secret(&c->crypto, ALOFT_ESPOTA_AUTH_PBKDF2, "admin", h);
    start(c, ALOFT_ESPOTA_AUTH_PBKDF2, h);
    datagram(c, HOST, "0 51234 1168784 0123456789abcdef0123456789abcdef\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND,
           "AUTH abababababababababababababababababababababababababababababababab");
    datagram(c, HOST, "200 25eebeb3ebff58b53878fb1a63199813b2afd27336189015ea0772e822ffcf0c "
                      "e8a66862ceff63b11dc33ebc0da0ee2494a49e659391dd71632116b342a35a96\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
    expect(c, ALOFT_ESPOTA_ACT_CONNECT, NULL);
}

static void test_pbkdf2_with_md5_secret_vector(void **state)
{
    ctx_t *c = *state;
    set_nonce(AB, 1);
    /* A device built with setPasswordHash(MD5): 32-hex secret, PBKDF2 scheme. */
    start(c, ALOFT_ESPOTA_AUTH_PBKDF2, "21232f297a57a5a743894a0e4a801fc3");
    datagram(c, HOST, "0 51234 1168784 0123456789abcdef0123456789abcdef\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, NULL);
    datagram(c, HOST, "200 25eebeb3ebff58b53878fb1a63199813b2afd27336189015ea0772e822ffcf0c "
                      "90964e1dd0a659f18fcd1666b4a79022455e3bf7f521631e285fb456096a3ae6\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
}

static void test_wrong_password(void **state)
{
    ctx_t *c = *state;
    char h[65];
    set_nonce(AB, 1);
    aloft_espota_secret(&c->crypto, ALOFT_ESPOTA_AUTH_PBKDF2, "not-admin", h);
    start(c, ALOFT_ESPOTA_AUTH_PBKDF2, h);
    uint64_t ops = flash_ops(c);
    datagram(c, HOST, "0 51234 1168784 0123456789abcdef0123456789abcdef\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, NULL);
    datagram(c, HOST, "200 25eebeb3ebff58b53878fb1a63199813b2afd27336189015ea0772e822ffcf0c "
                      "e8a66862ceff63b11dc33ebc0da0ee2494a49e659391dd71632116b342a35a96\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "Authentication Failed");
    expect_nothing(c);
    assert_int_equal(aloft_espota_state(&c->e), ALOFT_ESPOTA_IDLE);
    assert_int_equal(aloft_espota_last_error(&c->e), ALOFT_ERR_AUTH);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);
}

static void test_auth_only_from_inviting_host_and_times_out(void **state)
{
    ctx_t *c = *state;
    char h[65];
    set_nonce(AB, 1);
    aloft_espota_secret(&c->crypto, ALOFT_ESPOTA_AUTH_PBKDF2, "admin", h);
    start(c, ALOFT_ESPOTA_AUTH_PBKDF2, h);
    datagram(c, HOST, "0 51234 1168784 0123456789abcdef0123456789abcdef\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, NULL);
    const char *good = "200 25eebeb3ebff58b53878fb1a63199813b2afd27336189015ea0772e822ffcf0c "
                       "e8a66862ceff63b11dc33ebc0da0ee2494a49e659391dd71632116b342a35a96\n";
    datagram(c, OTHER, good);                 /* someone else's answer: ignored */
    expect_nothing(c);
    datagram(c, OTHER, "0 4000 1000 0123456789abcdef0123456789abcdef\n");
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "ERR: busy");   /* not a reset */
    assert_int_equal(aloft_espota_state(&c->e), ALOFT_ESPOTA_WAIT_AUTH);
    c->now += ALOFT_ESPOTA_AUTH_TIMEOUT_MS;
    aloft_espota_tick(&c->e, c->now);
    assert_int_equal(aloft_espota_state(&c->e), ALOFT_ESPOTA_IDLE);
    datagram(c, HOST, good);                  /* too late */
    expect_nothing(c);
}

static void test_too_large_refused_before_ok(void **state)
{
    ctx_t *c = *state;
    start(c, ALOFT_ESPOTA_AUTH_NONE, NULL);
    uint64_t ops = flash_ops(c);
    datagram(c, HOST, "0 51234 1412096 0123456789abcdef0123456789abcdef\n");
    aloft_espota_action_t a = expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "ERR: too large 1412096>1310720");
    assert_true(a.len <= ALOFT_ESPOTA_UDP_REPLY_MAX);
    expect_nothing(c);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, 0);
    aloft_diag_t d;
    assert_true(aloft_espota_parse_refusal((const char *)a.data, a.len, &d));
    assert_int_equal(d.err, ALOFT_ERR_TOO_LARGE);
    assert_int_equal(d.have, 1412096);
    assert_int_equal(d.want, 1310720);
}

static void test_second_uploader_gets_busy(void **state)
{
    ctx_t *c = *state;
    char line[96];
    start(c, ALOFT_ESPOTA_AUTH_NONE, NULL);
    invite_v2(c, HOST, line, sizeof line);
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
    expect(c, ALOFT_ESPOTA_ACT_CONNECT, NULL);
    aloft_espota_on_connect(&c->e, c->now, true);
    aloft_espota_on_tcp(&c->e, c->now, c->fx.v2, 1024);
    expect(c, ALOFT_ESPOTA_ACT_TCP_SEND, "1024");
    for (int i = 0; i < 50; i++) {   /* a flood from a second host */
        datagram(c, OTHER, line);
        expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "ERR: busy");
    }
    datagram(c, HOST, line);        /* even the same host cannot restart it */
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "ERR: busy");
    aloft_espota_on_tcp(&c->e, c->now, c->fx.v2 + 1024, c->fx.v2_len - 1024);
    expect(c, ALOFT_ESPOTA_ACT_TCP_SEND, NULL);
    finish_ok(c);
}

static void test_idle_timeout_across_wrap(void **state)
{
    ctx_t *c = *state;
    char line[96];
    c->now = 0xFFFFF000u;   /* the timer wraps during the silence */
    start(c, ALOFT_ESPOTA_AUTH_NONE, NULL);
    invite_v2(c, HOST, line, sizeof line);
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
    expect(c, ALOFT_ESPOTA_ACT_CONNECT, NULL);
    aloft_espota_on_connect(&c->e, c->now, true);
    aloft_espota_on_tcp(&c->e, c->now, c->fx.v2, 1024);
    expect(c, ALOFT_ESPOTA_ACT_TCP_SEND, "1024");
    c->now += ALOFT_ESPOTA_IDLE_TIMEOUT_MS - 1;   /* a 9.999 s stall survives */
    aloft_espota_tick(&c->e, c->now);
    expect_nothing(c);
    c->now += 1;
    aloft_espota_tick(&c->e, c->now);
    aloft_espota_action_t a = expect(c, ALOFT_ESPOTA_ACT_TCP_SEND, NULL);
    assert_memory_equal(a.data, "ERR: peer went silent", 21);
    assert_memory_equal(a.data + a.len - 2, "\r\n", 2);
    expect(c, ALOFT_ESPOTA_ACT_TCP_CLOSE, NULL);
    expect_nothing(c);   /* no reboot */
    assert_int_equal(c->paused, c->resumed);
    assert_int_equal(aloft_espota_last_error(&c->e), ALOFT_ERR_TIMEOUT);
}

static void test_bad_first_bytes_and_failed_connect(void **state)
{
    ctx_t *c = *state;
    char line[96];
    uint8_t junk[1024];
    memset(junk, 0x42, sizeof junk);
    start(c, ALOFT_ESPOTA_AUTH_NONE, NULL);
    invite_v2(c, HOST, line, sizeof line);
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
    expect(c, ALOFT_ESPOTA_ACT_CONNECT, NULL);
    aloft_espota_on_connect(&c->e, c->now, false);   /* firewall on the host */
    assert_int_equal(aloft_espota_last_error(&c->e), ALOFT_ERR_CONNECT);
    assert_int_equal(c->paused, c->resumed);

    uint64_t ops = flash_ops(c);
    invite_v2(c, HOST, line, sizeof line);
    expect(c, ALOFT_ESPOTA_ACT_UDP_SEND, "OK");
    expect(c, ALOFT_ESPOTA_ACT_CONNECT, NULL);
    aloft_espota_on_connect(&c->e, c->now, true);
    aloft_espota_on_tcp(&c->e, c->now, junk, sizeof junk);
    aloft_espota_action_t a = expect(c, ALOFT_ESPOTA_ACT_TCP_SEND, NULL);
    assert_memory_equal(a.data, "ERR: not an app image", 21);
    expect(c, ALOFT_ESPOTA_ACT_TCP_CLOSE, NULL);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->paused, c->resumed);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, simfx_ctx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_auth_full_upload),
        T(test_md5_auth_byte_exact),
        T(test_pbkdf2_auth_vector),
        T(test_pbkdf2_with_md5_secret_vector),
        T(test_wrong_password),
        T(test_auth_only_from_inviting_host_and_times_out),
        T(test_too_large_refused_before_ok),
        T(test_second_uploader_gets_busy),
        T(test_idle_timeout_across_wrap),
        T(test_bad_first_bytes_and_failed_connect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
