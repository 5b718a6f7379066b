/*
 * Fake of the ESP32 ROM's miniz.h (components/esp_rom/include/miniz.h):
 * only tinfl_decompress, its flags and status codes. Debian ships no
 * miniz, so tests/esp/fakes/miniz.c implements the same contract over
 * zlib (wrapping power-of-two output buffer, in/out sizes updated, the
 * zlib header's window checked against the buffer); only the decoder
 * state differs from the ROM's.
 */
#ifndef FAKE_MINIZ_H
#define FAKE_MINIZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

typedef unsigned char mz_uint8;
typedef unsigned int mz_uint32;

enum {
    TINFL_FLAG_PARSE_ZLIB_HEADER = 1,
    TINFL_FLAG_HAS_MORE_INPUT = 2,
    TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF = 4,
    TINFL_FLAG_COMPUTE_ADLER32 = 8
};

#define TINFL_LZ_DICT_SIZE 32768

typedef enum {
    TINFL_STATUS_BAD_PARAM = -3,
    TINFL_STATUS_ADLER32_MISMATCH = -2,
    TINFL_STATUS_FAILED = -1,
    TINFL_STATUS_DONE = 0,
    TINFL_STATUS_NEEDS_MORE_INPUT = 1,
    TINFL_STATUS_HAS_MORE_OUTPUT = 2
} tinfl_status;

typedef struct tinfl_decompressor_tag {
    mz_uint32 m_state;          /* 0 = start a new stream (tinfl_init) */
    z_stream z;                 /* the fake's decoder */
    bool z_open, header_seen;
    tinfl_status last;          /* sticky once DONE or failed */
} tinfl_decompressor;

#define tinfl_init(r) do { (r)->m_state = 0; } while (0)

tinfl_status tinfl_decompress(tinfl_decompressor *r, const mz_uint8 *pIn_buf_next,
                              size_t *pIn_buf_size, mz_uint8 *pOut_buf_start,
                              mz_uint8 *pOut_buf_next, size_t *pOut_buf_size,
                              const mz_uint32 decomp_flags);

#endif
