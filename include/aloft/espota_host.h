/*
 * aloft/espota_host.h — the host side of ArduinoOTA/espota as a sans-I/O
 * engine: it uploads an image to any ArduinoOTA device (ESP32 and ESP8266
 * cores, both logins) or to aloft's espota device engine. The port owns a
 * UDP socket to the device and a TCP listener for the connect-back; it
 * hands the engine what arrives (datagrams, the connect-back, TCP bytes,
 * time) and carries out what the engine asks (send a datagram, send image
 * bytes). The engine never touches a socket or a clock.
 *
 * The exchange (docs/PROTOCOL.md §1, host behaviour in §1.8):
 *  1. the port binds its listener, then calls start with the listener's
 *     port; the invitation "<cmd> <port> <size> <md5>\n" goes out and is
 *     sent again every invite_timeout_ms, `tries` times in all;
 *  2. "AUTH <nonce>": 32 hex = MD5 scheme, 64 hex = PBKDF2 with the
 *     SHA-256 secret (md5_target: the MD5 secret); "200 <cnonce> <response>\n"
 *     goes out and is sent again every auth_resend_ms until timeout_ms has
 *     passed (a lost datagram either way costs a resend, not the upload);
 *     if the SHA-256 secret is refused, a fresh round of invitations and
 *     one login with the MD5 secret follow (espota 3.3.1's retry);
 *  3. "OK": the engine waits timeout_ms for the port's on_connected. A
 *     connect-back while the engine still waits for an answer counts as
 *     that answer (the device's "OK" was lost: it connects only once it
 *     has accepted);
 *  4. data: at most `window` bytes beyond what the device's counts confirm
 *     are offered (stop_and_wait: 1024-byte chunks, each waiting for a
 *     count, as espota.py); a full window with no count for 1.5 s is opened
 *     by half, so a wrong ack estimate slows the upload but never stalls it;
 *  5. the result: "OK" after every byte is success; an error text, a close,
 *     or timeout_ms without a byte either way is a failure (never espota
 *     3.3.1's "may still be successful"). ESP8266 devices pause 1 s before
 *     "OK" so it never rides on the last count: silence after the last byte
 *     is waited out up to timeout_ms.
 *
 * After every call the port takes actions with aloft_espota_host_next until
 * it returns false. Errors are negative aloft_err_t, sticky: once failed
 * (or done), the engine ignores every input; aloft_espota_host_result says
 * why, with the device's own words.
 */
#ifndef ALOFT_ESPOTA_HOST_H
#define ALOFT_ESPOTA_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/internal/espota_acks.h"
#include "aloft/port/crypto.h"
#include "aloft/wire/espota.h"

#define ALOFT_ESPOTA_HOST_TRIES 10u            /* invitations, like espota.py */
#define ALOFT_ESPOTA_HOST_TIMEOUT_MS 10000u    /* per invitation; auth, connect-back, silence */
#define ALOFT_ESPOTA_HOST_AUTH_RESEND_MS 1000u /* auth datagram resent this often */
#define ALOFT_ESPOTA_HOST_WINDOW (16u * 1024u) /* unconfirmed bytes in flight */
#define ALOFT_ESPOTA_HOST_CHUNK 1024u          /* stop-and-wait chunk, as espota.py */
#define ALOFT_ESPOTA_HOST_SIZE_MAX 0x7FFFFFFFu /* espota sizes are 31-bit */
#define ALOFT_ESPOTA_HOST_TEXT_MAX ALOFT_ESPOTA_ACKS_TEXT_MAX

/* Reads n bytes of the image at offset into buf; returns n, or a negative
 * aloft_err_t. */
typedef int (*aloft_espota_host_read_t)(void *ctx, uint32_t offset, void *buf, size_t n);

typedef struct aloft_espota_host_config {
    const aloft_crypto_t *crypto;   /* md5 and sha256; pbkdf2_sha256 for PBKDF2 logins */
    const char *address;            /* the device as the user wrote it (enters the cnonce) */
    const char *filename;           /* the file as the user gave it (enters the cnonce) */
    const char *password;           /* NULL or "" = none */
    bool md5_target;                /* PBKDF2 with the MD5 secret from the start */
    bool fs;                        /* filesystem image (command 100) */
    bool stop_and_wait;             /* espota.py's transfer, for comparisons */
    uint32_t size;                  /* image bytes, 1 .. ALOFT_ESPOTA_HOST_SIZE_MAX */
    const uint8_t *data;            /* the image, or NULL and read: */
    aloft_espota_host_read_t read;
    void *read_ctx;
    unsigned tries;                 /* invitations per round; 0 = ALOFT_ESPOTA_HOST_TRIES */
    uint32_t invite_timeout_ms;     /* 0 = ALOFT_ESPOTA_HOST_TIMEOUT_MS */
    uint32_t auth_resend_ms;        /* 0 = ALOFT_ESPOTA_HOST_AUTH_RESEND_MS */
    uint32_t timeout_ms;            /* 0 = ALOFT_ESPOTA_HOST_TIMEOUT_MS */
    uint32_t window;                /* 0 = ALOFT_ESPOTA_HOST_WINDOW */
} aloft_espota_host_config_t;

typedef enum aloft_espota_host_state {
    ALOFT_ESPOTA_HOST_IDLE = 0,     /* initialised, not started */
    ALOFT_ESPOTA_HOST_INVITING,     /* invitation out, waiting for its answer */
    ALOFT_ESPOTA_HOST_AUTHENTICATING,
    ALOFT_ESPOTA_HOST_CONNECTING,   /* the device said OK; waiting for the connect-back */
    ALOFT_ESPOTA_HOST_SENDING,      /* data phase, until the result */
    ALOFT_ESPOTA_HOST_DONE,         /* see aloft_espota_host_result */
} aloft_espota_host_state_t;

/* What happened, for the port's messages (ACT_EVENT). */
typedef enum aloft_espota_host_event {
    ALOFT_ESPOTA_HOST_EV_INVITE = 1,   /* the first invitation is going out */
    ALOFT_ESPOTA_HOST_EV_NO_ANSWER,    /* an invitation went unanswered */
    ALOFT_ESPOTA_HOST_EV_AUTH,         /* logging in (auth, md5_secret say how) */
    ALOFT_ESPOTA_HOST_EV_AUTH_OK,
    ALOFT_ESPOTA_HOST_EV_AUTH_FAILED,  /* "Authentication Failed" */
    ALOFT_ESPOTA_HOST_EV_RETRY_MD5,    /* SHA-256 secret refused: re-inviting for the MD5 one */
    ALOFT_ESPOTA_HOST_EV_ACCEPTED,     /* the device agreed; waiting for the connect-back */
    ALOFT_ESPOTA_HOST_EV_SENT_ALL,     /* every byte is out; waiting for the result */
} aloft_espota_host_event_t;

typedef enum aloft_espota_host_action_kind {
    ALOFT_ESPOTA_HOST_ACT_NONE = 0,
    ALOFT_ESPOTA_HOST_ACT_EVENT,       /* event (and auth, md5_secret for the AUTH ones) */
    ALOFT_ESPOTA_HOST_ACT_UDP_SEND,    /* send data to the device from the one UDP socket */
    ALOFT_ESPOTA_HOST_ACT_TCP_SEND,    /* send what the connection takes of data, see next */
} aloft_espota_host_action_kind_t;

typedef struct aloft_espota_host_action {
    aloft_espota_host_action_kind_t kind;
    aloft_espota_host_event_t event;
    aloft_espota_auth_t auth;
    bool md5_secret;
    const uint8_t *data;               /* valid until the next engine call */
    size_t len;
} aloft_espota_host_action_t;

/* Why the upload ended (with err in aloft_espota_host_result_t). */
typedef enum aloft_espota_host_why {
    ALOFT_ESPOTA_HOST_WHY_OK = 0,      /* the device said OK after every byte */
    ALOFT_ESPOTA_HOST_WHY_NO_ANSWER,   /* TIMEOUT: every invitation went unanswered */
    ALOFT_ESPOTA_HOST_WHY_BAD_ANSWER,  /* PROTO: an answer that is not ArduinoOTA's (text) */
    ALOFT_ESPOTA_HOST_WHY_REFUSED,     /* the device refused the upload (text; err from
                                          aloft_espota_parse_refusal, else PROTO) */
    ALOFT_ESPOTA_HOST_WHY_BAD_NONCE,   /* PROTO: a challenge of nonce_len, not 32 or 64 */
    ALOFT_ESPOTA_HOST_WHY_NO_PASSWORD, /* AUTH: the device asks for a password, none given */
    ALOFT_ESPOTA_HOST_WHY_AUTH_FAILED, /* AUTH: refused (retried_md5: with both secrets) */
    ALOFT_ESPOTA_HOST_WHY_AUTH_SILENT, /* TIMEOUT: the auth datagram was never answered */
    ALOFT_ESPOTA_HOST_WHY_NO_CONNECT,  /* CONNECT: accepted but never connected back */
    ALOFT_ESPOTA_HOST_WHY_EARLY_OK,    /* PROTO: "OK" before every byte was sent */
    ALOFT_ESPOTA_HOST_WHY_DEVICE_ERROR,/* PROTO: the device ended with an error text (text) */
    ALOFT_ESPOTA_HOST_WHY_SILENT,      /* TIMEOUT: nothing either way for timeout_ms */
    ALOFT_ESPOTA_HOST_WHY_CLOSED,      /* CLOSED: the connection ended without "OK" */
    ALOFT_ESPOTA_HOST_WHY_LOCAL,       /* crypto or image read failed (err says which) */
} aloft_espota_host_why_t;

typedef struct aloft_espota_host_result {
    int err;                           /* 0, or the sticky negative aloft_err_t */
    aloft_espota_host_why_t why;
    char text[ALOFT_ESPOTA_HOST_TEXT_MAX + 1]; /* the device's words (printable), or "" */
    aloft_espota_auth_t auth;          /* scheme of the accepted login (NONE: none asked) */
    bool md5_secret;                   /* ... with an MD5-based secret: weak */
    bool retried_md5;                  /* the MD5-secret retry was made */
    uint32_t nonce_len;                /* for WHY_BAD_NONCE */
    uint32_t sent;                     /* image bytes the connection took */
    uint32_t confirmed;                /* bytes the device's counts confirm (estimate) */
} aloft_espota_host_result_t;

/* Internal; do not rely on the fields. */
typedef struct aloft_espota_host {
    aloft_espota_host_config_t cfg;
    aloft_espota_host_result_t res;
    uint8_t state;
    char md5hex[33];                   /* of the whole image */
    /* handshake */
    unsigned tries_left;
    uint32_t since_ms;                 /* start of the state, or of the auth round */
    uint32_t sent_ms;                  /* last datagram sent */
    uint8_t login_auth;                /* the current login's scheme ... */
    bool login_md5_secret;             /* ... and secret */
    uint8_t invite[56];                /* the invitation, formatted once */
    uint8_t auth[4 + 2 * ALOFT_ESPOTA_HEX_MAX + 2];   /* "200 <cnonce> <response>\n" */
    uint8_t invite_len, auth_len;
    uint8_t udp_pending;               /* what to send: 0 nothing, UDP_INVITE, UDP_AUTH */
    /* data phase */
    aloft_espota_acks_t acks;
    uint32_t chunk_end;                /* stop-and-wait: end of the current chunk */
    uint32_t chunk_counts;             /* acks.counts when it was full */
    uint32_t rx_ms, tx_ms, error_ms;
    bool told_all_sent;
    uint8_t buf[ALOFT_ESPOTA_ACKS_READ_MAX];   /* image bytes from read, at buf_off */
    uint32_t buf_off, buf_len;
    /* events not taken yet */
    struct {
        uint8_t event, auth;
        bool md5_secret;
    } evq[8];
    uint8_t ev_head, ev_len;
} aloft_espota_host_t;

/* Check cfg and hash the image (reading it once through read if data is
 * NULL). cfg is copied; its strings, data and read_ctx must outlive e.
 * Returns 0, ALOFT_ERR_SIZE (size 0 or above ALOFT_ESPOTA_HOST_SIZE_MAX),
 * ALOFT_ERR_ARG (no crypto, no image, no address or filename), or what
 * read or the hash returned. */
int aloft_espota_host_init(aloft_espota_host_t *e, const aloft_espota_host_config_t *cfg);

/* The port's listener is bound to listen_port: send the first invitation. */
void aloft_espota_host_start(aloft_espota_host_t *e, uint32_t now_ms, uint16_t listen_port);

/* A datagram arrived from the device (its address is the port's check). */
void aloft_espota_host_on_datagram(aloft_espota_host_t *e, uint32_t now_ms, const void *data,
                                   size_t len);

/* The last UDP_SEND could not be sent: an invitation counts as unanswered
 * at once; a lost auth datagram is sent again on its timer. */
void aloft_espota_host_on_send_failed(aloft_espota_host_t *e, uint32_t now_ms);

/* The device connected to the listener (the port accepts only the device's
 * address, and only one connection). */
void aloft_espota_host_on_connected(aloft_espota_host_t *e, uint32_t now_ms);

/* The connection took n bytes of the last TCP_SEND (0 if it would block;
 * the port then waits until it is writable before it asks again). */
void aloft_espota_host_on_tcp_sent(aloft_espota_host_t *e, uint32_t now_ms, size_t n);

/* Bytes arrived on the connection (one read of any size). */
void aloft_espota_host_on_tcp(aloft_espota_host_t *e, uint32_t now_ms, const void *data,
                              size_t len);

/* The connection ended: the device closed it or it broke; nothing more
 * will arrive. (A port whose sends fail keeps reading until then: the
 * device's reason may be waiting.) */
void aloft_espota_host_on_tcp_closed(aloft_espota_host_t *e, uint32_t now_ms);

/* Time passed: resends, the stall rule and every timeout. */
void aloft_espota_host_tick(aloft_espota_host_t *e, uint32_t now_ms);

/* Milliseconds until the engine needs tick (0: now), UINT32_MAX when done. */
uint32_t aloft_espota_host_wait_ms(const aloft_espota_host_t *e, uint32_t now_ms);

/* Take the next action; returns false when there is none. Events come
 * first, in order, then a datagram, then TCP_SEND. TCP_SEND is an offer,
 * not a queue: it is returned as long as the window allows and bytes
 * remain, always from the first unsent byte; the port sends what the
 * connection takes and reports it with on_tcp_sent before it asks again. */
bool aloft_espota_host_next(aloft_espota_host_t *e, aloft_espota_host_action_t *a);

aloft_espota_host_state_t aloft_espota_host_state(const aloft_espota_host_t *e);

/* How it went so far (final once the state is DONE). */
const aloft_espota_host_result_t *aloft_espota_host_result(const aloft_espota_host_t *e);

#endif /* ALOFT_ESPOTA_HOST_H */
