/*
 * host/fileio.h — host-side conveniences: allocation that fails
 * loudly, whole-file reads and writes with messages that name the file.
 */
#ifndef ALOFT_FILEIO_H
#define ALOFT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/* malloc that prints and exits on failure (host tools only). */
void *xmalloc(size_t n);

/* Read a whole file into a new buffer (free() it). On failure prints
 * "aloft: cannot read PATH: reason" to stderr and returns NULL. */
uint8_t *read_file(const char *path, size_t *len);

/* Write len bytes to path (created or truncated). Returns 0, or -1 after
 * printing the reason to stderr. */
int write_file(const char *path, const void *data, size_t len);

#endif /* ALOFT_FILEIO_H */
