/*
 * host/fileio.h — host-side conveniences: allocation that fails
 * loudly, whole-file reads and writes with messages that name the file.
 *
 * Every file aloft reads (firmware, filesystem images, keys, signed files)
 * goes through input_open: only a regular file of at most
 * FILEIO_MAX_BYTES is read. A directory, a device (/dev/zero), a pipe or
 * a socket, a /proc or /sys file (size 0 yet full of data) or a larger
 * file is refused with its path and what it is, before anything is read
 * or allocated.
 */
#ifndef ALOFT_FILEIO_H
#define ALOFT_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "host_error.h"

/* The largest file aloft reads: 32 MiB, the largest flash ESP32-class
 * chips are sold with (ESP32-S3 modules); no image or key is bigger. */
#define FILEIO_MAX_BYTES (32u << 20)

/* malloc that prints and exits on failure (host tools only). */
void *xmalloc(size_t n);

/* realloc that prints and exits on failure. */
void *xrealloc(void *p, size_t n);

/* Open path for reading once it is known to be a regular file of at most
 * FILEIO_MAX_BYTES; *size receives its size. On failure prints "aloft:
 * cannot read PATH: reason" to stderr and returns NULL. fclose() it. */
FILE *input_open(const char *path, size_t *size);

/* Read a whole file (as input_open allows) into a new buffer (free() it).
 * On failure prints "aloft: cannot read PATH: reason" to stderr and
 * returns NULL. */
uint8_t *read_file(const char *path, size_t *len);

/* read_file that also keeps, on failure, the words it printed in e
 * (message "cannot read PATH", hint the reason, code ALOFT_ERR_ARG), for
 * output that is not stderr (upload --json). */
uint8_t *read_file_error(const char *path, size_t *len, host_error_t *e);

/* Write len bytes to path (created or truncated). Returns 0, or -1 after
 * printing the reason to stderr. */
int write_file(const char *path, const void *data, size_t len);

#endif /* ALOFT_FILEIO_H */
