/*
 * lib/native_host_int.h — internal: what the parts of the native host
 * engine share (aloft/native_host.h is the contract):
 *   native_host.c         buffers, frames in, timeouts, ending a session
 *   native_host_login.c   HELLO, keys, AUTH / AUTH_OK, the open device's key
 *   native_host_upload.c  OFFER, ACCEPT, DATA, ACK, END, RESULT, ROLLBACK
 */
#ifndef ALOFT_NATIVE_HOST_INT_H
#define ALOFT_NATIVE_HOST_INT_H

#include "aloft/native_host.h"

static inline const aloft_hash_alg_t *aloft_nh_sha(const aloft_native_host_t *h)
{
    return h->cfg.crypto->sha256;
}

/* Tell the caller (hello filled in). */
void aloft_nh_emit(aloft_native_host_t *h, aloft_native_event_t *ev);

/* End the session with a failure (sticky; LOST or ERROR event). */
void aloft_nh_fail(aloft_native_host_t *h, int code, aloft_native_why_t why, uint32_t have,
             uint32_t want);

/* End the session with success (DONE event). */
void aloft_nh_done(aloft_native_host_t *h);

/* Encode m into the empty send buffer, with a MAC once keyed. Returns 0,
 * or fails the session and returns the codec's error. */
int aloft_nh_queue(aloft_native_host_t *h, const aloft_native_msg_t *m);

/* Enter phase, waiting from now for its answer. */
void aloft_nh_wait(aloft_native_host_t *h, aloft_native_phase_t phase);

/* native_host_login.c */
void aloft_nh_on_hello(aloft_native_host_t *h, const aloft_native_hello_t *hello,
                       const uint8_t *payload, size_t len);
void aloft_nh_on_auth_ok(aloft_native_host_t *h, const uint8_t signature[32]);
int aloft_nh_send_auth(aloft_native_host_t *h);

/* native_host_upload.c */
void aloft_nh_next_request(aloft_native_host_t *h);   /* keyed: OFFER, ROLLBACK or done */
int aloft_nh_send_offer(aloft_native_host_t *h);
void aloft_nh_on_accept(aloft_native_host_t *h, const aloft_native_accept_t *a);
int aloft_nh_send_data(aloft_native_host_t *h);
bool aloft_nh_data_due(const aloft_native_host_t *h);
void aloft_nh_on_ack(aloft_native_host_t *h, const aloft_native_ack_t *a);
void aloft_nh_on_result(aloft_native_host_t *h, const aloft_native_result_t *r);
int aloft_nh_send_rollback(aloft_native_host_t *h);

#endif /* ALOFT_NATIVE_HOST_INT_H */
