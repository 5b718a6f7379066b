/*
 * host/espota_reply.h — turning what an ArduinoOTA device says
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
#include "host_error.h"

/* What the host knows about the upload, for the numbers in hints. */
typedef struct espota_context {
    uint32_t size;         /* image bytes */
    int first_byte;        /* the file's first byte, -1 if empty */
    bool fs;               /* filesystem upload (command 100) */
} espota_context_t;

/* The device answered an invitation or our authentication with text that
 * is not "OK"/"AUTH"/"Authentication Failed" (len bytes, not necessarily
 * NUL-terminated). Returns e->code (never 0). */
int espota_explain_refusal(host_error_t *e, const char *text, size_t len,
                           const espota_context_t *ctx);

/* The device ended the data connection with text that is not "OK".
 * Returns e->code (never 0). */
int espota_explain_result(host_error_t *e, const char *text, const espota_context_t *ctx);

#endif /* ALOFT_ESPOTA_REPLY_H */
