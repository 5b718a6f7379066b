/*
 * aloft/port/inflate.h — a streaming zlib (RFC 1950) decoder supplied by the
 * port, for compressed uploads. The core never allocates; the port's
 * decoder keeps its state (window of 2^window_bits bytes) in ctx. On the
 * ESP32 this is ROM miniz or zlib; port/posix wraps zlib.
 */
#ifndef ALOFT_PORT_INFLATE_H
#define ALOFT_PORT_INFLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct aloft_inflate {
    /* Start a new stream whose window is at most 2^window_bits. Returns 0
     * or ALOFT_ERR_ARG (window larger than the port's). */
    int (*begin)(void *ctx, unsigned window_bits);
    /* Decode from in into out. Sets *in_used and *out_len. Returns 0 while
     * the stream goes on, 1 at its end, or ALOFT_ERR_DECODE for corrupt
     * data. Call again with the rest of in when out filled up. */
    int (*run)(void *ctx, const uint8_t *in, size_t in_len, size_t *in_used,
               uint8_t *out, size_t out_cap, size_t *out_len);
    /* Release the stream (safe to call twice). */
    void (*end)(void *ctx);
    void *ctx;
    uint8_t max_window_bits;   /* advertised to hosts (8..15) */
} aloft_inflate_t;

#endif /* ALOFT_PORT_INFLATE_H */
