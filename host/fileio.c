/* host/fileio.c — see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_error.h"

#ifdef _WIN32
/* Windows opens in text mode unless told; files there are no FIFOs,
 * sockets or block devices. */
#define OPEN_FLAGS (O_RDONLY | O_BINARY)
#define S_ISSOCK(m) 0
#else
/* O_NONBLOCK: opening a pipe or a device must not wait; check_input
 * refuses them before any read. */
#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_CLOEXEC)
#endif

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "aloft: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "aloft: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return q;
}

/* Print "aloft: cannot read PATH: reason"; with e, keep the same words
 * there too (message "cannot read PATH", hint the reason). */
static void cannot_read(host_error_t *e, const char *path, const char *fmt, ...)
{
    char why[sizeof e->hint];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    fprintf(stderr, "aloft: cannot read %s: %s\n", path, why);
    if (e != NULL) {
        host_error_set(e, ALOFT_ERR_ARG, "", "%s", why);
        snprintf(e->message, sizeof e->message, "cannot read %s", path);
    }
}

static const char *kind(mode_t m)
{
    return S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISFIFO(m) ? "a pipe (FIFO)" : S_ISSOCK(m) ? "a socket" : "a special file";
}

/* Refuse what is not a regular file of a readable size; 0 when it is. */
static int check_input(const char *path, const struct stat *st, host_error_t *e)
{
    char n[32], max[32];
    if (S_ISDIR(st->st_mode)) {
        cannot_read(e, path, "it is a directory, not a file");
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        cannot_read(e, path, "it is %s, not a regular file", kind(st->st_mode));
        return -1;
    }
    if ((uint64_t)st->st_size > FILEIO_MAX_BYTES) {
        cannot_read(e, path, "it is %s bytes; aloft reads at most %s (32 MiB, the largest flash "
                    "of an ESP32-class chip)", host_grouped((uint64_t)st->st_size, n),
                    host_grouped(FILEIO_MAX_BYTES, max));
        return -1;
    }
    return 0;
}

static FILE *open_input(const char *path, size_t *size, host_error_t *e)
{
    struct stat st;
    FILE *f;
    int fd = open(path, OPEN_FLAGS);
    if (fd < 0 || fstat(fd, &st) != 0) {
        cannot_read(e, path, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (check_input(path, &st, e) != 0 || (f = fdopen(fd, "rb")) == NULL) {
        close(fd);
        return NULL;
    }
    /* /proc and /sys files say size 0 and yet read as data. */
    int c = st.st_size == 0 ? fgetc(f) : EOF;
    if (c != EOF) {
        cannot_read(e, path, "it is not a regular file (its size is 0, yet it reads as data: a "
                    "/proc or /sys file?)");
        fclose(f);
        return NULL;
    }
    *size = (size_t)st.st_size;
    return f;
}

FILE *input_open(const char *path, size_t *size)
{
    return open_input(path, size, NULL);
}

uint8_t *read_file_error(const char *path, size_t *len, host_error_t *e)
{
    size_t size;
    FILE *f = open_input(path, &size, e);
    if (f == NULL)
        return NULL;
    uint8_t *buf = xmalloc(size);
    size_t got = fread(buf, 1, size, f);
    int err = ferror(f) ? errno : 0;
    bool grew = got == size && fgetc(f) != EOF;
    fclose(f);
    if (got != size || grew) {
        if (err)
            cannot_read(e, path, "%s", strerror(err));
        else
            cannot_read(e, path, "it changed while it was read (%zu bytes expected)", size);
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

uint8_t *read_file(const char *path, size_t *len)
{
    return read_file_error(path, len, NULL);
}

int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "aloft: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}
