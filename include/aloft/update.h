/*
 * aloft/update.h — the update pipeline every transport feeds (espota, the
 * native protocol, later HTTP pull and web upload):
 *
 *   aloft_update_begin(metadata) -> aloft_update_feed(bytes)...
 *                                -> aloft_update_finish() | aloft_update_abort()
 *
 * begin() decides before any flash is touched: target partition exists, the
 * declared size fits it, the running image is confirmed. feed() checks the
 * image header, chip and app description from the first bytes (before the
 * first erase), hashes, and streams into the inactive slot with erase-ahead.
 * finish() checks the announced SHA-256/MD5, re-reads the slot from flash and
 * verifies the whole image as the bootloader will, writes the image's first
 * page, and activates the slot through otadata. Until that last step the
 * running firmware and otadata are untouched: any error and abort() leave
 * the device exactly as it was (the inactive slot holds no bootable header).
 *
 * Quiesce hooks are paused when begin() accepts and resumed on every way
 * out: finish (ok or not), any error in feed, abort.
 *
 * Errors are sticky: after a failure every call returns ALOFT_ERR_FAILED
 * until the next begin(); aloft_update_diag() tells what went wrong with the
 * numbers.
 */
#ifndef ALOFT_UPDATE_H
#define ALOFT_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"
#include "aloft/port/flash.h"
#include "aloft/port/crypto.h"
#include "aloft/wire/image.h"
#include "aloft/wire/otadata.h"
#include "aloft/wire/ptable.h"
#include "aloft/quiesce.h"
#include "aloft/wire/signature.h"
#include "aloft/internal/writer.h"

typedef enum aloft_target {
    ALOFT_TARGET_APP = 0,   /* app image into the next OTA slot */
    ALOFT_TARGET_FS = 1,    /* raw filesystem image into a data partition */
} aloft_target_t;

/* What the device is; shared by every update. Zero-initialise, then fill. */
typedef struct aloft_device {
    const aloft_flash_t *flash;
    const aloft_crypto_t *crypto;   /* sha256 required, md5 optional */
    const aloft_ptable_t *ptable;
    uint16_t chip_id;               /* enum aloft_chip of this device */
    int running_slot;               /* OTA slot index booted from */
    bool rollback;                  /* new images start NEW (else UNDEFINED) */
    aloft_quiesce_t *quiesce;       /* may be NULL */
    /* Provisioned signing keys; with nkeys > 0 only images signed by one of
     * them are activated (rotation: any of the list). */
    const aloft_pubkey_t *keys;
    size_t nkeys;
    /* The running image's app description, for the project and
     * secure_version (anti-downgrade) checks of signed images; may be NULL. */
    const aloft_app_desc_t *running_desc;
    /* Called after every accepted piece; may be NULL. */
    void (*progress)(void *ctx, uint32_t done, uint32_t total);
    void *progress_ctx;
} aloft_device_t;

/* Where a filesystem image goes while it arrives (docs/PROTOCOL.md 4.5).
 * Staged images are checked, then copied into the filesystem under a
 * journal that the next boot finishes (aloft_update_recover_fs). */
typedef enum aloft_fs_stage {
    /* The fs_stage partition, else a free inactive app slot, else in
     * place: for transports that cannot ask (espota, native), and for a
     * user who confirmed writing in place. */
    ALOFT_FS_STAGE_AUTO = 0,
    /* The same, but refuse with ALOFT_ERR_IN_PLACE rather than write in
     * place or erase the previous firmware: the client asks its user. */
    ALOFT_FS_STAGE_ASK,
    /* As ASK, and the inactive slot may be used even when it holds the
     * previous firmware (the user gave up the rollback image). */
    ALOFT_FS_STAGE_SLOT,
} aloft_fs_stage_t;

/* The transport's announcement. */
typedef struct aloft_update_req {
    aloft_target_t target;
    uint32_t size;              /* exact bytes that will be fed */
    const uint8_t *sha256;      /* expected SHA-256 (32 B) or NULL */
    const uint8_t *md5;         /* expected MD5 (16 B) or NULL */
    const char *fs_label;       /* ALOFT_TARGET_FS: partition label, NULL = first fs */
    aloft_fs_stage_t fs_stage;  /* ALOFT_TARGET_FS: where it may be staged */
    /* A signature block sent ahead of the data (native protocol, web):
     * checked in begin, before anything is erased. NULL otherwise; then a
     * block may trail the image inside the size bytes (espota) and is
     * checked in finish, before activation (a filesystem image: before the
     * copy, the block is not copied; with keys it must be staged, so one
     * that could only be written in place is refused ALOFT_ERR_IN_PLACE).
     * Filesystem blocks have target 1; a device with keys requires one. */
    const uint8_t *sig_block;
    size_t sig_block_len;
    /* The size bytes are the image and nothing else (no trailing block):
     * lets a device that requires signatures refuse an unsigned image in
     * begin. */
    bool image_only;
    /* Continue an interrupted transfer of the same image (same target, size
     * and sha256, which is then required) from its durable prefix, if the
     * slot's journal holds one; else start from 0. See aloft_update_offset. */
    bool resume;
} aloft_update_req_t;

/* An interrupted transfer the device can continue (from the journal in the
 * last sector of the target slot; see docs/PROTOCOL.md §2.7). */
typedef struct aloft_update_resume {
    aloft_target_t target;
    uint32_t size;
    uint8_t sha256[ALOFT_SHA256_LEN];
    uint32_t offset;            /* image bytes durable in flash */
} aloft_update_resume_t;

typedef enum aloft_update_state {
    ALOFT_UPDATE_IDLE = 0,
    ALOFT_UPDATE_RECEIVING,
    ALOFT_UPDATE_DONE,
    ALOFT_UPDATE_FAILED,
} aloft_update_state_t;

/* Internal; do not rely on the fields. About 3 KiB; may be static. */
typedef struct aloft_update {
    const aloft_device_t *dev;
    aloft_target_t target;
    uint8_t state;
    const aloft_part_t *part;       /* partition being written (the staging area) */
    const aloft_part_t *fs;         /* the filesystem a staged image is for, else NULL */
    int slot;                       /* its OTA slot index (app) */
    uint32_t size, received;
    bool has_sha256, has_md5;
    uint8_t want_sha256[ALOFT_SHA256_LEN];
    uint8_t want_md5[ALOFT_MD5_LEN];
    aloft_hash_ctx_t sha256, md5;   /* of the bytes as fed */
    uint8_t live;                   /* which of sha256/md5/image run (finished on every way out) */
    aloft_image_t image;            /* streaming check, then flash verify */
    aloft_writer_t writer;
    aloft_otadata_t otadata;
    aloft_diag_t diag;
    uint32_t offset;                /* where feeding started (resume point) */
    bool activated;                 /* otadata switched: only a reboot may follow */
    uint8_t trailer[ALOFT_SIG_BLOCK_MAX];   /* bytes after the image (a signature block) */
    uint32_t trailer_len;
    uint8_t sig_block[ALOFT_SIG_BLOCK_MAX]; /* the block announced in begin */
    uint32_t sig_block_len;
    uint32_t journal;               /* flash address of the journal sector, 0 = none */
    uint32_t marked;                /* durable offset last written to the journal */
    uint32_t stale_journal;         /* another transfer's journal, closed at our first write */
} aloft_update_t;

/* Accept or refuse an update. On success the target is chosen and quiesce
 * hooks are paused; no flash was erased or written. Refusals (each with
 * numbers in the diag): ALOFT_ERR_BUSY (an update is receiving, or one was
 * activated and the device has not rebooted yet: RAM, and so u, starts
 * zeroed after a reboot),
 * ALOFT_ERR_SIZE, ALOFT_ERR_TOO_LARGE, ALOFT_ERR_NO_SLOT, ALOFT_ERR_SAME_SLOT,
 * ALOFT_ERR_NO_OTADATA, ALOFT_ERR_PENDING (running image unconfirmed),
 * ALOFT_ERR_IN_PLACE (a filesystem image that could only be written in
 * place or over the previous firmware, and fs_stage did not allow it), a
 * signature refusal (ALOFT_ERR_UNSIGNED, _SIGNATURE, _UNKNOWN_KEY,
 * _DOWNGRADE, _PROJECT, _SIGNED_MISMATCH, _IMG_CHIP), or a flash error
 * reading otadata. Returns 0 or one of those codes. */
int aloft_update_begin(aloft_update_t *u, const aloft_device_t *dev,
                       const aloft_update_req_t *req);

/* The image offset the next aloft_update_feed() byte belongs to right after
 * begin: 0, or the resume point. */
uint32_t aloft_update_offset(const aloft_update_t *u);

/* Image bytes programmed to flash and recorded in the journal, i.e. what a
 * resume after a power cut keeps (a multiple of 64 KiB, or everything once
 * finished). */
uint32_t aloft_update_durable(const aloft_update_t *u);

/* Whether the inactive app slot (as begin would choose it for target)
 * holds a resumable transfer; fills *r. Reads flash only. Returns 1 if so,
 * 0 if not, or a negative error code. */
int aloft_update_find_resume(const aloft_device_t *dev, aloft_target_t target,
                             aloft_update_resume_t *r);

/* Take the next n bytes. Returns 0, or the first failure (image defect,
 * wrong chip, ALOFT_ERR_OVERFLOW, flash error); a failure ends the session
 * (quiesce resumed, nothing activated). The first bytes that reach the
 * writer (or the first erase-ahead) close a resume journal the slot holds
 * for another transfer, so it can never vouch for bytes this one
 * overwrote. */
int aloft_update_feed(aloft_update_t *u, const void *data, size_t n);

/* Let the writer erase ahead while the transport waits for data (one erase
 * unit per call). Returns 1 if it erased, 0 if nothing was left, or a
 * negative error (which fails the session). */
int aloft_update_erase_ahead(aloft_update_t *u);

/* Verify everything and activate. Returns 0 when the new image will boot
 * next (app) or the partition holds the new data (fs); else the failure,
 * with the running firmware and otadata untouched. Quiesce is resumed. */
int aloft_update_finish(aloft_update_t *u);

/* Abandon the session, recording why: ALOFT_ERR_ABORTED (user),
 * ALOFT_ERR_TIMEOUT, ALOFT_ERR_CLOSED, ALOFT_ERR_CONNECT (transport). Safe
 * in any state (no-op unless receiving); resumes quiesce; the running
 * firmware and otadata are untouched. */
void aloft_update_abort(aloft_update_t *u, int why);

/* The same, with the transport's own numbers in the diag (the HTTP pull's
 * status or Content-Range), so whoever reports the pipeline's diag gives
 * them. */
void aloft_update_abort_diag(aloft_update_t *u, const aloft_diag_t *why);

/* Roll back: make the other OTA slot boot next, without any download, if
 * it holds a complete, verified image for this chip (ESP-IDF's
 * esp_ota_set_boot_partition with the previous slot; it is marked VALID,
 * as it ran before). u is used as scratch and ends DONE with
 * aloft_update_partition() = that slot; the caller reboots. Returns 0,
 * ALOFT_ERR_BUSY (an update is receiving), ALOFT_ERR_NO_BOOTABLE (nothing
 * to go back to; diag says why), or a flash error. */
int aloft_update_rollback(aloft_update_t *u, const aloft_device_t *dev);

/* Current state, and the details of the last failure (err 0 if none). */
aloft_update_state_t aloft_update_state(const aloft_update_t *u);
const aloft_diag_t *aloft_update_diag(const aloft_update_t *u);

/* The partition the update is for (the app slot, the filesystem), or NULL
 * before begin. */
const aloft_part_t *aloft_update_partition(const aloft_update_t *u);

/* Where its bytes are written: the staging area of a staged filesystem
 * image (the fs_stage partition or an app slot), else the partition. */
const aloft_part_t *aloft_update_staging(const aloft_update_t *u);

/* Finish a staged filesystem copy a power cut interrupted. Call at every
 * boot before the application mounts a filesystem or starts a transport.
 * u is scratch (as for rollback); afterwards aloft_update_partition(u) is
 * the filesystem and aloft_update_offset(u) the byte the copy went on
 * from. Returns 1 if it finished a copy, 0 if none was pending, or an
 * error (flash; ALOFT_ERR_READBACK if the copy does not read back). */
int aloft_update_recover_fs(aloft_update_t *u, const aloft_device_t *dev);

/* What the streaming parser learned from the first bytes (app target). */
const aloft_image_info_t *aloft_update_image_info(const aloft_update_t *u);

#endif /* ALOFT_UPDATE_H */
