/*
 * tests/unit/test_update_journal.c — the resume journal never outlives the
 * bytes it vouches for: a transfer into a slot that is not the journaled
 * one (an espota upload, a native upload of another image) closes the
 * journal before its first flash operation, so retrying the interrupted
 * upload starts over instead of resuming over a prefix that was
 * overwritten (and failing with "image checksum mismatch ... the file is
 * damaged"). A transfer that only begins, or resumes its own journal,
 * keeps it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto_mbedtls.h"
#include "image_make.h"
#include "sim_fixture.h"
#include "test_flash.h"

#define STEP 0x10000u   /* the journal's granularity */

typedef struct ctx {
    sim_fixture_t fx;
    uint8_t *v3;        /* another image for the same slot */
    size_t v3_len;
    uint8_t sha2[32], sha3[32], md5_3[16];
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    image_spec_t s3 = {.chip_id = ALOFT_CHIP_ESP32, .project = "demo", .version = "3.0.0",
                       .size = 260000, .seed = 3};
    if (simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 100000, 300000) != 0)
        return -1;
    c->v3 = image_make(&s3, &c->v3_len);
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->fx.v2, c->fx.v2_len, c->sha2);
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->v3, c->v3_len, c->sha3);
    aloft_hash_oneshot(&aloft_mbedtls_md5, c->v3, c->v3_len, c->md5_3);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    image_free(c->v3);
    simfx_teardown(&c->fx);
    free(c);
    return 0;
}

static aloft_update_t *U(ctx_t *c) { return &c->fx.sim.update; }
static const aloft_device_t *D(ctx_t *c) { return &c->fx.sim.dev; }

static void feed(ctx_t *c, const uint8_t *data, size_t from, size_t to)
{
    for (size_t off = from; off < to; off += 1000)
        assert_int_equal(aloft_update_feed(U(c), data + off, to - off < 1000 ? to - off : 1000), 0);
}

/* A native upload of v2 (resumable) cut by a dropped connection after
 * `upto` bytes; returns where it started. */
static uint32_t native_v2(ctx_t *c, size_t upto)
{
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len, .sha256 = c->sha2, .resume = true,
                              .image_only = true};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    uint32_t from = aloft_update_offset(U(c));
    feed(c, c->fx.v2, from, upto);
    aloft_update_abort(U(c), ALOFT_ERR_CLOSED);   /* a transport reason: the journal stays */
    return from;
}

/* v2 again, to the end: it must start where the journal says and verify. */
static void retry_v2(ctx_t *c, uint32_t want_offset)
{
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len, .sha256 = c->sha2, .resume = true,
                              .image_only = true};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_offset(U(c)), want_offset);
    feed(c, c->fx.v2, want_offset, c->fx.v2_len);
    assert_int_equal(aloft_update_finish(U(c)), 0);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
}

static void expect_resume(ctx_t *c, uint32_t offset)
{
    aloft_update_resume_t r;
    assert_int_equal(aloft_update_find_resume(D(c), ALOFT_TARGET_APP, &r), offset ? 1 : 0);
    if (offset)
        assert_int_equal(r.offset, offset);
}

/* The field report: native cut, espota cut on the same slot, native again. */
static void test_espota_write_closes_the_native_journal(void **state)
{
    ctx_t *c = *state;
    native_v2(c, 2 * STEP + 5000);
    expect_resume(c, 2 * STEP);
    /* espota: MD5 only, no SHA-256, so no journal of its own */
    aloft_update_req_t req = {.size = (uint32_t)c->v3_len, .md5 = c->md5_3};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    feed(c, c->v3, 0, STEP + 20000);   /* overwrites v2's durable prefix */
    aloft_update_abort(U(c), ALOFT_ERR_CLOSED);
    expect_resume(c, 0);
    retry_v2(c, 0);
}

/* A native upload of another image, cut before its first mark (so before
 * it writes a journal of its own), must not leave v2's in charge either. */
static void test_other_native_image_closes_the_journal(void **state)
{
    ctx_t *c = *state;
    native_v2(c, 2 * STEP + 5000);
    aloft_update_req_t req = {.size = (uint32_t)c->v3_len, .sha256 = c->sha3, .resume = true,
                              .image_only = true};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_offset(U(c)), 0);
    feed(c, c->v3, 0, 30000);
    aloft_update_abort(U(c), ALOFT_ERR_CLOSED);
    expect_resume(c, 0);
    retry_v2(c, 0);
}

/* Nothing written, nothing lost: a begin that is abandoned before any byte,
 * a refused one, and the journaled transfer itself keep the journal. */
static void test_journal_kept_without_writes(void **state)
{
    ctx_t *c = *state;
    native_v2(c, 2 * STEP + 5000);
    uint64_t progs = c->fx.sim.nor.count.progs, erases = c->fx.sim.nor.count.erases;
    aloft_update_req_t req = {.size = (uint32_t)c->v3_len, .md5 = c->md5_3};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    aloft_update_abort(U(c), ALOFT_ERR_CLOSED);
    req.size = 0x200000;   /* too large: refused in begin */
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_TOO_LARGE);
    assert_int_equal(c->fx.sim.nor.count.progs, progs);   /* begin touches no flash */
    assert_int_equal(c->fx.sim.nor.count.erases, erases);
    expect_resume(c, 2 * STEP);
    assert_int_equal(native_v2(c, 3 * STEP + 100), 2 * STEP);   /* resumes its own */
    expect_resume(c, 3 * STEP);
    retry_v2(c, 3 * STEP);
}

/* Erase-ahead is a write too: a transport that erases before the first
 * data byte arrives (the native engine does) closes the journal first. */
static void test_erase_ahead_closes_the_journal(void **state)
{
    ctx_t *c = *state;
    native_v2(c, 2 * STEP + 5000);
    aloft_update_req_t req = {.size = (uint32_t)c->v3_len, .sha256 = c->sha3, .resume = true,
                              .image_only = true};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_erase_ahead(U(c)), 1);   /* v2's first 64 KiB are gone */
    aloft_update_abort(U(c), ALOFT_ERR_CLOSED);
    expect_resume(c, 0);
    retry_v2(c, 0);
}

typedef struct {
    ctx_t *c;
} cut_arg_t;

/* The espota phase of the field report, as a power-cut victim. */
static int espota_phase(void *arg)
{
    ctx_t *c = ((cut_arg_t *)arg)->c;
    aloft_update_req_t req = {.size = (uint32_t)c->v3_len, .md5 = c->md5_3};
    int err = aloft_update_begin(U(c), D(c), &req);
    for (size_t off = 0; !err && off < STEP + 20000; off += 1000)
        err = aloft_update_feed(U(c), c->v3 + off, 1000);
    return err;
}

/* A power cut at any flash operation of the espota transfer: the retried
 * native upload still ends with v2 booting (it resumes only from a journal
 * that still vouches for its bytes). */
static void test_power_cut_anywhere_in_the_other_transfer(void **state)
{
    ctx_t *c = *state;
    cut_arg_t arg = {c};
    native_v2(c, 2 * STEP + 5000);
    uint8_t *before = simfx_snapshot(&c->fx);
    int cuts = 0;
    for (uint64_t n = 1;; n++) {
        memcpy(c->fx.sim.nor.mem, before, c->fx.sim.nor.size);
        assert_int_equal(simfx_reboot(&c->fx), 0);
        if (!test_flash_run_cut(&c->fx.sim.nor, n, (uint32_t)n, espota_phase, &arg, NULL))
            break;
        cuts++;
        assert_int_equal(simfx_reboot(&c->fx), 0);
        aloft_update_resume_t r;
        int resumable = aloft_update_find_resume(D(c), ALOFT_TARGET_APP, &r);
        assert_true(resumable == 0 || n == 1);   /* only a cut before the close keeps it */
        retry_v2(c, resumable ? r.offset : 0);
    }
    assert_true(cuts > 100);
    free(before);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_espota_write_closes_the_native_journal),
        T(test_other_native_image_closes_the_journal),
        T(test_journal_kept_without_writes),
        T(test_erase_ahead_closes_the_journal),
        T(test_power_cut_anywhere_in_the_other_transfer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
