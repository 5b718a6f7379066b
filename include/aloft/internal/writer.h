/*
 * aloft/internal/writer.h — streams bytes into a flash region (an app slot) the way
 * NOR flash wants them, and so that a half-written slot can never boot.
 *
 *  - erase-ahead: the region is erased in front of the write position, in
 *    64 KiB blocks where the address is block-aligned and a whole block is
 *    still needed, else in 4 KiB sectors, and never beyond the image's end;
 *    a transport can call aloft_writer_erase_ahead() while it waits for the
 *    network, so erasing overlaps the transfer;
 *  - whole pages: bytes are collected into page_size pages and each page is
 *    programmed with one call; pages that are all 0xFF are skipped (erased
 *    flash already reads 0xFF);
 *  - first byte last: with hold_head, the first page is programmed with its
 *    byte 0 (the 0xE9 magic) left erased; aloft_writer_commit(), called only
 *    after the rest is verified, programs that one byte. A slot cut off
 *    mid-update therefore never has a valid header, yet everything else is
 *    durable, so a transfer can resume after a power cut.
 */
#ifndef ALOFT_INTERNAL_WRITER_H
#define ALOFT_INTERNAL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/port/crypto.h"
#include "aloft/port/flash.h"

/* Internal; do not rely on the fields. */
typedef struct aloft_writer {
    const aloft_flash_t *flash;
    uint32_t base;        /* region start (flash address, sector-aligned) */
    uint32_t len;         /* bytes that will be written */
    uint32_t end;         /* len rounded up to whole sectors: the erase limit */
    uint32_t pos;         /* bytes accepted */
    uint32_t erased;      /* bytes from base already erased */
    uint32_t fill;        /* bytes in page[] */
    bool hold_head;
    bool head_held;       /* head_byte is not programmed yet */
    uint8_t head_byte;    /* the real byte 0 */
    uint8_t page[ALOFT_PAGE_MAX];
} aloft_writer_t;

/* Prepare to write len bytes at base, inside a region of region_size bytes.
 * Touches no flash. Returns 0, or ALOFT_ERR_ARG (bad geometry, base not
 * sector-aligned, len 0 or larger than region_size). */
int aloft_writer_begin(aloft_writer_t *w, const aloft_flash_t *flash,
                       uint32_t base, uint32_t region_size, uint32_t len,
                       bool hold_head);

/* Like begin, but continue after a power cut or a dropped transfer: the
 * first pos bytes (a multiple of the sector size) are already programmed
 * and everything from pos on will be erased again before it is written.
 * head_byte is the real byte 0 (hold_head). Touches no flash. */
int aloft_writer_resume(aloft_writer_t *w, const aloft_flash_t *flash, uint32_t base,
                        uint32_t region_size, uint32_t len, bool hold_head, uint32_t pos,
                        uint8_t head_byte);

/* Bytes handed to flash so far (whole pages programmed or skipped). */
uint32_t aloft_writer_programmed(const aloft_writer_t *w);

/* Erase the next unit ahead of the data, if any is still needed. Returns 1
 * if it erased, 0 if everything up to the end is already erased, or a
 * negative flash error. */
int aloft_writer_erase_ahead(aloft_writer_t *w);

/* Append data (any length; at most len bytes in total). Returns 0,
 * ALOFT_ERR_ARG when more than len bytes are written, or a flash error. */
int aloft_writer_write(aloft_writer_t *w, const void *data, size_t n);

/* No more bytes will come: the region holds only what was written so far
 * (an image followed by data that is not for flash). */
void aloft_writer_truncate(aloft_writer_t *w);

/* Program the last partial page. Call once all len bytes were written.
 * Returns 0, ALOFT_ERR_STATE if bytes are missing, or a flash error. */
int aloft_writer_flush(aloft_writer_t *w);

/* Read back [off, off+n) of the region as it will be after commit: flash,
 * with the held byte 0 taken from RAM. Returns 0 or a flash error. */
int aloft_writer_read(const aloft_writer_t *w, uint32_t off, void *buf,
                      size_t n);

/* The hash (alg, e.g. SHA-256) of the len bytes as aloft_writer_read
 * gives them. Returns 0, or a flash or crypto error. */
int aloft_writer_hash(const aloft_writer_t *w, const aloft_hash_alg_t *alg, uint8_t *digest);

/* Program the held byte 0 (no-op without hold_head). Returns 0, or
 * ALOFT_ERR_READBACK if flash does not read back what was programmed, or a
 * flash error. */
int aloft_writer_commit(aloft_writer_t *w);

#endif /* ALOFT_INTERNAL_WRITER_H */
