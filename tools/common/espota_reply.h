/*
 * tools/common/espota_reply.h — turning what an ArduinoOTA device says
 * into a cause and a next step for the user.
 *
 * Devices answer in free text, and the same words mean different things
 * per core and phase: "Not Enough Space" from an ESP8266 invitation answer
 * means the image does not fit, from an ESP32 data connection it means
 * more bytes arrived than announced. Texts understood:
 *   - aloft refusals, "ERR: too large 1412096>1310720" (via
 *     aloft_espota_parse_refusal), and aloft error lines "ERR: message:
 *     hint";
 *   - ESP8266 answers "ERR: ERROR[4]: Not Enough Space" and result lines
 *     "ERROR[7]: MD5 verification failed: ...";
 *   - ESP32 Update library texts ("MD5 Check Failed", "Wrong Magic Byte").
 * Anything else is reported as the device's own words.
 */
#ifndef ALOFT_ESPOTA_REPLY_H
#define ALOFT_ESPOTA_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"

/* A failure as shown to the user: "message" and what to do about it. */
typedef struct espota_error {
    int code;              /* aloft_err_t, 0 when nothing failed */
    char message[128];     /* "MD5 mismatch" */
    char hint[512];        /* "the transfer was corrupted, try again" */
} espota_error_t;

/* What the host knows about the upload, for the numbers in hints. */
typedef struct espota_context {
    uint32_t size;         /* image bytes */
    int first_byte;        /* the file's first byte, -1 if empty */
    bool fs;               /* filesystem upload (command 100) */
} espota_context_t;

/* Set e to code, message and a printf-formatted hint; returns code. */
int espota_error_set(espota_error_t *e, int code, const char *message, const char *hint_fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Set e from a diag, splitting aloft_diag_format's "message: hint";
 * returns d->err. */
int espota_error_from_diag(espota_error_t *e, const aloft_diag_t *d);

/* The device answered an invitation or our authentication with text that
 * is not "OK"/"AUTH"/"Authentication Failed" (len bytes, not necessarily
 * NUL-terminated). Returns e->code (never 0). */
int espota_explain_refusal(espota_error_t *e, const char *text, size_t len,
                           const espota_context_t *ctx);

/* The device ended the data connection with text that is not "OK".
 * Returns e->code (never 0). */
int espota_explain_result(espota_error_t *e, const char *text, const espota_context_t *ctx);

/* v with a space between groups of three digits ("1 412 096"), the way
 * aloft's messages write byte counts. Returns buf. */
const char *espota_grouped(uint64_t v, char buf[32]);

/* Copy len bytes of device text into out (n bytes) for display: trailing
 * CR/LF/NUL dropped, other control bytes as '?'. Returns out. */
char *espota_printable(const char *text, size_t len, char *out, size_t n);

#endif /* ALOFT_ESPOTA_REPLY_H */
