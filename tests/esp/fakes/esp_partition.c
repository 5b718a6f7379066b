/*
 * tests/esp/fakes/esp_partition.c — esp_partition_* over the NOR simulator:
 * the partition list comes from the binary table at 0x8000, as IDF loads it;
 * reads, writes and erases keep IDF's bounds and alignment rules (16-byte
 * writes on partitions flagged encrypted), and the NOR model's (programs
 * only clear bits; split at 256-byte pages as esp_flash_write does).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto_mbedtls.h"
#include "esp_flash.h"
#include "fake_esp.h"

esp_flash_t *esp_flash_default_chip; /* the fake's one chip: all partitions on it */
fake_partition_stats_t fake_partition_stats;

static nor_flash_t *nor;
static esp_partition_t parts[ALOFT_PT_MAX_ENTRIES];
static int nparts;

struct esp_partition_iterator_opaque_ {
    int next;                   /* index of the current match */
    esp_partition_type_t type;
    esp_partition_subtype_t subtype;
    const char *label;
};

int fake_partition_attach(nor_flash_t *n)
{
    uint8_t table[ALOFT_PT_LEN];
    aloft_ptable_t pt;
    int err = n->flash.read(&n->flash, ALOFT_PT_OFFSET, table, sizeof table);
    if (err == 0)
        err = aloft_ptable_parse(&pt, table, sizeof table, n->size, &aloft_mbedtls_md5, NULL);
    if (err)
        return err;
    memset(parts, 0, sizeof parts);
    for (int i = 0; i < pt.count; i++) {
        esp_partition_t *p = &parts[i];
        p->flash_chip = esp_flash_default_chip;
        p->type = (esp_partition_type_t)pt.parts[i].type;
        p->subtype = (esp_partition_subtype_t)pt.parts[i].subtype;
        p->address = pt.parts[i].offset;
        p->size = pt.parts[i].size;
        p->erase_size = 4096;
        memcpy(p->label, pt.parts[i].label, sizeof p->label);
        p->encrypted = (pt.parts[i].flags & 1u) != 0;   /* the table's "encrypted" flag */
    }
    nparts = pt.count;
    nor = n;
    memset(&fake_partition_stats, 0, sizeof fake_partition_stats);
    return 0;
}

void fake_partition_detach(void)
{
    nor = NULL;
    nparts = 0;
}

static bool matches(const struct esp_partition_iterator_opaque_ *it, const esp_partition_t *p)
{
    return (it->type == ESP_PARTITION_TYPE_ANY || p->type == it->type) &&
           (it->subtype == ESP_PARTITION_SUBTYPE_ANY || p->subtype == it->subtype) &&
           (it->label == NULL || strcmp(p->label, it->label) == 0);
}

/* Move to the first match at or after from; NULL (released) if none. */
static esp_partition_iterator_t seek(esp_partition_iterator_t it, int from)
{
    for (int i = from; i < nparts; i++) {
        if (matches(it, &parts[i])) {
            it->next = i;
            return it;
        }
    }
    free(it);
    return NULL;
}

esp_partition_iterator_t esp_partition_find(esp_partition_type_t type,
                                            esp_partition_subtype_t subtype, const char *label)
{
    esp_partition_iterator_t it = malloc(sizeof *it);
    if (it == NULL)
        return NULL;
    it->type = type;
    it->subtype = subtype;
    it->label = label;
    return seek(it, 0);
}

const esp_partition_t *esp_partition_find_first(esp_partition_type_t type,
                                                esp_partition_subtype_t subtype,
                                                const char *label)
{
    esp_partition_iterator_t it = esp_partition_find(type, subtype, label);
    const esp_partition_t *p = it ? esp_partition_get(it) : NULL;
    esp_partition_iterator_release(it);
    return p;
}

const esp_partition_t *esp_partition_get(esp_partition_iterator_t it)
{
    return &parts[it->next];
}

esp_partition_iterator_t esp_partition_next(esp_partition_iterator_t it)
{
    return seek(it, it->next + 1);
}

void esp_partition_iterator_release(esp_partition_iterator_t it)
{
    free(it);
}

static bool in_bounds(const esp_partition_t *p, size_t off, size_t size)
{
    bool ok = nor != NULL && p != NULL && off <= p->size && size <= p->size - off;
    if (!ok)
        fake_partition_stats.refused++;
    return ok;
}

esp_err_t esp_partition_read(const esp_partition_t *p, size_t off, void *dst, size_t size)
{
    if (dst == NULL || !in_bounds(p, off, size))
        return dst == NULL ? ESP_ERR_INVALID_ARG : ESP_ERR_INVALID_SIZE;
    fake_partition_stats.reads++;
    return nor->flash.read(&nor->flash, p->address + (uint32_t)off, dst, size) ? ESP_FAIL
                                                                                : ESP_OK;
}

esp_err_t esp_partition_write(const esp_partition_t *p, size_t off, const void *src,
                              size_t size)
{
    const uint8_t *s = src;
    if (src == NULL || !in_bounds(p, off, size))
        return src == NULL ? ESP_ERR_INVALID_ARG : ESP_ERR_INVALID_SIZE;
    /* Encrypted partitions take whole 16-byte blocks (esp_flash_write_encrypted);
     * the fake keeps the rule, not the cipher. */
    if (p->encrypted && (off % 16u != 0 || size % 16u != 0)) {
        fake_partition_stats.refused++;
        return off % 16u ? ESP_ERR_INVALID_ARG : ESP_ERR_INVALID_SIZE;
    }
    fake_partition_stats.writes++;
    uint32_t addr = p->address + (uint32_t)off;
    while (size > 0) {
        size_t n = 256u - (addr % 256u);
        n = n < size ? n : size;
        if (nor->flash.prog(&nor->flash, addr, s, n) != 0)
            return ESP_FAIL;
        addr += (uint32_t)n;
        s += n;
        size -= n;
    }
    return ESP_OK;
}

esp_err_t esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size)
{
    if (!in_bounds(p, off, size))
        return ESP_ERR_INVALID_SIZE;
    if (off % p->erase_size != 0 || size % p->erase_size != 0) {
        fake_partition_stats.refused++;
        return off % p->erase_size ? ESP_ERR_INVALID_ARG : ESP_ERR_INVALID_SIZE;
    }
    fake_partition_stats.erases++;
    fake_partition_stats.erase_bytes += (unsigned)size;
    uint32_t addr = p->address + (uint32_t)off, end = addr + (uint32_t)size;
    while (addr < end) {
        uint32_t n = addr % 65536u == 0 && end - addr >= 65536u ? 65536u : 4096u;
        if (nor->flash.erase(&nor->flash, addr, n) != 0)
            return ESP_FAIL;
        addr += n;
    }
    return ESP_OK;
}
