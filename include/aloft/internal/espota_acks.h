/*
 * aloft/internal/espota_acks.h — reading what an ArduinoOTA device sends
 * back on the data connection, as a byte stream (the espota host engine's
 * part; see aloft/espota_host.h).
 *
 * The device answers every read with its byte count in decimal and no
 * delimiter ("1460"), so counts coalesce ("14601460") and split across
 * reads ("14" "60"); at the end it sends "OK" or an error text
 * ("MD5 Check Failed\r\n", "ERROR[7]: ...\n", "ERR: ...\r\n"). Counts
 * cannot be split back reliably, so the byte total here is an estimate:
 * each digit run is cut into plausible counts (see aloft_espota_acks_flush)
 * and the total is capped at what was sent. What is exact: whether "OK"
 * arrived and the first error text.
 */
#ifndef ALOFT_INTERNAL_ESPOTA_ACKS_H
#define ALOFT_INTERNAL_ESPOTA_ACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALOFT_ESPOTA_ACKS_TEXT_MAX 240u   /* error text kept (longer is cut) */
#define ALOFT_ESPOTA_ACKS_READ_MAX 1460u  /* usual largest device read: one TCP segment */

/* Internal; the host engine reads acked, counts, ok, error and text. */
typedef struct aloft_espota_acks {
    uint32_t acked;          /* estimated bytes the device confirmed (<= sent) */
    uint32_t counts;         /* digit runs seen: any sign of life */
    bool ok;                 /* "OK" arrived */
    bool error;              /* an error text started (sticky) */
    bool error_done;         /* ... and ended with a line feed */
    char text[ALOFT_ESPOTA_ACKS_TEXT_MAX + 1];   /* the error text, printable, NUL-terminated */
    char digits[24];         /* digit run not decoded yet */
    uint8_t ndigits;
    uint8_t text_len;
    bool pending_o;          /* an 'O' waiting for its 'K' */
} aloft_espota_acks_t;

void aloft_espota_acks_init(aloft_espota_acks_t *a);

/* Consume len bytes received from the device. sent is the number of image
 * bytes sent so far (bounds the estimate). A digit run at the end of the
 * data is kept pending, since the rest of that count may follow. */
void aloft_espota_acks_feed(aloft_espota_acks_t *a, const void *data, size_t len, uint32_t sent);

/* What the pending digit run confirms, as far as can be told now (the rest
 * of its last count may still come); the run stays pending. */
uint32_t aloft_espota_acks_pending(const aloft_espota_acks_t *a, uint32_t sent);

/* Decode a pending digit run now (nothing more arrived for a while, or
 * the connection ended). */
void aloft_espota_acks_flush(aloft_espota_acks_t *a, uint32_t sent);

#endif /* ALOFT_INTERNAL_ESPOTA_ACKS_H */
