/*
 * tests/unit/test_web.c — the web API engine (lib/web.c) in process, on a
 * simulated device, with the clock in the test's hand: the login's
 * challenge rules (one answer, 10 s, the shared limiter), sessions and
 * CSRF tokens (missing, wrong, expired, evicted), the request parser's
 * refusals, the data stream's offset and one-at-a-time rules, the idle
 * timeout, and an upload to the end; the firmware is untouched by every
 * refusal.
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
#include "aloft/web.h"
#include "crypto_mbedtls.h"
#include "hmac.h"
#include "sim_fixture.h"

#define PEER 0xC0A80105u
#define APP0 0x10000u
#define APP1 0x150000u
#define SLOT 0x140000u
#define OTADATA 0xe000u

typedef struct ctx {
    sim_fixture_t fx;
    aloft_native_verifier_t v;
    uint8_t client_key[32];
    aloft_login_limiter_t limiter;
    aloft_web_t w;
    aloft_web_exchange_t x, x2;
    uint32_t now;
    char cookie[40], csrf[40];
    uint8_t *snap;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = simfx_ctx_new(sizeof *c, 60000, 70000);
    uint8_t salt[16] = {7};
    if (c == NULL)
        return -1;
    aloft_native_derive(&aloft_mbedtls_crypto, "pw", salt, 100, &c->v, c->client_key);
    aloft_web_config_t wc = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                             .limiter = &c->limiter, .verifier = &c->v};
    if (aloft_web_init(&c->w, &wc) != 0)
        return -1;
    c->now = 0xFFFFF000u;   /* timeouts fall across the wrap */
    c->snap = simfx_snapshot(&c->fx);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    free(c->snap);
    return simfx_ctx_teardown(state);
}

/* One request; the answer is NUL-terminated in x->out (JSON routes). */
static const aloft_web_response_t *call(ctx_t *c, aloft_web_exchange_t *x, aloft_web_method_t m,
                                        const char *path, const char *query, const void *body,
                                        size_t len)
{
    aloft_web_request_t r = {.method = m, .path = path, .query = query,
                             .session = c->cookie[0] ? c->cookie : NULL,
                             .csrf = c->csrf[0] ? c->csrf : NULL, .peer = PEER};
    uint32_t most = aloft_web_start(&c->w, x, &r, c->now);
    (void)most;
    if (len)
        aloft_web_body(&c->w, x, body, len, c->now);
    const aloft_web_response_t *resp = aloft_web_finish(&c->w, x, c->now);
    if (!resp->gzip)
        x->out[resp->len < sizeof x->out ? resp->len : sizeof x->out - 1] = '\0';
    return resp;
}

static const aloft_web_response_t *post(ctx_t *c, const char *path, const char *query)
{
    return call(c, &c->x, ALOFT_WEB_POST, path, query, NULL, 0);
}

static void has(const ctx_t *c, const char *text)
{
    if (strstr(c->x.out, text) == NULL)
        fail_msg("answer %s lacks %s", c->x.out, text);
}

/* "name":"<hex>" of the last answer into out. */
static void field(const ctx_t *c, const char *name, char *out, size_t n)
{
    char key[24];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *p = strstr(c->x.out, key);
    assert_non_null(p);
    p += strlen(key);
    size_t len = strcspn(p, "\"");
    assert_true(len < n);
    memcpy(out, p, len);
    out[len] = '\0';
}

/* The client's half of the login for challenge nonce (hex) into query. */
static void answer(const ctx_t *c, const char *nonce_hex, const uint8_t key[32], char *query,
                   size_t n, uint8_t am[32])
{
    const aloft_hash_alg_t *sha = aloft_mbedtls_crypto.sha256;
    uint8_t msg[15 + 32], cnonce[32], proof[32];
    char cn[65], pr[65];
    memset(cnonce, 0x5A, sizeof cnonce);
    memcpy(msg, "aloft web login", 15);
    assert_true(aloft_unhex(nonce_hex, 64, msg + 15, 32));
    aloft_native_auth_message(sha, msg, sizeof msg, cnonce, am);
    aloft_native_client_proof(sha, key, am, proof);
    aloft_hex(cnonce, 32, cn);
    aloft_hex(proof, 32, pr);
    snprintf(query, n, "nonce=%s&cnonce=%s&proof=%s", nonce_hex, cn, pr);
    (void)c;
}

/* Log in with key; returns the HTTP status (cookie and csrf kept on 200). */
static int login_with(ctx_t *c, const uint8_t key[32])
{
    char nonce[65], query[256];
    uint8_t am[32];
    assert_int_equal(call(c, &c->x, ALOFT_WEB_GET, "/api/login", NULL, NULL, 0)->status, 200);
    field(c, "nonce", nonce, sizeof nonce);
    answer(c, nonce, key, query, sizeof query, am);
    const aloft_web_response_t *r = post(c, "/api/login", query);
    if (r->status == 200) {
        char sig[65], want[65];
        uint8_t s[32];
        field(c, "signature", sig, sizeof sig);
        aloft_hmac(aloft_mbedtls_crypto.sha256, c->v.server_key, 32, am, 32, s);
        aloft_hex(s, 32, want);
        assert_string_equal(sig, want);   /* the device proves it knows the password */
        field(c, "csrf", c->csrf, sizeof c->csrf);
        assert_true(strncmp(r->set_cookie, "aloft_session=", 14) == 0);
        assert_non_null(strstr(r->set_cookie, "; Path=/; HttpOnly; SameSite=Strict"));
        snprintf(c->cookie, sizeof c->cookie, "%.32s", r->set_cookie + 14);
    }
    return r->status;
}

static void firmware_untouched(const ctx_t *c)
{
    assert_true(simfx_same(&c->fx, c->snap, OTADATA, 0x2000));
    assert_true(simfx_same(&c->fx, c->snap, APP0, SLOT));
    assert_true(simfx_same(&c->fx, c->snap, APP1, SLOT));
}

static void test_login(void **state)
{
    ctx_t *c = *state;
    uint8_t wrong[32];
    char nonce[65], query[256];
    uint8_t am[32];
    memset(wrong, 1, sizeof wrong);
    assert_int_equal(login_with(c, c->client_key), 200);

    /* A challenge answers once, within 10 s; neither costs an attempt. */
    call(c, &c->x, ALOFT_WEB_GET, "/api/login", NULL, NULL, 0);
    field(c, "nonce", nonce, sizeof nonce);
    answer(c, nonce, c->client_key, query, sizeof query, am);
    assert_int_equal(post(c, "/api/login", query)->status, 200);
    assert_int_equal(post(c, "/api/login", query)->status, 409);
    has(c, "\"code\":-10");
    has(c, "\"where\":\"login\"");
    call(c, &c->x, ALOFT_WEB_GET, "/api/login", NULL, NULL, 0);
    field(c, "nonce", nonce, sizeof nonce);
    answer(c, nonce, c->client_key, query, sizeof query, am);
    c->now += ALOFT_WEB_CHALLENGE_MS + 1;
    assert_int_equal(post(c, "/api/login", query)->status, 409);
    assert_int_equal(post(c, "/api/login", "nonce=zz")->status, 400);

    /* Wrong proofs: the limiter's per-peer rule (2 free, then locked). */
    assert_int_equal(login_with(c, wrong), 401);
    has(c, "\"code\":-81");
    assert_int_equal(login_with(c, wrong), 401);
    assert_int_equal(login_with(c, wrong), 401);
    assert_int_equal(login_with(c, c->client_key), 429);
    has(c, "\"code\":-84");
    has(c, "\"wait_s\":1");
    c->now += 1000;
    assert_int_equal(login_with(c, c->client_key), 200);
    firmware_untouched(c);
}

static void test_sessions(void **state)
{
    ctx_t *c = *state;
    char first[40], csrf[40];
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 403);
    has(c, "\"where\":\"session\"");
    assert_int_equal(login_with(c, c->client_key), 200);
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 200);
    strcpy(csrf, c->csrf);
    c->csrf[0] = c->csrf[0] == '0' ? '1' : '0';
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 403);
    has(c, "\"where\":\"CSRF token\"");
    has(c, "not logged in: the request has no valid CSRF token");
    c->csrf[0] = '\0';
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 403);
    strcpy(c->csrf, csrf);

    /* 30 minutes unused end it; use keeps it. */
    c->now += ALOFT_WEB_SESSION_MS - 1;
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 200);
    c->now += ALOFT_WEB_SESSION_MS + 1;
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 403);

    /* Two sessions; a third login ends the one used longest ago. */
    assert_int_equal(login_with(c, c->client_key), 200);
    strcpy(first, c->cookie);
    strcpy(csrf, c->csrf);
    c->now += 10;
    assert_int_equal(login_with(c, c->client_key), 200);
    c->now += 10;
    assert_int_equal(login_with(c, c->client_key), 200);
    strcpy(c->cookie, first);
    strcpy(c->csrf, csrf);
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 403);
    assert_int_equal(post(c, "/api/logout", NULL)->status, 403);
    firmware_untouched(c);
}

static void test_requests(void **state)
{
    ctx_t *c = *state;
    char q[400];
    assert_int_equal(call(c, &c->x, ALOFT_WEB_GET, "/nope", NULL, NULL, 0)->status, 404);
    assert_int_equal(call(c, &c->x, ALOFT_WEB_GET, "/", NULL, NULL, 0)->status, 404);   /* no page built in */
    has(c, "\"where\":\"page\"");
    assert_int_equal(call(c, &c->x, ALOFT_WEB_POST, "/api/info", NULL, NULL, 0)->status, 405);
    assert_int_equal(call(c, &c->x, ALOFT_WEB_OTHER, "/", NULL, NULL, 0)->status, 405);
    assert_int_equal(login_with(c, c->client_key), 200);
    post(c, "/api/update/begin", "target=app&size=70000");
    has(c, "\"where\":\"sha256\"");
    post(c, "/api/update/begin", "target=boot&size=70000");
    has(c, "\"where\":\"target\"");
    snprintf(q, sizeof q, "target=app&size=7e4&sha256=%064d", 0);
    post(c, "/api/update/begin", q);
    has(c, "\"where\":\"size\"");
    snprintf(q, sizeof q, "target=app&size=4294967296&sha256=%064d", 0);
    post(c, "/api/update/begin", q);
    has(c, "\"where\":\"size\"");
    memset(q, 'a', 300);
    q[300] = '\0';
    assert_int_equal(post(c, "/api/update/begin", q)->status, 400);
    has(c, "\"where\":\"query\"");
    snprintf(q, sizeof q, "target=app&size=2000000&sha256=%064d", 0);
    assert_int_equal(post(c, "/api/update/begin", q)->status, 422);
    has(c, "image is larger than the slot: image is 2 000 000 bytes, slot app1 holds 1 310 720");
    has(c, "\"have\":2000000,\"want\":1310720,\"where\":\"app1\"");
    /* A signature block longer than any is refused as one. */
    uint8_t big[ALOFT_SIG_BLOCK_MAX + 1] = {0};
    snprintf(q, sizeof q, "target=app&size=70000&sha256=%064d", 0);
    call(c, &c->x, ALOFT_WEB_POST, "/api/update/begin", q, big, sizeof big);
    has(c, "\"code\":-70");
    assert_int_equal(post(c, "/api/update/data", "offset=0")->status, 409);
    has(c, "\"where\":\"no upload\"");
    firmware_untouched(c);
}

static void begin_v2(ctx_t *c)
{
    uint8_t sha[32];
    char hex[65], q[160];
    aloft_hash_oneshot(aloft_mbedtls_crypto.sha256, c->fx.v2, c->fx.v2_len, sha);
    aloft_hex(sha, 32, hex);
    snprintf(q, sizeof q, "target=app&size=%zu&sha256=%s", c->fx.v2_len, hex);
    assert_int_equal(post(c, "/api/update/begin", q)->status, 200);
    has(c, "\"slot\":\"app1\",\"received\":0");
}

static void test_upload(void **state)
{
    ctx_t *c = *state;
    char q[40];
    assert_int_equal(login_with(c, c->client_key), 200);
    begin_v2(c);
    assert_int_equal(post(c, "/api/update/begin", "target=app")->status, 400);

    /* Only at the device's offset, one data request at a time. */
    call(c, &c->x, ALOFT_WEB_POST, "/api/update/data", "offset=5", c->fx.v2, 100);
    has(c, "\"have\":5,\"want\":0,\"where\":\"offset\"");
    aloft_web_request_t r = {.method = ALOFT_WEB_POST, .path = "/api/update/data",
                             .query = "offset=0", .session = c->cookie, .csrf = c->csrf,
                             .peer = PEER};
    assert_int_equal(aloft_web_start(&c->w, &c->x2, &r, c->now), ALOFT_WEB_CHUNK_MAX);
    aloft_web_body(&c->w, &c->x2, c->fx.v2, 1000, c->now);
    call(c, &c->x, ALOFT_WEB_POST, "/api/update/data", "offset=0", c->fx.v2, 100);
    has(c, "\"code\":-9");
    aloft_web_cancel(&c->w, &c->x2);   /* the first went away after 1000 bytes */
    call(c, &c->x, ALOFT_WEB_GET, "/api/info", NULL, NULL, 0);
    has(c, "\"update\":{\"state\":\"receiving\",\"web\":true,\"target\":\"app\",\"received\":1000");

    /* The rest in chunks from where the device is. */
    uint32_t off = 1000;
    while (off < c->fx.v2_len) {
        size_t n = c->fx.v2_len - off < 20000 ? c->fx.v2_len - off : 20000;
        snprintf(q, sizeof q, "offset=%u", off);
        const aloft_web_response_t *resp =
            call(c, &c->x, ALOFT_WEB_POST, "/api/update/data", q, c->fx.v2 + off, n);
        assert_int_equal(resp->status, 200);
        off += (uint32_t)n;
        if (off < c->fx.v2_len) {
            has(c, "\"done\":false");
            assert_false(resp->reboot);
        } else {
            has(c, "\"done\":true,\"slot\":\"app1\",\"version\":\"2.0.0\",\"reboot\":true");
            assert_true(resp->reboot);
        }
    }
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_DONE);
    assert_true(simfx_same(&c->fx, c->snap, APP0, SLOT));
    /* Until the restart, nothing else may start. */
    assert_int_equal(post(c, "/api/update/begin", "target=app&size=70000&sha256="
                          "0000000000000000000000000000000000000000000000000000000000000000")->status,
                     409);
    has(c, "\"code\":-9");
}

static void test_idle(void **state)
{
    ctx_t *c = *state;
    uint8_t chunk[ALOFT_WEB_CHUNK_MAX];
    assert_int_equal(login_with(c, c->client_key), 200);
    begin_v2(c);
    c->now += ALOFT_WEB_IDLE_MS;
    aloft_web_tick(&c->w, c->now);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_RECEIVING);
    c->now += 1;
    aloft_web_tick(&c->w, c->now);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
    call(c, &c->x, ALOFT_WEB_GET, "/api/info", NULL, NULL, 0);
    has(c, "\"last\":{\"code\":-10");

    /* A chunk above the largest is refused (the bytes beyond it not fed). */
    begin_v2(c);
    memcpy(chunk, c->fx.v2, sizeof chunk);
    aloft_web_request_t r = {.method = ALOFT_WEB_POST, .path = "/api/update/data",
                             .query = "offset=0", .session = c->cookie, .csrf = c->csrf,
                             .peer = PEER};
    aloft_web_start(&c->w, &c->x, &r, c->now);
    aloft_web_body(&c->w, &c->x, chunk, sizeof chunk, c->now);
    aloft_web_body(&c->w, &c->x, chunk, 1, c->now);
    aloft_web_finish(&c->w, &c->x, c->now);
    has(c, "\"where\":\"chunk\"");
    assert_int_equal(c->fx.sim.update.received, ALOFT_WEB_CHUNK_MAX);
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 200);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
    /* A logout ends the session's upload with it. */
    begin_v2(c);
    assert_int_equal(post(c, "/api/logout", NULL)->status, 200);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 403);
    assert_true(simfx_same(&c->fx, c->snap, OTADATA, 0x2000));
    assert_true(simfx_same(&c->fx, c->snap, APP0, SLOT));
}

static void test_open_device(void **state)
{
    ctx_t *c = *state;
    aloft_web_config_t wc = c->w.cfg;
    wc.verifier = NULL;
    wc.page_gz = (const uint8_t *)"\x1f\x8b";
    wc.page_gz_len = 2;
    aloft_web_init(&c->w, &wc);
    call(c, &c->x, ALOFT_WEB_GET, "/api/login", NULL, NULL, 0);
    has(c, "{\"open\":true,\"ok\":true}");
    const aloft_web_response_t *r = post(c, "/api/login", NULL);
    assert_int_equal(r->status, 200);
    field(c, "csrf", c->csrf, sizeof c->csrf);
    snprintf(c->cookie, sizeof c->cookie, "%.32s", r->set_cookie + 14);
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 200);
    c->csrf[0] = '\0';   /* the CSRF token guards an open device too */
    assert_int_equal(post(c, "/api/update/abort", NULL)->status, 403);
    r = call(c, &c->x, ALOFT_WEB_GET, "/", NULL, NULL, 0);
    assert_true(r->gzip);
    assert_int_equal(r->len, 2);
    call(c, &c->x, ALOFT_WEB_GET, "/api/info", NULL, NULL, 0);
    has(c, "\"auth\":false,\"signed\":false,\"running\":0,\"slots\":[ {\"label\":\"app0\"");
    has(c, "\"project\":\"demo\",\"version\":\"1.0.0\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_device, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
