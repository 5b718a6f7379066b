/*
 * tests/tools/linkemu.c — a link emulator for loopback tests and benches:
 * a relay that adds one-way delay and jitter, the device's TCP receive
 * window, a bandwidth limit, periodic stalls and cuts between an uploader
 * and a (simulated) device on 127.0.0.0/8.
 *
 * Build (one line, Linux, no dependencies beyond libc and its kernel headers):
 *     cc -O2 -Wall -o linkemu tests/tools/linkemu.c
 *
 * Two modes.
 *
 *   linkemu --tcp LISTEN_IP:PORT --to IP:PORT [impairments]
 *       Plain TCP relay (for stream protocols such as aloft's native one):
 *       every connection accepted on LISTEN is relayed to a new connection
 *       to TO, both ways. The accepting side is the uploader ("host"), TO
 *       is the device.
 *
 *   linkemu --espota LISTEN_IP:PORT --device IP:PORT [impairments]
 *       ArduinoOTA/espota relay. The uploader sends its UDP datagrams to
 *       LISTEN (the relay stands where the device would be); each is
 *       forwarded to DEVICE from a socket of the relay's own (one per
 *       uploader address, like a NAT), and the device's answers go back to
 *       the uploader from LISTEN. When an invitation
 *       ("<cmd> <port> <size> <md5>") passes, the relay listens on
 *       LISTEN_IP:<port>, because the device connects back to the source
 *       address of the invitation, which is the relay's. Such a
 *       connect-back is relayed to the uploader's address (the invitation's
 *       source IP, or --host-ip) at the same port, from LISTEN_IP, so the
 *       uploader sees the connection come from the address it invited.
 *       The uploader must therefore listen on a different loopback address
 *       than LISTEN_IP, e.g. `aloft upload --host-ip 127.0.0.1
 *       127.0.0.2:PORT ...` with LISTEN_IP 127.0.0.2 (a listener on
 *       0.0.0.0:<port> would take the port on every address).
 *       --no-connect-back: never listen for the connect-back, so the
 *       device's connection is refused, as a host firewall rejects it.
 *
 * Impairments (each direction separately, TCP and UDP alike unless noted):
 *   --delay-ms MS          one-way delay (fractions allowed); the round trip
 *                          through the relay is 2 x MS. The TCP connect to
 *                          the far side is delayed by MS too.
 *   --jitter-ms MS         add to each piece of data (each read, datagram or
 *                          window acknowledgement) a uniform random delay in
 *                          [0, MS]; never reorders: a piece is never due
 *                          before the one ahead of it in its direction.
 *                          Mean round trip: 2 x DELAY + JITTER. --seed S
 *                          (default 1) seeds the generator: a run replays.
 *   --profile NAME         a Wi-Fi latency profile (docs/SIMULATOR.md, "Link
 *                          model"): lan = --delay-ms 3 --jitter-ms 1 (RTT
 *                          6-8 ms, mean 7), modem-sleep = --delay-ms 45
 *                          --jitter-ms 10 (RTT 90-110 ms, mean 100: an ESP32
 *                          in modem sleep, DTIM 1). Later options override.
 *   --window BYTES         the device's TCP receive window (lwIP TCP_WND;
 *                          ESP-IDF's default is 5760), TCP upload direction
 *                          (host -> device) only: the relay takes bytes from
 *                          the host only while bytes taken minus bytes the
 *                          host has heard acknowledged stay within BYTES.
 *                          A byte is acknowledged once the device program
 *                          has read it (what lwIP's window reopens on), and
 *                          the host hears of it one-way delay (+ jitter)
 *                          later, so at the earliest one RTT after it left.
 *                          "What the device has read" is measured, not
 *                          guessed: delivered bytes minus what our socket
 *                          has not sent yet (SIOCOUTQNSD) minus the device
 *                          socket's unread bytes (sock_diag; Linux). The exit line
 *                          reports the most bytes ever in flight.
 *   --rate-kbps KBPS       bandwidth limit in kbit/s (1000 bit), per TCP
 *                          direction (UDP datagrams are not rate limited):
 *                          the relay reads no faster than the link carries,
 *                          so the sender's own TCP buffers fill as on a slow
 *                          link.
 *   --stall-every-ms MS --stall-ms MS
 *                          the link carries nothing for STALL ms at EVERY,
 *                          2 x EVERY, ... after start (--stall-first-ms
 *                          moves the first one); nothing is lost, it is
 *                          delivered after the stall (as Wi-Fi retries do).
 *   --stall-after-bytes N  (with --stall-ms) stall a TCP connection once, both
 *                          ways, when N bytes went from the host to the
 *                          device on it: a stall at a known point of an
 *                          upload, whatever the timing of the set-up.
 *   --cut-after-bytes N    reset both sides of a TCP connection once N bytes
 *                          went from the host to the device on it (every
 *                          connection, counted separately).
 *   --flip-after-bytes N   flip one bit of the byte at offset N (0: the first)
 *                          of each TCP connection's upload direction (host
 *                          to device), once per connection: corruption that
 *                          TCP's own checksum let through. --flip-seed S
 *                          (default 0) picks the bit, from S and the
 *                          connection's number, so a run replays exactly.
 * Other options:
 *   --port-file FILE       write the bound listen port (useful with port 0)
 *   --host-ip IP           espota: relay connect-backs to this address
 *   --run-for SEC          exit after SEC seconds (a safety net for tests)
 *   -v, --verbose          log events on stderr
 *
 * Limits, on purpose: TCP is terminated at the relay (a split connection),
 * so delay applies to the data and the connection set-up, while TCP's own
 * acknowledgements are local on each side; what the application sees
 * (request/response timing, a window of unacknowledged application bytes)
 * is what matters for espota and the native protocol. Without a rate limit
 * the relay holds at most 256 KiB per direction in flight. Loopback only:
 * addresses outside 127.0.0.0/8 are refused.
 *
 * On exit (SIGINT, SIGTERM, --run-for) it prints one line of counters on
 * stderr: "linkemu: relayed ...".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 16
#define MAX_LISTENERS 16
#define MAX_SESSIONS 16
#define MAX_PFDS (2 + MAX_SESSIONS + MAX_LISTENERS + 2 * MAX_CONNS)
#define QUEUE_CAP (256u * 1024u)       /* bytes in flight per direction, no rate limit */
#define READ_BIG 65536u
#define READ_SLICE 1460u               /* read granularity on a rate-limited link */
#define RATE_SLACK_US 50000u           /* a late read still continues a busy link */
#define SESSION_IDLE_US (120ull * 1000000ull)
#define ACK_RING 256u                  /* --window: acks on their way to the host */

/* ------------------------------------------------------------------ */
/* Configuration and global state. */

enum mode { MODE_NONE, MODE_TCP, MODE_ESPOTA };

static struct {
    enum mode mode;
    struct sockaddr_in listen, to;    /* to: --to (tcp) or --device (espota) */
    bool have_host_ip;
    struct in_addr host_ip;
    uint64_t delay_us;
    uint64_t jitter_us;
    uint64_t seed;
    uint64_t window;                  /* 0: no receive-window model */
    uint64_t rate_bps;                /* 0: unlimited */
    uint64_t stall_every_us, stall_us, stall_first_us;
    uint64_t stall_after;             /* 0: no per-connection stall */
    uint64_t cut_after;               /* 0: never */
    bool flip;                        /* --flip-after-bytes given */
    uint64_t flip_after, flip_seed;
    bool no_connect_back;
    const char *port_file;
    double run_for;                   /* <= 0: forever */
    bool verbose;
} cfg;

static volatile sig_atomic_t quit;
static uint64_t t0_us;

static struct {
    uint64_t up_bytes, down_bytes, dgrams_up, dgrams_down, conns, cuts, refused, flips;
    uint64_t max_in_flight;           /* --window: most upload bytes unacknowledged */
} stats;

/* splitmix64's finaliser: a well-mixed 64-bit value for any input. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One-way delay of the next piece of data: DELAY + U[0, JITTER]. */
static uint64_t link_delay_us(void)
{
    static uint64_t n;
    if (cfg.jitter_us == 0)
        return cfg.delay_us;
    uint64_t r = mix64(cfg.seed + ++n * 0x9E3779B97F4A7C15ull);
    return cfg.delay_us + r % (cfg.jitter_us + 1);
}

/* When a piece sent now is due, not before the one ahead (*last). */
static uint64_t due_after(uint64_t now, uint64_t *last)
{
    uint64_t due = now + link_delay_us();
    if (due < *last)
        due = *last;
    *last = due;
    return due;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000u;
}

static void logv(const char *fmt, ...)
{
    va_list ap;
    if (!cfg.verbose)
        return;
    fprintf(stderr, "linkemu %8.3f: ", (double)(now_us() - t0_us) / 1e6);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("linkemu: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static const char *addr_text(const struct sockaddr_in *a)
{
    static char buf[4][32];
    static int k;
    char ip[INET_ADDRSTRLEN];
    k = (k + 1) % 4;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    snprintf(buf[k], sizeof buf[k], "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    return buf[k];
}

static bool is_loopback(struct in_addr a)
{
    return (ntohl(a.s_addr) >> 24) == 127;
}

static void parse_addr(const char *text, struct sockaddr_in *a, const char *what)
{
    char ip[64];
    const char *colon = strrchr(text, ':');
    char *end;
    if (colon == NULL || (size_t)(colon - text) >= sizeof ip)
        die("%s: '%s' is not IP:PORT", what, text);
    memcpy(ip, text, (size_t)(colon - text));
    ip[colon - text] = '\0';
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
        die("%s: '%s' is not an IPv4 address", what, ip);
    if (!is_loopback(a->sin_addr))
        die("%s: %s is not a loopback address (127.0.0.0/8 only)", what, ip);
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535)
        die("%s: bad port in '%s'", what, text);
    a->sin_port = htons((uint16_t)port);
}

/* The link: stalled now? (and when does it change) */
static bool stalled(uint64_t now, uint64_t *change)
{
    if (cfg.stall_every_us == 0 || cfg.stall_us == 0) {
        *change = UINT64_MAX;
        return false;
    }
    uint64_t t = now - t0_us;
    if (t < cfg.stall_first_us) {
        *change = t0_us + cfg.stall_first_us;
        return false;
    }
    uint64_t k = (t - cfg.stall_first_us) / cfg.stall_every_us;
    uint64_t start = cfg.stall_first_us + k * cfg.stall_every_us;
    if (t < start + cfg.stall_us) {
        *change = t0_us + start + cfg.stall_us;
        return true;
    }
    *change = t0_us + start + cfg.stall_every_us;
    return false;
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void close_reset(int fd)
{
    struct linger lg = {1, 0};
    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* ------------------------------------------------------------------ */
/* TCP connections: two pipes (one per direction) with delay queues. */

typedef struct chunk {
    struct chunk *next;
    uint64_t due_us;
    size_t len, off;
    uint8_t data[];
} chunk_t;

typedef struct pipe_s {
    int *from, *to;
    chunk_t *head, *tail;
    size_t queued;
    uint64_t free_us;        /* rate limit: the link is busy until then */
    uint64_t forwarded;
    bool eof, shut;
    bool upload;             /* host -> device: counted for --cut-after-bytes */
    bool flipped;            /* --flip-after-bytes done on this pipe */
    uint64_t last_due_us;    /* jitter never reorders */
    /* --window (upload pipe): bytes taken from the host, and what the host
     * has heard the device read; acks on their way back to the host. */
    uint64_t taken, acked, read_seen;
    struct ack { uint64_t due_us, read; } acks[ACK_RING];
    unsigned ack_head, ack_n;
    uint64_t ack_last_due_us;
} pipe_t;

typedef struct conn {
    bool used;
    int id;
    int a, b;                /* a: accepted side, b: the side we connect */
    bool b_connecting, b_ready;
    uint64_t connect_at_us;  /* delayed connect */
    uint64_t stall_until_us; /* --stall-after-bytes: this connection is held */
    bool stalled_once;
    struct sockaddr_in b_addr;
    pipe_t ab, ba;
} conn_t;

static conn_t conns[MAX_CONNS];

static void pipe_free(pipe_t *p)
{
    chunk_t *c = p->head;
    while (c) {
        chunk_t *n = c->next;
        free(c);
        c = n;
    }
    p->head = p->tail = NULL;
    p->queued = 0;
}

static void conn_close(conn_t *c, bool reset, const char *why)
{
    logv("conn %d closed (%s): %llu bytes up, %llu down", c->id, why,
         (unsigned long long)(c->ab.upload ? c->ab.forwarded : c->ba.forwarded),
         (unsigned long long)(c->ab.upload ? c->ba.forwarded : c->ab.forwarded));
    if (reset) {
        close_reset(c->a);
        close_reset(c->b);
    } else {
        if (c->a >= 0)
            close(c->a);
        if (c->b >= 0)
            close(c->b);
    }
    pipe_free(&c->ab);
    pipe_free(&c->ba);
    memset(c, 0, sizeof *c);
    c->a = c->b = -1;
}

static void tune_tcp(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblocking(fd);
}

/* accepted: a new connection on a listener; relay it to dest. upload_ab:
 * the accepted side is the host (tcp mode), else the device (espota). */
static void conn_start(int accepted, const struct sockaddr_in *dest, bool upload_ab)
{
    static int next_id = 1;
    conn_t *c = NULL;
    for (int i = 0; i < MAX_CONNS; i++)
        if (!conns[i].used) {
            c = &conns[i];
            break;
        }
    if (c == NULL) {
        logv("too many connections: refusing one");
        close_reset(accepted);
        return;
    }
    memset(c, 0, sizeof *c);
    c->used = true;
    c->id = next_id++;
    c->a = accepted;
    c->b = -1;
    c->b_addr = *dest;
    c->connect_at_us = now_us() + cfg.delay_us;
    c->ab.from = &c->a;
    c->ab.to = &c->b;
    c->ba.from = &c->b;
    c->ba.to = &c->a;
    c->ab.upload = upload_ab;
    c->ba.upload = !upload_ab;
    tune_tcp(accepted);
    stats.conns++;
    logv("conn %d: accepted, relaying to %s in %.1f ms", c->id, addr_text(dest),
         (double)cfg.delay_us / 1000.0);
}

static void conn_connect(conn_t *c)
{
    struct sockaddr_in src = cfg.listen;
    c->b = socket(AF_INET, SOCK_STREAM, 0);
    if (c->b < 0) {
        conn_close(c, true, "socket failed");
        return;
    }
    tune_tcp(c->b);
    /* Come from the relay's address: the far side sees the relay as the peer. */
    src.sin_port = 0;
    if (bind(c->b, (struct sockaddr *)&src, sizeof src) != 0) {
        conn_close(c, true, "bind failed");
        return;
    }
    if (connect(c->b, (struct sockaddr *)&c->b_addr, sizeof c->b_addr) == 0) {
        c->b_ready = true;
    } else if (errno == EINPROGRESS) {
        c->b_connecting = true;
    } else {
        logv("conn %d: connect to %s: %s", c->id, addr_text(&c->b_addr), strerror(errno));
        conn_close(c, true, "connect refused");
    }
}

static void conn_connected(conn_t *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->b, SOL_SOCKET, SO_ERROR, &err, &el);
    c->b_connecting = false;
    if (err) {
        logv("conn %d: connect to %s: %s", c->id, addr_text(&c->b_addr), strerror(err));
        conn_close(c, true, "connect failed");
        return;
    }
    c->b_ready = true;
    logv("conn %d: connected to %s", c->id, addr_text(&c->b_addr));
}

static bool pipe_can_read(const pipe_t *p, uint64_t now)
{
    if (p->eof || *p->from < 0)
        return false;
    if (cfg.window && p->upload && p->taken - p->acked >= cfg.window)
        return false;
    if (cfg.rate_bps)
        return p->free_us <= now;
    return p->queued < QUEUE_CAP;
}

/* Read from p->from into the delay queue. Returns false if the conn died. */
static bool pipe_read(conn_t *c, pipe_t *p, uint64_t now)
{
    size_t want = cfg.rate_bps ? READ_SLICE : READ_BIG;
    if (!cfg.rate_bps && want > QUEUE_CAP - p->queued)
        want = QUEUE_CAP - p->queued;
    if (cfg.window && p->upload && want > cfg.window - (p->taken - p->acked))
        want = (size_t)(cfg.window - (p->taken - p->acked));
    chunk_t *ch = malloc(sizeof *ch + want);
    if (ch == NULL)
        die("out of memory");
    ssize_t n = recv(*p->from, ch->data, want, 0);
    if (n < 0) {
        free(ch);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return true;
        conn_close(c, true, strerror(errno));
        return false;
    }
    if (n == 0) {
        free(ch);
        p->eof = true;
        return true;
    }
    uint64_t ready = now;
    if (cfg.rate_bps) {
        /* Serialise at the link rate, then propagate. A read that comes up
         * to RATE_SLACK_US after the link became free (the relay woke late
         * on a loaded machine) continues the busy link, so scheduling delay
         * does not slow the link below its rate; after a longer idle gap
         * (nothing to send) the link starts afresh. */
        uint64_t start = p->free_us + RATE_SLACK_US >= now ? p->free_us : now;
        p->free_us = start + (uint64_t)n * 8u * 1000000u / cfg.rate_bps;
        ready = p->free_us;
    }
    ch->next = NULL;
    ch->len = (size_t)n;
    ch->off = 0;
    ch->due_us = due_after(ready, &p->last_due_us);
    if (cfg.window && p->upload) {
        p->taken += (uint64_t)n;
        if (p->taken - p->acked > stats.max_in_flight)
            stats.max_in_flight = p->taken - p->acked;
    }
    if (p->tail)
        p->tail->next = ch;
    else
        p->head = ch;
    p->tail = ch;
    p->queued += (size_t)n;
    return true;
}

/* Write what is due. Sets *want_out if the socket is full. Returns false
 * if the conn died. */
static bool pipe_write(conn_t *c, pipe_t *p, uint64_t now, bool *want_out)
{
    *want_out = false;
    if (*p->to < 0 || (p->to == &c->b && !c->b_ready))
        return true;
    while (p->head && p->head->due_us <= now) {
        chunk_t *ch = p->head;
        size_t n = ch->len - ch->off;
        /* Stop exactly at a cut or stall point of the upload direction. */
        bool stall_due = cfg.stall_after && p->upload && !c->stalled_once;
        if (cfg.cut_after && p->upload && p->forwarded + n > cfg.cut_after)
            n = (size_t)(cfg.cut_after - p->forwarded);
        if (stall_due && p->forwarded + n > cfg.stall_after)
            n = (size_t)(cfg.stall_after - p->forwarded);
        if (cfg.flip && p->upload && !p->flipped && cfg.flip_after >= p->forwarded &&
            cfg.flip_after < p->forwarded + n) {
            /* any seed picks a bit per connection */
            unsigned bit = (unsigned)(mix64(cfg.flip_seed + (uint64_t)c->id *
                                            0x9E3779B97F4A7C15ull) & 7u);
            ch->data[ch->off + (cfg.flip_after - p->forwarded)] ^= (uint8_t)(1u << bit);
            p->flipped = true;
            stats.flips++;
            logv("conn %d: flipped bit %u of byte %llu", c->id, bit,
                 (unsigned long long)cfg.flip_after);
        }
        ssize_t w = n ? send(*p->to, ch->data + ch->off, n, MSG_NOSIGNAL) : 0;
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                *want_out = true;
                return true;
            }
            conn_close(c, true, strerror(errno));
            return false;
        }
        ch->off += (size_t)w;
        p->queued -= (size_t)w;
        p->forwarded += (uint64_t)w;
        if (p->upload)
            stats.up_bytes += (uint64_t)w;
        else
            stats.down_bytes += (uint64_t)w;
        if (ch->off == ch->len) {
            p->head = ch->next;
            if (p->head == NULL)
                p->tail = NULL;
            free(ch);
        }
        if (cfg.cut_after && p->upload && p->forwarded >= cfg.cut_after) {
            stats.cuts++;
            logv("conn %d: cut after %llu bytes", c->id, (unsigned long long)p->forwarded);
            conn_close(c, true, "cut");
            return false;
        }
        if (stall_due && p->forwarded >= cfg.stall_after) {
            c->stalled_once = true;
            c->stall_until_us = now + cfg.stall_us;
            logv("conn %d: stall of %llu ms after %llu bytes", c->id,
                 (unsigned long long)(cfg.stall_us / 1000), (unsigned long long)p->forwarded);
            return true;
        }
        if ((size_t)w < n) {
            *want_out = true;
            return true;
        }
    }
    if (p->eof && p->head == NULL && !p->shut) {
        shutdown(*p->to, SHUT_WR);
        p->shut = true;
    }
    return true;
}

/* --window: bytes of fd's connection its peer (the device, a process on
 * this machine) has received but not read yet, from sock_diag. Exits when
 * the kernel cannot tell: a window model that guesses would not be one. */
static uint64_t peer_unread(int fd)
{
    static int diag = -1;
    struct sockaddr_in me, peer;
    socklen_t ml = sizeof me, pl = sizeof peer;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    union {
        struct nlmsghdr nlh;
        uint8_t bytes[1024];
    } ans;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &pl) != 0)
        return 0;   /* not connected (yet, or any more): nothing to read */
    if (diag < 0 && (diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
        die("--window: no sock_diag netlink socket: %s", strerror(errno));
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST;
    req.r.sdiag_family = AF_INET;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = ~0u;
    /* the peer's socket: its source is our destination */
    req.r.id.idiag_sport = peer.sin_port;
    req.r.id.idiag_dport = me.sin_port;
    req.r.id.idiag_src[0] = peer.sin_addr.s_addr;
    req.r.id.idiag_dst[0] = me.sin_addr.s_addr;
    req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    if (send(diag, &req, sizeof req, 0) != (ssize_t)sizeof req)
        die("--window: sock_diag request: %s", strerror(errno));
    ssize_t n = recv(diag, &ans, sizeof ans, 0);
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) ||
        ans.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY)
        return 0;   /* the peer closed meanwhile */
    const struct inet_diag_msg *m = NLMSG_DATA(&ans.nlh);
    return m->idiag_rqueue;
}

/* --window, upload pipe: see what the device has read since the last look
 * (an ack leaves it then, due at the host one-way delay later), and let
 * the acks that have arrived open the window. Sets *wake for the next ack
 * or the next look while bytes are unread. */
static void window_update(pipe_t *p, uint64_t now, uint64_t *wake)
{
    if (!cfg.window || !p->upload)
        return;
    if (*p->to >= 0 && p->read_seen < p->forwarded) {
        /* not sent yet, plus received and not read; sent and not yet ACKed
         * is no measure: loopback TCP delays its ACKs by up to 40 ms */
        int unsent = 0;
        if (ioctl(*p->to, SIOCOUTQNSD, &unsent) != 0)
            unsent = 0;
        uint64_t unread = (uint64_t)unsent + peer_unread(*p->to);
        uint64_t read = p->forwarded > unread ? p->forwarded - unread : 0;
        if (read > p->read_seen && p->ack_n < ACK_RING) {
            struct ack *a = &p->acks[(p->ack_head + p->ack_n++) % ACK_RING];
            a->due_us = due_after(now, &p->ack_last_due_us);
            a->read = read;
            p->read_seen = read;
        }
        if (p->read_seen < p->forwarded && *wake > now + 1000u)
            *wake = now + 1000u;   /* look again soon: the device reads in bursts */
    }
    while (p->ack_n && p->acks[p->ack_head].due_us <= now) {
        p->acked = p->acks[p->ack_head].read;
        p->ack_head = (p->ack_head + 1) % ACK_RING;
        p->ack_n--;
    }
    if (p->ack_n && p->acks[p->ack_head].due_us < *wake)
        *wake = p->acks[p->ack_head].due_us;
}

/* ------------------------------------------------------------------ */
/* Listeners. */

typedef struct listener {
    bool used;
    int fd;
    uint16_t port;
    struct sockaddr_in dest;
    bool upload_ab;
} listener_t;

static listener_t listeners[MAX_LISTENERS];

static int listen_on(struct sockaddr_in a)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    set_nonblocking(fd);
    return fd;
}

static void add_listener(uint16_t port, const struct sockaddr_in *dest, bool upload_ab)
{
    listener_t *free_slot = NULL;
    for (int i = 0; i < MAX_LISTENERS; i++) {
        if (listeners[i].used && listeners[i].port == port) {
            listeners[i].dest = *dest;   /* a newer invitation for the same port */
            return;
        }
        if (!listeners[i].used && free_slot == NULL)
            free_slot = &listeners[i];
    }
    if (free_slot == NULL) {   /* drop the oldest (slot 0) */
        close(listeners[0].fd);
        memmove(&listeners[0], &listeners[1], sizeof listeners[0] * (MAX_LISTENERS - 1));
        free_slot = &listeners[MAX_LISTENERS - 1];
    }
    struct sockaddr_in a = cfg.listen;
    a.sin_port = htons(port);
    int fd = listen_on(a);
    if (fd < 0) {
        fprintf(stderr, "linkemu: cannot listen on %s for the connect-back: %s\n", addr_text(&a),
                strerror(errno));
        return;
    }
    free_slot->used = true;
    free_slot->fd = fd;
    free_slot->port = port;
    free_slot->dest = *dest;
    free_slot->upload_ab = upload_ab;
    logv("listening on %s for the connect-back, relayed to %s", addr_text(&a), addr_text(dest));
}

static void on_accept(listener_t *l)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int fd = accept(l->fd, (struct sockaddr *)&peer, &len);
    if (fd < 0)
        return;
    logv("connection from %s on port %u", addr_text(&peer), (unsigned)l->port);
    conn_start(fd, &l->dest, l->upload_ab);
}

/* ------------------------------------------------------------------ */
/* espota UDP: per-uploader sessions and a delayed datagram queue. */

typedef struct session {
    bool used;
    struct sockaddr_in host;   /* the uploader's address */
    int dfd;                   /* our socket towards the device */
    uint64_t last_us;
} session_t;

typedef struct dgram {
    struct dgram *next;
    uint64_t due_us;
    int fd;
    struct sockaddr_in to;
    size_t len;
    uint8_t data[];
} dgram_t;

static session_t sessions[MAX_SESSIONS];
static dgram_t *dq_head, *dq_tail;
static int udp_fd = -1;

static void dq_push(int fd, const struct sockaddr_in *to, const uint8_t *data, size_t len,
                    uint64_t now)
{
    dgram_t *d = malloc(sizeof *d + len);
    if (d == NULL)
        die("out of memory");
    d->next = NULL;
    static uint64_t last_due;
    d->due_us = due_after(now, &last_due);
    d->fd = fd;
    d->to = *to;
    d->len = len;
    memcpy(d->data, data, len);
    if (dq_tail)
        dq_tail->next = d;
    else
        dq_head = d;
    dq_tail = d;
}

static void dq_send_due(uint64_t now)
{
    while (dq_head && dq_head->due_us <= now) {
        dgram_t *d = dq_head;
        /* The session may be gone (its socket closed): then it is lost. */
        if (d->fd >= 0)
            sendto(d->fd, d->data, d->len, 0, (struct sockaddr *)&d->to, sizeof d->to);
        dq_head = d->next;
        if (dq_head == NULL)
            dq_tail = NULL;
        free(d);
    }
}

static session_t *session_for(const struct sockaddr_in *host, uint64_t now)
{
    session_t *slot = NULL, *oldest = NULL;
    for (int i = 0; i < MAX_SESSIONS; i++) {
        session_t *s = &sessions[i];
        if (s->used && s->host.sin_addr.s_addr == host->sin_addr.s_addr &&
            s->host.sin_port == host->sin_port) {
            s->last_us = now;
            return s;
        }
        if (s->used && now - s->last_us > SESSION_IDLE_US) {
            close(s->dfd);
            s->used = false;
        }
        if (!s->used && slot == NULL)
            slot = s;
        if (s->used && (oldest == NULL || s->last_us < oldest->last_us))
            oldest = s;
    }
    if (slot == NULL) {
        slot = oldest;
        for (dgram_t *d = dq_head; d; d = d->next)
            if (d->fd == slot->dfd)
                d->fd = -1;
        close(slot->dfd);
    }
    struct sockaddr_in src = cfg.listen;
    src.sin_port = 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(fd, (struct sockaddr *)&cfg.to, sizeof cfg.to) != 0)
        die("cannot open a UDP socket towards %s: %s", addr_text(&cfg.to), strerror(errno));
    set_nonblocking(fd);
    memset(slot, 0, sizeof *slot);
    slot->used = true;
    slot->host = *host;
    slot->dfd = fd;
    slot->last_us = now;
    logv("udp session for %s", addr_text(host));
    return slot;
}

/* An invitation "<cmd> <port> <size> <md5>": prepare for the connect-back. */
static void maybe_invitation(const uint8_t *data, size_t len, const struct sockaddr_in *host)
{
    char text[256];
    int cmd, port;
    unsigned long size;
    if (len >= sizeof text)
        return;
    memcpy(text, data, len);
    text[len] = '\0';
    if (sscanf(text, "%d %d %lu", &cmd, &port, &size) != 3 || cmd == 200 || port < 1 ||
        port > 65535)
        return;
    logv("invitation: command %d, connect-back port %d, %lu bytes", cmd, port, size);
    if (cfg.no_connect_back) {
        stats.refused++;
        logv("--no-connect-back: the device's connect-back to port %d will be refused", port);
        return;
    }
    struct sockaddr_in dest = *host;
    if (cfg.have_host_ip)
        dest.sin_addr = cfg.host_ip;
    dest.sin_port = htons((uint16_t)port);
    add_listener((uint16_t)port, &dest, false);
}

static void on_udp_from_host(uint64_t now)
{
    uint8_t buf[2048];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n;
    while ((n = recvfrom(udp_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) >= 0) {
        session_t *s = session_for(&from, now);
        stats.dgrams_up++;
        maybe_invitation(buf, (size_t)n, &from);
        dq_push(s->dfd, &cfg.to, buf, (size_t)n, now);
        fl = sizeof from;
    }
}

static void on_udp_from_device(session_t *s, uint64_t now)
{
    uint8_t buf[2048];
    ssize_t n;
    while ((n = recv(s->dfd, buf, sizeof buf, 0)) >= 0) {
        stats.dgrams_down++;
        s->last_us = now;
        dq_push(udp_fd, &s->host, buf, (size_t)n, now);
    }
}

/* ------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fputs("usage: linkemu --tcp LISTEN_IP:PORT --to IP:PORT [impairments] [options]\n"
          "       linkemu --espota LISTEN_IP:PORT --device IP:PORT [impairments] [options]\n"
          "impairments: --delay-ms MS [--jitter-ms MS --seed S] --profile lan|modem-sleep\n"
          "             --window BYTES --rate-kbps KBPS --stall-every-ms MS --stall-ms MS\n"
          "             [--stall-first-ms MS] --stall-after-bytes N --cut-after-bytes N\n"
          "             --flip-after-bytes N [--flip-seed S] --no-connect-back\n"
          "options:     --host-ip IP --port-file FILE --run-for SEC -v\n"
          "(see the comment at the top of tests/tools/linkemu.c)\n", out);
}

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

static void parse_args(int argc, char **argv)
{
    enum { O_TCP = 256, O_ESPOTA, O_TO, O_DEVICE, O_DELAY, O_RATE, O_EVERY, O_STALL, O_FIRST,
           O_AFTER, O_CUT, O_NOCB, O_HOSTIP, O_PORTFILE, O_RUNFOR, O_FLIP, O_FLIPSEED,
           O_JITTER, O_SEED, O_PROFILE, O_WINDOW };
    static const struct option opts[] = {
        {"tcp", required_argument, 0, O_TCP},
        {"espota", required_argument, 0, O_ESPOTA},
        {"to", required_argument, 0, O_TO},
        {"device", required_argument, 0, O_DEVICE},
        {"delay-ms", required_argument, 0, O_DELAY},
        {"jitter-ms", required_argument, 0, O_JITTER},
        {"seed", required_argument, 0, O_SEED},
        {"profile", required_argument, 0, O_PROFILE},
        {"window", required_argument, 0, O_WINDOW},
        {"rate-kbps", required_argument, 0, O_RATE},
        {"stall-every-ms", required_argument, 0, O_EVERY},
        {"stall-ms", required_argument, 0, O_STALL},
        {"stall-first-ms", required_argument, 0, O_FIRST},
        {"stall-after-bytes", required_argument, 0, O_AFTER},
        {"cut-after-bytes", required_argument, 0, O_CUT},
        {"flip-after-bytes", required_argument, 0, O_FLIP},
        {"flip-seed", required_argument, 0, O_FLIPSEED},
        {"no-connect-back", no_argument, 0, O_NOCB},
        {"host-ip", required_argument, 0, O_HOSTIP},
        {"port-file", required_argument, 0, O_PORTFILE},
        {"run-for", required_argument, 0, O_RUNFOR},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    bool have_to = false, first_set = false;
    cfg.seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case O_TCP:
        case O_ESPOTA:
            cfg.mode = c == O_TCP ? MODE_TCP : MODE_ESPOTA;
            parse_addr(optarg, &cfg.listen, c == O_TCP ? "--tcp" : "--espota");
            break;
        case O_TO:
        case O_DEVICE:
            parse_addr(optarg, &cfg.to, c == O_TO ? "--to" : "--device");
            have_to = true;
            break;
        case O_DELAY: cfg.delay_us = (uint64_t)(atof(optarg) * 1000.0); break;
        case O_JITTER: cfg.jitter_us = (uint64_t)(atof(optarg) * 1000.0); break;
        case O_SEED: cfg.seed = strtoull(optarg, NULL, 10); break;
        case O_PROFILE:
            if (strcmp(optarg, "lan") == 0) {
                cfg.delay_us = 3000;
                cfg.jitter_us = 1000;
            } else if (strcmp(optarg, "modem-sleep") == 0) {
                cfg.delay_us = 45000;
                cfg.jitter_us = 10000;
            } else {
                die("--profile: '%s' is not lan or modem-sleep", optarg);
            }
            break;
        case O_WINDOW:
            cfg.window = strtoull(optarg, NULL, 10);
            if (cfg.window < 536 || cfg.window > (1u << 30))
                die("--window %s: give the receive window in bytes (536 or more)", optarg);
            break;
        case O_RATE: cfg.rate_bps = (uint64_t)(atof(optarg) * 1000.0); break;
        case O_EVERY: cfg.stall_every_us = strtoull(optarg, NULL, 10) * 1000u; break;
        case O_STALL: cfg.stall_us = strtoull(optarg, NULL, 10) * 1000u; break;
        case O_FIRST:
            cfg.stall_first_us = strtoull(optarg, NULL, 10) * 1000u;
            first_set = true;
            break;
        case O_AFTER: cfg.stall_after = strtoull(optarg, NULL, 10); break;
        case O_CUT: cfg.cut_after = strtoull(optarg, NULL, 10); break;
        case O_FLIP:
            cfg.flip_after = strtoull(optarg, NULL, 10);
            cfg.flip = true;
            break;
        case O_FLIPSEED: cfg.flip_seed = strtoull(optarg, NULL, 10); break;
        case O_NOCB: cfg.no_connect_back = true; break;
        case O_HOSTIP:
            if (inet_pton(AF_INET, optarg, &cfg.host_ip) != 1 || !is_loopback(cfg.host_ip))
                die("--host-ip %s is not a loopback IPv4 address", optarg);
            cfg.have_host_ip = true;
            break;
        case O_PORTFILE: cfg.port_file = optarg; break;
        case O_RUNFOR: cfg.run_for = atof(optarg); break;
        case 'v': cfg.verbose = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc || cfg.mode == MODE_NONE || !have_to) {
        usage(stderr);
        exit(2);
    }
    if (cfg.stall_us && cfg.stall_every_us && cfg.stall_us >= cfg.stall_every_us)
        die("--stall-ms must be shorter than --stall-every-ms");
    if (cfg.stall_after && cfg.stall_us == 0)
        die("--stall-after-bytes needs --stall-ms");
    if (!first_set)
        cfg.stall_first_us = cfg.stall_every_us;
}

static void write_port_file(uint16_t port)
{
    char tmp[4096];
    if (cfg.port_file == NULL)
        return;
    snprintf(tmp, sizeof tmp, "%s.tmp", cfg.port_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%u\n", (unsigned)port) < 0 || fclose(f) != 0 ||
        rename(tmp, cfg.port_file) != 0)
        die("cannot write %s: %s", cfg.port_file, strerror(errno));
}

static void open_front(void)
{
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    if (cfg.mode == MODE_TCP) {
        listener_t *l = &listeners[0];
        l->fd = listen_on(cfg.listen);
        if (l->fd < 0)
            die("cannot listen on TCP %s: %s", addr_text(&cfg.listen), strerror(errno));
        getsockname(l->fd, (struct sockaddr *)&bound, &bl);
        l->used = true;
        l->port = ntohs(bound.sin_port);
        l->dest = cfg.to;
        l->upload_ab = true;
        fprintf(stderr, "linkemu: tcp %s -> %s\n", addr_text(&bound), addr_text(&cfg.to));
    } else {
        udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (udp_fd < 0 || bind(udp_fd, (struct sockaddr *)&cfg.listen, sizeof cfg.listen) != 0)
            die("cannot bind UDP %s: %s", addr_text(&cfg.listen), strerror(errno));
        set_nonblocking(udp_fd);
        getsockname(udp_fd, (struct sockaddr *)&bound, &bl);
        fprintf(stderr, "linkemu: espota %s -> %s%s\n", addr_text(&bound), addr_text(&cfg.to),
                cfg.no_connect_back ? " (connect-backs refused)" : "");
    }
    cfg.listen.sin_port = bound.sin_port;
    write_port_file(ntohs(bound.sin_port));
}

static void min_time(uint64_t *t, uint64_t v)
{
    if (v < *t)
        *t = v;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].a = conns[i].b = -1;
    t0_us = now_us();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    open_front();
    char rate[32], stall[64], cut[32], wnd[32];
    snprintf(wnd, sizeof wnd, cfg.window ? "%llu bytes" : "none", (unsigned long long)cfg.window);
    snprintf(rate, sizeof rate, cfg.rate_bps ? "%llu kbit/s" : "unlimited",
             (unsigned long long)(cfg.rate_bps / 1000));
    snprintf(stall, sizeof stall, cfg.stall_us && cfg.stall_every_us ? "%llu ms every %llu ms"
             : "none", (unsigned long long)(cfg.stall_us / 1000),
             (unsigned long long)(cfg.stall_every_us / 1000));
    snprintf(cut, sizeof cut, cfg.cut_after ? "after %llu bytes" : "none",
             (unsigned long long)cfg.cut_after);
    fprintf(stderr, "linkemu: delay %.1f ms each way + jitter 0-%.1f ms, rate %s, stalls %s, "
            "cut %s, receive window %s\n", (double)cfg.delay_us / 1000.0,
            (double)cfg.jitter_us / 1000.0, rate, stall, cut, wnd);

    uint64_t end = cfg.run_for > 0 ? t0_us + (uint64_t)(cfg.run_for * 1e6) : UINT64_MAX;
    while (!quit) {
        struct pollfd pfd[MAX_PFDS];
        enum { K_UDP, K_SESSION, K_LISTENER, K_A, K_B } kind[MAX_PFDS];
        int idx[MAX_PFDS];
        nfds_t n = 0;
        uint64_t now = now_us(), change, wake = now + 100000u;
        if (now >= end)
            break;
        min_time(&wake, end);
        bool st = stalled(now, &change);
        min_time(&wake, change);

        /* Timers and writes. */
        for (int i = 0; i < MAX_CONNS; i++) {
            conn_t *c = &conns[i];
            if (c->used && c->b < 0 && !c->b_connecting) {
                if (c->connect_at_us <= now)
                    conn_connect(c);
                else
                    min_time(&wake, c->connect_at_us);
            }
        }
        if (!st)
            dq_send_due(now);
        if (dq_head)
            min_time(&wake, dq_head->due_us);

        if (udp_fd >= 0 && !st) {
            pfd[n] = (struct pollfd){udp_fd, POLLIN, 0};
            kind[n++] = K_UDP;
        }
        for (int i = 0; i < MAX_SESSIONS && !st; i++)
            if (sessions[i].used) {
                pfd[n] = (struct pollfd){sessions[i].dfd, POLLIN, 0};
                kind[n] = K_SESSION;
                idx[n++] = i;
            }
        for (int i = 0; i < MAX_LISTENERS; i++)
            if (listeners[i].used) {
                pfd[n] = (struct pollfd){listeners[i].fd, POLLIN, 0};
                kind[n] = K_LISTENER;
                idx[n++] = i;
            }
        for (int i = 0; i < MAX_CONNS; i++) {
            conn_t *c = &conns[i];
            bool out_a = false, out_b = false;
            if (!c->used)
                continue;
            bool cst = st || now < c->stall_until_us;   /* this connection carries nothing */
            if (!st && cst)
                min_time(&wake, c->stall_until_us);
            if (!cst && (!pipe_write(c, &c->ab, now, &out_b) ||
                         (c->used && !pipe_write(c, &c->ba, now, &out_a))))
                continue;   /* closed */
            if (!c->used)
                continue;   /* (a stall may have started in the first write) */
            window_update(&c->ab, now, &wake);
            window_update(&c->ba, now, &wake);
            if (c->ab.eof && c->ba.eof && c->ab.head == NULL && c->ba.head == NULL) {
                conn_close(c, false, "both sides done");
                continue;
            }
            for (int side = 0; side < 2; side++) {
                pipe_t *rd = side == 0 ? &c->ab : &c->ba;   /* reads from this side */
                pipe_t *wr = side == 0 ? &c->ba : &c->ab;   /* writes to this side */
                int fd = side == 0 ? c->a : c->b;
                short ev = 0;
                if (fd < 0)
                    continue;
                if (side == 1 && c->b_connecting) {
                    ev = POLLOUT;
                } else if (side == 0 || c->b_ready) {
                    if (!cst && pipe_can_read(rd, now))
                        ev |= POLLIN;
                    else if (!cst && cfg.rate_bps && !rd->eof)
                        min_time(&wake, rd->free_us);
                    if (side == 0 ? out_a : out_b)
                        ev |= POLLOUT;
                }
                if (wr->head && !(side == 0 ? out_a : out_b))
                    min_time(&wake, wr->head->due_us);
                if (ev == 0)
                    continue;
                pfd[n] = (struct pollfd){fd, ev, 0};
                kind[n] = side == 0 ? K_A : K_B;
                idx[n++] = i;
            }
        }

        now = now_us();
        uint64_t wait_us = wake > now ? wake - now : 0;
        struct timespec ts = {(time_t)(wait_us / 1000000u), (long)(wait_us % 1000000u) * 1000L};
        int rc = ppoll(pfd, n, &ts, NULL);
        if (rc < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (rc <= 0)
            continue;
        now = now_us();
        for (nfds_t k = 0; k < n; k++) {
            short re = pfd[k].revents;
            if (re == 0)
                continue;
            switch (kind[k]) {
            case K_UDP:
                on_udp_from_host(now);
                break;
            case K_SESSION:
                if (sessions[idx[k]].used)
                    on_udp_from_device(&sessions[idx[k]], now);
                break;
            case K_LISTENER:
                if (listeners[idx[k]].used)
                    on_accept(&listeners[idx[k]]);
                break;
            case K_A:
            case K_B: {
                conn_t *c = &conns[idx[k]];
                int fd = kind[k] == K_A ? c->a : c->b;
                if (!c->used || fd != pfd[k].fd)
                    break;   /* closed or replaced meanwhile */
                if (kind[k] == K_B && c->b_connecting) {
                    conn_connected(c);
                    break;
                }
                pipe_t *rd = kind[k] == K_A ? &c->ab : &c->ba;
                if ((re & (POLLIN | POLLHUP | POLLERR)) && now >= c->stall_until_us &&
                    pipe_can_read(rd, now))
                    pipe_read(c, rd, now);
                break;
            }
            }
        }
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].used)
            conn_close(&conns[i], true, "exit");
    fprintf(stderr, "linkemu: relayed %llu bytes host->device, %llu device->host, "
            "%llu+%llu datagrams, %llu connections, %llu cut, %llu connect-backs refused\n",
            (unsigned long long)stats.up_bytes, (unsigned long long)stats.down_bytes,
            (unsigned long long)stats.dgrams_up, (unsigned long long)stats.dgrams_down,
            (unsigned long long)stats.conns, (unsigned long long)stats.cuts,
            (unsigned long long)stats.refused);
    if (cfg.flip)
        fprintf(stderr, "linkemu: flipped %llu bits\n", (unsigned long long)stats.flips);
    if (cfg.window)
        fprintf(stderr, "linkemu: receive window %llu bytes: at most %llu bytes were in flight\n",
                (unsigned long long)cfg.window, (unsigned long long)stats.max_in_flight);
    return 0;
}
