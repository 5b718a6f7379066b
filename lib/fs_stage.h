/*
 * lib/fs_stage.h — internal: where a filesystem image is staged, and the
 * journaled copy of a staged image into the filesystem partition
 * (docs/PROTOCOL.md 4.5).
 *
 * A staging area (the fs_stage partition or an app slot) holds the image
 * from its start and keeps its last sector for journals: the transfer's
 * resume journal while the image arrives, then the copy journal
 * (lib/journal.h, target ALOFT_JOURNAL_COPY). The copy erases and programs
 * the filesystem 64 KiB at a time and marks each; a copy cut short goes on
 * from the last mark (the source is untouched by the copy), so any number
 * of interruptions end with the whole image in the filesystem.
 */
#ifndef ALOFT_FS_STAGE_H
#define ALOFT_FS_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/update.h"

#define ALOFT_FS_STAGE_LABEL "fs_stage"

/* The inactive app slot as the filesystem staging sees it. */
typedef struct aloft_fs_slot {
    const aloft_part_t *part;   /* NULL: the device has no second OTA slot */
    bool free;                  /* holds nothing the device may still need */
} aloft_fs_slot_t;

/* Where an image of size bytes for the filesystem fs goes under policy:
 * *stage = the fs_stage partition or slot->part (staged), or fs itself
 * (in place, only with ALOFT_FS_STAGE_AUTO). Returns 0, or
 * ALOFT_ERR_IN_PLACE with diag filled (have = bytes staging needs, where =
 * the slot that could take it, or "in place"). */
int aloft_fs_stage_choose(const aloft_flash_t *f, const aloft_ptable_t *pt,
                          const aloft_part_t *fs, uint32_t size, aloft_fs_stage_t policy,
                          const aloft_fs_slot_t *slot, const aloft_part_t **stage,
                          aloft_diag_t *diag);

/* Copy the size-byte image staged at src (its SHA-256 sha256) into dst:
 * write the copy journal first, or with resume go on from the mark from
 * of the open one (0: it has none); then erase and program, marking every 64 KiB, read dst back
 * against sha256 and close the journal. w is scratch. Returns 0, a flash
 * error, or ALOFT_ERR_READBACK (journal closed: copying again cannot
 * help). */
int aloft_fs_copy(const aloft_device_t *dev, aloft_writer_t *w, const aloft_part_t *src,
                  const aloft_part_t *dst, uint32_t size, const uint8_t sha256[32],
                  bool resume, uint32_t from);

/* The copy journal's flash address for a staging area. */
uint32_t aloft_fs_copy_journal(const aloft_flash_t *f, const aloft_part_t *src);

#endif /* ALOFT_FS_STAGE_H */
