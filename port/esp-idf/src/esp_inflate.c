/*
 * port/esp-idf/src/esp_inflate.c — zlib streams decoded by the miniz
 * tinfl_decompress that every ESP32 chip carries in ROM (esp_rom's
 * miniz.h), into a static dictionary of 2^CONFIG_ALOFT_INFLATE_WINDOW_BITS
 * bytes (default 12: 4 KiB, plus about 11 KiB of decoder state).
 *
 * tinfl writes into that dictionary as a wrapping buffer (its size a power
 * of two, no TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF) and reads its back
 * references from it; run() copies what it wrote out to the caller. A
 * stream whose zlib header asks for a larger window than the dictionary is
 * refused (ALOFT_ERR_DECODE, logged with both sizes) before tinfl sees it:
 * its back references would reach outside what is kept. The device
 * advertises exactly its window (max_window_bits), so hosts compress to
 * fit; with CONFIG_ALOFT_INFLATE_WINDOW_BITS = 0 it advertises none and
 * hosts send plain data.
 */
#include <string.h>

#include "esp_log.h"

#include "aloft/error.h"
#include "esp_port.h"

#if AESP_INFLATE_BITS > 0

static const char *TAG = "aloft";

#define DICT_SIZE (1u << AESP_INFLATE_BITS)

static void i_end(void *ctx)
{
    aesp_inflate_t *st = ctx;
    st->open = false;
}

static int i_begin(void *ctx, unsigned window_bits)
{
    aesp_inflate_t *st = ctx;
    if (window_bits < 8 || window_bits > AESP_INFLATE_BITS)
        return ALOFT_ERR_ARG;
    tinfl_init(&st->tinfl);
    st->pos = st->pending = st->pending_len = 0;
    st->window_bits = window_bits;
    st->header_checked = st->done = false;
    st->open = true;
    return ALOFT_OK;
}

/* RFC 1950: CMF = CINFO << 4 | CM, window 2^(CINFO + 8), CM 8 = deflate. */
static int check_header(aesp_inflate_t *st, uint8_t cmf)
{
    unsigned bits = (cmf >> 4) + 8u;
    st->header_checked = true;
    if ((cmf & 0x0F) != 8) {
        ESP_LOGE(TAG, "compressed data is not a zlib deflate stream (CMF 0x%02x)", cmf);
        return ALOFT_ERR_DECODE;
    }
    if (bits > st->window_bits) {
        ESP_LOGE(TAG, "zlib stream needs a %u-byte window, more than the %u bytes announced "
                      "for it (the device keeps %u): refused",
                 1u << bits, 1u << st->window_bits, DICT_SIZE);
        return ALOFT_ERR_DECODE;
    }
    return ALOFT_OK;
}

/* Hand out decoded bytes not delivered yet; returns bytes copied. */
static size_t deliver(aesp_inflate_t *st, uint8_t *out, size_t cap)
{
    size_t n = st->pending_len < cap ? st->pending_len : cap;
    memcpy(out, st->dict + st->pending, n);
    st->pending += n;
    st->pending_len -= n;
    return n;
}

static int i_run(void *ctx, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                 size_t out_cap, size_t *out_len)
{
    aesp_inflate_t *st = ctx;
    *in_used = *out_len = 0;
    if (!st->open)
        return ALOFT_ERR_ARG;
    if (!st->header_checked && in_len > 0 && check_header(st, in[0]) != 0) {
        st->open = false;
        return ALOFT_ERR_DECODE;
    }
    for (;;) {
        *out_len += deliver(st, out + *out_len, out_cap - *out_len);
        if (st->pending_len > 0)
            return ALOFT_OK;    /* the caller comes back with more room */
        if (st->done)
            return 1;
        /* tinfl fills the dictionary from pos to its end, then wraps; with
         * no room left in out this decodes ahead (kept as pending), so the
         * stream's end is seen even when its output ended exactly. */
        size_t in_n = in_len - *in_used;
        size_t out_n = DICT_SIZE - st->pos;
        tinfl_status s = tinfl_decompress(&st->tinfl, in + *in_used, &in_n, st->dict,
                                          st->dict + st->pos, &out_n,
                                          TINFL_FLAG_PARSE_ZLIB_HEADER |
                                              TINFL_FLAG_HAS_MORE_INPUT);
        *in_used += in_n;
        st->pending = st->pos;
        st->pending_len = out_n;
        st->pos = (st->pos + out_n) & (DICT_SIZE - 1u);
        if (s == TINFL_STATUS_DONE) {
            st->done = true;
        } else if (s < 0) {
            ESP_LOGE(TAG, "corrupt compressed data (tinfl status %d) after %u input bytes",
                     (int)s, (unsigned)*in_used);
            st->open = false;
            return ALOFT_ERR_DECODE;
        } else if (out_n == 0 && in_n == 0) {
            return ALOFT_OK;    /* no progress without more input */
        }
    }
}

void aesp_inflate_init(aloft_inflate_t *ops, aesp_inflate_t *st)
{
    memset(st, 0, sizeof *st);
    ops->begin = i_begin;
    ops->run = i_run;
    ops->end = i_end;
    ops->ctx = st;
    ops->max_window_bits = AESP_INFLATE_BITS;
}

#else /* no inflate: ops all zero, the engines get NULL */

void aesp_inflate_init(aloft_inflate_t *ops, aesp_inflate_t *st)
{
    memset(st, 0, sizeof *st);
    memset(ops, 0, sizeof *ops);
}

#endif
