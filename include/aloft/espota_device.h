/*
 * aloft/espota_device.h — the device side of ArduinoOTA/espota as a sans-I/O
 * engine: the port hands it events (a datagram arrived, the connect-back
 * finished, TCP bytes arrived, time passed) and carries out the actions it
 * asks for (send a datagram, connect, send TCP bytes, close, reboot). It
 * never touches a socket or a clock; updates go through aloft/update.h.
 *
 * Wire-compatible with every espota.py and the Arduino IDE, with these
 * fixes (each keeps the wire format):
 *  - the update is begun (size vs slot, running image confirmed, another
 *    update busy) *before* "OK", and a refusal is sent instead of "OK" as
 *    a short text that every espota prints ("ERR: too large 1412096>1310720"),
 *    at most 32 bytes because old espota reads only 32;
 *  - the first bytes are checked (magic, chip, app description) before any
 *    erase, by the pipeline;
 *  - the idle timeout is 10 s by default (ArduinoOTA: 1 s);
 *  - the auth wait times out (10 s) and only the inviting host may answer;
 *  - logins go through the limiter the native protocol uses (aloft/
 *    login_limit.h): a refused one gets "ERR: locked out, wait N s" or
 *    "ERR: too many logins, wait N s" before any nonce or derivation, and an
 *    invitation left unanswered counts as a failed login;
 *  - a pending login holds other inviters off for at most 1 s
 *    (ALOFT_ESPOTA_AUTH_HOLD_MS, not renewed by re-inviting), then the next
 *    inviter takes over; a host that logged in before takes over at once
 *    from one that has not;
 *  - an invitation while a session is past its login gets "ERR: busy" and
 *    does not disturb it ("200 was expected. got 0 instead" cannot happen);
 *  - the auth reply goes to the source port of the auth datagram, where
 *    every espota revision listens;
 *  - quiesce hooks are paused only once authenticated and accepted.
 *
 * TCP error texts end in "\r\n" like the ESP32 core's ("ERR: <message>:
 * <hint>\r\n", see aloft_diag_format).
 */
#ifndef ALOFT_ESPOTA_DEVICE_H
#define ALOFT_ESPOTA_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/login_limit.h"
#include "aloft/update.h"
#include "aloft/wire/espota.h"

#define ALOFT_ESPOTA_IDLE_TIMEOUT_MS 10000u
#define ALOFT_ESPOTA_AUTH_TIMEOUT_MS 10000u   /* from the last nonce sent */
/* How long a pending login holds other inviters off ("ERR: busy"), from
 * its host's first invitation; after that a new inviter takes over. */
#define ALOFT_ESPOTA_AUTH_HOLD_MS 1000u
/* espota >= 3.3.1 answers a failed PBKDF2 login by trying the password
 * again as an MD5 secret, with the same invitation: within this long that
 * second try is the same attempt for the login limiter (it is not locked
 * out by the first try's failure, and a wrong password counts once). */
#define ALOFT_ESPOTA_RETRY_MS 2000u
#define ALOFT_ESPOTA_CONNECT_TIMEOUT_MS 5000u
/* Pause between the last ack and "OK" (ESP8266 ArduinoOTA waits 1000 ms). */
#define ALOFT_ESPOTA_RESULT_DELAY_MS 300u

typedef struct aloft_espota_config {
    const aloft_device_t *dev;     /* the device the pipeline writes */
    aloft_update_t *update;        /* the pipeline session (shared by protocols) */
    aloft_espota_auth_t auth;      /* NONE: no password */
    const char *secret;            /* stored H (hex), never the password */
    uint32_t idle_timeout_ms;      /* 0 = ALOFT_ESPOTA_IDLE_TIMEOUT_MS */
    uint32_t auth_timeout_ms;      /* 0 = ALOFT_ESPOTA_AUTH_TIMEOUT_MS */
    const char *fs_label;          /* command 100 target; NULL = first fs partition */
    /* Failed-login limiter, the one the native engine uses (same budget,
     * checked before any derivation); NULL = none. */
    aloft_login_limiter_t *limiter;
} aloft_espota_config_t;

typedef enum aloft_espota_state {
    ALOFT_ESPOTA_IDLE = 0,
    ALOFT_ESPOTA_WAIT_AUTH,
    ALOFT_ESPOTA_CONNECTING,
    ALOFT_ESPOTA_RECEIVING,
    ALOFT_ESPOTA_CLOSING,         /* result sent, closing the connection */
} aloft_espota_state_t;

typedef enum aloft_espota_action_kind {
    ALOFT_ESPOTA_ACT_NONE = 0,
    ALOFT_ESPOTA_ACT_UDP_SEND,    /* send data to ip:port from the OTA socket */
    ALOFT_ESPOTA_ACT_CONNECT,     /* open the connect-back to ip:port */
    ALOFT_ESPOTA_ACT_TCP_SEND,    /* send data on the connect-back */
    ALOFT_ESPOTA_ACT_TCP_CLOSE,   /* close the connect-back */
    ALOFT_ESPOTA_ACT_REBOOT,      /* update done: restart into it */
} aloft_espota_action_kind_t;

typedef struct aloft_espota_action {
    aloft_espota_action_kind_t kind;
    uint32_t ip;                  /* IPv4, host byte order */
    uint16_t port;
    const uint8_t *data;          /* valid until the next engine call */
    size_t len;
} aloft_espota_action_t;

/* Internal; do not rely on the fields. */
typedef struct aloft_espota {
    aloft_espota_config_t cfg;
    uint8_t state;
    uint32_t peer_ip;             /* the inviting host */
    uint16_t peer_port;           /* its UDP source port */
    aloft_espota_invite_t inv;
    char nonce[ALOFT_ESPOTA_HEX_MAX];
    uint32_t since_ms;            /* when the current state began / last data */
    uint32_t pending_ms;          /* WAIT_AUTH: the host's first invitation (its hold) */
    bool retry;                   /* the pending login is a failed one's second try */
    bool may_retry;               /* a PBKDF2 login failed: its second try may come */
    uint32_t failed_ip, failed_ms;
    aloft_espota_invite_t failed_inv;
    uint32_t received;
    /* pending actions, taken by aloft_espota_next in this order */
    uint8_t udp_out[80];           /* "AUTH " + 64 hex is the longest */
    size_t udp_len;
    uint32_t udp_ip;
    uint16_t udp_port;
    bool want_connect, want_close, want_reboot;
    bool ok_pending;              /* success: "OK" goes out after the delay */
    uint8_t tcp_out[320];
    size_t tcp_len;
    int last_err;                 /* why the last session ended (0 = success) */
} aloft_espota_t;

/* Start in IDLE. cfg is copied; dev, update, secret and limiter must
 * outlive e. Returns 0 or ALOFT_ERR_ARG (no pipeline, no crypto with MD5
 * and SHA-256, auth without a secret of the right length, a random source
 * or, for PBKDF2, the derivation). */
int aloft_espota_init(aloft_espota_t *e, const aloft_espota_config_t *cfg);

/* A datagram arrived on the OTA UDP port from ip:port. */
void aloft_espota_on_datagram(aloft_espota_t *e, uint32_t now_ms, uint32_t ip,
                              uint16_t port, const void *data, size_t len);

/* The connect-back requested by ACT_CONNECT succeeded (ok) or failed. */
void aloft_espota_on_connect(aloft_espota_t *e, uint32_t now_ms, bool ok);

/* Bytes arrived on the connect-back (one read of any size). */
void aloft_espota_on_tcp(aloft_espota_t *e, uint32_t now_ms, const void *data, size_t len);

/* The host closed the connect-back (or it broke). */
void aloft_espota_on_tcp_closed(aloft_espota_t *e, uint32_t now_ms);

/* Time passed: enforces the auth, connect and idle timeouts. */
void aloft_espota_tick(aloft_espota_t *e, uint32_t now_ms);

/* Take the next action to carry out; returns false when there is none.
 * Call it until it returns false after every event. ACT_TCP_SEND data is
 * small (acks, a result line): the port sends all of it (blocking if it
 * must) before the next engine call. */
bool aloft_espota_next(aloft_espota_t *e, aloft_espota_action_t *a);

aloft_espota_state_t aloft_espota_state(const aloft_espota_t *e);

/* How the last session ended: 0 for success, else its error code (the
 * pipeline's diag has the numbers). */
int aloft_espota_last_error(const aloft_espota_t *e);

/* The short refusal text sent over UDP for err (at most 32 bytes, e.g.
 * "ERR: too large 1412096>1310720"); hosts map it back with
 * aloft_espota_parse_refusal. Returns the length. */
size_t aloft_espota_refusal(const aloft_diag_t *d, char *out, size_t n);

/* Recognise a refusal text; fills d (err and numbers) and returns true. */
bool aloft_espota_parse_refusal(const char *text, size_t len, aloft_diag_t *d);

#endif /* ALOFT_ESPOTA_DEVICE_H */
