/*
 * tests/unit/test_fixtures.c — real firmware images (shared/fixtures/
 * firmware, located by $ALOFT_FIXTURES) through the image parser.
 *
 * The expected values are copied from SOURCES.md, which was written from
 * the builds' own metadata and checked with an independent script, not
 * with aloft. Without the fixtures directory the program prints what is
 * missing and exits 77 (CTest: skipped), or fails under CI=true.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"

#include "aloft/wire/image.h"
#include "crypto_mbedtls.h"
#include "fileio.h"

#define SHA (&aloft_mbedtls_sha256)

typedef struct {
    const char *file;
    int rc;                /* 0, or ALOFT_ERR_IMG_ESP8266 */
    uint16_t chip;
    unsigned segs;         /* 0: not an ESP32 image */
    const char *project;   /* NULL: no app description */
    const char *version;
    const char *idf_ver;
    const char *date, *time;
    const char *sha256;    /* of the whole file */
} fixture_t;

/* From SOURCES.md. Dates are __DATE__ strings, so single-digit days have
 * two spaces ("Jul  4 2022"; the Markdown table shows one). */
static const fixture_t fixtures[] = {
    {"esp32_nim_ble_ota-5b4d670b.bin", 0, ALOFT_CHIP_ESP32, 6, NULL, NULL, NULL, NULL, NULL,
     "30d1c92c8ea6c8c949c3703c07692a700d1850f8565d10cfec433df99a27622f"},
    {"esp32_nim_ble_ota-b0767c3e.bin", 0, ALOFT_CHIP_ESP32, 6, "esp32-arduino-lib-builder",
     "9036908-dirty", "v3.3.5-1-g85c43024c", "Mar 26 2021", "06:09:28",
     "52420d0a3c86ef0d4300e6faaccc3cb78cbaadf3eef1ce55dae95323b76b356b"},
    {"esp32_nim_ble_ota-0ab0db3c.bin", 0, ALOFT_CHIP_ESP32, 6, "esp32-arduino-lib-builder",
     "9036908-dirty", "v3.3.5-1-g85c43024c", "Mar 26 2021", "06:09:28",
     "175865fd5bdb01e7df07e6f53823f5733791393fa7692c499529c13c37d71cf1"},
    {"esp32fota_anyfs_stage1-484e1de0.bin", 0, ALOFT_CHIP_ESP32, 6, "arduino-lib-builder",
     "heads/idf-release/v4.4-0-gd4572", "v4.4.1-472-gc9140caf8c", "Jul  4 2022", "18:42:51",
     "b1323b45b1de7342442c57256ce079facbd5af98c6b2204a288b1bc9253752c5"},
    {"esp32fota_anyfs_stage1-47803c41.bin", 0, ALOFT_CHIP_ESP32, 6, "arduino-lib-builder",
     "heads/idf-release/v4.4-0-gd4572", "v4.4.1-472-gc9140caf8c", "Jul  4 2022", "18:42:51",
     "00f8ae30ba4bfa8b1b393b57bddfa535b6385cd350144ee386e864dbae4d0d67"},
    {"hello-world_esp32-9fa9d6d8.bin", 0, ALOFT_CHIP_ESP32, 6, "hello-world",
     "v4.1-dev-1472-gef732fa-dirty", "v4.1-dev-1472-gef732fa-dirty", "Dec 17 2019", "09:55:41",
     "b95749b054fe7b739f95dc3458f5fc426430a2e7f33a6aa7466d0a7281a93de3"},
    {"hello-world_esp32-994d0965.bin", 0, ALOFT_CHIP_ESP32, 6, "hello-world",
     "v4.1-dev-1935-g647cb62-dirty", "v4.1-dev-1935-g647cb62-dirty", "Jan 24 2020", "14:16:47",
     "e3992ca5ad3069abf49a8cf117b0da302d97302e1b3c9a6ad77ceee9efe144b9"},
    {"hello_world_esp32s2-15742055.bin", 0, ALOFT_CHIP_ESP32S2, 5, "hello_world", "1",
     "v5.1-dirty", "Jul 24 2023", "23:40:24",
     "6f4abebb51d9f9f0d1d74f4ceb52f62d78c35cc2ad73dd5d543fc5340b91b95c"},
    {"hello_world_esp32s2-25401b9d.bin", 0, ALOFT_CHIP_ESP32S2, 5, "hello_world",
     "v1.4.1-2-g0296947-dirty", "v5.2.2-dirty", "Jul 25 2024", "16:25:28",
     "008c681971057cd48bab70f07fbf47e0041f1686143fd860dbf06bcc1f1fd98b"},
    {"hello_world_esp32c3-6b741fc9.bin", 0, ALOFT_CHIP_ESP32C3, 5, "hello_world", "1",
     "v5.1-dirty", "Jul 24 2023", "23:52:41",
     "3847b349e335d6b78ba718792343e76761c3ad1c90785d74bf417f602db7657a"},
    {"hello_world_esp32c3-25401b9d.bin", 0, ALOFT_CHIP_ESP32C3, 5, "hello_world",
     "v1.4.1-2-g0296947-dirty", "v5.2.2-dirty", "Jul 25 2024", "16:24:20",
     "06ea6806942019baa484808a54a62fe2e9eb4a524edada9e00c741d0a98a047a"},
    {"hello_world_esp32s3-6b741fc9.bin", 0, ALOFT_CHIP_ESP32S3, 5, "hello_world", "1",
     "v5.1-dirty", "Jul 24 2023", "23:54:29",
     "58f8bd34109148058d77035ad629778d96a2dd96d5a23bedee8b6686bacb8421"},
    {"hello_world_esp32s3-25401b9d.bin", 0, ALOFT_CHIP_ESP32S3, 5, "hello_world",
     "v1.4.1-2-g0296947-dirty", "v5.2.2-dirty", "Jul 25 2024", "16:25:51",
     "3dfbf390a908ac4a5e0cc83d55f0f5e6bbec28fc40f3f6823944e24f5f4373fc"},
    {"micropython_esp8266-v1.9.4.bin", ALOFT_ERR_IMG_ESP8266, ALOFT_CHIP_ESP8266, 0, NULL, NULL,
     NULL, NULL, NULL, "4dc1317a65b3d9b5a856fff2ba8a46d974d3088482e4674770009f04f3fa0521"},
    {"micropython_esp8266-v1.10.bin", ALOFT_ERR_IMG_ESP8266, ALOFT_CHIP_ESP8266, 0, NULL, NULL,
     NULL, NULL, NULL, "5f52137297f7dbbb3a301998ad710d8f33bef070395991081c95937ee2c56137"},
};
#define NFIXTURES (sizeof fixtures / sizeof fixtures[0])

static uint8_t *load(const fixture_t *fx, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fixture_dir(), fx->file);
    uint8_t *buf = read_file(path, len);
    if (buf == NULL)
        fail_msg("fixture %s is listed in SOURCES.md but cannot be read", path);
    return buf;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void check_one(const fixture_t *fx, const uint8_t *buf, size_t len,
                      const aloft_image_info_t *in, int rc)
{
    char sha[65];
    uint8_t digest[32];
    /* The file is the one SOURCES.md describes. */
    aloft_hash_oneshot(SHA, buf, len, digest);
    hex(sha, digest, 32);
    assert_string_equal(sha, fx->sha256);
    if (rc != fx->rc)
        fail_msg("%s: got %d (%s), want %d", fx->file, rc, aloft_strerror(rc), fx->rc);
    assert_int_equal(in->chip_id, fx->chip);
    if (fx->rc != 0)
        return;
    assert_true(in->complete);
    assert_true(in->hash_appended);
    assert_int_equal(in->segment_count, fx->segs);
    assert_int_equal(in->image_len, len);
    hex(sha, in->sha256, 32);
    assert_string_equal(sha, fx->sha256);
    assert_true(in->have_desc);
    assert_int_equal(in->has_desc, fx->project != NULL);
    if (fx->project == NULL)
        return;
    assert_string_equal(in->desc.project_name, fx->project);
    assert_string_equal(in->desc.version, fx->version);
    assert_string_equal(in->desc.idf_ver, fx->idf_ver);
    assert_string_equal(in->desc.date, fx->date);
    assert_string_equal(in->desc.time, fx->time);
}

static void test_fixtures_oneshot(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFIXTURES; i++) {
        size_t len;
        uint8_t *buf = load(&fixtures[i], &len);
        aloft_image_info_t info;
        aloft_diag_t diag;
        int rc = aloft_image_check(buf, len, SHA, &info, &diag);
        check_one(&fixtures[i], buf, len, &info, rc);
        assert_int_equal(diag.err, rc);
        free(buf);
    }
}

/* Byte by byte and in odd pieces: the same answers. */
static void test_fixtures_streamed(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 3, 509, 1460, 4096};
    static aloft_image_t im;
    for (size_t i = 0; i < NFIXTURES; i++) {
        size_t len;
        uint8_t *buf = load(&fixtures[i], &len);
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            int rc = 0;
            aloft_image_init(&im, SHA);
            for (size_t off = 0; off < len && rc >= 0; off += chunks[c]) {
                size_t n = len - off < chunks[c] ? len - off : chunks[c];
                rc = aloft_image_feed(&im, buf + off, n);
                if (rc >= 0 && (size_t)rc != n)
                    fail_msg("%s: image ended before the file", fixtures[i].file);
            }
            if (rc >= 0)
                rc = aloft_image_finish(&im);
            check_one(&fixtures[i], buf, len, aloft_image_info(&im), rc);
        }
        free(buf);
    }
}

/* Each real image, cut short or with a flipped bit, is refused. */
static void test_fixtures_damaged(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFIXTURES; i++) {
        size_t len;
        uint8_t *buf;
        if (fixtures[i].rc != 0)
            continue;
        buf = load(&fixtures[i], &len);
        assert_int_equal(aloft_image_check(buf, len - 1, SHA, NULL, NULL), ALOFT_ERR_IMG_TRUNCATED);
        buf[len / 2] ^= 0x10;
        int rc = aloft_image_check(buf, len, SHA, NULL, NULL);
        assert_true(rc == ALOFT_ERR_IMG_CHECKSUM || rc == ALOFT_ERR_IMG_HASH);
        free(buf);
    }
}

int main(void)
{
    int missing = fixtures_missing();
    if (missing >= 0)
        return missing;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_oneshot),
        cmocka_unit_test(test_fixtures_streamed),
        cmocka_unit_test(test_fixtures_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
