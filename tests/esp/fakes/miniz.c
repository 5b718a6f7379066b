/*
 * tests/esp/fakes/miniz.c — tinfl_decompress (the ESP32 ROM's miniz) with
 * the ROM's contract, decoded by zlib: a wrapping output buffer whose size
 * (pOut_buf_next - pOut_buf_start + *pOut_buf_size) must be a power of two,
 * a zlib header whose window exceeds that buffer (or 32 KiB) is
 * TINFL_STATUS_FAILED, *pIn_buf_size / *pOut_buf_size come back as the
 * bytes consumed / produced, and the status codes mean what the ROM's
 * mean. zlib keeps its own window, so unlike miniz it never reads back
 * from the buffer; what the port does with the buffer (copy-out, wrap) is
 * what the tests exercise.
 */
#include <string.h>

#include "miniz.h"

static tinfl_status finish(tinfl_decompressor *r, tinfl_status s)
{
    if (s == TINFL_STATUS_DONE || s < 0)
        r->last = s, r->m_state = 2;
    return s;
}

tinfl_status tinfl_decompress(tinfl_decompressor *r, const mz_uint8 *in, size_t *in_size,
                              mz_uint8 *out_start, mz_uint8 *out_next, size_t *out_size,
                              const mz_uint32 flags)
{
    size_t in_n = *in_size, out_n = *out_size;
    size_t total = (size_t)(out_next - out_start) + out_n;
    *in_size = *out_size = 0;
    if (!(flags & TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF) &&
        (out_next < out_start || (total & (total - 1)) != 0))
        return TINFL_STATUS_BAD_PARAM;
    if (r->m_state == 2)
        return r->last;
    if (r->m_state == 0) {
        int rc = r->z_open ? inflateReset(&r->z) : inflateInit2(&r->z, 15);
        if (rc != Z_OK)
            return finish(r, TINFL_STATUS_FAILED);
        r->z_open = true;
        r->header_seen = false;
        r->m_state = 1;
    }
    if (!r->header_seen && in_n > 0 && (flags & TINFL_FLAG_PARSE_ZLIB_HEADER)) {
        size_t window = (size_t)1 << ((in[0] >> 4) + 8);
        r->header_seen = true;
        if (window > TINFL_LZ_DICT_SIZE ||
            (!(flags & TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF) && window > total))
            return finish(r, TINFL_STATUS_FAILED);
    }
    r->z.next_in = (Bytef *)in;
    r->z.avail_in = (uInt)in_n;
    r->z.next_out = out_next;
    r->z.avail_out = (uInt)out_n;
    int rc = inflate(&r->z, Z_NO_FLUSH);
    *in_size = in_n - r->z.avail_in;
    *out_size = out_n - r->z.avail_out;
    if (rc == Z_STREAM_END)
        return finish(r, TINFL_STATUS_DONE);
    if (rc == Z_DATA_ERROR && r->z.msg != NULL && strcmp(r->z.msg, "incorrect data check") == 0)
        return finish(r, TINFL_STATUS_ADLER32_MISMATCH);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
        return finish(r, TINFL_STATUS_FAILED);
    if (r->z.avail_out == 0)
        return TINFL_STATUS_HAS_MORE_OUTPUT;
    if (!(flags & TINFL_FLAG_HAS_MORE_INPUT))
        return finish(r, TINFL_STATUS_FAILED);   /* the stream ended early */
    return TINFL_STATUS_NEEDS_MORE_INPUT;
}
