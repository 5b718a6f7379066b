/* host/native_stream.c — see native_stream.h. */
#include "native_stream.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "aloft/error.h"
#include "fileio.h"

/* Deflate image[start:] into s->buf, noting the stream length after every
 * NATIVE_STREAM_MARK image bytes. */
static int deflate_all(native_stream_t *s, unsigned window_bits, int level)
{
    z_stream z;
    size_t in_len = s->size - s->start;
    size_t cap;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, (int)window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return ALOFT_ERR_DECODE;
    cap = deflateBound(&z, (uLong)in_len) + 64;
    s->buf = xmalloc(cap);
    s->marks = xmalloc(sizeof *s->marks * (in_len / NATIVE_STREAM_MARK + 1));
    z.next_out = s->buf;
    z.avail_out = (uInt)cap;
    int rc = Z_OK;
    for (size_t pos = 0; rc == Z_OK;) {
        size_t n = in_len - pos < NATIVE_STREAM_MARK ? in_len - pos : NATIVE_STREAM_MARK;
        z.next_in = (Bytef *)(uintptr_t)(s->image + s->start + pos);
        z.avail_in = (uInt)n;
        pos += n;
        rc = deflate(&z, pos == in_len ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_OK && z.avail_in != 0)
            rc = Z_BUF_ERROR;   /* deflateBound was wrong: cannot happen */
        if (n == NATIVE_STREAM_MARK)
            s->marks[s->nmarks++] = (uint32_t)z.total_out;
    }
    s->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? ALOFT_OK : ALOFT_ERR_DECODE;
}

int native_stream_open(native_stream_t *s, const uint8_t *image, size_t size, uint32_t start,
                       unsigned window_bits, int level)
{
    memset(s, 0, sizeof *s);
    if (image == NULL || start > size || size > 0xFFFFFFFFu ||
        (window_bits != 0 && (window_bits < ALOFT_NATIVE_DEFLATE_MIN_BITS ||
                              window_bits > ALOFT_NATIVE_DEFLATE_MAX_BITS)))
        return ALOFT_ERR_ARG;
    s->image = image;
    s->size = size;
    s->start = start;
    s->deflate = window_bits != 0;
    if (!s->deflate) {
        s->len = size - start;
        return ALOFT_OK;
    }
    int err = deflate_all(s, window_bits, level);
    if (err)
        native_stream_close(s);
    return err;
}

const uint8_t *native_stream_bytes(const native_stream_t *s)
{
    return s->deflate ? s->buf : s->image + s->start;
}

size_t native_stream_len(const native_stream_t *s)
{
    return s->len;
}

uint64_t native_stream_image_pos(const native_stream_t *s, uint64_t stream_pos)
{
    if (stream_pos >= s->len)
        return s->size;
    if (!s->deflate)
        return s->start + stream_pos;
    /* The last mark reached: its image bytes have (about) gone in. */
    size_t lo = 0, hi = s->nmarks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->marks[mid] <= stream_pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return s->start + (uint64_t)lo * NATIVE_STREAM_MARK;
}

void native_stream_close(native_stream_t *s)
{
    free(s->buf);
    free(s->marks);
    s->buf = NULL;
    s->marks = NULL;
    s->nmarks = 0;
}

/* ---- the engine's source ------------------------------------------ */

static int source_open(void *ctx, uint32_t from, unsigned window_bits, uint32_t *len)
{
    native_source_t *s = ctx;
    native_stream_t *st = &s->part;
    int err = ALOFT_OK;
    s->cur = NULL;
    if (from == 0) {
        st = &s->whole;
        if (!s->have_whole || s->whole_bits != window_bits) {
            native_stream_close(&s->whole);
            s->have_whole = false;
            err = native_stream_open(&s->whole, s->image, s->size, 0, window_bits,
                                     NATIVE_DEFLATE_LEVEL);
            s->have_whole = err == ALOFT_OK;
            s->whole_bits = window_bits;
        }
    } else {
        native_stream_close(&s->part);
        err = native_stream_open(&s->part, s->image, s->size, from, window_bits,
                                 NATIVE_DEFLATE_LEVEL);
    }
    if (err)
        return err;
    s->cur = st;
    *len = (uint32_t)native_stream_len(st);
    return ALOFT_OK;
}

static int source_read(void *ctx, uint32_t off, uint8_t *buf, size_t n)
{
    native_source_t *s = ctx;
    if (s->cur == NULL || off > native_stream_len(s->cur) || n > native_stream_len(s->cur) - off)
        return ALOFT_ERR_ARG;
    memcpy(buf, native_stream_bytes(s->cur) + off, n);
    return ALOFT_OK;
}

void native_source_init(native_source_t *s, const uint8_t *image, size_t size)
{
    memset(s, 0, sizeof *s);
    s->image = image;
    s->size = size;
    s->src.open = source_open;
    s->src.read = source_read;
    s->src.ctx = s;
}

uint64_t native_source_image_pos(const native_source_t *s, uint64_t stream_pos)
{
    return s->cur ? native_stream_image_pos(s->cur, stream_pos) : 0;
}

void native_source_close(native_source_t *s)
{
    native_stream_close(&s->whole);
    native_stream_close(&s->part);
    s->have_whole = false;
    s->cur = NULL;
}
