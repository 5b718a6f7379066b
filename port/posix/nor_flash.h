/*
 * port/posix/nor_flash.h — a file-backed simulated NOR flash behind the
 * core's aloft_flash_t callbacks, with the rules and failures of a real
 * ESP32 SPI flash (W25Q32-class):
 *
 *  - geometry: 4 KiB sectors, 64 KiB blocks, 256 B pages, erased = 0xFF;
 *  - strict NOR: program only clears bits; programming a non-0xFF value over
 *    a byte that is not 0xFF is a fault (ALOFT_ERR_NOT_ERASED, nothing
 *    written); a program may not cross a page boundary; erase must be
 *    sector- or block-aligned (ALOFT_ERR_ALIGN);
 *  - counters of reads, erases and programs (and bytes);
 *  - an optional timing model (typical datasheet figures, see
 *    docs/SIMULATOR.md) that either sleeps or only accumulates modelled
 *    time;
 *  - power-cut injection: the Nth erase/program (1-based, counted from the
 *    moment it is armed) is torn — a program writes only a prefix of its
 *    bytes, an erase leaves only a prefix of its sectors erased and the
 *    next one half-erased (random garbage bits) — and then the power-cut
 *    handler runs and must not return (the simulator exits, tests longjmp).
 *
 * The file is mapped shared, so every completed operation is on disk at
 * once, exactly as flash survives a power loss.
 */
#ifndef ALOFT_NOR_FLASH_H
#define ALOFT_NOR_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/flash.h"

#define NOR_SECTOR_SIZE 4096u
#define NOR_BLOCK_SIZE 65536u
#define NOR_PAGE_SIZE 256u

/* Typical W25Q32JV figures (microseconds), used by NOR_TIMING_ESP32. */
typedef struct nor_timing {
    uint32_t page_prog_us;      /* tPP, one page (or part of one) */
    uint32_t sector_erase_us;   /* tSE, 4 KiB */
    uint32_t block_erase_us;    /* tBE2, 64 KiB */
    uint32_t read_ns_per_byte;  /* SPI read at 40 MHz DIO */
} nor_timing_t;

typedef enum nor_timing_mode {
    NOR_TIMING_OFF,     /* operations are instant */
    NOR_TIMING_ESP32,   /* sleep for the modelled time */
    NOR_TIMING_COUNT,   /* only accumulate modelled time (benchmarks, tests) */
} nor_timing_mode_t;

extern const nor_timing_t nor_timing_w25q32;

typedef struct nor_counters {
    uint64_t reads, read_bytes;
    uint64_t erases, erase_bytes;
    uint64_t progs, prog_bytes;
    uint64_t faults;            /* NOR-rule violations refused */
    uint64_t modelled_us;       /* time the timing model charged */
} nor_counters_t;

typedef struct nor_flash {
    aloft_flash_t flash;        /* hand &nor->flash to the core */
    uint8_t *mem;               /* mapping of the file */
    uint32_t size;
    int fd;
    nor_timing_mode_t timing;
    nor_timing_t t;
    nor_counters_t count;
    /* power cut: when cut_at != 0, the cut_at-th erase/prog after arming is
     * torn and on_cut(cut_ctx) is called; it must not return. */
    uint64_t cut_at;
    uint64_t ops_since_arm;
    uint32_t tear_seed;         /* decides how much of the torn op lands */
    void (*on_cut)(void *cut_ctx);
    void *cut_ctx;
} nor_flash_t;

/* Open (and create with create=true: size bytes of 0xFF, truncating any
 * existing file) a flash file. size must be a multiple of 64 KiB. Returns 0
 * or ALOFT_ERR_IO (errno is kept for the caller's message). */
int nor_open(nor_flash_t *nor, const char *path, uint32_t size, bool create);

/* Open an existing file whose size decides the flash size. */
int nor_open_existing(nor_flash_t *nor, const char *path);

/* Unmap and close. */
void nor_close(nor_flash_t *nor);

/* Select the timing model (off by default). */
void nor_set_timing(nor_flash_t *nor, nor_timing_mode_t mode);

/* Arm a power cut at the n-th erase/program from now (n >= 1; 0 disarms).
 * seed varies how much of the torn operation lands. */
void nor_arm_cut(nor_flash_t *nor, uint64_t n, uint32_t seed,
                 void (*on_cut)(void *), void *cut_ctx);

/* Erases + programs since open (the index space nor_arm_cut counts in). */
uint64_t nor_ops(const nor_flash_t *nor);

#endif /* ALOFT_NOR_FLASH_H */
