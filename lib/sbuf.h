/*
 * lib/sbuf.h — internal: a bounded string builder for the core, which has
 * no printf. Output is always NUL-terminated; len counts what would have
 * been written, so aloft_sbuf_fits() tells whether anything was cut.
 */
#ifndef ALOFT_SBUF_H
#define ALOFT_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct aloft_sbuf {
    char *p;
    size_t n;     /* capacity including the NUL */
    size_t len;   /* characters appended (may exceed n - 1) */
} aloft_sbuf_t;

void aloft_sbuf_init(aloft_sbuf_t *b, char *p, size_t n);
void aloft_sbuf_char(aloft_sbuf_t *b, char c);
void aloft_sbuf_str(aloft_sbuf_t *b, const char *s);
void aloft_sbuf_u32(aloft_sbuf_t *b, uint32_t v);      /* 1412096 */
void aloft_sbuf_grouped(aloft_sbuf_t *b, uint32_t v);  /* 1 412 096 */
void aloft_sbuf_hex(aloft_sbuf_t *b, uint32_t v);      /* 0x1f */
bool aloft_sbuf_fits(const aloft_sbuf_t *b);
/* Characters actually stored (at most n - 1). */
size_t aloft_sbuf_stored(const aloft_sbuf_t *b);

/* a and b are the same string; the core's strcmp (it links only
 * memcpy/memmove/memset/memcmp/strlen: tools/size.sh checks). */
bool aloft_str_eq(const char *a, const char *b);
/* s starts with prefix. */
bool aloft_str_starts(const char *s, const char *prefix);

#endif /* ALOFT_SBUF_H */
