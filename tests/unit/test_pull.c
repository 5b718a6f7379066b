/*
 * tests/unit/test_pull.c — the pull engine's decisions (aloft/pull.h) on a
 * simulated device, with the test as the HTTP port: which range it asks
 * for, which responses it refuses (and that a refusal leaves the flash
 * byte-identical), the retry schedule, resume after a cut and after a
 * power cut (RAM lost, the journal kept); and delta patches: the one from
 * the running image pulled, nothing begun before its header is checked,
 * a cut resumed at the exact patch byte, a patch for another base or a
 * tampered one giving way to the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/pull.h"
#include "crypto_mbedtls.h"
#include "delta_host.h"
#include "image_make.h"
#include "inflate_zlib.h"
#include "sim_fixture.h"

#define SIZE2 300000u

typedef struct ctx {
    sim_fixture_t fx;
    aloft_pull_t p;
    aloft_pull_release_t rel;
    uint64_t now;
    /* patches */
    aloft_pull_patch_t patch;
    aloft_native_delta_t stage;
    inflate_zlib_t zst;
    aloft_inflate_t z;
    aloft_pull_delta_t delta;   /* .stage NULL: files only */
    uint8_t *pbytes;            /* the patch v1 -> v2 (the fixture's, made once) */
    size_t plen;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = simfx_ctx_new(sizeof *c, 100000, SIZE2);
    if (c == NULL)
        return -1;
    c->rel.url = "http://files.lan/demo/2.0.0/demo.bin";
    c->rel.size = (uint32_t)c->fx.v2_len;
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->fx.v2, c->fx.v2_len, c->rel.sha256);
    *state = c;
    return 0;
}

static int start(ctx_t *c)
{
    return aloft_pull_start(&c->p, &c->fx.sim.dev, &c->fx.sim.update, &c->rel, NULL,
                            c->delta.stage ? &c->delta : NULL);
}

/* The port's side of one request: expect REQUEST of url from `from`. */
static void expect_get(ctx_t *c, const char *url, uint32_t from)
{
    aloft_pull_next_t n;
    assert_int_equal(aloft_pull_poll(&c->p, c->now, &n), ALOFT_PULL_REQUEST);
    assert_string_equal(n.url, url);
    assert_int_equal(n.from, from);
    assert_int_equal(aloft_pull_poll(&c->p, c->now, NULL), ALOFT_PULL_RECEIVING);
}

static void expect_request(ctx_t *c, uint32_t from)
{
    expect_get(c, c->rel.url, from);
}

/* Body bytes [from, to) of data in 1460-byte pieces. */
static void body(ctx_t *c, const uint8_t *data, uint32_t from, uint32_t to)
{
    for (uint32_t off = from; off < to; off += 1460) {
        uint32_t n = to - off < 1460 ? to - off : 1460;
        assert_int_equal(aloft_pull_body(&c->p, data + off, n), 0);
    }
}

static aloft_pull_status_t status(const ctx_t *c)
{
    aloft_pull_status_t st;
    aloft_pull_status(&c->p, &st);
    return st;
}

static void expect_booted_v2(ctx_t *c)
{
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 1);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
}

static void test_backoff_schedule(void **state)
{
    (void)state;
    static const uint32_t want[] = {1000, 2000, 4000, 8000, 16000, 16000};
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(aloft_pull_backoff(NULL, i + 2), want[i]);
    aloft_pull_policy_t p = {.backoff_ms = 300, .backoff_max_ms = 1000};
    assert_int_equal(aloft_pull_backoff(&p, 2), 300);
    assert_int_equal(aloft_pull_backoff(&p, 3), 600);
    assert_int_equal(aloft_pull_backoff(&p, 4), 1000);
    assert_int_equal(aloft_pull_backoff(&p, 200), 1000);
}

static void test_parse_range(void **state)
{
    (void)state;
    uint32_t a, b, t;
    assert_int_equal(aloft_pull_parse_range("bytes 65536-299999/300000", &a, &b, &t), 0);
    assert_int_equal(a, 65536);
    assert_int_equal(b, 299999);
    assert_int_equal(t, 300000);
    assert_int_equal(aloft_pull_parse_range("Bytes 0-0/*\r\n", &a, &b, &t), 0);
    assert_int_equal(t, UINT32_MAX);
    static const char *bad[] = {
        "", "bytes", "bytes */300000", "bytes 5-4/10", "bytes 0-10/10", "bytes 0-9/10x",
        "items 0-9/10", "bytes -1-9/10", "bytes 0-4294967296/4294967297", "bytes 0 -9/10",
        "bytes 0-9", "bytes 0-9/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(aloft_pull_parse_range(bad[i], &a, &b, &t), ALOFT_ERR_PROTO);
}

static void test_whole_pull(void **state)
{
    ctx_t *c = *state;
    assert_int_equal(start(c), 0);
    assert_int_equal(status(c).resumed_from, 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, (int64_t)c->rel.size, NULL), 0);
    body(c, c->fx.v2, 0, c->rel.size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    aloft_pull_status_t st = status(c);
    assert_int_equal(st.done, c->rel.size);
    assert_int_equal(st.attempt, 1);
    assert_int_equal(st.diag.err, 0);
    assert_string_equal(aloft_pull_phase_name(st.phase), "rebooting");
    expect_booted_v2(c);
}

/* A cut mid-way: the next attempt after 1 s asks for the rest with a Range
 * request; the server's 206 is checked and the rest completes the image. */
static void test_resume_after_cut(void **state)
{
    ctx_t *c = *state;
    uint32_t half = 150001, size = c->rel.size;
    char range[64];
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, -1, NULL), 0);
    body(c, c->fx.v2, 0, half);
    assert_int_equal(aloft_pull_end(&c->p, ALOFT_ERR_CLOSED, c->now), ALOFT_PULL_WAIT);
    assert_int_equal(status(c).diag.err, ALOFT_ERR_CLOSED);
    assert_string_equal(aloft_pull_phase_name(status(c).phase), "downloading");
    aloft_pull_next_t n;
    c->now += 999;
    assert_int_equal(aloft_pull_poll(&c->p, c->now, &n), ALOFT_PULL_WAIT);
    assert_int_equal(n.wait_ms, 1);
    c->now += 1;
    expect_request(c, half);
    snprintf(range, sizeof range, "bytes %u-%u/%u", half, size - 1, size);
    assert_int_equal(aloft_pull_response(&c->p, 206, size - half, range), 0);
    body(c, c->fx.v2, half, size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    assert_int_equal(status(c).attempt, 2);
    expect_booted_v2(c);
}

/* A server that ignores Range sends the whole file again: the engine drops
 * what the pipeline already holds. */
static void test_resume_server_without_range(void **state)
{
    ctx_t *c = *state;
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, c->rel.size, NULL), 0);
    body(c, c->fx.v2, 0, 70000);
    assert_int_equal(aloft_pull_end(&c->p, ALOFT_ERR_TIMEOUT, c->now), ALOFT_PULL_WAIT);
    c->now += 1000;
    expect_request(c, 70000);
    assert_int_equal(aloft_pull_response(&c->p, 200, c->rel.size, NULL), 0);
    body(c, c->fx.v2, 0, c->rel.size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    expect_booted_v2(c);
}

/* A power cut: RAM is gone, the journal holds the durable 64 KiB steps;
 * the same release started again asks for the rest. */
static void test_resume_after_power_cut(void **state)
{
    ctx_t *c = *state;
    char range[64];
    uint32_t size = c->rel.size;
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, size, NULL), 0);
    body(c, c->fx.v2, 0, 200000);
    uint32_t durable = aloft_update_durable(&c->fx.sim.update);
    assert_int_equal(durable, 0x30000);
    assert_int_equal(simfx_reboot(&c->fx), 0);   /* nothing ended the session */
    assert_int_equal(c->fx.sim.boot.slot, 0);

    assert_int_equal(start(c), 0);
    assert_int_equal(status(c).resumed_from, durable);
    expect_request(c, durable);
    snprintf(range, sizeof range, "bytes %u-%u/%u", durable, size - 1, size);
    assert_int_equal(aloft_pull_response(&c->p, 206, size - durable, range), 0);
    body(c, c->fx.v2, durable, size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    expect_booted_v2(c);
}

/* Responses refused before any byte reaches the pipeline: the flash is
 * byte-identical and the phase is REFUSED with the numbers. */
static void refused_response(ctx_t *c, int status_code, int64_t len, const char *range,
                             int want_err, uint32_t have, uint32_t want)
{
    uint8_t *snap = simfx_snapshot(&c->fx);
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, status_code, len, range), want_err);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_REFUSED);
    aloft_pull_status_t st = status(c);
    assert_int_equal(st.diag.err, want_err);
    assert_int_equal(st.diag.have, have);
    assert_int_equal(st.diag.want, want);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
    /* the pipeline's diag has the same numbers, for whoever reports it */
    assert_memory_equal(aloft_update_diag(&c->fx.sim.update), &st.diag, sizeof st.diag);
    assert_true(simfx_same(&c->fx, snap, 0, c->fx.sim.nor.size));
    free(snap);
}

static void test_refused_404(void **state)
{
    ctx_t *c = *state;
    refused_response(c, 404, 153, NULL, ALOFT_ERR_HTTP, 404, 0);
    char text[320];
    aloft_pull_status_t st = status(c);
    aloft_diag_format(&st.diag, text, sizeof text);
    assert_non_null(strstr(text, "HTTP status 404"));
}

static void test_refused_content_length(void **state)
{
    ctx_t *c = *state;
    refused_response(c, 200, c->rel.size + 1, NULL, ALOFT_ERR_HTTP_MISMATCH, c->rel.size + 1,
                     c->rel.size);
    assert_string_equal(status(c).diag.where, "Content-Length");
}

static void test_refused_206_unasked(void **state)
{
    ctx_t *c = *state;
    refused_response(c, 206, c->rel.size, "bytes 0-1/2", ALOFT_ERR_HTTP, 206, 0);
}

/* A resumed request whose 206 describes other bytes or another file. */
static void test_refused_content_range(void **state)
{
    ctx_t *c = *state;
    static const struct {
        const char *range;
        uint32_t have, want;
        const char *where;
    } cases[] = {
        {"bytes 0-299999/300000", 0, 1000, "range start"},
        {"bytes 1000-299998/300000", 299999, 300000, "range end"},
        {"bytes 1000-299999/300001", 300001, 300000, "file size"},
        {"bytes 1000-299999", 0, 1000, "Content-Range"},
        {NULL, 0, 1000, "Content-Range"},
    };
    c->rel.size = SIZE2;   /* the cases' numbers; the bytes never reach finish */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(start(c), 0);
        expect_request(c, 0);
        assert_int_equal(aloft_pull_response(&c->p, 200, -1, NULL), 0);
        body(c, c->fx.v2, 0, 1000);
        assert_int_equal(aloft_pull_end(&c->p, ALOFT_ERR_CLOSED, c->now), ALOFT_PULL_WAIT);
        c->now += 1000;
        expect_request(c, 1000);
        assert_int_equal(aloft_pull_response(&c->p, 206, -1, cases[i].range),
                         ALOFT_ERR_HTTP_MISMATCH);
        assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_FAILED);
        aloft_pull_status_t st = status(c);
        assert_int_equal(st.diag.have, cases[i].have);
        assert_int_equal(st.diag.want, cases[i].want);
        assert_string_equal(st.diag.where, cases[i].where);
    }
}

static void test_refused_too_large(void **state)
{
    ctx_t *c = *state;
    uint8_t *snap = simfx_snapshot(&c->fx);
    c->rel.size = 0x200000;
    assert_int_equal(start(c), ALOFT_ERR_TOO_LARGE);
    assert_int_equal(status(c).phase, ALOFT_PULL_REFUSED);
    assert_int_equal(aloft_pull_poll(&c->p, c->now, NULL), ALOFT_PULL_REFUSED);
    assert_true(simfx_same(&c->fx, snap, 0, c->fx.sim.nor.size));
    free(snap);
}

static void test_refused_wrong_chip(void **state)
{
    ctx_t *c = *state;
    image_spec_t s = {.chip_id = ALOFT_CHIP_ESP32C3, .project = "demo", .version = "2.0.0",
                      .size = SIZE2};
    size_t len;
    uint8_t *c3 = image_make(&s, &len);
    uint8_t *snap = simfx_snapshot(&c->fx);
    c->rel.size = (uint32_t)len;
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c3, len, c->rel.sha256);
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, (int64_t)len, NULL), 0);
    assert_int_equal(aloft_pull_body(&c->p, c3, 16384), ALOFT_ERR_IMG_CHIP);
    assert_int_equal(aloft_pull_end(&c->p, ALOFT_ERR_CLOSED, c->now), ALOFT_PULL_REFUSED);
    assert_int_equal(status(c).diag.err, ALOFT_ERR_IMG_CHIP);
    assert_true(simfx_same(&c->fx, snap, 0, c->fx.sim.nor.size));
    free(snap);
    image_free(c3);
}

static void test_failed_sha256(void **state)
{
    ctx_t *c = *state;
    c->rel.sha256[5] ^= 1;
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, c->rel.size, NULL), 0);
    body(c, c->fx.v2, 0, c->rel.size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_FAILED);
    assert_int_equal(status(c).diag.err, ALOFT_ERR_SHA256);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 0);
}

/* A server that never answers: tries 1..5 at 0, 1, 3, 7, 15 s, then the
 * connect error; a 503 and an early end count as tries too. */
static void test_bounded_retries(void **state)
{
    ctx_t *c = *state;
    static const uint64_t at[] = {0, 1000, 3000, 7000, 15000};
    assert_int_equal(start(c), 0);
    for (unsigned i = 0; i < 5; i++) {
        aloft_pull_next_t n;
        if (i) {
            assert_int_equal(aloft_pull_poll(&c->p, at[i] - 1, &n), ALOFT_PULL_WAIT);
            assert_int_equal(n.wait_ms, 1);
        }
        c->now = at[i];
        expect_request(c, 0);
        assert_int_equal(status(c).attempt, i + 1);
        if (i == 1) {
            assert_int_equal(aloft_pull_response(&c->p, 503, 10, NULL), ALOFT_ERR_HTTP);
            assert_int_equal(aloft_pull_body(&c->p, "x", 1), ALOFT_ERR_HTTP);
        }
        aloft_pull_phase_t ph = aloft_pull_end(&c->p, i == 1 ? 0 : ALOFT_ERR_CONNECT, c->now);
        assert_int_equal(ph, i < 4 ? ALOFT_PULL_WAIT : ALOFT_PULL_REFUSED);
    }
    aloft_pull_status_t st = status(c);
    assert_int_equal(st.diag.err, ALOFT_ERR_CONNECT);
    assert_int_equal(st.attempt, 5);
    assert_int_equal(st.tries, 5);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
}

static void test_unsigned_on_keyed_device(void **state)
{
    ctx_t *c = *state;
    static aloft_pubkey_t key;   /* any key: the device then requires signatures */
    c->fx.sim.dev.keys = &key;
    c->fx.sim.dev.nkeys = 1;
    assert_int_equal(start(c), ALOFT_ERR_UNSIGNED);
    assert_int_equal(status(c).phase, ALOFT_PULL_REFUSED);
    /* Declared signed, but it is not: refused by finish, before activation. */
    c->rel.is_signed = true;
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, c->rel.size, NULL), 0);
    body(c, c->fx.v2, 0, c->rel.size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_FAILED);
    assert_int_equal(status(c).diag.err, ALOFT_ERR_UNSIGNED);
    c->fx.sim.dev.nkeys = 0;
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 0);
}

static void test_cancel(void **state)
{
    ctx_t *c = *state;
    assert_int_equal(start(c), 0);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, c->rel.size, NULL), 0);
    body(c, c->fx.v2, 0, 1000);
    aloft_pull_cancel(&c->p);
    assert_int_equal(status(c).phase, ALOFT_PULL_FAILED);
    assert_int_equal(status(c).diag.err, ALOFT_ERR_ABORTED);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_FAILED);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_FAILED);
}


/* ------------------------------------------------------------- patches */

/* The fixture with a patch v1 -> v2 among the release's patches and the
 * device lending its delta stage. */
static int setup_delta(void **state)
{
    static uint8_t *made;
    static size_t made_len;
    if (setup(state) != 0)
        return -1;
    ctx_t *c = *state;
    if (made == NULL && delta_make(c->fx.v1, c->fx.v1_len, c->fx.v2, c->fx.v2_len, NULL, 0,
                                   DELTA_DEFAULT_WBITS, 0, DELTA_FAST, &made, &made_len) != 0)
        return -1;
    c->pbytes = made;
    c->plen = made_len;
    c->patch.url = "http://files.lan/demo/2.0.0/from-1.0.0.patch";
    c->patch.size = (uint32_t)made_len;
    aloft_hash_oneshot(&aloft_mbedtls_sha256, made, made_len, c->patch.sha256);
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->fx.v1, c->fx.v1_len, c->patch.base_sha256);
    c->rel.patches = &c->patch;
    c->rel.npatches = 1;
    inflate_zlib_init(&c->z, &c->zst, DELTA_DEFAULT_WBITS);
    c->delta = (aloft_pull_delta_t){.stage = &c->stage, .inflate = &c->z};
    return 0;
}

/* The patch's bytes [from, to) as the body of the request out. */
static void patch_body(ctx_t *c, const uint8_t *data, uint32_t from, uint32_t to)
{
    for (uint32_t off = from; off < to; off += 1000) {
        uint32_t n = to - off < 1000 ? to - off : 1000;
        assert_int_equal(aloft_pull_body(&c->p, data + off, n), 0);
    }
}

static void test_delta_pulled(void **state)
{
    ctx_t *c = *state;
    uint8_t *snap = simfx_snapshot(&c->fx);
    assert_int_equal(start(c), 0);
    aloft_pull_status_t st = status(c);
    assert_true(st.patch);
    assert_string_equal(st.why, "a patch from the running image");
    assert_int_equal(st.total, c->plen);
    expect_get(c, c->patch.url, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, (int64_t)c->plen, NULL), 0);
    /* the header but one byte: nothing begun, nothing written */
    patch_body(c, c->pbytes, 0, ALOFT_DELTA_FIXED_LEN + 3);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_IDLE);
    assert_true(simfx_same(&c->fx, snap, 0, c->fx.sim.nor.size));
    patch_body(c, c->pbytes, ALOFT_DELTA_FIXED_LEN + 3, (uint32_t)c->plen);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    st = status(c);
    assert_true(st.patch);
    assert_int_equal(st.done, c->plen);
    assert_int_equal(st.wire, c->plen);
    assert_false(c->stage.in_use);   /* the native server may take patches again */
    free(snap);
    expect_booted_v2(c);
}

static void test_delta_no_patch(void **state)
{
    ctx_t *c = *state;
    c->patch.base_sha256[0] ^= 1;
    assert_int_equal(start(c), 0);
    assert_false(status(c).patch);
    assert_string_equal(status(c).why, "no patch from the running image");
    expect_request(c, 0);
    aloft_pull_cancel(&c->p);
    c->delta.stage = NULL;
    assert_int_equal(start(c), 0);
    assert_string_equal(status(c).why, "this device takes no patches");
    aloft_pull_cancel(&c->p);
    c->delta.stage = &c->stage;
    c->rel.npatches = 0;
    assert_int_equal(start(c), 0);
    assert_string_equal(status(c).why, "no patch from the running image");
}

/* A cut mid-patch: the retry asks for the patch from the exact byte, and
 * the decoder (in RAM) goes on. */
static void test_delta_cut(void **state)
{
    ctx_t *c = *state;
    uint32_t cut = (uint32_t)c->plen / 2 + 7, size = (uint32_t)c->plen;
    char range[64];
    assert_int_equal(start(c), 0);
    expect_get(c, c->patch.url, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, size, NULL), 0);
    patch_body(c, c->pbytes, 0, cut);
    assert_int_equal(aloft_pull_end(&c->p, ALOFT_ERR_CLOSED, c->now), ALOFT_PULL_WAIT);
    c->now += 1000;
    expect_get(c, c->patch.url, cut);
    snprintf(range, sizeof range, "bytes %u-%u/%u", cut, size - 1, size);
    assert_int_equal(aloft_pull_response(&c->p, 206, size - cut, range), 0);
    patch_body(c, c->pbytes, cut, size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    assert_int_equal(status(c).attempt, 2);
    expect_booted_v2(c);
}

/* Listed as from v1 but made from v2: refused from its header before
 * anything is begun or written, then the file from byte 0. */
static void test_delta_other_base(void **state)
{
    ctx_t *c = *state;
    uint8_t *other;
    size_t olen;
    assert_int_equal(delta_make(c->fx.v2, c->fx.v2_len, c->fx.v2, c->fx.v2_len, NULL, 0,
                                DELTA_DEFAULT_WBITS, 0, DELTA_FAST, &other, &olen), 0);
    c->patch.size = (uint32_t)olen;
    uint8_t *snap = simfx_snapshot(&c->fx);
    assert_int_equal(start(c), 0);
    expect_get(c, c->patch.url, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, (int64_t)olen, NULL), 0);
    assert_int_equal(aloft_pull_body(&c->p, other, olen), ALOFT_ERR_PATCH_BASE);
    assert_true(simfx_same(&c->fx, snap, 0, c->fx.sim.nor.size));
    assert_int_equal(aloft_pull_end(&c->p, ALOFT_ERR_CLOSED, c->now), ALOFT_PULL_REQUEST);
    aloft_pull_status_t st = status(c);
    assert_false(st.patch);
    assert_string_equal(st.why, "the patch was refused");
    assert_int_equal(st.patch_diag.err, ALOFT_ERR_PATCH_BASE);
    assert_int_equal(st.total, c->rel.size);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, (int64_t)c->rel.size, NULL), 0);
    body(c, c->fx.v2, 0, c->rel.size);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    free(snap);
    free(other);
    expect_booted_v2(c);
}

/* A byte of the last segment changed: the patch fails after writing began
 * (never activated), and the file replaces it; with the file failing too,
 * the pull fails and v1 boots. */
static void test_delta_tampered(void **state)
{
    ctx_t *c = *state;
    uint8_t *bad = malloc(c->plen);
    assert_non_null(bad);
    memcpy(bad, c->pbytes, c->plen);
    bad[c->plen - 20] ^= 0x55;
    assert_int_equal(start(c), 0);
    expect_get(c, c->patch.url, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, (int64_t)c->plen, NULL), 0);
    for (uint32_t off = 0; off < c->plen; off += 1000) {
        uint32_t n = c->plen - off < 1000 ? (uint32_t)c->plen - off : 1000;
        if (aloft_pull_body(&c->p, bad + off, n) != 0)
            break;
    }
    aloft_pull_end(&c->p, 0, c->now);
    aloft_pull_status_t st = status(c);
    assert_int_equal(st.phase, ALOFT_PULL_REQUEST);
    assert_string_equal(st.why, "the patch failed");
    /* the decoder's, the patch's SHA-256 or the image's own hash: where the
     * change shows depends on the byte */
    assert_true(st.patch_diag.err == ALOFT_ERR_PATCH || st.patch_diag.err == ALOFT_ERR_SHA256 ||
                st.patch_diag.err == ALOFT_ERR_IMG_HASH);
    expect_request(c, 0);
    assert_int_equal(aloft_pull_response(&c->p, 404, -1, NULL), ALOFT_ERR_HTTP);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_FAILED);
    assert_int_equal(status(c).diag.err, ALOFT_ERR_HTTP);
    free(bad);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 0);
}

/* A power cut mid-patch: RAM (the decoder) is gone, the journal holds the
 * durable prefix of the new image. The same release again fetches the
 * patch from its start; the decoder skips what the journal holds, so the
 * flash below the prefix is not programmed again. */
static void test_delta_power_cut(void **state)
{
    ctx_t *c = *state;
    uint32_t size = (uint32_t)c->plen;
    assert_int_equal(start(c), 0);
    expect_get(c, c->patch.url, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, size, NULL), 0);
    patch_body(c, c->pbytes, 0, size - size / 8);
    uint32_t durable = aloft_update_durable(&c->fx.sim.update);
    assert_true(durable >= 0x10000);
    assert_int_equal(simfx_reboot(&c->fx), 0);   /* nothing ended the session */
    assert_int_equal(c->fx.sim.boot.slot, 0);
    memset(&c->stage, 0, sizeof c->stage);        /* RAM lost */

    assert_int_equal(start(c), 0);
    assert_true(status(c).patch);
    expect_get(c, c->patch.url, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, size, NULL), 0);
    patch_body(c, c->pbytes, 0, size);
    assert_int_equal(status(c).resumed_from, durable);
    assert_int_equal(aloft_pull_end(&c->p, 0, c->now), ALOFT_PULL_DONE);
    assert_int_equal(status(c).patch_diag.err, 0);   /* no fallback */
    /* what was programmed: the rest of the image (and journal records) */
    uint64_t programmed = c->fx.sim.nor.count.prog_bytes;
    printf("power cut at %u of %u image bytes: %llu bytes programmed after it\n", durable,
           (unsigned)c->rel.size, (unsigned long long)programmed);
    assert_true(programmed < c->rel.size - durable + 4096);
    expect_booted_v2(c);
}

/* A device with keys takes no unsigned patch: refused from its header;
 * the (unsigned) file is then refused by begin. Nothing written. */
static void test_delta_unsigned_on_keyed_device(void **state)
{
    ctx_t *c = *state;
    static aloft_pubkey_t key;   /* any key: the device then requires signatures */
    uint8_t *snap = simfx_snapshot(&c->fx);
    c->fx.sim.dev.keys = &key;
    c->fx.sim.dev.nkeys = 1;
    assert_int_equal(start(c), 0);   /* a patch may carry a block: its header says */
    expect_get(c, c->patch.url, 0);
    assert_int_equal(aloft_pull_response(&c->p, 200, (int64_t)c->plen, NULL), 0);
    assert_int_equal(aloft_pull_body(&c->p, c->pbytes, 400), ALOFT_ERR_UNSIGNED);
    assert_int_equal(aloft_pull_end(&c->p, ALOFT_ERR_CLOSED, c->now), ALOFT_PULL_REFUSED);
    assert_int_equal(status(c).patch_diag.err, ALOFT_ERR_UNSIGNED);
    assert_int_equal(status(c).diag.err, ALOFT_ERR_UNSIGNED);
    c->fx.sim.dev.nkeys = 0;
    assert_true(simfx_same(&c->fx, snap, 0, c->fx.sim.nor.size));
    free(snap);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, simfx_ctx_teardown)
#define D(f) cmocka_unit_test_setup_teardown(f, setup_delta, simfx_ctx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_parse_range),
        T(test_whole_pull),
        T(test_resume_after_cut),
        T(test_resume_server_without_range),
        T(test_resume_after_power_cut),
        T(test_refused_404),
        T(test_refused_content_length),
        T(test_refused_206_unasked),
        T(test_refused_content_range),
        T(test_refused_too_large),
        T(test_refused_wrong_chip),
        T(test_failed_sha256),
        T(test_bounded_retries),
        T(test_unsigned_on_keyed_device),
        T(test_cancel),
        D(test_delta_pulled),
        D(test_delta_no_patch),
        D(test_delta_cut),
        D(test_delta_other_base),
        D(test_delta_tampered),
        D(test_delta_power_cut),
        D(test_delta_unsigned_on_keyed_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
