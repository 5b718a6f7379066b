/*
 * host/native_host_priv.h — internal to the native uploader
 * (native_conn.c: the socket and frames, native_session.c: connecting and
 * the login, native_transfer.c: offer and data, native_host.c: reconnects,
 * info). Not for other users.
 */
#ifndef ALOFT_NATIVE_HOST_PRIV_H
#define ALOFT_NATIVE_HOST_PRIV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "aloft/port/crypto.h"
#include "aloft/wire/native.h"
#include "host_error.h"
#include "native_host.h"
#include "native_stream.h"

/* ---- one TCP connection, framed (native_conn.c) ---------------------- */

typedef struct native_conn {
    int fd;                          /* -1 when closed */
    const aloft_hash_alg_t *sha256;
    bool keyed;                      /* frames carry a MAC */
    uint8_t key[ALOFT_NATIVE_KEY_LEN];
    uint32_t tx_seq, rx_seq;
    size_t max_payload;              /* the device's (HELLO); 4096 before */
    uint8_t rx[2 * ALOFT_NATIVE_FRAME_MAX];
    size_t rx_len;
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];   /* the last frame taken out of rx */
    size_t frame_len;
    uint8_t tx[ALOFT_NATIVE_FRAME_MAX];      /* one frame being written */
    size_t tx_off, tx_len;
    uint64_t tx_bytes;               /* everything written on this connection */
    bool eof;                        /* the device closed */
    int sock_errno;                  /* why reading or writing failed, or 0 */
} native_conn_t;

/* Connect to addr within timeout_ms. Returns 0; ALOFT_ERR_CONNECT with
 * *refused set when nothing listens; ALOFT_ERR_TIMEOUT; or
 * ALOFT_ERR_CONNECT for other failures (errno in c->sock_errno). */
int native_conn_open(native_conn_t *c, const struct sockaddr_in *addr, uint32_t timeout_ms,
                     bool *refused);

void native_conn_close(native_conn_t *c);

/* Encode m into the send buffer (which must be empty), with a MAC once
 * keyed. Returns 0 or the codec's error. */
int native_conn_queue(native_conn_t *c, const aloft_native_msg_t *m);

/* Write what the send buffer holds without blocking. Returns 0 (maybe
 * with bytes left) or ALOFT_ERR_CLOSED when the connection broke. */
int native_conn_write(native_conn_t *c);

/* Write the whole send buffer, waiting until deadline (host_now_ms).
 * Returns 0, ALOFT_ERR_TIMEOUT or ALOFT_ERR_CLOSED. */
int native_conn_flush(native_conn_t *c, uint64_t deadline);

/* Read what has arrived without blocking. Returns the bytes read (0 if
 * none), or ALOFT_ERR_CLOSED at the end of the stream or on an error. */
int native_conn_read(native_conn_t *c);

/* Take the next complete frame out of the receive buffer into c->frame
 * and decode it (checking the MAC once keyed). Returns 1 with m filled, 0
 * if no complete frame is there, ALOFT_ERR_PROTO for a frame no device
 * may send, ALOFT_ERR_AUTH for a bad MAC. */
int native_conn_next(native_conn_t *c, aloft_native_msg_t *m);

/* Wait until deadline for the next frame. Returns 1 with m filled,
 * ALOFT_ERR_TIMEOUT, ALOFT_ERR_CLOSED, or native_conn_next's errors. */
int native_conn_recv(native_conn_t *c, aloft_native_msg_t *m, uint64_t deadline);

/* Wait up to timeout_ms for the connection to be readable (or writable
 * when the send buffer holds bytes). Returns the poll revents (0 on
 * timeout). */
short native_conn_wait(native_conn_t *c, int timeout_ms);

/* ---- one session (native_session.c, native_transfer.c) ---------------- */

/* What outlives a connection: set up once per run. */
typedef struct native_run {
    const native_upload_t *u;        /* NULL for info and rollback */
    bool command;                    /* rollback: a keyed session without an upload */
    const native_peer_t *peer;
    native_result_t *r;              /* upload result (scratch for info) */
    struct sockaddr_in addr;
    char host[256];
    uint16_t port;
    uint32_t connect_ms, hello_ms, timeout_ms, result_ms;
    uint8_t sha256[ALOFT_SHA256_LEN];   /* of the image */
    /* Password-derived keys, kept for reconnects (PBKDF2 is slow by design). */
    bool have_keys;
    uint8_t key_salt[ALOFT_NATIVE_SALT_LEN];
    uint32_t key_iterations;
    uint8_t client_key[32], server_key[32];
    bool warned_open;                /* the open-device warning was given */
    native_stream_t whole;           /* the image deflated from offset 0 */
    unsigned whole_bits;             /* its windowBits, 0 = none */
    bool ever_accepted;              /* some session reached DATA */
    bool resuming;                   /* this session reconnects a broken one */
    uint64_t best;                   /* image bytes confirmed, best so far */
    double start;                    /* progress_clock() at the first ACCEPT */
} native_run_t;

/* One connection's session. */
typedef struct native_session {
    native_run_t *run;
    native_conn_t c;
    aloft_native_hello_t hello;
    uint8_t hello_payload[ALOFT_NATIVE_MAX_PAYLOAD];
    size_t hello_len;
    bool authenticated;
    bool accepted;                   /* the device ACCEPTed the OFFER */
    bool busy_with_us;               /* busy, holding a prefix of this very image */
    bool retryable;                  /* the failure may heal by reconnecting */
    bool not_native;                 /* refused, silent, or not an aloft device */
} native_session_t;

void native_emit(const native_run_t *run, const native_event_t *ev);
void native_emit_simple(native_session_t *s, native_event_kind_t kind, const char *text);

/* Where the session's failure goes (the run's result). */
host_error_t *native_err(native_session_t *s);

/* A failure a reconnect may heal: sets s->retryable and the error, with
 * the short reason why_fmt as its hint. Returns code. */
int native_retry_later(native_session_t *s, int code, const char *message, const char *why_fmt,
                       ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The socket's reason for a broken connection, for people. */
const char *native_closed_why(const native_conn_t *c);

/* Connect, read and check HELLO, log in (or key an open device). Returns
 * 0 or an error code with run->r->error filled. */
int native_session_open(native_session_t *s, native_run_t *run);

/* OFFER the image, then send it and wait for RESULT (native_transfer.c).
 * Returns 0 (the RESULT in run->r) or an error code, s->retryable telling
 * whether a new connection may continue. */
int native_session_upload(native_session_t *s);

void native_session_close(native_session_t *s);

#endif /* ALOFT_NATIVE_HOST_PRIV_H */
