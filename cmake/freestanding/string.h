/* Declarations for the freestanding size build only: Debian's bare
 * xtensa-lx106-elf and riscv64-unknown-elf compilers ship no libc headers.
 * On a real target (ESP-IDF, newlib) the toolchain's own string.h is used. */
#ifndef ALOFT_FREESTANDING_STRING_H
#define ALOFT_FREESTANDING_STRING_H
#include <stddef.h>
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif
