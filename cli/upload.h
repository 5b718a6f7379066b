/*
 * cli/upload.h — what `aloft upload` (cmd_upload.c) shares with
 * its protocol runners (the native one is upload_native.c): the command
 * line, the outcome every protocol reports, the progress display.
 */
#ifndef ALOFT_UPLOAD_H
#define ALOFT_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "boot_check.h"
#include "host_error.h"
#include "native_host.h"
#include "progress.h"

typedef struct upload_args {
    const char *protocol;       /* "auto", "native" or "espota" */
    const char *auth, *host_ip, *device, *file;
    const char *base;           /* --base: the running image's file, or a directory of them */
    uint32_t host_port, timeout_s, tries, retries, window;
    bool timeout_given;
    bool fs, md5_target, json, stop_and_wait;
    bool no_reboot, no_compress;
    boot_opts_t boot;           /* native: --boot-timeout, --no-wait */
    /* From the app description (empty for --fs and images without one). */
    const char *project, *version;
    uint32_t secure_version;
    /* A signed file: its signature block (the file's last sig_block_len
     * bytes). Native sends it in the OFFER and the image alone as DATA;
     * espota uploads the whole file unchanged. */
    const uint8_t *sig_block;
    size_t sig_block_len;
    char key_id[17];            /* of the block, hex */
} upload_args_t;

/* What every protocol reports back, for the summary and --json. */
typedef struct upload_outcome {
    bool ok;                    /* the device took the image and, when it was checked,
                                   restarted into it */
    bool activated;             /* the device took the image (RESULT, or espota's OK) */
    const char *protocol;       /* the one that ran: "native" | "espota" */
    bool fallback;              /* native was tried first and nothing listens */
    bool no_listener;           /* native: DEVICE refused the connection (no server) */
    host_error_t error;
    char device_text[256];
    const char *auth;           /* "none" | "md5" | "pbkdf2" | "scram-sha256" */
    bool weak_auth;             /* logged in with an MD5-based secret */
    uint64_t bytes;
    double seconds, rate_kib_s;
    char device[64];
    /* native only */
    uint64_t wire_bytes;
    uint32_t resumed_from;
    unsigned reconnects;
    bool compressed;
    bool patched;               /* a delta patch went instead of the image */
    char slot_label[40], new_version[40];
    uint8_t slot;               /* RESULT: the slot written */
    bool reboot;
    boot_check_t boot;          /* after the restart */
    bool caps_known;            /* the device's HELLO was heard */
    bool signatures_required;   /* HELLO cap SIGNED */
} upload_outcome_t;

typedef struct upload_ui {
    const upload_args_t *a;
    uint64_t total;             /* image bytes */
    uint64_t done;              /* image bytes confirmed so far (absolute) */
    progress_t progress;
    bool progress_on;
    bool line_open;             /* a status line on stdout awaits its end */
    bool err_line_open;         /* "reconnecting ..." on stderr awaits its end */
    bool said_hello, said_auth; /* once per upload, not per reconnect */
    bool caps_known;
    uint8_t caps;               /* the device's HELLO caps, once caps_known */
} upload_ui_t;

/* End an open status line on stdout (a progress bar or "inviting ..."). */
void upload_end_line(upload_ui_t *ui);

/* Start the progress display at done (a resume starts above 0). */
void upload_progress_start(upload_ui_t *ui, uint64_t done);

/* The native protocol (upload_native.c). data/len is the whole file; a
 * signature block at its end (a->sig_block_len) goes in the OFFER. */
void upload_native(const upload_args_t *a, const uint8_t *data, size_t len, upload_ui_t *ui,
                   upload_outcome_t *o);

/* --base (upload_base.c), in two steps so that the patch can be made
 * while the connection waits for the HELLO. load: the base, read from the
 * file, or from a directory the file of the image the device runs (one
 * extra connection asks), or none with one line saying why the full image
 * goes; CLI_OK, or CLI_FAIL when --base cannot be read (said on stderr).
 * make: the patch from it to img (len bytes, without its signature block,
 * kept by load) into b->patch, or NULL with one line saying why. end: free both. */
typedef struct upload_base {
    const upload_args_t *a;
    const uint8_t *img;
    size_t img_len;
    uint8_t *base;
    size_t base_len;
    char path[1024];
    uint8_t *patch;
    size_t patch_len;
} upload_base_t;

int upload_base_load(const upload_args_t *a, const native_peer_t *peer, const uint8_t *img,
                     size_t len, upload_base_t *b);
void upload_base_make(upload_base_t *b);
void upload_base_end(upload_base_t *b);

#endif /* ALOFT_UPLOAD_H */
