/* lib/journal.c — the resume journal (see journal.h for the layout). */
#include <string.h>

#include "aloft/util.h"
#include "aloft/error.h"
#include "aloft/wire/otadata.h"
#include "bytes.h"
#include "journal.h"

#define MAGIC 0x4A524C41u
#define RECORD_LEN 48u
#define CLOSED_AT 48u
#define MARKS_AT 256u
#define OPEN 0xFFFFFFFFu

static void encode(uint8_t rec[RECORD_LEN], uint8_t target, uint8_t dest, uint32_t size,
                   const uint8_t sha[32])
{
    aloft_st32(rec, MAGIC);
    rec[4] = 1;
    rec[5] = target;
    rec[6] = dest;
    rec[7] = 0xFF;
    aloft_st32(rec + 8, size);
    memcpy(rec + 12, sha, 32);
    aloft_st32(rec + 44, aloft_crc32(0, rec, 44));
}

uint32_t aloft_journal_addr(const aloft_flash_t *f, uint32_t offset, uint32_t part_size,
                            uint32_t size)
{
    uint32_t sector = f->sector_size;
    uint32_t used = (size + sector - 1) / sector * sector;
    return part_size >= sector && used <= part_size - sector ? offset + part_size - sector : 0;
}

/* Durable bytes recorded by the marks after a valid, open record. */
static int scan(const aloft_flash_t *f, uint32_t addr, uint32_t size)
{
    uint8_t word[4];
    uint32_t durable = 0;
    int err = f->read(f, addr + CLOSED_AT, word, 4);
    if (err || aloft_ld32(word) != OPEN)
        return err;
    for (uint32_t k = 0; MARKS_AT + 4 * k + 4 <= f->sector_size; k++) {
        if ((err = f->read(f, addr + MARKS_AT + 4 * k, word, 4)) != 0)
            return err;
        uint32_t mark = aloft_ld32(word);
        if (mark != (k + 1) * ALOFT_JOURNAL_STEP || mark > size)
            break;
        durable = mark;
    }
    return (int)durable;
}

/* Read the record at addr: 1 if it is valid, 0 if not, or a flash error. */
static int read_record(const aloft_flash_t *f, uint32_t addr, uint8_t rec[RECORD_LEN])
{
    int err = f->read(f, addr, rec, RECORD_LEN);
    if (err)
        return err;
    return aloft_ld32(rec) == MAGIC && rec[4] == 1 &&
           aloft_ld32(rec + 44) == aloft_crc32(0, rec, 44);
}

int aloft_journal_read(const aloft_flash_t *f, uint32_t addr, uint8_t *target, uint32_t *size,
                       uint8_t sha256[32])
{
    uint8_t rec[RECORD_LEN];
    int valid = read_record(f, addr, rec);
    if (valid <= 0)
        return valid;
    *target = rec[5];
    *size = aloft_ld32(rec + 8);
    memcpy(sha256, rec + 12, 32);
    return scan(f, addr, *size);
}

int aloft_journal_copy_pending(const aloft_flash_t *f, uint32_t addr, aloft_journal_copy_t *c)
{
    uint8_t rec[RECORD_LEN], word[4];
    int valid = read_record(f, addr, rec);
    if (valid <= 0 || rec[5] != ALOFT_JOURNAL_COPY)
        return valid < 0 ? valid : 0;
    int err = f->read(f, addr + CLOSED_AT, word, 4);
    if (err || aloft_ld32(word) != OPEN)
        return err;
    c->dest = rec[6];
    c->size = aloft_ld32(rec + 8);
    memcpy(c->sha256, rec + 12, 32);
    int durable = scan(f, addr, c->size);
    if (durable < 0)
        return durable;
    c->durable = (uint32_t)durable;
    return 1;
}

int aloft_journal_durable(const aloft_flash_t *f, uint32_t addr, uint8_t target, uint32_t size,
                          const uint8_t sha256[32])
{
    uint8_t t = 0, sha[32];   /* t, sz: set when durable > 0 (GCC -O3 cannot tell) */
    uint32_t sz = 0;
    int durable = aloft_journal_read(f, addr, &t, &sz, sha);
    if (durable <= 0)
        return durable;
    return t == target && sz == size && memcmp(sha, sha256, 32) == 0 ? durable : 0;
}

/* Erase the sector and write a new record. */
static int start(const aloft_flash_t *f, uint32_t addr, uint8_t target, uint8_t dest,
                 uint32_t size, const uint8_t sha256[32])
{
    uint8_t rec[RECORD_LEN];
    int err = f->erase(f, addr, f->sector_size);
    if (err)
        return err;
    encode(rec, target, dest, size, sha256);
    return f->prog(f, addr, rec, sizeof rec);
}

int aloft_journal_start(const aloft_flash_t *f, uint32_t addr, uint8_t target, uint32_t size,
                        const uint8_t sha256[32])
{
    return start(f, addr, target, 0xFF, size, sha256);
}

int aloft_journal_start_copy(const aloft_flash_t *f, uint32_t addr, uint8_t dest, uint32_t size,
                             const uint8_t sha256[32])
{
    return start(f, addr, ALOFT_JOURNAL_COPY, dest, size, sha256);
}

/* Flash address of the mark for offset, or 0 if offset has none. */
static uint32_t mark_addr(const aloft_flash_t *f, uint32_t addr, uint32_t offset)
{
    uint32_t k = offset / ALOFT_JOURNAL_STEP - 1;
    if (offset == 0 || offset % ALOFT_JOURNAL_STEP || MARKS_AT + 4 * k + 4 > f->sector_size)
        return 0;
    return addr + MARKS_AT + 4 * k;
}

int aloft_journal_can_mark(const aloft_flash_t *f, uint32_t addr, uint32_t offset)
{
    uint8_t word[4];
    uint32_t at = mark_addr(f, addr, offset);
    if (at == 0)
        return ALOFT_ERR_ARG;
    int err = f->read(f, at, word, 4);
    return err ? err : aloft_ld32(word) == OPEN;
}

int aloft_journal_mark(const aloft_flash_t *f, uint32_t addr, uint32_t offset)
{
    uint8_t word[4];
    uint32_t at = mark_addr(f, addr, offset);
    if (at == 0)
        return ALOFT_ERR_ARG;
    aloft_st32(word, offset);
    return f->prog(f, at, word, 4);
}

int aloft_journal_close(const aloft_flash_t *f, uint32_t addr)
{
    static const uint8_t zero[4] = {0};
    return f->prog(f, addr + CLOSED_AT, zero, 4);
}
