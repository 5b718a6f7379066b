/*
 * tests/esp/device/test_esp_inflate.c — esp_inflate.c (the copy-out from
 * the wrapping 2^12-byte dictionary, status handling, the window check)
 * over the fake tinfl_decompress (tests/esp/fakes/miniz.c: the ROM's
 * contract, decoded by zlib). Streams are made by zlib's deflate with a
 * chosen window, as the host compresses for the window a device announces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "esp_port.h"

static aesp_inflate_t st;   /* static, as in the component (about 15 KiB) */
static aloft_inflate_t inf;

#define PLAIN_LEN 200000u

static uint8_t plain[PLAIN_LEN];

/* Text-like data with many back references, some far, some near. */
static void make_plain(void)
{
    uint32_t x = 1;
    for (size_t i = 0; i < PLAIN_LEN; i++) {
        x = x * 1103515245u + 12345u;
        plain[i] = i >= 3000 && (x >> 16) % 8 != 0 ? plain[i - 1 - (x >> 20) % 3000]
                                                    : (uint8_t)('a' + (x >> 24) % 8);
    }
}

static uint8_t *deflate_with(int window_bits, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, PLAIN_LEN);
    uint8_t *out = malloc(cap);
    z.next_in = plain;
    z.avail_in = PLAIN_LEN;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Decode in pieces of in_chunk with out_cap bytes of room per call. */
static int decode(const uint8_t *in, size_t len, size_t in_chunk, size_t out_cap,
                  uint8_t *out, size_t *out_total)
{
    size_t at = 0, total = 0;
    int rc = 0;
    *out_total = 0;
    while (rc == 0) {
        size_t n = len - at < in_chunk ? len - at : in_chunk, used, got;
        size_t room = PLAIN_LEN - total < out_cap ? PLAIN_LEN - total : out_cap;
        rc = inf.run(inf.ctx, in + at, n, &used, out + total, room, &got);
        at += used;
        total += got;
        if (rc == 0 && used == 0 && got == 0 && at == len)
            break;   /* input ran out before the end: truncated */
    }
    *out_total = total;
    return rc;
}

static void roundtrip(int window_bits, size_t in_chunk, size_t out_cap)
{
    static uint8_t out[PLAIN_LEN];
    size_t len, got;
    uint8_t *z = deflate_with(window_bits, &len);
    assert_true(len < PLAIN_LEN / 2);
    assert_int_equal(inf.begin(inf.ctx, 12), 0);
    memset(out, 0, sizeof out);
    assert_int_equal(decode(z, len, in_chunk, out_cap, out, &got), 1);
    assert_int_equal(got, PLAIN_LEN);
    assert_memory_equal(out, plain, PLAIN_LEN);
    inf.end(inf.ctx);
    free(z);
}

static void test_advertises_window(void **state)
{
    (void)state;
    assert_int_equal(inf.max_window_bits, 12);
    assert_int_equal(inf.begin(inf.ctx, 13), ALOFT_ERR_ARG);
    assert_int_equal(inf.begin(inf.ctx, 7), ALOFT_ERR_ARG);
    assert_int_equal(inf.begin(inf.ctx, 9), 0);
    inf.end(inf.ctx);
    inf.end(inf.ctx);   /* twice is safe */
}

static void test_roundtrip_pieces(void **state)
{
    (void)state;
    roundtrip(12, 1460, 4096);      /* TCP-sized input, a flash sector out */
    roundtrip(12, 1, 100);          /* a byte at a time, little room */
    roundtrip(12, 1 << 20, 1 << 20);/* everything at once: the dictionary wraps */
    roundtrip(9, 333, 257);         /* a smaller window than the device keeps */
}

static void test_window_too_large_refused(void **state)
{
    static uint8_t out[PLAIN_LEN];
    size_t len, got;
    (void)state;
    uint8_t *z = deflate_with(15, &len);
    assert_int_equal(inf.begin(inf.ctx, 12), 0);
    assert_int_equal(decode(z, len, 1460, 4096, out, &got), ALOFT_ERR_DECODE);
    assert_int_equal(got, 0);          /* nothing decoded from it */
    /* A stream declaring 2^12 when begin allowed 2^10 is refused too. */
    free(z);
    z = deflate_with(12, &len);
    assert_int_equal(inf.begin(inf.ctx, 10), 0);
    assert_int_equal(decode(z, len, 1460, 4096, out, &got), ALOFT_ERR_DECODE);
    inf.end(inf.ctx);
    free(z);
}

static void test_corrupt_and_truncated(void **state)
{
    static uint8_t out[PLAIN_LEN];
    size_t len, got;
    (void)state;
    uint8_t *z = deflate_with(12, &len);
    /* A flipped bit in the checksum at the end. */
    z[len - 1] ^= 0x10;
    assert_int_equal(inf.begin(inf.ctx, 12), 0);
    assert_int_equal(decode(z, len, 4096, 4096, out, &got), ALOFT_ERR_DECODE);
    z[len - 1] ^= 0x10;
    /* Not a zlib header at all. */
    uint8_t junk[4] = {0x12, 0x34, 0x56, 0x78};
    assert_int_equal(inf.begin(inf.ctx, 12), 0);
    assert_int_equal(decode(junk, sizeof junk, 4, 4096, out, &got), ALOFT_ERR_DECODE);
    /* Cut short: never reports the end. */
    assert_int_equal(inf.begin(inf.ctx, 12), 0);
    assert_int_equal(decode(z, len / 2, 4096, 4096, out, &got), 0);
    assert_true(got > 0 && got < PLAIN_LEN);
    assert_memory_equal(out, plain, got);
    /* After an error, run refuses until the next begin. */
    assert_int_equal(inf.begin(inf.ctx, 12), 0);
    assert_int_equal(decode(junk, sizeof junk, 4, 4096, out, &got), ALOFT_ERR_DECODE);
    size_t used;
    assert_int_equal(inf.run(inf.ctx, z, len, &used, out, 4096, &got), ALOFT_ERR_ARG);
    inf.end(inf.ctx);
    free(z);
}

int main(void)
{
    make_plain();
    aesp_inflate_init(&inf, &st);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_advertises_window),
        cmocka_unit_test(test_roundtrip_pieces),
        cmocka_unit_test(test_window_too_large_refused),
        cmocka_unit_test(test_corrupt_and_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
