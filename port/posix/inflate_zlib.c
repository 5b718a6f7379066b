/* port/posix/inflate_zlib.c — zlib behind aloft_inflate_t. */
#include "inflate_zlib.h"

#include <string.h>

#include "aloft/error.h"

static void z_end(void *ctx)
{
    inflate_zlib_t *st = ctx;
    if (st->open)
        inflateEnd(&st->z);
    st->open = false;
}

static int z_begin(void *ctx, unsigned window_bits)
{
    inflate_zlib_t *st = ctx;
    z_end(st);
    memset(&st->z, 0, sizeof st->z);
    if (window_bits < 8 || window_bits > 15 || inflateInit2(&st->z, (int)window_bits) != Z_OK)
        return ALOFT_ERR_ARG;
    st->open = true;
    return ALOFT_OK;
}

static int z_run(void *ctx, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                 size_t out_cap, size_t *out_len)
{
    inflate_zlib_t *st = ctx;
    st->z.next_in = (Bytef *)in;
    st->z.avail_in = (uInt)in_len;
    st->z.next_out = out;
    st->z.avail_out = (uInt)out_cap;
    int rc = st->open ? inflate(&st->z, Z_NO_FLUSH) : Z_STREAM_ERROR;
    *in_used = in_len - st->z.avail_in;
    *out_len = out_cap - st->z.avail_out;
    if (rc == Z_STREAM_END)
        return 1;
    /* Z_BUF_ERROR only means "no progress possible now": more input needed. */
    return rc == Z_OK || rc == Z_BUF_ERROR ? ALOFT_OK : ALOFT_ERR_DECODE;
}

void inflate_zlib_init(aloft_inflate_t *ops, inflate_zlib_t *st, unsigned max_window_bits)
{
    memset(st, 0, sizeof *st);
    ops->begin = z_begin;
    ops->run = z_run;
    ops->end = z_end;
    ops->ctx = st;
    ops->max_window_bits = (uint8_t)max_window_bits;
}
