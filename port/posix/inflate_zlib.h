/* port/posix/inflate_zlib.h — aloft_inflate_t backed by zlib. */
#ifndef ALOFT_INFLATE_ZLIB_H
#define ALOFT_INFLATE_ZLIB_H

#include <stdbool.h>
#include <zlib.h>

#include "aloft/port/inflate.h"

typedef struct inflate_zlib {
    z_stream z;
    bool open;
} inflate_zlib_t;

/* Fill ops to decode with st, windows up to 2^max_window_bits. */
void inflate_zlib_init(aloft_inflate_t *ops, inflate_zlib_t *st, unsigned max_window_bits);

#endif
