/*
 * tests/unit/test_fs_stage.c — filesystem images staged, never half-written
 * over the live filesystem (docs/PROTOCOL.md 4.5), on a simulated device
 * (default scheme: app0, app1, spiffs at 0x290000, coredump).
 *
 * Where an image goes: the fs_stage partition, else a free inactive slot,
 * else in place only when allowed (-94 otherwise, naming the slot that
 * holds the previous firmware); a staged upload broken off or failing its
 * SHA-256 leaves the live filesystem as it was; an update into a staging
 * area whose copy is pending is refused.
 *
 * The power-cut sweep over finish (closing the transfer journal, starting
 * the copy journal, the copy, its marks, the read-back, the close): every
 * flash operation cut once, then a reboot, whose recovery must leave the
 * filesystem holding all of the old image (cuts before the copy journal's
 * record is whole) or all of the new one (every later cut), and the
 * running firmware untouched. One cut in the middle of the copy is then followed
 * by a second cut at every operation of the boot's recovery.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto_mbedtls.h"
#include "sim_fixture.h"
#include "test_flash.h"

#define APP0 0x10000u
#define APP1 0x150000u
#define SLOT 0x140000u
#define SPIFFS 0x290000u
#define FS_LEN 69700u    /* one 64 KiB mark and a tail whose last page holds data */

typedef struct ctx {
    sim_fixture_t fx;
    uint8_t *old_fs, *new_fs;
    uint8_t *base;       /* flash with old_fs in spiffs, v1 running */
} ctx_t;

static aloft_update_t *U(ctx_t *c) { return &c->fx.sim.update; }
static const aloft_device_t *D(ctx_t *c) { return &c->fx.sim.dev; }

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL || simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 60000, 70000) != 0)
        return -1;
    c->old_fs = simfx_fs_image(FS_LEN, 1);
    c->new_fs = simfx_fs_image(FS_LEN, 2);
    memcpy(c->fx.sim.nor.mem + SPIFFS, c->old_fs, FS_LEN);
    c->base = simfx_snapshot(&c->fx);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    simfx_teardown(&c->fx);
    free(c->old_fs);
    free(c->new_fs);
    free(c->base);
    free(c);
    return 0;
}

/* Back to the base flash, booted. */
static void restore(ctx_t *c)
{
    memcpy(c->fx.sim.nor.mem, c->base, c->fx.sim.nor.size);
    assert_int_equal(simfx_reboot(&c->fx), 0);
}

static int begin_fs(ctx_t *c, const uint8_t *img, uint32_t len, aloft_fs_stage_t stage)
{
    uint8_t sha[32];
    assert_int_equal(aloft_hash_oneshot(&aloft_mbedtls_sha256, img, len, sha), 0);
    aloft_update_req_t req = {.target = ALOFT_TARGET_FS, .size = len, .sha256 = sha,
                              .fs_stage = stage};
    return aloft_update_begin(U(c), D(c), &req);
}

static int feed(ctx_t *c, const uint8_t *img, uint32_t from, uint32_t to)
{
    int err = 0;
    for (uint32_t off = from; !err && off < to; off += 1460)
        err = aloft_update_feed(U(c), img + off, to - off < 1460 ? to - off : 1460);
    return err;
}

static int upload(ctx_t *c, const uint8_t *img, uint32_t len, aloft_fs_stage_t stage)
{
    int err = begin_fs(c, img, len, stage);
    if (!err)
        err = feed(c, img, 0, len);
    return err ? err : aloft_update_finish(U(c));
}

static bool spiffs_is(ctx_t *c, const uint8_t *img)
{
    return memcmp(c->fx.sim.nor.mem + SPIFFS, img, FS_LEN) == 0;
}

static void assert_app_untouched(ctx_t *c)
{
    assert_true(simfx_same(&c->fx, c->base, APP0, SLOT));
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 0);
    assert_string_equal(c->fx.sim.boot.info.desc.version, "1.0.0");
}

/* A fresh device: app1 holds nothing, so the image is staged there. */
static void test_staged_in_free_slot(void **state)
{
    ctx_t *c = *state;
    restore(c);
    assert_int_equal(begin_fs(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_ASK), 0);
    assert_string_equal(aloft_update_partition(U(c))->label, "spiffs");
    assert_string_equal(aloft_update_staging(U(c))->label, "app1");
    assert_int_equal(feed(c, c->new_fs, 0, FS_LEN), 0);
    assert_true(spiffs_is(c, c->old_fs));   /* nothing copied before finish */
    assert_int_equal(aloft_update_finish(U(c)), 0);
    assert_true(spiffs_is(c, c->new_fs));
    assert_app_untouched(c);
}

/* Broken off, or failing its SHA-256: the live filesystem as it was. */
static void test_failures_leave_fs(void **state)
{
    ctx_t *c = *state;
    restore(c);
    assert_int_equal(begin_fs(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_ASK), 0);
    assert_int_equal(feed(c, c->new_fs, 0, FS_LEN / 2), 0);
    aloft_update_abort(U(c), ALOFT_ERR_CLOSED);
    assert_true(spiffs_is(c, c->old_fs));

    uint8_t *bad = simfx_fs_image(FS_LEN, 2);
    bad[FS_LEN - 1] ^= 1;
    assert_int_equal(begin_fs(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_ASK), 0);
    assert_int_equal(feed(c, bad, 0, FS_LEN), 0);
    assert_int_equal(aloft_update_finish(U(c)), ALOFT_ERR_SHA256);
    assert_true(spiffs_is(c, c->old_fs));
    free(bad);
    assert_app_untouched(c);
}

/* After an app update the inactive slot holds the previous firmware:
 * ASK refuses (naming it), SLOT stages there, AUTO writes in place. */
static void test_slot_with_firmware(void **state)
{
    ctx_t *c = *state;
    char text[400];
    restore(c);
    assert_int_equal(sim_update_buffer(&c->fx.sim, ALOFT_TARGET_APP, c->fx.v2, c->fx.v2_len), 0);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(c->fx.sim.boot.slot, 1);
    assert_int_equal(sim_confirm(&c->fx.sim, "test"), 1);

    uint64_t ops = nor_ops(&c->fx.sim.nor);
    assert_int_equal(begin_fs(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_ASK), ALOFT_ERR_IN_PLACE);
    assert_int_equal(nor_ops(&c->fx.sim.nor), ops);
    const aloft_diag_t *d = aloft_update_diag(U(c));
    assert_string_equal(d->where, "app0");
    assert_int_equal(d->have, (FS_LEN + 4095) / 4096 * 4096 + 4096);   /* and the journal */
    aloft_diag_format(d, text, sizeof text);
    assert_non_null(strstr(text, "no fs_stage partition has them and slot app0 holds the previous firmware"));
    assert_non_null(strstr(text, "or write in place (if the upload breaks off, the filesystem is left half-written)"));

    assert_int_equal(begin_fs(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_AUTO), 0);
    assert_string_equal(aloft_update_staging(U(c))->label, "spiffs");
    aloft_update_abort(U(c), ALOFT_ERR_ABORTED);

    assert_int_equal(upload(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_SLOT), 0);
    assert_string_equal(aloft_update_staging(U(c))->label, "app0");
    assert_true(spiffs_is(c, c->new_fs));
    /* app0's firmware is gone: nothing to roll back to. */
    assert_int_equal(aloft_update_rollback(U(c), D(c)), ALOFT_ERR_NO_BOOTABLE);
}

/* Too large for any staging area (but not for spiffs): "in place". */
static void test_nowhere_to_stage(void **state)
{
    ctx_t *c = *state;
    char text[400];
    restore(c);
    uint32_t len = SLOT;   /* leaves no sector of app1 for the journal */
    uint8_t sha[32] = {0};
    aloft_update_req_t req = {.target = ALOFT_TARGET_FS, .size = len, .sha256 = sha,
                              .fs_stage = ALOFT_FS_STAGE_SLOT};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_IN_PLACE);
    assert_string_equal(aloft_update_diag(U(c))->where, "in place");
    aloft_diag_format(aloft_update_diag(U(c)), text, sizeof text);
    assert_non_null(strstr(text, "no fs_stage partition or free app slot has them. Write in place"));
    req.fs_stage = ALOFT_FS_STAGE_AUTO;
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    assert_string_equal(aloft_update_staging(U(c))->label, "spiffs");
    aloft_update_abort(U(c), ALOFT_ERR_ABORTED);
}

static int do_finish(void *arg)
{
    return aloft_update_finish(U(arg));
}

/* A partition labelled fs_stage comes first (here the coredump partition
 * relabelled in RAM: 64 KiB, so it takes images up to 60 KiB). */
static void test_stage_partition(void **state)
{
    ctx_t *c = *state;
    restore(c);
    aloft_part_t *cd = &c->fx.sim.boot.pt.parts[5];
    assert_string_equal(cd->label, "coredump");
    strcpy(cd->label, "fs_stage");
    uint8_t *small = simfx_fs_image(60000, 3);
    assert_int_equal(upload(c, small, 60000, ALOFT_FS_STAGE_ASK), 0);
    assert_string_equal(aloft_update_staging(U(c))->label, "fs_stage");
    assert_memory_equal(c->fx.sim.nor.mem + SPIFFS, small, 60000);
    assert_int_equal(begin_fs(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_ASK), 0);
    assert_string_equal(aloft_update_staging(U(c))->label, "app1");   /* too large for it */
    aloft_update_abort(U(c), ALOFT_ERR_ABORTED);

    /* A copy out of fs_stage cut short is finished from there too. */
    uint8_t *other = simfx_fs_image(60000, 4);
    assert_int_equal(begin_fs(c, other, 60000, ALOFT_FS_STAGE_ASK), 0);
    assert_int_equal(feed(c, other, 0, 60000), 0);
    assert_true(test_flash_run_cut(&c->fx.sim.nor, 30, 1, do_finish, c, NULL));
    assert_memory_not_equal(c->fx.sim.nor.mem + SPIFFS, other, 60000);
    memset(U(c), 0, sizeof *U(c));   /* RAM lost; the relabelled table kept */
    assert_int_equal(aloft_update_recover_fs(U(c), D(c)), 1);
    assert_string_equal(aloft_update_staging(U(c))->label, "fs_stage");
    assert_memory_equal(c->fx.sim.nor.mem + SPIFFS, other, 60000);
    free(other);
    free(small);
}

/* Operations from here to the end of fn. */
static uint64_t ops_of(ctx_t *c, int (*fn)(void *))
{
    uint64_t before = nor_ops(&c->fx.sim.nor);
    assert_int_equal(fn(c), 0);
    return nor_ops(&c->fx.sim.nor) - before;
}

static int do_boot(void *arg)
{
    return sim_boot(&((ctx_t *)arg)->fx.sim, 0);
}

/* The flash just before finish: the whole image staged in app1. */
static void ready_to_finish(ctx_t *c)
{
    restore(c);
    assert_int_equal(begin_fs(c, c->new_fs, FS_LEN, ALOFT_FS_STAGE_ASK), 0);
    assert_int_equal(feed(c, c->new_fs, 0, FS_LEN), 0);
}

static void test_power_cut_sweep(void **state)
{
    ctx_t *c = *state;
    ready_to_finish(c);
    uint64_t n_finish = ops_of(c, do_finish);
    assert_true(spiffs_is(c, c->new_fs));
    /* The copy journal's record (in app1's last sector) once written. */
    uint8_t record[48];
    const uint32_t journal = APP1 + SLOT - 4096;
    memcpy(record, c->fx.sim.nor.mem + journal, sizeof record);
    assert_int_equal(record[5], 2);   /* ALOFT_JOURNAL_COPY */

    uint64_t first_new = 0, cuts = 0;
    for (uint64_t n = 1; n <= n_finish; n++) {
        ready_to_finish(c);
        assert_true(test_flash_run_cut(&c->fx.sim.nor, n, (uint32_t)n * 7919u, do_finish, c,
                                       NULL));
        assert_int_equal(simfx_reboot(&c->fx), 0);   /* the boot finishes the copy */
        bool is_new = spiffs_is(c, c->new_fs);
        if (!is_new && !spiffs_is(c, c->old_fs))
            fail_msg("cut at finish op %llu of %llu: spiffs holds neither image",
                     (unsigned long long)n, (unsigned long long)n_finish);
        /* Cut before the record was whole: that boot has nothing to copy. */
        bool had_record = memcmp(c->fx.sim.nor.mem + journal, record, sizeof record) == 0;
        if (is_new != had_record)
            fail_msg("cut at op %llu: spiffs %s image, but the copy journal %s",
                     (unsigned long long)n, is_new ? "holds the new" : "kept the old",
                     had_record ? "was written" : "was not");
        if (is_new && first_new == 0)
            first_new = n;
        if (!is_new && first_new)
            fail_msg("cut at op %llu: old image after a cut at %llu gave the new one",
                     (unsigned long long)n, (unsigned long long)first_new);
        assert_true(simfx_same(&c->fx, c->base, APP0, SLOT));
        assert_string_equal(c->fx.sim.boot.info.desc.version, "1.0.0");
        cuts++;
    }
    /* Before the record is whole: at least the transfer journal's close,
     * the journal sector's erase and the record itself. */
    if (first_new < 4)
        fail_msg("first cut giving the new image: op %llu", (unsigned long long)first_new);

    /* Cut in the middle of the copy, then cut the recovery at every op. */
    uint64_t mid = first_new + (n_finish - first_new) / 2, n_boot;
    ready_to_finish(c);
    assert_true(test_flash_run_cut(&c->fx.sim.nor, mid, 1, do_finish, c, NULL));
    uint8_t *cut = simfx_snapshot(&c->fx);
    n_boot = ops_of(c, do_boot);
    assert_true(spiffs_is(c, c->new_fs));
    assert_int_equal(ops_of(c, do_boot), 0);   /* nothing left to do */
    for (uint64_t n = 1; n <= n_boot; n++) {
        memcpy(c->fx.sim.nor.mem, cut, c->fx.sim.nor.size);
        assert_true(test_flash_run_cut(&c->fx.sim.nor, n, (uint32_t)n * 104729u, do_boot, c,
                                       NULL));
        assert_int_equal(simfx_reboot(&c->fx), 0);
        if (!spiffs_is(c, c->new_fs))
            fail_msg("second cut at recovery op %llu: spiffs is not the new image",
                     (unsigned long long)n);
        cuts++;
    }
    free(cut);
    printf("power-cut sweep: %llu finish ops (copy from op %llu on), %llu recovery ops, "
           "%llu cut points, 0 failures: spiffs is always the whole old or the whole new "
           "image, the new one once the copy journal exists\n",
           (unsigned long long)n_finish, (unsigned long long)first_new,
           (unsigned long long)n_boot, (unsigned long long)cuts);
    assert_true(n_finish > 50 && n_boot > 40);
}

/* A copy interrupted (and not finished, as the boot would) keeps its
 * staging area: no update may write there until the boot's recovery. */
static void test_pending_copy_refuses(void **state)
{
    ctx_t *c = *state;
    ready_to_finish(c);
    uint64_t n = 20;
    assert_true(test_flash_run_cut(&c->fx.sim.nor, n, 1, do_finish, c, NULL));
    /* No reboot (RAM reset only): the journal is pending in app1. */
    memset(U(c), 0, sizeof *U(c));
    aloft_update_req_t req = {.target = ALOFT_TARGET_APP, .size = (uint32_t)c->fx.v2_len};
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), ALOFT_ERR_BUSY);
    assert_string_equal(aloft_update_diag(U(c))->where, "app1");
    assert_int_equal(aloft_update_recover_fs(U(c), D(c)), 1);
    assert_string_equal(aloft_update_partition(U(c))->label, "spiffs");
    assert_true(spiffs_is(c, c->new_fs));
    assert_int_equal(aloft_update_recover_fs(U(c), D(c)), 0);
    assert_int_equal(aloft_update_begin(U(c), D(c), &req), 0);
    aloft_update_abort(U(c), ALOFT_ERR_ABORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staged_in_free_slot),
        cmocka_unit_test(test_failures_leave_fs),
        cmocka_unit_test(test_slot_with_firmware),
        cmocka_unit_test(test_nowhere_to_stage),
        cmocka_unit_test(test_stage_partition),
        cmocka_unit_test(test_pending_copy_refuses),
        cmocka_unit_test(test_power_cut_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
