/*
 * tests/fuzz/fuzz_native_host.c — libFuzzer target for the native host
 * engine (aloft/native_host.h): the input plays a hostile device. It must
 * never crash or hang, and whatever it is told, what it sends must follow
 * the protocol: one OFFER, DATA only after its ACCEPT, contiguous from 0,
 * never more than the window unconsumed (as far as the ACKs it took say),
 * END once, with the stream's length, nothing once closed.
 *
 * Byte 0 configures the host: bits 0-1 the operation (0 info, 1 and 3
 * upload, 2 rollback), bit 2 a password, bit 3 compress, bit 4
 * NO_REBOOT, bit 5 a signature block, bit 6 a filesystem image. Then
 * records of op byte, length byte, payload:
 *   op % 8: 0 raw bytes to the host, 1 a message built from the payload
 *           (payload[0] = type, the rest its fields) with the device's MAC
 *           once keyed, 2 the same with a broken MAC, 3 a well-formed HELLO
 *           with caps len, 4 time passes (len x 100 ms), 5 the host steps
 *           and the device reads what it sent (and learns its login),
 *           6 the connection ends, 7 a fitting answer (len % 4: AUTH_OK
 *           with the right signature, ACCEPT at (len / 4) x 64 KiB, an ACK
 *           of everything sent, RESULT).
 * PBKDF2 is replaced by one HMAC (the device may ask for 10^7 rounds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/native_host.h"
#include "bytes.h"
#include "crypto_mbedtls.h"
#include "hmac.h"
#include "native_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define IMAGE_SIZE 5000u

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;
static aloft_crypto_t crypto;
static aloft_native_verifier_t verifier;
static uint8_t image_sha[32], sig_block[100];

static int fixed_random(void *ctx, void *out, size_t n)
{
    (void)ctx;
    memset(out, 0x5a, n);
    return 0;
}

/* One HMAC instead of PBKDF2's rounds: the same keys for the same inputs. */
static int quick_pbkdf2(void *ctx, const void *pw, size_t pw_len, const void *salt,
                        size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
    uint8_t mac[32];
    (void)ctx;
    (void)iterations;
    if (out_len > sizeof mac || aloft_hmac(SHA, pw, pw_len, salt, salt_len, mac) != 0)
        return ALOFT_ERR_CRYPTO;
    memcpy(out, mac, out_len);
    return 0;
}

/* The stream: bytes made up on the spot; "deflated" it is shorter. */
static int src_open(void *ctx, uint32_t from, unsigned bits, uint32_t *len)
{
    (void)ctx;
    *len = bits ? (IMAGE_SIZE - from) / 2 + 16 : IMAGE_SIZE - from;
    return 0;
}

static int src_read(void *ctx, uint32_t off, uint8_t *buf, size_t n)
{
    (void)ctx;
    memset(buf, (uint8_t)off, n);
    return 0;
}

static const aloft_native_source_t source = {src_open, src_read, NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    uint8_t salt[16] = {7};
    crypto = aloft_mbedtls_crypto;
    crypto.random = fixed_random;
    crypto.pbkdf2_sha256 = quick_pbkdf2;
    if (aloft_native_derive(&crypto, "fuzz", salt, 1000, &verifier, NULL) != 0)
        abort();
    memset(image_sha, 0x11, sizeof image_sha);
    memset(sig_block, 0x22, sizeof sig_block);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The device's side. */

static struct {
    aloft_native_host_t h;
    uint32_t now;
    bool keyed;
    uint8_t key[32], next_key[32], signature[32];
    bool login_seen;                 /* the host's AUTH arrived: next_key, signature valid */
    uint32_t tx_seq;
    uint8_t hello_payload[ALOFT_NATIVE_MAX_PAYLOAD];
    size_t hello_len;
    /* what the host made of what it was told (its events), and what it did */
    bool accepted;
    uint32_t window, consumed, sent;
    bool end_sent;
} s;

static void on_event(void *ctx, const aloft_native_event_t *ev)
{
    (void)ctx;
    if (ev->kind == ALOFT_NATIVE_EV_ACCEPTED) {
        s.accepted = true;
        s.window = ev->window;
    } else if (ev->kind == ALOFT_NATIVE_EV_PROGRESS) {
        s.consumed = ev->consumed;
    }
}

static void to_host(const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t room;
        uint8_t *buf = aloft_native_host_rx_buf(&s.h, &room);
        if (room == 0)
            return;   /* closed */
        size_t k = n < room ? n : room;
        memcpy(buf, p, k);
        aloft_native_host_rx_ack(&s.h, s.now, k);
        p += k;
        n -= k;
    }
}

/* A frame, MACed with the device's key once keyed (broken: flipped). */
static void send_frame(uint8_t type, const uint8_t *payload, size_t len, bool broken)
{
    static uint8_t f[ALOFT_NATIVE_FRAME_MAX];
    size_t n = native_raw_frame(f, type, payload, len, s.keyed || broken ? s.key : NULL, 'D',
                                s.tx_seq, broken);
    s.tx_seq += s.keyed;
    to_host(f, n);
}

static void send_msg(const aloft_native_msg_t *m, bool broken)
{
    static uint8_t f[ALOFT_NATIVE_FRAME_MAX];
    int n = aloft_native_encode(m, SHA, NULL, 'D', 0, f, sizeof f);
    if (n < 0)
        return;   /* a field no device could send */
    if (m->type == ALOFT_MSG_HELLO) {
        s.hello_len = (size_t)n - 4;
        memcpy(s.hello_payload, f + 4, s.hello_len);
        s.keyed = s.login_seen = false;
        s.tx_seq = 0;
    }
    send_frame(m->type, f + 4, (size_t)n - 4, broken);
    if (m->type == ALOFT_MSG_HELLO && !(m->u.hello.caps & ALOFT_CAP_AUTH)) {
        static const uint8_t zero[32];
        uint8_t am[32];
        aloft_native_auth_message(SHA, s.hello_payload, s.hello_len, zero, am);
        aloft_native_session_key(SHA, zero, am, s.key);
        s.keyed = true;
    }
    if (m->type == ALOFT_MSG_AUTH_OK && !broken && s.login_seen) {
        memcpy(s.key, s.next_key, sizeof s.key);
        s.keyed = true;
    }
}

/* Fields from the payload bytes, zero past its end. */
typedef struct {
    const uint8_t *p;
    size_t n, i;
} cur_t;

static uint8_t u8(cur_t *c)
{
    return c->i < c->n ? c->p[c->i++] : 0;
}

static uint32_t u32(cur_t *c)
{
    uint32_t v = u8(c);
    v |= (uint32_t)u8(c) << 8;
    v |= (uint32_t)u8(c) << 16;
    return v | (uint32_t)u8(c) << 24;
}

static void str(cur_t *c, aloft_native_str_t *out)
{
    char t[9] = {0};
    for (int i = 0, n = u8(c) % 9; i < n; i++)
        t[i] = (char)('a' + u8(c) % 26);
    aloft_native_str_set(out, t);
}

static void hello_from(cur_t *c, aloft_native_hello_t *h)
{
    memset(h, 0, sizeof *h);
    h->version = (u8(c) & 0x80) ? 2 : 1;
    h->caps = u8(c);
    h->window = u32(c) % 70000;
    h->max_payload = (uint16_t)(u32(c) % 5000);
    h->inflate_window_bits = u8(c) % 17;
    h->kdf_iterations = u32(c);
    if (!(u8(c) & 1)) {   /* usually the verifier's salt, so the login can work */
        memcpy(h->salt, verifier.salt, sizeof h->salt);
        h->kdf_iterations = verifier.iterations;
    }
    str(c, &h->name);
    h->running_slot = u8(c) % 5;
    h->nslots = u8(c) % (ALOFT_NATIVE_MAX_SLOTS + 1);
    for (int i = 0; i < h->nslots; i++) {
        str(c, &h->slots[i].label);
        h->slots[i].state = u8(c) % 6;
        h->slots[i].has_image = u8(c) & 1;
    }
    h->has_resume = u8(c) & 1;
    h->resume_size = IMAGE_SIZE;
    h->resume_offset = u32(c) % (2 * IMAGE_SIZE);
}

static void built_msg(const uint8_t *p, size_t n, bool broken)
{
    cur_t c = {p, n, 0};
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = u8(&c);
    switch (m.type % 7) {
    case 0: m.type = ALOFT_MSG_HELLO; hello_from(&c, &m.u.hello); break;
    case 1:
        m.type = ALOFT_MSG_AUTH_OK;
        for (int i = 0; i < 32; i++)
            m.u.auth_ok_signature[i] = u8(&c);
        if (u8(&c) & 1)
            memcpy(m.u.auth_ok_signature, s.signature, 32);
        break;
    case 2:
        m.type = ALOFT_MSG_ERROR;
        m.u.error.code = (int16_t)(int8_t)u8(&c);
        m.u.error.have = u32(&c);
        m.u.error.want = u32(&c);
        str(&c, &m.u.error.where);
        str(&c, &m.u.error.text);
        break;
    case 3:
        m.type = ALOFT_MSG_ACCEPT;
        m.u.accept.offset = u32(&c) % (2 * IMAGE_SIZE);
        m.u.accept.window = u32(&c) % 70000;
        break;
    case 4:
        m.type = ALOFT_MSG_ACK;
        m.u.ack.consumed = s.sent - u8(&c) % 16 + u8(&c) % 4;
        m.u.ack.durable = u32(&c) % (2 * IMAGE_SIZE);
        break;
    case 5:
        m.type = ALOFT_MSG_RESULT;
        m.u.result.slot = u8(&c) % 6;
        str(&c, &m.u.result.version);
        m.u.result.reboot = u8(&c) & 1;
        break;
    default:   /* any type, raw payload */
        send_frame(u8(&c), p + c.i, n - c.i, broken);
        return;
    }
    send_msg(&m, broken);
}

static void good_hello(uint8_t caps)
{
    aloft_native_msg_t m = {.type = ALOFT_MSG_HELLO};
    aloft_native_hello_t *h = &m.u.hello;
    h->version = ALOFT_NATIVE_VERSION;
    h->caps = caps;
    h->window = 2048u + caps * 64u;
    h->max_payload = 1024;
    h->inflate_window_bits = 12;
    h->kdf_iterations = verifier.iterations;
    memcpy(h->salt, verifier.salt, sizeof h->salt);
    memset(h->nonce, 0x33, sizeof h->nonce);
    aloft_native_str_set(&h->name, "fuzz");
    h->nslots = 2;
    aloft_native_str_set(&h->slots[0].label, "app0");
    aloft_native_str_set(&h->slots[1].label, "app1");
    h->slots[1].has_image = caps & 0x40;
    h->slots[1].state = caps >> 5;
    send_msg(&m, false);
}

/* What the host sends, checked against the protocol. */
static void on_host_frame(const uint8_t *f, size_t len)
{
    uint8_t am[32], sig[32];
    switch (f[0]) {
    case ALOFT_MSG_AUTH:
        if (len != 4 + 64)
            abort();
        aloft_native_auth_message(SHA, s.hello_payload, s.hello_len, f + 4, am);
        s.login_seen = aloft_native_verify_proof(SHA, &verifier, am, f + 36, s.next_key,
                                                 sig) == 0;
        memcpy(s.signature, sig, sizeof sig);
        break;
    case ALOFT_MSG_OFFER:   /* one per session: its stream starts at 0 */
        if (s.accepted || s.sent)
            abort();
        break;
    case ALOFT_MSG_DATA: {
        uint32_t off = aloft_ld32(f + 4), n = aloft_ld16(f + 2) - 4u;
        if (!s.accepted || s.end_sent || off != s.sent || off + n - s.consumed > s.window)
            abort();   /* before ACCEPT, out of order, after END, or beyond the window */
        s.sent += n;
        break;
    }
    case ALOFT_MSG_END:
        if (aloft_ld32(f + 4) != s.sent || s.end_sent)
            abort();
        s.end_sent = true;
        break;
    default: break;
    }
}

/* Steps until the host has nothing more to send; each one queues exactly
 * one whole frame (the engine's contract), taken at once. */
static void drain(void)
{
    for (int k = 0; k < 64 && aloft_native_host_step(&s.h, s.now) > 0; k++) {
        size_t n;
        const uint8_t *p = aloft_native_host_tx_buf(&s.h, &n);
        if (n == 0)
            continue;   /* a step that derived keys, or failed */
        bool mac = p[0] != ALOFT_MSG_AUTH;
        if ((aloft_native_host_state(&s.h) & ALOFT_NATIVE_CLOSED) ||
            aloft_native_frame_len(p, n, mac, ALOFT_NATIVE_MAX_PAYLOAD) != (int)n)
            abort();   /* bytes after the end, or not one whole frame */
        on_host_frame(p, n);
        aloft_native_host_tx_ack(&s.h, n);
    }
}

static void fitting_answer(uint8_t len)
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    switch (len % 4) {
    case 0:
        m.type = ALOFT_MSG_AUTH_OK;
        memcpy(m.u.auth_ok_signature, s.signature, 32);
        break;
    case 1:
        m.type = ALOFT_MSG_ACCEPT;
        m.u.accept.offset = (uint32_t)(len / 4) * 65536u % (IMAGE_SIZE + 1);
        break;
    case 2:
        m.type = ALOFT_MSG_ACK;
        m.u.ack.consumed = s.sent;
        m.u.ack.durable = s.sent < IMAGE_SIZE ? s.sent : IMAGE_SIZE;
        break;
    default:
        m.type = ALOFT_MSG_RESULT;
        m.u.result.slot = 1;
        m.u.result.reboot = 1;
        break;
    }
    send_msg(&m, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t b = size ? data[0] : 1;
    aloft_native_host_config_t hc = {
        .crypto = &crypto, .op = (b & 3) == 2 ? ALOFT_NATIVE_OP_ROLLBACK
                                 : (b & 1) ? ALOFT_NATIVE_OP_UPLOAD : ALOFT_NATIVE_OP_INFO,
        .password = (b & 4) ? "fuzz" : NULL, .source = &source, .size = IMAGE_SIZE,
        .sha256 = image_sha, .target = (b & 64) ? 1 : 0, .no_reboot = (b & 16) != 0,
        .compress = (b & 8) != 0, .project = "fuzz", .version = "1",
        .sig_block = (b & 32) ? sig_block : NULL, .sig_block_len = (b & 32) ? sizeof sig_block : 0,
        .on_event = on_event};
    memset(&s, 0, sizeof s);
    s.now = 0xFFFF0000u;   /* timers cross the 32-bit wrap */
    if (aloft_native_host_init(&s.h, &hc, s.now) != 0)
        abort();
    for (size_t i = 1; i < size;) {
        uint8_t op = data[i++] % 8;
        uint8_t len = i < size ? data[i++] : 0;
        size_t avail = len < size - i ? len : size - i;
        const uint8_t *p = data + i;
        switch (op) {
        case 0: to_host(p, avail); i += avail; break;
        case 1:
        case 2: built_msg(p, avail, op == 2); i += avail; break;
        case 3: good_hello(len); break;
        case 4:
            s.now += (uint32_t)len * 100;
            aloft_native_host_tick(&s.h, s.now);
            break;
        case 5: drain(); break;
        case 6: aloft_native_host_peer_closed(&s.h, s.now); break;
        default: fitting_answer(len); break;
        }
    }
    drain();
    aloft_native_host_peer_closed(&s.h, s.now);
    if (!(aloft_native_host_state(&s.h) & ALOFT_NATIVE_CLOSED))
        abort();   /* the end of the connection ends every session */
    return 0;
}
