/*
 * tests/unit/test_espota_limits.c — what a flood can do to the espota
 * engine: logins share the native protocol's limiter (one budget), a
 * refused attempt costs no PBKDF2 derivation, a host that logged in before
 * still gets in; a pending login holds other inviters off for 1 s at most
 * and a host that never answers cannot keep the device refusing others;
 * refusal texts keep their numbers true for every partition of both
 * schemes and images of every size; a non-hex MD5 is refused without
 * undefined behaviour; init checks its arguments and the crypto it needs.
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
#include "aloft/util.h"
#include "crypto_mbedtls.h"
#include "native_peer.h"
#include "sim_fixture.h"

#define LEGIT 0xC0A80132u
#define OTHER 0xC0A80133u
#define HPORT 40000
#define MINUTE 60000u

static const char INVITE[] = "0 51234 70000 0123456789abcdef0123456789abcdef\n";

static int derivations;

/* PBKDF2 as the device has it, counted: the work a flood can cause. */
static int counting_pbkdf2(void *ctx, const void *pw, size_t pw_len, const void *salt,
                           size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
    derivations++;
    return aloft_mbedtls_crypto.pbkdf2_sha256(ctx, pw, pw_len, salt, salt_len, iterations, out,
                                              out_len);
}

typedef struct ctx {
    sim_fixture_t fx;
    aloft_crypto_t crypto;
    aloft_login_limiter_t limiter;
    aloft_espota_t e;
    char secret[ALOFT_ESPOTA_HEX_MAX];
    uint32_t now;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = simfx_ctx_new(sizeof *c, 60000, 70000);
    if (c == NULL)
        return -1;
    c->crypto = aloft_mbedtls_crypto;
    c->crypto.pbkdf2_sha256 = counting_pbkdf2;
    c->fx.sim.dev.crypto = &c->crypto;
    aloft_espota_secret(&c->crypto, ALOFT_ESPOTA_AUTH_PBKDF2, "admin", c->secret);
    aloft_espota_config_t cfg = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                                 .auth = ALOFT_ESPOTA_AUTH_PBKDF2, .secret = c->secret,
                                 .limiter = &c->limiter};
    if (aloft_espota_init(&c->e, &cfg) != 0)
        return -1;
    derivations = 0;
    c->now = 0xFFFFFFFFu - MINUTE;   /* across the wrap */
    *state = c;
    return 0;
}

/* The next action must be a datagram; returns its text (static). */
static const char *reply(ctx_t *c)
{
    static char text[128];
    aloft_espota_action_t a;
    assert_true(aloft_espota_next(&c->e, &a));
    assert_int_equal(a.kind, ALOFT_ESPOTA_ACT_UDP_SEND);
    assert_true(a.len < sizeof text);
    memcpy(text, a.data, a.len);
    text[a.len] = '\0';
    return text;
}

static void expect_nothing(ctx_t *c)
{
    aloft_espota_action_t a;
    assert_false(aloft_espota_next(&c->e, &a));
}

static void datagram(ctx_t *c, uint32_t ip, const char *text)
{
    aloft_espota_on_datagram(&c->e, c->now, ip, HPORT, text, strlen(text));
}

/* The "200 <cnonce> <response>" a host with this password sends for the
 * nonce in an "AUTH <nonce>" reply. */
static void answer_as(ctx_t *c, uint32_t ip, const char *auth, const char *password,
                      aloft_espota_auth_t secret_form)
{
    char h[ALOFT_ESPOTA_HEX_MAX], cn[ALOFT_ESPOTA_HEX_MAX], resp[ALOFT_ESPOTA_HEX_MAX], line[160];
    assert_memory_equal(auth, "AUTH ", 5);
    aloft_espota_secret(&aloft_mbedtls_crypto, secret_form, password, h);
    memset(cn, 'c', 64);
    cn[64] = '\0';
    aloft_espota_response(&aloft_mbedtls_crypto, ALOFT_ESPOTA_AUTH_PBKDF2, h, auth + 5, cn, resp);
    snprintf(line, sizeof line, "200 %s %s\n", cn, resp);
    datagram(c, ip, line);
}

static void answer(ctx_t *c, uint32_t ip, const char *auth, const char *password)
{
    answer_as(c, ip, auth, password, ALOFT_ESPOTA_AUTH_PBKDF2);
}

/* A whole login from ip, the password's secret in the given form: returns
 * the device's last answer. */
static const char *login_as(ctx_t *c, uint32_t ip, const char *password,
                            aloft_espota_auth_t secret_form)
{
    datagram(c, ip, INVITE);
    const char *r = reply(c);
    if (strncmp(r, "AUTH ", 5) != 0)
        return r;
    answer_as(c, ip, r, password, secret_form);
    return reply(c);
}

static const char *login(ctx_t *c, uint32_t ip, const char *password)
{
    return login_as(c, ip, password, ALOFT_ESPOTA_AUTH_PBKDF2);
}

/* A successful login leaves a connect-back to take; drop it again. */
static void hang_up(ctx_t *c)
{
    aloft_espota_action_t a;
    assert_true(aloft_espota_next(&c->e, &a));
    assert_int_equal(a.kind, ALOFT_ESPOTA_ACT_CONNECT);
    aloft_espota_on_connect(&c->e, c->now, false);
    assert_int_equal(aloft_espota_state(&c->e), ALOFT_ESPOTA_IDLE);
}

static uint32_t attacker(uint32_t i) { return (i * 2654435761u) ^ 0x0A000000u; }

/* ------------------------------------------------------------------ */
/* The limiter. */

static void test_flood_costs_bounded_derivations(void **state)
{
    ctx_t *c = *state;
    uint32_t guessed = 0;
    assert_string_equal(login(c, LEGIT, "admin"), "OK");   /* LEGIT logged in before */
    hang_up(c);
    derivations = 0;
    /* 3 minutes, a new address every 20 ms: 9000 wrong logins */
    for (uint32_t i = 0; i < 9000; i++, c->now += 20) {
        const char *r = login(c, attacker(i), "guess");
        if (strcmp(r, "Authentication Failed") == 0)
            guessed++;
        else
            assert_memory_equal(r, "ERR: too many logins, wait ", 27);
        if (i % 1500 == 0) {   /* the host that logged in before gets in all along */
            assert_string_equal(login(c, LEGIT, "admin"), "OK");
            hang_up(c);
        }
    }
    assert_int_equal(guessed, 10 + 29);   /* the budget, then one every 6 s */
    assert_int_equal(derivations, (int)guessed + 6);   /* nothing for a refused attempt */
}

/* Native and espota draw on one budget: native failures from many
 * addresses leave espota nothing to derive for strangers, and the other
 * way round. */
static void test_one_budget_for_both_protocols(void **state)
{
    ctx_t *c = *state;
    native_peer_t *p = calloc(1, sizeof *p);
    uint8_t salt[16] = {0}, right[32], wrong[32];
    aloft_native_verifier_t v, w;
    aloft_native_derive(&aloft_mbedtls_crypto, "admin", salt, 100, &v, right);
    aloft_native_derive(&aloft_mbedtls_crypto, "other", salt, 100, &w, wrong);
    aloft_native_device_config_t ncfg = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                                         .verifier = &v, .limiter = &c->limiter};
    for (uint32_t i = 0; i < ALOFT_LOGIN_BUDGET; i++)
        assert_int_equal(npeer_login(p, &ncfg, attacker(i), wrong, c->now, NULL), ALOFT_ERR_AUTH);
    int before = derivations;
    assert_string_equal(login(c, OTHER, "admin"), "ERR: too many logins, wait 6 s");
    assert_int_equal(derivations, before);
    c->now += ALOFT_LOGIN_REFILL_MS;
    assert_string_equal(login(c, attacker(100), "guess"), "Authentication Failed");
    assert_int_equal(npeer_login(p, &ncfg, OTHER, right, c->now, NULL), ALOFT_ERR_LOGIN_BUDGET);
    free(p);
}

/* The per-address lockout: refused at the invitation, before any nonce,
 * and so before any derivation; the same address and password work once
 * the wait is over. espota tries a wrong PBKDF2 password twice (the same
 * invitation again within 2 s): that counts as one failure. */
static void test_locked_out_host_gets_no_nonce(void **state)
{
    ctx_t *c = *state;
    for (int i = 0; i < 3; i++) {
        assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");
        assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");   /* 2nd try */
    }
    int before = derivations;
    assert_string_equal(login(c, OTHER, "admin"), "ERR: locked out, wait 1 s");
    expect_nothing(c);
    assert_int_equal(derivations, before);
    aloft_diag_t d;
    assert_true(aloft_espota_parse_refusal("ERR: locked out, wait 1 s", 25, &d));
    assert_int_equal(d.err, ALOFT_ERR_RATE);
    assert_int_equal(d.have, 1);
    c->now += 1000;
    assert_string_equal(login(c, OTHER, "admin"), "OK");
}

/* A device whose PBKDF2 secret is an MD5 hash (setPasswordHash): espota's
 * first try (SHA-256 form) always fails there, its second (MD5 form) is the
 * real one. After wrong passwords lock the host out, the first form of the
 * right one fails once more and its second form must still get through
 * (else the host could never log in again). Only the same invitation
 * within 2 s is a second try. */
static void test_second_try_of_an_md5_secret_device(void **state)
{
    ctx_t *c = *state;
    aloft_espota_secret(&aloft_mbedtls_crypto, ALOFT_ESPOTA_AUTH_MD5, "admin", c->secret);
    aloft_espota_config_t cfg = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                                 .auth = ALOFT_ESPOTA_AUTH_PBKDF2, .secret = c->secret,
                                 .limiter = &c->limiter};
    assert_int_equal(aloft_espota_init(&c->e, &cfg), 0);
    for (int i = 0; i < 3; i++, c->now += 60000) {   /* three wrong passwords, both forms */
        assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");
        assert_string_equal(login_as(c, OTHER, "guess", ALOFT_ESPOTA_AUTH_MD5),
                            "Authentication Failed");
    }
    c->now -= 60000;   /* the third failure locked OTHER out for 1 s */
    assert_string_equal(login(c, OTHER, "admin"), "ERR: locked out, wait 1 s");
    c->now += 1000;
    assert_string_equal(login(c, OTHER, "admin"), "Authentication Failed");   /* SHA-256 form */
    c->now += 30;
    assert_string_equal(login_as(c, OTHER, "admin", ALOFT_ESPOTA_AUTH_MD5), "OK");
    hang_up(c);
    /* a second try comes within 2 s, with the same invitation, once */
    assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");
    assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");   /* the 2nd try */
    assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");
    c->now += ALOFT_ESPOTA_RETRY_MS;
    assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");   /* too late: #3 */
    assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");   /* its 2nd try */
    assert_string_equal(login(c, OTHER, "guess"), "ERR: locked out, wait 1 s");
    /* another invitation is not a second try */
    c->now += 1000;
    assert_string_equal(login(c, OTHER, "guess"), "Authentication Failed");   /* #4: 2 s */
    datagram(c, OTHER, "0 51234 70001 0123456789abcdef0123456789abcdef\n");
    assert_string_equal(reply(c), "ERR: locked out, wait 2 s");
}

/* The budget can run out between the nonce and the answer: the answer is
 * then refused without a derivation. */
static void test_budget_spent_while_answering(void **state)
{
    ctx_t *c = *state;
    datagram(c, OTHER, INVITE);
    const char *auth = reply(c);
    char nonce[80];
    strcpy(nonce, auth);
    aloft_login_limiter_t *l = &c->limiter;
    for (uint32_t i = 0; i < ALOFT_LOGIN_BUDGET; i++)
        aloft_login_failed(l, attacker(i), c->now, false);   /* native failures meanwhile */
    int before = derivations;
    answer(c, OTHER, nonce, "admin");
    assert_memory_equal(reply(c), "ERR: too many logins, wait ", 27);
    assert_int_equal(derivations, before);
    assert_int_equal(aloft_espota_state(&c->e), ALOFT_ESPOTA_IDLE);
}

/* ------------------------------------------------------------------ */
/* Pending logins. */

/* The reported attack: one invitation every 8 s from a host that never
 * answers kept the device "busy" for everyone. */
static void test_pending_login_holds_for_a_second_only(void **state)
{
    ctx_t *c = *state;
    uint32_t t0 = c->now;
    datagram(c, OTHER, INVITE);   /* never answered */
    char stale[80];
    strcpy(stale, reply(c));
    c->now = t0 + ALOFT_ESPOTA_AUTH_HOLD_MS - 1;
    datagram(c, LEGIT, INVITE);
    assert_string_equal(reply(c), "ERR: busy");
    c->now = t0 + ALOFT_ESPOTA_AUTH_HOLD_MS;
    assert_string_equal(login(c, LEGIT, "admin"), "OK");
    /* the displaced host's answer, even a right one, changes nothing */
    answer(c, OTHER, stale, "admin");
    hang_up(c);
    expect_nothing(c);
}

static void test_reinviting_does_not_renew_the_hold(void **state)
{
    ctx_t *c = *state;
    uint32_t t0 = c->now;
    for (int i = 0; i < 20; i++) {   /* every 800 ms, for 16 s */
        c->now = t0 + 800u * (uint32_t)i;
        datagram(c, OTHER, INVITE);
        assert_memory_equal(reply(c), "AUTH ", 5);
        if (c->now - t0 >= ALOFT_ESPOTA_AUTH_HOLD_MS) {
            assert_string_equal(login(c, LEGIT, "admin"), "OK");   /* takes over */
            hang_up(c);
            return;
        }
        datagram(c, LEGIT, INVITE);
        assert_string_equal(reply(c), "ERR: busy");
    }
    fail();
}

/* A datagram that is not an answer does not end the pending login (it
 * used to, so a host could restart its hold at will). */
static void test_garbage_does_not_restart_the_hold(void **state)
{
    ctx_t *c = *state;
    uint32_t t0 = c->now;
    datagram(c, OTHER, INVITE);
    assert_memory_equal(reply(c), "AUTH ", 5);
    c->now = t0 + 900;
    datagram(c, OTHER, "hello");
    expect_nothing(c);
    datagram(c, OTHER, INVITE);   /* fresh nonce, same hold */
    assert_memory_equal(reply(c), "AUTH ", 5);
    c->now = t0 + ALOFT_ESPOTA_AUTH_HOLD_MS;
    assert_string_equal(login(c, LEGIT, "admin"), "OK");
}

/* A host that keeps inviting and never answers runs into the limiter:
 * every lapsed login counts as a failure, so after two it waits, and its
 * hold over others shrinks to nothing. */
static void test_never_answering_host_is_limited(void **state)
{
    ctx_t *c = *state;
    for (int i = 0; i < 3; i++) {
        datagram(c, OTHER, INVITE);
        assert_memory_equal(reply(c), "AUTH ", 5);
        c->now += ALOFT_ESPOTA_AUTH_TIMEOUT_MS;
        aloft_espota_tick(&c->e, c->now);
        assert_int_equal(aloft_espota_state(&c->e), ALOFT_ESPOTA_IDLE);
    }
    datagram(c, OTHER, INVITE);
    assert_string_equal(reply(c), "ERR: locked out, wait 1 s");
    assert_string_equal(login(c, LEGIT, "admin"), "OK");
}

/* A host that logged in before does not wait for a stranger's hold. */
static void test_known_host_takes_over_at_once(void **state)
{
    ctx_t *c = *state;
    assert_string_equal(login(c, LEGIT, "admin"), "OK");
    hang_up(c);
    datagram(c, OTHER, INVITE);
    assert_memory_equal(reply(c), "AUTH ", 5);
    c->now += 1;
    assert_string_equal(login(c, LEGIT, "admin"), "OK");
}

/* ------------------------------------------------------------------ */
/* Refusal texts and input checks. */

/* have/want survive the 32-byte text exactly: bytes where they fit, else
 * an exact K or M, else no number at all. */
static void expect_true_refusal(int err, uint32_t have, uint32_t want)
{
    aloft_diag_t d, back;
    char text[64];
    aloft_diag_set(&d, err, have, want, NULL);
    size_t n = aloft_espota_refusal(&d, text, sizeof text);
    assert_true(n <= ALOFT_ESPOTA_UDP_REPLY_MAX);
    assert_int_equal(strlen(text), n);
    assert_true(aloft_espota_parse_refusal(text, n, &back));
    assert_int_equal(back.err, err);
    if (back.have || back.want) {   /* numbers given must be the true ones */
        assert_int_equal(back.have, have);
        assert_int_equal(back.want, want);
    } else {
        assert_string_equal(text, "ERR: code -61");
    }
}

static void test_refusal_numbers_are_true(void **state)
{
    (void)state;
    aloft_ptable_t pt;
    uint32_t images[40];
    size_t ni = 0;
    for (uint32_t p = 1; p <= 1000000000u; p *= 10) {   /* every size class, 1 to 10 digits */
        images[ni++] = p;
        if (p <= 100000000u)
            images[ni++] = p * 10u - 1u;   /* 9, 99, 999 ... */
        images[ni++] = p * 4u + 1u;
    }
    images[ni++] = 0xFFFFFFFFu;
    images[ni++] = 0xFFFFFC00u;   /* a multiple of 1 KiB */
    images[ni++] = 1412096;
    for (aloft_scheme_t s = ALOFT_SCHEME_DEFAULT; s <= ALOFT_SCHEME_MIN_SPIFFS; s++) {
        assert_int_equal(aloft_ptable_scheme(&pt, s), 0);
        for (unsigned k = 0; k < pt.count; k++)
            for (size_t i = 0; i < ni; i++)
                expect_true_refusal(ALOFT_ERR_TOO_LARGE, images[i], pt.parts[k].size);
    }
    /* the one from the field: 4294967295 bytes for the 1 310 720-byte slot */
    aloft_diag_t d;
    char text[40];
    aloft_diag_set(&d, ALOFT_ERR_TOO_LARGE, 0xFFFFFFFFu, 1310720, NULL);
    aloft_espota_refusal(&d, text, sizeof text);
    assert_string_equal(text, "ERR: too large 4294967295>1280K");
    aloft_diag_set(&d, ALOFT_ERR_TOO_LARGE, 1412096, 1310720, NULL);
    aloft_espota_refusal(&d, text, sizeof text);
    assert_string_equal(text, "ERR: too large 1412096>1310720");   /* bytes while they fit */
    /* slots up to 16 MiB in 4 KiB steps, for the largest images */
    for (uint32_t slot = 4096; slot <= 16u << 20; slot += 4096) {
        expect_true_refusal(ALOFT_ERR_TOO_LARGE, 0xFFFFFFFFu, slot);
        expect_true_refusal(ALOFT_ERR_TOO_LARGE, 999999999u, slot);
    }
    /* no exact form fits: no number rather than a wrong one */
    expect_true_refusal(ALOFT_ERR_TOO_LARGE, 0xFFFFFFFFu, 16777215u);
    expect_true_refusal(ALOFT_ERR_SIZE, 0xFFFFFFFFu, 0);
    expect_true_refusal(ALOFT_ERR_RATE, 60, 0);
    expect_true_refusal(ALOFT_ERR_LOGIN_BUDGET, 6, 0);
    /* a short buffer cuts, never overflows */
    char small[8];
    assert_int_equal(aloft_espota_refusal(&d, small, sizeof small), 7);
    /* text that is not ours, or numbers out of range */
    assert_false(aloft_espota_parse_refusal("ERR: code -2147483648", 21, &d));
    assert_false(aloft_espota_parse_refusal("ERR: too large 4294967296>1", 27, &d));
    assert_false(aloft_espota_parse_refusal("ERR: too large 4194304K>1K", 26, &d));
    assert_true(aloft_espota_parse_refusal("ERR: too large 4194303K>1K", 26, &d));
    assert_int_equal(d.have, 0xFFFFFC00u);
}

/* The same through the engine: the size announced in the invitation. */
static void test_engine_refuses_with_true_numbers(void **state)
{
    ctx_t *c = *state;
    aloft_espota_config_t cfg = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update};
    assert_int_equal(aloft_espota_init(&c->e, &cfg), 0);
    datagram(c, LEGIT, "0 51234 4294967295 0123456789abcdef0123456789abcdef\n");
    assert_string_equal(reply(c), "ERR: too large 4294967295>1280K");
    datagram(c, LEGIT, "100 51234 4294967295 0123456789abcdef0123456789abcdef\n");
    assert_string_equal(reply(c), "ERR: too large 4294967295>1408K");
}

/* An MD5 field of 32 characters that are not hex: refused with a text,
 * and no shift of a negative nibble (UBSan stops the sanitizer build). */
static void test_non_hex_md5_is_refused(void **state)
{
    ctx_t *c = *state;
    aloft_espota_config_t cfg = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update};
    uint64_t ops = c->fx.sim.nor.count.erases + c->fx.sim.nor.count.progs;
    assert_int_equal(aloft_espota_init(&c->e, &cfg), 0);
    datagram(c, LEGIT, "0 51234 70000 zz23456789abcdef0123456789abcdef\n");
    assert_string_equal(reply(c), "ERR: bad md5 in invitation");
    datagram(c, LEGIT, "0 51234 70000 0123456789abcdef0123456789abcdeg\n");
    assert_string_equal(reply(c), "ERR: bad md5 in invitation");
    assert_int_equal(c->fx.sim.nor.count.erases + c->fx.sim.nor.count.progs, ops);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_IDLE);
}

static void test_init_checks_its_arguments(void **state)
{
    ctx_t *c = *state;
    aloft_espota_t e;
    aloft_device_t dev = c->fx.sim.dev;
    aloft_crypto_t crypto = aloft_mbedtls_crypto;
    aloft_espota_config_t cfg = {.dev = &dev, .update = &c->fx.sim.update,
                                 .auth = ALOFT_ESPOTA_AUTH_PBKDF2, .secret = c->secret};
    assert_int_equal(aloft_espota_init(&e, NULL), ALOFT_ERR_ARG);
    assert_int_equal(aloft_espota_init(NULL, &cfg), ALOFT_ERR_ARG);
    dev.crypto = NULL;
    assert_int_equal(aloft_espota_init(&e, &cfg), ALOFT_ERR_ARG);
    cfg.auth = ALOFT_ESPOTA_AUTH_NONE;
    assert_int_equal(aloft_espota_init(&e, &cfg), ALOFT_ERR_ARG);   /* invitations need MD5 */
    dev.crypto = &crypto;
    crypto.md5 = NULL;
    assert_int_equal(aloft_espota_init(&e, &cfg), ALOFT_ERR_ARG);
    crypto = aloft_mbedtls_crypto;
    crypto.pbkdf2_sha256 = NULL;
    assert_int_equal(aloft_espota_init(&e, &cfg), 0);               /* no login, no PBKDF2 */
    cfg.auth = ALOFT_ESPOTA_AUTH_PBKDF2;
    assert_int_equal(aloft_espota_init(&e, &cfg), ALOFT_ERR_ARG);
    crypto = aloft_mbedtls_crypto;
    crypto.random = NULL;
    assert_int_equal(aloft_espota_init(&e, &cfg), ALOFT_ERR_ARG);
    crypto = aloft_mbedtls_crypto;
    cfg.auth = (aloft_espota_auth_t)7;
    assert_int_equal(aloft_espota_init(&e, &cfg), ALOFT_ERR_ARG);
    cfg.auth = ALOFT_ESPOTA_AUTH_PBKDF2;
    assert_int_equal(aloft_espota_init(&e, &cfg), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, simfx_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_flood_costs_bounded_derivations),
        T(test_one_budget_for_both_protocols),
        T(test_locked_out_host_gets_no_nonce),
        T(test_second_try_of_an_md5_secret_device),
        T(test_budget_spent_while_answering),
        T(test_pending_login_holds_for_a_second_only),
        T(test_reinviting_does_not_renew_the_hold),
        T(test_garbage_does_not_restart_the_hold),
        T(test_never_answering_host_is_limited),
        T(test_known_host_takes_over_at_once),
        cmocka_unit_test(test_refusal_numbers_are_true),
        T(test_engine_refuses_with_true_numbers),
        T(test_non_hex_md5_is_refused),
        T(test_init_checks_its_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
