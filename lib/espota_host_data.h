/*
 * lib/espota_host_data.h — internal to the espota host engine: what
 * espota_host.c (handshake, actions, timers) and espota_host_data.c (the
 * data phase and the result) share.
 */
#ifndef ALOFT_ESPOTA_HOST_DATA_H
#define ALOFT_ESPOTA_HOST_DATA_H

#include "aloft/espota_host.h"

/* End the upload with err and why (0 and WHY_OK: success); later calls
 * change nothing. */
void aloft_espota_host_end(aloft_espota_host_t *e, int err, aloft_espota_host_why_t why);

/* The code a device's text names if it is one of aloft's short refusals
 * (aloft_espota_parse_refusal), else ALOFT_ERR_PROTO. */
int aloft_espota_host_text_code(const char *text);

void aloft_espota_host_event(aloft_espota_host_t *e, aloft_espota_host_event_t ev);

/* Milliseconds left of span that began at since (0 once past; wrap-safe). */
uint32_t aloft_espota_host_left(uint32_t since, uint32_t span, uint32_t now);

/* The data phase: enter it, time it, and what may be sent now. */
void aloft_espota_host_data_begin(aloft_espota_host_t *e, uint32_t now);
void aloft_espota_host_data_tick(aloft_espota_host_t *e, uint32_t now);
uint32_t aloft_espota_host_data_wait(const aloft_espota_host_t *e, uint32_t now);
size_t aloft_espota_host_data_offer(const aloft_espota_host_t *e, const uint8_t **data);

#endif /* ALOFT_ESPOTA_HOST_DATA_H */
