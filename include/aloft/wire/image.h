/*
 * aloft/wire/image.h — streaming parser and validator for ESP-IDF app images.
 *
 * Feed the image in pieces of any size, as it arrives from the network or
 * from flash; the parser keeps only a few dozen bytes of state plus a running
 * SHA-256. It answers early (after the 24-byte header: chip, segment count;
 * after the first 288 bytes: the app description) so an update can be refused
 * before anything is erased, and it checks everything esp_image_verify()
 * checks by the end: segment lengths, the 64 KiB flash-mapping rule, the XOR
 * checksum and the appended SHA-256.
 *
 * Format (ESP-IDF esp_app_format.h, all little-endian):
 *   header 24 B | { seg hdr: load_addr u32, data_len u32 | data } x count |
 *   zero pad so that (length + 1) % 16 == 0 | checksum u8 |
 *   SHA-256 over everything before it (32 B, if header byte 23 == 1)
 * The app description (256 B, magic 0xABCD5432) is optional and, when
 * present, is the start of segment 0's data at image offset 0x20.
 *
 * ESP8266 images (8-byte header, no chip id) are recognised and rejected with
 * ALOFT_ERR_IMG_ESP8266 so the user learns why, instead of a bogus checksum.
 *
 * Defects and the aloft_diag_t fields that explain them (have / want /
 * where), in the order they can occur:
 *   IMG_MAGIC     byte 0 / 0xE9
 *   IMG_ESP8266   decided at byte 12 (v1 layout) or byte 2 (magic 0xEA, 4)
 *   IMG_SEGMENTS  count (0 or > 16) / 16
 *   IMG_HEADER    value / limit / field: "spi_mode" (> 5), "chip_id" (not
 *                 an ESP32-class chip we know), "hash_appended" (> 1)
 *   IMG_SEG_LEN   data_len / image offset of the segment header / "segment N"
 *   IMG_MAPPING   image offset of the data / load address / "segment N"
 *   IMG_DESC      image offset of the field / its size / field name
 *   IMG_CHECKSUM  stored checksum byte / computed
 *   IMG_HASH      image offset of the appended SHA-256
 *   IMG_TRUNCATED bytes fed / least length the parsed headers imply
 *   IMG_TRAILING  bytes given / image length (aloft_image_check only)
 * The mapping rule uses 64 KiB pages, or on chips with a configurable MMU
 * page (C2, C6, H2, C61) the page size the app description declares.
 */
#ifndef ALOFT_WIRE_IMAGE_H
#define ALOFT_WIRE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"
#include "aloft/port/flash.h"
#include "aloft/port/crypto.h"

#define ALOFT_IMAGE_MAGIC 0xE9u
#define ALOFT_IMAGE_HEADER_LEN 24u
#define ALOFT_IMAGE_SEG_HEADER_LEN 8u
#define ALOFT_IMAGE_MAX_SEGMENTS 16u
#define ALOFT_APP_DESC_MAGIC 0xABCD5432u
#define ALOFT_APP_DESC_OFFSET 0x20u
#define ALOFT_APP_DESC_LEN 256u
/* Bytes needed before the parser knows whether an app description exists. */
#define ALOFT_IMAGE_EARLY_LEN (ALOFT_APP_DESC_OFFSET + ALOFT_APP_DESC_LEN)

/* ESP-IDF chip ids (header offset 12). Frozen: they are in the image. */
enum aloft_chip {
    ALOFT_CHIP_ESP32 = 0x0000,
    ALOFT_CHIP_ESP32S2 = 0x0002,
    ALOFT_CHIP_ESP32C3 = 0x0005,
    ALOFT_CHIP_ESP32S3 = 0x0009,
    ALOFT_CHIP_ESP32C2 = 0x000C,
    ALOFT_CHIP_ESP32C6 = 0x000D,
    ALOFT_CHIP_ESP32H2 = 0x0010,
    ALOFT_CHIP_ESP32P4 = 0x0012,
    ALOFT_CHIP_ESP32C61 = 0x0014,
    ALOFT_CHIP_ESP32C5 = 0x0017,
    ALOFT_CHIP_ESP8266 = 0xFFFE,  /* not an IDF id: reported for ESP8266 images */
};

/* "ESP32-S3" for a chip id, "ESP8266" for ALOFT_CHIP_ESP8266, "unknown"
 * for ids we do not know. */
const char *aloft_chip_name(uint16_t chip_id);

/* Parse "esp32", "esp32s3", "ESP32-S3" (case, '-' and '_' ignored) into
 * *chip_id; "esp8266" gives ALOFT_CHIP_ESP8266. Returns 0 or ALOFT_ERR_ARG. */
int aloft_chip_parse(const char *name, uint16_t *chip_id);

/* The app description (esp_app_desc_t), strings NUL-terminated. */
typedef struct aloft_app_desc {
    uint32_t secure_version;
    char version[33];
    char project_name[33];
    char time[17];
    char date[17];
    char idf_ver[33];
    uint8_t app_elf_sha256[32];
    uint8_t mmu_page_size;   /* log2 of the MMU page (IDF 5.x), 0 = not set */
} aloft_app_desc_t;

typedef struct aloft_segment_info {
    uint32_t load_addr;
    uint32_t data_len;
    uint32_t offset;   /* image offset of the segment's data; 0 until the
                        * segment's header has been parsed */
} aloft_segment_info_t;

/* What the parser has learned so far. Fields are valid once the matching
 * flag is set. */
typedef struct aloft_image_info {
    bool have_header;       /* header parsed: chip, segment_count, spi_* */
    bool have_desc;         /* app description decision made (see has_desc):
                             * at byte 0x24 without the magic, 0x120 with it,
                             * or at segment 0's header if that segment is
                             * shorter than 256 bytes (no description) */
    bool complete;          /* whole image parsed and valid */
    bool has_desc;          /* an app description is present */
    bool hash_appended;
    uint16_t chip_id;
    uint8_t segment_count;
    uint8_t spi_mode, spi_speed, spi_size;
    uint8_t min_chip_rev;
    uint16_t min_chip_rev_full, max_chip_rev_full;
    uint32_t entry_addr;
    uint8_t checksum;        /* stored checksum byte (once complete) */
    uint32_t image_len;      /* total bytes incl. checksum and hash (once complete) */
    uint8_t sha256[32];      /* SHA-256 of the whole image as fed (once complete) */
    aloft_app_desc_t desc;
    aloft_segment_info_t segments[ALOFT_IMAGE_MAX_SEGMENTS];  /* as parsed */
} aloft_image_info_t;

/* Parser state; internal, do not rely on the fields. Allocate it anywhere
 * (about 1 KiB with the info), initialise with aloft_image_init. */
typedef struct aloft_image {
    aloft_image_info_t info;
    const aloft_hash_alg_t *sha256;
    aloft_hash_ctx_t whole;      /* SHA-256 of every byte fed */
    aloft_hash_ctx_t body;       /* SHA-256 up to the checksum byte */
    uint8_t live;                /* which of whole/body run (to be finished) */
    uint32_t pos;                /* bytes consumed */
    uint32_t field_pos;          /* bytes of the current field consumed */
    uint32_t seg_left;           /* data bytes left in the current segment */
    uint32_t xor_acc;            /* running XOR of segment data bytes */
    uint8_t state;
    uint8_t seg_index;
    uint8_t buf[ALOFT_APP_DESC_LEN];  /* header / segment header / desc / hash */
    int err;                     /* sticky error, 0 while healthy */
    aloft_diag_t diag;
} aloft_image_t;

/* Start parsing a new image. sha256 is the port's SHA-256 (needed for the
 * appended-hash check and info.sha256). Returns 0 or ALOFT_ERR_ARG. */
int aloft_image_init(aloft_image_t *im, const aloft_hash_alg_t *sha256);

/* Consume up to len bytes (data is only read during the call). Returns the
 * number of bytes that belong to the image: len, or fewer when the image
 * completed inside this piece (what is left over is not part of the image;
 * the caller decides whether that is an error), 0 once it is complete.
 * Returns a negative code for the first defect found; errors are sticky,
 * later calls return the same code. Any split of the same bytes gives the
 * same results. */
int aloft_image_feed(aloft_image_t *im, const void *data, size_t len);

/* Abandon a parse that has not ended (the caller gives up mid-image): the
 * running hashes are finished so the port releases them. A parse that
 * completed or failed has released them already; safe to call twice. */
void aloft_image_release(aloft_image_t *im);

/* Declare the end of input. Returns 0 if a complete, valid image was fed,
 * ALOFT_ERR_IMG_TRUNCATED if it stopped early, or the sticky error. */
int aloft_image_finish(aloft_image_t *im);

/* The parser's view so far; never NULL. */
const aloft_image_info_t *aloft_image_info(const aloft_image_t *im);

/* Details (offsets, expected vs found) of the sticky error. */
const aloft_diag_t *aloft_image_diag(const aloft_image_t *im);

/* Validate a whole image in memory (init, feed, finish). Bytes after the
 * image's end give ALOFT_ERR_IMG_TRAILING. info and diag may be NULL.
 * Returns 0 if valid or the first defect's code. */
int aloft_image_check(const void *data, size_t len,
                      const aloft_hash_alg_t *sha256, aloft_image_info_t *info,
                      aloft_diag_t *diag);

/* Verify the image stored in flash at addr (an app slot of max_len bytes),
 * reading it in 512-byte pieces (on the stack) until it is complete, the way
 * the bootloader does before jumping to it. im is caller-owned scratch; on
 * return aloft_image_info(im) and aloft_image_diag(im) describe the image.
 * Returns 0 if a complete, valid image is there, or the first defect's code
 * (an erased slot gives ALOFT_ERR_IMG_MAGIC, an image longer than the slot
 * ALOFT_ERR_IMG_TRUNCATED, a read error the flash's own code with the
 * address in diag.have; a slot outside the flash is ALOFT_ERR_ARG). */
int aloft_image_verify_flash(const aloft_flash_t *flash, uint32_t addr,
                             uint32_t max_len, const aloft_hash_alg_t *sha256,
                             aloft_image_t *im);

#endif /* ALOFT_WIRE_IMAGE_H */
