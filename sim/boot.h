/*
 * sim/boot.h — the ESP32 boot decision, as the ESP-IDF second-stage
 * bootloader makes it, so the simulator (and the power-cut tests) boot
 * exactly what a real device would:
 *
 *   partition table at 0x8000 -> otadata rollback step -> selected slot ->
 *   full image verification -> on failure, the other slots in IDF's order
 *   (downwards from the selected one, then upwards).
 *
 * With blank otadata the first OTA slot boots and entry 0 is written as
 * {seq = slot + 1, VALID} (IDF's set_actual_ota_seq).
 */
#ifndef ALOFT_BOOT_H
#define ALOFT_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/error.h"
#include "aloft/port/flash.h"
#include "aloft/port/crypto.h"
#include "aloft/wire/image.h"
#include "aloft/wire/otadata.h"
#include "aloft/wire/ptable.h"

/* Internal scratch and results; allocate statically or on a big stack. */
typedef struct aloft_boot {
    uint8_t table[ALOFT_PT_LEN];  /* raw partition table */
    aloft_ptable_t pt;
    aloft_otadata_t od;
    int slot;             /* booted OTA slot index, -1 if none */
    int selected;         /* slot otadata selected (before fallback) */
    bool fell_back;       /* selected slot did not verify, another booted */
    bool rolled_back;     /* an unconfirmed (PENDING_VERIFY) image was abandoned */
    uint32_t state;       /* otadata state of the booted slot (UNDEFINED if none) */
    aloft_image_info_t info;  /* of the booted image */
    aloft_image_t scratch;
    aloft_diag_t diag;    /* why the selected slot failed, if fell_back */
} aloft_boot_t;

/* Boot: read and check the partition table, apply the rollback step when
 * rollback is true, pick and verify a slot for chip_id. Returns 0 with
 * b->slot set, or ALOFT_ERR_NO_BOOTABLE / a table or flash error. */
int aloft_boot(aloft_boot_t *b, const aloft_flash_t *flash,
               const aloft_crypto_t *crypto, uint16_t chip_id, bool rollback);

/* Verify the image in slot for chip_id; info receives what it holds.
 * Returns 0 if bootable, else the defect's code. */
int aloft_boot_verify_slot(aloft_boot_t *b, const aloft_flash_t *flash,
                           const aloft_crypto_t *crypto, uint16_t chip_id,
                           int slot, aloft_image_info_t *info);

#endif /* ALOFT_BOOT_H */
