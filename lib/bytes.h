/*
 * lib/bytes.h — internal: explicit little-endian loads and stores. On-flash
 * and on-wire data are handled as bytes, never by casting buffers to structs.
 */
#ifndef ALOFT_BYTES_H
#define ALOFT_BYTES_H

#include <stdint.h>

static inline uint16_t aloft_ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t aloft_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void aloft_st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void aloft_st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif /* ALOFT_BYTES_H */
