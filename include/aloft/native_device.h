/*
 * aloft/native_device.h — the device side of the aloft native protocol
 * (docs/PROTOCOL.md §2) as a sans-I/O engine, one instance per TCP
 * connection. It never touches a socket or a clock: the port moves bytes
 * through buffer/ack pairs (as BearSSL does) and passes the time in.
 *
 *   on accept:      i = aloft_native_admit(engines, n, limiter, peer, now);
 *                   -1: close it; slot i in use: evict(), send what goes,
 *                   close; then init the new engine in slot i
 *   port loop, per connection:
 *     st = aloft_native_device_state(d)
 *     st & WANT_RX    space = rx_buf(d, &n); k = recv(space, n);
 *                     rx_ack(d, now, k), or peer_closed(d, now) on EOF/error
 *     st & HAS_TX     out = tx_buf(d, &n); k = send(out, n); tx_ack(d, k)
 *     st & WANT_STEP  nothing readable: step(d, now) (decode backlog,
 *                     erase-ahead); poll with timeout 0 while it is set
 *     always          tick(d, now) every few tens of ms (timeouts)
 *     st & CLOSED     once HAS_TX is clear: close the socket; with REBOOT,
 *                     restart the device ~100 ms later
 *
 * The engine feeds the shared update pipeline (aloft/update.h): a second
 * connection, or an espota session, that finds it busy gets ERROR -9 on
 * OFFER. Nothing is paused, erased or written before the login succeeded
 * and the OFFER was accepted. A ROLLBACK instead of the OFFER runs
 * aloft_update_rollback (the other slot boots next; RESULT, then REBOOT).
 * Errors are sticky: after CLOSED every call is a no-op.
 *
 * Memory: about 6.5 KiB per instance (a whole frame of receive buffer, a
 * send buffer, an inflate output chunk); decoding uses about 1 KiB of
 * stack. No allocation.
 */
#ifndef ALOFT_NATIVE_DEVICE_H
#define ALOFT_NATIVE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/delta.h"
#include "aloft/login_limit.h"
#include "aloft/port/crypto.h"
#include "aloft/port/inflate.h"
#include "aloft/wire/native.h"
#include "aloft/update.h"

#define ALOFT_NATIVE_WINDOW_DEFAULT (32u * 1024u)   /* bytes */
#define ALOFT_NATIVE_IDLE_TIMEOUT_MS 10000u
#define ALOFT_NATIVE_LOGIN_TIMEOUT_MS 10000u   /* HELLO to logged in, however bytes trickle */
#define ALOFT_NATIVE_KEEPALIVE_MS 500u    /* ACK at least this often while erasing */
#define ALOFT_NATIVE_TX_CAP 1024u         /* send buffer; HELLO (<= 764 B) fits */
#define ALOFT_NATIVE_INFLATE_CHUNK 1024u  /* decoded bytes per inflate call */

/* State bits (aloft_native_device_state). */
#define ALOFT_NATIVE_WANT_RX 0x01u    /* rx_buf has room: read from the socket */
#define ALOFT_NATIVE_HAS_TX 0x02u     /* tx_buf has bytes to send */
#define ALOFT_NATIVE_WANT_STEP 0x04u  /* work pending: call step without waiting */
#define ALOFT_NATIVE_CLOSED 0x08u     /* session over: flush tx, then close */
#define ALOFT_NATIVE_REBOOT 0x10u     /* update activated: restart after closing */

/* The delta stage (docs/PROTOCOL.md §2.6, FORMATS.md §3): caller-owned,
 * shared by the connections like the inflate (only the one that owns the
 * update uses the decoder) and by the HTTP pull (aloft/pull.h), which
 * holds it for a patch as a connection's upload does. The first HELLO (or
 * pull) identifies the running image once (reads and hashes it, about as
 * long as the verify at the end of an update), unless the port did it
 * already while idle (aloft_native_device_identify); later ones reuse it
 * until the device restarts. Zero it once.
 * RAM: sizeof(aloft_native_delta_t) (test_native_delta prints it). */
typedef struct aloft_native_delta {
    union {
        aloft_delta_t dec;          /* a patch upload */
        aloft_image_t probe;        /* identifying the base, before any */
    } u;
    const aloft_flash_t *flash;
    aloft_update_t *update;
    uint32_t base_addr, base_size;  /* the running image (size 0: none valid) */
    uint8_t base_sha256[32];
    bool identified;                /* base_* hold the answer */
    bool pipe_err;                  /* the last error came from the pipeline */
    bool in_use;                    /* a patch upload (or pull) holds the decoder */
} aloft_native_delta_t;

typedef struct aloft_native_device_config {
    const aloft_device_t *dev;          /* dev->crypto->random is required (nonce) */
    aloft_update_t *update;             /* the pipeline, shared with other transports */
    /* The login verifier (aloft_native_derive); NULL = open device (HELLO
     * cap AUTH clear, no login; the MAC then guards against corruption
     * only). */
    const aloft_native_verifier_t *verifier;
    /* zlib decoder; NULL = no DEFLATE cap. Shared by the connections: only
     * the one that owns the update uses it. */
    const aloft_inflate_t *inflate;
    /* Delta stage; NULL (or no inflate) = no DELTA cap. */
    aloft_native_delta_t *delta;
    const char *name;                   /* device name for HELLO (first 32 bytes); may be NULL */
    const char *fs_label;               /* target 1 partition; NULL = first fs partition */
    uint32_t window;                    /* DATA bytes in flight; 0 = 32 KiB */
    uint32_t idle_timeout_ms;           /* silence that ends a session; 0 = 10 s */
    /* From HELLO until logged in (AUTH accepted; on an open device, an OFFER
     * accepted): the whole login, not a silence; 0 = 10 s. */
    uint32_t login_timeout_ms;
    /* Failed-login limiter, shared with every connection and with espota
     * (checked before any proof is looked at); NULL = none. */
    aloft_login_limiter_t *limiter;
    /* Serve without a password. Must be true when verifier is NULL, so a
     * device is never open by accident (init refuses otherwise). */
    bool open;
} aloft_native_device_config_t;

/* Internal; do not rely on the fields. */
typedef struct aloft_native_device {
    aloft_native_device_config_t cfg;
    uint32_t peer_ip;
    uint8_t phase;
    bool closed, reboot;
    int last_err;
    uint32_t now_ms, active_ms, ack_ms;
    uint32_t start_ms;                  /* HELLO queued: the login deadline counts from here */
    bool logged_in;                     /* AUTH accepted, or (open device) OFFER accepted */
    aloft_hash_ctx_t hello_hash;        /* SHA-256 of the HELLO payload, until AUTH */
    bool hello_live;                    /* hello_hash runs (finished at AUTH or at the end) */
    bool keyed;                         /* session key in use: frames carry a MAC */
    uint8_t key[ALOFT_NATIVE_KEY_LEN];
    uint32_t rx_seq, tx_seq;
    bool owner;                         /* this connection began the update */
    bool deflate, inflating, stream_end, erase_done, no_reboot;
    bool patching;                      /* DATA is a patch, decoded by cfg.delta */
    aloft_native_str_t version;         /* from the OFFER, for RESULT */
    uint32_t stream_pos;                /* stream bytes in DATA frames so far */
    uint32_t consumed, acked, acked_durable;
    bool pending;                       /* the DATA frame at rx[0] is not fully fed */
    size_t in_pos, in_end;              /* its bytes not yet consumed */
    size_t frame_len;                   /* length of the DATA frame at rx[0] */
    size_t rx_len, tx_off, tx_len;
    uint8_t rx[ALOFT_NATIVE_FRAME_MAX];
    uint8_t tx[ALOFT_NATIVE_TX_CAP];
    uint8_t out[ALOFT_NATIVE_INFLATE_CHUNK];
} aloft_native_device_t;

/* Start a session for a connection from peer_ip (IPv4, host byte order, or
 * any 32-bit key of the peer's address): draws the nonce and queues HELLO.
 * cfg is copied; everything it points to must outlive d. Returns 0 or
 * ALOFT_ERR_ARG (missing dev, update or random source); if the random
 * source fails, d starts CLOSED with an ERROR -85 to send. */
int aloft_native_device_init(aloft_native_device_t *d, const aloft_native_device_config_t *cfg,
                             uint32_t peer_ip, uint32_t now_ms);

/* Where to put received bytes: *len bytes of space (0 when full or
 * closed). Valid until the next call on d. */
uint8_t *aloft_native_device_rx_buf(aloft_native_device_t *d, size_t *len);

/* n bytes were written into rx_buf: handle the complete frames (at most one
 * piece of image data per call; the rest waits for step). */
void aloft_native_device_rx_ack(aloft_native_device_t *d, uint32_t now_ms, size_t n);

/* Bytes waiting to be sent: *len of them (0 if none). Valid until the next
 * call on d. */
const uint8_t *aloft_native_device_tx_buf(aloft_native_device_t *d, size_t *len);

/* n of the tx_buf bytes were sent. */
void aloft_native_device_tx_ack(aloft_native_device_t *d, size_t n);

/* Do one piece of pending work: the next frame or data piece, else one
 * erase-ahead unit of the update (so erasing overlaps the network), with
 * an ACK keepalive every ALOFT_NATIVE_KEEPALIVE_MS. Returns 1 if it did
 * something, 0 if there was nothing to do. */
int aloft_native_device_step(aloft_native_device_t *d, uint32_t now_ms);

/* Time passed: ends a session that heard nothing for the idle timeout
 * (ERROR -10, the update is abandoned with its durable prefix kept for a
 * resume), or that is not logged in by the login timeout (ERROR -10,
 * where "login"). now_ms may wrap. */
void aloft_native_device_tick(aloft_native_device_t *d, uint32_t now_ms);

/* The port needs d's connection for a newer one (aloft_native_admit chose
 * it): queue ERROR -87 and end the session. The port sends what it can at
 * once and closes the socket without waiting. */
void aloft_native_device_evict(aloft_native_device_t *d, uint32_t now_ms);

/* Admission, for a port that serves a fixed number of connections: where a
 * new connection from peer goes. conn[i] is the engine of slot i, NULL if
 * the slot is free. Returns a free slot; else the slot of a session that
 * is over (CLOSED, still flushing), else that of the oldest connection not
 * logged in that the newcomer may displace (evict it, then init the new
 * engine there); else -1 (close the new connection). A newcomer that is
 * not known to the limiter (aloft_login_known) displaces only connections
 * of peers that are not known either, so connections that never log in
 * cannot keep out a logged-in session nor a host that logged in before. */
int aloft_native_admit(aloft_native_device_t *const conn[], size_t n,
                       const aloft_login_limiter_t *limiter, uint32_t peer, uint32_t now_ms);

/* The peer closed the connection (or it broke): abandon an unfinished
 * update; a finished one still reboots (REBOOT stays set). */
void aloft_native_device_peer_closed(aloft_native_device_t *d, uint32_t now_ms);

/* ALOFT_NATIVE_* state bits. */
unsigned aloft_native_device_state(const aloft_native_device_t *d);

/* Why the session ended: 0 (success or still running) or the error code
 * (ALOFT_ERR_AUTH for a wrong password, ALOFT_ERR_INTEGRITY for a frame
 * that failed its MAC or, after the login, has a header no host sends, ...). */
int aloft_native_device_last_error(const aloft_native_device_t *d);

/* The HELLO's slot list (running_slot, nslots, slots): each OTA slot's
 * label, size, otadata state and, cheaply (one small read, no verify), the
 * project and version at its start. Shared with the web API's info. */
void aloft_native_describe_slots(const aloft_device_t *dev, aloft_native_hello_t *h);

/* Identify the running image for the delta stage now (a read and a hash
 * of it), as the first HELLO would otherwise: a port calls this while
 * idle after a restart, so that an upload does not wait for it. Once per
 * restart (a no-op while dl->identified, or while a patch upload holds
 * the decoder). */
void aloft_native_device_identify(aloft_native_delta_t *dl, const aloft_device_t *dev);

#endif /* ALOFT_NATIVE_DEVICE_H */
