/* tests/unit/test_nor_flash.c — the simulated NOR flash (port/posix). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aloft/error.h"
#include "nor_flash.h"
#include "test_flash.h"

#define FLASH_SIZE (4u * NOR_BLOCK_SIZE) /* 256 KiB */

/* ---- fixture and helpers ------------------------------------------------- */

static int setup(void **state)
{
    test_flash_t *tf = malloc(sizeof *tf);

    if (tf == NULL || test_flash_open(tf, FLASH_SIZE) != 0) {
        free(tf);
        return -1;
    }
    *state = tf;
    return 0;
}

static int teardown(void **state)
{
    test_flash_t *tf = *state;

    test_flash_close(tf);
    free(tf);
    return 0;
}

static const aloft_flash_t *flash_of(void **state)
{
    return &((test_flash_t *)*state)->nor.flash;
}

static nor_flash_t *nor_of(void **state)
{
    return &((test_flash_t *)*state)->nor;
}

/* A page of data with no 0xFF byte, varied by salt. */
static void pattern(uint8_t *buf, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((i + salt) % 255u);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

static uint8_t byte_at(const aloft_flash_t *f, uint32_t addr)
{
    uint8_t b = 0;

    assert_int_equal(f->read(f, addr, &b, 1), 0);
    return b;
}

/* Program every page of [addr, addr+len) with value v. */
static void fill(const aloft_flash_t *f, uint32_t addr, uint32_t len, uint8_t v)
{
    uint8_t page[NOR_PAGE_SIZE];

    memset(page, v, sizeof page);
    for (uint32_t a = addr; a < addr + len; a += NOR_PAGE_SIZE)
        assert_int_equal(f->prog(f, a, page, sizeof page), 0);
}

/* ---- open and geometry --------------------------------------------------- */

static void test_open_geometry(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);

    assert_int_equal(f->size, FLASH_SIZE);
    assert_int_equal(f->sector_size, 4096);
    assert_int_equal(f->block_size, 65536);
    assert_int_equal(f->page_size, 256);
    assert_ptr_equal(f->ctx, nor);
    assert_true(all_bytes(nor->mem, FLASH_SIZE, 0xFF));
    assert_int_equal(nor_ops(nor), 0);
}

static void test_open_errors(void **state)
{
    test_flash_t *tf = *state;
    nor_flash_t other;
    char path[300];
    FILE *fp;

    assert_int_equal(nor_open(&other, tf->path, 1000, true), ALOFT_ERR_ARG);
    assert_int_equal(nor_open(&other, tf->path, 0, true), ALOFT_ERR_ARG);
    snprintf(path, sizeof path, "%s.missing", tf->path);
    assert_int_equal(nor_open_existing(&other, path), ALOFT_ERR_IO);
    assert_int_equal(errno, ENOENT);
    /* an existing file of the wrong size */
    assert_int_equal(nor_open(&other, tf->path, NOR_BLOCK_SIZE, false),
                     ALOFT_ERR_IO);
    assert_int_equal(errno, EINVAL);
    snprintf(path, sizeof path, "%s.odd", tf->path);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("not a flash image", fp);
    fclose(fp);
    assert_int_equal(nor_open_existing(&other, path), ALOFT_ERR_IO);
    assert_int_equal(errno, EINVAL);
    unlink(path);
}

/* ---- NOR rules --------------------------------------------------------------- */

static void test_prog_then_read(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    uint8_t in[NOR_PAGE_SIZE], out[NOR_PAGE_SIZE];

    pattern(in, sizeof in, 7);
    assert_int_equal(f->prog(f, 2 * NOR_PAGE_SIZE, in, sizeof in), 0);
    assert_int_equal(f->read(f, 2 * NOR_PAGE_SIZE, out, sizeof out), 0);
    assert_memory_equal(in, out, sizeof in);
    /* neighbours untouched */
    assert_int_equal(byte_at(f, 2 * NOR_PAGE_SIZE - 1), 0xFF);
    assert_int_equal(byte_at(f, 3 * NOR_PAGE_SIZE), 0xFF);
}

static void test_prog_over_programmed_refused(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);
    const uint8_t first[4] = {0xF0, 0xF0, 0xF0, 0xF0};
    const uint8_t second[8] = {1, 2, 3, 4, 0x00, 6, 7, 8};
    uint8_t out[8];

    /* bytes 2..5 programmed; the second call touches them with 3, 4, 0, 6 */
    assert_int_equal(f->prog(f, 102, first, sizeof first), 0);
    assert_int_equal(f->prog(f, 100, second, sizeof second),
                     ALOFT_ERR_NOT_ERASED);
    assert_int_equal(nor->count.faults, 1);
    assert_int_equal(nor->count.progs, 1);
    /* nothing of the refused call landed, not even over erased bytes */
    assert_int_equal(f->read(f, 100, out, sizeof out), 0);
    assert_memory_equal(out, ((uint8_t[]){0xFF, 0xFF, 0xF0, 0xF0, 0xF0, 0xF0,
                                          0xFF, 0xFF}), 8);
    /* even a value that would only clear bits (0xF0 -> 0x00) is refused */
    assert_int_equal(f->prog(f, 102, &(uint8_t){0x00}, 1),
                     ALOFT_ERR_NOT_ERASED);
    assert_int_equal(byte_at(f, 102), 0xF0);
}

static void test_prog_ff_is_noop(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    const uint8_t ff[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    const uint8_t mixed[3] = {0xFF, 0x5A, 0xFF};

    assert_int_equal(f->prog(f, 0, &(uint8_t){0x00}, 1), 0);
    assert_int_equal(f->prog(f, 1, &(uint8_t){0x3C}, 1), 0);
    /* 0xFF over programmed bytes: accepted, and bits never come back */
    assert_int_equal(f->prog(f, 0, ff, sizeof ff), 0);
    assert_int_equal(byte_at(f, 0), 0x00);
    assert_int_equal(byte_at(f, 1), 0x3C);
    assert_int_equal(byte_at(f, 2), 0xFF);
    /* 0xFF over a programmed byte next to a real write onto an erased one */
    assert_int_equal(f->prog(f, 1, mixed, sizeof mixed), 0);
    assert_int_equal(byte_at(f, 1), 0x3C);
    assert_int_equal(byte_at(f, 2), 0x5A);
    assert_int_equal(byte_at(f, 3), 0xFF);
    assert_int_equal(nor_of(state)->count.faults, 0);
}

static void test_prog_clears_bits_only(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    uint8_t all[256];

    /* every value programmed onto an erased byte reads back as itself */
    for (unsigned i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    assert_int_equal(f->prog(f, NOR_SECTOR_SIZE, all, sizeof all), 0);
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(byte_at(f, NOR_SECTOR_SIZE + i), i);
}

/* ---- alignment and range ------------------------------------------------------ */

static void test_prog_alignment(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);
    uint8_t page[NOR_PAGE_SIZE + 1];

    pattern(page, sizeof page, 1);
    /* crossing a page boundary, by one byte either way */
    assert_int_equal(f->prog(f, 1, page, NOR_PAGE_SIZE), ALOFT_ERR_ALIGN);
    assert_int_equal(f->prog(f, 0, page, NOR_PAGE_SIZE + 1), ALOFT_ERR_ALIGN);
    assert_int_equal(f->prog(f, NOR_PAGE_SIZE - 2, page, 3), ALOFT_ERR_ALIGN);
    /* out of range, including address wrap-around */
    assert_int_equal(f->prog(f, FLASH_SIZE, page, 1), ALOFT_ERR_ALIGN);
    assert_int_equal(f->prog(f, 0xFFFFFFFFu, page, 2), ALOFT_ERR_ALIGN);
    assert_int_equal(f->prog(f, 1, NULL, 1), ALOFT_ERR_ARG);
    assert_int_equal(nor->count.faults, 6);
    assert_int_equal(nor_ops(nor), 0);
    assert_true(all_bytes(nor->mem, FLASH_SIZE, 0xFF));
    /* the edges themselves are fine: a tail of a page, the last byte */
    assert_int_equal(f->prog(f, NOR_PAGE_SIZE - 2, page, 2), 0);
    assert_int_equal(f->prog(f, FLASH_SIZE - 1, page, 1), 0);
    assert_int_equal(byte_at(f, FLASH_SIZE - 1), page[0]);
}

static void test_erase_alignment(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);

    fill(f, 0, NOR_BLOCK_SIZE, 0x00);
    assert_int_equal(f->erase(f, 512, NOR_SECTOR_SIZE), ALOFT_ERR_ALIGN);
    assert_int_equal(f->erase(f, 0, 2 * NOR_SECTOR_SIZE), ALOFT_ERR_ALIGN);
    assert_int_equal(f->erase(f, 0, 512), ALOFT_ERR_ALIGN);
    /* a block-sized erase must be block aligned, not just sector aligned */
    assert_int_equal(f->erase(f, NOR_SECTOR_SIZE, NOR_BLOCK_SIZE),
                     ALOFT_ERR_ALIGN);
    assert_int_equal(f->erase(f, FLASH_SIZE, NOR_SECTOR_SIZE), ALOFT_ERR_ALIGN);
    assert_int_equal(f->erase(f, FLASH_SIZE, NOR_BLOCK_SIZE), ALOFT_ERR_ALIGN);
    assert_int_equal(nor->count.faults, 6);
    assert_int_equal(nor->count.erases, 0);
    assert_true(all_bytes(nor->mem, NOR_BLOCK_SIZE, 0x00));
}

static void test_read_range(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    uint8_t buf[4];

    assert_int_equal(f->read(f, FLASH_SIZE - 4, buf, 4), 0);
    assert_int_equal(f->read(f, FLASH_SIZE - 3, buf, 4), ALOFT_ERR_ALIGN);
    assert_int_equal(f->read(f, 0xFFFFFFFEu, buf, 4), ALOFT_ERR_ALIGN);
    assert_int_equal(f->read(f, 0, NULL, 4), ALOFT_ERR_ARG);
    /* reads may start anywhere */
    assert_int_equal(f->read(f, 13, buf, 3), 0);
}

static void test_zero_length(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);

    assert_int_equal(f->read(f, FLASH_SIZE, NULL, 0), 0);
    assert_int_equal(f->prog(f, FLASH_SIZE, NULL, 0), 0);
    assert_int_equal(f->erase(f, 0, 0), 0);
    assert_int_equal(nor->count.reads + nor_ops(nor) + nor->count.faults, 0);
}

/* ---- erase ------------------------------------------------------------------------ */

static void test_erase_sector(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);

    fill(f, 0, NOR_BLOCK_SIZE, 0x00);
    assert_int_equal(f->erase(f, 3 * NOR_SECTOR_SIZE, NOR_SECTOR_SIZE), 0);
    assert_true(all_bytes(nor->mem, 3 * NOR_SECTOR_SIZE, 0x00));
    assert_true(all_bytes(nor->mem + 3 * NOR_SECTOR_SIZE, NOR_SECTOR_SIZE, 0xFF));
    assert_true(all_bytes(nor->mem + 4 * NOR_SECTOR_SIZE,
                          NOR_BLOCK_SIZE - 4 * NOR_SECTOR_SIZE, 0x00));
    /* an erased sector takes programs again */
    assert_int_equal(f->prog(f, 3 * NOR_SECTOR_SIZE, &(uint8_t){0x42}, 1), 0);
}

static void test_erase_block(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);

    fill(f, 0, 3 * NOR_BLOCK_SIZE, 0x00);
    assert_int_equal(f->erase(f, NOR_BLOCK_SIZE, NOR_BLOCK_SIZE), 0);
    assert_true(all_bytes(nor->mem, NOR_BLOCK_SIZE, 0x00));
    assert_true(all_bytes(nor->mem + NOR_BLOCK_SIZE, NOR_BLOCK_SIZE, 0xFF));
    assert_true(all_bytes(nor->mem + 2 * NOR_BLOCK_SIZE, NOR_BLOCK_SIZE, 0x00));
    /* the last block of the flash */
    assert_int_equal(f->erase(f, FLASH_SIZE - NOR_BLOCK_SIZE, NOR_BLOCK_SIZE), 0);
}

/* ---- counters and timing ---------------------------------------------------------- */

static void test_counters(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);
    uint8_t buf[100] = {0};

    assert_int_equal(f->erase(f, 0, NOR_BLOCK_SIZE), 0);
    assert_int_equal(f->erase(f, NOR_BLOCK_SIZE, NOR_SECTOR_SIZE), 0);
    assert_int_equal(f->prog(f, 0, buf, 10), 0);
    assert_int_equal(f->prog(f, 256, buf, 100), 0);
    assert_int_equal(f->prog(f, 0, buf, 10), ALOFT_ERR_NOT_ERASED);
    assert_int_equal(f->read(f, 0, buf, 100), 0);
    assert_int_equal(f->read(f, 5, buf, 7), 0);

    assert_int_equal(nor->count.erases, 2);
    assert_int_equal(nor->count.erase_bytes, NOR_BLOCK_SIZE + NOR_SECTOR_SIZE);
    assert_int_equal(nor->count.progs, 2);
    assert_int_equal(nor->count.prog_bytes, 110);
    assert_int_equal(nor->count.reads, 2);
    assert_int_equal(nor->count.read_bytes, 107);
    assert_int_equal(nor->count.faults, 1);
    assert_int_equal(nor_ops(nor), 4);
    assert_int_equal(nor->count.modelled_us, 0); /* timing off */
}

/* The touched span covers every erase and program that passed its checks,
 * and nothing else: reads, refusals and zero-length calls leave it alone. */
static void test_touched_span(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);
    uint8_t buf[16] = {0}, got[16];

    assert_int_equal(nor->touched_lo, nor->touched_hi); /* empty after open */
    assert_int_equal(f->read(f, 0, got, sizeof got), 0);
    assert_int_equal(f->prog(f, 0x1000, buf, 0), 0);
    assert_int_equal(f->erase(f, 0x1001, NOR_SECTOR_SIZE), ALOFT_ERR_ALIGN);
    assert_int_equal(nor->touched_lo, nor->touched_hi);

    assert_int_equal(f->prog(f, 0x2010, buf, 16), 0);
    assert_int_equal(nor->touched_lo, 0x2010);
    assert_int_equal(nor->touched_hi, 0x2020);
    assert_int_equal(f->prog(f, 0x2010, buf, 16), ALOFT_ERR_NOT_ERASED); /* refused */
    assert_int_equal(nor->touched_hi, 0x2020);
    assert_int_equal(f->erase(f, NOR_BLOCK_SIZE, NOR_BLOCK_SIZE), 0);
    assert_int_equal(nor->touched_lo, 0x2010);
    assert_int_equal(nor->touched_hi, 2 * NOR_BLOCK_SIZE);
    assert_int_equal(f->prog(f, 0x100, buf, 1), 0);
    assert_int_equal(nor->touched_lo, 0x100);

    nor->touched_lo = nor->touched_hi = 0; /* the caller restored it */
    assert_int_equal(f->erase(f, 3 * NOR_BLOCK_SIZE, NOR_SECTOR_SIZE), 0);
    assert_int_equal(nor->touched_lo, 3 * NOR_BLOCK_SIZE);
    assert_int_equal(nor->touched_hi, 3 * NOR_BLOCK_SIZE + NOR_SECTOR_SIZE);
}

static void test_timing_count(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);
    uint8_t page[NOR_PAGE_SIZE] = {0};

    nor_set_timing(nor, NOR_TIMING_COUNT);
    /* one block: erase + 256 full-page programs = 150 ms + 256 x 0.4 ms */
    assert_int_equal(f->erase(f, 0, NOR_BLOCK_SIZE), 0);
    fill(f, 0, NOR_BLOCK_SIZE, 0x11);
    assert_int_equal(nor->count.modelled_us, 150000 + 256 * 400);

    /* a sector erase and a partial-page program (charged a whole tPP) */
    nor->count.modelled_us = 0;
    assert_int_equal(f->erase(f, NOR_BLOCK_SIZE, NOR_SECTOR_SIZE), 0);
    assert_int_equal(f->prog(f, NOR_BLOCK_SIZE, page, 1), 0);
    assert_int_equal(nor->count.modelled_us, 45000 + 400);

    /* reads at 100 ns/byte; sub-microsecond rests carry over:
     * 256 B = 25.6 us, then 24 x 4 B = 9.6 us, 35.2 us in all */
    nor->count.modelled_us = 0;
    assert_int_equal(f->read(f, 0, page, sizeof page), 0); /* 25.6 us */
    assert_int_equal(nor->count.modelled_us, 25);
    for (int i = 0; i < 24; i++)
        assert_int_equal(f->read(f, 0, page, 4), 0);
    assert_int_equal(nor->count.modelled_us, 35);

    /* refused calls and OFF mode charge nothing */
    nor->count.modelled_us = 0;
    assert_int_equal(f->erase(f, 1, NOR_SECTOR_SIZE), ALOFT_ERR_ALIGN);
    nor_set_timing(nor, NOR_TIMING_OFF);
    assert_int_equal(f->erase(f, 0, NOR_BLOCK_SIZE), 0);
    assert_int_equal(nor->count.modelled_us, 0);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_timing_esp32_sleeps(void **state)
{
    const aloft_flash_t *f = flash_of(state);
    nor_flash_t *nor = nor_of(state);
    double t0;

    nor_set_timing(nor, NOR_TIMING_ESP32);
    t0 = now_ms();
    assert_int_equal(f->erase(f, 0, NOR_SECTOR_SIZE), 0);
    assert_true(now_ms() - t0 >= 45.0);
    assert_int_equal(nor->count.modelled_us, 45000);
}

/* ---- power cuts ---------------------------------------------------------------- */

/* Programs five pages, counting the ones that returned. */
typedef struct five_pages {
    const aloft_flash_t *f;
    int done;
} five_pages_t;

static int prog_five_pages(void *arg)
{
    five_pages_t *fp = arg;
    uint8_t page[NOR_PAGE_SIZE];

    for (unsigned p = 0; p < 5; p++) {
        int rc;

        pattern(page, sizeof page, p);
        rc = fp->f->prog(fp->f, p * NOR_PAGE_SIZE, page, sizeof page);
        if (rc != 0)
            return rc;
        fp->done++;
    }
    return 0;
}

/* Bytes of page p that landed; checks they are a strict prefix. */
static size_t landed_prefix(const nor_flash_t *nor, unsigned p)
{
    uint8_t want[NOR_PAGE_SIZE];
    const uint8_t *got = nor->mem + p * NOR_PAGE_SIZE;
    size_t k = 0;

    pattern(want, sizeof want, p);
    while (k < NOR_PAGE_SIZE && got[k] == want[k])
        k++;
    assert_true(all_bytes(got + k, NOR_PAGE_SIZE - k, 0xFF));
    return k;
}

static void test_cut_prog_tears_prefix(void **state)
{
    nor_flash_t *nor = nor_of(state);
    bool seen[NOR_PAGE_SIZE] = {false};
    unsigned distinct = 0;

    for (uint32_t seed = 1; seed <= 64; seed++) {
        five_pages_t fp = {&nor->flash, 0};
        size_t k;

        assert_int_equal(nor->flash.erase(&nor->flash, 0, NOR_SECTOR_SIZE), 0);
        nor->count = (nor_counters_t){0};
        assert_true(test_flash_run_cut(nor, 3, seed, prog_five_pages, &fp, NULL));
        /* fired at exactly the 3rd op: two returned, the 3rd never did */
        assert_int_equal(fp.done, 2);
        assert_int_equal(nor_ops(nor), 3);
        assert_int_equal(landed_prefix(nor, 0), NOR_PAGE_SIZE);
        assert_int_equal(landed_prefix(nor, 1), NOR_PAGE_SIZE);
        k = landed_prefix(nor, 2);
        assert_true(k < NOR_PAGE_SIZE);
        assert_true(all_bytes(nor->mem + 3 * NOR_PAGE_SIZE, 2 * NOR_PAGE_SIZE,
                              0xFF));
        distinct += !seen[k];
        seen[k] = true;
        /* the cut disarmed itself */
        assert_int_equal(nor->cut_at, 0);
    }
    assert_true(distinct > 16); /* the seed really varies the tear */
}

static void test_cut_same_seed_same_tear(void **state)
{
    nor_flash_t *nor = nor_of(state);
    size_t k[2];

    for (int run = 0; run < 2; run++) {
        five_pages_t fp = {&nor->flash, 0};

        assert_int_equal(nor->flash.erase(&nor->flash, 0, NOR_SECTOR_SIZE), 0);
        assert_true(test_flash_run_cut(nor, 1, 1234, prog_five_pages, &fp, NULL));
        k[run] = landed_prefix(nor, 0);
    }
    assert_int_equal(k[0], k[1]);
}

static void test_cut_not_reached(void **state)
{
    nor_flash_t *nor = nor_of(state);
    five_pages_t fp = {&nor->flash, 0};
    int rc = -1;

    assert_false(test_flash_run_cut(nor, 6, 1, prog_five_pages, &fp, &rc));
    assert_int_equal(rc, 0);
    assert_int_equal(fp.done, 5);
    /* disarmed: further ops run normally */
    assert_int_equal(nor->flash.erase(&nor->flash, 0, NOR_SECTOR_SIZE), 0);
    assert_int_equal(nor_ops(nor), 6);
}

static void test_cut_refused_ops_do_not_count(void **state)
{
    nor_flash_t *nor = nor_of(state);
    five_pages_t fp = {&nor->flash, 0};

    /* page 1 already programmed: the 2nd prog is refused, fn stops there */
    fill(&nor->flash, NOR_PAGE_SIZE, NOR_PAGE_SIZE, 0x00);
    nor->count = (nor_counters_t){0};
    assert_false(test_flash_run_cut(nor, 2, 1, prog_five_pages, &fp, NULL));
    assert_int_equal(fp.done, 1);
    assert_int_equal(nor_ops(nor), 1);
}

typedef struct erase_args {
    const aloft_flash_t *f;
    uint32_t addr, len;
} erase_args_t;

static int do_erase(void *arg)
{
    erase_args_t *e = arg;

    return e->f->erase(e->f, e->addr, e->len);
}

/* Old contents of byte i of block 1: a pattern with many 0 bits. */
static uint8_t old_byte(size_t i)
{
    return (uint8_t)(i * 7u) & 0x5Au;
}

static void fill_block1_old(nor_flash_t *nor)
{
    const aloft_flash_t *f = &nor->flash;
    uint8_t page[NOR_PAGE_SIZE];

    assert_int_equal(f->erase(f, NOR_BLOCK_SIZE, NOR_BLOCK_SIZE), 0);
    for (uint32_t a = 0; a < NOR_BLOCK_SIZE; a += NOR_PAGE_SIZE) {
        for (size_t i = 0; i < NOR_PAGE_SIZE; i++)
            page[i] = old_byte(a + i);
        assert_int_equal(f->prog(f, NOR_BLOCK_SIZE + a, page, sizeof page), 0);
    }
}

/* Checks a torn erase of block 1 and returns the half-erased sector. */
static unsigned check_torn_block(const nor_flash_t *nor)
{
    const uint8_t *blk = nor->mem + NOR_BLOCK_SIZE;
    unsigned s = 0;
    size_t changed = 0;

    while (s < 16 && all_bytes(blk + s * NOR_SECTOR_SIZE, NOR_SECTOR_SIZE, 0xFF))
        s++;
    assert_true(s < 16);
    /* the half-erased sector: old bits kept, some bits raised */
    for (size_t i = s * NOR_SECTOR_SIZE; i < (s + 1) * NOR_SECTOR_SIZE; i++) {
        assert_int_equal(blk[i] & old_byte(i), old_byte(i));
        changed += blk[i] != old_byte(i);
    }
    assert_true(changed > 0);
    /* later sectors untouched */
    for (size_t i = (s + 1) * NOR_SECTOR_SIZE; i < NOR_BLOCK_SIZE; i++)
        assert_int_equal(blk[i], old_byte(i));
    /* the neighbouring blocks too */
    assert_true(all_bytes(nor->mem, NOR_BLOCK_SIZE, 0xFF));
    assert_true(all_bytes(nor->mem + 2 * NOR_BLOCK_SIZE, NOR_BLOCK_SIZE, 0xFF));
    return s;
}

static void test_cut_erase_block_tears(void **state)
{
    nor_flash_t *nor = nor_of(state);
    erase_args_t e = {&nor->flash, NOR_BLOCK_SIZE, NOR_BLOCK_SIZE};
    unsigned hist[16] = {0}, distinct = 0;

    for (uint32_t seed = 1; seed <= 32; seed++) {
        fill_block1_old(nor);
        assert_true(test_flash_run_cut(nor, 1, seed, do_erase, &e, NULL));
        distinct += hist[check_torn_block(nor)]++ == 0;
    }
    assert_true(distinct > 4);
}

static void test_cut_erase_sector_tears(void **state)
{
    nor_flash_t *nor = nor_of(state);
    erase_args_t e = {&nor->flash, NOR_BLOCK_SIZE + 5 * NOR_SECTOR_SIZE,
                      NOR_SECTOR_SIZE};
    const uint8_t *blk = nor->mem + NOR_BLOCK_SIZE;
    size_t changed = 0;

    fill_block1_old(nor);
    assert_true(test_flash_run_cut(nor, 1, 99, do_erase, &e, NULL));
    for (size_t i = 0; i < NOR_BLOCK_SIZE; i++) {
        bool in_sector = i / NOR_SECTOR_SIZE == 5;

        if (!in_sector)
            assert_int_equal(blk[i], old_byte(i));
        assert_int_equal(blk[i] & old_byte(i), old_byte(i));
        changed += in_sector && blk[i] != old_byte(i);
    }
    assert_true(changed > 0);
    /* a half-erased sector refuses programs until erased again */
    assert_int_equal(nor->flash.prog(&nor->flash, e.addr, (uint8_t[4]){0}, 4),
                     ALOFT_ERR_NOT_ERASED);
}

/* ---- persistence ---------------------------------------------------------------- */

static void test_persists_across_reboot(void **state)
{
    test_flash_t *tf = *state;
    five_pages_t fp = {&tf->nor.flash, 0};
    uint8_t file_bytes[2 * NOR_PAGE_SIZE];
    uint8_t want[NOR_PAGE_SIZE];
    size_t k;
    FILE *fp_file;

    assert_true(test_flash_run_cut(&tf->nor, 4, 7, prog_five_pages, &fp, NULL));
    k = landed_prefix(&tf->nor, 3);
    assert_int_equal(test_flash_reboot(tf), 0);
    assert_int_equal(tf->nor.size, FLASH_SIZE);
    assert_int_equal(nor_ops(&tf->nor), 0);
    for (unsigned p = 0; p < 3; p++)
        assert_int_equal(landed_prefix(&tf->nor, p), NOR_PAGE_SIZE);
    assert_int_equal(landed_prefix(&tf->nor, 3), k);
    /* and in the file itself, as any other process sees it */
    fp_file = fopen(tf->path, "rb");
    assert_non_null(fp_file);
    assert_int_equal(fread(file_bytes, 1, sizeof file_bytes, fp_file),
                     sizeof file_bytes);
    fclose(fp_file);
    pattern(want, sizeof want, 1);
    assert_memory_equal(file_bytes + NOR_PAGE_SIZE, want, NOR_PAGE_SIZE);
}

static void exit_42(void *ctx)
{
    (void)ctx;
    exit(42);
}

static void return_from_cut(void *ctx)
{
    (void)ctx;
}

/* In a child: open the file, cut at the 3rd of five programs with on_cut.
 * Returns the child's wait status. */
static int child_status(const char *path, void (*on_cut)(void *))
{
    pid_t pid;
    int status = 0;

    fflush(NULL); /* the child's exit() must not repeat buffered output */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        nor_flash_t nor;
        five_pages_t fp = {&nor.flash, 0};

        if (nor_open_existing(&nor, path) != 0)
            _exit(1);
        nor_arm_cut(&nor, 3, 5, on_cut, NULL);
        prog_five_pages(&fp);
        _exit(2); /* not reached when the cut works */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_cut_exit_in_other_process(void **state)
{
    test_flash_t *tf = *state;
    int status = child_status(tf->path, exit_42);

    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
    /* what the child wrote before the cut is here, and the torn page */
    assert_int_equal(landed_prefix(&tf->nor, 0), NOR_PAGE_SIZE);
    assert_int_equal(landed_prefix(&tf->nor, 1), NOR_PAGE_SIZE);
    assert_true(landed_prefix(&tf->nor, 2) < NOR_PAGE_SIZE);
    assert_true(all_bytes(tf->nor.mem + 3 * NOR_PAGE_SIZE, 2 * NOR_PAGE_SIZE,
                          0xFF));
}

static void test_cut_handler_returning_aborts(void **state)
{
    test_flash_t *tf = *state;
    int status = child_status(tf->path, return_from_cut);

    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_geometry),
        T(test_open_errors),
        T(test_prog_then_read),
        T(test_prog_over_programmed_refused),
        T(test_prog_ff_is_noop),
        T(test_prog_clears_bits_only),
        T(test_prog_alignment),
        T(test_erase_alignment),
        T(test_read_range),
        T(test_zero_length),
        T(test_erase_sector),
        T(test_erase_block),
        T(test_counters),
        T(test_touched_span),
        T(test_timing_count),
        T(test_timing_esp32_sleeps),
        T(test_cut_prog_tears_prefix),
        T(test_cut_same_seed_same_tear),
        T(test_cut_not_reached),
        T(test_cut_refused_ops_do_not_count),
        T(test_cut_erase_block_tears),
        T(test_cut_erase_sector_tears),
        T(test_persists_across_reboot),
        T(test_cut_exit_in_other_process),
        T(test_cut_handler_returning_aborts),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
