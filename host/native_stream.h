/*
 * host/native_stream.h — the DATA stream of the native uploader
 * (docs/PROTOCOL.md §2.6), zlib's side of it: the host engine in lib/
 * (aloft/native_host.h) reads the stream through an aloft_native_source_t,
 * and this file is the one the CLI gives it.
 *
 * The stream starts at the image offset the device ACCEPTed: either the
 * raw bytes image[start:], or those bytes deflated as ONE zlib stream
 * (RFC 1950) begun there, with a window no larger than the device can
 * inflate. A reconnect that resumes elsewhere opens a new stream.
 */
#ifndef ALOFT_NATIVE_STREAM_H
#define ALOFT_NATIVE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/native_host.h"

#define NATIVE_DEFLATE_LEVEL 9            /* the host has time; the link is the bottleneck */
#define NATIVE_STREAM_MARK 4096u          /* image bytes between progress marks */

typedef struct native_stream {
    const uint8_t *image;
    size_t size;           /* whole image */
    uint32_t start;        /* image offset the stream begins at */
    bool deflate;
    uint8_t *buf;          /* deflated stream (malloc), NULL when raw */
    size_t len;            /* stream bytes */
    uint32_t *marks;       /* marks[i]: stream bytes once (i+1) * MARK image bytes went in */
    size_t nmarks;
} native_stream_t;

/* Open the stream of image[start:] (start <= size): raw when window_bits
 * is 0, else deflated at level with windowBits = window_bits (9..15).
 * Returns 0, ALOFT_ERR_ARG for a start or window that cannot be
 * (ALOFT_NATIVE_DEFLATE_MIN_BITS..MAX_BITS), or ALOFT_ERR_DECODE if zlib
 * fails. */
int native_stream_open(native_stream_t *s, const uint8_t *image, size_t size, uint32_t start,
                       unsigned window_bits, int level);

/* The stream's bytes (valid until native_stream_close). */
const uint8_t *native_stream_bytes(const native_stream_t *s);
size_t native_stream_len(const native_stream_t *s);

/* About how far into the image (absolute offset) a decoder is once it has
 * consumed stream_pos bytes: exact for raw streams, from the marks for
 * deflated ones (deflate buffers, so it can run a block ahead); the whole
 * image once the stream is consumed. */
uint64_t native_stream_image_pos(const native_stream_t *s, uint64_t stream_pos);

void native_stream_close(native_stream_t *s);

/* ---- the engine's source (aloft_native_source_t) ------------------- */

/* The stream source of an upload for the host engine: the image deflated
 * from offset 0 is kept across connections (it is also what decides
 * whether compressing pays), a resume elsewhere deflates again from there. */
typedef struct native_source {
    aloft_native_source_t src;   /* hand &src to the engine */
    const uint8_t *image;
    size_t size;
    native_stream_t whole;       /* from offset 0 at whole_bits (raw when 0) */
    unsigned whole_bits;
    bool have_whole;
    native_stream_t part;        /* from another offset */
    const native_stream_t *cur;  /* the one the engine opened last, or NULL */
} native_source_t;

void native_source_init(native_source_t *s, const uint8_t *image, size_t size);

/* About how far into the image the device is once it consumed stream_pos
 * bytes of the current stream (native_stream_image_pos). */
uint64_t native_source_image_pos(const native_source_t *s, uint64_t stream_pos);

void native_source_close(native_source_t *s);

#endif /* ALOFT_NATIVE_STREAM_H */
