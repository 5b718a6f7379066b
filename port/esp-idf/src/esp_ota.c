/*
 * port/esp-idf/src/esp_ota.c — the boot state: which slot runs, and the
 * health verdict (confirm / reject). The only file of the component that
 * calls esp_ota_* (app_update is not built on IDF's Linux target).
 *
 * Who writes otadata: aloft's own otadata writer (lib/otadata.c), not
 * esp_ota_set_boot_partition / esp_ota_mark_app_*. The update pipeline
 * already activates slots through it over the port's flash (power-cut
 * tested on the simulator, where the same code and the bootloader model
 * agree), it keeps every decision in one place that the simulator and the
 * tests share, and it works where app_update does not exist. It writes the
 * bytes IDF would: confirm and reject below rewrite the active entry's
 * state (same seq, crc of the seq, seq_label kept, the entry's sector
 * erased and 32 bytes programmed), exactly as esp_ota_current_ota_is_workable
 * does for esp_ota_mark_app_valid_cancel_rollback and
 * esp_ota_mark_app_invalid_rollback. Only the running slot is asked of IDF,
 * because only the loaded image knows where it was loaded from (the
 * bootloader may have fallen back from the slot otadata names).
 */
#include "esp_log.h"
#include "esp_kconfig.h"
#if !defined(CONFIG_IDF_TARGET_LINUX)
#include "esp_ota_ops.h"
#endif

#include "esp_device.h"

static const char *TAG = "aloft";

int aesp_running_slot(const aloft_otadata_t *od)
{
#if defined(CONFIG_IDF_TARGET_LINUX)
    /* No bootloader and no app_update: the slot the boot state selects. */
    return aloft_otadata_selected(od, NULL);
#else
    const esp_partition_t *run = esp_ota_get_running_partition();
    for (int i = 0; run != NULL && i < od->nslots; i++)
        if (od->slots[i]->offset == run->address)
            return i;
    ESP_LOGE(TAG, "the app runs from '%s' at 0x%08x, not from an OTA slot: aloft updates "
                  "need an app in ota_0/ota_1",
             run ? run->label : "?", run ? (unsigned)run->address : 0u);
    return ALOFT_ERR_NO_SLOT;
#endif
}

uint32_t esp_device_running_state(esp_device_t *d)
{
    if (aloft_otadata_read(&d->otadata) != 0)
        return ALOFT_OTA_UNDEFINED;
    return aloft_otadata_slot_state(&d->otadata, d->dev.running_slot);
}

int esp_device_confirm(esp_device_t *d)
{
    int err = aloft_otadata_set_state(&d->otadata, ALOFT_OTA_VALID);
    if (err)
        ESP_LOGE(TAG, "confirm: %s", aloft_strerror(err));
    return err;
}

/* esp_ota_check_rollback_is_possible: the inactive entry is valid and the
 * slot it names holds an image that verifies (image_validate); IDF's
 * factory-partition case does not arise (aloft's tables have none). */
int esp_device_reject(esp_device_t *d)
{
    int slot, err = aloft_otadata_read(&d->otadata);
    if (err)
        return err;
    slot = aloft_otadata_fallback(&d->otadata);
    if (slot < 0) {
        ESP_LOGE(TAG, "reject: no other valid otadata entry, nothing to roll back to");
        return ALOFT_ERR_NO_BOOTABLE;
    }
    const aloft_part_t *p = d->otadata.slots[slot];
    err = aloft_image_verify_flash(&d->flash, p->offset, p->size, d->crypto.sha256,
                                   &d->scratch);
    if (err == 0 && aloft_image_info(&d->scratch)->chip_id != d->dev.chip_id)
        err = ALOFT_ERR_IMG_CHIP;
    if (err) {
        ESP_LOGE(TAG, "reject: '%s' holds no bootable image (%s), nothing to roll back to",
                 p->label, aloft_strerror(err));
        return ALOFT_ERR_NO_BOOTABLE;
    }
    err = aloft_otadata_set_state(&d->otadata, ALOFT_OTA_INVALID);
    if (err)
        ESP_LOGE(TAG, "reject: %s", aloft_strerror(err));
    return err;
}
