/*
 * port/esp-idf/src/esp_port.h — the pieces of the device half, each in its
 * own file, that esp_device.c assembles into an esp_device_t:
 *   esp_partitions.c  the partitions IDF found -> the core's aloft_ptable_t
 *   esp_flash.c       aloft_flash_t over esp_partition_read/erase/write
 *   esp_ota.c         the running slot, confirm/reject (otadata)
 *   esp_crypto.c      aloft_crypto_t: port/mbedtls + esp_fill_random
 *   esp_inflate.c     aloft_inflate_t over the ROM's miniz tinfl
 * Internal to the component.
 */
#ifndef ALOFT_ESP_PORT_H
#define ALOFT_ESP_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "esp_partition.h"
#include "esp_kconfig.h"

#include "aloft/port/crypto.h"
#include "aloft/port/flash.h"
#include "aloft/port/inflate.h"
#include "aloft/wire/otadata.h"
#include "aloft/wire/ptable.h"

/* The app and data partitions on the main flash, in table order; the IDF
 * structs are static in IDF's own list and live as long as the program. */
typedef struct aesp_parts {
    const esp_partition_t *p[ALOFT_PT_MAX_ENTRIES];
    int n;
} aesp_parts_t;

/* Collect the partitions (esp_partition_find) into ps and pt. Returns 0,
 * ALOFT_ERR_NO_SLOT (fewer than two OTA app slots), ALOFT_ERR_NO_OTADATA
 * or ALOFT_ERR_PT_TOO_MANY. */
int aesp_parts_load(aesp_parts_t *ps, aloft_ptable_t *pt);

/* Called after aloft_confirm() marked the running image VALID (the MQTT
 * agent's, esp_agent.c); NULL: nobody listens. */
extern void (*aesp_confirm_hook)(void);

/* Flash geometry of every ESP32 (the core's erase and program units). */
#define AESP_SECTOR 4096u
#define AESP_BLOCK 65536u
#define AESP_PAGE 256u

/* f: absolute addresses; each call goes to the partition holding the whole
 * range (ALOFT_ERR_ALIGN, logged, for a range outside every partition or
 * across two); each erase feeds the task watchdog. ps must outlive f. */
void aesp_flash_init(aloft_flash_t *f, const aesp_parts_t *ps);

/* The OTA slot index the app runs from (esp_ota_get_running_partition; on
 * the Linux target the slot otadata selects). ALOFT_ERR_NO_SLOT if it is
 * not an OTA slot (a factory or test app). */
int aesp_running_slot(const aloft_otadata_t *od);

/* sha256/md5/pbkdf2/ecdsa from port/mbedtls, random from esp_fill_random. */
void aesp_crypto_init(aloft_crypto_t *c);

/* Inflate with a 2^CONFIG_ALOFT_INFLATE_WINDOW_BITS dictionary (0: none).
 * IDF's Linux target has no ROM, so no tinfl: no inflate there. */
#if defined(CONFIG_IDF_TARGET_LINUX) || !defined(CONFIG_ALOFT_INFLATE_WINDOW_BITS)
#define AESP_INFLATE_BITS 0
#else
#define AESP_INFLATE_BITS CONFIG_ALOFT_INFLATE_WINDOW_BITS
#endif
#if AESP_INFLATE_BITS != 0 && (AESP_INFLATE_BITS < 8 || AESP_INFLATE_BITS > 15)
#error "CONFIG_ALOFT_INFLATE_WINDOW_BITS must be 0 or 8..15"
#endif

#if AESP_INFLATE_BITS > 0
#include <stdbool.h>
#include "miniz.h"
#endif

typedef struct aesp_inflate {
#if AESP_INFLATE_BITS > 0
    tinfl_decompressor tinfl;          /* about 11 KiB with the ROM's miniz */
    uint8_t dict[1u << AESP_INFLATE_BITS];
    size_t pos;                        /* where tinfl writes next in dict */
    size_t pending, pending_len;       /* decoded bytes not handed out yet */
    unsigned window_bits;              /* what begin() allowed */
    bool open, header_checked, done;
#else
    int unused;
#endif
} aesp_inflate_t;

/* ops->max_window_bits = AESP_INFLATE_BITS; with 0, ops is all zero (no
 * callbacks): hand the engines NULL, so no DEFLATE is advertised. */
void aesp_inflate_init(aloft_inflate_t *ops, aesp_inflate_t *st);

#endif /* ALOFT_ESP_PORT_H */
