/*
 * lib/native_tx.h — internal: the send buffer both native engines keep,
 * tx[off..len) not yet taken by the transport. The engines' tx_buf and
 * tx_ack (aloft/native_host.h, aloft/native_device.h) are these two.
 */
#ifndef ALOFT_NATIVE_TX_H
#define ALOFT_NATIVE_TX_H

#include <stddef.h>
#include <stdint.h>

/* The bytes waiting to be sent: tx + off, *n = len - off. */
const uint8_t *aloft_native_tx_unsent(const uint8_t *tx, size_t off, size_t len, size_t *n);

/* The transport took n of them (at most what waits); once all went, off
 * and len are both 0 again, so the next frame starts at tx[0]. */
void aloft_native_tx_taken(size_t *off, size_t *len, size_t n);

#endif /* ALOFT_NATIVE_TX_H */
