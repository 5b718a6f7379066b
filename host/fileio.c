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

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "aloft: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void cannot_read(const char *path, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "aloft: cannot read %s: ", path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *kind(mode_t m)
{
    return S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISFIFO(m) ? "a pipe (FIFO)" : S_ISSOCK(m) ? "a socket" : "a special file";
}

/* Refuse what is not a regular file of a readable size; 0 when it is. */
static int check_input(const char *path, const struct stat *st)
{
    char n[32], max[32];
    if (S_ISDIR(st->st_mode)) {
        cannot_read(path, "it is a directory, not a file");
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        cannot_read(path, "it is %s, not a regular file", kind(st->st_mode));
        return -1;
    }
    if ((uint64_t)st->st_size > FILEIO_MAX_BYTES) {
        cannot_read(path, "it is %s bytes; aloft reads at most %s (32 MiB, the largest flash "
                    "of an ESP32-class chip)", host_grouped((uint64_t)st->st_size, n),
                    host_grouped(FILEIO_MAX_BYTES, max));
        return -1;
    }
    return 0;
}

FILE *input_open(const char *path, size_t *size)
{
    struct stat st;
    FILE *f;
    /* O_NONBLOCK: opening a pipe or a device must not wait; the check
     * below refuses them before any read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        cannot_read(path, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (check_input(path, &st) != 0 || (f = fdopen(fd, "rb")) == NULL) {
        close(fd);
        return NULL;
    }
    /* /proc and /sys files say size 0 and yet read as data. */
    int c = st.st_size == 0 ? fgetc(f) : EOF;
    if (c != EOF) {
        cannot_read(path, "it is not a regular file (its size is 0, yet it reads as data: a "
                    "/proc or /sys file?)");
        fclose(f);
        return NULL;
    }
    *size = (size_t)st.st_size;
    return f;
}

uint8_t *read_file(const char *path, size_t *len)
{
    size_t size;
    FILE *f = input_open(path, &size);
    if (f == NULL)
        return NULL;
    uint8_t *buf = xmalloc(size);
    size_t got = fread(buf, 1, size, f);
    int e = ferror(f) ? errno : 0;
    bool grew = got == size && fgetc(f) != EOF;
    fclose(f);
    if (got != size || grew) {
        if (e)
            cannot_read(path, "%s", strerror(e));
        else
            cannot_read(path, "it changed while it was read (%zu bytes expected)", size);
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
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
