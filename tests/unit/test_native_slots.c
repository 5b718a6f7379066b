/*
 * tests/unit/test_native_slots.c — connections that never log in cannot
 * keep the native protocol to themselves: the whole login has a deadline
 * (10 s from HELLO, however slowly its bytes trickle in), and when every
 * slot is taken a new connection displaces the oldest one that is not
 * logged in (aloft_native_admit), never a logged-in session, and a host
 * that logged in before is displaced only by another such host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto_mbedtls.h"
#include "native_peer.h"
#include "sim_fixture.h"

#define LEGIT 0xC0A80132u
#define SLOW1 0x0A000001u
#define SLOW2 0x0A000002u
#define SLOW3 0x0A000003u

typedef struct ctx {
    sim_fixture_t fx;
    aloft_native_verifier_t v;
    uint8_t key[32];
    aloft_login_limiter_t limiter;
    aloft_native_device_config_t cfg, open_cfg;
    native_peer_t p[3];
    uint32_t now;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = simfx_ctx_new(sizeof *c, 60000, 70000);
    uint8_t salt[16] = {9};
    if (c == NULL)
        return -1;
    aloft_native_derive(&aloft_mbedtls_crypto, "pw", salt, 100, &c->v, c->key);
    c->cfg = (aloft_native_device_config_t){.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                                            .verifier = &c->v, .limiter = &c->limiter};
    c->open_cfg = c->cfg;
    c->open_cfg.verifier = NULL;
    c->open_cfg.open = true;
    c->now = 0xFFFFF000u;   /* the deadline falls across the wrap */
    *state = c;
    return 0;
}

static bool closed(const native_peer_t *p)
{
    return aloft_native_device_state(&p->d) & ALOFT_NATIVE_CLOSED;
}

static void expect_error(native_peer_t *p, int code, const char *where)
{
    aloft_native_msg_t m;
    assert_int_equal(npeer_reply(p, &m), ALOFT_MSG_ERROR);
    assert_int_equal(m.u.error.code, code);
    if (where)
        assert_string_equal(m.u.error.where.s, where);
    assert_true(closed(p));
}

/* The reported attack: a byte every 9 s used to reset the 10 s timer for
 * ever; now the login is over 10 s after HELLO. */
static void test_login_deadline_is_not_per_byte(void **state)
{
    ctx_t *c = *state;
    native_peer_t *p = &c->p[0];
    static const uint8_t auth_head[4] = {ALOFT_MSG_AUTH, 0, 64, 0};
    assert_int_equal(npeer_connect(p, &c->cfg, SLOW1, c->now), 0);
    for (int i = 0; i < 4 && !closed(p); i++) {
        c->now += 9000;
        aloft_native_device_tick(&p->d, c->now);
        npeer_push(p, &auth_head[i], 1, c->now);
        aloft_native_device_tick(&p->d, c->now);
    }
    assert_true(closed(p));
    expect_error(p, ALOFT_ERR_TIMEOUT, "login");
    /* to the millisecond: 9.999 s is still in time */
    assert_int_equal(npeer_connect(p, &c->cfg, SLOW1, c->now), 0);
    npeer_push(p, auth_head, 2, c->now + 5000);
    aloft_native_device_tick(&p->d, c->now + ALOFT_NATIVE_LOGIN_TIMEOUT_MS - 1);
    assert_false(closed(p));
    aloft_native_device_tick(&p->d, c->now + ALOFT_NATIVE_LOGIN_TIMEOUT_MS);
    expect_error(p, ALOFT_ERR_TIMEOUT, "login");
}

/* An open device has no AUTH, but the same deadline for its first OFFER. */
static void test_open_device_deadline(void **state)
{
    ctx_t *c = *state;
    native_peer_t *p = &c->p[0];
    static const uint8_t offer_head[2] = {ALOFT_MSG_OFFER, 0};
    assert_int_equal(npeer_connect(p, &c->open_cfg, SLOW1, c->now), 0);
    npeer_push(p, &offer_head[0], 1, c->now + 6000);
    aloft_native_device_tick(&p->d, c->now + 9000);
    npeer_push(p, &offer_head[1], 1, c->now + 9000);
    aloft_native_device_tick(&p->d, c->now + 10000);
    assert_true(closed(p));
}

/* After the login the idle timeout is what counts, as before. */
static void test_logged_in_session_has_no_deadline(void **state)
{
    ctx_t *c = *state;
    native_peer_t *p = &c->p[0];
    aloft_native_msg_t m;
    assert_int_equal(npeer_connect(p, &c->cfg, LEGIT, c->now), 0);
    npeer_auth(p, c->key, c->now + 9000);
    assert_int_equal(npeer_reply(p, &m), ALOFT_MSG_AUTH_OK);
    aloft_native_device_tick(&p->d, c->now + 18999);
    assert_false(closed(p));
    aloft_native_device_tick(&p->d, c->now + 19000);   /* 10 s of silence after AUTH */
    assert_true(closed(p));
}

/* ------------------------------------------------------------------ */
/* Admission. */

/* The engines of the slots, NULL where p[i] is not in use. */
static void slots(ctx_t *c, const bool used[3], aloft_native_device_t *conn[3])
{
    for (int i = 0; i < 3; i++)
        conn[i] = used[i] ? &c->p[i].d : NULL;
}

static void test_newcomer_displaces_the_oldest_unfinished_login(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t *conn[3];
    bool used[3] = {true, true, false};
    aloft_native_msg_t m;
    /* two slow connections hold both slots */
    assert_int_equal(npeer_connect(&c->p[0], &c->cfg, SLOW1, c->now), 0);
    assert_int_equal(npeer_connect(&c->p[1], &c->cfg, SLOW2, c->now + 100), 0);
    slots(c, used, conn);
    /* a free slot first */
    used[1] = false;
    slots(c, used, conn);
    assert_int_equal(aloft_native_admit(conn, 2, &c->limiter, LEGIT, c->now + 200), 1);
    used[1] = true;
    slots(c, used, conn);
    /* full: the older slow one gives way, told why */
    int i = aloft_native_admit(conn, 2, &c->limiter, LEGIT, c->now + 200);
    assert_int_equal(i, 0);
    aloft_native_device_evict(&c->p[0].d, c->now + 200);
    expect_error(&c->p[0], ALOFT_ERR_CROWDED, NULL);
    /* the newcomer logs in there */
    assert_int_equal(npeer_connect(&c->p[0], &c->cfg, LEGIT, c->now + 200), 0);
    npeer_auth(&c->p[0], c->key, c->now + 300);
    assert_int_equal(npeer_reply(&c->p[0], &m), ALOFT_MSG_AUTH_OK);
    /* more newcomers displace the other unfinished login, never the session */
    for (uint32_t k = 0; k < 50; k++) {
        uint32_t t = c->now + 400 + k;
        assert_int_equal(aloft_native_admit(conn, 2, &c->limiter, SLOW3 + k, t), 1);
        aloft_native_device_evict(&c->p[1].d, t);
        assert_int_equal(npeer_connect(&c->p[1], &c->cfg, SLOW3 + k, t), 0);
    }
    assert_false(closed(&c->p[0]));
    /* both slots logged in: a newcomer is turned away */
    npeer_auth(&c->p[1], c->key, c->now + 500);
    assert_int_equal(npeer_reply(&c->p[1], &m), ALOFT_MSG_AUTH_OK);
    assert_int_equal(aloft_native_admit(conn, 2, &c->limiter, SLOW1, c->now + 600), -1);
    /* a session that is over gives its slot at once */
    aloft_native_device_peer_closed(&c->p[1].d, c->now + 700);
    assert_int_equal(aloft_native_admit(conn, 2, &c->limiter, SLOW1, c->now + 700), 1);
}

/* A host that logged in before is not pushed out by others before it
 * logs in again; it can push out anyone who has not logged in. */
static void test_known_host_keeps_its_slot(void **state)
{
    ctx_t *c = *state;
    aloft_native_device_t *conn[3];
    bool used[3] = {true, true, false};
    assert_int_equal(npeer_login(&c->p[0], &c->cfg, LEGIT, c->key, c->now, NULL), 0);
    assert_int_equal(npeer_connect(&c->p[0], &c->cfg, LEGIT, c->now), 0);       /* oldest */
    assert_int_equal(npeer_connect(&c->p[1], &c->cfg, SLOW1, c->now + 100), 0);
    slots(c, used, conn);
    for (uint32_t k = 0; k < 20; k++) {   /* strangers take turns in slot 1 */
        assert_int_equal(aloft_native_admit(conn, 2, &c->limiter, SLOW2 + k, c->now + 200), 1);
        aloft_native_device_evict(&c->p[1].d, c->now + 200);
        assert_int_equal(npeer_connect(&c->p[1], &c->cfg, SLOW2 + k, c->now + 200), 0);
    }
    assert_false(closed(&c->p[0]));
    /* with a second known host's unfinished login there, strangers wait */
    assert_int_equal(npeer_login(&c->p[1], &c->cfg, SLOW1, c->key, c->now + 300, NULL), 0);
    assert_int_equal(npeer_connect(&c->p[1], &c->cfg, SLOW1, c->now + 300), 0);
    assert_int_equal(aloft_native_admit(conn, 2, &c->limiter, SLOW2, c->now + 400), -1);
    /* a known newcomer takes the oldest unfinished one */
    assert_int_equal(aloft_native_admit(conn, 2, &c->limiter, LEGIT, c->now + 400), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, simfx_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_login_deadline_is_not_per_byte),
        T(test_open_device_deadline),
        T(test_logged_in_session_has_no_deadline),
        T(test_newcomer_displaces_the_oldest_unfinished_login),
        T(test_known_host_keeps_its_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
