/* host/os_posix.c — host_os.h on POSIX (Linux, macOS). */
#include "host_os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto_mbedtls.h"

const aloft_crypto_t *const host_crypto = &aloft_mbedtls_crypto;

void host_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;   /* portable: macOS has no explicit_bzero */
    while (n--)
        *v++ = 0;
}

int host_os_init(void)
{
#ifdef HOST_IGNORE_SIGPIPE
    signal(SIGPIPE, SIG_IGN);   /* a closed connection is EPIPE, not the end */
#endif
    return 0;
}

uint64_t host_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void host_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool host_is_terminal(FILE *f)
{
    return isatty(fileno(f)) == 1;
}

int host_sock_errno(void)
{
    return errno;
}

const char *host_sock_strerror(int err)
{
    return strerror(err);
}

void host_sock_close(int fd)
{
    close(fd);
}

void host_sock_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int host_sock_setopt(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value);
}

ssize_t host_send(int fd, const void *buf, size_t len, int flags)
{
    return send(fd, buf, len, flags);
}

ssize_t host_recv(int fd, void *buf, size_t len)
{
    return recv(fd, buf, len, 0);
}

int host_sock_connected(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLOUT, 0};
    int rc, err = 0;
    socklen_t len = sizeof err;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return -1;
    if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return errno;
    return err;
}

int host_poll(struct pollfd *p, unsigned n, int timeout_ms)
{
    return poll(p, (nfds_t)n, timeout_ms);
}
