/*
 * aloft/web.h — the device web API (docs/PROTOCOL.md §4) as a sans-I/O
 * engine: the HTTP server of a port (libmicrohttpd in aloft-sim,
 * esp_http_server on ESP-IDF) parses requests and hands each one over as
 *
 *   aloft_web_start(request) -> aloft_web_body(bytes)... -> aloft_web_finish()
 *
 * and sends the response finish() returns. The engine owns no socket and
 * reads no clock: time comes in as now_ms. What it does:
 *  - serves the page (gzipped, built into the firmware) and GET /api/info
 *    (what the native HELLO tells: chip, slots with project, version and
 *    state, which runs, the update in progress; public, like the HELLO);
 *  - logs in with the native protocol's SCRAM roles (§2.4) over a
 *    challenge the device issues, through the device's shared failed-login
 *    limiter, and never sees the password; a login gives a session (an
 *    HttpOnly SameSite=Strict cookie) and a CSRF token every state-changing
 *    request must echo in the X-Aloft-CSRF header;
 *  - feeds uploads into the update pipeline shared with the other
 *    transports (aloft/update.h): begin with the announced target, size,
 *    SHA-256 and signature block (every check before any erase), then body
 *    chunks at the device's own offset, finish when the last byte is in;
 *    rollback and confirm;
 *  - answers JSON, errors with the code, its message and the hint with the
 *    numbers (aloft_diag_format), as the CLI prints them.
 *
 * Caller-owned memory, no malloc: one aloft_web_t per device, one
 * aloft_web_exchange_t per request in flight. Not thread-safe: call it
 * from one task at a time (on ESP-IDF under the loop's lock).
 */
#ifndef ALOFT_WEB_H
#define ALOFT_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/login_limit.h"
#include "aloft/update.h"
#include "aloft/wire/native.h"

#define ALOFT_WEB_SESSIONS 2u          /* logged-in browsers at once (the oldest gives way) */
#define ALOFT_WEB_CHALLENGES 4u        /* login challenges outstanding */
#define ALOFT_WEB_CHALLENGE_MS 10000u  /* a challenge must be answered within (native: 10 s) */
#define ALOFT_WEB_SESSION_MS 1800000u  /* a session unused this long ends (30 min) */
#define ALOFT_WEB_IDLE_MS 10000u       /* an upload with no data this long is abandoned */
#define ALOFT_WEB_CHUNK_MAX 65536u     /* largest body of one data request */
#define ALOFT_WEB_TOKEN_LEN 16u        /* session and CSRF tokens: random bytes (hex on the wire) */
#define ALOFT_WEB_OUT_MAX 1536u        /* JSON answer buffer */

typedef enum aloft_web_method {
    ALOFT_WEB_GET = 0,
    ALOFT_WEB_POST = 1,
    ALOFT_WEB_OTHER = 2,
} aloft_web_method_t;

typedef struct aloft_web_config {
    const aloft_device_t *dev;         /* what is updated */
    aloft_update_t *update;            /* the pipeline, shared with the other transports */
    aloft_login_limiter_t *limiter;    /* the device's one limiter; NULL limits nothing */
    const aloft_native_verifier_t *verifier;   /* the native login's; NULL = open device */
    const char *name;                  /* device name; NULL = "aloft" */
    /* Confirm the running image (otadata VALID), as the firmware's health
     * check would; NULL: POST /api/confirm is refused. Returns 0 or an
     * error code. */
    int (*confirm)(void *ctx);
    void *ctx;
    /* The page: gzip bytes served at / with Content-Encoding gzip (NULL: no
     * page, the API only). */
    const uint8_t *page_gz;
    size_t page_gz_len;
} aloft_web_config_t;

/* One request as the server parsed it. Strings are NUL-terminated and
 * only read during aloft_web_start. */
typedef struct aloft_web_request {
    aloft_web_method_t method;
    const char *path;       /* "/api/info" (no query) */
    const char *query;      /* after '?', NULL or "" = none */
    const char *session;    /* the aloft_session cookie's value, NULL = none */
    const char *csrf;       /* the X-Aloft-CSRF header, NULL = none */
    uint32_t peer;          /* IPv4 address, host byte order (the limiter's key) */
} aloft_web_request_t;

/* What to send. body points into the exchange or the page; valid until
 * the exchange is reused. */
typedef struct aloft_web_response {
    uint16_t status;            /* HTTP status */
    const char *content_type;
    bool gzip;                  /* add Content-Encoding: gzip */
    const uint8_t *body;
    size_t len;
    char set_cookie[96];        /* Set-Cookie value; "" = none */
    /* Restart the device once this is sent (an update was activated or a
     * rollback selected): the port schedules it ~100 ms later. */
    bool reboot;
} aloft_web_response_t;

/* Internal; one per request in flight, may be on the server's
 * per-connection storage. */
typedef struct aloft_web_exchange {
    uint8_t route;
    int8_t session;             /* index into the sessions, -1 none */
    uint32_t peer;              /* the request's (the limiter's key) */
    int err;                    /* set: the answer is this error */
    aloft_diag_t diag;
    bool feeding;               /* holds the engine's one data stream */
    uint32_t body_len;
    uint8_t body[ALOFT_SIG_BLOCK_MAX];   /* a begin's signature block */
    char query[256];            /* the request's query, kept for finish */
    char out[ALOFT_WEB_OUT_MAX];
    aloft_web_response_t resp;
} aloft_web_exchange_t;

/* Internal; zero-initialised by aloft_web_init. */
typedef struct aloft_web {
    aloft_web_config_t cfg;
    struct {
        uint8_t nonce[ALOFT_NATIVE_NONCE_LEN];
        uint32_t peer, issued_ms;
        bool live;
    } challenge[ALOFT_WEB_CHALLENGES];
    struct {
        uint8_t token[ALOFT_WEB_TOKEN_LEN];
        uint8_t csrf[ALOFT_WEB_TOKEN_LEN];
        uint32_t used_ms;
        bool live;
    } session[ALOFT_WEB_SESSIONS];
    int8_t owner;               /* session whose upload the pipeline holds, -1 none */
    bool feeding;               /* a data request is being fed */
    uint32_t last_data_ms;
    aloft_diag_t last;          /* the last web upload's failure, err 0 none */
} aloft_web_t;

/* Check and copy cfg (dev, update and dev->crypto's random and sha256 are
 * required). Returns 0 or ALOFT_ERR_ARG. */
int aloft_web_init(aloft_web_t *w, const aloft_web_config_t *cfg);

/* Forget every session and challenge, as a restart does (the port calls it
 * when the device restarts). */
void aloft_web_reset(aloft_web_t *w);

/* A request's headers are in. Returns the most body bytes it takes (0 for
 * routes without a body); the port may refuse a larger Content-Length
 * early, or feed it and let finish answer the error. */
uint32_t aloft_web_start(aloft_web_t *w, aloft_web_exchange_t *x, const aloft_web_request_t *r,
                         uint32_t now_ms);

/* The next n body bytes (data is streamed into the pipeline). */
void aloft_web_body(aloft_web_t *w, aloft_web_exchange_t *x, const void *data, size_t n,
                    uint32_t now_ms);

/* The body is complete: run the request and return the answer. */
const aloft_web_response_t *aloft_web_finish(aloft_web_t *w, aloft_web_exchange_t *x,
                                             uint32_t now_ms);

/* The connection ended before finish (the browser went away): releases
 * what the exchange held; the upload stays, at the bytes received, for the
 * page to continue or for the idle timeout. Safe after finish. */
void aloft_web_cancel(aloft_web_t *w, aloft_web_exchange_t *x);

/* Timers: an upload with no data for ALOFT_WEB_IDLE_MS is abandoned
 * (ALOFT_ERR_TIMEOUT; firmware untouched, quiesce resumed). Call it from
 * the port's loop, every second or more often. */
void aloft_web_tick(aloft_web_t *w, uint32_t now_ms);

#endif /* ALOFT_WEB_H */
