/*
 * port/esp-idf/src/esp_flash.c — the core's flash (absolute addresses) over
 * esp_partition_read / esp_partition_erase_range / esp_partition_write.
 *
 * Going through the partition API, not esp_flash_* on raw addresses, keeps
 * IDF's checks (bounds, flash encryption of encrypted partitions) in the
 * path: an address is first mapped to the partition that holds the whole
 * range, and one that no partition holds is refused. Erases come in the
 * unit the core asks for (a 4 KiB sector or a 64 KiB block); each one is
 * followed by esp_task_wdt_reset() so that a long run of erases does not
 * trip the task watchdog (harmless, ESP_ERR_NOT_FOUND, when the calling
 * task is not subscribed).
 */
#include "esp_log.h"
#include "esp_kconfig.h"
#ifdef CONFIG_ESP_TASK_WDT_EN   /* no task watchdog (nor its API) without it, or on Linux */
#include "esp_task_wdt.h"
#endif

#include "aloft/error.h"
#include "esp_port.h"

static const char *TAG = "aloft";

static const esp_partition_t *holder(const aloft_flash_t *f, uint32_t addr, size_t len,
                                     const char *op)
{
    const aesp_parts_t *ps = f->ctx;
    for (int i = 0; i < ps->n; i++) {
        const esp_partition_t *p = ps->p[i];
        if (addr >= p->address && addr - p->address <= p->size &&
            len <= p->size - (addr - p->address))
            return p;
    }
    ESP_LOGE(TAG, "flash %s of %u bytes at 0x%08x: not inside one partition, refused", op,
             (unsigned)len, (unsigned)addr);
    return NULL;
}

static int map_err(esp_err_t e)
{
    if (e == ESP_OK)
        return ALOFT_OK;
    return e == ESP_ERR_INVALID_ARG || e == ESP_ERR_INVALID_SIZE ? ALOFT_ERR_ALIGN
                                                                 : ALOFT_ERR_IO;
}

static int f_read(const aloft_flash_t *f, uint32_t addr, void *buf, size_t len)
{
    const esp_partition_t *p = holder(f, addr, len, "read");
    return p ? map_err(esp_partition_read(p, addr - p->address, buf, len)) : ALOFT_ERR_ALIGN;
}

static int f_erase(const aloft_flash_t *f, uint32_t addr, uint32_t len)
{
    const esp_partition_t *p = holder(f, addr, len, "erase");
    int err;
    if (p == NULL)
        return ALOFT_ERR_ALIGN;
    err = map_err(esp_partition_erase_range(p, addr - p->address, len));
#ifdef CONFIG_ESP_TASK_WDT_EN
    (void)esp_task_wdt_reset();
#endif
    return err;
}

static int f_prog(const aloft_flash_t *f, uint32_t addr, const void *buf, size_t len)
{
    const esp_partition_t *p = holder(f, addr, len, "write");
    return p ? map_err(esp_partition_write(p, addr - p->address, buf, len)) : ALOFT_ERR_ALIGN;
}

void aesp_flash_init(aloft_flash_t *f, const aesp_parts_t *ps)
{
    uint32_t end = 0;
    for (int i = 0; i < ps->n; i++) {
        uint32_t e = ps->p[i]->address + ps->p[i]->size;
        end = e > end ? e : end;
    }
    f->read = f_read;
    f->erase = f_erase;
    f->prog = f_prog;
    f->ctx = (void *)ps;
    f->size = end;              /* every address the port can reach */
    f->sector_size = AESP_SECTOR;
    f->block_size = AESP_BLOCK;
    f->page_size = AESP_PAGE;
}
