/*
 * host/espota_host.h — the host side of ArduinoOTA/espota: upload
 * an image to a device that runs ArduinoOTA (any ESP32 or ESP8266 core) or
 * aloft's espota engine.
 *
 * The protocol is the engine's (aloft/espota_host.h: invitation retries,
 * both logins with the resent auth datagram and the MD5-secret retry, the
 * window, the result); this is its socket loop (protocol.md §12a's host
 * checklist): the TCP listener is bound before anything is sent, one UDP
 * socket carries the invitation and the login (ESP8266 answers on the
 * invitation's source port, ESP32 on the auth datagram's), only the
 * device's address may connect back, and every failure is explained in
 * espota_result_t with what to change.
 *
 * Blocking; IPv4 (ArduinoOTA is IPv4-only). Nothing is printed: progress
 * and phases reach the caller through the callbacks.
 */
#ifndef ALOFT_HOST_ESPOTA_HOST_H
#define ALOFT_HOST_ESPOTA_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/espota_host.h"
#include "espota_reply.h"
#include "host_net.h"

#define ESPOTA_HOST_TIMEOUT_MS ALOFT_ESPOTA_HOST_TIMEOUT_MS
#define ESPOTA_HOST_PORT_MIN 10000u      /* random host port range, as espota.py */
#define ESPOTA_HOST_PORT_MAX 60000u

/* What the uploader is doing now, for messages; see on_event. */
typedef enum espota_event {
    ESPOTA_EV_LISTENING,       /* detail: "ip:port" the listener is bound to */
    ESPOTA_EV_INVITE,          /* first invitation going out; detail: "ip:port" of the device */
    ESPOTA_EV_NO_ANSWER,       /* an invitation went unanswered (espota prints a dot) */
    ESPOTA_EV_AUTH,            /* authenticating; detail: "MD5" | "PBKDF2-HMAC-SHA256" |
                                  "PBKDF2-HMAC-SHA256, MD5 secret" */
    ESPOTA_EV_AUTH_RETRY_MD5,  /* SHA-256 secret refused; re-inviting to try the MD5 one */
    ESPOTA_EV_AUTH_OK,         /* detail: the scheme, as for ESPOTA_EV_AUTH */
    ESPOTA_EV_AUTH_FAILED,     /* the device answered "Authentication Failed" */
    ESPOTA_EV_ACCEPTED,        /* the device agreed; waiting for it; detail: "ip:port" */
    ESPOTA_EV_CONNECTED,       /* detail: the device's "ip:port" */
    ESPOTA_EV_SENT_ALL,        /* every byte is out; waiting for the result */
    ESPOTA_EV_DEVICE_SAID,     /* debug: detail is a text the device sent */
} espota_event_t;

typedef struct espota_upload {
    const char *device;          /* "host" or "host:port" (name or IPv4) */
    uint16_t default_port;       /* when device has none; 0 = 3232 */
    const char *host_ip;         /* listener (and UDP) address; NULL = 0.0.0.0 */
    uint16_t host_port;          /* listener port; 0 = random 10000..60000 */
    const char *password;        /* NULL or "" = none */
    bool md5_target;             /* PBKDF2 with the MD5 secret from the start */
    bool fs;                     /* filesystem image (command 100) */
    bool stop_and_wait;          /* espota.py's transfer, for comparisons */
    unsigned tries;              /* invitations; 0 = ALOFT_ESPOTA_HOST_TRIES */
    uint32_t invite_timeout_ms;  /* 0 = ALOFT_ESPOTA_HOST_TIMEOUT_MS */
    uint32_t timeout_ms;         /* auth, accept, data silence; 0 = the same */
    uint32_t window;             /* 0 = ALOFT_ESPOTA_HOST_WINDOW */
    const char *host_port_flag;  /* named in hints; NULL = "--host-port" */
    const char *filename;        /* as the user gave it: part of the cnonce */
    const uint8_t *data;         /* the image, size bytes (1 .. 2^31-1) */
    size_t size;
    /* Optional callbacks; ctx is passed back. sent counts bytes handed to
     * TCP, confirmed the device's acks (an estimate, see
     * aloft/internal/espota_acks.h). */
    void (*on_progress)(void *ctx, uint64_t sent, uint64_t confirmed, uint64_t total);
    void (*on_event)(void *ctx, espota_event_t ev, const char *detail);
    void *ctx;
} espota_upload_t;

typedef struct espota_result {
    bool ok;
    host_error_t error;        /* code 0 on success */
    char device_text[256];       /* the device's own words when it failed us, or "" */
    aloft_espota_auth_t auth;    /* scheme used (NONE: no password asked) */
    bool md5_secret;             /* logged in with an MD5-based secret: weak */
    uint64_t bytes;              /* image bytes sent */
    double seconds;              /* from connect-back to the result */
    double rate_kib_s;
    char device_addr[64];        /* "ip:port" the invitations went to */
    char connect_back[64];       /* "ip:port" the device was told to connect to */
} espota_result_t;

/* Upload u->data to u->device. Fills r (always). Returns 0 on success
 * (the device said OK), else r->error.code, a negative aloft_err_t. */
int espota_upload(const espota_upload_t *u, espota_result_t *r);

#endif /* ALOFT_HOST_ESPOTA_HOST_H */
