/*
 * lib/chip.c — chip ids, names and the flash-mapped address windows.
 *
 * The windows are SOC_IROM_LOW/HIGH, SOC_DROM_LOW/HIGH (and, on the P4,
 * SOC_EXTRAM_LOW/HIGH) from ESP-IDF components/soc/<chip>/include/soc/soc.h,
 * which esp_image_format.c should_map() uses to decide which segments must
 * obey the MMU page rule. The page size is configurable (and recorded in the
 * app description) on the chips where soc_caps.h sets
 * SOC_MMU_PAGE_SIZE_CONFIGURABLE.
 */
#include <stddef.h>

#include "aloft/wire/image.h"
#include "chip.h"

static const aloft_chip_map_t chips[] = {
    {ALOFT_CHIP_ESP32, "ESP32", 0x400D0000u, 0x40400000u, 0x3F400000u, 0x3F800000u, 0, 0, false},
    {ALOFT_CHIP_ESP32S2, "ESP32-S2", 0x40080000u, 0x40800000u, 0x3F000000u, 0x3FF80000u, 0, 0, false},
    {ALOFT_CHIP_ESP32C3, "ESP32-C3", 0x42000000u, 0x42800000u, 0x3C000000u, 0x3C800000u, 0, 0, false},
    {ALOFT_CHIP_ESP32S3, "ESP32-S3", 0x42000000u, 0x44000000u, 0x3C000000u, 0x3E000000u, 0, 0, false},
    {ALOFT_CHIP_ESP32C2, "ESP32-C2", 0x42000000u, 0x42400000u, 0x3C000000u, 0x3C400000u, 0, 0, true},
    /* C6, H2, C5, C61, P4: instruction and data buses share one window. */
    {ALOFT_CHIP_ESP32C6, "ESP32-C6", 0x42000000u, 0x43000000u, 0x42000000u, 0x43000000u, 0, 0, true},
    {ALOFT_CHIP_ESP32H2, "ESP32-H2", 0x42000000u, 0x43000000u, 0x42000000u, 0x43000000u, 0, 0, true},
    {ALOFT_CHIP_ESP32P4, "ESP32-P4", 0x40000000u, 0x44000000u, 0x40000000u, 0x44000000u,
     0x48000000u, 0x4C000000u, false},
    {ALOFT_CHIP_ESP32C5, "ESP32-C5", 0x42000000u, 0x44000000u, 0x42000000u, 0x44000000u, 0, 0, false},
    {ALOFT_CHIP_ESP32C61, "ESP32-C61", 0x42000000u, 0x44000000u, 0x42000000u, 0x44000000u, 0, 0, true},
};

#define NCHIPS (sizeof chips / sizeof chips[0])

const aloft_chip_map_t *aloft_chip_map(uint16_t chip_id)
{
    for (size_t i = 0; i < NCHIPS; i++)
        if (chips[i].id == chip_id)
            return &chips[i];
    return NULL;
}

static bool in(uint32_t a, uint32_t lo, uint32_t hi)
{
    return a >= lo && a < hi;
}

bool aloft_chip_maps_flash(const aloft_chip_map_t *c, uint32_t load_addr)
{
    return in(load_addr, c->irom_lo, c->irom_hi) ||
           in(load_addr, c->drom_lo, c->drom_hi) ||
           in(load_addr, c->ext_lo, c->ext_hi);
}

const char *aloft_chip_name(uint16_t chip_id)
{
    const aloft_chip_map_t *c = aloft_chip_map(chip_id);
    if (c != NULL)
        return c->name;
    return chip_id == ALOFT_CHIP_ESP8266 ? "ESP8266" : "unknown";
}

static char fold(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Compare ignoring case and '-'/'_' ("esp32s3" == "ESP32-S3"); the core
 * has no strcasecmp. */
static bool same_name(const char *a, const char *b)
{
    for (;;) {
        while (*a == '-' || *a == '_')
            a++;
        while (*b == '-' || *b == '_')
            b++;
        if (fold(*a) != fold(*b))
            return false;
        if (*a == '\0')
            return true;
        a++;
        b++;
    }
}

int aloft_chip_parse(const char *name, uint16_t *chip_id)
{
    if (name == NULL || chip_id == NULL)
        return ALOFT_ERR_ARG;
    for (size_t i = 0; i < NCHIPS; i++) {
        if (same_name(name, chips[i].name)) {
            *chip_id = chips[i].id;
            return ALOFT_OK;
        }
    }
    if (same_name(name, "ESP8266")) {
        *chip_id = ALOFT_CHIP_ESP8266;
        return ALOFT_OK;
    }
    return ALOFT_ERR_ARG;
}
