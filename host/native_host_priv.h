/*
 * host/native_host_priv.h — internal to the native client: the socket
 * loop that runs the host engine (aloft/native_host.h) on one connection
 * (native_conn.c) and the words for its failures (native_explain.c). The
 * protocol itself is all in the engine; native_host.c holds the commands
 * and the reconnect policy. Not for other users.
 */
#ifndef ALOFT_NATIVE_HOST_PRIV_H
#define ALOFT_NATIVE_HOST_PRIV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "aloft/native_host.h"
#include "host_error.h"
#include "native_host.h"

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

#endif /* ALOFT_NATIVE_HOST_PRIV_H */
