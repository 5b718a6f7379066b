/*
 * aloft/native_host.h — the host side of the aloft native protocol
 * (docs/PROTOCOL.md §2) as a sans-I/O engine, one instance per TCP
 * connection: the mirror of aloft/native_device.h. It never touches a
 * socket or a clock: the caller moves bytes through buffer/ack pairs and
 * passes the time in.
 *
 *   caller loop, once connected:
 *     st = aloft_native_host_state(h)
 *     st & WANT_RX    space = rx_buf(h, &n); k = recv(space, n);
 *                     rx_ack(h, now, k), or peer_closed(h, now) on EOF/error
 *     st & HAS_TX     out = tx_buf(h, &n); k = send(out, n); tx_ack(h, k)
 *     st & WANT_STEP  step(h, now): the next frame to send (AUTH, OFFER,
 *                     DATA, END, ROLLBACK); poll with timeout 0 meanwhile
 *     always          tick(h, now) every few tens of ms (timeouts)
 *     st & CLOSED     the session is over: close the socket
 *
 * One session: HELLO (checked: an aloft device of this version, frames
 * and window it can take), then by cfg.op
 *   INFO      nothing more, or a login when a password is given and the
 *             device wants one (it proves the HELLO came from the device);
 *   UPLOAD    login (or the open device's zero key), OFFER with the
 *             signature block, ACCEPT at an offset (a resume), DATA frames
 *             of the stream from that offset with at most `window` bytes
 *             unconsumed, END as soon as the last DATA is out (no wait for
 *             a final ACK), RESULT;
 *   ROLLBACK  login, ROLLBACK (not sent when the HELLO shows the other
 *             slot's image ABORTED or INVALID), RESULT.
 * Every frame after the login carries a MAC (seq per direction). The
 * caller hears through on_event; a session ends in DONE, LOST (the link
 * failed: a new connection may continue) or ERROR (a refusal or a peer
 * that breaks the protocol), with the details in aloft_native_failure_t.
 * Failures are sticky: after CLOSED every call is a no-op. Reconnecting
 * is the caller's business: init again with the same keys cache.
 *
 * Crypto: cfg.crypto's sha256, random (the host nonce, with crypto->ctx)
 * and pbkdf2_sha256 (only when keys must be derived from the password).
 *
 * Memory: about 13.5 KiB per instance (a frame of receive buffer, one of
 * send buffer, a DATA chunk, the HELLO); decoding uses about 1 KiB of
 * stack. No allocation.
 */
#ifndef ALOFT_NATIVE_HOST_H
#define ALOFT_NATIVE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/delta.h"
#include "aloft/native_device.h"
#include "aloft/port/crypto.h"
#include "aloft/wire/native.h"

/* Timeouts (0 in the config = these; PROTOCOL.md §2.8). */
#define ALOFT_NATIVE_HOST_HELLO_MS 3000u     /* connected -> HELLO's first bytes: else "no HELLO" */
#define ALOFT_NATIVE_HOST_TIMEOUT_MS 10000u  /* the rest of HELLO; login answer; ACK silence with
                                                data unconsumed */
#define ALOFT_NATIVE_HOST_ACCEPT_MS 30000u   /* OFFER -> ACCEPT (a resume re-reads the prefix),
                                                ROLLBACK -> RESULT (the device verifies) */
#define ALOFT_NATIVE_HOST_RESULT_MS 60000u   /* END, all data consumed -> RESULT */

#define ALOFT_NATIVE_HOST_MAX_ITERATIONS 10000000u  /* PBKDF2 rounds a device may ask for */
/* The smallest max_payload that carries every message the host sends (an
 * unsigned OFFER is 110 bytes; a signed one is checked when it is sent)
 * and a useful DATA frame. */
#define ALOFT_NATIVE_HOST_MIN_PAYLOAD 128u
/* zlib windowBits the host deflates with: no larger than the device's
 * (HELLO), and zlib cannot deflate with less than 2^9. */
#define ALOFT_NATIVE_DEFLATE_MIN_BITS 9u
#define ALOFT_NATIVE_DEFLATE_MAX_BITS 15u

typedef enum aloft_native_op {
    ALOFT_NATIVE_OP_INFO,
    ALOFT_NATIVE_OP_UPLOAD,
    ALOFT_NATIVE_OP_ROLLBACK,
} aloft_native_op_t;

/* Keys derived from the password for one salt and iteration count
 * (PBKDF2 is slow by design). Caller-owned and zeroed once; the engine
 * fills it at the first login and reuses it while the device's salt and
 * iterations stay the same, so reconnects do not derive again. */
typedef struct aloft_native_keys {
    bool valid;
    uint8_t salt[ALOFT_NATIVE_SALT_LEN];
    uint32_t iterations;
    uint8_t client_key[32], server_key[32];
} aloft_native_keys_t;

/* The DATA stream of an upload, from the caller. open: make the stream
 * that starts at image offset `from` current, raw (window_bits 0) or one
 * zlib stream of image[from:] deflated with that windowBits (9..15); its
 * length in *len. read: n bytes of the current stream from stream offset
 * off into buf. Both return 0 or a negative aloft_err_t. The engine opens
 * the stream from offset 0 once before the OFFER when it may compress (it
 * deflates only if that stream is shorter than the image), and again at
 * the ACCEPT's offset. */
typedef struct aloft_native_source {
    int (*open)(void *ctx, uint32_t from, unsigned window_bits, uint32_t *len);
    int (*read)(void *ctx, uint32_t off, uint8_t *buf, size_t n);
    void *ctx;
} aloft_native_source_t;

/* Where a session is (aloft_native_failure_t.phase). */
typedef enum aloft_native_phase {
    ALOFT_NATIVE_PH_HELLO,       /* waiting for the HELLO */
    ALOFT_NATIVE_PH_LOGIN,       /* AUTH, waiting for AUTH_OK */
    ALOFT_NATIVE_PH_OFFER,       /* OFFER, waiting for ACCEPT */
    ALOFT_NATIVE_PH_DATA,        /* DATA frames */
    ALOFT_NATIVE_PH_RESULT,      /* END queued, waiting for RESULT */
    ALOFT_NATIVE_PH_ROLLBACK,    /* ROLLBACK, waiting for RESULT */
    ALOFT_NATIVE_PH_DONE,
} aloft_native_phase_t;

/* Why a session failed (with the code, have and want of the failure). */
typedef enum aloft_native_why {
    ALOFT_NATIVE_WHY_NONE = 0,
    ALOFT_NATIVE_WHY_NO_HELLO,       /* silent (TIMEOUT) or closed (CLOSED) before 9 bytes */
    ALOFT_NATIVE_WHY_NOT_ALOFT,      /* the first bytes are not an aloft HELLO */
    ALOFT_NATIVE_WHY_VERSION,        /* a HELLO of protocol version have */
    ALOFT_NATIVE_WHY_BAD_HELLO,      /* max_payload have or window want unusable */
    ALOFT_NATIVE_WHY_ITERATIONS,     /* have PBKDF2 iterations asked, not 1..MAX */
    ALOFT_NATIVE_WHY_NEED_PASSWORD,  /* the device wants a login, no password was given */
    ALOFT_NATIVE_WHY_STALE_KEYS,     /* keys only, derived for another salt or iteration count */
    ALOFT_NATIVE_WHY_IMPOSTOR,       /* AUTH_OK's signature does not match the password */
    ALOFT_NATIVE_WHY_DEVICE,         /* the device sent ERROR (failure.device) */
    ALOFT_NATIVE_WHY_UNEXPECTED,     /* message type have has no place in this phase */
    ALOFT_NATIVE_WHY_MALFORMED,      /* a frame that does not decode */
    ALOFT_NATIVE_WHY_BAD_ACCEPT,     /* ACCEPT offset have beyond the image size want */
    ALOFT_NATIVE_WHY_BAD_ACK,        /* ACK consumed have (durable want) going back or beyond
                                        what was sent, or durable beyond the image */
    ALOFT_NATIVE_WHY_EARLY_RESULT,   /* RESULT before END was sent */
    ALOFT_NATIVE_WHY_BAD_SLOT,       /* rollback RESULT names slot have, not one of want */
    ALOFT_NATIVE_WHY_SIG_TOO_LONG,   /* signature block of have bytes, at most want */
    ALOFT_NATIVE_WHY_OFFER_TOO_BIG,  /* OFFER payload have bytes, device frames want */
    ALOFT_NATIVE_WHY_NOT_GOOD,       /* rollback: slot have holds an image that never confirmed
                                        itself (ABORTED) or was rejected (INVALID) */
    ALOFT_NATIVE_WHY_CRYPTO,         /* the random source (want 0) or the derivation (want 1) */
    ALOFT_NATIVE_WHY_SOURCE,         /* the stream source failed (its code) */
    /* the link; a new connection may continue */
    ALOFT_NATIVE_WHY_SILENT,         /* nothing within the phase's timeout (have: ms; want 1:
                                        waiting for an ACK, 0: for an answer) */
    ALOFT_NATIVE_WHY_CLOSED,         /* the connection ended */
    ALOFT_NATIVE_WHY_CORRUPT,        /* a frame failed its MAC or its header cannot be */
} aloft_native_why_t;

typedef struct aloft_native_failure {
    int code;                    /* negative aloft_err_t */
    aloft_native_why_t why;
    aloft_native_phase_t phase;  /* where it happened */
    uint32_t have, want;
    uint32_t aux;                /* BAD_ACK: the ACK's durable */
    bool lost;                   /* SILENT, CLOSED or CORRUPT: the link, not the peer */
    aloft_native_error_t device; /* why DEVICE: the device's ERROR as sent (its code may
                                    even be >= 0; code is then ALOFT_ERR_PROTO) */
} aloft_native_failure_t;

/* Why an upload goes uncompressed (event NO_DEFLATE). */
typedef enum aloft_native_raw_why {
    ALOFT_NATIVE_RAW_NO_CAP,     /* the device cannot inflate */
    ALOFT_NATIVE_RAW_WINDOW,     /* its window (have: bits) is below what zlib deflates for */
    ALOFT_NATIVE_RAW_NO_GAIN,    /* deflated it would be have bytes, not less than the image */
    ALOFT_NATIVE_RAW_FAILED,     /* the source could not deflate (have: its code) */
} aloft_native_raw_why_t;

/* Why an upload given a patch sends the full image (event NO_PATCH). */
typedef enum aloft_native_full_why {
    ALOFT_NATIVE_FULL_NO_CAP,    /* the device takes no patches (no cap DELTA) */
    ALOFT_NATIVE_FULL_OTHER_BASE,/* it runs another image than the patch's base */
    ALOFT_NATIVE_FULL_BAD_PATCH, /* the patch is not one of this image (have: its code) */
    ALOFT_NATIVE_FULL_WINDOW,    /* the patch needs a zlib window of have bits, the device
                                    inflates fewer */
} aloft_native_full_why_t;

typedef enum aloft_native_event_kind {
    ALOFT_NATIVE_EV_HELLO,       /* hello (and in every later event); resumable */
    ALOFT_NATIVE_EV_OPEN,        /* no password on the device (the MAC key is the zero
                                    key's); password_unused: one was given */
    ALOFT_NATIVE_EV_AUTH_OK,     /* logged in; the device proved it knows the password */
    ALOFT_NATIVE_EV_NO_DEFLATE,  /* raw_why, have */
    ALOFT_NATIVE_EV_NO_PATCH,    /* full_why, have: the full image goes instead */
    ALOFT_NATIVE_EV_ACCEPTED,    /* offset, window, window_bits, stream_len */
    ALOFT_NATIVE_EV_PROGRESS,    /* sent, consumed (stream bytes), durable (image bytes) */
    ALOFT_NATIVE_EV_SENT_ALL,    /* END queued */
    ALOFT_NATIVE_EV_DONE,        /* success; result for UPLOAD and ROLLBACK */
    ALOFT_NATIVE_EV_LOST,        /* failure (lost) */
    ALOFT_NATIVE_EV_ERROR,       /* failure (not lost) */
} aloft_native_event_kind_t;

typedef struct aloft_native_event {
    aloft_native_event_kind_t kind;
    const aloft_native_hello_t *hello;   /* NULL before the HELLO */
    bool resumable;         /* HELLO: it shows an interrupted transfer of this very image */
    bool password_unused;   /* OPEN */
    aloft_native_raw_why_t raw_why;
    aloft_native_full_why_t full_why;
    uint32_t have;
    uint32_t offset, window, stream_len;
    unsigned window_bits;   /* ACCEPTED: 0 raw */
    bool patch;             /* ACCEPTED: the stream is the patch's segments from offset */
    uint32_t sent, consumed, durable;
    const aloft_native_result_t *result;
    const aloft_native_failure_t *failure;
} aloft_native_event_t;

typedef struct aloft_native_host_config {
    const aloft_crypto_t *crypto;
    aloft_native_op_t op;
    const char *password;        /* NULL or "" = none (then keys must be valid to log in) */
    aloft_native_keys_t *keys;   /* cache across connections; NULL = derive every time */
    /* UPLOAD */
    const aloft_native_source_t *source;
    uint32_t size;               /* image bytes (decoded), without a signature block */
    const uint8_t *sha256;       /* 32 bytes: of those image bytes */
    uint8_t target;              /* aloft_target_t: 0 app, 1 filesystem */
    bool no_reboot;              /* OFFER flag NO_REBOOT */
    bool compress;               /* deflate when the device inflates and it pays */
    /* At most this many stream bytes unconsumed, when below the device's
     * window (0 = the device's). With half the device's window, the device
     * ACKs each chunk of this size once consumed, and only then does the
     * next one go: chunked stop-and-wait (ESPHome's pace), for comparisons. */
    uint32_t window;
    const char *project, *version;   /* for the OFFER; may be NULL */
    uint32_t secure_version;
    const uint8_t *sig_block;    /* a signed file's block (sent in the OFFER), or NULL */
    size_t sig_block_len;
    /* A delta patch (FORMATS.md §3) of the running image into this one,
     * whole in memory, or NULL. Sent instead of the image when the device
     * has cap DELTA and its HELLO names the patch's base; else the full
     * image goes (event NO_PATCH says why). */
    const uint8_t *patch;
    size_t patch_len;
    /* timeouts, ms; 0 = the defaults above */
    uint32_t hello_timeout_ms, timeout_ms, accept_timeout_ms, result_timeout_ms;
    /* Events; must not call into the engine. */
    void (*on_event)(void *ctx, const aloft_native_event_t *ev);
    void *ctx;
} aloft_native_host_config_t;

/* Internal; do not rely on the fields. */
typedef struct aloft_native_host {
    aloft_native_host_config_t cfg;
    aloft_native_phase_t phase;
    bool closed, first_seen, have_hello, resumable;
    aloft_native_failure_t failure;
    uint32_t now_ms, start_ms, wait_ms, rx_ms;
    aloft_native_hello_t hello;
    aloft_hash_ctx_t hello_hash;        /* SHA-256 of the HELLO payload, until the login */
    uint8_t auth_message[32];
    uint8_t client_key[32], server_key[32];
    bool keyed;
    uint8_t key[ALOFT_NATIVE_KEY_LEN];
    uint32_t tx_seq, rx_seq;
    bool to_send;                       /* the phase's request (AUTH, OFFER, ROLLBACK) is due */
    unsigned bits;                      /* zlib windowBits of the stream, 0 raw */
    bool patching;                      /* the stream is patch[patch_off:] */
    uint32_t patch_off;
    aloft_delta_header_t ph;            /* the patch's header, when patching */
    uint32_t window, stream_len, sent, consumed, durable;
    aloft_native_result_t result;
    size_t rx_len, tx_off, tx_len;
    uint8_t rx[ALOFT_NATIVE_FRAME_MAX];
    uint8_t tx[ALOFT_NATIVE_FRAME_MAX];
    uint8_t chunk[ALOFT_NATIVE_MAX_PAYLOAD - 4];
} aloft_native_host_t;

/* Start a session on a connection that just opened (the device speaks
 * first). cfg is copied; everything it points to must outlive h. Returns
 * 0 or ALOFT_ERR_ARG (no crypto, sha256 or random; an UPLOAD without
 * source, size or sha256). */
int aloft_native_host_init(aloft_native_host_t *h, const aloft_native_host_config_t *cfg,
                           uint32_t now_ms);

/* Where to put received bytes: *len bytes of space (0 once closed). Valid
 * until the next call on h. */
uint8_t *aloft_native_host_rx_buf(aloft_native_host_t *h, size_t *len);

/* n bytes were written into rx_buf: handle the complete frames. */
void aloft_native_host_rx_ack(aloft_native_host_t *h, uint32_t now_ms, size_t n);

/* Bytes waiting to be sent: *len of them (0 if none). */
const uint8_t *aloft_native_host_tx_buf(aloft_native_host_t *h, size_t *len);

/* n of the tx_buf bytes were sent. */
void aloft_native_host_tx_ack(aloft_native_host_t *h, size_t n);

/* Put the next frame into the (empty) send buffer: the phase's request,
 * the next DATA frame the window allows, or END. Keys are derived here
 * (slow) when the login needs them. Returns 1 if it queued a frame, 0 if
 * there was nothing to do. */
int aloft_native_host_step(aloft_native_host_t *h, uint32_t now_ms);

/* Time passed: ends a session whose phase timeout ran out (LOST, SILENT).
 * now_ms may wrap. */
void aloft_native_host_tick(aloft_native_host_t *h, uint32_t now_ms);

/* The connection ended (EOF or an error), after every byte read was
 * acked: LOST (CLOSED), or NO_HELLO before the HELLO. */
void aloft_native_host_peer_closed(aloft_native_host_t *h, uint32_t now_ms);

/* ALOFT_NATIVE_* state bits (WANT_RX, HAS_TX, WANT_STEP, CLOSED). */
unsigned aloft_native_host_state(const aloft_native_host_t *h);

/* 0 (success, or still running) or the failure's code. */
int aloft_native_host_last_error(const aloft_native_host_t *h);

/* The failure (why NONE while none), the HELLO (NULL before it) and the
 * RESULT (NULL before it). */
const aloft_native_failure_t *aloft_native_host_failure(const aloft_native_host_t *h);
const aloft_native_hello_t *aloft_native_host_hello(const aloft_native_host_t *h);
const aloft_native_result_t *aloft_native_host_result(const aloft_native_host_t *h);

/* After an update or a rollback the device restarts; a host that wants to
 * know what it runs then connects again and reads the HELLO (an INFO
 * session without a password: the device sends it before any login).
 * What that HELLO says about the slot the RESULT named: */
typedef enum aloft_native_boot {
    ALOFT_NATIVE_BOOT_NOT_YET,   /* still the device before its restart: the slot is
                                    activated (NEW) and not running; ask again */
    ALOFT_NATIVE_BOOT_RUNNING,   /* the slot runs: on probation while its state is NEW or
                                    PENDING_VERIFY (it has to confirm itself), else
                                    confirmed (VALID, or UNDEFINED without rollback) */
    ALOFT_NATIVE_BOOT_PREVIOUS,  /* another slot runs: the slot did not stay selected (a
                                    power cut while the first boot rewrote otadata, or
                                    rolled back: never confirmed, or rejected) */
    ALOFT_NATIVE_BOOT_UNKNOWN,   /* the HELLO does not say (running slot 0xFF, or no such
                                    slot) */
} aloft_native_boot_t;

/* Judge hello (read after the restart) for slot (RESULT's). Pure. A HELLO
 * from before the restart is recognised only while the slot is NEW (a
 * bootloader with rollback rewrites NEW at the first boot); a host asks
 * no earlier than the device's restart delay (PROTOCOL.md §2.6) after the
 * RESULT, so that a device without rollback is not judged before it
 * restarted. */
aloft_native_boot_t aloft_native_boot_check(const aloft_native_hello_t *hello, uint8_t slot);

/* The slot runs but has not confirmed itself yet (NEW or PENDING_VERIFY). */
bool aloft_native_boot_probation(const aloft_native_hello_t *hello, uint8_t slot);

#endif /* ALOFT_NATIVE_HOST_H */
