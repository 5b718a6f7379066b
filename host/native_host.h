/*
 * host/native_host.h — the host side of the aloft native protocol
 * (docs/PROTOCOL.md §2): upload an image to an aloft device, or read what
 * it says about itself.
 *
 * One upload, as seen from here:
 *  1. connect to DEVICE (TCP, default port 3232) within connect_timeout_ms;
 *     only a refused connection means the device has no native server
 *     (r->no_listener: espota may still work); a device that accepts and
 *     then is busy, silent or says something else is not one to downgrade;
 *  2. HELLO within hello_timeout_ms: magic and version checked (another
 *     version is an error that says so, not a garbled session);
 *  3. login when the device wants one (cap AUTH): keys from the password
 *     with the HELLO's salt and iterations, AUTH with a fresh nonce, and
 *     AUTH_OK's signature checked, so a device that cannot prove it knows
 *     the password gets nothing; without cap AUTH the session key comes
 *     from a zero client key (corruption is caught, not an attacker) and
 *     the caller is told (NATIVE_EV_OPEN_DEVICE / NATIVE_EV_PASSWORD_UNUSED);
 *  4. OFFER (target, size, SHA-256, encoding, project/version/secure
 *     version, and the signature block of a signed file, so that the
 *     device checks it before erasing anything), ACCEPT at an offset (a
 *     resume) or ERROR (a refusal, explained with aloft_diag_format's
 *     words);
 *  5. DATA frames of the stream from that offset (native_stream.h), at
 *     most `window` bytes unconsumed, ACKs within timeout_ms while data is
 *     outstanding; END; RESULT or ERROR within result_timeout_ms.
 * Every frame after the login carries a MAC (seq per direction).
 *
 * A connection that drops or goes silent once the device has ACCEPTed is
 * reconnected with backoff (1, 2, 4 ... 30 s), the same image OFFERed
 * again and the upload continued from the device's new ACCEPT offset; up
 * to `retries` reconnects in a row that make no progress. A device that
 * answers the first OFFER with "busy" while its HELLO shows a resumable
 * transfer of this very image is still holding an earlier, dead
 * connection of it (a killed host, a link it has not seen die): that is
 * waited for the same way, NATIVE_HOST_BUSY_RETRIES times.
 *
 * The protocol is the host engine's (aloft/native_host.h, lib/); this is
 * its socket loop and the reconnect policy. Blocking (poll-based).
 * Nothing is printed: the caller hears through on_event and on_progress.
 */
#ifndef ALOFT_HOST_NATIVE_HOST_H
#define ALOFT_HOST_NATIVE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/native_host.h"
#include "aloft/wire/native.h"
#include "host_error.h"

/* The protocol's timeouts are the engine's (ALOFT_NATIVE_HOST_*_MS). */
#define NATIVE_HOST_CONNECT_MS 5000u     /* TCP connect */
#define NATIVE_HOST_RETRIES 6u           /* reconnects in a row without progress */
#define NATIVE_HOST_BUSY_RETRIES 4u      /* waits (1+2+4+8 s) for a device still busy with an
                                            earlier, dead connection of this upload: longer
                                            than its 10 s idle timeout */
#define NATIVE_HOST_BACKOFF_MAX_S 30u
#define NATIVE_HOST_PATCH_REDIAL_MS 1000u   /* make_patch took longer: a new connection, so
                                               the device's 10 s login deadline starts anew */

/* Who to talk to, and how patiently (0 = the defaults above). */
typedef struct native_peer {
    const char *device;          /* "host" or "host:port" (name or IPv4) */
    uint16_t default_port;       /* when device has none; 0 = 3232 */
    const char *password;        /* NULL or "" = none */
    uint32_t connect_timeout_ms;
    uint32_t hello_timeout_ms;
    uint32_t timeout_ms;
} native_peer_t;

typedef enum native_event_kind {
    NATIVE_EV_CONNECTED,         /* text: "ip:port" */
    NATIVE_EV_HELLO,             /* hello: what the device said */
    NATIVE_EV_OPEN_DEVICE,       /* no password on the device: anyone may update it */
    NATIVE_EV_PASSWORD_UNUSED,   /* a password was given, the device has none */
    NATIVE_EV_AUTH_OK,           /* logged in; the device proved it knows the password */
    NATIVE_EV_NO_DEFLATE,        /* text: why the stream is not compressed */
    NATIVE_EV_NO_PATCH,          /* text: why the full image goes instead of the patch */
    NATIVE_EV_ACCEPTED,          /* offset: image bytes the device already holds (first session) */
    NATIVE_EV_LOST,              /* text: why; offset: image bytes confirmed; delay_s, attempt */
    NATIVE_EV_RESUMED,           /* offset: where the device continues after a reconnect */
    NATIVE_EV_SENT_ALL,          /* END sent; waiting for the result */
} native_event_kind_t;

typedef struct native_event {
    native_event_kind_t kind;
    const char *text;            /* "" when none */
    uint64_t offset, total;      /* image bytes */
    unsigned delay_s;            /* LOST: seconds until the next attempt */
    unsigned attempt, attempts;  /* LOST: this reconnect, of at most */
    bool reconnect_failed;       /* LOST: an attempt to reconnect failed (not the transfer) */
    bool busy_with_us;           /* LOST: the device is still busy with an earlier
                                    connection of this upload (offset: what it holds) */
    const aloft_native_hello_t *hello;
} native_event_t;

typedef struct native_upload {
    native_peer_t peer;
    bool fs;                     /* filesystem image (target 1) */
    bool no_reboot;              /* OFFER flag NO_REBOOT */
    bool no_compress;            /* raw even if the device inflates */
    uint32_t window;             /* cap on the device's window; 0 = none (see
                                    aloft_native_host_config_t.window) */
    unsigned retries;            /* 0 = NATIVE_HOST_RETRIES */
    uint32_t result_timeout_ms;  /* 0 = ALOFT_NATIVE_HOST_RESULT_MS */
    const uint8_t *data;         /* the image, size bytes (1 .. 2^32-1), without a
                                    signature block */
    size_t size;
    /* A signed file's signature block (aloft_sig_trailer_len bytes cut off
     * its end), sent in the OFFER; NULL / 0 for an unsigned image. */
    const uint8_t *sig_block;
    size_t sig_block_len;
    /* A delta patch of the running image into this one (FORMATS.md §3),
     * sent instead when the device takes it (else NATIVE_EV_NO_PATCH and
     * the full image); NULL = none. */
    const uint8_t *patch;
    size_t patch_len;
    /* Or, when patch is NULL, a patch made by this, once, as soon as the
     * first connection is up: it runs while the HELLO is on its way, so
     * that its time and the round trip overlap (when it takes longer than
     * NATIVE_HOST_PATCH_REDIAL_MS, that connection is dropped for a new
     * one). It sets *patch (NULL: none) and *patch_len; what it points to
     * must outlive the upload. */
    void (*make_patch)(void *patch_ctx, const uint8_t **patch, size_t *patch_len);
    void *patch_ctx;
    const char *project;         /* from the app description, or NULL */
    const char *version;
    uint32_t secure_version;
    /* Optional callbacks; ctx is passed back. done is in image bytes
     * (absolute: a resumed upload starts above 0). */
    void (*on_progress)(void *ctx, uint64_t done, uint64_t total);
    void (*on_event)(void *ctx, const native_event_t *ev);
    void *ctx;
} native_upload_t;

typedef struct native_result {
    bool ok;
    bool no_listener;            /* the connection was refused: no native server there */
    host_error_t error;          /* code 0 on success */
    char device_text[40];        /* the device's own words in its ERROR, or "" */
    char device_addr[64];        /* "ip:port" */
    bool authenticated;          /* logged in with the password (mutually) */
    bool compressed;             /* the stream was deflated */
    bool patched;                /* the stream was the patch */
    uint32_t resumed_from;       /* image offset the first session started at */
    uint64_t bytes;              /* image bytes this upload delivered (size - resumed_from) */
    uint64_t wire_bytes;         /* bytes of every frame sent, all sessions */
    unsigned reconnects;
    double seconds;              /* first ACCEPT to RESULT */
    double rate_kib_s;           /* image bytes per second */
    uint8_t slot;                /* RESULT: the slot activated */
    char slot_label[ALOFT_NATIVE_STR_MAX + 1];   /* its label in the HELLO, or "" */
    char version[ALOFT_NATIVE_STR_MAX + 1];
    bool reboot;                 /* RESULT: the device restarts now */
} native_result_t;

/* Upload u->data to u->peer.device. Fills r (always). Returns 0 on
 * success (RESULT), else r->error.code, a negative aloft_err_t. */
int native_upload(const native_upload_t *u, native_result_t *r);

typedef struct native_info {
    bool ok;
    host_error_t error;
    char device_addr[64];
    aloft_native_hello_t hello;  /* valid when ok */
    bool authenticated;          /* a password was given and the login succeeded */
} native_info_t;

/* Connect to p->device, read its HELLO and, if a password is given and the
 * device wants one, log in (which also proves the HELLO came from the
 * device); then close. Fills info (always). Returns 0 or info->error.code. */
int native_info(const native_peer_t *p, native_info_t *info);

/* What `aloft rollback` asked and heard. */
typedef struct native_rollback_result {
    bool ok;
    bool not_native;             /* refused, silent, or not an aloft device */
    host_error_t error;          /* code 0 on success */
    char device_text[40];        /* the device's own words in its ERROR, or "" */
    char device_addr[64];
    bool authenticated;
    bool open_device;            /* no password on the device */
    bool have_hello;
    aloft_native_hello_t hello;  /* the device before the rollback (when have_hello) */
    uint8_t slot;                /* RESULT: the slot that boots next */
    char slot_label[ALOFT_NATIVE_STR_MAX + 1];   /* its label in the HELLO, or "" */
    char project[ALOFT_NATIVE_STR_MAX + 1];      /* its project in the HELLO, or "" */
    char version[ALOFT_NATIVE_STR_MAX + 1];      /* RESULT: the version there */
    bool reboot;                 /* RESULT: the device restarts now */
} native_rollback_result_t;

/* Make the device boot the image in its other app slot (ROLLBACK: no
 * download; the device verifies that image first). Logs in like an upload
 * (a password is needed if the device has one). Refused here, before
 * anything is sent, when the HELLO shows the other slot's image never
 * confirmed itself (ABORTED) or was rejected (INVALID): going there is not
 * going back. Fills r (always). Returns 0 or r->error.code. */
int native_rollback(const native_peer_t *p, native_rollback_result_t *r);

/* ---- after the restart ------------------------------------------------ */

#define NATIVE_HOST_RESTART_MS 1000u   /* RESULT -> first look: well past the device's
                                          ~100 ms restart delay (PROTOCOL.md §2.6) */
#define NATIVE_HOST_BOOT_MS 60000u     /* how long the device may take to come back */
#define NATIVE_HOST_BOOT_RETRY_MS 250u /* between attempts while it is away */

/* What the device runs after the restart an upload or a rollback started. */
typedef struct native_boot_result {
    bool back;                   /* a HELLO from after the restart was read */
    aloft_native_boot_t outcome; /* when back: RUNNING, PREVIOUS or UNKNOWN */
    bool probation;              /* RUNNING, but not confirmed yet (NEW, PENDING_VERIFY) */
    bool have_hello;
    aloft_native_hello_t hello;  /* the last HELLO read (when have_hello) */
    unsigned attempts;           /* connections tried */
    double seconds;              /* from the call to the HELLO that told, or the deadline */
    host_error_t error;          /* not back: the last attempt's failure */
} native_boot_result_t;

/* Wait for the device at p->device to come back from its restart and
 * read what it runs: after NATIVE_HOST_RESTART_MS, connect and read the
 * HELLO (no login: p->password is not used) every NATIVE_HOST_BOOT_RETRY_MS
 * until one from after the restart tells about slot (the RESULT's), or
 * timeout_ms (0 = NATIVE_HOST_BOOT_MS) from the call ran out. Call it
 * right after the RESULT. Fills r (always). Returns 0 when back, else
 * ALOFT_ERR_TIMEOUT. */
int native_await_boot(const native_peer_t *p, uint8_t slot, uint32_t timeout_ms,
                      native_boot_result_t *r);

/* Explain an ERROR message from the device in e (message and hint from
 * aloft_diag_format, with what to do for login failures; the device's
 * text for codes this aloft does not know). during_login: it answered
 * AUTH. Returns e->code. */
int native_explain_error(host_error_t *e, const aloft_native_error_t *m, bool during_login);

/* Name of a HELLO capability set for people: "auth, deflate, resume". */
void native_caps_text(uint8_t caps, char *out, size_t n);

#endif /* ALOFT_HOST_NATIVE_HOST_H */
