/*
 * tests/unit/test_delta.c — delta patches (docs/FORMATS.md §3) on the real
 * fixture pairs of shared/fixtures/firmware/SOURCES.md: made by the host
 * encoder, decoded by the core decoder in whole, in 1-byte pieces and
 * resumed at every 64 KiB mark (inside segments of several marks too), and (every ESP32-family pair) uploaded to a
 * simulated device of its chip that rebuilds and boots the new image; refused for another base, a larger window, a
 * truncation and every kind of tampering, before any output where the
 * header alone tells. Without the fixtures: exit 77 (fails under CI=true).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fixtures.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/delta.h"
#include "aloft/util.h"
#include "delta_device.h"
#include "delta_host.h"
#include "fileio.h"
#include "inflate_zlib.h"
#include <zlib.h>

typedef struct {
    const char *name, *old, *new_;
} pair_t;

static const pair_t pairs[] = {
    {"P1", "esp32_nim_ble_ota-b0767c3e", "esp32_nim_ble_ota-0ab0db3c"},
    {"P1x", "esp32_nim_ble_ota-5b4d670b", "esp32_nim_ble_ota-b0767c3e"},
    {"P2", "esp32fota_anyfs_stage1-484e1de0", "esp32fota_anyfs_stage1-47803c41"},
    {"P3", "hello-world_esp32-9fa9d6d8", "hello-world_esp32-994d0965"},
    {"P4", "hello_world_esp32s2-15742055", "hello_world_esp32s2-25401b9d"},
    {"P5", "hello_world_esp32c3-6b741fc9", "hello_world_esp32c3-25401b9d"},
    {"P6", "hello_world_esp32s3-6b741fc9", "hello_world_esp32s3-25401b9d"},
    {"P7", "micropython_esp8266-v1.9.4", "micropython_esp8266-v1.10"},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

static uint8_t *load(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.bin", fixture_dir(), name);
    uint8_t *p = read_file(path, len);
    if (p == NULL)
        fail_msg("fixture %s is listed in SOURCES.md but cannot be read", path);
    return p;
}

/* ---- a decoder over memory ------------------------------------------ */

typedef struct {
    const uint8_t *old;
    size_t old_len;
    uint8_t *out;
    size_t len, cap, reads, begins;
    uint8_t sha[32];
    inflate_zlib_t zst;
    aloft_inflate_t zinf, inf;   /* inf: zinf, its streams counted */
    aloft_delta_t d;
} run_t;

static int count_begin(void *ctx, unsigned wbits)
{
    run_t *r = ctx;
    r->begins++;
    return r->zinf.begin(r->zinf.ctx, wbits);
}

static int pass_run(void *ctx, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                    size_t out_cap, size_t *out_len)
{
    run_t *r = ctx;
    return r->zinf.run(r->zinf.ctx, in, in_len, in_used, out, out_cap, out_len);
}

static void pass_end(void *ctx)
{
    run_t *r = ctx;
    r->zinf.end(r->zinf.ctx);
}

static int rd(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    run_t *r = ctx;
    assert_true(off + len <= r->old_len);
    r->reads++;
    memcpy(buf, r->old + off, len);
    return 0;
}

static int wr(void *ctx, const uint8_t *data, size_t len)
{
    run_t *r = ctx;
    assert_true(r->len + len <= r->cap);
    memcpy(r->out + r->len, data, len);
    r->len += len;
    return 0;
}

static run_t *run_new(const uint8_t *old, size_t old_len, size_t cap, unsigned max_wbits)
{
    run_t *r = calloc(1, sizeof *r);
    r->old = old;
    r->old_len = old_len;
    r->out = malloc(cap);
    r->cap = cap;
    delta_sha256(old, old_len, r->sha);
    inflate_zlib_init(&r->zinf, &r->zst, max_wbits);
    r->inf = r->zinf;
    r->inf.begin = count_begin;
    r->inf.run = pass_run;
    r->inf.end = pass_end;
    r->inf.ctx = r;
    aloft_delta_cfg_t cfg = {(uint32_t)old_len, r->sha, rd, wr, &r->inf, r};
    assert_int_equal(aloft_delta_init(&r->d, &cfg), 0);
    return r;
}

static void run_free(run_t *r)
{
    aloft_delta_abort(&r->d);
    free(r->out);
    free(r);
}

/* Feed patch in pieces of step bytes; returns the first error or finish's. */
static int feed(run_t *r, const uint8_t *p, size_t n, size_t step)
{
    for (size_t at = 0; at < n; at += step) {
        int e = aloft_delta_feed(&r->d, p + at, n - at < step ? n - at : step);
        if (e < 0)
            return e;
    }
    return aloft_delta_finish(&r->d);
}

/* ---- fixtures ------------------------------------------------------- */

typedef struct {
    uint8_t *old, *nw, *patch;
    size_t ol, nl, pl;
} made_t;

/* span 0: the encoder's choice. */
static void make_span(const pair_t *pr, unsigned wbits, uint32_t span, made_t *m)
{
    m->old = load(pr->old, &m->ol);
    m->nw = load(pr->new_, &m->nl);
    assert_int_equal(delta_make(m->old, m->ol, m->nw, m->nl, NULL, 0, wbits, span, DELTA_FAST,
                                &m->patch, &m->pl),
                     0);
}

static void make(const pair_t *pr, unsigned wbits, made_t *m)
{
    make_span(pr, wbits, 0, m);
}

static void unmake(made_t *m)
{
    free(m->old);
    free(m->nw);
    free(m->patch);
}

static void test_round_trip_every_pair(void **state)
{
    (void)state;
    /* Every pair at the device's window; P3 also at the largest and the
     * smallest (the encoder's time is ASan-bound, so not all of them). */
    static const unsigned wbits[] = {DELTA_DEFAULT_WBITS, 15, 9};
    for (size_t i = 0; i < NPAIRS; i++) {
#ifdef __SANITIZE_ADDRESS__
        /* 7 s each under ASan, all of it the host encoder's instrumented
         * match search; P1 decodes the same kind of image, and the normal
         * build round-trips these two as well. */
        if (strcmp(pairs[i].name, "P1x") == 0 || strcmp(pairs[i].name, "P2") == 0) {
            printf("%-4s round trip in the normal build only (ASan: encoder time)\n",
                   pairs[i].name);
            continue;
        }
#endif
        for (size_t w = 0; w < (strcmp(pairs[i].name, "P3") == 0 ? 3u : 1u); w++) {
            made_t m;
            make(&pairs[i], wbits[w], &m);
            uint8_t *out;
            size_t n;
            aloft_diag_t d;
            assert_int_equal(delta_apply(m.old, m.ol, m.patch, m.pl, &out, &n, &d), 0);
            assert_int_equal(n, m.nl);
            assert_memory_equal(out, m.nw, n);
            aloft_delta_header_t h;
            assert_true(aloft_delta_parse_header(m.patch, m.pl, &h, NULL) > 0);
            printf("%-4s window 2^%-2u patch %7zu bytes = %5.2f %% of %zu, %u x %u KiB\n",
                   pairs[i].name, wbits[w], m.pl, 100.0 * (double)m.pl / (double)m.nl, m.nl,
                   h.segment_count, h.segment_span / 1024);
            if (w == 0 && strcmp(pairs[i].name, "P7") != 0) {   /* P7: ESP8266, no aloft device */
                delta_device_run_t r;
                if (delta_device_apply(m.old, m.ol, m.nw, m.nl, m.patch, m.pl, &r) != 0)
                    fail_msg("%s on a device: %s", pairs[i].name, r.why);
                printf("%-4s on a device: %llu bytes up, app%d boots the new image\n",
                       pairs[i].name, (unsigned long long)r.up, r.slot);
            }
            free(out);
            unmake(&m);
        }
    }
}

/* DELTA_SMALLEST (Zopfli, which looks back 32 KiB): never larger than
 * DELTA_FAST, and read by a decoder whose inflate keeps only the patch's
 * window, so no distance reaches further. P1's entries run past 4 KiB in
 * some segments; P3 at 2^9 is cut into many pieces. */
static void test_smallest(void **state)
{
    (void)state;
    static const struct { size_t pair; unsigned wbits; } runs[] = {{0, 12}, {3, 9}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        const pair_t *pr = &pairs[runs[i].pair];
        made_t m;
        make(pr, runs[i].wbits, &m);
        uint8_t *small;
        size_t sl;
        assert_int_equal(delta_make(m.old, m.ol, m.nw, m.nl, NULL, 0, runs[i].wbits, 0,
                                    DELTA_SMALLEST, &small, &sl),
                         0);
        printf("%-4s window 2^%-2u fast %7zu, smallest %7zu bytes (%.1f %% less)\n", pr->name,
               runs[i].wbits, m.pl, sl, 100.0 * (double)(m.pl - sl) / (double)m.pl);
        assert_true(sl <= m.pl);
        run_t *r = run_new(m.old, m.ol, m.nl, runs[i].wbits);
        assert_int_equal(feed(r, small, sl, 1000), 0);
        assert_int_equal(r->len, m.nl);
        assert_memory_equal(r->out, m.nw, m.nl);
        run_free(r);
        free(small);
        unmake(&m);
    }
}

/* Resumed with `durable` new bytes in place, fed from patch offset `at`:
 * exactly the new image from durable on comes out, and only the segments
 * from durable's on are inflated. */
static void resume_once(const made_t *m, const aloft_delta_header_t *h, uint32_t durable,
                        long at)
{
    run_t *r = run_new(m->old, m->ol, m->nl, 15);
    assert_int_equal(aloft_delta_resume(&r->d, durable, (uint32_t)at),
                     ALOFT_ERR_STATE);   /* header not in yet */
    assert_int_equal(aloft_delta_feed(&r->d, m->patch, h->header_len), 0);
    assert_int_equal(aloft_delta_resume(&r->d, durable + 1, (uint32_t)at), ALOFT_ERR_ARG);
    assert_int_equal(aloft_delta_resume(&r->d, durable, (uint32_t)at), 0);
    assert_int_equal(aloft_delta_resume(&r->d, durable, (uint32_t)at), ALOFT_ERR_STATE);
    assert_int_equal(aloft_delta_new_offset(&r->d), durable);
    assert_int_equal(feed(r, m->patch + at, m->pl - (size_t)at, 4093), 0);
    if (r->len != m->nl - durable || memcmp(r->out, m->nw + durable, r->len) != 0)
        fail_msg("resumed at %u from patch byte %ld: %zu bytes out, want %zu", durable, at,
                 r->len, m->nl - durable);
    assert_int_equal(r->begins, h->segment_count - durable / h->segment_span);
    run_free(r);
}

/* Whole, in 1-byte pieces, and resumed at every 64 KiB mark, from the
 * header's end, from segment 0 and from the segment that holds the mark:
 * the same bytes. */
static void test_pieces_and_resume(void **state)
{
    (void)state;
    /* P3 (3 marks) with two marks per segment, P1 (10 marks) with the
     * encoder's span (one segment), P3 with one mark per segment. */
    static const struct { size_t pair; uint32_t span; } runs[] = {
        {3, 2 * ALOFT_DELTA_MARK}, {0, 0}, {3, ALOFT_DELTA_MARK}};
    for (size_t w = 0; w < sizeof runs / sizeof runs[0]; w++) {
        made_t m;
        make_span(&pairs[runs[w].pair], DELTA_DEFAULT_WBITS, runs[w].span, &m);
        aloft_delta_header_t h;
        assert_true(aloft_delta_parse_header(m.patch, m.pl, &h, NULL) > 0);
        printf("%s: %u segments of %u KiB\n", pairs[runs[w].pair].name, h.segment_count,
               h.segment_span / 1024);
        if (runs[w].span)
            assert_int_equal(h.segment_span, runs[w].span);
        else
            assert_true(h.segment_span > ALOFT_DELTA_MARK);
        if (w < 2) {
            run_t *r = run_new(m.old, m.ol, m.nl, 15);
            assert_int_equal(feed(r, m.patch, m.pl, 1), 0);
            assert_int_equal(r->len, m.nl);
            assert_memory_equal(r->out, m.nw, m.nl);
            /* Base reads (flash reads on a device) come a buffer at a time. */
            printf("%s: %zu base reads for %zu bytes\n", pairs[runs[w].pair].name, r->reads,
                   m.nl);
            assert_true(r->reads < m.nl / 64);
            run_free(r);
        }
        uint32_t comp;
        for (uint32_t durable = 0; durable < m.nl; durable += ALOFT_DELTA_MARK) {
            uint32_t k = durable / h.segment_span;
            long at = aloft_delta_find_segment(m.patch, m.pl, &h, k, &comp, NULL);
            assert_true(at >= h.header_len);
            resume_once(&m, &h, durable, h.header_len);
            resume_once(&m, &h, durable, at);
            if (k > 1)   /* from a segment between */
                resume_once(&m, &h, durable,
                            aloft_delta_find_segment(m.patch, m.pl, &h, 1, &comp, NULL));
            /* Not a segment start: its bytes do not read as one. */
            run_t *r = run_new(m.old, m.ol, m.nl, 15);
            assert_int_equal(aloft_delta_feed(&r->d, m.patch, h.header_len), 0);
            assert_int_equal(aloft_delta_resume(&r->d, durable, (uint32_t)at + 1), 0);
            assert_int_equal(feed(r, m.patch + at + 1, m.pl - (size_t)at - 1, 4096),
                             ALOFT_ERR_PATCH);
            assert_int_equal(r->len, 0);
            run_free(r);
        }
        /* patch_offset outside the body. */
        run_t *r = run_new(m.old, m.ol, m.nl, 15);
        assert_int_equal(aloft_delta_feed(&r->d, m.patch, h.header_len), 0);
        assert_int_equal(aloft_delta_resume(&r->d, 0, h.header_len - 1u), ALOFT_ERR_ARG);
        assert_int_equal(aloft_delta_resume(&r->d, 0, (uint32_t)m.pl), ALOFT_ERR_ARG);
        assert_int_equal(aloft_delta_resume(&r->d, (uint32_t)(m.nl + ALOFT_DELTA_MARK) /
                                                       ALOFT_DELTA_MARK * ALOFT_DELTA_MARK,
                                            h.header_len),
                         ALOFT_ERR_ARG);
        run_free(r);
        /* Resumed at segment 1 but fed segment 2: its offset gives it away. */
        if (h.segment_count > 2) {
            long at2 = aloft_delta_find_segment(m.patch, m.pl, &h, 2, &comp, NULL);
            r = run_new(m.old, m.ol, m.nl, 15);
            assert_int_equal(aloft_delta_feed(&r->d, m.patch, h.header_len), 0);
            assert_int_equal(aloft_delta_resume(&r->d, h.segment_span, h.header_len), 0);
            assert_int_equal(feed(r, m.patch + at2, m.pl - (size_t)at2, 4096), ALOFT_ERR_PATCH);
            assert_string_equal(aloft_delta_diag(&r->d)->where, "segment offset");
            assert_int_equal(r->len, 0);
            run_free(r);
        }
        unmake(&m);
    }
}

/* Refused from the header, with no byte written. */
static void expect_refused_early(const uint8_t *old, size_t ol, const uint8_t *p, size_t pl,
                                 unsigned max_wbits, int err, const char *where)
{
    run_t *r = run_new(old, ol, 1u << 24, max_wbits);
    assert_int_equal(feed(r, p, pl, pl), err);
    assert_int_equal(r->len, 0);
    if (where)
        assert_string_equal(aloft_delta_diag(&r->d)->where, where);
    /* sticky */
    assert_int_equal(aloft_delta_feed(&r->d, p, 1), err);
    run_free(r);
}

static void test_wrong_base_and_window(void **state)
{
    (void)state;
    made_t m, other;
    make(&pairs[0], DELTA_DEFAULT_WBITS, &m);
    make(&pairs[3], DELTA_DEFAULT_WBITS, &other);
    expect_refused_early(other.old, other.ol, m.patch, m.pl, 15, ALOFT_ERR_PATCH_BASE, "size");
    m.old[1000] ^= 1;   /* same size, one byte off */
    expect_refused_early(m.old, m.ol, m.patch, m.pl, 15, ALOFT_ERR_PATCH_BASE, "SHA-256");
    m.old[1000] ^= 1;
    expect_refused_early(m.old, m.ol, m.patch, m.pl, 11, ALOFT_ERR_PATCH_WINDOW, NULL);
    char msg[300];
    aloft_diag_t d = {0};
    aloft_diag_set(&d, ALOFT_ERR_PATCH_WINDOW, 12, 11, NULL);
    aloft_diag_format(&d, msg, sizeof msg);
    assert_non_null(strstr(msg, "--window-bits 11"));
    unmake(&m);
    unmake(&other);
}

static void refix_crc(uint8_t *p)
{
    uint16_t hl = (uint16_t)(p[6] | p[7] << 8);
    uint32_t c = aloft_crc32(0, p, hl - 4u);
    for (int i = 0; i < 4; i++)
        p[hl - 4 + i] = (uint8_t)(c >> (8 * i));
}

static void test_tampered_and_truncated(void **state)
{
    (void)state;
    made_t m;
    make_span(&pairs[3], DELTA_DEFAULT_WBITS, ALOFT_DELTA_MARK, &m);   /* P3: 3 segments */
    uint8_t *t = malloc(m.pl);
    aloft_delta_header_t h;
    assert_true(aloft_delta_parse_header(m.patch, m.pl, &h, NULL) > 0);

    /* Any header byte changed: the CRC refuses it before output. */
    for (size_t i = 0; i < h.header_len; i++) {
        memcpy(t, m.patch, m.pl);
        t[i] ^= 0x10;
        run_t *r = run_new(m.old, m.ol, m.nl, 15);
        int e = feed(r, t, m.pl, m.pl);
        assert_true(e == ALOFT_ERR_PATCH);
        assert_int_equal(r->len, 0);
        run_free(r);
    }
    /* Each field changed with a valid CRC: the field is named. */
    static const struct {
        size_t off;
        uint8_t val;
        int err;
        const char *where;
    } fields[] = {
        {5, 20, ALOFT_ERR_PATCH, "window bits"},
        {5, 8, ALOFT_ERR_PATCH, "window bits"},
        {8, 0x55, ALOFT_ERR_PATCH_BASE, "size"},
        {20, 0x55, ALOFT_ERR_PATCH_BASE, "SHA-256"},
        {46, 0x40, ALOFT_ERR_PATCH, "segment count"},
        {80, 9, ALOFT_ERR_PATCH, "segment count"},
        {82, 1, ALOFT_ERR_PATCH, "signature length"},
        {84, 0, ALOFT_ERR_PATCH, NULL},
        {88, 1, ALOFT_ERR_PATCH, "segment span"},
        {90, 0, ALOFT_ERR_PATCH, "segment span"},
    };
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        memcpy(t, m.patch, m.pl);
        t[fields[f].off] = fields[f].val;
        if (fields[f].off == 84)   /* body length: 16 bytes short */
            t[84] = (uint8_t)(m.patch[84] - 16), t[85] = m.patch[85] - (m.patch[84] < 16);
        refix_crc(t);
        run_t *r = run_new(m.old, m.ol, m.nl, 15);
        assert_int_equal(feed(r, t, m.pl, m.pl), fields[f].err);
        if (fields[f].where) {
            assert_string_equal(aloft_delta_diag(&r->d)->where, fields[f].where);
            assert_int_equal(r->len, 0);
        }
        run_free(r);
    }
    /* Magic, version and length are named without any CRC. */
    memcpy(t, m.patch, m.pl);
    t[0] = 'X';
    expect_refused_early(m.old, m.ol, t, m.pl, 15, ALOFT_ERR_PATCH, "magic");
    memcpy(t, m.patch, m.pl);
    t[4] = 3;
    expect_refused_early(m.old, m.ol, t, m.pl, 15, ALOFT_ERR_PATCH, "version");
    /* A version 1 patch (a segment per 64 KiB, no span field): made again. */
    memcpy(t, m.patch, m.pl);
    t[4] = 1;
    expect_refused_early(m.old, m.ol, t, m.pl, 15, ALOFT_ERR_PATCH, "version 1 (old)");
    char msg[384];
    aloft_diag_t dv = {0};
    assert_int_equal(aloft_delta_parse_header(t, m.pl, &h, &dv), ALOFT_ERR_PATCH);
    aloft_diag_format(&dv, msg, sizeof msg);
    printf("version 1: %s\n", msg);
    assert_non_null(strstr(msg, "make it again with this aloft"));
    assert_true(aloft_delta_parse_header(m.patch, m.pl, &h, NULL) > 0);
    memcpy(t, m.patch, m.pl);
    t[6] = 3, t[7] = 0;
    expect_refused_early(m.old, m.ol, t, m.pl, 15, ALOFT_ERR_PATCH, "header length");

    /* A new SHA-256 that is not the image's: decoded, then refused by apply. */
    memcpy(t, m.patch, m.pl);
    t[60] ^= 1;
    refix_crc(t);
    uint8_t *out;
    size_t n;
    aloft_diag_t d;
    assert_int_equal(delta_apply(m.old, m.ol, t, m.pl, &out, &n, &d), ALOFT_ERR_SHA256);

    /* A segment's compressed length one more or one less. */
    for (uint32_t k = 0; k < h.segment_count; k++) {
        uint32_t comp;
        long at = aloft_delta_find_segment(m.patch, m.pl, &h, k, &comp, NULL);
        for (int delta = -1; delta <= 1; delta += 2) {
            memcpy(t, m.patch, m.pl);
            t[at + 4] = (uint8_t)(t[at + 4] + delta);
            run_t *r = run_new(m.old, m.ol, m.nl, 15);
            assert_int_equal(feed(r, t, m.pl, 777), ALOFT_ERR_PATCH);
            assert_true(strcmp(aloft_delta_diag(&r->d)->where, "segment length") == 0 ||
                        strcmp(aloft_delta_diag(&r->d)->where, "truncated") == 0 ||
                        strcmp(aloft_delta_diag(&r->d)->where, "zlib data") == 0);
            run_free(r);
        }
    }
    /* Every 61st body byte flipped: refused (zlib check, entries or SHA). */
    for (size_t i = h.header_len; i < m.pl; i += 61) {
        memcpy(t, m.patch, m.pl);
        t[i] ^= 0x01;
        int e = delta_apply(m.old, m.ol, t, m.pl, &out, &n, &d);
        if (e == 0)
            fail_msg("flipped byte %zu of %zu accepted", i, m.pl);
        assert_true(d.err == e);
    }
    /* Truncated anywhere: refused, finish says so. */
    for (size_t cut = 0; cut < m.pl; cut += (cut < 200 ? 1 : 509)) {
        run_t *r = run_new(m.old, m.ol, m.nl, 15);
        assert_int_equal(feed(r, m.patch, cut, 64), ALOFT_ERR_PATCH);
        assert_true(r->len < m.nl);
        run_free(r);
    }
    /* One byte too many. */
    uint8_t *longer = malloc(m.pl + 1);
    memcpy(longer, m.patch, m.pl);
    longer[m.pl] = 0;
    run_t *r = run_new(m.old, m.ol, m.nl, 15);
    assert_int_equal(feed(r, longer, m.pl + 1, m.pl + 1), ALOFT_ERR_PATCH);
    assert_string_equal(aloft_delta_diag(&r->d)->where, "after the end");
    run_free(r);
    free(longer);
    free(t);
    unmake(&m);
}

/* A signed new image: its block rides in the header and comes back out. */
static void test_signed_new_image(void **state)
{
    (void)state;
    made_t m;
    m.old = load(pairs[3].old, &m.ol);
    m.nw = load(pairs[3].new_, &m.nl);
    aloft_signed_meta_t meta = {0};
    meta.image_size = (uint32_t)m.nl;
    delta_sha256(m.nw, m.nl, meta.image_sha256);
    uint8_t sig[8] = {0x30, 6, 2, 1, 1, 2, 1, 1}, block[ALOFT_SIG_BLOCK_MAX];
    int bl = aloft_sig_encode(&meta, sig, sizeof sig, block, sizeof block);
    assert_true(bl > 0);
    assert_int_equal(delta_make(m.old, m.ol, m.nw, m.nl, block, (size_t)bl, 12, 0, DELTA_FAST,
                                &m.patch, &m.pl),
                     0);
    uint8_t *out;
    size_t n;
    aloft_diag_t d;
    assert_int_equal(delta_apply(m.old, m.ol, m.patch, m.pl, &out, &n, &d), 0);
    assert_int_equal(n, m.nl + (size_t)bl);
    assert_memory_equal(out, m.nw, m.nl);
    assert_memory_equal(out + m.nl, block, (size_t)bl);
    free(out);
    free(m.patch);
    /* A block that describes another image. */
    meta.image_sha256[0] ^= 1;
    bl = aloft_sig_encode(&meta, sig, sizeof sig, block, sizeof block);
    assert_int_equal(delta_make(m.old, m.ol, m.nw, m.nl, block, (size_t)bl, 12, 0, DELTA_FAST,
                                &m.patch, &m.pl),
                     0);
    expect_refused_early(m.old, m.ol, m.patch, m.pl, 15, ALOFT_ERR_SIGNED_MISMATCH, NULL);
    unmake(&m);
}

/* A one-segment patch from base (16 bytes of 0x10) to a 16-byte new image
 * whose entries are the given bytes. */
static size_t crafted(const uint8_t *entries, size_t n, uint8_t *out)
{
    static uint8_t base[16], img[16];
    memset(base, 0x10, sizeof base);
    uint8_t *p;
    size_t pl;
    assert_int_equal(delta_make(base, sizeof base, img, sizeof img, NULL, 0, 12, 0, DELTA_FAST, &p, &pl),
                     0);
    size_t hl = (size_t)(p[6] | p[7] << 8);
    memcpy(out, p, hl);
    free(p);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 12, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)entries;
    z.avail_in = (uInt)n;
    z.next_out = out + hl + 8;
    z.avail_out = 512;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    uint32_t comp = 512 - z.avail_out;
    deflateEnd(&z);
    memset(out + hl, 0, 4);
    for (int i = 0; i < 4; i++)
        out[hl + 4 + i] = (uint8_t)(comp >> (8 * i));
    uint32_t body = comp + 8;
    for (int i = 0; i < 4; i++)
        out[84 + i] = (uint8_t)(body >> (8 * i));
    refix_crc(out);
    return hl + body;
}

/* Entries that break each rule of FORMATS.md §3.3, each named. */
static void test_bad_entries(void **state)
{
    (void)state;
    static uint8_t base[16];
    memset(base, 0x10, sizeof base);
    static const struct {
        uint8_t e[12];
        size_t n;
        const char *where;   /* NULL: accepted */
    } cases[] = {
        {{0, 16, 0, 15, 0xF0}, 5, NULL},            /* 15 unchanged, then +0xF0: 0x00 */
        {{0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 3, "segment short"},
        {{0x21, 1, 0}, 3, "seek"},                  /* zigzag 33: -17 */
        {{1, 0, 0}, 3, "seek"},                     /* zigzag 1: -1 */
        {{0, 17, 0}, 3, "copy length"},
        {{0, 8, 9}, 3, "insert length"},
        {{0, 16, 0, 17}, 4, "zero run"},
        {{0, 16, 0, 16, 0, 0, 0}, 7, "past segment end"},
        {{0, 0x80, 0x80, 0x80, 0x80, 0x10}, 6, "varint"},
        {{0, 8, 0}, 3, "segment short"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t patch[1024];
        size_t pl = crafted(cases[i].e, cases[i].n, patch);
        run_t *r = run_new(base, sizeof base, 16, 15);
        int e = feed(r, patch, pl, pl);
        if (cases[i].where == NULL) {
            assert_int_equal(e, 0);
            assert_int_equal(r->len, 16);
            assert_int_equal(r->out[0], 0x10);
            assert_int_equal(r->out[15], 0x00);
        } else {
            if (e != ALOFT_ERR_PATCH || strcmp(aloft_delta_diag(&r->d)->where, cases[i].where))
                fail_msg("case %zu: got %d '%s', want '%s'", i, e, aloft_delta_diag(&r->d)->where,
                         cases[i].where);
        }
        run_free(r);
    }
}

static void test_ram(void **state)
{
    (void)state;
    size_t window = 1u << DELTA_DEFAULT_WBITS;
    printf("delta decoder RAM: aloft_delta_t %zu bytes; with the device's default 2^%u "
           "inflate window %zu bytes (limit 16384)\n",
           sizeof(aloft_delta_t), DELTA_DEFAULT_WBITS, sizeof(aloft_delta_t) + window);
    assert_true(sizeof(aloft_delta_t) + window <= 16384);
}

int main(void)
{
    int missing = fixtures_missing();
    if (missing >= 0)
        return missing;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ram),
        cmocka_unit_test(test_round_trip_every_pair),
        cmocka_unit_test(test_smallest),
        cmocka_unit_test(test_pieces_and_resume),
        cmocka_unit_test(test_wrong_base_and_window),
        cmocka_unit_test(test_tampered_and_truncated),
        cmocka_unit_test(test_signed_new_image),
        cmocka_unit_test(test_bad_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
