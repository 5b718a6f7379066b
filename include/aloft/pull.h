/*
 * aloft/pull.h — the HTTP pull engine (sans-I/O): a device fetches a
 * release (docs/FLEET.md §3) itself and feeds it through the update
 * pipeline (aloft/update.h). The port owns the HTTP client (libcurl,
 * esp_http_client) and the clock; the engine decides everything else:
 *
 *   aloft_pull_start(release)      begin(): size against the slot, a
 *                                  resumable prefix from the journal;
 *                                  refusals here erase nothing
 *   loop:
 *     aloft_pull_poll(now) -> REQUEST: GET next.url, with
 *                                  "Range: bytes=FROM-" when next.from > 0
 *                          -> WAIT: nothing to do for next.wait_ms (backoff)
 *                          -> DONE / REFUSED / FAILED: over
 *     aloft_pull_response(status, Content-Length, Content-Range)
 *     aloft_pull_body(bytes)...
 *     aloft_pull_end(transport error or 0)   once per request, always
 *
 * Checks, in order, each before anything is erased: the release's size
 * against the slot (begin), the HTTP status (200, or 206 to a Range
 * request), Content-Length and Content-Range against the release, the
 * first bytes (magic, chip, app description) in the pipeline's first
 * feed. SHA-256 and signature (devices with keys) are checked by finish,
 * before activation.
 *
 * Patches (FLEET.md §3 `patches`, FORMATS.md §3): when the device lends
 * the pull its delta stage and one of the release's patches has the
 * running image's SHA-256 as base_sha256, the patch is pulled instead of
 * the file (else the file, and the status says why). Nothing is begun
 * before the patch header has arrived (the first body bytes) and been
 * checked: base size and SHA-256 the running image's, the new image the
 * release's (new_size = size, new_sha256 = sha256 when unsigned; new_size
 * + the header's signature block = size when signed), header_len +
 * body_len = the patch's size, a signature block when the device has
 * keys. Only then begin (the new image, the header's signature block) and
 * the pipeline's first-bytes checks. A patch refused from its header, or
 * one that fails later (a corrupt segment, the patch's SHA-256, the
 * reconstructed image's SHA-256 or signature), is dropped and the file is
 * pulled instead, once (status.patch_diag says why); the running firmware
 * is untouched either way.
 *
 * A cut connection is retried from the byte where it stopped (the session
 * stays open); a power cut loses RAM, and the next start of the same
 * release resumes from the journal's durable prefix (PROTOCOL.md §2.7);
 * a patch is then fetched from its start again, and the decoder skips
 * what the journal holds.
 * Retries are bounded: `tries` attempts in all, waiting backoff_ms before
 * the second and doubling up to backoff_max_ms. Only transport failures
 * (connect, cut, stall) and HTTP 408, 429 and 5xx are retried; everything
 * else ends the pull at once.
 *
 * No malloc, no OS: the caller owns p, the update session and the release
 * (which must outlive the pull).
 */
#ifndef ALOFT_PULL_H
#define ALOFT_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"
#include "aloft/native_device.h"
#include "aloft/update.h"

/* A delta patch of the release (FLEET.md §3 patches[]). */
typedef struct aloft_pull_patch {
    const char *url;                       /* http:// or https:// */
    uint32_t size;                         /* bytes of the patch file */
    uint8_t sha256[ALOFT_SHA256_LEN];      /* of the patch file */
    uint8_t base_sha256[ALOFT_SHA256_LEN]; /* of the image it applies to */
} aloft_pull_patch_t;

/* One downloadable file of a release (FLEET.md §3: url, size, sha256,
 * signed). */
typedef struct aloft_pull_release {
    const char *url;                  /* http:// or https:// */
    uint32_t size;                    /* exact bytes of the file */
    uint8_t sha256[ALOFT_SHA256_LEN]; /* of the whole file */
    bool is_signed;                   /* the file ends with a signature block */
    const aloft_pull_patch_t *patches;  /* patches from earlier images; may be NULL */
    size_t npatches;
} aloft_pull_release_t;

/* What a device lends the pull to apply patches: its delta stage (shared
 * with the native server, aloft/native_device.h) and the inflate the
 * stage decodes with. */
typedef struct aloft_pull_delta {
    aloft_native_delta_t *stage;
    const aloft_inflate_t *inflate;
} aloft_pull_delta_t;

/* Retry schedule; zero fields take the defaults. */
typedef struct aloft_pull_policy {
    uint8_t tries;            /* attempts in all (default 5) */
    uint32_t backoff_ms;      /* wait before the second attempt (default 1000) */
    uint32_t backoff_max_ms;  /* the doubling stops here (default 16000) */
} aloft_pull_policy_t;

#define ALOFT_PULL_TRIES 5u
#define ALOFT_PULL_BACKOFF_MS 1000u
#define ALOFT_PULL_BACKOFF_MAX_MS 16000u

typedef enum aloft_pull_phase {
    ALOFT_PULL_IDLE = 0,  /* never started */
    ALOFT_PULL_REQUEST,   /* the port should send the request in next */
    ALOFT_PULL_RECEIVING, /* a request is out: response, body, end */
    ALOFT_PULL_WAIT,      /* backing off before the next attempt */
    ALOFT_PULL_DONE,      /* verified and activated: reboot now */
    ALOFT_PULL_REFUSED,   /* refused before any body byte reached the pipeline:
                             nothing was erased */
    ALOFT_PULL_FAILED,    /* failed later; the running firmware is untouched */
} aloft_pull_phase_t;

/* What aloft_pull_poll asks of the port. */
typedef struct aloft_pull_next {
    aloft_pull_phase_t phase;
    const char *url;          /* REQUEST: the release's url, or the patch's */
    uint32_t from;            /* REQUEST: first byte wanted; 0 = no Range header */
    uint32_t wait_ms;         /* WAIT: until the next attempt */
} aloft_pull_next_t;

/* Where a pull stands, for progress reports (FLEET.md §5). */
typedef struct aloft_pull_status {
    aloft_pull_phase_t phase;
    uint32_t done;            /* bytes of the file (or patch) taken */
    uint32_t total;           /* the release's size (or the patch's) */
    bool patch;               /* a patch is pulled, not the file */
    const char *why;          /* which and why: "a patch from the running image",
                                 "no patch from the running image", ... */
    aloft_diag_t patch_diag;  /* the patch's refusal when the file replaced it */
    uint32_t wire;            /* body bytes received, all requests */
    uint32_t resumed_from;    /* journal prefix the pull started from (0 = none) */
    uint8_t attempt;          /* 1-based, of policy.tries */
    uint8_t tries;
    uint16_t http_status;     /* of the last response (0 = none yet) */
    aloft_diag_t diag;        /* the failure; while retrying, the last attempt's */
} aloft_pull_status_t;

/* Internal; do not rely on the fields. */
typedef struct aloft_pull {
    const aloft_pull_release_t *rel;
    aloft_update_t *update;
    aloft_pull_policy_t policy;
    uint8_t phase;
    uint8_t attempt;
    bool decided;             /* this request's outcome is settled before end */
    bool fed_any;             /* a body byte reached the pipeline */
    int retry_err;            /* this response is to be retried (end schedules it) */
    uint16_t http_status;
    uint32_t from;            /* Range start of the request out */
    uint32_t skip;            /* bytes of a 200 to drop before from */
    uint32_t done;            /* file bytes fed */
    uint32_t resumed_from;
    uint32_t wire;
    uint64_t wake_ms;
    aloft_diag_t diag;
    /* patches */
    const aloft_device_t *dev;
    aloft_native_delta_t *stage;
    const aloft_inflate_t *inflate;
    const aloft_pull_patch_t *patch;  /* being pulled; NULL: the file */
    bool begun;                       /* the pipeline session is open */
    bool held;                        /* the stage is ours (in_use) */
    bool hashing;
    const char *why;
    aloft_diag_t patch_diag;
    aloft_hash_ctx_t patch_hash;      /* of the patch bytes taken */
} aloft_pull_t;

/* Choose the patch or the file, and for the file begin the update (app
 * target, resuming from the journal when it holds this file); a patch
 * begins once its header is in. delta NULL: files only. Returns 0 (phase
 * REQUEST) or begin's refusal (phase REFUSED, see aloft_update_begin;
 * nothing erased). */
int aloft_pull_start(aloft_pull_t *p, const aloft_device_t *dev, aloft_update_t *u,
                     const aloft_pull_release_t *rel, const aloft_pull_policy_t *policy,
                     const aloft_pull_delta_t *delta);

/* What to do now; fills next (may be NULL) and returns its phase. A WAIT
 * whose time has come turns into REQUEST; a REQUEST handed out turns into
 * RECEIVING. */
aloft_pull_phase_t aloft_pull_poll(aloft_pull_t *p, uint64_t now_ms, aloft_pull_next_t *next);

/* The response's status line and headers: content_length -1 when absent,
 * content_range the Content-Range value or NULL. Returns 0 to read the
 * body, or the refusal (the port drops the connection, then calls end). */
int aloft_pull_response(aloft_pull_t *p, int status, int64_t content_length,
                        const char *content_range);

/* n body bytes. Returns 0, or an error (stop the transfer, then call
 * end; after a refused patch, end leads to REQUEST for the file). */
int aloft_pull_body(aloft_pull_t *p, const void *data, size_t n);

/* The request is over: err 0 when the response ended normally, else
 * ALOFT_ERR_CONNECT, ALOFT_ERR_CLOSED or ALOFT_ERR_TIMEOUT (a port maps
 * its errors to these). Once the file is complete this finishes the update
 * (SHA-256, signature, activation). Returns the phase it leads to. */
aloft_pull_phase_t aloft_pull_end(aloft_pull_t *p, int err, uint64_t now_ms);

/* Stop a pull (ALOFT_ERR_ABORTED; the journal keeps the durable prefix
 * for a later resume). No-op once it is over. */
void aloft_pull_cancel(aloft_pull_t *p);

void aloft_pull_status(const aloft_pull_t *p, aloft_pull_status_t *st);

/* The FLEET.md §5 phase word: "downloading" (a backoff too), "rebooting"
 * (DONE), "refused", "failed"; "idle" before a start. */
const char *aloft_pull_phase_name(aloft_pull_phase_t phase);

/* Parse a Content-Range value "bytes FIRST-LAST/TOTAL" (RFC 9110 §14.4;
 * TOTAL may be "*"; total = UINT32_MAX then). Returns 0 or ALOFT_ERR_PROTO
 * for anything else (including values beyond 32 bits). */
int aloft_pull_parse_range(const char *v, uint32_t *first, uint32_t *last, uint32_t *total);

/* The wait before attempt number `attempt` (2 = the first retry) under
 * policy (zero fields: defaults). */
uint32_t aloft_pull_backoff(const aloft_pull_policy_t *policy, unsigned attempt);

#endif /* ALOFT_PULL_H */
