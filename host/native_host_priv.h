/*
 * host/native_host_priv.h — internal to the native client: one connection
 * (native_session.c) with its socket loop (native_conn.c) running the host
 * engine (aloft/native_host.h), and the words for its failures
 * (native_explain.c). The protocol itself is all in the engine;
 * native_host.c holds the commands and the reconnect policy. Not for
 * other users.
 */
#ifndef ALOFT_NATIVE_HOST_PRIV_H
#define ALOFT_NATIVE_HOST_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/native_host.h"
#include "host_error.h"
#include "host_os.h"
#include "native_host.h"
#include "native_stream.h"

/* One TCP connection to a device. */
typedef struct native_conn {
    int fd;                  /* -1 when closed */
    int sock_errno;          /* why connecting, reading or writing failed, or 0 */
    bool send_failed;        /* writing failed with a frame not (fully) sent */
    uint64_t tx_bytes;       /* everything written on this connection */
} native_conn_t;

/* Connect to addr within timeout_ms. Returns 0; ALOFT_ERR_CONNECT with
 * *refused set when nothing listens; ALOFT_ERR_TIMEOUT; or
 * ALOFT_ERR_CONNECT for other failures (errno in c->sock_errno). */
int native_conn_open(native_conn_t *c, const struct sockaddr_in *addr, uint32_t timeout_ms,
                     bool *refused);

/* Move bytes between the socket and the engine, step and tick it, until
 * its session is over. A failed write is not the end yet: the device may
 * have said why (an ERROR) before it closed, so reading goes on for a
 * moment. */
void native_conn_run(native_conn_t *c, aloft_native_host_t *h);

void native_conn_close(native_conn_t *c);

/* The socket's reason for a broken connection, for people. */
const char *native_closed_why(const native_conn_t *c);

/* What the words for a failure need to know besides the failure. */
typedef struct native_context {
    const char *addr;                  /* "ip:port" */
    unsigned port;
    const aloft_native_host_config_t *cfg;   /* the timeouts (with the defaults filled in) */
    const native_conn_t *conn;
    const aloft_native_hello_t *hello; /* NULL before the HELLO */
} native_context_t;

/* A failure of the engine as message and hint in e. Returns e->code. */
int native_explain_failure(host_error_t *e, const aloft_native_failure_t *f,
                           const native_context_t *x);

/* ---- a command's connections (native_session.c) ----------------------- */

/* What outlives a connection: set up once per command. */
typedef struct native_run {
    const native_upload_t *u;        /* NULL for info and rollback */
    host_error_t *error;             /* where failures are explained */
    char *device_text;               /* the device's words in its ERROR (40 bytes), or NULL */
    char addr_text[64];
    struct sockaddr_in addr;
    uint16_t port;
    uint32_t connect_ms;
    aloft_native_host_config_t cfg;  /* every connection's */
    aloft_native_keys_t keys;        /* derived once, for every reconnect */
    native_source_t source;
    bool warned_open;                /* the open-device warning was given */
    bool patch_made;                 /* u->make_patch ran */
    bool ever_accepted;              /* some session reached DATA */
    bool resuming;                   /* this session reconnects a broken one */
    uint32_t resumed_from;           /* the first ACCEPT's offset */
    bool compressed;
    bool patched;                    /* the first ACCEPT took the patch */
    uint32_t stream_from, stream_len;   /* this session's ACCEPT: image offset, stream bytes */
    bool patching;                   /* this session streams the patch */
    uint64_t best;                   /* image bytes confirmed, best so far */
    double start;                    /* progress_clock() at the first ACCEPT */
} native_run_t;

/* One connection: the socket, the engine, and what it said. */
typedef struct native_session {
    native_run_t *run;
    native_conn_t conn;
    aloft_native_host_t eng;
    bool connected, refused;
    bool authenticated, accepted, resumable;
} native_session_t;

/* Parse and resolve the device; the engine's crypto and timeouts. Returns
 * 0 or an error code (explained in e). */
int native_run_init(native_run_t *run, const native_peer_t *p, host_error_t *e);

/* Forget the keys, free the streams. */
void native_run_end(native_run_t *run);

/* An event for the caller of native_upload (text "" when NULL). */
void native_emit(const native_run_t *run, native_event_t *ev, const aloft_native_hello_t *hello);

/* Connect and run one session. Returns 0 or an error code, with the
 * failure explained in run->error. */
int native_session_run(native_session_t *s, native_run_t *run);

/* Nothing at the address speaks the native protocol: refused, silent
 * before a HELLO, or another service. */
bool native_not_native(const native_session_t *s);

#endif /* ALOFT_NATIVE_HOST_PRIV_H */
