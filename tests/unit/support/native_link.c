/* tests/unit/support/native_link.c — see native_link.h. */
#include "native_link.h"

#include <string.h>

#include "bytes.h"
#include "crypto_mbedtls.h"
#include "hmac.h"

size_t native_raw_frame(uint8_t *out, uint8_t type, const uint8_t *payload, size_t len,
                        const uint8_t *key, char dir, uint32_t seq, bool flip_mac)
{
    if (len > ALOFT_NATIVE_MAX_PAYLOAD)
        len = ALOFT_NATIVE_MAX_PAYLOAD;
    out[0] = type;
    out[1] = 0;
    aloft_st16(out + 2, (uint16_t)len);
    if (len)
        memcpy(out + 4, payload, len);
    size_t n = 4 + len;
    if (key) {
        uint8_t mac[32], pre[5] = {(uint8_t)dir};
        aloft_hmac_t m;
        aloft_st32(pre + 1, seq);
        aloft_hmac_init(&m, &aloft_mbedtls_sha256, key, ALOFT_NATIVE_KEY_LEN);
        aloft_hmac_update(&m, pre, sizeof pre);
        aloft_hmac_update(&m, out, n);
        aloft_hmac_final(&m, mac);
        mac[0] ^= (uint8_t)flip_mac;
        memcpy(out + n, mac, ALOFT_NATIVE_MAC_LEN);
        n += ALOFT_NATIVE_MAC_LEN;
    }
    return n;
}

static size_t limit(const native_link_t *l, size_t n)
{
    return l->chunk && n > l->chunk ? l->chunk : n;
}

static bool host_open(const native_link_t *l)
{
    return !(aloft_native_host_state(l->host) & ALOFT_NATIVE_CLOSED);
}

static bool dev_open(const native_link_t *l)
{
    return !(aloft_native_device_state(l->dev) & ALOFT_NATIVE_CLOSED);
}

void native_link_push_raw(native_link_t *l, const uint8_t *p, size_t n)
{
    while (n > 0 && dev_open(l)) {
        size_t room;
        uint8_t *buf = aloft_native_device_rx_buf(l->dev, &room);
        if (room == 0) {
            if (aloft_native_device_step(l->dev, l->now) == 0)
                return;   /* stuck: the rest is lost */
            continue;
        }
        size_t k = limit(l, n < room ? n : room);
        memcpy(buf, p, k);
        if (l->tap)
            l->tap(l->tap_ctx, true, buf, k);
        l->up += k;
        aloft_native_device_rx_ack(l->dev, l->now, k);
        p += k;
        n -= k;
    }
}

static bool move_up(native_link_t *l)
{
    size_t n, room;
    const uint8_t *p = aloft_native_host_tx_buf(l->host, &n);
    uint8_t *buf = aloft_native_device_rx_buf(l->dev, &room);
    if (l->hold_up || n == 0 || room == 0 || !dev_open(l))
        return false;
    size_t k = limit(l, n < room ? n : room);
    memcpy(buf, p, k);
    aloft_native_host_tx_ack(l->host, k);
    if (l->tap)
        l->tap(l->tap_ctx, true, buf, k);
    l->up += k;
    aloft_native_device_rx_ack(l->dev, l->now, k);
    return true;
}

static bool move_down(native_link_t *l)
{
    size_t n, room;
    const uint8_t *p = aloft_native_device_tx_buf(l->dev, &n);
    uint8_t *buf = aloft_native_host_rx_buf(l->host, &room);
    if (l->hold_down || n == 0)
        return false;
    if (!host_open(l)) {   /* nobody reads any more */
        aloft_native_device_tx_ack(l->dev, n);
        return true;
    }
    if (room == 0)
        return false;
    size_t k = limit(l, n < room ? n : room);
    memcpy(buf, p, k);
    aloft_native_device_tx_ack(l->dev, k);
    if (l->tap)
        l->tap(l->tap_ctx, false, buf, k);
    l->down += k;
    aloft_native_host_rx_ack(l->host, l->now, k);
    return true;
}

bool native_link_pump(native_link_t *l)
{
    bool did = false;
    if (!l->hold_up && aloft_native_host_step(l->host, l->now) > 0)
        did = true;
    did |= move_up(l);
    if (!l->dev_manual && aloft_native_device_step(l->dev, l->now) > 0)
        did = true;
    did |= move_down(l);
    /* A side that closed (and sent what it had) closes the connection. */
    unsigned ds = aloft_native_device_state(l->dev);
    if ((ds & ALOFT_NATIVE_CLOSED) && !(ds & ALOFT_NATIVE_HAS_TX) && !l->hold_down &&
        host_open(l)) {
        aloft_native_host_peer_closed(l->host, l->now);
        did = true;
    }
    if (!host_open(l) && dev_open(l) && !l->hold_up) {
        aloft_native_device_peer_closed(l->dev, l->now);
        did = true;
    }
    return did;
}

void native_link_run(native_link_t *l)
{
    while (native_link_pump(l))
        ;
}

void native_link_tick(native_link_t *l, uint32_t ms)
{
    l->now += ms;
    aloft_native_device_tick(l->dev, l->now);
    aloft_native_host_tick(l->host, l->now);
}

void native_link_drop(native_link_t *l)
{
    aloft_native_host_peer_closed(l->host, l->now);
    aloft_native_device_peer_closed(l->dev, l->now);
}

int native_link_inject(native_link_t *l, const aloft_native_msg_t *m)
{
    static uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_host_t *h = l->host;
    int n = aloft_native_encode(m, h->cfg.crypto->sha256, h->keyed ? h->key : NULL, 'H',
                                h->tx_seq, frame, sizeof frame);
    if (n < 0)
        return n;
    if (h->keyed)
        h->tx_seq++;
    native_link_push_raw(l, frame, (size_t)n);
    return n;
}

bool native_frames_byte(native_frames_t *f, uint8_t b)
{
    f->cur[f->pos++] = b;
    if (f->pos == ALOFT_NATIVE_HEADER_LEN) {
        uint8_t t = f->cur[0];
        bool mac = f->dir == 'H' ? t != ALOFT_MSG_AUTH
                                 : t != ALOFT_MSG_HELLO && t != ALOFT_MSG_AUTH_OK;
        f->len = ALOFT_NATIVE_HEADER_LEN + (size_t)(f->cur[2] | f->cur[3] << 8) +
                 (mac ? ALOFT_NATIVE_MAC_LEN : 0);
        if (f->len > sizeof f->cur)
            f->len = sizeof f->cur;   /* a header no peer sends: read it as the largest */
    }
    if (f->pos < ALOFT_NATIVE_HEADER_LEN || f->pos < f->len)
        return false;
    memcpy(f->last, f->cur, f->len);
    f->last_len = f->len;
    f->count++;
    f->data += f->cur[0] == ALOFT_MSG_DATA;
    f->pos = f->len = 0;
    return true;
}
