/*
 * host/espota_acks.h — reading what an ArduinoOTA device sends back
 * on the data connection, as a byte stream.
 *
 * The device answers every read with its byte count in decimal and no
 * delimiter ("1460"), so counts coalesce ("14601460") and split across
 * recv() calls ("14" "60"); at the end it sends "OK" or an error text
 * ("MD5 Check Failed\r\n", "ERROR[7]: ...\n", "ERR: ...\r\n"). Counts
 * cannot be split back reliably, so the byte total here is an estimate:
 * each digit run is cut into plausible counts (see espota_acks_flush) and
 * the total is capped at what was sent. What is exact: whether "OK"
 * arrived and the first error text.
 *
 * Sans-I/O: the caller feeds whatever recv() returned.
 */
#ifndef ALOFT_ESPOTA_ACKS_H
#define ALOFT_ESPOTA_ACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESPOTA_ACKS_TEXT_MAX 240   /* error text kept (longer is cut) */
#define ESPOTA_ACKS_READ_MAX 1460u /* usual largest device read: one TCP segment */

typedef struct espota_acks {
    uint64_t acked;          /* estimated bytes the device confirmed (<= sent) */
    uint32_t counts;         /* digit runs seen: any sign of life */
    bool ok;                 /* "OK" arrived */
    bool error;              /* an error text started (sticky) */
    bool error_done;         /* ... and ended with a line feed */
    char text[ESPOTA_ACKS_TEXT_MAX + 1];   /* the error text, NUL-terminated */
    /* internal */
    char digits[24];         /* digit run not decoded yet */
    size_t ndigits;
    size_t text_len;
    bool pending_o;          /* an 'O' waiting for its 'K' */
} espota_acks_t;

void espota_acks_init(espota_acks_t *a);

/* Consume len bytes received from the device. sent is the number of image
 * bytes sent so far (bounds the estimate). A digit run at the end of the
 * data is kept pending, since the rest of that count may follow. */
void espota_acks_feed(espota_acks_t *a, const void *data, size_t len, uint64_t sent);

/* What the pending digit run confirms, as far as can be told now (the rest
 * of its last count may still come); the run stays pending. */
uint64_t espota_acks_pending(const espota_acks_t *a, uint64_t sent);

/* Decode a pending digit run now (nothing more arrived for a while, or
 * the connection ended). */
void espota_acks_flush(espota_acks_t *a, uint64_t sent);

#endif /* ALOFT_ESPOTA_ACKS_H */
