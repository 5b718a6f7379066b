/*
 * aloft/wire/ptable.h — the ESP-IDF binary partition table.
 *
 * Layout (esp_flash_partitions.h; little-endian; frozen, it is on flash):
 *   32-byte entries at flash 0x8000, at most 0xC00 bytes:
 *     magic u16 = 0x50AA (bytes AA 50) | type u8 | subtype u8 |
 *     offset u32 | size u32 | label[16] (NUL-padded) | flags u32
 *   optional MD5 entry: EB EB, 14 x FF, MD5 of all preceding entry bytes
 *   then 0xFF to the end.
 */
#ifndef ALOFT_WIRE_PTABLE_H
#define ALOFT_WIRE_PTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"
#include "aloft/port/crypto.h"

#define ALOFT_PT_OFFSET 0x8000u      /* where ESP32 bootloaders look for it */
#define ALOFT_PT_LEN 0xC00u          /* bytes reserved for the table */
#define ALOFT_PT_ENTRY_LEN 32u
#define ALOFT_PT_MAX_ENTRIES 32u     /* entries kept in RAM */

/* Partition types and subtypes (frozen: they are on flash). */
#define ALOFT_PT_TYPE_APP 0x00u
#define ALOFT_PT_TYPE_DATA 0x01u
#define ALOFT_PT_APP_FACTORY 0x00u
#define ALOFT_PT_APP_OTA_0 0x10u     /* ota_N = 0x10 + N, N < 16 */
#define ALOFT_PT_APP_TEST 0x20u
#define ALOFT_PT_DATA_OTA 0x00u
#define ALOFT_PT_DATA_PHY 0x01u
#define ALOFT_PT_DATA_NVS 0x02u
#define ALOFT_PT_DATA_COREDUMP 0x03u
#define ALOFT_PT_DATA_FAT 0x81u
#define ALOFT_PT_DATA_SPIFFS 0x82u
#define ALOFT_PT_DATA_LITTLEFS 0x83u

typedef struct aloft_part {
    uint8_t type;
    uint8_t subtype;
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    char label[17];
} aloft_part_t;

typedef struct aloft_ptable {
    aloft_part_t parts[ALOFT_PT_MAX_ENTRIES];
    uint8_t count;
    bool has_md5;
} aloft_ptable_t;

/* The arduino-esp32 4 MB layouts (tools/partitions/<name>.csv). */
typedef enum aloft_scheme {
    ALOFT_SCHEME_DEFAULT,     /* 2 x 1280 KiB apps, 1408 KiB spiffs, coredump */
    ALOFT_SCHEME_MIN_SPIFFS,  /* 2 x 1920 KiB apps, 128 KiB spiffs, coredump */
} aloft_scheme_t;

/* Parse a binary table of len bytes (normally the 0xC00 bytes at 0x8000;
 * at most 0xC00 are looked at), as esp_partition_table_verify does: parsing
 * stops at the end entry (magic 0xFFFF, type 0xFF, subtype 0xFF), which
 * must come within those bytes; entries may follow the MD5 entry. If an MD5
 * entry is present it is checked with md5 (required then; NULL gives
 * ALOFT_ERR_ARG); a second MD5 entry is ALOFT_ERR_PT_ENTRY. Checks that
 * entries lie inside flash_size (0 = do not check), do not overlap, and that
 * app partitions are 64 KiB aligned. pt is overwritten. Returns 0, or
 * ALOFT_ERR_PT_ENTRY (diag have = entry index), ALOFT_ERR_PT_MD5,
 * ALOFT_ERR_PT_LAYOUT (where = label, have = offset, want = flash_size),
 * ALOFT_ERR_PT_TOO_MANY (want = ALOFT_PT_MAX_ENTRIES); diag may be NULL. */
int aloft_ptable_parse(aloft_ptable_t *pt, const uint8_t *buf, size_t len,
                       uint32_t flash_size, const aloft_hash_alg_t *md5,
                       aloft_diag_t *diag);

/* Serialise pt into out (len >= ALOFT_PT_LEN) with an MD5 entry computed by
 * md5 (always, whatever pt->has_md5 says), and 0xFF after it up to
 * ALOFT_PT_LEN; bytes of out past ALOFT_PT_LEN are not touched. Returns the
 * bytes of entries written (including the MD5 entry), or a negative error
 * code. */
int aloft_ptable_write(const aloft_ptable_t *pt, uint8_t *out, size_t len,
                       const aloft_hash_alg_t *md5);

/* Fill pt with one of the built-in 4 MB schemes. Returns 0 or ALOFT_ERR_ARG. */
int aloft_ptable_scheme(aloft_ptable_t *pt, aloft_scheme_t scheme);

/* Name of a scheme ("default", "min_spiffs"), and the reverse lookup
 * (returns 0 or ALOFT_ERR_ARG). */
const char *aloft_scheme_name(aloft_scheme_t scheme);
int aloft_scheme_parse(const char *name, aloft_scheme_t *scheme);

/* App slot size of a scheme, bytes (for hints: "min_spiffs holds ..."). */
uint32_t aloft_scheme_app_size(aloft_scheme_t scheme);

/* First partition with this type and subtype, or NULL. */
const aloft_part_t *aloft_ptable_find(const aloft_ptable_t *pt, uint8_t type,
                                      uint8_t subtype);

/* Partition with this label, or NULL. */
const aloft_part_t *aloft_ptable_find_label(const aloft_ptable_t *pt,
                                            const char *label);

/* The OTA app slots ota_0, ota_1, ... in order, as ESP-IDF counts them
 * (consecutive subtypes from ota_0). Writes up to max pointers into slots
 * and returns how many there are (0 if none). */
int aloft_ptable_ota_slots(const aloft_ptable_t *pt, const aloft_part_t **slots,
                           int max);

/* The filesystem data partition an espota "command 100" upload writes: the
 * data partition with this label if label is not NULL (an app partition
 * with that label gives NULL), else the first spiffs, littlefs or fat data
 * partition. NULL if none. */
const aloft_part_t *aloft_ptable_find_fs(const aloft_ptable_t *pt,
                                         const char *label);

#endif /* ALOFT_WIRE_PTABLE_H */
