/*
 * tests/unit/test_image.c — the streaming app-image parser (lib/image.c).
 *
 * Properties: feeding an image in pieces of any size gives exactly the
 * one-shot answer (info and diag), for valid and for damaged images; each
 * kind of damage gets its own code with the offsets and values that explain
 * it; images from image_make validate for every chip. One image is built
 * by hand below so the checksum rule is checked against arithmetic done
 * outside aloft; the real-firmware checks are in test_fixtures.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/wire/image.h"
#include "bytes.h"
#include "crypto_mbedtls.h"
#include "image_make.h"

#define SHA (&aloft_mbedtls_sha256)

static const uint16_t all_chips[] = {
    ALOFT_CHIP_ESP32, ALOFT_CHIP_ESP32S2, ALOFT_CHIP_ESP32C3, ALOFT_CHIP_ESP32S3,
    ALOFT_CHIP_ESP32C2, ALOFT_CHIP_ESP32C6, ALOFT_CHIP_ESP32H2, ALOFT_CHIP_ESP32P4,
    ALOFT_CHIP_ESP32C61, ALOFT_CHIP_ESP32C5,
};
#define NCHIPS (sizeof all_chips / sizeof all_chips[0])

/* ---- helpers ---------------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len;
} img_t;

static img_t make_spec(const image_spec_t *spec)
{
    img_t m;
    m.buf = image_make(spec, &m.len);
    assert_non_null(m.buf);
    return m;
}

static img_t make(uint16_t chip, uint32_t size)
{
    image_spec_t spec = {.chip_id = chip, .project = "unit", .version = "1.0", .size = size};
    return make_spec(&spec);
}

/* A copy with room for extra bytes at the end. */
static img_t copy(img_t m, size_t extra)
{
    img_t c = {malloc(m.len + extra), m.len};
    assert_non_null(c.buf);
    memcpy(c.buf, m.buf, m.len);
    memset(c.buf + m.len, 0x5A, extra);
    return c;
}

/* Image offset of segment i's 8-byte header. */
static size_t seg_hdr(const uint8_t *img, unsigned i)
{
    size_t off = ALOFT_IMAGE_HEADER_LEN;
    for (unsigned k = 0; k < i; k++)
        off += ALOFT_IMAGE_SEG_HEADER_LEN + aloft_ld32(img + off + 4);
    return off;
}

/* Everything the parser reports, for comparing two runs. */
typedef struct {
    int rc;
    aloft_image_info_t info;
    aloft_diag_t diag;
} result_t;

/* What aloft_image_check does, but in pieces of `chunk` bytes. */
static result_t run_split(const uint8_t *p, size_t len, size_t chunk)
{
    aloft_image_t im;
    result_t r;
    size_t off = 0;
    assert_int_equal(aloft_image_init(&im, SHA), 0);
    r.rc = 0;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        int got = aloft_image_feed(&im, p + off, n);
        if (got < 0) {
            r.rc = got;
            break;
        }
        if ((size_t)got < n) {
            r.rc = aloft_diag_set(&im.diag, ALOFT_ERR_IMG_TRAILING, (uint32_t)len,
                                  (uint32_t)(off + (size_t)got), NULL);
            break;
        }
        off += n;
    }
    if (r.rc == 0)
        r.rc = aloft_image_finish(&im);
    r.info = *aloft_image_info(&im);
    r.diag = *aloft_image_diag(&im);
    return r;
}

static result_t run_check(const uint8_t *p, size_t len)
{
    result_t r;
    r.rc = aloft_image_check(p, len, SHA, &r.info, &r.diag);
    return r;
}

static void assert_same(const result_t *a, const result_t *b)
{
    const aloft_image_info_t *x = &a->info, *y = &b->info;
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->diag.err, b->diag.err);
    assert_int_equal(a->diag.have, b->diag.have);
    assert_int_equal(a->diag.want, b->diag.want);
    assert_string_equal(a->diag.where, b->diag.where);
    assert_int_equal(x->have_header, y->have_header);
    assert_int_equal(x->have_desc, y->have_desc);
    assert_int_equal(x->complete, y->complete);
    assert_int_equal(x->has_desc, y->has_desc);
    assert_int_equal(x->hash_appended, y->hash_appended);
    assert_int_equal(x->chip_id, y->chip_id);
    assert_int_equal(x->segment_count, y->segment_count);
    assert_int_equal(x->spi_mode, y->spi_mode);
    assert_int_equal(x->spi_speed, y->spi_speed);
    assert_int_equal(x->spi_size, y->spi_size);
    assert_int_equal(x->entry_addr, y->entry_addr);
    assert_int_equal(x->checksum, y->checksum);
    assert_int_equal(x->image_len, y->image_len);
    assert_memory_equal(x->sha256, y->sha256, sizeof x->sha256);
    assert_memory_equal(x->segments, y->segments, sizeof x->segments);
    assert_int_equal(x->desc.secure_version, y->desc.secure_version);
    assert_string_equal(x->desc.version, y->desc.version);
    assert_string_equal(x->desc.project_name, y->desc.project_name);
    assert_string_equal(x->desc.idf_ver, y->desc.idf_ver);
    assert_string_equal(x->desc.date, y->desc.date);
    assert_string_equal(x->desc.time, y->desc.time);
}

/* The one-shot answer must be `code`, and every split in 1..max_chunk
 * (plus a few large ones) must give exactly the same answer. */
static result_t expect(const uint8_t *p, size_t len, int code, size_t max_chunk)
{
    static const size_t big[] = {511, 512, 4096, 65536, 1u << 20};
    result_t one = run_check(p, len);
    assert_int_equal(one.rc, code);
    assert_int_equal(one.diag.err, code);
    for (size_t k = 1; k <= max_chunk; k++) {
        result_t s = run_split(p, len, k);
        assert_same(&one, &s);
    }
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        result_t s = run_split(p, len, big[i]);
        assert_same(&one, &s);
    }
    return one;
}

/* ---- valid images ----------------------------------------------------- */

/* Built by hand: 1 segment of 4 bytes, no hash. Checksum by arithmetic:
 * 0xEF ^ 0x01 ^ 0x02 ^ 0x03 ^ 0x04 = 0xEB; 24 + 8 + 4 = 36 bytes of
 * segments, zero pad to 47, checksum at offset 47, 48 bytes in all. */
static void test_hand_built(void **state)
{
    (void)state;
    uint8_t img[48] = {
        0xE9, 1, 2, 0x20, 0x00, 0x00, 0xFB, 0x3F, 0xEE, 0, 0, 0, 0x00, 0x00, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
        0x00, 0x00, 0xFB, 0x3F, 4, 0, 0, 0, /* load 0x3FFB0000 (DRAM), 4 bytes */
        1, 2, 3, 4,
    };
    img[47] = 0xEB;
    result_t r = expect(img, sizeof img, 0, sizeof img);
    assert_true(r.info.complete);
    assert_false(r.info.has_desc);
    assert_true(r.info.have_desc);
    assert_false(r.info.hash_appended);
    assert_int_equal(r.info.image_len, 48);
    assert_int_equal(r.info.checksum, 0xEB);
    assert_int_equal(r.info.entry_addr, 0x3FFB0000);
    assert_int_equal(r.info.segments[0].offset, 32);

    img[47] = 0xEA;
    r = expect(img, sizeof img, ALOFT_ERR_IMG_CHECKSUM, sizeof img);
    assert_int_equal(r.diag.have, 0xEA);
    assert_int_equal(r.diag.want, 0xEB);
}

static void test_make_valid_every_chip(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {300, 4096, 100000, 700000};
    for (size_t c = 0; c < NCHIPS; c++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (int flags = 0; flags < 4; flags++) {
                image_spec_t spec = {.chip_id = all_chips[c], .project = "proj", .version = "v9",
                                     .secure_version = 7, .size = sizes[s], .seed = (uint32_t)s,
                                     .no_desc = flags & 1, .no_hash = flags & 2};
                img_t m = make_spec(&spec);
                uint8_t digest[32];
                result_t r = run_check(m.buf, m.len);
                assert_int_equal(r.rc, 0);
                assert_true(r.info.complete);
                assert_int_equal(r.info.chip_id, all_chips[c]);
                assert_int_equal(r.info.image_len, m.len);
                assert_int_equal(r.info.hash_appended, !spec.no_hash);
                assert_int_equal(r.info.has_desc, !spec.no_desc);
                if (!spec.no_desc) {
                    assert_string_equal(r.info.desc.project_name, "proj");
                    assert_string_equal(r.info.desc.version, "v9");
                    assert_int_equal(r.info.desc.secure_version, 7);
                }
                if (sizes[s] >= 4096) {   /* within 16 bytes of the request */
                    assert_true(m.len + 3 >= sizes[s]);
                    assert_true(m.len <= sizes[s] + 15);
                }
                aloft_hash_oneshot(SHA, m.buf, m.len, digest);
                assert_memory_equal(r.info.sha256, digest, 32);
                image_free(m.buf);
            }
        }
    }
}

/* Every split size of a small image, and many of a large one (which has
 * all five segments: DROM, DRAM, IRAM, padding, IROM). */
static void test_split_equals_oneshot(void **state)
{
    (void)state;
    img_t small = make(ALOFT_CHIP_ESP32C3, 2048);
    img_t large = make(ALOFT_CHIP_ESP32, 150000);
    result_t r = expect(small.buf, small.len, 0, small.len);
    assert_int_equal(r.info.segment_count, 3);
    r = expect(large.buf, large.len, 0, 300);
    assert_int_equal(r.info.segment_count, 5);

    /* Random splits, including empty feeds. */
    srand(1234);
    for (int round = 0; round < 50; round++) {
        aloft_image_t im;
        size_t off = 0;
        aloft_image_init(&im, SHA);
        while (off < large.len) {
            size_t n = (size_t)rand() % 3000;
            if (n > large.len - off)
                n = large.len - off;
            assert_int_equal(aloft_image_feed(&im, large.buf + off, n), (int)n);
            off += n;
        }
        assert_int_equal(aloft_image_finish(&im), 0);
        result_t s = {0, *aloft_image_info(&im), *aloft_image_diag(&im)};
        assert_same(&r, &s);
    }
    image_free(small.buf);
    image_free(large.buf);
}

/* The header is known after exactly 24 bytes, the description decision
 * after 0x120 bytes (present) or 0x24 bytes (absent). */
static void test_early_answers(void **state)
{
    (void)state;
    image_spec_t legacy_spec = {.chip_id = ALOFT_CHIP_ESP32S3, .project = "x", .version = "y",
                                .size = 4096, .no_desc = true};
    img_t m = make(ALOFT_CHIP_ESP32S3, 100000);
    img_t legacy = make_spec(&legacy_spec);
    aloft_image_t im;

    aloft_image_init(&im, SHA);
    assert_int_equal(aloft_image_feed(&im, m.buf, 23), 23);
    assert_false(aloft_image_info(&im)->have_header);
    assert_int_equal(aloft_image_feed(&im, m.buf + 23, 1), 1);
    assert_true(aloft_image_info(&im)->have_header);
    assert_int_equal(aloft_image_info(&im)->chip_id, ALOFT_CHIP_ESP32S3);
    assert_int_equal(aloft_image_info(&im)->segment_count, 5);
    assert_int_equal(aloft_image_feed(&im, m.buf + 24, ALOFT_IMAGE_EARLY_LEN - 25),
                     (int)ALOFT_IMAGE_EARLY_LEN - 25);
    assert_false(aloft_image_info(&im)->have_desc);
    assert_int_equal(aloft_image_feed(&im, m.buf + ALOFT_IMAGE_EARLY_LEN - 1, 1), 1);
    assert_true(aloft_image_info(&im)->have_desc);
    assert_true(aloft_image_info(&im)->has_desc);
    assert_string_equal(aloft_image_info(&im)->desc.project_name, "unit");
    assert_int_equal(aloft_image_finish(&im), ALOFT_ERR_IMG_TRUNCATED);

    aloft_image_init(&im, SHA);
    assert_int_equal(aloft_image_feed(&im, legacy.buf, 0x23), 0x23);
    assert_false(aloft_image_info(&im)->have_desc);
    assert_int_equal(aloft_image_feed(&im, legacy.buf + 0x23, 1), 1);
    assert_true(aloft_image_info(&im)->have_desc);
    assert_false(aloft_image_info(&im)->has_desc);
    image_free(m.buf);
    image_free(legacy.buf);
}

/* A configurable-page chip takes the MMU page from the description; the
 * others always use 64 KiB. */
static void test_mmu_page_from_desc(void **state)
{
    (void)state;
    for (int configurable = 0; configurable < 2; configurable++) {
        uint16_t chip = configurable ? ALOFT_CHIP_ESP32C6 : ALOFT_CHIP_ESP32C3;
        img_t m = make(chip, 200000);
        size_t irom = seg_hdr(m.buf, 4);
        m.buf[0x20 + 180] = 13;   /* 8 KiB pages */
        aloft_st32(m.buf + irom, aloft_ld32(m.buf + irom) + 0x2000);
        assert_int_equal(image_reseal(m.buf, m.len), 0);
        expect(m.buf, m.len, configurable ? 0 : ALOFT_ERR_IMG_MAPPING, 16);
        image_free(m.buf);
    }
}

/* Segments outside the flash-mapped windows may sit anywhere. */
static void test_ram_segments_unaligned(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCHIPS; c++) {
        img_t m = make(all_chips[c], 150000);
        for (unsigned i = 1; i <= 2; i++) {   /* DRAM, IRAM */
            size_t h = seg_hdr(m.buf, i);
            aloft_st32(m.buf + h, aloft_ld32(m.buf + h) + 0x104);
        }
        assert_int_equal(image_reseal(m.buf, m.len), 0);
        expect(m.buf, m.len, 0, 4);
        image_free(m.buf);
    }
}

/* ---- damaged images --------------------------------------------------- */

static void test_bad_checksum(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32, 100000);
    uint8_t stored = m.buf[m.len - 33];
    size_t dram = seg_hdr(m.buf, 1) + 8 + 10;
    img_t c = copy(m, 0);
    c.buf[dram] ^= 0x21;
    result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_CHECKSUM, 64);
    assert_int_equal(r.diag.have, stored);
    assert_int_equal(r.diag.want, stored ^ 0x21);
    assert_false(r.info.complete);

    /* The checksum byte itself. */
    memcpy(c.buf, m.buf, m.len);
    c.buf[m.len - 33] ^= 0x80;
    r = expect(c.buf, c.len, ALOFT_ERR_IMG_CHECKSUM, 64);
    assert_int_equal(r.diag.have, stored ^ 0x80);
    assert_int_equal(r.diag.want, stored);

    /* Without an appended hash the checksum is the only guard. */
    image_spec_t spec = {.chip_id = ALOFT_CHIP_ESP32, .project = "p", .version = "v",
                         .size = 5000, .no_hash = true};
    img_t nh = make_spec(&spec);
    nh.buf[0x20 + 300] ^= 1;
    expect(nh.buf, nh.len, ALOFT_ERR_IMG_CHECKSUM, 64);
    image_free(nh.buf);
    free(c.buf);
    image_free(m.buf);
}

/* Bytes the checksum does not cover (header fields, padding, the hash
 * itself) are caught by the appended SHA-256. */
static void test_bad_hash(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32S2, 100000);
    size_t targets[] = {m.len - 1, m.len - 32, 4 /* entry address */, 9 /* spi_pin_drv */};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        img_t c = copy(m, 0);
        c.buf[targets[i]] ^= 0x01;
        result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_HASH, 64);
        assert_int_equal(r.diag.have, m.len - 32);
        free(c.buf);
    }
    /* A padding byte, if the layout has any. */
    size_t end = seg_hdr(m.buf, 5);
    if (end < m.len - 33) {
        img_t c = copy(m, 0);
        c.buf[end] = 0x77;
        expect(c.buf, c.len, ALOFT_ERR_IMG_HASH, 64);
        free(c.buf);
    }
    image_free(m.buf);
}

static void test_truncated(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32, 150000);
    size_t last = seg_hdr(m.buf, 4);   /* IROM: the last segment header */
    size_t cuts[] = {0, 1, 2, 11, 12, 23, 24, 25, 31, 32, 0x24, 0x100, ALOFT_IMAGE_EARLY_LEN,
                     seg_hdr(m.buf, 1) + 3, seg_hdr(m.buf, 2) + 20, last, last + 4, last + 8,
                     last + 5000, m.len - 34, m.len - 33, m.len - 32, m.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        result_t r = expect(m.buf, cuts[i], ALOFT_ERR_IMG_TRUNCATED, 16);
        assert_int_equal(r.diag.have, cuts[i]);
        assert_true(r.diag.want > cuts[i]);
        assert_true(r.diag.want <= m.len);
        if (cuts[i] >= last + 8)   /* all segment headers seen: exact */
            assert_int_equal(r.diag.want, m.len);
    }
    /* Inside segment 2: its end, two more segment headers, pad, checksum
     * and hash (the header said hash_appended). */
    size_t s2 = seg_hdr(m.buf, 2);
    size_t end = s2 + 8 + aloft_ld32(m.buf + s2 + 4) + 2 * 8;
    result_t r = expect(m.buf, s2 + 20, ALOFT_ERR_IMG_TRUNCATED, 4);
    assert_int_equal(r.diag.want, (end + 16) / 16 * 16 + 32);
    image_free(m.buf);
}

static void test_wrong_magic(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32, 4096);
    static const uint8_t bad[] = {0x00, 0xFF, 0xE8, 0x7F};
    for (size_t i = 0; i < sizeof bad; i++) {
        img_t c = copy(m, 0);
        c.buf[0] = bad[i];
        result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_MAGIC, 8);
        assert_int_equal(r.diag.have, bad[i]);
        assert_int_equal(r.diag.want, 0xE9);
        free(c.buf);
    }
    /* Erased flash, and an 0xEA that is not an ESP8266 v2 header. */
    uint8_t erased[64];
    memset(erased, 0xFF, sizeof erased);
    expect(erased, sizeof erased, ALOFT_ERR_IMG_MAGIC, 8);
    m.buf[0] = 0xEA;
    expect(m.buf, m.len, ALOFT_ERR_IMG_MAGIC, 8);
    image_free(m.buf);
}

static void test_segment_count(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32, 4096);
    static const uint8_t counts[] = {0, 17, 255};
    for (size_t i = 0; i < sizeof counts; i++) {
        img_t c = copy(m, 0);
        c.buf[1] = counts[i];
        result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_SEGMENTS, 30);
        assert_int_equal(r.diag.have, counts[i]);
        assert_int_equal(r.diag.want, 16);
        assert_false(r.info.have_header);
        free(c.buf);
    }
    image_free(m.buf);
}

static void test_segment_length(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32, 100000);
    size_t h = seg_hdr(m.buf, 1);
    uint32_t len = aloft_ld32(m.buf + h + 4);
    uint32_t bad[] = {len + 2, len - 1, 0x1000000u, 0xFFFFFFFCu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        img_t c = copy(m, 0);
        aloft_st32(c.buf + h + 4, bad[i]);
        result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_SEG_LEN, 40);
        assert_int_equal(r.diag.have, bad[i]);
        assert_int_equal(r.diag.want, h);
        assert_string_equal(r.diag.where, "segment 1");
        free(c.buf);
    }
    image_free(m.buf);
}

static void test_mapping(void **state)
{
    (void)state;
    for (size_t k = 0; k < NCHIPS; k++) {
        img_t m = make(all_chips[k], 150000);
        /* IROM (segment 4) moved by 4 bytes, and DROM (segment 0, checked
         * once the description is parsed) moved by 0x100. */
        static const unsigned segs[] = {4, 0};
        static const uint32_t delta[] = {4, 0x100};
        for (size_t i = 0; i < 2; i++) {
            size_t h = seg_hdr(m.buf, segs[i]);
            img_t c = copy(m, 0);
            uint32_t load = aloft_ld32(m.buf + h) + delta[i];
            aloft_st32(c.buf + h, load);
            result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_MAPPING, segs[i] ? 8 : 300);
            assert_int_equal(r.diag.have, h + 8);
            assert_int_equal(r.diag.want, load);
            assert_string_equal(r.diag.where, segs[i] ? "segment 4" : "segment 0");
            free(c.buf);
        }
        image_free(m.buf);
    }
}

static void test_trailing(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32H2, 100000);
    for (size_t extra = 1; extra <= 100; extra += 33) {
        img_t c = copy(m, extra);
        aloft_image_t im;
        result_t r = expect(c.buf, m.len + extra, ALOFT_ERR_IMG_TRAILING, 64);
        assert_int_equal(r.diag.have, m.len + extra);
        assert_int_equal(r.diag.want, m.len);
        assert_true(r.info.complete);   /* the image itself was fine */

        /* feed() tells where the image ended; finish() accepts it. */
        aloft_image_init(&im, SHA);
        assert_int_equal(aloft_image_feed(&im, c.buf, m.len + extra), (int)m.len);
        assert_int_equal(aloft_image_feed(&im, c.buf + m.len, extra), 0);
        assert_int_equal(aloft_image_finish(&im), 0);
        free(c.buf);
    }
    image_free(m.buf);
}

static void test_esp8266(void **state)
{
    (void)state;
    /* MicroPython-like v1 header: E9, 3 segments, entry 0x40100460, first
     * segment at 0x40100000 right after the 8-byte header. */
    uint8_t v1[64] = {0xE9, 0x03, 0x00, 0x00, 0x60, 0x04, 0x10, 0x40,
                      0x00, 0x00, 0x10, 0x40, 0x2C, 0x79, 0x00, 0x00};
    result_t r = expect(v1, sizeof v1, ALOFT_ERR_IMG_ESP8266, 16);
    assert_int_equal(r.info.chip_id, ALOFT_CHIP_ESP8266);
    assert_int_equal(r.info.entry_addr, 0x40100460);
    assert_false(r.info.have_header);

    /* Decided at byte 12: 11 bytes are not enough. */
    aloft_image_t im;
    aloft_image_init(&im, SHA);
    assert_int_equal(aloft_image_feed(&im, v1, 11), 11);
    assert_int_equal(aloft_image_feed(&im, v1 + 11, 1), ALOFT_ERR_IMG_ESP8266);

    /* First segment in DRAM instead. */
    v1[8] = 0x00, v1[9] = 0x80, v1[10] = 0xFE, v1[11] = 0x3F;
    expect(v1, sizeof v1, ALOFT_ERR_IMG_ESP8266, 16);

    /* esptool's ESP8266 "v2" image: magic 0xEA, 4. */
    uint8_t v2[32] = {0xEA, 0x04, 0x00, 0x20, 0x00, 0x10, 0x20, 0x40};
    r = expect(v2, sizeof v2, ALOFT_ERR_IMG_ESP8266, 16);
    assert_int_equal(r.info.chip_id, ALOFT_CHIP_ESP8266);
}

static void test_desc_malformed(void **state)
{
    (void)state;
    static const struct {
        size_t off, len;
        const char *name;
    } fields[] = {{16, 32, "version"}, {48, 32, "project_name"}, {80, 16, "time"},
                  {96, 16, "date"}, {112, 32, "idf_ver"}};
    img_t m = make(ALOFT_CHIP_ESP32S3, 100000);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        img_t c = copy(m, 0);
        memset(c.buf + 0x20 + fields[i].off, 'A', fields[i].len);
        c.buf[0x20 + fields[i].off + fields[i].len] = 0;   /* a NUL just outside */
        result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_DESC, 300);
        assert_string_equal(r.diag.where, fields[i].name);
        assert_int_equal(r.diag.have, 0x20 + fields[i].off);
        assert_int_equal(r.diag.want, fields[i].len);
        assert_false(r.info.have_desc);
        free(c.buf);
    }
    /* Exactly full (31 chars + NUL) is fine. */
    img_t c = copy(m, 0);
    memset(c.buf + 0x20 + 16, 'B', 31);
    assert_int_equal(image_reseal(c.buf, c.len), 0);
    result_t r = expect(c.buf, c.len, 0, 8);
    assert_int_equal(strlen(r.info.desc.version), 31);
    free(c.buf);
    image_free(m.buf);
}

static void test_header_fields(void **state)
{
    (void)state;
    static const struct {
        size_t off;
        uint8_t value;
        const char *where;
    } cases[] = {{2, 6, "spi_mode"}, {12, 0x03, "chip_id"}, {13, 0x01, "chip_id"},
                 {23, 2, "hash_appended"}};
    img_t m = make(ALOFT_CHIP_ESP32, 4096);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        img_t c = copy(m, 0);
        c.buf[cases[i].off] = cases[i].value;
        result_t r = expect(c.buf, c.len, ALOFT_ERR_IMG_HEADER, 30);
        assert_string_equal(r.diag.where, cases[i].where);
        assert_false(r.info.have_header);
        free(c.buf);
    }
    image_free(m.buf);
}

static void test_sticky_and_args(void **state)
{
    (void)state;
    img_t m = make(ALOFT_CHIP_ESP32, 4096);
    aloft_image_t im;
    m.buf[0] = 0;
    aloft_image_init(&im, SHA);
    assert_int_equal(aloft_image_feed(&im, m.buf, m.len), ALOFT_ERR_IMG_MAGIC);
    m.buf[0] = 0xE9;
    assert_int_equal(aloft_image_feed(&im, m.buf, m.len), ALOFT_ERR_IMG_MAGIC);
    assert_int_equal(aloft_image_finish(&im), ALOFT_ERR_IMG_MAGIC);

    assert_int_equal(aloft_image_init(NULL, SHA), ALOFT_ERR_ARG);
    assert_int_equal(aloft_image_init(&im, NULL), ALOFT_ERR_ARG);
    assert_int_equal(aloft_image_feed(&im, m.buf, 1), ALOFT_ERR_ARG);
    assert_int_equal(aloft_image_check(m.buf, m.len, NULL, NULL, NULL), ALOFT_ERR_ARG);
    aloft_image_init(&im, SHA);
    assert_int_equal(aloft_image_feed(&im, NULL, 1), ALOFT_ERR_ARG);
    assert_int_equal(aloft_image_feed(&im, NULL, 0), 0);
    assert_int_equal(aloft_image_check(m.buf, m.len, SHA, NULL, NULL), 0);

    /* Nothing at all is a truncated image. */
    aloft_image_init(&im, SHA);
    assert_int_equal(aloft_image_finish(&im), ALOFT_ERR_IMG_TRUNCATED);
    assert_int_equal(aloft_image_diag(&im)->have, 0);
    image_free(m.buf);
}

/* ---- verify_flash ----------------------------------------------------- */

typedef struct {
    uint8_t mem[1u << 20];
    uint32_t reads, max_read, fail_at;   /* fail_at: address that errors, 0 = none */
} ram_flash_t;

static int ram_read(const aloft_flash_t *f, uint32_t addr, void *buf, size_t len)
{
    ram_flash_t *r = f->ctx;
    r->reads++;
    if (len > r->max_read)
        r->max_read = (uint32_t)len;
    if (r->fail_at && addr <= r->fail_at && r->fail_at < addr + len)
        return ALOFT_ERR_IO;
    memcpy(buf, r->mem + addr, len);
    return 0;
}

static void test_verify_flash(void **state)
{
    (void)state;
    static ram_flash_t ram;
    aloft_flash_t f = {.read = ram_read, .ctx = &ram, .size = sizeof ram.mem,
                       .sector_size = 4096, .block_size = 65536, .page_size = 256};
    static aloft_image_t im;
    img_t m = make(ALOFT_CHIP_ESP32, 300000);
    const uint32_t slot = 0x10000, slot_len = 0x80000;

    memset(ram.mem, 0xFF, sizeof ram.mem);
    assert_int_equal(aloft_image_verify_flash(&f, slot, slot_len, SHA, &im), ALOFT_ERR_IMG_MAGIC);
    assert_int_equal(aloft_image_diag(&im)->have, 0xFF);

    memcpy(ram.mem + slot, m.buf, m.len);
    ram.reads = ram.max_read = 0;
    assert_int_equal(aloft_image_verify_flash(&f, slot, slot_len, SHA, &im), 0);
    assert_true(aloft_image_info(&im)->complete);
    assert_int_equal(aloft_image_info(&im)->image_len, m.len);
    assert_true(ram.max_read <= 512);
    assert_int_equal(ram.reads, (m.len + 511) / 512);   /* stops at the end */

    /* A slot too small for the image. */
    assert_int_equal(aloft_image_verify_flash(&f, slot, 0x40000, SHA, &im), ALOFT_ERR_IMG_TRUNCATED);
    assert_int_equal(aloft_image_diag(&im)->have, 0x40000);
    assert_int_equal(aloft_image_diag(&im)->want, m.len);

    /* Read errors pass up unchanged, with the address. */
    ram.fail_at = slot + 70000;
    assert_int_equal(aloft_image_verify_flash(&f, slot, slot_len, SHA, &im), ALOFT_ERR_IO);
    assert_true(aloft_image_diag(&im)->have <= ram.fail_at);
    ram.fail_at = 0;

    /* A damaged byte in flash. */
    ram.mem[slot + 1000] ^= 4;
    assert_int_equal(aloft_image_verify_flash(&f, slot, slot_len, SHA, &im), ALOFT_ERR_IMG_CHECKSUM);

    assert_int_equal(aloft_image_verify_flash(&f, 0xF0000, 0x20000, SHA, &im), ALOFT_ERR_ARG);
    assert_int_equal(aloft_image_verify_flash(NULL, slot, slot_len, SHA, &im), ALOFT_ERR_ARG);
    image_free(m.buf);
}

/* ---- chips and messages ----------------------------------------------- */

static void test_chip_names(void **state)
{
    (void)state;
    uint16_t id = 0xFFFF;
    assert_string_equal(aloft_chip_name(ALOFT_CHIP_ESP32S3), "ESP32-S3");
    assert_string_equal(aloft_chip_name(ALOFT_CHIP_ESP8266), "ESP8266");
    assert_string_equal(aloft_chip_name(0x0003), "unknown");
    for (size_t i = 0; i < NCHIPS; i++) {
        assert_int_equal(aloft_chip_parse(aloft_chip_name(all_chips[i]), &id), 0);
        assert_int_equal(id, all_chips[i]);
    }
    assert_int_equal(aloft_chip_parse("esp32s3", &id), 0);
    assert_int_equal(id, ALOFT_CHIP_ESP32S3);
    assert_int_equal(aloft_chip_parse("Esp32_C61", &id), 0);
    assert_int_equal(id, ALOFT_CHIP_ESP32C61);
    assert_int_equal(aloft_chip_parse("esp32", &id), 0);
    assert_int_equal(id, ALOFT_CHIP_ESP32);
    assert_int_equal(aloft_chip_parse("esp8266", &id), 0);
    assert_int_equal(id, ALOFT_CHIP_ESP8266);
    assert_int_equal(aloft_chip_parse("esp32s", &id), ALOFT_ERR_ARG);
    assert_int_equal(aloft_chip_parse("esp32s33", &id), ALOFT_ERR_ARG);
    assert_int_equal(aloft_chip_parse("", &id), ALOFT_ERR_ARG);
    assert_int_equal(aloft_chip_parse(NULL, &id), ALOFT_ERR_ARG);
}

static void test_diag_text(void **state)
{
    (void)state;
    char text[300];
    img_t m = make(ALOFT_CHIP_ESP32, 100000);
    size_t h = seg_hdr(m.buf, 1);
    img_t c = copy(m, 0);
    aloft_diag_t d;
    aloft_st32(c.buf + h + 4, 1002);
    assert_int_equal(aloft_image_check(c.buf, c.len, SHA, NULL, &d), ALOFT_ERR_IMG_SEG_LEN);
    aloft_diag_format(&d, text, sizeof text);
    assert_non_null(strstr(text, "segment 1 (header at image offset 0x"));
    assert_non_null(strstr(text, "declares 1 002 bytes"));

    assert_int_equal(aloft_image_check(m.buf, m.len - 10, SHA, NULL, &d), ALOFT_ERR_IMG_TRUNCATED);
    aloft_diag_format(&d, text, sizeof text);
    assert_non_null(strstr(text, "image is truncated"));

    memcpy(c.buf, m.buf, m.len);
    c.buf[0x20 + 300] ^= 0xFF;
    assert_int_equal(aloft_image_check(c.buf, c.len, SHA, NULL, &d), ALOFT_ERR_IMG_CHECKSUM);
    aloft_diag_format(&d, text, sizeof text);
    assert_non_null(strstr(text, "stored checksum 0x"));
    free(c.buf);
    image_free(m.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built),
        cmocka_unit_test(test_make_valid_every_chip),
        cmocka_unit_test(test_split_equals_oneshot),
        cmocka_unit_test(test_early_answers),
        cmocka_unit_test(test_mmu_page_from_desc),
        cmocka_unit_test(test_ram_segments_unaligned),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_bad_hash),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_segment_count),
        cmocka_unit_test(test_segment_length),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_esp8266),
        cmocka_unit_test(test_desc_malformed),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_sticky_and_args),
        cmocka_unit_test(test_verify_flash),
        cmocka_unit_test(test_chip_names),
        cmocka_unit_test(test_diag_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
