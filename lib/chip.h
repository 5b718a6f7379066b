/*
 * lib/chip.h — internal: what the image parser needs to know per chip.
 */
#ifndef ALOFT_CHIP_H
#define ALOFT_CHIP_H

#include <stdbool.h>
#include <stdint.h>

/* Smallest and largest MMU page an app description may declare (log2):
 * 8 KiB .. 256 KiB (ESP-IDF hal/mmu_types.h). */
#define ALOFT_MMU_PAGE_LOG2_MIN 13u
#define ALOFT_MMU_PAGE_LOG2_MAX 18u
#define ALOFT_MMU_PAGE_DEFAULT 0x10000u

typedef struct aloft_chip_map {
    uint16_t id;
    const char *name;          /* "ESP32-S3" */
    uint32_t irom_lo, irom_hi; /* flash-mapped instruction bus [lo, hi) */
    uint32_t drom_lo, drom_hi; /* flash-mapped data bus [lo, hi) */
    uint32_t ext_lo, ext_hi;   /* separate external-memory window, or 0, 0 */
    bool page_configurable;    /* MMU page size comes from the app desc */
} aloft_chip_map_t;

/* The entry for an ESP32-class chip id, or NULL (unknown, or ESP8266). */
const aloft_chip_map_t *aloft_chip_map(uint16_t chip_id);

/* True if load_addr lies in a window the cache maps from flash, i.e. the
 * segment is subject to the MMU page mapping rule. */
bool aloft_chip_maps_flash(const aloft_chip_map_t *c, uint32_t load_addr);

#endif /* ALOFT_CHIP_H */
