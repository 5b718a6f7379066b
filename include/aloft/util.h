/*
 * aloft/util.h — small byte helpers the core and its users share: hex for
 * people and for espota's text protocol, a peer's text made printable, a
 * constant-time compare for secrets, and the CRC-32 that otadata and the
 * resume journal use.
 */
#ifndef ALOFT_UTIL_H
#define ALOFT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void aloft_hex(const uint8_t *bytes, size_t n, char *out);

/* The value of one hex digit (either case), -1 for any other character. */
int aloft_hex_digit(char c);

/* Exactly 2n hex digits (either case) in s[0..len) into out[0..n).
 * Returns false, out partly written, for any other text. */
bool aloft_unhex(const char *s, size_t len, uint8_t *out, size_t n);

/* Copy len bytes of a peer's text into out (n bytes, NUL-terminated when
 * n > 0) for display: trailing CR/LF/NUL dropped, other control bytes as
 * '?', cut to fit. Returns out. */
char *aloft_printable(const void *text, size_t len, char *out, size_t n);

/* Compare n bytes in time independent of where they differ. */
bool aloft_ct_equal(const void *a, const void *b, size_t n);

/* Reflected CRC-32 (poly 0xEDB88320) in zlib's convention: continue from
 * crc (the previous result; 0 starts a plain CRC-32). ESP-IDF's otadata CRC
 * is aloft_crc32(0xFFFFFFFF, seq, 4). Vectors for that: seq 1 -> 0x4743989A,
 * 2 -> 0x55F63774, 3 -> 0xED4A5011, 4 -> 0x709D68A8. */
uint32_t aloft_crc32(uint32_t crc, const void *data, size_t len);

#endif /* ALOFT_UTIL_H */
