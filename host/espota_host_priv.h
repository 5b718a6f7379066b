/*
 * host/espota_host_priv.h — internal to the espota uploader: the socket
 * loop over the engine in lib/ (espota_host.c), its sockets
 * (espota_net.c) and the messages for how it ended (espota_outcome.c).
 * Not for other users.
 */
#ifndef ALOFT_HOST_ESPOTA_HOST_PRIV_H
#define ALOFT_HOST_ESPOTA_HOST_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "aloft/espota_host.h"
#include "espota_host.h"
#include "host_os.h"

typedef struct espota_session {
    const espota_upload_t *u;
    espota_result_t *r;
    aloft_espota_host_t engine;
    espota_context_t ctx;          /* numbers for explanations */
    char host[256];                /* device as the user wrote it (enters the cnonce) */
    uint16_t port;                 /* device UDP port */
    struct sockaddr_in dev;        /* resolved device */
    int udp, listener, tcp;        /* -1 when closed */
    uint16_t listen_port;
    bool port_refused;             /* an ICMP "port unreachable" came back */
    int send_errno;                /* why the last invitation could not be sent, or 0 */
    bool want_write;               /* the connection took nothing: wait until writable */
    bool write_failed;             /* it takes no more data; read on for the reason */
    char peer[64];                 /* the device's "ip:port" until ESPOTA_EV_CONNECTED is told */
    uint32_t shown_sent, shown_confirmed;   /* last progress reported */
} espota_session_t;

void espota_emit(espota_session_t *s, espota_event_t ev, const char *detail);

/* Resolve host (name or IPv4) to an IPv4 address with port. Returns 0, or
 * fills s->r->error and returns its code. */
int espota_net_resolve(espota_session_t *s);

/* Bind and listen on host_ip:host_port (random port if 0), then open the
 * UDP socket (bound to host_ip if one is given) connected to the device,
 * and note the address the device will connect back to. Returns 0 or the
 * error code (s->r->error filled). */
int espota_net_open(espota_session_t *s);

/* Send a datagram to the device. Returns 0 or an error code. */
int espota_net_send(espota_session_t *s, const void *data, size_t len);

/* Take one queued datagram (non-blocking): its length, or 0 if none. */
size_t espota_net_recv(espota_session_t *s, char *buf, size_t n);

/* Accept a pending connection: the device's becomes s->tcp (non-blocking;
 * the listener is closed, its address in s->peer) and true is returned;
 * any other host's is turned away. */
bool espota_net_accept(espota_session_t *s);

void espota_net_close(espota_session_t *s);

/* The message for how the engine ended (espota_outcome.c). Returns 0 on
 * success or the error code (s->r->error filled). */
int espota_outcome(espota_session_t *s);

#endif /* ALOFT_HOST_ESPOTA_HOST_PRIV_H */
