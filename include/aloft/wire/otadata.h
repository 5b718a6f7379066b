/*
 * aloft/wire/otadata.h — ESP-IDF otadata: which app slot boots, and the rollback
 * states, bit-compatible with the ESP-IDF bootloader and esp_ota_ops.
 *
 * The data/ota partition is two flash sectors; entry i (32 bytes) sits at the
 * start of sector i, the rest stays 0xFF:
 *   ota_seq u32 | seq_label[20] (0xFF) | ota_state u32 | crc u32
 * crc = CRC-32 of the 4 ota_seq bytes only, as the ROM's
 * crc32_le(0xFFFFFFFF, ...) computes it: reflected, poly 0xEDB88320, in
 * zlib's convention crc32(0xFFFFFFFF, seq, 4) (not crc32(0, ...)).
 *
 * Rules (ESP-IDF bootloader_utility.c / esp_ota_ops.c):
 *  - an entry is valid iff seq != 0xFFFFFFFF, crc matches, state is not
 *    INVALID or ABORTED; the valid entry with the larger seq is active;
 *  - the active entry selects slot (seq - 1) % nslots; with no valid entry
 *    the first OTA slot boots (factory partitions are not modelled);
 *  - activation writes the *inactive* entry (erase its sector, program 32
 *    bytes) with the smallest seq >= active seq that maps to the target
 *    slot, so a torn write leaves the old entry in charge; if the active
 *    entry already selects the slot, only its state is rewritten; with no
 *    valid entry, entry 0 gets seq = slot + 1;
 *  - at boot, with rollback enabled: every PENDING_VERIFY entry becomes
 *    ABORTED (the app never confirmed), then an active NEW entry becomes
 *    PENDING_VERIFY; the app later confirms (VALID) or rejects (INVALID).
 */
#ifndef ALOFT_WIRE_OTADATA_H
#define ALOFT_WIRE_OTADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"
#include "aloft/port/flash.h"
#include "aloft/wire/ptable.h"

#define ALOFT_OTADATA_ENTRY_LEN 32u
#define ALOFT_OTA_SLOTS_MAX 16u

/* esp_ota_img_states_t (frozen: on flash). States travel as uint32_t. */
typedef enum aloft_ota_state {
    ALOFT_OTA_NEW = 0x0,
    ALOFT_OTA_PENDING_VERIFY = 0x1,
    ALOFT_OTA_VALID = 0x2,
    ALOFT_OTA_INVALID = 0x3,
    ALOFT_OTA_ABORTED = 0x4,
} aloft_ota_state_t;
/* A macro, not an enumerator: ISO C limits enumerators to int. */
#define ALOFT_OTA_UNDEFINED 0xFFFFFFFFu

/* "PENDING_VERIFY" etc.; "UNKNOWN" for other values. */
const char *aloft_ota_state_name(uint32_t state);

typedef struct aloft_ota_entry {
    uint32_t seq;
    uint32_t state;
    uint32_t crc;
} aloft_ota_entry_t;

/* The CRC an entry with this seq must carry. */
uint32_t aloft_ota_entry_crc(uint32_t seq);

/* 32 bytes <-> entry. encode fills seq_label with 0xFF. */
void aloft_ota_entry_encode(const aloft_ota_entry_t *e, uint8_t out[32]);
void aloft_ota_entry_decode(aloft_ota_entry_t *e, const uint8_t in[32]);

/* Valid per the rule above. */
bool aloft_ota_entry_valid(const aloft_ota_entry_t *e);

/* Index (0 or 1) of the active entry, or -1 if neither is valid. Both valid
 * with equal seq: entry 0 (as bootloader_common_get_active_otadata). */
int aloft_otadata_active(const aloft_ota_entry_t e[2]);

/* Everything the core needs to reach otadata and the slots. slots point
 * into the aloft_ptable_t given to open, which must outlive this struct.
 * Like ESP-IDF, every call that writes re-reads both entries first, and a
 * write keeps the stored entry's other bytes (seq_label). */
typedef struct aloft_otadata {
    const aloft_flash_t *flash;
    uint32_t offset;          /* the data/ota partition */
    uint32_t sector_size;     /* distance between the two entries */
    const aloft_part_t *slots[ALOFT_OTA_SLOTS_MAX];
    int nslots;
    aloft_ota_entry_t e[2];   /* last read or written */
} aloft_otadata_t;

/* Bind to the otadata partition and OTA slots of pt and read both entries.
 * Returns 0, ALOFT_ERR_NO_OTADATA, ALOFT_ERR_NO_SLOT or a flash error. */
int aloft_otadata_open(aloft_otadata_t *od, const aloft_flash_t *flash,
                       const aloft_ptable_t *pt);

/* Re-read both entries from flash. Returns 0 or a flash error. */
int aloft_otadata_read(aloft_otadata_t *od);

/* The state of the newest CRC-valid entry that maps to slot (ABORTED and
 * INVALID included, so a user sees why a slot is skipped), or
 * ALOFT_OTA_UNDEFINED if no entry maps to it. */
uint32_t aloft_otadata_slot_state(const aloft_otadata_t *od, int slot);

/* Slot index the active entry selects, or 0 (first OTA slot) when none is
 * valid. *entry receives the active entry index or -1. */
int aloft_otadata_selected(const aloft_otadata_t *od, int *entry);

/* esp_ota_set_boot_partition: make slot boot next with the given state
 * (IDF writes ALOFT_OTA_NEW with rollback, ALOFT_OTA_UNDEFINED without).
 * Writes only the inactive entry (or, if the active entry already selects
 * slot, rewrites its state). Verifying the image in slot first is the
 * caller's job. Returns 0, ALOFT_ERR_ARG or a flash error. */
int aloft_otadata_activate(aloft_otadata_t *od, int slot, uint32_t state);

/* Rewrite the active entry's state (esp_ota_mark_app_valid_cancel_rollback
 * with VALID: no write if already VALID; esp_ota_mark_app_invalid_rollback
 * with INVALID: only if the other entry is valid, so there is something to
 * roll back to — that its slot holds a verified image is the caller's
 * check). Other states are ALOFT_ERR_ARG. Returns 0, ALOFT_ERR_ARG,
 * ALOFT_ERR_STATE if no entry is active, ALOFT_ERR_NO_BOOTABLE if INVALID
 * has nothing to fall back to, or a flash error. */
int aloft_otadata_set_state(aloft_otadata_t *od, uint32_t state);

/* The slot a rollback would go to: the one the inactive entry selects if
 * that entry is valid (esp_ota_check_rollback_is_possible, its otadata
 * half; that the slot holds a verified image for this chip is the
 * caller's check), else -1. Pure: uses the entries as last read. */
int aloft_otadata_fallback(const aloft_otadata_t *od);

/* Whether the app runs somewhere other than where the newest CRC-valid
 * entry points: the bootloader abandoned a newer image (ABORTED), the app
 * rejected it (INVALID and restarted), or it did not load. Pure: uses the
 * entries as last read; meant for right after boot (after an activation
 * and before the reboot it is true as well). */
bool aloft_otadata_rolled_back(const aloft_otadata_t *od, int running_slot);

/* The bootloader's otadata step with rollback enabled: PENDING_VERIFY ->
 * ABORTED for every entry, then an active NEW -> PENDING_VERIFY. Returns the
 * slot to boot (>= 0) or a negative error code. *aborted is set when an
 * unconfirmed image was abandoned (may be NULL). If the slot's image does
 * not load, the bootloader tries lower slots, then higher ones: that walk
 * is the caller's. */
int aloft_otadata_boot(aloft_otadata_t *od, bool *aborted);

/* The bootloader's set_actual_ota_seq: call right after aloft_otadata_boot
 * once the image in slot has loaded. If otadata was in its initial state
 * (both entries invalid, each blank or with a bad crc) entry 0 becomes
 * {slot + 1, VALID}; otherwise nothing is written. Returns 0,
 * ALOFT_ERR_ARG or a flash error. */
int aloft_otadata_booted(aloft_otadata_t *od, int slot);

#endif /* ALOFT_WIRE_OTADATA_H */
