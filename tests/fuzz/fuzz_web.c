/*
 * tests/fuzz/fuzz_web.c — libFuzzer target for the web API engine
 * (lib/web.c) serving a simulated device with a password.
 *
 * The input is a script of records: op byte, length byte, payload:
 *   op % 8: 0 a request: payload[0] % 3 the method, payload[1] the path
 *           (one of the routes, or the payload's text), the rest the query;
 *           payload[0] bit 2 drops the session cookie, bit 3 garbles the
 *           CSRF token; an exchange still open is cancelled first
 *           1 body bytes: the payload
 *           2 body bytes: len x 64 bytes of the real v2 image from the
 *             device's offset (so uploads can go on)
 *           3 finish the exchange
 *           4 time passes: len x 250 ms, then the engine's tick
 *           5 a real login (the client's half of the SCRAM exchange)
 *           6 a real begin of v2 (its size and SHA-256)
 *           7 the query of the next request is a real login answer with
 *             payload[0] flipping one bit of the proof
 * A finished update (a response asking for a restart) ends the script.
 * After every input: unless an update finished, otadata and the running
 * slot are as they were, and the app was resumed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/util.h"
#include "aloft/web.h"
#include "crypto_mbedtls.h"
#include "device.h"
#include "image_make.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PEER 0x0A000002u
#define OTADATA 0xe000u
#define APP0 0x10000u
#define SLOT 0x140000u

static sim_device_t sim;
static sim_checkpoint_t cp;
static aloft_crypto_t crypto;
static aloft_native_verifier_t verifier;
static uint8_t client_key[32];
static aloft_login_limiter_t limiter;
static aloft_web_t web;
static aloft_web_exchange_t x;
static uint8_t *image;
static size_t image_len;
static char image_sha[65];
static int paused;
static uint32_t now;
static bool open_exchange, finished;
static char cookie[40], csrf[40], answer_query[256];

static void on_pause(void *ctx) { (void)ctx; paused++; }
static void on_resume(void *ctx) { (void)ctx; paused--; }

/* Fixed randomness: the same input, the same run. */
static int fixed_random(void *ctx, void *out, size_t n)
{
    (void)ctx;
    memset(out, 0x42, n);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    image_spec_t v1 = {.chip_id = 0, .project = "fuzz", .version = "1", .size = 600};
    image_spec_t v2 = {.chip_id = 0, .project = "fuzz", .version = "2", .size = 3000, .seed = 7};
    uint8_t salt[16] = {0}, sha[32];
    size_t len;
    uint8_t *fw = image_make(&v1, &len);
    sim_config_t cfg = {.rollback = true, .confirm_after_ms = 0};
    if (sim_open_scratch(&sim, fw, len, &cfg) != 0)
        abort();
    image_free(fw);
    crypto = aloft_mbedtls_crypto;
    crypto.random = fixed_random;
    sim.dev.crypto = &crypto;
    aloft_quiesce_add(&sim.quiesce, "fuzz", on_pause, on_resume, NULL);
    if (aloft_native_derive(&crypto, "fuzz", salt, 1, &verifier, client_key) != 0)
        abort();
    image = image_make(&v2, &image_len);
    aloft_hash_oneshot(crypto.sha256, image, image_len, sha);
    aloft_hex(sha, 32, image_sha);
    cp.flash = malloc(sim.nor.size);
    sim_checkpoint(&sim, &cp, cp.flash);
    return 0;
}

static void finish(void)
{
    if (!open_exchange)
        return;
    open_exchange = false;
    const aloft_web_response_t *r = aloft_web_finish(&web, &x, now);
    if (r->reboot)
        finished = true;
    if (strncmp(r->set_cookie, "aloft_session=", 14) == 0) {
        snprintf(cookie, sizeof cookie, "%.32s", r->set_cookie + 14);
        const char *c = strstr(x.out, "\"csrf\":\"");
        if (c)
            snprintf(csrf, sizeof csrf, "%.32s", c + 8);
    }
}

static void request(aloft_web_method_t m, const char *path, const char *query, bool no_cookie,
                    bool bad_csrf)
{
    char token[40];
    if (open_exchange)
        aloft_web_cancel(&web, &x);
    snprintf(token, sizeof token, "%s", csrf);
    if (bad_csrf && token[0])
        token[0] ^= 1;
    aloft_web_request_t r = {.method = m, .path = path, .query = query,
                             .session = no_cookie || !cookie[0] ? NULL : cookie,
                             .csrf = token[0] ? token : NULL, .peer = PEER};
    aloft_web_start(&web, &x, &r, now);
    open_exchange = true;
}

/* The client's half of the login, flipping bit flip (>= 256: none). */
static void make_answer(unsigned flip)
{
    uint8_t msg[15 + 32], cnonce[32] = {1}, proof[32], am[32];
    char nonce[65], cn[65], pr[65];
    request(ALOFT_WEB_GET, "/api/login", NULL, false, false);
    finish();
    const char *p = strstr(x.out, "\"nonce\":\"");
    if (p == NULL) {
        answer_query[0] = '\0';
        return;
    }
    memcpy(nonce, p + 9, 64);
    nonce[64] = '\0';
    memcpy(msg, "aloft web login", 15);
    aloft_unhex(nonce, 64, msg + 15, 32);
    aloft_native_auth_message(crypto.sha256, msg, sizeof msg, cnonce, am);
    aloft_native_client_proof(crypto.sha256, client_key, am, proof);
    if (flip < 256)
        proof[flip / 8] ^= (uint8_t)(1u << (flip % 8));
    aloft_hex(cnonce, 32, cn);
    aloft_hex(proof, 32, pr);
    snprintf(answer_query, sizeof answer_query, "nonce=%s&cnonce=%s&proof=%s", nonce, cn, pr);
}

static void run(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"/", "/index.html", "/api/info", "/api/login",
                                        "/api/logout", "/api/update/begin", "/api/update/data",
                                        "/api/update/abort", "/api/rollback", "/api/confirm"};
    char text[320], path[64];
    size_t i = 0;
    while (i + 2 <= size && !finished) {
        uint8_t op = data[i], len = data[i + 1];
        const uint8_t *p = data + i + 2;
        if (len > size - i - 2)
            len = (uint8_t)(size - i - 2);
        i += 2u + len;
        switch (op % 8) {
        case 0: {
            uint8_t f = len ? p[0] : 0, which = len > 1 ? p[1] : 0;
            size_t ql = len > 2 ? len - 2u : 0;
            memcpy(text, len > 2 ? p + 2 : p, ql);
            text[ql] = '\0';
            const char *q = text;
            if (answer_query[0]) {   /* op 7 set it up */
                q = answer_query;
                which = 3;
                f = 1;
            }
            if (which < sizeof paths / sizeof paths[0]) {
                snprintf(path, sizeof path, "%s", paths[which]);
            } else {
                snprintf(path, sizeof path, "%.*s", (int)(ql < 63 ? ql : 63), text);
            }
            request((aloft_web_method_t)(f % 3), path, q, f & 4, f & 8);
            answer_query[0] = '\0';
            break;
        }
        case 1:
            if (open_exchange)
                aloft_web_body(&web, &x, p, len, now);
            break;
        case 2: {
            size_t off = sim.update.received, n = (size_t)len * 64u;
            if (open_exchange && off < image_len)
                aloft_web_body(&web, &x, image + off, n < image_len - off ? n : image_len - off,
                               now);
            break;
        }
        case 3: finish(); break;
        case 4:
            now += (uint32_t)len * 250u;
            aloft_web_tick(&web, now);
            break;
        case 5:
            make_answer(256);
            request(ALOFT_WEB_POST, "/api/login", answer_query, false, false);
            answer_query[0] = '\0';
            finish();
            break;
        case 6:
            snprintf(text, sizeof text, "target=app&size=%zu&sha256=%s", image_len, image_sha);
            request(ALOFT_WEB_POST, "/api/update/begin", text, false, false);
            finish();
            break;
        case 7: make_answer(len ? p[0] : 256); break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aloft_web_config_t wc = {.dev = &sim.dev, .update = &sim.update, .limiter = &limiter,
                             .verifier = &verifier};
    memset(&limiter, 0, sizeof limiter);
    if (aloft_web_init(&web, &wc) != 0)
        abort();
    now = 1000;
    open_exchange = finished = false;
    cookie[0] = csrf[0] = answer_query[0] = '\0';
    run(data, size);
    if (open_exchange)
        aloft_web_cancel(&web, &x);
    aloft_update_abort(&sim.update, ALOFT_ERR_ABORTED);
    if (!finished && (sim_changed(&sim, &cp, OTADATA, 0x2000) || sim_changed(&sim, &cp, APP0, SLOT)))
        abort();
    if (paused != 0)
        abort();
    sim_rewind(&sim, &cp);
    return 0;
}
