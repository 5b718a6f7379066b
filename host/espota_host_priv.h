/*
 * host/espota_host_priv.h — internal to the espota uploader
 * (espota_host.c: handshake, espota_transfer.c: data phase, espota_net.c:
 * sockets). Not for other users.
 */
#ifndef ALOFT_ESPOTA_HOST_PRIV_H
#define ALOFT_ESPOTA_HOST_PRIV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "espota_host.h"

typedef struct espota_session {
    const espota_upload_t *u;
    espota_result_t *r;
    espota_context_t ctx;          /* numbers for explanations */
    char host[256];                /* device as the user wrote it (enters the cnonce) */
    uint16_t port;                 /* device UDP port */
    struct sockaddr_in dev;        /* resolved device */
    int udp, listener, tcp;        /* -1 when closed */
    uint16_t listen_port;
    char md5hex[33];               /* of the whole image */
    unsigned tries;
    uint32_t invite_ms, timeout_ms, window;
    bool port_refused;             /* an ICMP "port unreachable" came back */
    int send_errno;                /* why the last invitation could not be sent, or 0 */
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
int espota_net_send(espota_session_t *s, const char *data, size_t len);

/* Discard datagrams already queued (late answers to an earlier try). */
void espota_net_drain(espota_session_t *s);

/* Wait up to timeout_ms for a datagram from the device. Returns its
 * length (> 0, NUL-terminated in buf), 0 on timeout, or a negative error
 * code (s->r->error filled). */
ssize_t espota_net_reply(espota_session_t *s, char *buf, size_t n, uint32_t timeout_ms);

/* Wait up to timeout_ms for the device's connect-back. Returns 0 with
 * s->tcp set, 0 with s->tcp == -1 on timeout, or an error code. */
int espota_net_accept(espota_session_t *s, uint32_t timeout_ms);

void espota_net_close(espota_session_t *s);

/* The data phase (espota_transfer.c): stream the image on s->tcp and read
 * the result. Returns 0 on "OK" or the error code (s->r filled). */
int espota_transfer(espota_session_t *s);

#endif /* ALOFT_ESPOTA_HOST_PRIV_H */
