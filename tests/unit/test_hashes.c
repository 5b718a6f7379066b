/*
 * test_hashes.c — how the core uses the port's hashes. Every hash the core starts is finished, also on
 * the ways out that abandon it (a refused or failed update, an abort, a
 * native connection that never logs in). On an ESP32 a running SHA-256
 * may hold the hardware engine and on IDF 6 it is a PSA operation: one
 * left running slows or leaks from then on. The test counts the port's
 * init and finish calls through a wrapping hash algorithm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/native_device.h"
#include "crypto_mbedtls.h"
#include "sim_fixture.h"

static int running;   /* hashes started and not finished */

static void count_init(aloft_hash_ctx_t *c, const aloft_hash_alg_t *real)
{
    running++;
    real->init(c);
}

static void count_finish(aloft_hash_ctx_t *c, uint8_t *d, const aloft_hash_alg_t *real)
{
    running--;
    real->finish(c, d);
}

static void sha_init(aloft_hash_ctx_t *c) { count_init(c, &aloft_mbedtls_sha256); }
static void sha_update(aloft_hash_ctx_t *c, const void *p, size_t n) { aloft_mbedtls_sha256.update(c, p, n); }
static void sha_finish(aloft_hash_ctx_t *c, uint8_t *d) { count_finish(c, d, &aloft_mbedtls_sha256); }
static void md5_init(aloft_hash_ctx_t *c) { count_init(c, &aloft_mbedtls_md5); }
static void md5_update(aloft_hash_ctx_t *c, const void *p, size_t n) { aloft_mbedtls_md5.update(c, p, n); }
static void md5_finish(aloft_hash_ctx_t *c, uint8_t *d) { count_finish(c, d, &aloft_mbedtls_md5); }

static aloft_hash_alg_t counted_sha256, counted_md5;
static aloft_crypto_t counted;

typedef struct ctx {
    sim_fixture_t fx;
    aloft_device_t dev;   /* the simulator's device over the counting crypto */
    aloft_update_t u;
    uint8_t sha[32], md5[16];
} ctx_t;

static int setup(void **state)
{
    static ctx_t c;
    memset(&c, 0, sizeof c);
    counted_sha256 = aloft_mbedtls_sha256;
    counted_sha256.init = sha_init, counted_sha256.update = sha_update,
    counted_sha256.finish = sha_finish;
    counted_md5 = aloft_mbedtls_md5;
    counted_md5.init = md5_init, counted_md5.update = md5_update, counted_md5.finish = md5_finish;
    counted = aloft_mbedtls_crypto;
    counted.sha256 = &counted_sha256;
    counted.md5 = &counted_md5;
    if (simfx_setup(&c.fx, 0, 40000, 50000) != 0)
        return -1;
    c.dev = c.fx.sim.dev;
    c.dev.crypto = &counted;
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c.fx.v2, c.fx.v2_len, c.sha);
    aloft_hash_oneshot(&aloft_mbedtls_md5, c.fx.v2, c.fx.v2_len, c.md5);
    running = 0;
    *state = &c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    simfx_teardown(&c->fx);
    return 0;
}

static int begin(ctx_t *c, const uint8_t *sha, bool md5)
{
    aloft_update_req_t req = {.target = ALOFT_TARGET_APP, .size = (uint32_t)c->fx.v2_len,
                              .sha256 = sha, .md5 = md5 ? c->md5 : NULL};
    return aloft_update_begin(&c->u, &c->dev, &req);
}

static void test_success_finishes_all(void **state)
{
    ctx_t *c = *state;
    assert_int_equal(begin(c, c->sha, true), 0);
    assert_true(running > 0);
    assert_int_equal(aloft_update_feed(&c->u, c->fx.v2, c->fx.v2_len), 0);
    assert_int_equal(aloft_update_finish(&c->u), 0);
    assert_int_equal(running, 0);
}

static void test_bad_image_finishes_all(void **state)
{
    ctx_t *c = *state;
    uint8_t junk[4096];
    memset(junk, 0x5A, sizeof junk);   /* not an image: refused at the magic */
    assert_int_equal(begin(c, c->sha, true), 0);
    assert_true(aloft_update_feed(&c->u, junk, sizeof junk) < 0);
    assert_int_equal(running, 0);
}

static void test_abort_midway_finishes_all(void **state)
{
    ctx_t *c = *state;
    assert_int_equal(begin(c, c->sha, true), 0);
    assert_int_equal(aloft_update_feed(&c->u, c->fx.v2, c->fx.v2_len / 2), 0);
    aloft_update_abort(&c->u, ALOFT_ERR_CLOSED);
    assert_int_equal(running, 0);
}

static void test_short_and_mismatch_finish_all(void **state)
{
    ctx_t *c = *state;
    uint8_t wrong[32];
    memset(wrong, 0xEE, sizeof wrong);
    assert_int_equal(begin(c, c->sha, false), 0);
    assert_int_equal(aloft_update_feed(&c->u, c->fx.v2, c->fx.v2_len - 10), 0);
    assert_int_equal(aloft_update_finish(&c->u), ALOFT_ERR_SHORT);
    assert_int_equal(running, 0);

    assert_int_equal(begin(c, wrong, true), 0);
    assert_int_equal(aloft_update_feed(&c->u, c->fx.v2, c->fx.v2_len), 0);
    assert_int_equal(aloft_update_finish(&c->u), ALOFT_ERR_SHA256);
    assert_int_equal(running, 0);
}

static void test_native_without_login_finishes_hello(void **state)
{
    ctx_t *c = *state;
    static aloft_native_device_t d;
    aloft_native_verifier_t v;
    uint8_t salt[ALOFT_NATIVE_SALT_LEN] = {1, 2, 3};
    assert_int_equal(aloft_native_derive(&aloft_mbedtls_crypto, "hunter2", salt, 10, &v, NULL), 0);
    aloft_native_device_config_t dc = {.dev = &c->dev, .update = &c->u, .verifier = &v,
                                       .name = "t"};
    assert_int_equal(aloft_native_device_init(&d, &dc, 0x7F000001u, 0), 0);
    assert_true(aloft_native_device_state(&d) & ALOFT_NATIVE_HAS_TX);   /* HELLO is out */
    assert_int_equal(running, 1);   /* the HELLO hash waits for AUTH */
    aloft_native_device_peer_closed(&d, 100);
    assert_int_equal(running, 0);

    /* an open device keys the session at once: nothing waits */
    dc.verifier = NULL;
    dc.open = true;
    assert_int_equal(aloft_native_device_init(&d, &dc, 0x7F000001u, 0), 0);
    assert_int_equal(running, 0);
    aloft_native_device_tick(&d, ALOFT_NATIVE_LOGIN_TIMEOUT_MS + 1000);   /* times out */
    assert_int_equal(running, 0);
}

static void zeros_finish(aloft_hash_ctx_t *c, uint8_t *d)
{
    count_finish(c, d, &aloft_mbedtls_md5);
    memset(d, 0, 16);   /* what a PSA build without MD5 hands back */
}

/* The start-up self-test names the hash that computes wrongly. */
static void test_selftest_names_broken_hash(void **state)
{
    (void)state;
    const char *where = "x";
    assert_int_equal(aloft_crypto_selftest(&aloft_mbedtls_crypto, true, &where), 0);
    assert_null(where);
    aloft_hash_alg_t broken = aloft_mbedtls_md5;
    broken.init = md5_init, broken.finish = zeros_finish;
    aloft_crypto_t c = aloft_mbedtls_crypto;
    c.md5 = &broken;
    assert_int_equal(aloft_crypto_selftest(&c, false, &where), 0);   /* MD5 not needed */
    assert_int_equal(aloft_crypto_selftest(&c, true, &where), ALOFT_ERR_CRYPTO);
    assert_string_equal(where, "md5");
    c.sha256 = &broken;
    assert_int_equal(aloft_crypto_selftest(&c, false, &where), ALOFT_ERR_CRYPTO);
    assert_string_equal(where, "sha256");
    assert_int_equal(running, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_success_finishes_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_image_finishes_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_midway_finishes_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_and_mismatch_finish_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_native_without_login_finishes_hello, setup, teardown),
        cmocka_unit_test(test_selftest_names_broken_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
