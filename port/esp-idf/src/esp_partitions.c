/*
 * port/esp-idf/src/esp_partitions.c — the partition table as IDF read it at
 * boot (esp_partition_find), turned into the core's aloft_ptable_t. IDF has
 * already checked the table (and its MD5) against the flash; the core then
 * finds the OTA slots, otadata and filesystem partitions in it as it does on
 * the simulator. Only app and data partitions on the main flash count
 * (IDF 5.3+ also lists the bootloader and the table itself, and partitions
 * registered on external chips are not reachable through esp_flash.c's
 * absolute addresses).
 */
#include <string.h>

#include "esp_flash.h"
#include "esp_log.h"

#include "esp_port.h"

static const char *TAG = "aloft";

static int add(aesp_parts_t *ps, aloft_ptable_t *pt, const esp_partition_t *p)
{
    aloft_part_t *a;
    if (p->type != ESP_PARTITION_TYPE_APP && p->type != ESP_PARTITION_TYPE_DATA)
        return ALOFT_OK;
    if (p->flash_chip != esp_flash_default_chip)
        return ALOFT_OK;
    if (ps->n >= (int)ALOFT_PT_MAX_ENTRIES)
        return ALOFT_ERR_PT_TOO_MANY;
    a = &pt->parts[pt->count++];
    a->type = (uint8_t)p->type;
    a->subtype = (uint8_t)p->subtype;
    a->offset = p->address;
    a->size = p->size;
    a->flags = p->encrypted ? 1u : 0u;  /* the table's "encrypted" flag bit */
    memcpy(a->label, p->label, sizeof a->label);
    a->label[sizeof a->label - 1] = '\0';
    ps->p[ps->n++] = p;
    return ALOFT_OK;
}

int aesp_parts_load(aesp_parts_t *ps, aloft_ptable_t *pt)
{
    const aloft_part_t *slots[2];
    int err = ALOFT_OK;
    memset(ps, 0, sizeof *ps);
    memset(pt, 0, sizeof *pt);
    esp_partition_iterator_t it =
        esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL);
    /* esp_partition_next releases the iterator when it returns NULL. */
    for (; it != NULL && err == 0; it = esp_partition_next(it))
        err = add(ps, pt, esp_partition_get(it));
    if (it != NULL)
        esp_partition_iterator_release(it);
    if (err) {
        ESP_LOGE(TAG, "more than %u partitions: aloft keeps at most that many",
                 ALOFT_PT_MAX_ENTRIES);
        return err;
    }
    if (aloft_ptable_ota_slots(pt, slots, 2) < 2) {
        ESP_LOGE(TAG, "the partition table has no second OTA app slot (ota_0 and ota_1): "
                      "pick a scheme with two, e.g. default or min_spiffs");
        return ALOFT_ERR_NO_SLOT;
    }
    if (slots[0]->flags & 1u)
        ESP_LOGW(TAG, "the app slots are encrypted (flash encryption): not supported yet, "
                      "updates will fail (encrypted flash takes only 16-byte writes, "
                      "aloft's resume journal writes 4-byte fields)");
    if (aloft_ptable_find(pt, ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_OTA) == NULL) {
        ESP_LOGE(TAG, "the partition table has no otadata (data, ota) partition");
        return ALOFT_ERR_NO_OTADATA;
    }
    return ALOFT_OK;
}
