/*
 * host/delta_host.h — delta patches on the host: make one from two images
 * (suffix sorting with libdivsufsort, docs/FORMATS.md §3), apply one with
 * the core's decoder.
 */
#ifndef ALOFT_DELTA_HOST_H
#define ALOFT_DELTA_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "aloft/delta.h"

/* The device default (ESP-IDF CONFIG_ALOFT_INFLATE_WINDOW_BITS = 12). */
#define DELTA_DEFAULT_WBITS 12u

/* The encoder's span choice: a segment's deflated bytes (what a resume
 * inside it sends again) stay below this. 16 KiB, not 8: P1's patch
 * (10.4 KB) in one segment is no larger than bsdiff's, in two it is. */
#define DELTA_SPAN_BOUND (16u * 1024u)

/* How hard the encoder works at deflate. FAST: zlib -9, milliseconds (what
 * `aloft upload --base` makes on the fly, where a few hundred bytes more
 * cost less on the air than seconds of encoding). SMALLEST: Zopfli's
 * optimal parser too, about 3-4 % smaller, seconds per image (`aloft delta
 * make`: patches made once and sent to many devices). */
typedef enum { DELTA_FAST, DELTA_SMALLEST } delta_effort_t;

/* Make a patch from old (the base, plain image) to new (plain image; sig
 * its signature block, sig_len 0 if unsigned) into *out (malloc'd, free()
 * it). window_bits 9..15; span: new-image bytes per segment, a multiple of
 * ALOFT_DELTA_MARK (one past the image: a single segment), or 0 for the
 * encoder's choice (DELTA_SPAN_BOUND). Returns 0 or ALOFT_ERR_ARG /
 * ALOFT_ERR_SIZE. */
int delta_make(const uint8_t *old, size_t old_len, const uint8_t *new_img, size_t new_len,
               const uint8_t *sig, size_t sig_len, unsigned window_bits, uint32_t span,
               delta_effort_t effort, uint8_t **out, size_t *out_len);

/* Apply patch to old with the core decoder: on success *out (malloc'd)
 * holds the new image (its signature block appended when the patch carries
 * one) and its SHA-256 has been checked against the header. Returns 0 or an
 * aloft error, with d filled. */
int delta_apply(const uint8_t *old, size_t old_len, const uint8_t *patch, size_t patch_len,
                uint8_t **out, size_t *out_len, aloft_diag_t *d);

/* SHA-256 of n bytes at p (the hash a patch header names images by). */
void delta_sha256(const uint8_t *p, size_t n, uint8_t out[32]);

#endif /* ALOFT_DELTA_HOST_H */
