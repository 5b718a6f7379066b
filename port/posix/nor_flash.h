/*
 * port/posix/nor_flash.h — a file-backed simulated NOR flash behind the
 * core's aloft_flash_t callbacks, with the rules and failures of a real
 * ESP32 SPI flash (W25Q32-class):
 *
 *  - geometry: 4 KiB sectors, 64 KiB blocks, 256 B pages, erased = 0xFF;
 *  - strict NOR: program only clears bits; programming a non-0xFF value over
 *    a byte that is not 0xFF is a fault (ALOFT_ERR_NOT_ERASED, nothing
 *    written); a 0xFF source byte leaves its target as it was; a program
 *    may not cross a page boundary; erase must be one sector (sector
 *    aligned) or one block (block aligned); anything out of range, or
 *    misaligned, is ALOFT_ERR_ALIGN and changes nothing;
 *  - zero-length calls succeed and count nothing; a NULL buffer with a
 *    non-zero length is ALOFT_ERR_ARG;
 *  - counters of reads, erases and programs (and bytes) and refusals;
 *  - an optional timing model (typical datasheet figures, see
 *    docs/SIMULATOR.md) that either sleeps or only accumulates modelled
 *    time;
 *  - power-cut injection: the Nth erase/program (1-based, counted from the
 *    moment it is armed) is torn — a program writes only a prefix of its
 *    bytes, an erase leaves only a prefix of its sectors erased and the
 *    next one half-erased (random garbage bits) — and then the power-cut
 *    handler runs and must not return (the simulator exits, tests longjmp).
 *
 * The file is mapped shared, so every operation is in the file the moment
 * it returns (the page cache outlives the process, however it ends),
 * exactly as flash survives a power loss. Not thread-safe.
 */
#ifndef ALOFT_NOR_FLASH_H
#define ALOFT_NOR_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/port/flash.h"

#define NOR_SECTOR_SIZE 4096u
#define NOR_BLOCK_SIZE 65536u
#define NOR_PAGE_SIZE 256u

/* Typical W25Q32JV figures, used by the timing model (sources and the
 * arithmetic in docs/SIMULATOR.md, "Flash timing model"). */
typedef struct nor_timing {
    uint32_t page_prog_us;      /* tPP, one program call (a page or part of one) */
    uint32_t sector_erase_us;   /* tSE, 4 KiB */
    uint32_t block_erase_us;    /* tBE2, 64 KiB */
    uint32_t read_ns_per_byte;  /* SPI read at 40 MHz DIO (2 bits per clock) */
} nor_timing_t;

typedef enum nor_timing_mode {
    NOR_TIMING_OFF,     /* operations are instant; nothing is charged */
    NOR_TIMING_ESP32,   /* charge and sleep for the modelled time */
    NOR_TIMING_COUNT,   /* only charge count.modelled_us (benchmarks, tests) */
} nor_timing_mode_t;

/* {400, 45000, 150000, 100}: tPP 0.4 ms, tSE 45 ms, tBE2 150 ms, 100 ns/B. */
extern const nor_timing_t nor_timing_w25q32;

/* Counters since open. Plain data: callers may zero them (nor_ops() then
 * restarts from 0; an armed cut is not affected). */
typedef struct nor_counters {
    uint64_t reads, read_bytes;
    uint64_t erases, erase_bytes;   /* issued erases, a torn one included */
    uint64_t progs, prog_bytes;     /* issued programs, a torn one included */
    uint64_t faults;            /* calls refused (NOR rule, alignment, range) */
    uint64_t modelled_us;       /* time the timing model charged */
} nor_counters_t;

/* One simulated chip. nor->flash.ctx points back at nor, so the struct must
 * not move between nor_open and nor_close. Fields other than flash, count
 * and t are internal; do not rely on their contents. */
typedef struct nor_flash {
    aloft_flash_t flash;        /* hand &nor->flash to the core */
    uint8_t *mem;               /* mapping of the file */
    uint32_t size;
    int fd;
    nor_timing_mode_t timing;
    nor_timing_t t;             /* nor_timing_w25q32 after open; may be changed */
    nor_counters_t count;
    /* power cut: when cut_at != 0, the cut_at-th erase/prog after arming is
     * torn and on_cut(cut_ctx) is called; it must not return. */
    uint64_t cut_at;
    uint64_t ops_since_arm;
    uint32_t tear_seed;         /* decides how much of the torn op lands */
    void (*on_cut)(void *cut_ctx);
    void *cut_ctx;
    uint32_t ns_carry;          /* charged time below 1 us, not yet in modelled_us */
    uint64_t sleep_debt_us;     /* ESP32 mode: charged but not yet slept */
    uint64_t overslept_us;      /* ESP32 mode: slept beyond the charge (a late
                                   wake-up), paid back by the next sleeps */
    /* [touched_lo, touched_hi): every byte an erase or program (a torn one
     * too) may have changed since open, or since the caller made the span
     * empty (lo == hi), so that a caller can restore only that (see
     * sim_rewind). */
    uint32_t touched_lo, touched_hi;
} nor_flash_t;

/* Open the flash file at path into nor (which is fully initialised: timing
 * off, counters zero, no cut armed).
 *  - create=true: create or truncate the file to size bytes, all 0xFF.
 *  - create=false: the file must exist; size 0 takes the file's size,
 *    otherwise the file must be exactly size bytes.
 * The flash size must be a non-zero multiple of 64 KiB (NOR_BLOCK_SIZE).
 * Returns 0, ALOFT_ERR_ARG for a bad size argument, or ALOFT_ERR_IO when the
 * file cannot be opened, sized or mapped, or has a bad size (errno is kept
 * for the caller's message; EINVAL for a bad file size). */
int nor_open(nor_flash_t *nor, const char *path, uint32_t size, bool create);

/* Open an existing file whose size decides the flash size
 * (nor_open(nor, path, 0, false)). */
int nor_open_existing(nor_flash_t *nor, const char *path);

/* Unmap and close. Everything programmed or erased is already in the file
 * (shared mapping). Safe to call twice. */
void nor_close(nor_flash_t *nor);

/* Select the timing model (off after open). */
void nor_set_timing(nor_flash_t *nor, nor_timing_mode_t mode);

/* Arm a power cut at the n-th erase/program from now (n >= 1; 0 disarms).
 * Only calls that pass every check count (refused calls change nothing).
 * The torn operation is counted in nor->count, the cut is disarmed, then
 * on_cut(cut_ctx) runs; it must not return (exit or longjmp); if it does,
 * or on_cut is NULL, the process aborts. seed varies how much of the torn
 * operation lands (same seed, same tear). */
void nor_arm_cut(nor_flash_t *nor, uint64_t n, uint32_t seed,
                 void (*on_cut)(void *), void *cut_ctx);

/* Erases + programs issued since open or since the counters were zeroed
 * (the index space nor_arm_cut counts in). */
uint64_t nor_ops(const nor_flash_t *nor);

#endif /* ALOFT_NOR_FLASH_H */
