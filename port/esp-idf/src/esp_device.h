/*
 * port/esp-idf/src/esp_device.h — the device as the ESP-IDF port assembles
 * it from what IDF knows: the partition table IDF reads (esp_partition),
 * the boot state (otadata, the running slot), crypto and inflate. The task
 * (esp_task.c) serves the engines over it; the application API
 * (aloft_esp.h) is built on both.
 *
 * Internal to the component: the boundary between the device half
 * (esp_flash.c, esp_crypto.c, esp_inflate.c, esp_ota.c, esp_device.c) and
 * the serving half (esp_task.c, esp_app.c).
 */
#ifndef ALOFT_ESP_DEVICE_H
#define ALOFT_ESP_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/port/inflate.h"
#include "aloft/update.h"
#include "esp_port.h"

#define ESP_DEVICE_MAX_KEYS 4

typedef struct esp_device {
    aloft_flash_t flash;            /* absolute addresses, over esp_partition_* */
    aloft_crypto_t crypto;
    aloft_inflate_t inflate;        /* max_window_bits 0 (all zero) when the port has
                                     * none: give the engines NULL then */
    aesp_inflate_t inflate_state;   /* its dictionary and decoder */
    aesp_parts_t parts;             /* the IDF partitions behind flash */
    aloft_ptable_t ptable;          /* from the partitions IDF found */
    aloft_app_desc_t running_desc;
    aloft_image_t scratch;          /* image parser: running desc, reject's check */
    aloft_otadata_t otadata;
    aloft_pubkey_t keys[ESP_DEVICE_MAX_KEYS];
    aloft_quiesce_t quiesce;
    aloft_device_t dev;             /* what the engines and the pipeline use */
    aloft_update_t update;          /* the one pipeline session, shared by protocols */
    bool rolled_back;               /* this boot fell back from an unconfirmed image */
} esp_device_t;

/* Find the partitions and the running slot, read the running image's app
 * description (its header also gives dev.chip_id) and the boot state, and
 * fill d->dev (keys copied; quiesce = &d->quiesce, which the caller fills;
 * dev.rollback = CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE). d is zeroed
 * first. Returns 0, ALOFT_ERR_NO_SLOT (no second OTA slot, or the app does
 * not run from an OTA slot), ALOFT_ERR_NO_OTADATA, ALOFT_ERR_ARG (too many
 * keys), ALOFT_ERR_PT_TOO_MANY, an image error for a running image that
 * does not parse, or a flash error; each also logged (ESP_LOGE). */
int esp_device_open(esp_device_t *d, const aloft_pubkey_t *keys, size_t nkeys);

/* otadata state (ALOFT_OTA_*) of the running slot, re-read from flash;
 * ALOFT_OTA_UNDEFINED if no entry names it (or the read failed). */
uint32_t esp_device_running_state(esp_device_t *d);

/* Mark the running image VALID: the bytes
 * esp_ota_mark_app_valid_cancel_rollback writes (the active entry's
 * state; nothing written when it is VALID already). Returns 0,
 * ALOFT_ERR_STATE (no valid otadata entry: IDF's "running firmware is
 * factory") or a flash error. */
int esp_device_confirm(esp_device_t *d);

/* Mark it INVALID so the previous image boots next: the bytes
 * esp_ota_mark_app_invalid_rollback writes, after the same check (the
 * inactive otadata entry is valid and its slot holds an image that
 * verifies for this chip). The caller restarts. Returns 0,
 * ALOFT_ERR_NO_BOOTABLE (nothing to go back to; otadata untouched),
 * ALOFT_ERR_STATE or a flash error. */
int esp_device_reject(esp_device_t *d);

/* Restart the chip (esp_restart). Does not return on a device. */
void esp_device_restart(void);

#endif /* ALOFT_ESP_DEVICE_H */
