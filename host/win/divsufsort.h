/*
 * host/win/divsufsort.h — the one libdivsufsort call delta_make.c makes,
 * for the Windows build (Debian has no libdivsufsort for mingw):
 * suffix_sort.c implements it by prefix doubling, O(n log n). A suffix
 * array is unique, so patches come out byte for byte as on Linux, only
 * slower to make.
 */
#ifndef ALOFT_WIN_DIVSUFSORT_H
#define ALOFT_WIN_DIVSUFSORT_H

#include <stdint.h>

typedef int32_t saidx_t;

/* sa[0..n) = the start offsets of t's suffixes in lexicographic order.
 * Returns 0, or -1 for a negative n. */
int divsufsort(const unsigned char *t, saidx_t *sa, saidx_t n);

#endif /* ALOFT_WIN_DIVSUFSORT_H */
