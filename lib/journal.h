/*
 * lib/journal.h — internal: the resume journal of an update, kept in the
 * last flash sector of the target partition (only when the image ends
 * before that sector). Layout, frozen (it is on flash):
 *
 *   0    record: magic u32 "ALRJ" (0x4A524C41) | version u8 (1) | target u8 |
 *              0xFFFF | size u32 | sha256[32] | crc32 u32 of bytes 0..43
 *   48   closed u32: 0xFFFFFFFF while open, 0 once the transfer ended
 *   256  marks: u32 k holds (k+1) * 64 KiB once that much is programmed
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

/* Whether the mark for offset can still be written: 1 if its slot is
 * blank, 0 if not (a mark torn by a power cut is in the way), or a flash
 * error. */
int aloft_journal_can_mark(const aloft_flash_t *f, uint32_t addr, uint32_t offset);

/* Record that offset (a multiple of ALOFT_JOURNAL_STEP) is programmed. */
int aloft_journal_mark(const aloft_flash_t *f, uint32_t addr, uint32_t offset);

/* Close the journal (transfer finished or refused for good). */
int aloft_journal_close(const aloft_flash_t *f, uint32_t addr);

#endif /* ALOFT_JOURNAL_H */
