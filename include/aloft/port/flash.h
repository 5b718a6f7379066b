/*
 * aloft/port/flash.h — how the core reaches flash: a config struct of callbacks
 * plus a context pointer, passed in at init (no link-time globals), so a
 * process can run several simulated devices and inject faults per instance.
 *
 * Addresses are absolute flash offsets. The callbacks return 0 or a negative
 * aloft_err_t (ALOFT_ERR_IO, ALOFT_ERR_NOT_ERASED, ...), which the core
 * passes up unchanged.
 */
#ifndef ALOFT_PORT_FLASH_H
#define ALOFT_PORT_FLASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct aloft_flash aloft_flash_t;

struct aloft_flash {
    /* Read len bytes at addr into buf. Any alignment. */
    int (*read)(const aloft_flash_t *f, uint32_t addr, void *buf, size_t len);

    /* Set [addr, addr+len) to 0xFF. addr and len are multiples of
     * sector_size; len is sector_size or block_size (block-aligned). */
    int (*erase)(const aloft_flash_t *f, uint32_t addr, uint32_t len);

    /* Program len bytes at addr. NOR: programming only clears bits, so the
     * target bytes must be erased (0xFF). The range never crosses a
     * page_size boundary. */
    int (*prog)(const aloft_flash_t *f, uint32_t addr, const void *buf,
                size_t len);

    void *ctx;             /* the port's own state, untouched by the core */
    uint32_t size;         /* total bytes */
    uint32_t sector_size;  /* smallest erase unit, bytes (ESP32: 4096) */
    uint32_t block_size;   /* large erase unit, bytes (65536); 0 = none */
    uint32_t page_size;    /* program unit, bytes (256); at most ALOFT_PAGE_MAX */
};

/* Largest page_size the core buffers for (bytes). */
#define ALOFT_PAGE_MAX 256u

/* Byte value of erased NOR flash. */
#define ALOFT_ERASED 0xFFu

#endif /* ALOFT_PORT_FLASH_H */
