/*
 * tests/fuzz/fuzz_espota_host.c — libFuzzer target for the espota host
 * engine (aloft/espota_host.h) against a hostile device: random answers to
 * the invitation and the login, random counts and result bytes on the
 * connection, in any order and at any time. (The CLI's parsers of device
 * texts are fuzz_espota_reply.c.)
 *
 * The input is a script. Byte 0 sets the upload up (bit 0 a password,
 * 1 md5_target, 2 stop-and-wait, 3 the image through the read callback,
 * 4 filesystem, 5-7 the window: 512 B << n); byte 1 the image size
 * (1 + 8 x n bytes). Then up to OPS_MAX records of op byte (and, where it
 * says so, a length byte and that many bytes):
 *      op % 8: 0 a datagram from the device (len, bytes), 1 the device
 *              connects back, 2 TCP bytes from the device (len, bytes),
 *              3 the connection takes 16 x len bytes of the offer (len),
 *              4 time passes (len x 50 ms), 5 the connection ends,
 *              6 the last datagram could not be sent, 7 the connection
 *              takes every offer.
 * Invariants, after every call: every datagram is the invitation or an auth
 * answer, every TCP offer is the image's next unsent bytes and fits what is
 * left, confirmed <= sent <= size, the engine's own window is respected,
 * the result text is printable, nothing but events follows DONE, and time
 * alone always brings the engine to DONE within a bounded number of steps.
 * PBKDF2 is a stand-in (one hash, not 10 000 iterations): the fuzzer is
 * after the engine, not the KDF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/espota_host.h"
#include "crypto_mbedtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's own branches are not what is explored: no coverage for
 * them, so every run records only the engine's (and runs faster). */
#define HARNESS __attribute__((no_sanitize("coverage")))

#define IMAGE_MAX (1 + 8 * 255)
#define OPS_MAX 32   /* more ops are more of the same; the cap keeps every run short */

static uint8_t image[IMAGE_MAX];
static aloft_crypto_t crypto;

HARNESS static void check(int ok)
{
    if (!ok)
        abort();
}

HARNESS static int quick_pbkdf2(void *ctx, const void *pw, size_t pw_len, const void *salt,
                        size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
    aloft_hash_ctx_t h;
    uint8_t d[32];
    (void)ctx;
    (void)iterations;
    aloft_mbedtls_sha256.init(&h);
    aloft_mbedtls_sha256.update(&h, pw, pw_len);
    aloft_mbedtls_sha256.update(&h, salt, salt_len);
    aloft_mbedtls_sha256.finish(&h, d);
    memcpy(out, d, out_len < 32 ? out_len : 32);
    return 0;
}

HARNESS static int read_image(void *ctx, uint32_t offset, void *buf, size_t n)
{
    uint32_t size = *(const uint32_t *)ctx;
    check(offset <= size && n <= size - offset && n > 0);
    memcpy(buf, image + offset, n);
    return (int)n;
}

/* ---- the engine against a hostile device -------------------------------- */

typedef struct {
    aloft_espota_host_t e;
    uint32_t now, size;
    bool done_seen;
} run_t;

HARNESS static void check_result(const run_t *r)
{
    const aloft_espota_host_result_t *res = aloft_espota_host_result(&r->e);
    bool done = aloft_espota_host_state(&r->e) == ALOFT_ESPOTA_HOST_DONE;
    check(res->confirmed <= res->sent && res->sent <= r->size);
    check(done ? res->err <= 0 : res->err == 0);
}

/* The device's words, as kept for the user: printable and bounded. */
HARNESS static void check_text(const run_t *r)
{
    const char *t = aloft_espota_host_result(&r->e)->text;
    size_t len = strlen(t);
    check(len <= ALOFT_ESPOTA_HOST_TEXT_MAX);
    for (size_t i = 0; i < len; i++)
        check(t[i] >= 0x20 && t[i] < 0x7F);
}

/* Take the engine's actions; accept (up to) take bytes of TCP offers. */
HARNESS static void drain(run_t *r, size_t take)
{
    aloft_espota_host_action_t a;
    bool done = aloft_espota_host_state(&r->e) == ALOFT_ESPOTA_HOST_DONE;
    while (aloft_espota_host_next(&r->e, &a)) {
        const aloft_espota_host_result_t *res = aloft_espota_host_result(&r->e);
        check(!done || a.kind == ALOFT_ESPOTA_HOST_ACT_EVENT);
        if (a.kind == ALOFT_ESPOTA_HOST_ACT_UDP_SEND) {
            check(a.len > 4 && a.data[a.len - 1] == '\n');
            check(memcmp(a.data, "200 ", 4) == 0 || a.data == r->e.invite);
        } else if (a.kind == ALOFT_ESPOTA_HOST_ACT_TCP_SEND) {
            check(aloft_espota_host_state(&r->e) == ALOFT_ESPOTA_HOST_SENDING);
            check(a.len > 0 && a.len <= r->size - res->sent);
            check(memcmp(a.data, image + res->sent, a.len) == 0);
            uint32_t counted = r->e.acks.acked + aloft_espota_acks_pending(&r->e.acks, res->sent);
            check(r->e.cfg.stop_and_wait ? a.len <= ALOFT_ESPOTA_HOST_CHUNK
                                         : res->sent + a.len - counted <= r->e.cfg.window);
            size_t n = a.len < take ? a.len : take;
            if (n == 0)
                return;   /* the offer stays; a port waits until writable */
            aloft_espota_host_on_tcp_sent(&r->e, r->now, n);
            take -= n;
        }
        check_result(r);
    }
}

HARNESS static void engine(const uint8_t *data, size_t size)
{
    static run_t r;
    if (size < 2)
        return;
    uint8_t flags = data[0];
    memset(&r, 0, sizeof r);
    r.size = 1 + 8u * data[1];
    r.now = 0xFFFF0000u;   /* timers cross the 32-bit wrap */
    aloft_espota_host_config_t cfg = {
        .crypto = &crypto, .address = "192.168.1.50", .filename = "fw.bin",
        .password = flags & 1 ? "secret" : NULL, .md5_target = flags & 2,
        .stop_and_wait = flags & 4, .fs = flags & 16, .size = r.size,
        .data = flags & 8 ? NULL : image, .read = read_image, .read_ctx = &r.size,
        .window = 512u << (flags >> 5),
        /* short timers: the same rules, fewer steps to the end */
        .tries = 3, .invite_timeout_ms = 1000, .auth_resend_ms = 500, .timeout_ms = 2000};
    check(aloft_espota_host_init(&r.e, &cfg) == 0);
    aloft_espota_host_start(&r.e, r.now, 4242);
    drain(&r, 0);
    for (size_t i = 2, ops = 0; i < size && ops < OPS_MAX; ops++) {
        uint8_t op = data[i++] % 8;
        bool has_len = op == 0 || op == 2 || op == 3 || op == 4;
        size_t len = has_len && i < size ? data[i++] : 0;
        const uint8_t *p = data + i;
        if (op == 0 || op == 2) {
            if (len > size - i)
                len = size - i;
            i += len;
        }
        size_t take = 0;
        switch (op) {
        case 0: aloft_espota_host_on_datagram(&r.e, r.now, p, len); break;
        case 1: aloft_espota_host_on_connected(&r.e, r.now); break;
        case 2: aloft_espota_host_on_tcp(&r.e, r.now, p, len); break;
        case 3: take = 16 * len; break;
        case 4:
            r.now += (uint32_t)len * 50;
            aloft_espota_host_tick(&r.e, r.now);
            break;
        case 5: aloft_espota_host_on_tcp_closed(&r.e, r.now); break;
        case 6: aloft_espota_host_on_send_failed(&r.e, r.now); break;
        default: take = SIZE_MAX; break;
        }
        check_result(&r);
        drain(&r, take);
    }
    /* Time alone must end it: every deadline, when reached, moves it on. */
    for (int step = 0; aloft_espota_host_state(&r.e) != ALOFT_ESPOTA_HOST_DONE; step++) {
        uint32_t wait = aloft_espota_host_wait_ms(&r.e, r.now);
        check(step < 100 && wait <= 60000);
        r.now += wait;
        aloft_espota_host_tick(&r.e, r.now);
        drain(&r, 0);
    }
    check_result(&r);
    check_text(&r);
}

HARNESS int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (crypto.md5 == NULL) {
        crypto = aloft_mbedtls_crypto;
        crypto.pbkdf2_sha256 = quick_pbkdf2;
        for (size_t i = 0; i < sizeof image; i++)
            image[i] = (uint8_t)(i * 131u + (i >> 8));
        image[0] = 0xE9;
    }
    engine(data, size);
    return 0;
}
