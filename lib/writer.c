/*
 * lib/writer.c — erase-ahead, page-wise, first-byte-last slot writer.
 *
 * Invariants:
 *   pos == (pages programmed or skipped or held) * page_size + fill
 *   erased is a multiple of sector_size, erased <= end, and every page
 *   handed to flash lies below base + erased.
 */
#include <string.h>

#include "aloft/error.h"
#include "aloft/internal/writer.h"

static uint32_t round_up(uint32_t v, uint32_t unit)
{
    return (v + unit - 1) / unit * unit;
}

int aloft_writer_begin(aloft_writer_t *w, const aloft_flash_t *flash,
                       uint32_t base, uint32_t region_size, uint32_t len,
                       bool hold_head)
{
    if (w == NULL || flash == NULL || flash->sector_size == 0 ||
        flash->page_size == 0 || flash->page_size > ALOFT_PAGE_MAX ||
        flash->sector_size % flash->page_size != 0 ||
        base % flash->sector_size != 0 || len == 0 || len > region_size ||
        region_size > flash->size || base > flash->size - region_size)
        return ALOFT_ERR_ARG;
    memset(w, 0, sizeof *w);
    w->flash = flash;
    w->base = base;
    w->len = len;
    w->end = round_up(len, flash->sector_size);
    if (w->end > region_size)
        return ALOFT_ERR_ARG;
    w->hold_head = hold_head;
    return ALOFT_OK;
}

int aloft_writer_resume(aloft_writer_t *w, const aloft_flash_t *flash, uint32_t base,
                        uint32_t region_size, uint32_t len, bool hold_head, uint32_t pos,
                        uint8_t head_byte)
{
    int err = aloft_writer_begin(w, flash, base, region_size, len, hold_head);
    if (err)
        return err;
    if (pos > len || pos % flash->sector_size != 0)
        return ALOFT_ERR_ARG;
    w->pos = w->erased = pos;
    w->head_held = hold_head && pos > 0;
    w->head_byte = head_byte;
    return ALOFT_OK;
}

uint32_t aloft_writer_programmed(const aloft_writer_t *w)
{
    return w->pos - w->fill;
}

int aloft_writer_erase_ahead(aloft_writer_t *w)
{
    const aloft_flash_t *f = w->flash;
    if (w->erased >= w->end)
        return 0;
    uint32_t addr = w->base + w->erased;
    uint32_t unit = f->sector_size;
    /* A block erase is several times faster than its sectors one by one,
     * but only when aligned and only if the whole block is needed. */
    if (f->block_size && addr % f->block_size == 0 &&
        w->end - w->erased >= f->block_size)
        unit = f->block_size;
    int err = f->erase(f, addr, unit);
    if (err)
        return err;
    w->erased += unit;
    return 1;
}

static bool all_erased(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != ALOFT_ERASED)
            return false;
    return true;
}

/* Hand the page buffer (fill bytes, starting at pos - fill) to flash. */
static int flush_page(aloft_writer_t *w)
{
    uint32_t off = w->pos - w->fill;
    int err;
    if (w->fill == 0)
        return ALOFT_OK;
    if (w->hold_head && off == 0) {
        /* Keep the magic back: a half-written slot must never boot. */
        w->head_byte = w->page[0];
        w->page[0] = ALOFT_ERASED;
        w->head_held = true;
    }
    while (w->erased < off + w->fill)
        if ((err = aloft_writer_erase_ahead(w)) < 0)
            return err;
    if (!all_erased(w->page, w->fill)) {
        err = w->flash->prog(w->flash, w->base + off, w->page, w->fill);
        if (err)
            return err;
    }
    w->fill = 0;
    return ALOFT_OK;
}

int aloft_writer_write(aloft_writer_t *w, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t page = w->flash->page_size;
    if (n > w->len - w->pos)
        return ALOFT_ERR_ARG;
    while (n > 0) {
        uint32_t take = page - w->fill;
        if (take > n)
            take = (uint32_t)n;
        memcpy(w->page + w->fill, p, take);
        w->fill += take;
        w->pos += take;
        p += take;
        n -= take;
        if (w->fill == page) {
            int err = flush_page(w);
            if (err)
                return err;
        }
    }
    return ALOFT_OK;
}

void aloft_writer_truncate(aloft_writer_t *w)
{
    w->len = w->pos;
}

int aloft_writer_flush(aloft_writer_t *w)
{
    if (w->pos != w->len)
        return ALOFT_ERR_STATE;
    return flush_page(w);
}

int aloft_writer_read(const aloft_writer_t *w, uint32_t off, void *buf, size_t n)
{
    uint8_t *out = buf;
    if (n > w->end || off > w->end - n)
        return ALOFT_ERR_ARG;
    int err = w->flash->read(w->flash, w->base + off, out, n);
    if (err == 0 && w->head_held && off == 0 && n > 0)
        out[0] = w->head_byte;
    return err;
}

int aloft_writer_hash(const aloft_writer_t *w, const aloft_hash_alg_t *alg, uint8_t *digest)
{
    uint8_t chunk[256];
    aloft_hash_ctx_t h;
    int err = aloft_hash_init(alg, &h);
    for (uint32_t off = 0; !err && off < w->len; off += sizeof chunk) {
        uint32_t n = w->len - off < sizeof chunk ? w->len - off : (uint32_t)sizeof chunk;
        if ((err = aloft_writer_read(w, off, chunk, n)) != 0)
            aloft_hash_drop(alg, &h);
        else
            alg->update(&h, chunk, n);
    }
    if (!err)
        alg->finish(&h, digest);
    return err;
}

int aloft_writer_commit(aloft_writer_t *w)
{
    uint8_t check;
    if (!w->head_held)
        return ALOFT_OK;
    int err = w->flash->prog(w->flash, w->base, &w->head_byte, 1);
    if (!err)
        err = w->flash->read(w->flash, w->base, &check, 1);
    if (!err && check != w->head_byte)
        err = ALOFT_ERR_READBACK;
    if (!err)
        w->head_held = false;
    return err;
}
