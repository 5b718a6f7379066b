/*
 * host/host_os.h — what differs between the host tools on POSIX (Linux,
 * macOS) and on Windows: sockets, the clock, sleeping, the console and the
 * platform's crypto port. host/os_posix.c implements it with POSIX calls
 * macOS has too (poll, no epoll); host/win/os_win.c with Winsock and
 * CNG. Everything above (the clients, the engines) is the same code on both.
 *
 * Sockets are ints, as on POSIX: a Winsock SOCKET is a small handle value,
 * and INVALID_SOCKET converts to -1. Socket errors come back as POSIX errno
 * values (Windows' WSAE* codes are mapped), so callers test EAGAIN,
 * ECONNREFUSED... and print host_sock_strerror's words, the same on both.
 */
#ifndef ALOFT_HOST_OS_H
#define ALOFT_HOST_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#define MSG_NOSIGNAL 0   /* Windows has no SIGPIPE */
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#ifndef MSG_NOSIGNAL   /* macOS: SIGPIPE is ignored instead (host_os_init) */
#define MSG_NOSIGNAL 0
#define HOST_IGNORE_SIGPIPE 1
#endif
#endif

#include "aloft/port/crypto.h"

/* How to let the device's connect-back in, after "allow incoming TCP on
 * it" in espota's "did not connect back" hint. */
#ifdef _WIN32
#define HOST_FIREWALL_HOW                                                                  \
    " (Windows Defender Firewall: answer its prompt for aloft.exe with Allow access on "   \
    "Private networks, or add the rule as administrator: netsh advfirewall firewall add "   \
    "rule name=aloft dir=in action=allow protocol=TCP localport=N)"
#else
#define HOST_FIREWALL_HOW ""
#endif

/* The platform's crypto port: mbedTLS with getrandom on POSIX, CNG
 * (bcrypt.dll) on Windows. */
extern const aloft_crypto_t *const host_crypto;

/* Overwrite n bytes at p with zeros, in a way the compiler keeps (key
 * material before free()). */
void host_wipe(void *p, size_t n);

/* Start the socket library (Windows: WSAStartup, and UTF-8 console output
 * until exit; macOS: SIGPIPE ignored). Returns 0 or -1 after printing why.
 * Called once by main. */
int host_os_init(void);

/* Monotonic milliseconds (an arbitrary origin). */
uint64_t host_now_ms(void);

/* Sleep ms milliseconds (resumed after signals). */
void host_sleep_ms(uint32_t ms);

/* Whether f is a terminal (a console window on Windows) rather than a
 * file or a pipe: the progress bar, or plain lines. */
bool host_is_terminal(FILE *f);

/* The POSIX errno of the last failed socket call. */
int host_sock_errno(void);

/* The words for a socket errno, the same on every platform. */
const char *host_sock_strerror(int err);

/* Close a socket; make it non-blocking; set an int option. */
void host_sock_close(int fd);
void host_sock_nonblock(int fd);
int host_sock_setopt(int fd, int level, int name, int value);

/* send/recv with the POSIX signatures (flags: MSG_NOSIGNAL, 0). */
ssize_t host_send(int fd, const void *buf, size_t len, int flags);
ssize_t host_recv(int fd, void *buf, size_t len);

/* Wait up to timeout_ms for a non-blocking connect to finish. Returns 0
 * when connected, -1 when the time ran out, or the errno it failed with. */
int host_sock_connected(int fd, int timeout_ms);

/* poll(2) over sockets: entries with fd < 0 are ignored (on Windows a
 * select() loop; WSAPoll misses failed connects on older versions).
 * Returns the number of ready entries, 0 on timeout, -1 on error. */
int host_poll(struct pollfd *p, unsigned n, int timeout_ms);

#endif /* ALOFT_HOST_OS_H */
