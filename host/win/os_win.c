/*
 * host/win/os_win.c — host_os.h on Windows: Winsock 2 with its errors
 * mapped to errno values, select() for waiting, GetTickCount64, the
 * console in UTF-8, CNG crypto.
 */
#include "host_os.h"   /* winsock2.h, which must come before windows.h */

#include <errno.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "crypto_bcrypt.h"

const aloft_crypto_t *const host_crypto = &aloft_bcrypt_crypto;

void host_wipe(void *p, size_t n)
{
    SecureZeroMemory(p, n);
}

static UINT console_cp;

/* The console window outlives aloft.exe: give it its code page back. */
static void restore_console(void)
{
    if (console_cp != 0)
        SetConsoleOutputCP(console_cp);
}

int host_os_init(void)
{
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        fprintf(stderr, "aloft: cannot start Windows sockets (WSAStartup error %d)\n", rc);
        return -1;
    }
    /* Device names, paths and messages are UTF-8 (the manifest makes the
     * process code page UTF-8 on Windows 10 1903 and later). */
    console_cp = GetConsoleOutputCP();   /* 0 without a console */
    if (console_cp != 0 && console_cp != CP_UTF8 && SetConsoleOutputCP(CP_UTF8))
        atexit(restore_console);
    return 0;
}

uint64_t host_now_ms(void)
{
    return GetTickCount64();
}

void host_sleep_ms(uint32_t ms)
{
    Sleep(ms);
}

bool host_is_terminal(FILE *f)
{
    HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
    DWORD mode;
    /* A console (the bar redraws with \r alone, which every Windows console
     * does: no escape codes, no console mode to change); a file or a pipe
     * gets plain lines. */
    return h != INVALID_HANDLE_VALUE && GetConsoleMode(h, &mode);
}

/* WSAE* codes and the POSIX errno each stands for. */
static const struct {
    int wsa, posix;
    const char *text;   /* glibc's words, so messages read the same */
} errs[] = {
    {WSAEWOULDBLOCK, EWOULDBLOCK, "Resource temporarily unavailable"},
    {WSAEINPROGRESS, EINPROGRESS, "Operation now in progress"},
    {WSAEINTR, EINTR, "Interrupted system call"},
    {WSAECONNREFUSED, ECONNREFUSED, "Connection refused"},
    {WSAECONNRESET, ECONNRESET, "Connection reset by peer"},
    {WSAECONNABORTED, ECONNABORTED, "Software caused connection abort"},
    {WSAEADDRINUSE, EADDRINUSE, "Address already in use"},
    {WSAEADDRNOTAVAIL, EADDRNOTAVAIL, "Cannot assign requested address"},
    {WSAENETUNREACH, ENETUNREACH, "Network is unreachable"},
    {WSAEHOSTUNREACH, EHOSTUNREACH, "No route to host"},
    {WSAENETDOWN, ENETDOWN, "Network is down"},
    {WSAETIMEDOUT, ETIMEDOUT, "Connection timed out"},
    {WSAEACCES, EACCES, "Permission denied"},
    {WSAENOTCONN, ENOTCONN, "Transport endpoint is not connected"},
    {WSAESHUTDOWN, EPIPE, "Broken pipe"},
    {WSAEMFILE, EMFILE, "Too many open files"},
    {WSAENOBUFS, ENOBUFS, "No buffer space available"},
    {WSAEINVAL, EINVAL, "Invalid argument"},
};

#define NERRS (sizeof errs / sizeof errs[0])

static int posix_of(int wsa)
{
    for (size_t i = 0; i < NERRS; i++)
        if (errs[i].wsa == wsa)
            return errs[i].posix;
    return wsa ? EIO : 0;
}

int host_sock_errno(void)
{
    return posix_of(WSAGetLastError());
}

const char *host_sock_strerror(int err)
{
    if (err == EPIPE)
        return "Broken pipe";
    for (size_t i = 0; i < NERRS; i++)
        if (errs[i].posix == err)
            return errs[i].text;
    return strerror(err);
}

void host_sock_close(int fd)
{
    closesocket((SOCKET)fd);
}

void host_sock_nonblock(int fd)
{
    u_long on = 1;
    ioctlsocket((SOCKET)fd, FIONBIO, &on);
}

int host_sock_setopt(int fd, int level, int name, int value)
{
    return setsockopt((SOCKET)fd, level, name, (const char *)&value, sizeof value);
}

/* One call moves at most INT_MAX bytes; callers loop on short counts. */
static int clamp(size_t len)
{
    return len > 0x7fffffff ? 0x7fffffff : (int)len;
}

ssize_t host_send(int fd, const void *buf, size_t len, int flags)
{
    int n = send((SOCKET)fd, buf, clamp(len), flags);
    return n == SOCKET_ERROR ? -1 : n;
}

ssize_t host_recv(int fd, void *buf, size_t len)
{
    int n = recv((SOCKET)fd, buf, clamp(len), 0);
    return n == SOCKET_ERROR ? -1 : n;
}

int host_sock_connected(int fd, int timeout_ms)
{
    /* A failed connect shows in the except set on Windows, not as
     * writable; SO_ERROR then says why. */
    fd_set w, x;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int err = 0, len = sizeof err;
    FD_ZERO(&w);
    FD_ZERO(&x);
    FD_SET((SOCKET)fd, &w);
    FD_SET((SOCKET)fd, &x);
    int rc = select(0, NULL, &w, &x, &tv);
    if (rc == 0)
        return -1;
    if (rc == SOCKET_ERROR ||
        getsockopt((SOCKET)fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
        return host_sock_errno();
    return posix_of(err);
}

int host_poll(struct pollfd *p, unsigned n, int timeout_ms)
{
    fd_set r, w, x;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    unsigned used = 0;
    int ready = 0;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&x);
    for (unsigned i = 0; i < n; i++) {
        p[i].revents = 0;
        if (p[i].fd == INVALID_SOCKET)
            continue;
        if (p[i].events & POLLIN)
            FD_SET(p[i].fd, &r);
        if (p[i].events & POLLOUT)
            FD_SET(p[i].fd, &w);
        FD_SET(p[i].fd, &x);
        used++;
    }
    if (used == 0) {   /* select() with no sockets fails at once on Windows */
        Sleep((DWORD)(timeout_ms < 0 ? 0 : timeout_ms));
        return 0;
    }
    if (select(0, &r, &w, &x, timeout_ms < 0 ? NULL : &tv) == SOCKET_ERROR)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        if (p[i].fd == INVALID_SOCKET)
            continue;
        if (FD_ISSET(p[i].fd, &r))
            p[i].revents |= POLLIN;
        if (FD_ISSET(p[i].fd, &w))
            p[i].revents |= POLLOUT;
        if (FD_ISSET(p[i].fd, &x))
            p[i].revents |= POLLERR;
        ready += p[i].revents != 0;
    }
    return ready;
}
