/*
 * port/posix/nor_flash.c — simulated NOR flash over a shared file mapping.
 *
 * Implementation notes
 *
 *  - Every callback checks first (range, alignment, the NOR rule) and only
 *    then touches the mapping, so a refused call changes nothing but
 *    count.faults.
 *  - A call that passes the checks is an "op" (erase or program): it is
 *    counted, may be the armed power cut, and is charged to the timing
 *    model. The cut is decided after counting, so nor_ops() at the moment
 *    of a cut is exactly (ops before arming) + n.
 *  - A torn op writes its partial result to the mapping before the cut
 *    handler runs, so whatever the handler does (exit, longjmp) the file
 *    already holds the torn state; no msync is needed because the page
 *    cache outlives the process.
 *  - Tearing draws from a small PRNG seeded by nor_arm_cut's seed, so a
 *    failing power-cut run can be replayed exactly.
 */
#include "nor_flash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aloft/error.h"

/* W25Q32JV typical figures; see docs/SIMULATOR.md, "Flash timing model". */
const nor_timing_t nor_timing_w25q32 = {
    .page_prog_us = 400,        /* tPP typ 0.4 ms */
    .sector_erase_us = 45000,   /* tSE typ 45 ms */
    .block_erase_us = 150000,   /* tBE2 typ 150 ms */
    .read_ns_per_byte = 100,    /* 40 MHz x 2 lines = 10 MB/s */
};

/* ESP32 mode sleeps in chunks of at least this much: one nanosleep costs
 * tens of microseconds itself, which would swamp many short reads. */
#define SLEEP_MIN_US 1000u
/* A sleep ends late by the timer slack and, on a loaded machine, by
 * milliseconds of scheduling: that much is taken off the next sleeps, so
 * the wall time of a run of operations stays the modelled time. Only up to
 * this much is owed (an idle device owes nothing from long ago). */
#define OVERSLEPT_MAX_US 20000u

/* ---- checks ------------------------------------------------------------ */

static bool in_range(const nor_flash_t *nor, uint32_t addr, size_t len)
{
    return addr <= nor->size && len <= nor->size - addr;
}

static bool erase_shape_ok(uint32_t addr, uint32_t len)
{
    if (len == NOR_SECTOR_SIZE)
        return addr % NOR_SECTOR_SIZE == 0;
    if (len == NOR_BLOCK_SIZE)
        return addr % NOR_BLOCK_SIZE == 0;
    return false;
}

/* NOR rule: a byte that is to lose bits must still be erased. A 0xFF
 * source byte clears nothing, so it may go over anything. */
static bool programmable(const uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (src[i] != ALOFT_ERASED && dst[i] != ALOFT_ERASED)
            return false;
    return true;
}

static int refuse(nor_flash_t *nor, int err)
{
    nor->count.faults++;
    return err;
}

/* ---- timing model -------------------------------------------------------- */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Sleep us, less what earlier sleeps overran; remember this one's overrun. */
static void sleep_us(nor_flash_t *nor, uint64_t us)
{
    uint64_t paid = nor->overslept_us < us ? nor->overslept_us : us;
    uint64_t want = us - paid, t0 = mono_us();
    struct timespec req = {(time_t)(want / 1000000u), (long)(want % 1000000u) * 1000L};
    struct timespec rem;

    nor->overslept_us -= paid;
    while (want && nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
    uint64_t slept = mono_us() - t0;
    if (slept > want)
        nor->overslept_us += slept - want;
    if (nor->overslept_us > OVERSLEPT_MAX_US)
        nor->overslept_us = OVERSLEPT_MAX_US;
}

/* Charge ns of device time; sub-microsecond rests carry over so many small
 * reads add up exactly. */
static void charge_ns(nor_flash_t *nor, uint64_t ns)
{
    uint64_t us;

    if (nor->timing == NOR_TIMING_OFF)
        return;
    ns += nor->ns_carry;
    us = ns / 1000u;
    nor->ns_carry = (uint32_t)(ns % 1000u);
    nor->count.modelled_us += us;
    if (nor->timing != NOR_TIMING_ESP32)
        return;
    nor->sleep_debt_us += us;
    if (nor->sleep_debt_us >= SLEEP_MIN_US) {
        sleep_us(nor, nor->sleep_debt_us);
        nor->sleep_debt_us = 0;
    }
}

/* ---- power cuts ------------------------------------------------------------ */

/* xorshift32; the state is never 0 (nor_arm_cut makes sure). */
static uint32_t tear_rand(nor_flash_t *nor)
{
    uint32_t x = nor->tear_seed;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    nor->tear_seed = x;
    return x;
}

/* Spread neighbouring seeds (a sweep uses 1, 2, 3, ...) over the state. */
static uint32_t tear_mix(uint32_t seed)
{
    uint32_t x = seed * 0x9E3779B1u;

    x ^= x >> 15;
    x *= 0x85EBCA77u;
    x ^= x >> 13;
    return x != 0 ? x : 1u;
}

/* Count an op against the armed cut; true when this op is the cut. */
static bool cut_now(nor_flash_t *nor)
{
    if (nor->cut_at == 0)
        return false;
    if (++nor->ops_since_arm < nor->cut_at)
        return false;
    nor->cut_at = 0;
    return true;
}

/* Power is gone: hand over to the handler, which must not come back. */
static _Noreturn void power_off(nor_flash_t *nor)
{
    void (*fn)(void *) = nor->on_cut;
    void *ctx = nor->cut_ctx;

    nor->on_cut = NULL;
    nor->cut_ctx = NULL;
    if (fn != NULL)
        fn(ctx);
    abort();
}

static void prog_bytes(uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] &= src[i];
}

/* A torn program lands a strict prefix: 0 .. len-1 bytes. */
static void tear_prog(nor_flash_t *nor, uint8_t *dst, const uint8_t *src,
                      size_t len)
{
    prog_bytes(dst, src, tear_rand(nor) % len);
}

/* A torn erase finishes a prefix of its sectors (0 .. n-1), leaves the next
 * one half-erased and does not reach the rest. Erasing drives bits to 1, so
 * a half-erased byte is its old value with some random bits set. */
static void tear_erase(nor_flash_t *nor, uint8_t *dst, uint32_t len)
{
    uint32_t done = tear_rand(nor) % (len / NOR_SECTOR_SIZE);
    uint8_t *half = dst + (size_t)done * NOR_SECTOR_SIZE;

    memset(dst, ALOFT_ERASED, (size_t)done * NOR_SECTOR_SIZE);
    for (uint32_t i = 0; i < NOR_SECTOR_SIZE; i++)
        half[i] |= (uint8_t)tear_rand(nor);
}

/* Grow the touched span over [addr, addr + len) (len > 0, in range). */
static void touch(nor_flash_t *nor, uint32_t addr, size_t len)
{
    uint32_t end = addr + (uint32_t)len;

    if (nor->touched_lo == nor->touched_hi) {
        nor->touched_lo = addr;
        nor->touched_hi = end;
        return;
    }
    if (addr < nor->touched_lo)
        nor->touched_lo = addr;
    if (end > nor->touched_hi)
        nor->touched_hi = end;
}

/* ---- the aloft_flash_t callbacks -------------------------------------------- */

static int nor_read_cb(const aloft_flash_t *f, uint32_t addr, void *buf,
                       size_t len)
{
    nor_flash_t *nor = f->ctx;

    if (len == 0)
        return 0;
    if (buf == NULL)
        return refuse(nor, ALOFT_ERR_ARG);
    if (!in_range(nor, addr, len))
        return refuse(nor, ALOFT_ERR_ALIGN);
    memcpy(buf, nor->mem + addr, len);
    nor->count.reads++;
    nor->count.read_bytes += len;
    charge_ns(nor, (uint64_t)len * nor->t.read_ns_per_byte);
    return 0;
}

static int nor_erase_cb(const aloft_flash_t *f, uint32_t addr, uint32_t len)
{
    nor_flash_t *nor = f->ctx;
    uint8_t *dst;

    if (len == 0)
        return 0;
    if (!erase_shape_ok(addr, len) || !in_range(nor, addr, len))
        return refuse(nor, ALOFT_ERR_ALIGN);
    dst = nor->mem + addr;
    touch(nor, addr, len);
    nor->count.erases++;
    nor->count.erase_bytes += len;
    if (cut_now(nor)) {
        tear_erase(nor, dst, len);
        power_off(nor);
    }
    memset(dst, ALOFT_ERASED, len);
    charge_ns(nor, 1000u * (uint64_t)(len == NOR_BLOCK_SIZE
                                          ? nor->t.block_erase_us
                                          : nor->t.sector_erase_us));
    return 0;
}

static int nor_prog_cb(const aloft_flash_t *f, uint32_t addr, const void *buf,
                       size_t len)
{
    nor_flash_t *nor = f->ctx;
    const uint8_t *src = buf;
    uint8_t *dst;

    if (len == 0)
        return 0;
    if (buf == NULL)
        return refuse(nor, ALOFT_ERR_ARG);
    if (!in_range(nor, addr, len) || addr % NOR_PAGE_SIZE + len > NOR_PAGE_SIZE)
        return refuse(nor, ALOFT_ERR_ALIGN);
    dst = nor->mem + addr;
    if (!programmable(dst, src, len))
        return refuse(nor, ALOFT_ERR_NOT_ERASED);
    touch(nor, addr, len);
    nor->count.progs++;
    nor->count.prog_bytes += len;
    if (cut_now(nor)) {
        tear_prog(nor, dst, src, len);
        power_off(nor);
    }
    prog_bytes(dst, src, len);
    charge_ns(nor, 1000u * (uint64_t)nor->t.page_prog_us);
    return 0;
}

/* ---- open / close ----------------------------------------------------------- */

static bool size_ok(uint64_t size)
{
    return size != 0 && size <= UINT32_MAX && size % NOR_BLOCK_SIZE == 0;
}

/* Size a freshly opened file: set it (create) or check it (existing).
 * Returns the flash size, or 0 with errno set. */
static uint32_t file_size(int fd, uint32_t want, bool create)
{
    struct stat st;

    if (create)
        return ftruncate(fd, (off_t)want) == 0 ? want : 0;
    if (fstat(fd, &st) != 0)
        return 0;
    if (!size_ok((uint64_t)st.st_size) ||
        (want != 0 && (uint64_t)st.st_size != want)) {
        errno = EINVAL;
        return 0;
    }
    return (uint32_t)st.st_size;
}

static void fill_flash(nor_flash_t *nor)
{
    nor->flash.read = nor_read_cb;
    nor->flash.erase = nor_erase_cb;
    nor->flash.prog = nor_prog_cb;
    nor->flash.ctx = nor;
    nor->flash.size = nor->size;
    nor->flash.sector_size = NOR_SECTOR_SIZE;
    nor->flash.block_size = NOR_BLOCK_SIZE;
    nor->flash.page_size = NOR_PAGE_SIZE;
}

int nor_open(nor_flash_t *nor, const char *path, uint32_t size, bool create)
{
    int saved;
    void *mem;

    memset(nor, 0, sizeof *nor);
    nor->fd = -1;
    if ((create || size != 0) && !size_ok(size))
        return ALOFT_ERR_ARG;
    nor->fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0),
                   0644);
    if (nor->fd < 0)
        return ALOFT_ERR_IO;
    nor->size = file_size(nor->fd, size, create);
    if (nor->size == 0)
        goto fail;
    mem = mmap(NULL, nor->size, PROT_READ | PROT_WRITE, MAP_SHARED, nor->fd, 0);
    if (mem == MAP_FAILED)
        goto fail;
    nor->mem = mem;
    if (create)
        memset(nor->mem, ALOFT_ERASED, nor->size);
    nor->t = nor_timing_w25q32;
    fill_flash(nor);
    return 0;

fail:
    saved = errno;
    close(nor->fd);
    nor->fd = -1;
    nor->size = 0;
    errno = saved;
    return ALOFT_ERR_IO;
}

int nor_open_existing(nor_flash_t *nor, const char *path)
{
    return nor_open(nor, path, 0, false);
}

void nor_close(nor_flash_t *nor)
{
    if (nor->mem != NULL)
        munmap(nor->mem, nor->size);
    if (nor->fd >= 0)
        close(nor->fd);
    nor->mem = NULL;
    nor->fd = -1;
    /* a call through a stale &nor->flash now crashes instead of writing */
    memset(&nor->flash, 0, sizeof nor->flash);
}

void nor_set_timing(nor_flash_t *nor, nor_timing_mode_t mode)
{
    nor->timing = mode;
}

void nor_arm_cut(nor_flash_t *nor, uint64_t n, uint32_t seed,
                 void (*on_cut)(void *), void *cut_ctx)
{
    nor->cut_at = n;
    nor->ops_since_arm = 0;
    nor->tear_seed = tear_mix(seed);
    nor->on_cut = n != 0 ? on_cut : NULL;
    nor->cut_ctx = n != 0 ? cut_ctx : NULL;
}

uint64_t nor_ops(const nor_flash_t *nor)
{
    return nor->count.erases + nor->count.progs;
}
