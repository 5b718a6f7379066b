/*
 * tests/fuzz/fuzz_native.c — libFuzzer target for the native protocol: the
 * frame codec on arbitrary bytes, and the device engine as a whole.
 *
 * 1. The input as a frame, with and without a MAC: aloft_native_frame_len
 *    and aloft_native_decode must not crash, and whatever decodes must
 *    encode back to exactly the same bytes (the codec is strict, so a
 *    message has one encoding).
 * 2. The input as a script for an engine serving a simulated device. Byte
 *    0 bit 0 picks a password device (else open, so data flows at once);
 *    then records of op byte, length byte, payload:
 *      op % 8: 0 raw bytes to the engine, 1 a frame the harness MACs like a
 *              host (payload[0] = type, the rest its payload), 2 time passes
 *              (len x 100 ms), 3 up to len steps (erase-ahead), 4 the
 *              connection drops (len odd: the port evicts it for a newer
 *              one) and a new one starts, 5 log in if needed
 *              and OFFER the real image (len bit 0: zlib, bit 1: NO_REBOOT),
 *              6 the next len bytes of the stream, 7 END.
 * After every input: a failed or unfinished update left otadata and app0
 * untouched, the app was resumed, and REBOOT only ever follows a finished
 * update.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "hmac.h"
#include "aloft/native_device.h"
#include "bytes.h"
#include "crypto_mbedtls.h"
#include "image_make.h"
#include "inflate_zlib.h"
#include "device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;
static sim_device_t sim;
static uint8_t *pristine;
static int paused;
static aloft_crypto_t crypto;
static aloft_native_verifier_t verifier;
static uint8_t client_key[32];
static inflate_zlib_t zst;
static aloft_inflate_t z;
static uint8_t *image, *zimage;
static size_t image_len, zimage_len;
static uint8_t image_sha[32];

static void on_pause(void *c) { (void)c; paused++; }
static void on_resume(void *c) { (void)c; paused--; }

/* Deterministic "CSPRNG": the same input always behaves the same. */
static int fixed_random(void *ctx, void *out, size_t n)
{
    (void)ctx;
    memset(out, 0x5a, n);
    return 0;
}

static uint8_t *zlib_compress(const uint8_t *p, size_t n, size_t *out_len)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 9, Z_DEFLATED, 12, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    uint8_t *out = malloc(deflateBound(&s, (uLong)n));
    s.next_in = (Bytef *)p;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)deflateBound(&s, (uLong)n);
    if (deflate(&s, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_len = s.total_out;
    deflateEnd(&s);
    return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    image_spec_t v1 = {.chip_id = 0, .project = "fuzz", .version = "1", .size = 8192};
    image_spec_t v2 = {.chip_id = 0, .project = "fuzz", .version = "2", .size = 9000, .seed = 7};
    uint8_t salt[16] = {0};
    size_t len;
    uint8_t *fw = image_make(&v1, &len);
    sim_config_t cfg = {.rollback = true, .confirm_after_ms = 0};
    if (sim_open_scratch(&sim, fw, len, &cfg) != 0)
        abort();
    image_free(fw);
    crypto = aloft_mbedtls_crypto;
    crypto.random = fixed_random;
    sim.dev.crypto = &crypto;
    aloft_quiesce_add(&sim.quiesce, "fuzz", on_pause, on_resume, NULL);
    pristine = malloc(sim.nor.size);
    memcpy(pristine, sim.nor.mem, sim.nor.size);
    if (aloft_native_derive(&crypto, "fuzz", salt, 1, &verifier, client_key) != 0)
        abort();
    inflate_zlib_init(&z, &zst, 12);
    image = image_make(&v2, &image_len);
    zimage = zlib_compress(image, image_len, &zimage_len);
    aloft_hash_oneshot(SHA, image, image_len, image_sha);
    return 0;
}

/* ------------------------------------------------------------------ */
/* 1. The codec alone. */

static void codec(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = {1, 2, 3};
    static uint8_t again[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m;
    for (int mac = 0; mac < 2; mac++) {
        int n = aloft_native_frame_len(data, size, mac, ALOFT_NATIVE_MAX_PAYLOAD);
        if (n <= 0)
            continue;
        if (aloft_native_decode(data, (size_t)n, SHA, mac ? key : NULL, 'H', 0, &m) != 0)
            continue;
        int k = aloft_native_encode(&m, SHA, mac ? key : NULL, 'H', 0, again, sizeof again);
        if (k != n || memcmp(again, data, (size_t)n) != 0)
            abort();   /* one message, one encoding */
    }
    aloft_native_decode(data, size, SHA, NULL, 0, 0, &m);
}

/* ------------------------------------------------------------------ */
/* 2. The engine, with a harness playing the host. */

typedef struct {
    aloft_native_device_t d;
    bool password, keyed;
    uint8_t key[32];
    uint32_t seq;
    uint8_t hello[ALOFT_NATIVE_MAX_PAYLOAD];
    size_t hello_len;
    bool deflate;
    size_t sent;     /* stream bytes sent since the OFFER */
    uint32_t now;
} harness_t;

static harness_t h;
static aloft_native_limiter_t limiter;
static bool finished;   /* an update completed during this input */

/* Take what the engine sends; keep HELLO's payload for the key schedule. */
static void drain(void)
{
    size_t n;
    const uint8_t *p = aloft_native_device_tx_buf(&h.d, &n);
    if (n >= 4 && p[0] == ALOFT_MSG_HELLO && h.hello_len == 0) {
        size_t plen = aloft_ld16(p + 2);
        if (plen + 4 <= n && plen <= sizeof h.hello) {
            memcpy(h.hello, p + 4, plen);
            h.hello_len = plen;
        }
    }
    aloft_native_device_tx_ack(&h.d, n);
    if (aloft_update_state(&sim.update) == ALOFT_UPDATE_DONE)
        finished = true;
    if ((aloft_native_device_state(&h.d) & ALOFT_NATIVE_REBOOT) && !finished)
        abort();   /* a restart without a finished update */
}

static void push(const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t space;
        uint8_t *buf = aloft_native_device_rx_buf(&h.d, &space);
        if (space == 0) {
            if (aloft_native_device_step(&h.d, h.now) == 0)
                return;   /* closed, or stuck: nothing more goes in */
            drain();
            continue;
        }
        size_t k = n < space ? n : space;
        memcpy(buf, p, k);
        aloft_native_device_rx_ack(&h.d, h.now, k);
        drain();
        p += k;
        n -= k;
    }
}

/* A frame as a host would send it: MAC computed here, independently of the
 * codec (HMAC-SHA256(key, 'H' || seq || header || payload), 16 bytes). */
static void send_frame(uint8_t type, const uint8_t *payload, size_t len)
{
    static uint8_t f[ALOFT_NATIVE_FRAME_MAX];
    uint8_t mac[32], pre[5] = {'H'};
    if (len > ALOFT_NATIVE_MAX_PAYLOAD)
        len = ALOFT_NATIVE_MAX_PAYLOAD;
    f[0] = type;
    f[1] = 0;
    aloft_st16(f + 2, (uint16_t)len);
    if (len)
        memcpy(f + 4, payload, len);
    size_t n = 4 + len;
    if (h.keyed) {
        aloft_hmac_t m;
        aloft_st32(pre + 1, h.seq++);
        aloft_hmac_init(&m, SHA, h.key, 32);
        aloft_hmac_update(&m, pre, sizeof pre);
        aloft_hmac_update(&m, f, n);
        aloft_hmac_final(&m, mac);
        memcpy(f + n, mac, 16);
        n += 16;
    }
    push(f, n);
}

static void send_msg(const aloft_native_msg_t *m)
{
    static uint8_t f[ALOFT_NATIVE_FRAME_MAX];
    int n = aloft_native_encode(m, SHA, h.keyed ? h.key : NULL, 'H', h.seq, f, sizeof f);
    if (n < 0)
        abort();
    if (h.keyed)
        h.seq++;
    push(f, (size_t)n);
}

static void connect_new(void)
{
    aloft_native_device_config_t cfg = {
        .dev = &sim.dev, .update = &sim.update, .verifier = h.password ? &verifier : NULL,
        .inflate = &z, .name = "fuzz", .limiter = &limiter, .open = !h.password};
    bool password = h.password;
    uint32_t now = h.now;
    memset(&h, 0, sizeof h);
    h.password = password;
    h.now = now;
    if (aloft_native_device_init(&h.d, &cfg, 0x7F000001u, h.now) != 0)
        abort();
    drain();
    if (!password) {   /* open device: zero client key and host nonce */
        static const uint8_t zero[32];
        uint8_t am[32];
        aloft_native_auth_message(SHA, h.hello, h.hello_len, zero, am);
        aloft_native_session_key(SHA, zero, am, h.key);
        h.keyed = true;
    }
}

static void login(void)
{
    aloft_native_msg_t m;
    uint8_t am[32];
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_AUTH;
    memset(m.u.auth.nonce, 0x11, 32);
    aloft_native_auth_message(SHA, h.hello, h.hello_len, m.u.auth.nonce, am);
    aloft_native_client_proof(SHA, client_key, am, m.u.auth.proof);
    send_msg(&m);   /* AUTH_OK is not checked here: only the key matters */
    aloft_native_session_key(SHA, client_key, am, h.key);
    h.keyed = true;
}

static void offer(uint8_t arg)
{
    aloft_native_msg_t m;
    if (!h.keyed)
        login();
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.encoding = arg & 1;
    m.u.offer.flags = (arg >> 1) & 1;
    m.u.offer.size = (uint32_t)image_len;
    memcpy(m.u.offer.sha256, image_sha, 32);
    h.deflate = arg & 1;
    h.sent = 0;
    send_msg(&m);
}

static void data_chunk(size_t len)
{
    const uint8_t *s = h.deflate ? zimage : image;
    size_t total = h.deflate ? zimage_len : image_len;
    uint8_t payload[4 + 255];
    if (len == 0)
        len = 255;
    if (len > total - h.sent)
        len = total - h.sent;
    aloft_st32(payload, (uint32_t)h.sent);
    memcpy(payload + 4, s + h.sent, len);
    h.sent += len;
    send_frame(ALOFT_MSG_DATA, payload, 4 + len);
}

static void end(void)
{
    uint8_t payload[4];
    aloft_st32(payload, (uint32_t)h.sent);
    send_frame(ALOFT_MSG_END, payload, 4);
}

static void run_script(const uint8_t *data, size_t size)
{
    memset(&limiter, 0, sizeof limiter);
    h.password = size > 0 && (data[0] & 1);
    h.now = 0xFFFF0000u;   /* timers cross the 32-bit wrap */
    connect_new();
    for (size_t i = 1; i < size;) {
        uint8_t op = data[i++] % 8;
        size_t len = i < size ? data[i++] : 0;
        size_t avail = len < size - i ? len : size - i;   /* payload of ops 0 and 1 */
        const uint8_t *p = data + i;
        switch (op) {
        case 0: push(p, avail); i += avail; break;
        case 1:
            if (avail > 0)
                send_frame(p[0], p + 1, avail - 1);
            i += avail;
            break;
        case 2:
            h.now += (uint32_t)len * 100;
            aloft_native_device_tick(&h.d, h.now);
            break;
        case 3:
            for (size_t k = 0; k < len && aloft_native_device_step(&h.d, h.now); k++)
                drain();
            break;
        case 4:
            if (len & 1)
                aloft_native_device_evict(&h.d, h.now);
            drain();
            aloft_native_device_peer_closed(&h.d, h.now);
            connect_new();
            break;
        case 5: offer((uint8_t)len); break;
        case 6: data_chunk(len); break;
        default: end(); break;
        }
        drain();
        if (aloft_native_device_state(&h.d) & ALOFT_NATIVE_REBOOT) {
            sim_boot(&sim, 0);   /* as the device would, then a new connection */
            connect_new();
        }
    }
    aloft_native_device_peer_closed(&h.d, h.now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    codec(data, size);

    memcpy(sim.nor.mem, pristine, sim.nor.size);
    sim_boot(&sim, 0);
    finished = false;
    run_script(data, size);
    /* Whatever happened, an unfinished update must not have touched the
     * running firmware or otadata, and the app must not stay paused. */
    if (!finished &&
        (memcmp(sim.nor.mem + 0xE000, pristine + 0xE000, 0x2000) != 0 ||
         memcmp(sim.nor.mem + 0x10000, pristine + 0x10000, 0x140000) != 0))
        abort();
    aloft_update_abort(&sim.update, ALOFT_ERR_ABORTED);
    if (paused != 0)
        abort();
    return 0;
}
