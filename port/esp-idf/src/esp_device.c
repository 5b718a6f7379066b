/*
 * port/esp-idf/src/esp_device.c — the device assembled from the port's
 * pieces (esp_port.h): partitions -> flash -> otadata -> running slot ->
 * the running image's header and app description -> aloft_device_t.
 */
#include <string.h>

#include "esp_log.h"
#include "esp_system.h"

#include "esp_device.h"

static const char *TAG = "aloft";

/* Enough of the running image for its header, first segment header and
 * app description (0x20 + 0x100 bytes after the 24-byte header). */
#define DESC_SPAN 0x200u

/* Only the header and the app description are read here, never a digest,
 * and the parse is left unfinished: a hash that does nothing keeps IDF's
 * SHA out of it (an unfinished hardware SHA-256 context would keep the
 * ESP32's SHA engine locked, and on IDF 6.x leak its heap context). */
static void no_hash_init(aloft_hash_ctx_t *c)
{
    (void)c;
}

static void no_hash_update(aloft_hash_ctx_t *c, const void *data, size_t len)
{
    (void)c;
    (void)data;
    (void)len;
}

static void no_hash_finish(aloft_hash_ctx_t *c, uint8_t *digest)
{
    (void)c;
    memset(digest, 0, ALOFT_SHA256_LEN);
}

static const aloft_hash_alg_t no_hash = {
    0, ALOFT_SHA256_LEN, no_hash_init, no_hash_update, no_hash_finish,
};

static int read_running_image(esp_device_t *d, const aloft_part_t *p)
{
    uint8_t buf[128];
    const aloft_image_info_t *info = aloft_image_info(&d->scratch);
    int err = aloft_image_init(&d->scratch, &no_hash);
    for (uint32_t at = 0; err >= 0 && !info->have_desc && at < DESC_SPAN; at += sizeof buf) {
        err = d->flash.read(&d->flash, p->offset + at, buf, sizeof buf);
        if (err == 0)
            err = aloft_image_feed(&d->scratch, buf, sizeof buf);
    }
    if (err < 0 || !info->have_header) {
        err = err < 0 ? err : ALOFT_ERR_IMG_HEADER;
        ESP_LOGE(TAG, "the running image in '%s' does not parse: %s", p->label,
                 aloft_strerror(err));
        return err;
    }
    d->dev.chip_id = info->chip_id;
    if (info->has_desc) {
        d->running_desc = info->desc;
        d->dev.running_desc = &d->running_desc;
    }
    return ALOFT_OK;
}

int esp_device_open(esp_device_t *d, const aloft_pubkey_t *keys, size_t nkeys)
{
    int slot, err;
    memset(d, 0, sizeof *d);
    if (nkeys > ESP_DEVICE_MAX_KEYS || (nkeys > 0 && keys == NULL)) {
        ESP_LOGE(TAG, "%u signing keys given, at most %u", (unsigned)nkeys,
                 ESP_DEVICE_MAX_KEYS);
        return ALOFT_ERR_ARG;
    }
    aesp_crypto_init(&d->crypto);
    aesp_inflate_init(&d->inflate, &d->inflate_state);
    if ((err = aesp_parts_load(&d->parts, &d->ptable)) != 0)
        return err;
    aesp_flash_init(&d->flash, &d->parts);
    if ((err = aloft_otadata_open(&d->otadata, &d->flash, &d->ptable)) != 0) {
        ESP_LOGE(TAG, "otadata: %s", aloft_strerror(err));
        return err;
    }
    if ((slot = aesp_running_slot(&d->otadata)) < 0)
        return slot;
    d->dev.running_slot = slot;
    if ((err = read_running_image(d, d->otadata.slots[slot])) != 0)
        return err;
    d->rolled_back = aloft_otadata_rolled_back(&d->otadata, slot);
    if (nkeys > 0)
        memcpy(d->keys, keys, nkeys * sizeof *keys);
    d->dev.flash = &d->flash;
    d->dev.crypto = &d->crypto;
    d->dev.ptable = &d->ptable;
#if defined(CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE)
    d->dev.rollback = true;
#endif
    d->dev.quiesce = &d->quiesce;
    d->dev.keys = d->keys;
    d->dev.nkeys = nkeys;
    return ALOFT_OK;
}

void esp_device_restart(void)
{
    esp_restart();
}
