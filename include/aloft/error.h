/*
 * aloft/error.h — the one error enum of the aloft library.
 *
 * Every function that can fail returns 0 (ALOFT_OK) on success and one of the
 * negative codes below on failure; positive return values are sizes or
 * counts. Port callbacks (flash, hashes) return the same codes and the core
 * passes them up unchanged.
 *
 * Codes are grouped by the layer that detects them; the numeric values are
 * sent on the wire by the native protocol and are therefore frozen: add new
 * codes at the end of a group's range, never renumber.
 *
 * For a user, a bare code is not enough: aloft_diag_t carries the numbers that
 * explain it (image bytes vs slot bytes, expected vs actual chip) and
 * aloft_diag_format() turns both into "message: hint" text.
 */
#ifndef ALOFT_ERROR_H
#define ALOFT_ERROR_H

#include <stddef.h>
#include <stdint.h>

typedef enum aloft_err {
    ALOFT_OK = 0,

    /* -1 .. -19: usage and platform */
    ALOFT_ERR_ARG = -1,           /* invalid argument (a caller bug) */
    ALOFT_ERR_STATE = -2,         /* call not valid in the current state */
    ALOFT_ERR_FAILED = -3,        /* session already failed; reset it */
    ALOFT_ERR_BUFFER = -4,        /* caller's buffer too small */
    ALOFT_ERR_IO = -5,            /* flash read/erase/program failed */
    ALOFT_ERR_NOT_ERASED = -6,    /* program over non-erased flash (NOR rule) */
    ALOFT_ERR_ALIGN = -7,         /* flash operation misaligned or out of range */
    ALOFT_ERR_ABORTED = -8,       /* update aborted by the caller */
    ALOFT_ERR_BUSY = -9,          /* another update is in progress */
    ALOFT_ERR_TIMEOUT = -10,      /* peer went silent for too long */

    /* -20 .. -39: app image format */
    ALOFT_ERR_IMG_MAGIC = -20,      /* first byte is not 0xE9 */
    ALOFT_ERR_IMG_ESP8266 = -21,    /* an ESP8266 image, not ESP32-class */
    ALOFT_ERR_IMG_SEGMENTS = -22,   /* segment count 0 or above 16 */
    ALOFT_ERR_IMG_SEG_LEN = -23,    /* segment length not a multiple of 4, or too big */
    ALOFT_ERR_IMG_MAPPING = -24,    /* flash-mapped segment breaks the 64 KiB rule */
    ALOFT_ERR_IMG_CHECKSUM = -25,   /* XOR checksum byte does not match */
    ALOFT_ERR_IMG_HASH = -26,       /* appended SHA-256 does not match */
    ALOFT_ERR_IMG_TRUNCATED = -27,  /* image ends before its last segment/hash */
    ALOFT_ERR_IMG_TRAILING = -28,   /* bytes follow the end of the image */
    ALOFT_ERR_IMG_HEADER = -29,     /* header field out of range */
    ALOFT_ERR_IMG_CHIP = -30,       /* image is for another chip than the device */
    ALOFT_ERR_IMG_DESC = -31,       /* app description present but malformed */

    /* -40 .. -59: partition table and otadata */
    ALOFT_ERR_PT_ENTRY = -40,       /* entry with a bad magic in the table */
    ALOFT_ERR_PT_MD5 = -41,         /* table MD5 entry does not match */
    ALOFT_ERR_PT_LAYOUT = -42,      /* overlapping, misaligned or out-of-flash partition */
    ALOFT_ERR_PT_TOO_MANY = -43,    /* more entries than ALOFT_PT_MAX_ENTRIES */
    ALOFT_ERR_NO_SLOT = -44,        /* no OTA slot / target partition */
    ALOFT_ERR_NO_OTADATA = -45,     /* no otadata partition */
    ALOFT_ERR_NO_BOOTABLE = -46,    /* no slot holds a verified image */

    /* -60 .. -79: the update pipeline */
    ALOFT_ERR_SIZE = -60,           /* declared size is zero or impossible */
    ALOFT_ERR_TOO_LARGE = -61,      /* image larger than the target slot */
    ALOFT_ERR_OVERFLOW = -62,       /* more bytes sent than declared */
    ALOFT_ERR_SHORT = -63,          /* finish before all declared bytes arrived */
    ALOFT_ERR_SHA256 = -64,         /* SHA-256 of the upload differs from the expected */
    ALOFT_ERR_MD5 = -65,            /* MD5 of the upload differs from the expected */
    ALOFT_ERR_READBACK = -66,       /* flash contents differ from what was written */
    ALOFT_ERR_PENDING = -67,        /* running image not yet confirmed */
    ALOFT_ERR_SAME_SLOT = -68,      /* target slot is the running one */
    ALOFT_ERR_UNSIGNED = -69,       /* device requires signed images; this one is not */
    ALOFT_ERR_SIGNATURE = -70,      /* signature does not verify */
    ALOFT_ERR_UNKNOWN_KEY = -71,    /* signed with a key the device does not hold */
    ALOFT_ERR_DOWNGRADE = -72,      /* secure_version lower than the running image's */
    ALOFT_ERR_PROJECT = -73,        /* image is for another project */
    ALOFT_ERR_SIGNED_MISMATCH = -74,/* signed metadata does not describe this image */
    ALOFT_ERR_PATCH = -75,          /* delta patch malformed (header, segment or body) */
    ALOFT_ERR_PATCH_BASE = -76,     /* delta patch made for another base image */
    ALOFT_ERR_PATCH_WINDOW = -77,   /* delta patch needs a larger zlib window */
    ALOFT_ERR_UNCONFIRMED = -78,    /* the new image never confirmed itself: rolled back */
    ALOFT_ERR_NOT_NEWER = -79,      /* release version not newer than the running one */

    /* -80 .. -99: transports and authentication */
    ALOFT_ERR_PROTO = -80,          /* malformed or unexpected message from the peer */
    ALOFT_ERR_AUTH = -81,           /* wrong password */
    ALOFT_ERR_CONNECT = -82,        /* could not connect to the peer */
    ALOFT_ERR_CLOSED = -83,         /* peer closed the connection early */
    ALOFT_ERR_RATE = -84,           /* too many failed logins; wait */
    ALOFT_ERR_CRYPTO = -85,         /* the platform's crypto or RNG failed */
    ALOFT_ERR_DECODE = -86,         /* compressed data is corrupt */
    ALOFT_ERR_CROWDED = -87,        /* every connection taken; an unfinished login gave way */
    ALOFT_ERR_LOGIN_BUDGET = -88,   /* device-wide failed-login budget spent; wait */
    ALOFT_ERR_INTEGRITY = -89,      /* a frame failed its integrity check (MAC, header) */
    ALOFT_ERR_HTTP = -90,           /* HTTP server answered with an error status */
    ALOFT_ERR_HTTP_MISMATCH = -91,  /* HTTP response does not describe the release's file */
    ALOFT_ERR_COMMAND = -92,        /* a fleet command (MQTT) is malformed or incomplete */
    ALOFT_ERR_SESSION = -93,        /* web API: no session, or a request without its CSRF token */
    ALOFT_ERR_IN_PLACE = -94,       /* filesystem image has nowhere to be staged; the client must choose */
} aloft_err_t;

/* Plain-words message for a code ("image is larger than the slot"). Never
 * NULL; unknown codes give "unknown error". */
const char *aloft_strerror(int err);

/* The code whose message is exactly the len bytes at msg, or 0 if none: how
 * a host reads back the start of a line aloft_diag_format wrote (messages
 * hold no ':'). */
int aloft_error_from_message(const char *msg, size_t len);

/* A failure with the numbers that explain it. Which fields are meaningful
 * depends on the code (see aloft_diag_format). Plain data; zero it to clear. */
typedef struct aloft_diag {
    int err;          /* aloft_err_t, 0 when nothing failed */
    uint32_t have;    /* what we got: image bytes, offset, chip id, ... */
    uint32_t want;    /* what fits or was expected: slot bytes, chip id, ... */
    char where[17];   /* partition label or field name, NUL-terminated */
} aloft_diag_t;

/* Record a failure in d (if d is not NULL) and return err, so callers can
 * write `return aloft_diag_set(d, ALOFT_ERR_TOO_LARGE, size, slot, "app1");`.
 * where may be NULL. */
int aloft_diag_set(aloft_diag_t *d, int err, uint32_t have, uint32_t want,
                   const char *where);

/* Write "message: hint" for d into out (always NUL-terminated when n > 0),
 * naming the numbers, e.g. "image is larger than the slot: image is
 * 1 412 096 bytes, slot app1 holds 1 310 720; choose the min_spiffs
 * partition scheme (1 966 080 bytes per slot) or shrink the image".
 * Returns the length written (excluding the NUL). */
size_t aloft_diag_format(const aloft_diag_t *d, char *out, size_t n);

#endif /* ALOFT_ERROR_H */
