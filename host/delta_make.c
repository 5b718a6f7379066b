/*
 * host/delta_make.c — the patch encoder (docs/FORMATS.md §3).
 *
 * Matching follows Colin Percival's bsdiff: a suffix array of the old image
 * (libdivsufsort) finds, for each position of the new image, the longest
 * exact match in the old; a match is taken when it beats, by more than 8
 * bytes, what simply continuing the previous alignment would give; each
 * taken match is extended forwards and backwards while at least half the
 * bytes agree, so small changes (shifted addresses) become "copy with
 * differences" whose difference bytes are mostly zero and compress well.
 * The result is a list of operations that cover the new image; they are
 * then cut into segments of the span (a multiple of 64 KiB: see
 * choose_span), written as entries and deflated per segment: by zlib, and
 * for DELTA_SMALLEST also by Zopfli's optimal parser, keeping the smaller
 * stream.
 */
#include "delta_host.h"

#include <divsufsort.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef ALOFT_HAVE_ZOPFLI
#include <zopfli/deflate.h>
#endif

#include "aloft/util.h"
#include "fileio.h"
#include "host_os.h"

/* new[ns .. ns+add) = old[os ..] + diff, then new[ns+add .. +ins) literal. */
typedef struct {
    int64_t ns, os, add, ins;
} op_t;

typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_varint(buf_t *b, uint32_t v)
{
    uint8_t t[5];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    put(b, t, n);
}

static void put_le(buf_t *b, uint32_t v, size_t n)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, t, n);
}

static int64_t match_len(const uint8_t *a, int64_t an, const uint8_t *b, int64_t bn)
{
    int64_t i = 0;
    while (i < an && i < bn && a[i] == b[i])
        i++;
    return i;
}

/* Longest match of nw[0..nn) among the old image's suffixes sa[lo..hi]. */
static int64_t longest(const saidx_t *sa, const uint8_t *old, int64_t on, const uint8_t *nw,
                       int64_t nn, int64_t lo, int64_t hi, int64_t *pos)
{
    while (hi - lo >= 2) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t n = on - sa[mid] < nn ? on - sa[mid] : nn;
        if (memcmp(old + sa[mid], nw, (size_t)n) < 0)
            lo = mid;
        else
            hi = mid;
    }
    int64_t x = match_len(old + sa[lo], on - sa[lo], nw, nn);
    int64_t y = match_len(old + sa[hi], on - sa[hi], nw, nn);
    *pos = x > y ? sa[lo] : sa[hi];
    return x > y ? x : y;
}

static void add_op(op_t **ops, size_t *n, size_t *cap, op_t o)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *ops = xrealloc(*ops, *cap * sizeof **ops);
    }
    (*ops)[(*n)++] = o;
}

/* The bsdiff scan: operations that cover nw[0..nn) in order. */
static op_t *find_ops(const uint8_t *old, int64_t on, const uint8_t *nw, int64_t nn,
                      const saidx_t *sa, size_t *nops)
{
    op_t *ops = NULL;
    size_t n = 0, cap = 0;
    int64_t scan = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0, lastoff = 0;
    while (scan < nn) {
        int64_t oldscore = 0, scsc;
        for (scsc = scan += len; scan < nn; scan++) {
            len = longest(sa, old, on, nw + scan, nn - scan, 0, on - 1, &pos);
            for (; scsc < scan + len; scsc++)
                if (scsc + lastoff >= 0 && scsc + lastoff < on && old[scsc + lastoff] == nw[scsc])
                    oldscore++;
            if ((len == oldscore && len != 0) || len > oldscore + 8)
                break;
            if (scan + lastoff >= 0 && scan + lastoff < on && old[scan + lastoff] == nw[scan])
                oldscore--;
        }
        if (len == oldscore && scan != nn)
            continue;
        /* Extend the previous match forwards while half its bytes agree... */
        int64_t s = 0, best = 0, lenf = 0;
        for (int64_t i = 0; lastscan + i < scan && lastpos + i < on;) {
            if (old[lastpos + i] == nw[lastscan + i])
                s++;
            i++;
            if (s * 2 - i > best * 2 - lenf)
                best = s, lenf = i;
        }
        /* ...and the new one backwards. */
        int64_t lenb = 0;
        if (scan < nn) {
            s = best = 0;
            for (int64_t i = 1; scan >= lastscan + i && pos >= i; i++) {
                if (old[pos - i] == nw[scan - i])
                    s++;
                if (s * 2 - i > best * 2 - lenb)
                    best = s, lenb = i;
            }
        }
        /* Where they overlap, split at the point that keeps most agreements. */
        if (lastscan + lenf > scan - lenb) {
            int64_t overlap = (lastscan + lenf) - (scan - lenb), lens = 0;
            s = best = 0;
            for (int64_t i = 0; i < overlap; i++) {
                if (nw[lastscan + lenf - overlap + i] == old[lastpos + lenf - overlap + i])
                    s++;
                if (nw[scan - lenb + i] == old[pos - lenb + i])
                    s--;
                if (s > best)
                    best = s, lens = i + 1;
            }
            lenf += lens - overlap;
            lenb -= lens;
        }
        add_op(&ops, &n, &cap,
               (op_t){lastscan, lastpos, lenf, (scan - lenb) - (lastscan + lenf)});
        lastscan = scan - lenb;
        lastpos = pos - lenb;
        lastoff = pos - scan;
    }
    *nops = n;
    return ops;
}

/* The entries of the segment new[lo..hi) (FORMATS.md §3.3). */
static void segment_entries(buf_t *e, const op_t *ops, size_t nops, const uint8_t *old,
                            const uint8_t *nw, int64_t lo, int64_t hi)
{
    int64_t cur = 0;   /* the decoder's base position, 0 at a segment start */
    for (size_t i = 0; i < nops; i++) {
        const op_t *o = &ops[i];
        int64_t a_lo = o->ns > lo ? o->ns : lo, a_hi = o->ns + o->add < hi ? o->ns + o->add : hi;
        int64_t i_lo = o->ns + o->add > lo ? o->ns + o->add : lo;
        int64_t i_hi = o->ns + o->add + o->ins < hi ? o->ns + o->add + o->ins : hi;
        int64_t add = a_hi > a_lo ? a_hi - a_lo : 0, ins = i_hi > i_lo ? i_hi - i_lo : 0;
        if (add == 0 && ins == 0)
            continue;
        int64_t from = add ? o->os + (a_lo - o->ns) : cur, seek = from - cur;
        put_varint(e, seek >= 0 ? (uint32_t)(seek * 2) : (uint32_t)(-seek * 2 - 1));
        put_varint(e, (uint32_t)add);
        put_varint(e, (uint32_t)ins);
        /* The differences as (zero run, byte) pairs, a last run to the end. */
        int64_t last = 0;
        for (int64_t k = 0; k < add; k++) {
            uint8_t d = (uint8_t)(nw[a_lo + k] - old[from + k]);
            if (d == 0)
                continue;
            put_varint(e, (uint32_t)(k - last));
            put(e, &d, 1);
            last = k + 1;
        }
        if (last < add)
            put_varint(e, (uint32_t)(add - last));
        put(e, nw + i_lo, (size_t)ins);
        cur = from + add;
    }
}

/* in deflated by zlib with one strategy into a new buffer (*out, *out_len). */
static int zlib_one(const buf_t *in, unsigned wbits, int strategy, buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, (int)wbits, 9, strategy) != Z_OK)
        return ALOFT_ERR_ARG;
    size_t bound = deflateBound(&z, (uLong)in->len);
    out->p = xmalloc(bound);
    z.next_in = in->p;
    z.avail_in = (uInt)in->len;
    z.next_out = out->p;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len = bound - z.avail_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? ALOFT_OK : ALOFT_ERR_ARG;
}

#ifdef ALOFT_HAVE_ZOPFLI
/* in as a zlib stream whose deflate data Zopfli found by optimal parsing.
 * Zopfli looks back up to 32 KiB but no further than the buffer it is
 * given, so the input goes to it in pieces that, with the `hist` bytes
 * before each it may refer to, fit the window: no distance can exceed what
 * the device's inflate keeps. */
static int zopfli_one(const buf_t *in, unsigned wbits, size_t hist, buf_t *out)
{
    ZopfliOptions o;
    ZopfliInitOptions(&o);
    unsigned char *d = NULL, bp = 0;
    size_t dn = 0, piece = ((size_t)1 << wbits) - hist;
    for (size_t at = 0; at < in->len || at == 0; at += piece) {
        size_t n = in->len - at < piece ? in->len - at : piece;
        size_t h0 = at < hist ? at : hist;
        ZopfliDeflatePart(&o, 2, at + n >= in->len, in->p + at - h0, h0, h0 + n, &bp, &d, &dn);
    }
    /* RFC 1950: CM 8 with the window, FLEVEL 3, the check bits. */
    unsigned cmf = ((wbits - 8) << 4) | 8, flg = 3u << 6;
    flg |= 31 - ((cmf << 8) | flg) % 31;
    uint8_t h[2] = {(uint8_t)cmf, (uint8_t)flg};
    uint32_t adler = (uint32_t)adler32(adler32(0, NULL, 0), in->p, (uInt)in->len);
    uint8_t t[4] = {(uint8_t)(adler >> 24), (uint8_t)(adler >> 16), (uint8_t)(adler >> 8),
                    (uint8_t)adler};
    put(out, h, 2);
    put(out, d, dn);
    put(out, t, 4);
    free(d);
    return ALOFT_OK;
}
#endif

/* Append in deflated: the smallest of zlib's default and filtered
 * strategies and, for DELTA_SMALLEST, Zopfli on pieces of the whole window
 * without history and on pieces of 7/8 of it with 1/8 of history (the
 * decoder cannot tell them apart; which wins depends on the input: P1's
 * one segment at 2^12 is 0.8 % smaller with history, P3's 0.2 % larger;
 * zlib wins at 2^15). */
static int deflate_into(buf_t *out, const buf_t *in, unsigned wbits, delta_effort_t effort)
{
    buf_t c[4] = {{0}, {0}, {0}, {0}};
    size_t n = 2, best = 0;
    int rc = zlib_one(in, wbits, Z_DEFAULT_STRATEGY, &c[0]);
    if (rc == ALOFT_OK)
        rc = zlib_one(in, wbits, Z_FILTERED, &c[1]);
#ifdef ALOFT_HAVE_ZOPFLI
    if (rc == ALOFT_OK && effort == DELTA_SMALLEST) {
        rc = zopfli_one(in, wbits, 0, &c[n++]);
        if (rc == ALOFT_OK)
            rc = zopfli_one(in, wbits, ((size_t)1 << wbits) / 8, &c[n++]);
    }
#else
    (void)effort;   /* aloft.exe: Debian has no Zopfli for mingw */
#endif
    for (size_t i = 1; i < n; i++)
        if (c[i].len < c[best].len)
            best = i;
    if (rc == ALOFT_OK)
        put(out, c[best].p, c[best].len);
    for (size_t i = 0; i < n; i++)
        free(c[i].p);
    return rc;
}

/* The entries of new[lo..hi) deflated, appended to body with their segment
 * header. */
static int put_segment(buf_t *body, buf_t *e, const op_t *ops, size_t nops, const uint8_t *old,
                       const uint8_t *nw, int64_t lo, int64_t hi, unsigned wbits,
                       delta_effort_t effort)
{
    e->len = 0;
    segment_entries(e, ops, nops, old, nw, lo, hi);
    size_t at = body->len;
    put_le(body, (uint32_t)lo, 4);
    put_le(body, 0, 4);   /* comp_len, once known */
    int rc = deflate_into(body, e, wbits, effort);
    uint32_t comp = (uint32_t)(body->len - at - ALOFT_DELTA_SEG_HDR);
    for (int b = 0; b < 4; b++)
        body->p[at + 4 + (size_t)b] = (uint8_t)(comp >> (8 * b));
    return rc;
}

/* The span: the most 64 KiB marks per segment such that no segment's
 * 64 KiB pieces, deflated on their own (zlib, an upper bound of the
 * segment's stream), add up to more than DELTA_SPAN_BOUND. Every zlib
 * stream starts with no history and its base position at 0, so fewer
 * segments make a smaller patch; the bound keeps what a resume sends again
 * (the rest of the cut segment) small. */
static uint32_t choose_span(const op_t *ops, size_t nops, const uint8_t *old, const uint8_t *nw,
                            size_t new_len, unsigned wbits)
{
    size_t marks = (new_len + ALOFT_DELTA_MARK - 1) / ALOFT_DELTA_MARK;
    size_t *comp = xmalloc(marks * sizeof *comp);
    buf_t e = {0}, z = {0};
    for (size_t k = 0; k < marks; k++) {
        int64_t lo = (int64_t)(k * ALOFT_DELTA_MARK);
        int64_t hi = lo + ALOFT_DELTA_MARK < (int64_t)new_len ? lo + ALOFT_DELTA_MARK
                                                              : (int64_t)new_len;
        e.len = 0;
        segment_entries(&e, ops, nops, old, nw, lo, hi);
        comp[k] = zlib_one(&e, wbits, Z_DEFAULT_STRATEGY, &z) == ALOFT_OK ? z.len : SIZE_MAX / 2;
        free(z.p);
        z.p = NULL;
    }
    free(e.p);
    size_t m = marks;
    for (; m > 1; m--) {
        bool fits = true;
        for (size_t k = 0; k < marks && fits; k += m) {
            size_t sum = 0;
            for (size_t i = k; i < k + m && i < marks; i++)
                sum += comp[i];
            fits = sum <= DELTA_SPAN_BOUND;
        }
        if (fits)
            break;
    }
    free(comp);
    return (uint32_t)(m * ALOFT_DELTA_MARK);
}

void delta_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    aloft_hash_ctx_t c;
    aloft_hash_init(host_crypto->sha256, &c);
    host_crypto->sha256->update(&c, p, n);
    host_crypto->sha256->finish(&c, out);
}

int delta_make(const uint8_t *old, size_t old_len, const uint8_t *new_img, size_t new_len,
               const uint8_t *sig, size_t sig_len, unsigned window_bits, uint32_t span,
               delta_effort_t effort, uint8_t **out, size_t *out_len)
{
    if (window_bits < ALOFT_DELTA_MIN_WBITS || window_bits > ALOFT_DELTA_MAX_WBITS ||
        (sig_len > 0 && (sig == NULL || sig_len > ALOFT_SIG_BLOCK_MAX)) ||
        span % ALOFT_DELTA_MARK != 0)
        return ALOFT_ERR_ARG;
    if (old_len == 0 || new_len == 0 || old_len > FILEIO_MAX_BYTES || new_len > FILEIO_MAX_BYTES)
        return ALOFT_ERR_SIZE;
    saidx_t *sa = xmalloc(old_len * sizeof *sa);
    if (divsufsort(old, sa, (saidx_t)old_len) != 0) {
        free(sa);
        return ALOFT_ERR_ARG;
    }
    size_t nops;
    op_t *ops = find_ops(old, (int64_t)old_len, new_img, (int64_t)new_len, sa, &nops);
    free(sa);

    if (span == 0)
        span = choose_span(ops, nops, old, new_img, new_len, window_bits);
    /* A span past the image is one segment; the header says the image's
     * marks rounded up, so every span reads the same. */
    uint64_t whole = (new_len + ALOFT_DELTA_MARK - 1) / ALOFT_DELTA_MARK * ALOFT_DELTA_MARK;
    if (span > whole)
        span = (uint32_t)whole;
    buf_t body = {0}, e = {0};
    uint32_t segs = (uint32_t)((new_len + span - 1) / span);
    int rc = ALOFT_OK;
    for (uint32_t k = 0; k < segs && rc == ALOFT_OK; k++) {
        int64_t lo = (int64_t)k * span;
        int64_t hi = lo + span < (int64_t)new_len ? lo + span : (int64_t)new_len;
        rc = put_segment(&body, &e, ops, nops, old, new_img, lo, hi, window_bits, effort);
    }
    free(ops);
    free(e.p);
    if (rc != ALOFT_OK) {
        free(body.p);
        return rc;
    }

    buf_t h = {0};
    uint8_t sha[32];
    put(&h, ALOFT_DELTA_MAGIC, 4);
    put_le(&h, ALOFT_DELTA_VERSION, 1);
    put_le(&h, window_bits, 1);
    put_le(&h, (uint32_t)(ALOFT_DELTA_FIXED_LEN + 4 + sig_len), 2);
    put_le(&h, (uint32_t)old_len, 4);
    delta_sha256(old, old_len, sha);
    put(&h, sha, 32);
    put_le(&h, (uint32_t)new_len, 4);
    delta_sha256(new_img, new_len, sha);
    put(&h, sha, 32);
    put_le(&h, segs, 2);
    put_le(&h, (uint32_t)sig_len, 2);
    put_le(&h, (uint32_t)body.len, 4);
    put_le(&h, span, 4);
    if (sig_len > 0)
        put(&h, sig, sig_len);
    put_le(&h, aloft_crc32(0, h.p, h.len), 4);
    put(&h, body.p, body.len);
    free(body.p);
    *out = h.p;
    *out_len = h.len;
    return ALOFT_OK;
}
