/*
 * host/image_make.h — host-side builder of synthetic ESP-IDF app
 * images, for tests, demos and `aloft image make`.
 *
 * The result is a valid image in the esptool layout, accepted by
 * aloft_image_check() and by the ESP-IDF bootloader's format checks:
 *
 *   header | DROM (app description at 0x20, then data) | DRAM | IRAM |
 *   [padding segment (load 0) | IROM at a 64 KiB-congruent offset] |
 *   zero pad | XOR checksum | SHA-256
 *
 * The IROM part is added when the image is large enough (about 96 KiB) to
 * pay for the padding. Segment contents are deterministic pseudo-random
 * data, half of it repetitive so the image compresses roughly like real
 * firmware; the same spec always gives the same bytes.
 */
#ifndef ALOFT_IMAGE_MAKE_H
#define ALOFT_IMAGE_MAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest image size image_make accepts (bytes). */
#define IMAGE_MAKE_MAX_SIZE 0xF00000u

typedef struct image_spec {
    uint16_t chip_id;         /* enum aloft_chip; not ESP8266 */
    const char *project;      /* at most 31 chars; NULL = "aloft-demo" */
    const char *version;      /* at most 31 chars; NULL = "0.0.0" */
    uint32_t secure_version;  /* anti-rollback counter in the description */
    uint32_t size;            /* wanted total bytes; the result is within
                               * 16 bytes of it, or the minimum (a few
                               * hundred bytes) if smaller; 0 = 4096 */
    uint32_t seed;            /* varies the filler data; 0 is fine */
    const char *idf_ver;      /* NULL = "aloft-synthetic" (at most 31) */
    const char *date;         /* NULL = "Jan  1 2025" (at most 15) */
    const char *time;         /* NULL = "00:00:00" (at most 15) */
    bool no_desc;             /* omit the app description (legacy image) */
    bool no_hash;             /* hash_appended = 0, no SHA-256 at the end */
} image_spec_t;

/* Check spec; on a problem write a one-line reason ("project name is 40
 * characters, at most 31 fit") into why (n bytes) and return -1, else 0. */
int image_spec_check(const image_spec_t *spec, char *why, size_t n);

/* Build the image in a new buffer (release it with image_free) and store
 * its length in *len. An invalid spec prints the reason to stderr and
 * returns NULL; out of memory exits. */
uint8_t *image_make(const image_spec_t *spec, size_t *len);

void image_free(uint8_t *img);

/* Recompute the XOR checksum and (if the header asks for it) the appended
 * SHA-256 of an image after a test edited it in place. len must be the
 * exact image length the segment headers imply. Returns 0, or -1 if the
 * segment headers do not add up to len. */
int image_reseal(uint8_t *img, size_t len);

#endif /* ALOFT_IMAGE_MAKE_H */
