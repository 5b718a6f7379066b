/* lib/fs_stage.c — filesystem staging and the journaled copy (see fs_stage.h). */
#include <string.h>

#include "aloft/util.h"
#include "fs_stage.h"
#include "journal.h"

uint32_t aloft_fs_copy_journal(const aloft_flash_t *f, const aloft_part_t *src)
{
    return src->offset + src->size - f->sector_size;
}

/* Whether a staging area takes the image and its journal sector. */
static bool fits(const aloft_flash_t *f, const aloft_part_t *area, uint32_t size)
{
    return area && aloft_journal_addr(f, area->offset, area->size, size) != 0;
}

int aloft_fs_stage_choose(const aloft_flash_t *f, const aloft_ptable_t *pt,
                          const aloft_part_t *fs, uint32_t size, aloft_fs_stage_t policy,
                          const aloft_fs_slot_t *slot, const aloft_part_t **stage,
                          aloft_diag_t *diag)
{
    const aloft_part_t *part = aloft_ptable_find_label(pt, ALOFT_FS_STAGE_LABEL);
    if (part && part->type == ALOFT_PT_TYPE_DATA && part != fs && fits(f, part, size)) {
        *stage = part;
        return ALOFT_OK;
    }
    bool slot_fits = fits(f, slot->part, size);
    if (slot_fits && (slot->free || policy == ALOFT_FS_STAGE_SLOT)) {
        *stage = slot->part;
        return ALOFT_OK;
    }
    if (policy == ALOFT_FS_STAGE_AUTO) {
        *stage = fs;
        return ALOFT_OK;
    }
    uint32_t sector = f->sector_size;
    uint32_t need = (size + sector - 1) / sector * sector + sector;
    return aloft_diag_set(diag, ALOFT_ERR_IN_PLACE, need, 0,
                          slot_fits ? slot->part->label : "in place");
}

/* Record that next bytes are copied, unless a mark torn by a power cut
 * sits in its place: then stop marking (*marking = false). The journal is
 * never rewritten here, as erasing it would forget the copy; a later
 * resume simply starts from the last good mark. */
static int mark(const aloft_flash_t *f, uint32_t journal, uint32_t next, bool *marking)
{
    int blank = *marking ? aloft_journal_can_mark(f, journal, next) : 0;
    if (blank <= 0) {
        *marking = false;
        return blank;
    }
    return aloft_journal_mark(f, journal, next);
}

/* Copy from `from` to the end, marking each 64 KiB that is programmed. */
static int copy_rest(const aloft_flash_t *f, aloft_writer_t *w, const aloft_part_t *src,
                     uint32_t size, uint32_t from, uint32_t journal)
{
    uint8_t chunk[256];
    uint32_t marked = from;
    bool marking = true;
    for (uint32_t off = from; off < size; off += sizeof chunk) {
        uint32_t n = size - off < sizeof chunk ? size - off : (uint32_t)sizeof chunk;
        int err = f->read(f, src->offset + off, chunk, n);
        if (!err)
            err = aloft_writer_write(w, chunk, n);
        while (!err && aloft_writer_programmed(w) >= marked + ALOFT_JOURNAL_STEP) {
            marked += ALOFT_JOURNAL_STEP;
            err = mark(f, journal, marked, &marking);
        }
        if (err)
            return err;
    }
    return aloft_writer_flush(w);
}

int aloft_fs_copy(const aloft_device_t *dev, aloft_writer_t *w, const aloft_part_t *src,
                  const aloft_part_t *dst, uint32_t size, const uint8_t sha256[32],
                  bool resume, uint32_t from)
{
    const aloft_flash_t *f = dev->flash;
    const aloft_ptable_t *pt = dev->ptable;
    uint32_t journal = aloft_fs_copy_journal(f, src);
    uint8_t sha[32];
    int err;
    if (!resume &&
        (err = aloft_journal_start_copy(f, journal, (uint8_t)(dst - pt->parts), size, sha256)) != 0)
        return err;
    /* A mark is a multiple of 64 KiB: the writer erases again from there. */
    if ((err = aloft_writer_resume(w, f, dst->offset, dst->size, size, false, from, 0)) != 0 ||
        (err = copy_rest(f, w, src, size, from, journal)) != 0 ||
        (err = aloft_writer_hash(w, dev->crypto->sha256, sha)) != 0)
        return err;
    if (memcmp(sha, sha256, sizeof sha) != 0) {
        aloft_journal_close(f, journal);
        return ALOFT_ERR_READBACK;
    }
    return aloft_journal_close(f, journal);
}
