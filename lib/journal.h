/*
 * lib/journal.h — internal: the resume journal of an update, kept in the
 * last flash sector of the target partition (only when the image ends
 * before that sector). Layout, frozen (it is on flash):
 *
 *   0    record: magic u32 "ALRJ" (0x4A524C41) | version u8 (1) | target u8 |
 *              dest u8 | 0xFF | size u32 | sha256[32] | crc32 u32 of bytes 0..43
 *   48   closed u32: 0xFFFFFFFF while open, 0 once the transfer ended
 *   256  marks: u32 k holds (k+1) * 64 KiB once that much is programmed
 *
 * target is an aloft_target_t (a transfer into this partition; dest 0xFF)
 * or ALOFT_JOURNAL_COPY: a staged filesystem image of size bytes in this
 * partition is being copied into partition number dest of the table, and
 * each mark counts bytes copied (lib/fs_stage.h).
 *
 * Every field is written once into erased flash, so a torn write is
 * detectable: a torn record fails its CRC; a torn mark keeps some 0xFF high
 * bytes and reads as an offset beyond the image, which ends the scan.
 */
#ifndef ALOFT_JOURNAL_H
#define ALOFT_JOURNAL_H

#include <stdint.h>

#include "aloft/port/flash.h"

#define ALOFT_JOURNAL_STEP 0x10000u   /* progress granularity: 64 KiB */
#define ALOFT_JOURNAL_COPY 2u         /* target of a copy journal */

/* An open copy journal. */
typedef struct aloft_journal_copy {
    uint8_t dest;                 /* index of the destination partition */
    uint32_t size;                /* image bytes */
    uint8_t sha256[32];
    uint32_t durable;             /* bytes copied for sure (marks) */
} aloft_journal_copy_t;

/* Where the journal of a size-byte image in the partition [offset,
 * offset + part_size) lives: its last sector, if the image leaves it
 * free; else 0 (no journal). */
uint32_t aloft_journal_addr(const aloft_flash_t *f, uint32_t offset, uint32_t part_size,
                            uint32_t size);

/* Durable bytes of the transfer (target, size, sha256) journaled in the
 * sector at addr: 0 if there is none, it is closed or it is another one;
 * or a negative flash error. */
int aloft_journal_durable(const aloft_flash_t *f, uint32_t addr, uint8_t target, uint32_t size,
                          const uint8_t sha256[32]);

/* The open transfer journaled at addr, if any: returns its durable bytes
 * (> 0) and fills target/size/sha256; 0 if none; or a flash error. */
int aloft_journal_read(const aloft_flash_t *f, uint32_t addr, uint8_t *target, uint32_t *size,
                       uint8_t sha256[32]);

/* Erase the sector and write a new record. Returns 0 or a flash error. */
int aloft_journal_start(const aloft_flash_t *f, uint32_t addr, uint8_t target, uint32_t size,
                        const uint8_t sha256[32]);

/* The same for a copy journal into partition number dest. */
int aloft_journal_start_copy(const aloft_flash_t *f, uint32_t addr, uint8_t dest, uint32_t size,
                             const uint8_t sha256[32]);

/* Whether the sector at addr holds an open copy journal (even one without
 * marks yet): 1 and *c filled, 0 if not, or a flash error. */
int aloft_journal_copy_pending(const aloft_flash_t *f, uint32_t addr, aloft_journal_copy_t *c);

/* Whether the mark for offset can still be written: 1 if its slot is
 * blank, 0 if not (a mark torn by a power cut is in the way), or a flash
 * error. */
int aloft_journal_can_mark(const aloft_flash_t *f, uint32_t addr, uint32_t offset);

/* Record that offset (a multiple of ALOFT_JOURNAL_STEP) is programmed. */
int aloft_journal_mark(const aloft_flash_t *f, uint32_t addr, uint32_t offset);

/* Close the journal (transfer finished or refused for good). */
int aloft_journal_close(const aloft_flash_t *f, uint32_t addr);

#endif /* ALOFT_JOURNAL_H */
