/*
 * tests/unit/test_login_limits.c — the failed-login limiter
 * (aloft/login_limit.h) and the native engine behind it, with as many
 * source addresses as an attacker likes: the per-peer schedule; at most
 * 10 + 10 per minute failed proofs from peers that never logged in,
 * whether they come from one address, nine (the eviction bypass of the old
 * 8-entry table), or hundreds of thousands of distinct 32-bit keys; peers
 * that logged in before are not held by that budget; one address cannot
 * spend it; everything across the 32-bit wrap of now_ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/login_limit.h"
#include "crypto_mbedtls.h"
#include "native_peer.h"
#include "sim_fixture.h"

#define MINUTE 60000u
#define LEGIT 0xC0A80132u   /* 192.168.1.50 */

/* Distinct keys for attacker i (never LEGIT, never repeating for 2^32 i). */
static uint32_t attacker(uint32_t i)
{
    return (i * 2654435761u) ^ 0x0A000000u;
}

/* ------------------------------------------------------------------ */
/* The limiter alone. */

static void expect_gate(aloft_login_limiter_t *l, uint32_t peer, uint32_t now, int err,
                         uint32_t wait)
{
    uint32_t w;
    assert_int_equal(aloft_login_check(l, peer, now, false, &w), err);
    assert_int_equal(w, wait);
}

static void test_per_peer_schedule(void **state)
{
    (void)state;
    aloft_login_limiter_t l;
    memset(&l, 0, sizeof l);
    uint32_t t = 5000;
    aloft_login_failed(&l, LEGIT, t, false);
    aloft_login_failed(&l, LEGIT, t, false);
    expect_gate(&l, LEGIT, t, 0, 0);   /* two in a row are free */
    aloft_login_failed(&l, LEGIT, t, false);
    expect_gate(&l, LEGIT, t, ALOFT_ERR_RATE, 1000);
    expect_gate(&l, LEGIT, t + 999, ALOFT_ERR_RATE, 1);
    expect_gate(&l, attacker(1), t, 0, 0);   /* others are not locked */
    /* each further failure doubles the wait, up to 60 s */
    static const uint32_t waits[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        t += 60000;   /* past the previous wait */
        expect_gate(&l, LEGIT, t, 0, 0);
        aloft_login_failed(&l, LEGIT, t, false);
        expect_gate(&l, LEGIT, t, ALOFT_ERR_RATE, waits[i]);
    }
    /* a success forgets the failures and makes the peer known */
    aloft_login_succeeded(&l, LEGIT);
    expect_gate(&l, LEGIT, t, 0, 0);
    assert_true(aloft_login_known(&l, LEGIT));
    assert_false(aloft_login_known(&l, attacker(1)));
}

/* An attacker tries as fast as it is allowed, from keys chosen by next,
 * for `minutes`; returns the proofs that were checked (each one fails).
 * Asserts that no 60 s window holds more than budget + refills. */
static uint32_t flood(aloft_login_limiter_t *l, uint32_t start, uint32_t minutes,
                      uint32_t (*next)(uint32_t i))
{
    static uint32_t at[4096];
    uint32_t checked = 0, wait;
    for (uint32_t i = 0, t = start; t - start < minutes * MINUTE; i++, t += 1) {
        if (aloft_login_check(l, next(i), t, false, &wait) != 0)
            continue;
        aloft_login_failed(l, next(i), t, false);
        assert_true(checked < sizeof at / sizeof at[0]);
        at[checked++] = t - start;
    }
    for (uint32_t a = 0, b = 0; a < checked; a++) {   /* sliding 60 s window */
        while (b < checked && at[b] - at[a] < MINUTE)
            b++;
        assert_true(b - a <= ALOFT_LOGIN_BUDGET + MINUTE / ALOFT_LOGIN_REFILL_MS);
    }
    return checked;
}

static uint32_t fresh_key(uint32_t i) { return attacker(i); }
static uint32_t nine_keys(uint32_t i) { return attacker(i % 9); }
static uint32_t one_key(uint32_t i) { (void)i; return attacker(7); }

static void test_budget_holds_whatever_the_addresses(void **state)
{
    (void)state;
    aloft_login_limiter_t l;
    /* 600 000 attempts from 600 000 distinct keys in 10 minutes: the
     * budget (10) plus one every 6 s after the first failure (99 refills
     * fall inside the 10 minutes), and not one more. */
    memset(&l, 0, sizeof l);
    uint32_t n = flood(&l, 1000, 10, fresh_key);
    assert_int_equal(n, ALOFT_LOGIN_BUDGET + 10 * MINUTE / ALOFT_LOGIN_REFILL_MS - 1);
    /* the nine-address cycle that emptied the old 8-entry table */
    memset(&l, 0, sizeof l);
    assert_true(flood(&l, 1000, 10, nine_keys) <= 110);
    /* one address: 8 in the first minute, then one a minute */
    memset(&l, 0, sizeof l);
    assert_int_equal(flood(&l, 1000, 1, one_key), 8);
    assert_int_equal(flood(&l, 1000 + MINUTE, 9, one_key), 9);
    /* across the wrap of now_ms */
    memset(&l, 0, sizeof l);
    assert_int_equal(flood(&l, 0xFFFFFFFFu - 3 * MINUTE, 6, fresh_key), 10 + 59);
}

/* While the budget is spent, a peer that logged in before gets its proof
 * checked at once; a peer never seen waits for the next refill (< 6 s);
 * the budget comes back by itself. */
static void test_known_peer_keeps_a_way_in(void **state)
{
    (void)state;
    aloft_login_limiter_t l;
    uint32_t wait;
    memset(&l, 0, sizeof l);
    aloft_login_succeeded(&l, LEGIT);
    flood(&l, 1000, 2, fresh_key);
    uint32_t t = 1000 + 2 * MINUTE - 1;   /* the flood's last millisecond */
    expect_gate(&l, LEGIT, t, 0, 0);
    assert_int_equal(aloft_login_check(&l, 0x0B000001u, t, false, &wait), ALOFT_ERR_LOGIN_BUDGET);
    assert_true(wait > 0 && wait <= ALOFT_LOGIN_REFILL_MS);
    /* a known peer's mistakes do not spend the device budget ... */
    aloft_login_failed(&l, LEGIT, t, false);
    aloft_login_failed(&l, LEGIT, t, false);
    expect_gate(&l, LEGIT, t, 0, 0);
    /* ... but its own limit holds */
    aloft_login_failed(&l, LEGIT, t, false);
    expect_gate(&l, LEGIT, t, ALOFT_ERR_RATE, 1000);
    /* a flood churning every counter does not reset a known peer's lockout */
    for (uint32_t i = 0; i < 5000; i++)
        aloft_login_failed(&l, attacker(100000 + i), t + 10, false);
    expect_gate(&l, LEGIT, t + 10, ALOFT_ERR_RATE, 990);
    /* after the flood: a minute later the whole budget is back */
    expect_gate(&l, 0x0B000001u, t + 10 + MINUTE, 0, 0);
}

/* One address failing as fast as it may never leaves others without a
 * check; its own waits grow to a minute. */
static void test_one_address_cannot_spend_the_budget(void **state)
{
    (void)state;
    aloft_login_limiter_t l;
    uint32_t wait;
    memset(&l, 0, sizeof l);
    for (uint32_t t = 1000; t < 1000 + 30 * MINUTE; t += 100) {
        if (aloft_login_check(&l, attacker(7), t, false, &wait) == 0)
            aloft_login_failed(&l, attacker(7), t, false);
        assert_int_equal(aloft_login_check(&l, attacker(t), t, false, &wait), 0);
    }
}

static void test_known_peers_are_the_last_four(void **state)
{
    (void)state;
    aloft_login_limiter_t l;
    memset(&l, 0, sizeof l);
    for (uint32_t i = 1; i <= 5; i++)
        aloft_login_succeeded(&l, i);
    assert_false(aloft_login_known(&l, 1));   /* the least recent went */
    for (uint32_t i = 2; i <= 5; i++)
        assert_true(aloft_login_known(&l, i));
    aloft_login_succeeded(&l, 2);             /* again: to the front, nothing lost */
    aloft_login_succeeded(&l, 6);
    assert_true(aloft_login_known(&l, 2));
    assert_false(aloft_login_known(&l, 3));
    assert_false(aloft_login_known(NULL, 2));
    uint32_t wait;
    assert_int_equal(aloft_login_check(NULL, 2, 0, false, &wait), 0);   /* no limiter, no limit */
}

/* ------------------------------------------------------------------ */
/* The native engine: thousands of connections from distinct addresses. */

typedef struct ctx {
    sim_fixture_t fx;
    aloft_native_verifier_t v;
    uint8_t right[32], wrong[32];
    aloft_login_limiter_t limiter;
    aloft_native_device_config_t cfg;
    native_peer_t peer;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = simfx_ctx_new(sizeof *c, 60000, 70000);
    uint8_t salt[16] = {1, 2, 3};
    aloft_native_verifier_t other;
    if (c == NULL)
        return -1;
    aloft_native_derive(&aloft_mbedtls_crypto, "right", salt, 100, &c->v, c->right);
    aloft_native_derive(&aloft_mbedtls_crypto, "wrong", salt, 100, &other, c->wrong);
    c->cfg = (aloft_native_device_config_t){.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                                            .verifier = &c->v, .limiter = &c->limiter};
    *state = c;
    return 0;
}

static void test_native_flood_from_thousands_of_addresses(void **state)
{
    ctx_t *c = *state;
    uint32_t t = 0xFFFFFFFFu - MINUTE, have, checked = 0, refused = 0;
    uint64_t ops = c->fx.sim.nor.count.erases + c->fx.sim.nor.count.progs;
    assert_int_equal(npeer_login(&c->peer, &c->cfg, LEGIT, c->right, t, NULL), 0);
    /* 5 minutes, a new address every 10 ms: 30 000 wrong logins */
    for (uint32_t i = 0; i < 30000; i++, t += 10) {
        int err = npeer_login(&c->peer, &c->cfg, attacker(i), c->wrong, t, &have);
        if (err == ALOFT_ERR_AUTH) {
            checked++;
        } else {
            assert_int_equal(err, ALOFT_ERR_LOGIN_BUDGET);
            assert_true(have >= 1 && have <= 6);   /* seconds, rounded up */
            refused++;
        }
        if (i % 1000 == 0)   /* the host that logged in before is never held back */
            assert_int_equal(npeer_login(&c->peer, &c->cfg, LEGIT, c->right, t, NULL), 0);
    }
    assert_int_equal(checked, 10 + 49);   /* the budget and a refill every 6 s after the first */
    assert_int_equal(checked + refused, 30000);
    /* a host never seen waits while the flood goes on (and is told how
     * long), and gets in once it stops */
    t -= 10;   /* the flood's last attempt */
    assert_int_equal(npeer_login(&c->peer, &c->cfg, 0x0B000001u, c->right, t, &have),
                     ALOFT_ERR_LOGIN_BUDGET);
    assert_int_equal(npeer_login(&c->peer, &c->cfg, 0x0B000001u, c->right, t + have * 1000, NULL),
                     0);
    assert_int_equal(c->fx.sim.nor.count.erases + c->fx.sim.nor.count.progs, ops);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, simfx_ctx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_peer_schedule),
        cmocka_unit_test(test_budget_holds_whatever_the_addresses),
        cmocka_unit_test(test_known_peer_keeps_a_way_in),
        cmocka_unit_test(test_one_address_cannot_spend_the_budget),
        cmocka_unit_test(test_known_peers_are_the_last_four),
        T(test_native_flood_from_thousands_of_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
