/*
 * tests/unit/test_update.c — the update pipeline on a simulated device:
 * what it accepts, what it refuses before touching flash, how it writes,
 * and that every failure leaves the running firmware and otadata untouched
 * and the app resumed.
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

#define OTADATA 0xE000u
#define APP0 0x10000u
#define APP1 0x150000u
#define SLOT 0x140000u
#define SPIFFS 0x290000u

typedef struct hooks {
    int paused, resumed;
} hooks_t;

static void h_pause(void *ctx) { ((hooks_t *)ctx)->paused++; }
static void h_resume(void *ctx) { ((hooks_t *)ctx)->resumed++; }

typedef struct ctx {
    sim_fixture_t fx;
    hooks_t hooks;
    uint8_t *snap;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    if (simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 100000, 150000) != 0)
        return -1;
    aloft_quiesce_add(&c->fx.sim.quiesce, "test", h_pause, h_resume, &c->hooks);
    c->snap = simfx_snapshot(&c->fx);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    simfx_teardown(&c->fx);
    free(c->snap);
    free(c);
    return 0;
}

static aloft_update_t *U(ctx_t *c) { return &c->fx.sim.update; }
static const aloft_device_t *D(ctx_t *c) { return &c->fx.sim.dev; }

/* The device is exactly as before: running slot, otadata, app0 intact. */
static void assert_untouched(ctx_t *c)
{
    assert_true(simfx_same(&c->fx, c->snap, OTADATA, 0x2000));
    assert_true(simfx_same(&c->fx, c->snap, APP0, SLOT));
    assert_int_equal(c->hooks.paused, c->hooks.resumed);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "1.0.0");
}

static uint64_t flash_ops(ctx_t *c)
{
    return c->fx.sim.nor.count.erases + c->fx.sim.nor.count.progs;
}

static int feed_all(ctx_t *c, const uint8_t *data, size_t len, size_t piece)
{
    for (size_t off = 0; off < len; off += piece) {
        int err = aloft_update_feed(U(c), data + off, len - off < piece ? len - off : piece);
        if (err)
            return err;
    }
    return 0;
}

static void test_update_and_boot_new(void **state)
{
    ctx_t *c = *state;
    uint8_t sha[32], md5[16];
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->fx.v2, c->fx.v2_len, sha);
    aloft_hash_oneshot(&aloft_mbedtls_md5, c->fx.v2, c->fx.v2_len, md5);
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len, .sha256 = sha, .md5 = md5};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(c->hooks.paused, 1);
    assert_int_equal(c->hooks.resumed, 0);
    assert_int_equal(feed_all(c, c->fx.v2, c->fx.v2_len, 1000), 0);
    /* Everything is in the slot except its first page: not bootable yet. */
    assert_int_equal(c->fx.sim.nor.mem[APP1], 0xFF);
    assert_true(simfx_same(&c->fx, c->snap, OTADATA, 0x2000));
    assert_int_equal(aloft_update_finish(U(c)), 0);
    assert_int_equal(c->fx.sim.nor.mem[APP1], 0xE9);
    assert_int_equal(c->hooks.resumed, 1);
    assert_true(simfx_same(&c->fx, c->snap, APP0, SLOT));

    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 1);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
    assert_int_equal(c->fx.sim.boot.state, ALOFT_OTA_PENDING_VERIFY);
}

static void test_too_large_refused_before_flash(void **state)
{
    ctx_t *c = *state;
    char text[256];
    uint64_t ops = flash_ops(c);
    aloft_update_req_t req = {.size = 1412096};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_TOO_LARGE);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(c->hooks.paused, 0);
    aloft_diag_format(aloft_update_diag(U(c)), text, sizeof text);
    assert_non_null(strstr(text, "1 412 096"));
    assert_non_null(strstr(text, "app1 holds 1 310 720"));
    assert_non_null(strstr(text, "min_spiffs"));
    assert_untouched(c);
}

static void test_wrong_chip_refused_before_erase(void **state)
{
    ctx_t *c = *state;
    image_spec_t spec = {.chip_id = ALOFT_CHIP_ESP32S3, .project = "demo", .version = "9",
                         .size = 100000};
    size_t len;
    uint8_t *img = image_make(&spec, &len);
    uint64_t ops = flash_ops(c);
    aloft_update_req_t req = {.size = (uint32_t)len};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(feed_all(c, img, len, 4096), ALOFT_ERR_IMG_CHIP);
    assert_int_equal(flash_ops(c), ops);
    assert_int_equal(aloft_update_diag(U(c))->have, ALOFT_CHIP_ESP32S3);
    assert_int_equal(aloft_update_feed(U(c), img, 10), ALOFT_ERR_FAILED);
    image_free(img);
    assert_untouched(c);
}

static void test_not_an_image_refused_before_erase(void **state)
{
    ctx_t *c = *state;
    uint8_t junk[2048];
    memset(junk, 'A', sizeof junk);
    uint64_t ops = flash_ops(c);
    aloft_update_req_t req = {.size = 100000};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_feed(U(c), junk, sizeof junk), ALOFT_ERR_IMG_MAGIC);
    assert_int_equal(flash_ops(c), ops);
    assert_untouched(c);
}

static void test_corrupt_checksum_never_activates(void **state)
{
    ctx_t *c = *state;
    uint8_t *bad = malloc(c->fx.v2_len);
    memcpy(bad, c->fx.v2, c->fx.v2_len);
    bad[c->fx.v2_len / 2] ^= 0x10;   /* a data byte: checksum and hash break */
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    int err = feed_all(c, bad, c->fx.v2_len, 1460);
    if (err == 0)
        err = aloft_update_finish(U(c));
    assert_true(err == ALOFT_ERR_IMG_CHECKSUM || err == ALOFT_ERR_IMG_HASH);
    assert_int_equal(c->fx.sim.nor.mem[APP1], 0xFF);
    free(bad);
    assert_untouched(c);
}

static void test_hash_mismatch(void **state)
{
    ctx_t *c = *state;
    uint8_t sha[32] = {1}, md5[16] = {2};
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len, .sha256 = sha};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(feed_all(c, c->fx.v2, c->fx.v2_len, 4096), 0);
    assert_int_equal(aloft_update_finish(U(c)), ALOFT_ERR_SHA256);
    req.sha256 = NULL;
    req.md5 = md5;
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(feed_all(c, c->fx.v2, c->fx.v2_len, 4096), 0);
    assert_int_equal(aloft_update_finish(U(c)), ALOFT_ERR_MD5);
    assert_untouched(c);
}

static void test_overflow_short_abort(void **state)
{
    ctx_t *c = *state;
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len - 16};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(feed_all(c, c->fx.v2, c->fx.v2_len, 4096), ALOFT_ERR_OVERFLOW);

    req.size = (uint32_t)c->fx.v2_len;
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_feed(U(c), c->fx.v2, 5000), 0);
    assert_int_equal(aloft_update_finish(U(c)), ALOFT_ERR_SHORT);
    const aloft_diag_t *d = aloft_update_diag(U(c));
    assert_int_equal(d->have, 5000);
    assert_int_equal(d->want, c->fx.v2_len);

    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_feed(U(c), c->fx.v2, 70000), 0);
    aloft_update_abort(U(c), ALOFT_ERR_ABORTED);
    assert_int_equal(aloft_update_state(U(c)), ALOFT_UPDATE_FAILED);
    assert_int_equal(aloft_update_diag(U(c))->err, ALOFT_ERR_ABORTED);
    assert_int_equal(c->hooks.paused, 3);
    assert_untouched(c);
}

static void test_busy_while_receiving(void **state)
{
    ctx_t *c = *state;
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_feed(U(c), c->fx.v2, 1000), 0);
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_BUSY);
    /* The first session carries on unharmed. */
    assert_int_equal(feed_all(c, c->fx.v2 + 1000, c->fx.v2_len - 1000, 3000), 0);
    assert_int_equal(aloft_update_finish(U(c)), 0);
}

static void test_refused_while_pending_verify(void **state)
{
    ctx_t *c = *state;
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(feed_all(c, c->fx.v2, c->fx.v2_len, 3000), 0);
    assert_int_equal(aloft_update_finish(U(c)), 0);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.state, ALOFT_OTA_PENDING_VERIFY);
    uint64_t ops = flash_ops(c);
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_PENDING);
    assert_int_equal(flash_ops(c), ops);
    /* Once the health check confirms, updates are accepted again. */
    assert_int_equal(sim_tick(&c->fx.sim, 1), 1);
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    aloft_update_abort(U(c), ALOFT_ERR_ABORTED);
}

static void test_erase_ahead_uses_blocks(void **state)
{
    ctx_t *c = *state;
    image_spec_t spec = {.chip_id = ALOFT_CHIP_ESP32, .project = "big", .version = "3",
                         .size = 300000};
    size_t len;
    uint8_t *img = image_make(&spec, &len);
    nor_counters_t before = c->fx.sim.nor.count;
    aloft_update_req_t req = {.size = (uint32_t)len};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    int erased = 0;
    while (aloft_update_erase_ahead(U(c)) == 1)
        erased++;
    /* 300000 bytes = 4 blocks of 64 KiB + 10 sectors of 4 KiB, no more. */
    uint32_t need = ((uint32_t)len + 4095) / 4096 * 4096;
    assert_int_equal(c->fx.sim.nor.count.erase_bytes - before.erase_bytes, need);
    assert_int_equal(erased, (int)(need / 65536 + (need % 65536) / 4096));
    assert_int_equal(feed_all(c, img, len, 1460), 0);
    assert_int_equal(aloft_update_finish(U(c)), 0);
    /* Nothing more for the slot; activation erases one otadata sector. */
    assert_int_equal(c->fx.sim.nor.count.erase_bytes - before.erase_bytes, need + 4096);
    image_free(img);
}

static void test_filesystem_target(void **state)
{
    ctx_t *c = *state;
    size_t len = 200000;
    uint8_t *fs = malloc(len);
    for (size_t i = 0; i < len; i++)
        fs[i] = (uint8_t)(i * 7 + (i >> 9));
    aloft_update_req_t req = {.target = ALOFT_TARGET_FS, .size = (uint32_t)len};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_partition(U(c))->offset, SPIFFS);
    assert_int_equal(feed_all(c, fs, len, 1460), 0);
    assert_int_equal(aloft_update_finish(U(c)), 0);
    assert_memory_equal(c->fx.sim.nor.mem + SPIFFS, fs, len);
    free(fs);
    assert_untouched(c);   /* otadata and the app are not affected */

    req.size = 0x160001;   /* one byte more than the spiffs partition */
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_TOO_LARGE);
    req.fs_label = "nope";
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_NO_SLOT);
}

/* Feed v2 from its resume point to the end and finish. */
static void feed_rest_and_finish(ctx_t *c, const uint8_t *sha)
{
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len, .sha256 = sha, .resume = true};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    uint32_t off = aloft_update_offset(U(c));
    assert_int_equal(feed_all(c, c->fx.v2 + off, c->fx.v2_len - off, 1460), 0);
    assert_int_equal(aloft_update_finish(U(c)), 0);
    assert_int_equal(aloft_update_durable(U(c)), c->fx.v2_len);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "2.0.0");
}

static void test_resume_after_dropped_transfer(void **state)
{
    ctx_t *c = *state;
    uint8_t sha[32];
    aloft_update_resume_t r;
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->fx.v2, c->fx.v2_len, sha);
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len, .sha256 = sha, .resume = true};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_offset(U(c)), 0);
    assert_int_equal(aloft_update_find_resume(D(c), ALOFT_TARGET_APP, &r), 0);
    assert_int_equal(feed_all(c, c->fx.v2, 140000, 1000), 0);
    assert_int_equal(aloft_update_durable(U(c)), 131072);   /* two 64 KiB marks */
    aloft_update_abort(U(c), ALOFT_ERR_CLOSED);
    assert_untouched(c);   /* and survives a reboot */

    assert_int_equal(aloft_update_find_resume(D(c), ALOFT_TARGET_APP, &r), 1);
    assert_int_equal(r.offset, 131072);
    assert_int_equal(r.size, c->fx.v2_len);
    assert_memory_equal(r.sha256, sha, 32);
    uint64_t progs = c->fx.sim.nor.count.prog_bytes;
    feed_rest_and_finish(c, sha);
    /* Only the rest was written again, not the durable prefix. */
    assert_true(c->fx.sim.nor.count.prog_bytes - progs < c->fx.v2_len - 131072 + 4096);
    /* A finished transfer leaves nothing to resume. */
    assert_int_equal(aloft_update_find_resume(D(c), ALOFT_TARGET_APP, &r), 0);
}

static int feed_140k(void *arg)
{
    ctx_t *c = arg;
    return feed_all(c, c->fx.v2, 140000, 1460);
}

static void test_resume_after_power_cut_and_other_image_restarts(void **state)
{
    ctx_t *c = *state;
    uint8_t sha[32], other[32] = {0};
    aloft_update_resume_t r;
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->fx.v2, c->fx.v2_len, sha);
    aloft_update_req_t req = {.size = (uint32_t)c->fx.v2_len, .sha256 = sha, .resume = true};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    /* Cut the power about two thirds into the first 140 000 bytes. */
    assert_true(test_flash_run_cut(&c->fx.sim.nor, 400, 77, feed_140k, c, NULL));
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "1.0.0");
    assert_int_equal(aloft_update_find_resume(D(c), ALOFT_TARGET_APP, &r), 1);
    assert_true(r.offset >= 65536);

    /* Another image (another hash) does not resume: it starts at 0. */
    req.sha256 = other;
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_int_equal(aloft_update_offset(U(c)), 0);
    aloft_update_abort(U(c), ALOFT_ERR_ABORTED);
    feed_rest_and_finish(c, sha);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_update_and_boot_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_refused_before_flash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_chip_refused_before_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_image_refused_before_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_checksum_never_activates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_short_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_while_receiving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_while_pending_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_ahead_uses_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filesystem_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_dropped_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_power_cut_and_other_image_restarts,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
