/* lib/sbuf.c — see sbuf.h. */
#include "sbuf.h"

#include <string.h>

void aloft_sbuf_init(aloft_sbuf_t *b, char *p, size_t n)
{
    b->p = p;
    b->n = n;
    b->len = 0;
    if (n)
        p[0] = '\0';
}

void aloft_sbuf_char(aloft_sbuf_t *b, char c)
{
    if (b->len + 1 < b->n) {
        b->p[b->len] = c;
        b->p[b->len + 1] = '\0';
    }
    b->len++;
}

void aloft_sbuf_str(aloft_sbuf_t *b, const char *s)
{
    while (*s)
        aloft_sbuf_char(b, *s++);
}

/* Decimal, with a separator every three digits when sep is not NUL. */
static void put_dec(aloft_sbuf_t *b, uint32_t v, char sep)
{
    char tmp[16];
    int n = 0, digits = 0;
    do {
        if (sep && digits && digits % 3 == 0)
            tmp[n++] = sep;
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
        digits++;
    } while (v);
    while (n)
        aloft_sbuf_char(b, tmp[--n]);
}

void aloft_sbuf_u32(aloft_sbuf_t *b, uint32_t v)
{
    put_dec(b, v, '\0');
}

void aloft_sbuf_grouped(aloft_sbuf_t *b, uint32_t v)
{
    put_dec(b, v, ' ');
}

void aloft_sbuf_hex(aloft_sbuf_t *b, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    int shift = 28;
    aloft_sbuf_str(b, "0x");
    while (shift > 0 && ((v >> shift) & 0xF) == 0)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        aloft_sbuf_char(b, hex[(v >> shift) & 0xF]);
}

bool aloft_sbuf_fits(const aloft_sbuf_t *b)
{
    return b->len < b->n;
}

size_t aloft_sbuf_stored(const aloft_sbuf_t *b)
{
    return b->n == 0 ? 0 : b->len < b->n ? b->len : b->n - 1;
}

bool aloft_str_eq(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && memcmp(a, b, n) == 0;
}

bool aloft_str_starts(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strlen(s) >= n && memcmp(s, prefix, n) == 0;
}
