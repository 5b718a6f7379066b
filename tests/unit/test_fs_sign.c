/*
 * tests/unit/test_fs_sign.c — signatures on filesystem images (FORMATS.md
 * 1.4, PROTOCOL.md 4.5) on a simulated ESP32 with a provisioned key.
 *
 * Accepted: a block with target 1, this chip, the image's size and
 * SHA-256, announced in begin (native, web) or trailing the staged file
 * (espota, the block then not copied). Refused, with the whole spiffs
 * partition and the app slots byte-identical afterwards: unsigned (-69, in
 * begin with no flash operation when the transport says it sends the image
 * alone), an app block (-74), another chip (-30), another project (-73),
 * changed data (-74), and espota with nowhere to stage (-94, before any
 * erase). A device without keys strips a trailing block it can read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto_mbedtls.h"
#include "sign_keys.h"
#include "sim_fixture.h"
#include "test_flash.h"

#define APP0 0x10000u
#define SLOT 0x140000u   /* app0 size */
#define SPIFFS 0x290000u
#define FS_LEN 69700u   /* one 64 KiB mark and a partial last sector */

typedef struct ctx {
    sim_fixture_t fx;
    sign_key_t *key;
    uint8_t *old_fs, *new_fs;
    uint8_t *base;      /* flash with old_fs in spiffs, v1 running */
    uint32_t fs_size;   /* the spiffs partition */
} ctx_t;

static aloft_update_t *U(ctx_t *c) { return &c->fx.sim.update; }
static const aloft_device_t *D(ctx_t *c) { return &c->fx.sim.dev; }

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL || simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 60000, 70000) != 0 ||
        (c->key = sign_key_generate()) == NULL)
        return -1;
    c->old_fs = simfx_fs_image(FS_LEN, 1);
    c->new_fs = simfx_fs_image(FS_LEN, 2);
    memcpy(c->fx.sim.nor.mem + SPIFFS, c->old_fs, FS_LEN);
    c->fs_size = aloft_ptable_find_fs(c->fx.sim.dev.ptable, NULL)->size;
    c->base = simfx_snapshot(&c->fx);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    simfx_teardown(&c->fx);
    sign_key_free(c->key);
    free(c->old_fs);
    free(c->new_fs);
    free(c->base);
    free(c);
    return 0;
}

/* Back to the base flash, booted, with the key provisioned (or none). */
static void restore(ctx_t *c, bool keyed)
{
    memcpy(c->fx.sim.nor.mem, c->base, c->fx.sim.nor.size);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    c->fx.sim.dev.keys = sign_key_public(c->key);
    c->fx.sim.dev.nkeys = keyed ? 1 : 0;
}

/* The live filesystem and the running app exactly as in the base flash. */
static void assert_untouched(ctx_t *c)
{
    assert_true(simfx_same(&c->fx, c->base, SPIFFS, c->fs_size));
    assert_true(simfx_same(&c->fx, c->base, APP0, SLOT));   /* app1 may hold the staged image */
}

typedef struct signing {
    uint8_t target;
    uint16_t chip;
    const char *project;
} signing_t;

static const signing_t FS_SIGNED = {ALOFT_TARGET_FS, ALOFT_CHIP_ESP32, ""};

/* The signature block for img[0..len) into block; returns its length. */
static int sign_fs(ctx_t *c, const uint8_t *img, uint32_t len, const signing_t *s,
                   uint8_t block[ALOFT_SIG_BLOCK_MAX])
{
    aloft_signed_meta_t m;
    memset(&m, 0, sizeof m);
    m.image_size = len;
    assert_int_equal(aloft_hash_oneshot(&aloft_mbedtls_sha256, img, len, m.image_sha256), 0);
    m.chip_id = s->chip;
    m.target = s->target;
    strcpy(m.project, s->project);
    int n = sign_meta(c->key, &m, block, ALOFT_SIG_BLOCK_MAX);
    assert_true(n > 0);
    return n;
}

/* Native/web: the image alone, its SHA-256 and the block (or none) in begin. */
static int begin_announced(ctx_t *c, const uint8_t *img, uint32_t len, const uint8_t *block,
                           int blen)
{
    uint8_t sha[32];
    assert_int_equal(aloft_hash_oneshot(&aloft_mbedtls_sha256, img, len, sha), 0);
    aloft_update_req_t req = {.target = ALOFT_TARGET_FS, .size = len, .sha256 = sha,
                              .image_only = true, .sig_block = blen ? block : NULL,
                              .sig_block_len = (size_t)blen};
    return aloft_update_begin(U(c), D(c), &req);
}

static int feed_finish(ctx_t *c, const uint8_t *data, uint32_t len)
{
    int err = 0;
    for (uint32_t off = 0; !err && off < len; off += 1460)
        err = aloft_update_feed(U(c), data + off, len - off < 1460 ? len - off : 1460);
    return err ? err : aloft_update_finish(U(c));
}

/* espota: the file as is (image + block), no SHA-256 announced. */
static int upload_file(ctx_t *c, const uint8_t *img, uint32_t len, const uint8_t *block,
                       int blen)
{
    uint8_t *file = malloc(len + (size_t)blen);
    memcpy(file, img, len);
    if (blen)
        memcpy(file + len, block, (size_t)blen);
    aloft_update_req_t req = {.target = ALOFT_TARGET_FS, .size = len + (uint32_t)blen};
    int err = aloft_update_begin(U(c), D(c), &req);
    if (!err)
        err = feed_finish(c, file, req.size);
    free(file);
    return err;
}

/* The new image in spiffs, and nothing after it: the block is not copied. */
static void assert_new_fs(ctx_t *c, int blen)
{
    const uint8_t *fs = c->fx.sim.nor.mem + SPIFFS;
    assert_memory_equal(fs, c->new_fs, FS_LEN);
    for (int i = 0; i < blen; i++)
        assert_int_equal(fs[FS_LEN + (uint32_t)i], 0xFF);
    assert_true(simfx_same(&c->fx, c->base, APP0, SLOT));   /* the running app as it was */
}

static void test_signed_announced(void **state)
{
    ctx_t *c = *state;
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    restore(c, true);
    int blen = sign_fs(c, c->new_fs, FS_LEN, &FS_SIGNED, block);
    assert_int_equal(begin_announced(c, c->new_fs, FS_LEN, block, blen), 0);
    assert_string_equal(aloft_update_staging(U(c))->label, "app1");
    assert_int_equal(feed_finish(c, c->new_fs, FS_LEN), 0);
    assert_new_fs(c, 0);
}

static void test_signed_trailing(void **state)
{
    ctx_t *c = *state;
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    restore(c, true);
    int blen = sign_fs(c, c->new_fs, FS_LEN, &FS_SIGNED, block);
    assert_int_equal(upload_file(c, c->new_fs, FS_LEN, block, blen), 0);
    assert_new_fs(c, blen);
}

static void test_unsigned_refused(void **state)
{
    ctx_t *c = *state;
    restore(c, true);
    uint64_t ops = nor_ops(&c->fx.sim.nor);
    assert_int_equal(begin_announced(c, c->new_fs, FS_LEN, NULL, 0), ALOFT_ERR_UNSIGNED);
    assert_int_equal(nor_ops(&c->fx.sim.nor), ops);   /* nothing read, erased or written */
    /* espota cannot say: staged, then refused before the copy. */
    assert_int_equal(upload_file(c, c->new_fs, FS_LEN, NULL, 0), ALOFT_ERR_UNSIGNED);
    assert_int_equal(aloft_update_diag(U(c))->err, ALOFT_ERR_UNSIGNED);
    assert_untouched(c);
}

static void test_wrong_target_chip_project(void **state)
{
    ctx_t *c = *state;
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    const signing_t bad[] = {{ALOFT_TARGET_APP, ALOFT_CHIP_ESP32, ""},
                             {ALOFT_TARGET_FS, ALOFT_CHIP_ESP32S3, ""},
                             {ALOFT_TARGET_FS, ALOFT_CHIP_ESP32, "other"}};
    const int want[] = {ALOFT_ERR_SIGNED_MISMATCH, ALOFT_ERR_IMG_CHIP, ALOFT_ERR_PROJECT};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        restore(c, true);
        int blen = sign_fs(c, c->new_fs, FS_LEN, &bad[i], block);
        uint64_t ops = nor_ops(&c->fx.sim.nor);
        assert_int_equal(begin_announced(c, c->new_fs, FS_LEN, block, blen), want[i]);
        assert_int_equal(nor_ops(&c->fx.sim.nor), ops);
        assert_int_equal(upload_file(c, c->new_fs, FS_LEN, block, blen), want[i]);
        assert_untouched(c);
    }
    /* The running firmware's project, signed: accepted. */
    restore(c, true);
    const signing_t demo = {ALOFT_TARGET_FS, ALOFT_CHIP_ESP32, "demo"};
    int blen = sign_fs(c, c->new_fs, FS_LEN, &demo, block);
    assert_int_equal(upload_file(c, c->new_fs, FS_LEN, block, blen), 0);
    assert_new_fs(c, blen);
}

static void test_tampered(void **state)
{
    ctx_t *c = *state;
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    restore(c, true);
    int blen = sign_fs(c, c->new_fs, FS_LEN, &FS_SIGNED, block);
    uint8_t *bad = simfx_fs_image(FS_LEN, 2);
    bad[FS_LEN / 2] ^= 1;
    uint64_t ops = nor_ops(&c->fx.sim.nor);
    assert_int_equal(begin_announced(c, bad, FS_LEN, block, blen), ALOFT_ERR_SIGNED_MISMATCH);
    assert_int_equal(nor_ops(&c->fx.sim.nor), ops);
    assert_int_equal(upload_file(c, bad, FS_LEN, block, blen), ALOFT_ERR_SIGNED_MISMATCH);
    assert_untouched(c);
    free(bad);
}

/* espota with nowhere to stage (app1 holds the previous firmware): the
 * block could only be checked after the data is in the live filesystem,
 * so refuse before any erase. */
static void test_in_place_refused(void **state)
{
    ctx_t *c = *state;
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    restore(c, false);
    assert_int_equal(sim_update_buffer(&c->fx.sim, ALOFT_TARGET_APP, c->fx.v2, c->fx.v2_len), 0);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(sim_confirm(&c->fx.sim, "test"), 1);
    uint8_t *snap = simfx_snapshot(&c->fx);
    c->fx.sim.dev.keys = sign_key_public(c->key);
    c->fx.sim.dev.nkeys = 1;
    int blen = sign_fs(c, c->new_fs, FS_LEN, &FS_SIGNED, block);
    uint64_t ops = nor_ops(&c->fx.sim.nor);
    assert_int_equal(upload_file(c, c->new_fs, FS_LEN, block, blen), ALOFT_ERR_IN_PLACE);
    assert_int_equal(nor_ops(&c->fx.sim.nor), ops);
    assert_string_equal(aloft_update_diag(U(c))->where, "app0");
    assert_true(simfx_same(&c->fx, snap, 0, (uint32_t)c->fx.sim.nor.size));
    free(snap);
}

/* Without keys a trailing block that describes the image is not copied;
 * bytes that only look like one at the end of a raw image would be. */
static void test_keyless_strips(void **state)
{
    ctx_t *c = *state;
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    restore(c, false);
    int blen = sign_fs(c, c->new_fs, FS_LEN, &FS_SIGNED, block);
    assert_int_equal(upload_file(c, c->new_fs, FS_LEN, block, blen), 0);
    assert_new_fs(c, blen);
    restore(c, false);
    assert_int_equal(upload_file(c, c->new_fs, FS_LEN, NULL, 0), 0);
    assert_new_fs(c, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_announced),
        cmocka_unit_test(test_signed_trailing),
        cmocka_unit_test(test_unsigned_refused),
        cmocka_unit_test(test_wrong_target_chip_project),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_in_place_refused),
        cmocka_unit_test(test_keyless_strips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
