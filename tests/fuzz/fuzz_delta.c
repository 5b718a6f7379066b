/*
 * tests/fuzz/fuzz_delta.c — libFuzzer target: the delta patch decoder
 * (lib/delta.c) on arbitrary patches.
 *
 * Input: byte 0 picks how, the rest is the patch. Bit 0 set: the header's
 * base size and SHA-256 are rewritten to name this target's base and its
 * CRC fixed, so mutations reach the segments and entries (without it they
 * mostly die at the CRC, which is tested too). Bit 1 set as well: the new
 * image is cut to one segment of at most 4 KiB (outputs of many 64 KiB
 * segments take milliseconds; the multi-segment paths are kept without
 * it). Bits 2..7 + 1 are the piece size of the second decoding.
 *
 * Rules checked: every call answers 0 or a negative aloft code; the
 * decoder never reads the base outside it nor writes more than the
 * header's new_size; before the header is accepted nothing is written; an
 * accepted patch wrote exactly new_size bytes; decoding whole and in
 * pieces gives the same answer, and for an accepted patch the same bytes
 * (CRC-32 and count). The pieces run for every accepted patch and one
 * refused input in four (byte 0 bits 6..7 both set): that keeps the
 * target above 20,000 runs a second. An accepted patch of more than one
 * 64 KiB mark is decoded a third time, resumed at a mark (byte 0 picks
 * which) and fed from the header's end: it must write exactly the bytes
 * from that mark on that the first decoding wrote (CRC-32 and count).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/delta.h"
#include "aloft/util.h"
#include "crypto_mbedtls.h"
#include "inflate_zlib.h"
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE_LEN (160u * 1024u)   /* larger than the seeds' bases */

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static uint8_t base[BASE_LEN], base_sha[32];

typedef struct {
    aloft_delta_t d;
    inflate_zlib_t zst;
    aloft_inflate_t inf;
    uint32_t crc, out;
    uint32_t start;            /* new-image offset of the first byte written */
    uint32_t tail_from, tail;  /* CRC-32 of the bytes from tail_from on */
} run_t;

static int rd(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    (void)ctx;
    check(off <= BASE_LEN && len <= BASE_LEN - off);
    memcpy(buf, base + off, len);
    return 0;
}

static int wr(void *ctx, const uint8_t *p, size_t len)
{
    run_t *r = ctx;
    const aloft_delta_header_t *h = aloft_delta_header(&r->d);
    uint32_t at = r->start + r->out;
    check(h != NULL && len > 0 && at + len <= h->new_size);
    check(aloft_delta_new_offset(&r->d) == at);
    r->crc = (uint32_t)crc32(r->crc, p, (uInt)len);   /* zlib's: not instrumented */
    if (at + len > r->tail_from) {
        size_t skip = at >= r->tail_from ? 0 : r->tail_from - at;
        r->tail = (uint32_t)crc32(r->tail, p + skip, (uInt)(len - skip));
    }
    r->out += (uint32_t)len;
    return 0;
}

/* Decode p in pieces of step; resumed with `durable` in place (> 0: fed
 * the header, then told so, then the rest). tail_from: see run_t. */
static int decode(run_t *r, const uint8_t *p, size_t n, size_t step, uint32_t durable,
                  uint32_t tail_from)
{
    memset(r, 0, sizeof *r);
    r->start = durable;
    r->tail_from = tail_from;
    inflate_zlib_init(&r->inf, &r->zst, 12);
    aloft_delta_cfg_t cfg = {BASE_LEN, base_sha, rd, wr, &r->inf, r};
    check(aloft_delta_init(&r->d, &cfg) == 0);
    int e = 0;
    size_t at = 0;
    if (durable > 0) {
        uint16_t hl = (uint16_t)(p[6] | p[7] << 8);   /* parsed: durable > 0 */
        e = aloft_delta_feed(&r->d, p, hl);
        if (e == 0)
            e = aloft_delta_resume(&r->d, durable, hl);
        at = hl;
    }
    for (; at < n && e == 0; at += step)
        e = aloft_delta_feed(&r->d, p + at, n - at < step ? n - at : step);
    if (e == 0)
        e = aloft_delta_finish(&r->d);
    check(e <= 0 && e > -128);
    if (e == 0)
        check(r->start + r->out == aloft_delta_header(&r->d)->new_size);
    aloft_delta_abort(&r->d);
    return e;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run_t a, b;
    static uint8_t *buf;
    if (buf == NULL) {
        uint32_t x = 0x12345678;
        for (size_t i = 0; i < BASE_LEN; i++)
            x = x * 1103515245u + 12345u, base[i] = (uint8_t)(x >> 24);
        aloft_hash_ctx_t c;
        aloft_hash_init(&aloft_mbedtls_sha256, &c);
        aloft_mbedtls_sha256.update(&c, base, BASE_LEN);
        aloft_mbedtls_sha256.finish(&c, base_sha);
        buf = malloc(1u << 20);
    }
    if (size < 1 || size > (1u << 20))
        return 0;
    size_t n = size - 1;
    memcpy(buf, data + 1, n);
    if ((data[0] & 1) && n >= ALOFT_DELTA_FIXED_LEN + 4) {
        uint16_t hl = (uint16_t)(buf[6] | buf[7] << 8);
        if (hl >= ALOFT_DELTA_FIXED_LEN + 4 && hl <= n) {
            put32(buf + 8, BASE_LEN);
            memcpy(buf + 12, base_sha, 32);
            if (data[0] & 2) {   /* one short segment: many more runs per second */
                uint32_t ns = (uint32_t)(buf[44] | buf[45] << 8) % 4096u + 1u;
                put32(buf + 44, ns);
                buf[80] = 1, buf[81] = 0;
            }
            put32(buf + hl - 4, aloft_crc32(0, buf, hl - 4u));
        }
    }
    /* The mark a third decoding resumes at, if the patch has more than one. */
    aloft_delta_header_t h;
    uint32_t marks = 0, mark = 0;
    if (aloft_delta_parse_header(buf, n, &h, NULL) > 0) {
        marks = h.new_size / ALOFT_DELTA_MARK + (h.new_size % ALOFT_DELTA_MARK != 0);
        mark = marks > 1 ? (1u + (uint32_t)(data[0] >> 2) % (marks - 1)) * ALOFT_DELTA_MARK : 0;
    }
    int ea = decode(&a, buf, n, n ? n : 1, 0, mark ? mark : UINT32_MAX);
    /* The second decoding, in pieces, for accepted patches and one input
     * in four of the rest (byte 0's top bits): it costs more than the
     * first, and most inputs die early. */
    if (ea == 0 || (data[0] & 0xC0) == 0xC0) {
        int eb = decode(&b, buf, n, (size_t)(data[0] >> 2) + 1, 0, UINT32_MAX);
        /* On corrupt zlib data, how much inflate flushed before saying so
         * depends on the pieces; the answer does not. */
        check(ea == eb && (ea != 0 || (a.out == b.out && a.crc == b.crc)));
    }
    if (ea == 0 && mark > 0) {
        static run_t c;
        check(decode(&c, buf, n, 4096, mark, 0) == 0);
        check(c.out == h.new_size - mark && c.crc == a.tail);
    }
    return 0;
}
