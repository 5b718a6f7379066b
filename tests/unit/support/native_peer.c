/* tests/unit/support/native_peer.c — see native_peer.h. */
#include "native_peer.h"

#include <string.h>

#include "crypto_mbedtls.h"

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;

int npeer_connect(native_peer_t *p, const aloft_native_device_config_t *cfg, uint32_t ip,
                  uint32_t now_ms)
{
    aloft_native_msg_t m;
    int err = aloft_native_device_init(&p->d, cfg, ip, now_ms);
    p->hello_len = 0;
    if (err)
        return err;
    size_t n;
    const uint8_t *tx = aloft_native_device_tx_buf(&p->d, &n);
    int len = aloft_native_frame_len(tx, n, false, ALOFT_NATIVE_MAX_PAYLOAD);
    if (len <= 0 || aloft_native_decode(tx, (size_t)len, SHA, NULL, 'D', 0, &m) != 0 ||
        m.type != ALOFT_MSG_HELLO)
        return ALOFT_ERR_PROTO;
    p->hello_len = (size_t)len - ALOFT_NATIVE_HEADER_LEN;
    memcpy(p->hello, tx + ALOFT_NATIVE_HEADER_LEN, p->hello_len);
    aloft_native_device_tx_ack(&p->d, (size_t)len);
    return ALOFT_OK;
}

void npeer_push(native_peer_t *p, const void *bytes, size_t n, uint32_t now_ms)
{
    const uint8_t *b = bytes;
    while (n > 0) {
        size_t space;
        uint8_t *buf = aloft_native_device_rx_buf(&p->d, &space);
        if (space == 0)
            return;
        size_t k = n < space ? n : space;
        memcpy(buf, b, k);
        aloft_native_device_rx_ack(&p->d, now_ms, k);
        b += k;
        n -= k;
    }
}

void npeer_auth(native_peer_t *p, const uint8_t client_key[32], uint32_t now_ms)
{
    aloft_native_msg_t m;
    uint8_t am[32], frame[128];
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_AUTH;
    memset(m.u.auth.nonce, 0x5a, sizeof m.u.auth.nonce);
    aloft_native_auth_message(SHA, p->hello, p->hello_len, m.u.auth.nonce, am);
    aloft_native_client_proof(SHA, client_key, am, m.u.auth.proof);
    int n = aloft_native_encode(&m, SHA, NULL, 'H', 0, frame, sizeof frame);
    if (n > 0)
        npeer_push(p, frame, (size_t)n, now_ms);
}

int npeer_reply(native_peer_t *p, aloft_native_msg_t *m)
{
    size_t n;
    const uint8_t *tx = aloft_native_device_tx_buf(&p->d, &n);
    int len = aloft_native_frame_len(tx, n, false, ALOFT_NATIVE_MAX_PAYLOAD);
    if (len <= 0 || aloft_native_decode(tx, (size_t)len, SHA, NULL, 'D', 0, m) != 0)
        return 0;
    aloft_native_device_tx_ack(&p->d, (size_t)len);
    return m->type;
}

int npeer_login(native_peer_t *p, const aloft_native_device_config_t *cfg, uint32_t ip,
                const uint8_t client_key[32], uint32_t now_ms, uint32_t *have)
{
    aloft_native_msg_t m;
    int err = npeer_connect(p, cfg, ip, now_ms);
    if (err)
        return err;
    npeer_auth(p, client_key, now_ms);
    int type = npeer_reply(p, &m);
    if (have)
        *have = type == ALOFT_MSG_ERROR ? m.u.error.have : 0;
    aloft_native_device_peer_closed(&p->d, now_ms);
    return type == ALOFT_MSG_AUTH_OK ? 0 : type == ALOFT_MSG_ERROR ? m.u.error.code
                                                                   : ALOFT_ERR_PROTO;
}
