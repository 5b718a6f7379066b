/*
 * host/native_stream.h — the pure parts of the native uploader's
 * data phase (docs/PROTOCOL.md §2.6), apart from sockets so they can be
 * unit tested: the DATA stream of one session and the window accounting.
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

#define NATIVE_DEFLATE_LEVEL 9            /* the host has time; the link is the bottleneck */
#define NATIVE_DEFLATE_MIN_BITS 9u        /* zlib cannot deflate with a 256-byte window */
#define NATIVE_DEFLATE_MAX_BITS 15u
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
 * Returns 0, ALOFT_ERR_ARG for a start or window that cannot be, or
 * ALOFT_ERR_DECODE if zlib fails. */
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

/* The zlib windowBits to deflate with for a device that inflates windows
 * up to 2^device_bits; 0 if zlib cannot make a stream that small. */
unsigned native_deflate_bits(unsigned device_bits);

/* ---- window ------------------------------------------------------- */

/* At most `window` stream bytes sent and not yet consumed (ACK). */
typedef struct native_window {
    uint32_t window;
    uint64_t sent;         /* stream bytes in DATA frames so far */
    uint64_t consumed;     /* the device's last ACK */
} native_window_t;

void native_window_init(native_window_t *w, uint32_t window);

/* Stream bytes that may go out now, at most left. */
size_t native_window_room(const native_window_t *w, size_t left);

/* n more stream bytes went out in a DATA frame. */
void native_window_sent(native_window_t *w, size_t n);

/* An ACK said consumed. Returns 0, or ALOFT_ERR_PROTO if it goes back or
 * beyond what was sent (the device does not follow the protocol). */
int native_window_ack(native_window_t *w, uint32_t consumed);

/* Stream bytes sent and not consumed. */
uint64_t native_window_in_flight(const native_window_t *w);

#endif /* ALOFT_NATIVE_STREAM_H */
