/*
 * lib/delta.c — the delta patch decoder (contract in aloft/delta.h, format
 * in docs/FORMATS.md §3).
 *
 * Patch bytes pass through three phases: the header (buffered whole, then
 * checked), an 8-byte segment header, and the segment's zlib stream (or,
 * for a segment wholly below a resume's durable mark, its bytes skipped). The
 * inflated entries run through a small machine: three varints (seek, add
 * length, insert length), then the add bytes as runs of unchanged base
 * bytes each followed by one difference byte, then insert bytes (literal).
 * A segment must produce exactly its span of the new image and its zlib
 * stream must end exactly at its compressed length.
 */
#include <string.h>

#include "aloft/delta.h"
#include "aloft/util.h"
#include "bytes.h"

enum { PH_HEADER, PH_SEGHDR, PH_BODY, PH_SKIP, PH_DONE };
/* The varint fields come first: op < OP_DIFF reads a varint. */
enum { OP_SEEK, OP_ADDLEN, OP_INSLEN, OP_RUN, OP_DIFF, OP_INS };

static int fail(aloft_delta_t *d, int err, uint32_t have, uint32_t want, const char *where)
{
    if (d->inflating)
        d->cfg.inflate->end(d->cfg.inflate->ctx);
    d->inflating = false;
    d->err = aloft_diag_set(&d->diag, err, have, want, where);
    return d->err;
}

static int bad(aloft_diag_t *d, size_t at, const char *field)
{
    return aloft_diag_set(d, ALOFT_ERR_PATCH, (uint32_t)at, 0, field);
}

uint32_t aloft_delta_segment_len(const aloft_delta_header_t *h, uint32_t k)
{
    if (k >= h->segment_count)
        return 0;
    uint32_t start = k * h->segment_span;   /* below new_size: no overflow */
    return h->new_size - start < h->segment_span ? h->new_size - start : h->segment_span;
}

int aloft_delta_parse_header(const uint8_t *p, size_t len, aloft_delta_header_t *h,
                             aloft_diag_t *d)
{
    if (p == NULL || h == NULL)
        return ALOFT_ERR_ARG;
    if (len < 8)
        return bad(d, len, "truncated");
    if (memcmp(p, ALOFT_DELTA_MAGIC, 4) != 0)
        return bad(d, 0, "magic");
    if (p[4] == 1)   /* one segment per 64 KiB: no decoder for it is kept */
        return bad(d, 4, "version 1 (old)");
    if (p[4] != ALOFT_DELTA_VERSION)
        return bad(d, 4, "version");
    uint16_t hlen = aloft_ld16(p + 6);
    if (hlen < ALOFT_DELTA_FIXED_LEN + 4 || hlen > ALOFT_DELTA_HEADER_MAX)
        return bad(d, 6, "header length");
    if (len < hlen)
        return bad(d, len, "truncated");
    if (aloft_crc32(0, p, hlen - 4u) != aloft_ld32(p + hlen - 4))
        return bad(d, hlen - 4u, "header CRC");

    memset(h, 0, sizeof *h);
    h->window_bits = p[5];
    h->header_len = hlen;
    h->base_size = aloft_ld32(p + 8);
    memcpy(h->base_sha256, p + 12, 32);
    h->new_size = aloft_ld32(p + 44);
    memcpy(h->new_sha256, p + 48, 32);
    h->segment_count = aloft_ld16(p + 80);
    h->sig_len = aloft_ld16(p + 82);
    h->body_len = aloft_ld32(p + 84);
    h->segment_span = aloft_ld32(p + 88);

    if (h->window_bits < ALOFT_DELTA_MIN_WBITS || h->window_bits > ALOFT_DELTA_MAX_WBITS)
        return bad(d, 5, "window bits");
    if (h->base_size == 0)
        return bad(d, 8, "base size");
    if (h->segment_span == 0 || h->segment_span % ALOFT_DELTA_MARK != 0)
        return bad(d, 88, "segment span");
    uint32_t segs = h->new_size / h->segment_span + (h->new_size % h->segment_span != 0);
    if (h->new_size == 0 || segs > 0xFFFFu)
        return bad(d, 44, "new size");
    if (h->segment_count != segs)
        return bad(d, 80, "segment count");
    if (hlen != ALOFT_DELTA_FIXED_LEN + 4u + h->sig_len)
        return bad(d, 82, "signature length");
    /* A segment holds at least its header and a zlib header and trailer. */
    if (h->body_len < (uint64_t)segs * (ALOFT_DELTA_SEG_HDR + 6u) ||
        (uint64_t)hlen + h->body_len > 0xFFFFFFFFu)
        return bad(d, 84, "body length");
    if (h->sig_len > 0) {
        aloft_sig_block_t sb;
        h->sig = p + ALOFT_DELTA_FIXED_LEN;
        if (aloft_sig_parse(h->sig, h->sig_len, &sb) != 0)
            return bad(d, ALOFT_DELTA_FIXED_LEN, "signature block");
        if (sb.meta.image_size != h->new_size ||
            memcmp(sb.meta.image_sha256, h->new_sha256, 32) != 0)
            return aloft_diag_set(d, ALOFT_ERR_SIGNED_MISMATCH, 0, 0, "new image");
    }
    return hlen;
}

long aloft_delta_find_segment(const uint8_t *patch, size_t len, const aloft_delta_header_t *h,
                              uint32_t k, uint32_t *comp_len, aloft_diag_t *d)
{
    size_t at = h->header_len, end = (size_t)h->header_len + h->body_len;
    if (k >= h->segment_count)
        return aloft_diag_set(d, ALOFT_ERR_ARG, k, h->segment_count, NULL);
    for (uint32_t i = 0;; i++) {
        if (at + ALOFT_DELTA_SEG_HDR > end || at + ALOFT_DELTA_SEG_HDR > len)
            return bad(d, at, "truncated");
        if (aloft_ld32(patch + at) != i * h->segment_span)
            return bad(d, at, "segment offset");
        uint32_t comp = aloft_ld32(patch + at + 4);
        if (comp > end - at - ALOFT_DELTA_SEG_HDR)
            return bad(d, at + 4, "segment length");
        if (i == k) {
            *comp_len = comp;
            return (long)at;
        }
        at += ALOFT_DELTA_SEG_HDR + comp;
    }
}

int aloft_delta_init(aloft_delta_t *d, const aloft_delta_cfg_t *cfg)
{
    if (d == NULL || cfg == NULL || cfg->read_base == NULL || cfg->write == NULL ||
        cfg->inflate == NULL || cfg->base_sha256 == NULL)
        return ALOFT_ERR_ARG;
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    d->phase = PH_HEADER;
    return ALOFT_OK;
}

const aloft_delta_header_t *aloft_delta_header(const aloft_delta_t *d)
{
    return d->phase == PH_HEADER ? NULL : &d->hdr;
}

/* Where the decoder is in the new image (written or dropped). */
static uint32_t new_pos(const aloft_delta_t *d)
{
    return d->phase == PH_DONE ? d->hdr.new_size : d->seg * d->hdr.segment_span + d->seg_out;
}

uint32_t aloft_delta_new_offset(const aloft_delta_t *d)
{
    return d->phase == PH_HEADER || new_pos(d) < d->durable ? d->durable : new_pos(d);
}

const aloft_diag_t *aloft_delta_diag(const aloft_delta_t *d)
{
    return &d->diag;
}

/* The whole header is in hbuf: check it and the base it names. */
static int accept_header(aloft_delta_t *d)
{
    int r = aloft_delta_parse_header(d->hbuf, d->fill, &d->hdr, &d->diag);
    if (r < 0)
        return d->err = r;   /* the parser filled d->diag */
    if (d->hdr.base_size != d->cfg.base_size)
        return fail(d, ALOFT_ERR_PATCH_BASE, d->cfg.base_size, d->hdr.base_size, "size");
    if (memcmp(d->hdr.base_sha256, d->cfg.base_sha256, 32) != 0)
        return fail(d, ALOFT_ERR_PATCH_BASE, d->cfg.base_size, d->hdr.base_size, "SHA-256");
    if (d->hdr.window_bits > d->cfg.inflate->max_window_bits)
        return fail(d, ALOFT_ERR_PATCH_WINDOW, d->hdr.window_bits,
                    d->cfg.inflate->max_window_bits, NULL);
    d->phase = PH_SEGHDR;
    d->fill = 0;
    return ALOFT_OK;
}

int aloft_delta_resume(aloft_delta_t *d, uint32_t durable, uint32_t patch_offset)
{
    if (d->err)
        return d->err;
    if (d->phase != PH_SEGHDR || d->seg != 0 || d->fill != 0 || d->any_first ||
        d->patch_pos != d->hdr.header_len)
        return ALOFT_ERR_STATE;
    /* A segment is at least its header and a zlib header and trailer. */
    if (durable % ALOFT_DELTA_MARK != 0 || durable >= d->hdr.new_size ||
        patch_offset < d->hdr.header_len ||
        patch_offset > (uint64_t)d->hdr.header_len + d->hdr.body_len - (ALOFT_DELTA_SEG_HDR + 6u))
        return ALOFT_ERR_ARG;
    d->durable = durable;
    d->any_first = true;
    d->patch_pos = patch_offset;
    return ALOFT_OK;
}

static uint32_t body_end(const aloft_delta_t *d)
{
    return d->hdr.header_len + d->hdr.body_len;
}

/* The 8-byte segment header is in shdr. The first one after a resume may
 * be any segment up to the one that holds durable; then they follow in
 * order. A segment that ends at or before durable is skipped uninflated. */
static int begin_segment(aloft_delta_t *d)
{
    uint32_t at = d->patch_pos - ALOFT_DELTA_SEG_HDR, span = d->hdr.segment_span;
    uint32_t off = aloft_ld32(d->shdr), comp = aloft_ld32(d->shdr + 4);
    if (d->any_first) {
        if (off % span != 0 || off / span > d->durable / span)
            return fail(d, ALOFT_ERR_PATCH, at, d->durable / span * span, "segment offset");
        d->seg = off / span;
        d->any_first = false;
    }
    if (off != d->seg * span)
        return fail(d, ALOFT_ERR_PATCH, at, d->seg * span, "segment offset");
    if (comp < 6 || comp > body_end(d) - d->patch_pos)
        return fail(d, ALOFT_ERR_PATCH, at + 4, body_end(d) - d->patch_pos, "segment length");
    d->comp_left = comp;
    d->seg_len = aloft_delta_segment_len(&d->hdr, d->seg);
    d->seg_out = 0;
    if ((uint64_t)off + d->seg_len <= d->durable) {
        d->phase = PH_SKIP;
        return ALOFT_OK;
    }
    int r = d->cfg.inflate->begin(d->cfg.inflate->ctx, d->hdr.window_bits);
    if (r < 0)
        return fail(d, r, d->hdr.window_bits, d->cfg.inflate->max_window_bits, "inflate");
    d->inflating = true;
    d->old_pos = 0;
    d->op = OP_SEEK;
    d->vval = d->vshift = 0;
    d->phase = PH_BODY;
    return ALOFT_OK;
}

/* The next n new bytes: those below durable are dropped, not written. */
static int emit(aloft_delta_t *d, const uint8_t *p, size_t n)
{
    uint32_t at = new_pos(d), drop = at >= d->durable ? 0 : d->durable - at;
    if (drop < n) {
        int r = d->cfg.write(d->cfg.ctx, p + drop, n - drop);
        if (r < 0)
            return fail(d, r, at + drop, 0, NULL);
    }
    d->seg_out += (uint32_t)n;
    return ALOFT_OK;
}

/* Bytes from the decoder's position up to durable: output not wanted. */
static uint32_t below_durable(const aloft_delta_t *d)
{
    return new_pos(d) < d->durable ? d->durable - new_pos(d) : 0;
}

/* After an add's bytes, or when it has none: the insert, or the next entry. */
static void after_add(aloft_delta_t *d)
{
    d->op = d->add_left ? OP_RUN : d->ins_left ? OP_INS : OP_SEEK;
}

/* Make obuf hold the base from pos (< base_size) on; *avail = bytes there.
 * Reads a whole buffer at a time: a difference byte costs no flash read of
 * its own. */
static int base_at(aloft_delta_t *d, uint32_t pos, uint32_t *avail)
{
    *avail = 0;
    if (pos < d->cache_off || pos - d->cache_off >= d->cache_len) {
        uint32_t k = d->cfg.base_size - pos < sizeof d->obuf ? d->cfg.base_size - pos
                                                             : (uint32_t)sizeof d->obuf;
        int r = d->cfg.read_base(d->cfg.ctx, pos, d->obuf, k);
        if (r < 0)
            return fail(d, r, pos, k, "base read");
        d->cache_off = pos;
        d->cache_len = k;
    }
    *avail = d->cache_len - (pos - d->cache_off);
    return ALOFT_OK;
}

/* Copy n base bytes unchanged (a run of zero differences). Below durable
 * the base is not even read. */
static int copy_base(aloft_delta_t *d, uint32_t n)
{
    while (n > 0) {
        uint32_t k = below_durable(d);
        if (k > 0) {
            k = n < k ? n : k;
            d->seg_out += k;
        } else {
            int r = base_at(d, d->old_pos, &k);
            if (r < 0)
                return r;
            k = n < k ? n : k;
            if ((r = emit(d, d->obuf + (d->old_pos - d->cache_off), k)) < 0)
                return r;
        }
        d->old_pos += k;
        d->add_left -= k;
        n -= k;
    }
    return ALOFT_OK;
}

/* One varint of an entry is complete in v: check it against the segment. */
static int take_field(aloft_delta_t *d, uint32_t v)
{
    uint32_t room = d->seg_len - d->seg_out;
    switch (d->op) {
    case OP_SEEK: {
        /* zigzag: 2n for n >= 0, 2|n| - 1 for n < 0 */
        int64_t to = (int64_t)d->old_pos + ((v & 1u) ? -(int64_t)(v >> 1) - 1 : (int64_t)(v >> 1));
        if (to < 0 || to > d->cfg.base_size)
            return fail(d, ALOFT_ERR_PATCH, d->patch_pos, d->cfg.base_size, "seek");
        d->old_pos = (uint32_t)to;
        d->op = OP_ADDLEN;
        break;
    }
    case OP_ADDLEN:
        if (v > room || v > d->cfg.base_size - d->old_pos)
            return fail(d, ALOFT_ERR_PATCH, d->patch_pos, room, "copy length");
        d->add_left = v;
        d->op = OP_INSLEN;
        break;
    case OP_INSLEN:
        if (v > room - d->add_left)
            return fail(d, ALOFT_ERR_PATCH, d->patch_pos, room - d->add_left, "insert length");
        d->ins_left = v;
        after_add(d);
        break;
    default: { /* OP_RUN: v unchanged bytes, then one difference byte */
        if (v > d->add_left)
            return fail(d, ALOFT_ERR_PATCH, d->patch_pos, d->add_left, "zero run");
        int r = copy_base(d, v);
        if (r < 0)
            return r;
        if (d->add_left)
            d->op = OP_DIFF;
        else
            after_add(d);
        break;
    }
    }
    return ALOFT_OK;
}

/* Run n inflated bytes through the entry machine. */
static int run_entries(aloft_delta_t *d, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (d->op == OP_DIFF) {
            uint32_t avail;
            int r = below_durable(d) ? 0 : base_at(d, d->old_pos, &avail);
            if (r < 0)
                return r;
            uint8_t b = below_durable(d) ? 0 : (uint8_t)(d->obuf[d->old_pos - d->cache_off] + *p);
            p++;
            n--;
            if ((r = emit(d, &b, 1)) < 0)
                return r;
            d->old_pos++;
            d->add_left--;
            after_add(d);
        } else if (d->op == OP_INS) {
            size_t k = n < d->ins_left ? n : d->ins_left;
            int r = emit(d, p, k);
            if (r < 0)
                return r;
            d->ins_left -= (uint32_t)k;
            p += k, n -= k;
            if (d->ins_left == 0)
                d->op = OP_SEEK;
        } else {
            if (d->op == OP_SEEK && d->vshift == 0 && d->seg_out == d->seg_len)
                return fail(d, ALOFT_ERR_PATCH, d->patch_pos, 0, "past segment end");
            uint8_t b = *p++;
            n--;
            if (d->vshift == 28 && b > 0x0F)
                return fail(d, ALOFT_ERR_PATCH, d->patch_pos, 0, "varint");
            d->vval |= (uint32_t)(b & 0x7F) << d->vshift;
            if (b & 0x80) {
                d->vshift += 7;
                continue;
            }
            uint32_t v = d->vval;
            d->vval = d->vshift = 0;
            int r = take_field(d, v);
            if (r < 0)
                return r;
        }
    }
    return ALOFT_OK;
}

/* A segment decoded or skipped: the next one's header, or the end. */
static void next_segment(aloft_delta_t *d)
{
    d->seg++;
    d->seg_out = 0;
    d->phase = d->seg == d->hdr.segment_count ? PH_DONE : PH_SEGHDR;
    d->fill = 0;
}

/* The segment's zlib stream ended: it must have produced exactly its share. */
static int end_segment(aloft_delta_t *d)
{
    d->cfg.inflate->end(d->cfg.inflate->ctx);
    d->inflating = false;
    if (d->comp_left != 0)
        return fail(d, ALOFT_ERR_PATCH, d->patch_pos, d->comp_left, "segment length");
    if (d->seg_out != d->seg_len || d->op != OP_SEEK || d->vshift != 0)
        return fail(d, ALOFT_ERR_PATCH, d->patch_pos, d->seg_len - d->seg_out, "segment short");
    next_segment(d);
    return ALOFT_OK;
}

/* Feed up to comp_left zlib bytes; returns bytes consumed or an error. */
static int feed_body(aloft_delta_t *d, const uint8_t *p, size_t n)
{
    size_t take = n < d->comp_left ? n : d->comp_left, used_all = 0;
    for (;;) {
        size_t used = 0, out = 0;
        int rc = d->cfg.inflate->run(d->cfg.inflate->ctx, p + used_all, take - used_all, &used,
                                     d->zout, sizeof d->zout, &out);
        if (rc < 0)
            return fail(d, ALOFT_ERR_PATCH, d->patch_pos, 0, "zlib data");
        used_all += used;
        d->comp_left -= (uint32_t)used;
        d->patch_pos += (uint32_t)used;
        int r = run_entries(d, d->zout, out);
        if (r < 0)
            return r;
        if (rc == 1) {
            r = end_segment(d);
            return r < 0 ? r : (int)used_all;
        }
        /* Stop when the input is used up and inflate has nothing pending. */
        if (out < sizeof d->zout && used_all == take)
            break;
        if (out == 0 && used == 0) {
            if (used_all < take)   /* input left, room for output, no progress */
                return fail(d, ALOFT_ERR_PATCH, d->patch_pos, 0, "zlib data");
            break;
        }
    }
    if (d->comp_left == 0)
        return fail(d, ALOFT_ERR_PATCH, d->patch_pos, 0, "segment length");
    return (int)used_all;
}

/* Header bytes to buffer, once the first 8 are in: its length if that and
 * the magic and version are plausible, else just those 8. */
static size_t header_want(const aloft_delta_t *d)
{
    uint16_t hlen = aloft_ld16(d->hbuf + 6);
    if (memcmp(d->hbuf, ALOFT_DELTA_MAGIC, 4) != 0 || d->hbuf[4] != ALOFT_DELTA_VERSION ||
        hlen < ALOFT_DELTA_FIXED_LEN + 4 || hlen > ALOFT_DELTA_HEADER_MAX)
        return 8;
    return hlen;
}

int aloft_delta_feed(aloft_delta_t *d, const uint8_t *data, size_t len)
{
    if (d == NULL || (data == NULL && len > 0))
        return ALOFT_ERR_ARG;
    if (d->err)
        return d->err;
    while (len > 0) {
        size_t k;
        if (d->phase == PH_HEADER) {
            /* Bytes 0..7 say how long the header is; an implausible start
             * goes to the parser at once, which names the bad field. */
            size_t want = d->fill < 8 ? 8 : header_want(d);
            k = want - d->fill < len ? want - d->fill : len;
            memcpy(d->hbuf + d->fill, data, k);
            d->fill += (uint32_t)k;
            d->patch_pos += (uint32_t)k;
            if (d->fill >= 8 && d->fill == header_want(d)) {
                int r = accept_header(d);
                if (r < 0)
                    return r;
            }
        } else if (d->phase == PH_SEGHDR) {
            k = ALOFT_DELTA_SEG_HDR - d->fill < len ? ALOFT_DELTA_SEG_HDR - d->fill : len;
            memcpy(d->shdr + d->fill, data, k);
            d->fill += (uint32_t)k;
            d->patch_pos += (uint32_t)k;
            if (d->fill == ALOFT_DELTA_SEG_HDR) {
                int r = begin_segment(d);
                if (r < 0)
                    return r;
            }
        } else if (d->phase == PH_BODY) {
            int r = feed_body(d, data, len);
            if (r < 0)
                return r;
            k = (size_t)r;
        } else if (d->phase == PH_SKIP) {
            k = d->comp_left < len ? d->comp_left : len;
            d->comp_left -= (uint32_t)k;
            d->patch_pos += (uint32_t)k;
            if (d->comp_left == 0)
                next_segment(d);
        } else {
            return fail(d, ALOFT_ERR_PATCH, d->patch_pos, body_end(d), "after the end");
        }
        data += k;
        len -= k;
    }
    return ALOFT_OK;
}

int aloft_delta_finish(aloft_delta_t *d)
{
    if (d->err)
        return d->err;
    if (d->phase != PH_DONE)
        return fail(d, ALOFT_ERR_PATCH, d->patch_pos,
                    d->phase == PH_HEADER ? 0 : body_end(d), "truncated");
    return ALOFT_OK;
}

void aloft_delta_abort(aloft_delta_t *d)
{
    if (d->inflating)
        d->cfg.inflate->end(d->cfg.inflate->ctx);
    d->inflating = false;
}
