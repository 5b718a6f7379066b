/*
 * lib/native_auth.c — the native protocol's login: SCRAM-SHA-256 roles
 * (RFC 5802) over one round trip, plus the session key (see aloft/native.h).
 *
 * Why this shape: the device keeps only stored_key and server_key, so
 * reading its flash does not give the password nor a way to log in as a
 * host (that needs client_key); the host proves it knows client_key without
 * sending it; the device proves it knows server_key (mutual); both proofs
 * and the session key are bound to the device's fresh nonce and the whole
 * HELLO, so nothing can be replayed into another session.
 */
#include <string.h>

#include "aloft/util.h"
#include "aloft/error.h"
#include "aloft/wire/espota.h"
#include "hmac.h"
#include "aloft/wire/native.h"

int aloft_native_derive(const aloft_crypto_t *c, const char *password,
                        const uint8_t salt[ALOFT_NATIVE_SALT_LEN], uint32_t iterations,
                        aloft_native_verifier_t *v, uint8_t client_key[32])
{
    uint8_t salted[32], ck[32];
    if (c == NULL || c->pbkdf2_sha256 == NULL || iterations == 0)
        return ALOFT_ERR_ARG;
    int err = c->pbkdf2_sha256(c->ctx, password, strlen(password), salt, ALOFT_NATIVE_SALT_LEN,
                               iterations, salted, sizeof salted);
    if (!err)
        err = aloft_hmac(c->sha256, salted, sizeof salted, "Client Key", 10, ck);
    if (!err)
        err = aloft_hmac(c->sha256, salted, sizeof salted, "Server Key", 10, v->server_key);
    if (!err)
        err = aloft_hash_oneshot(c->sha256, ck, sizeof ck, v->stored_key);
    memcpy(v->salt, salt, ALOFT_NATIVE_SALT_LEN);
    v->iterations = iterations;
    if (!err && client_key)
        memcpy(client_key, ck, sizeof ck);
    memset(salted, 0, sizeof salted);
    memset(ck, 0, sizeof ck);
    return err ? ALOFT_ERR_CRYPTO : ALOFT_OK;
}

int aloft_native_auth_message(const aloft_hash_alg_t *sha256, const uint8_t *hello_payload,
                              size_t hello_len, const uint8_t host_nonce[32], uint8_t out[32])
{
    aloft_hash_ctx_t h;
    int err = aloft_hash_init(sha256, &h);
    if (err)
        return err;
    sha256->update(&h, hello_payload, hello_len);
    sha256->update(&h, host_nonce, ALOFT_NATIVE_NONCE_LEN);
    sha256->finish(&h, out);
    return ALOFT_OK;
}

void aloft_native_client_proof(const aloft_hash_alg_t *sha256, const uint8_t client_key[32],
                               const uint8_t auth_message[32], uint8_t proof[32])
{
    uint8_t stored[32], sig[32];
    aloft_hash_oneshot(sha256, client_key, 32, stored);
    aloft_hmac(sha256, stored, sizeof stored, auth_message, 32, sig);
    for (int i = 0; i < 32; i++)
        proof[i] = (uint8_t)(client_key[i] ^ sig[i]);
}

void aloft_native_session_key(const aloft_hash_alg_t *sha256, const uint8_t client_key[32],
                              const uint8_t auth_message[32], uint8_t session_key[32])
{
    aloft_hmac_t h;
    aloft_hmac_init(&h, sha256, client_key, 32);
    aloft_hmac_update(&h, "aloft session", 13);
    aloft_hmac_update(&h, auth_message, 32);
    aloft_hmac_final(&h, session_key);
}

int aloft_native_verify_proof(const aloft_hash_alg_t *sha256, const aloft_native_verifier_t *v,
                              const uint8_t auth_message[32], const uint8_t proof[32],
                              uint8_t session_key[32], uint8_t signature[32])
{
    uint8_t sig[32], client_key[32], stored[32];
    aloft_hmac(sha256, v->stored_key, 32, auth_message, 32, sig);
    for (int i = 0; i < 32; i++)
        client_key[i] = (uint8_t)(proof[i] ^ sig[i]);
    aloft_hash_oneshot(sha256, client_key, 32, stored);
    bool ok = aloft_ct_equal(stored, v->stored_key, 32);
    if (ok) {
        aloft_native_session_key(sha256, client_key, auth_message, session_key);
        aloft_hmac(sha256, v->server_key, 32, auth_message, 32, signature);
    }
    memset(client_key, 0, sizeof client_key);
    return ok ? ALOFT_OK : ALOFT_ERR_AUTH;
}

int aloft_native_host_keys(const aloft_hash_alg_t *sha256, const uint8_t server_key[32],
                           const uint8_t client_key[32], const uint8_t auth_message[32],
                           const uint8_t signature[32], uint8_t session_key[32])
{
    uint8_t want[32];
    aloft_hmac(sha256, server_key, 32, auth_message, 32, want);
    if (!aloft_ct_equal(want, signature, 32))
        return ALOFT_ERR_AUTH;
    aloft_native_session_key(sha256, client_key, auth_message, session_key);
    return ALOFT_OK;
}

void aloft_native_verifier_format(const aloft_native_verifier_t *v, char *out)
{
    char digits[10];
    int n = 0;
    uint32_t it = v->iterations;
    do {
        digits[n++] = (char)('0' + it % 10u);
        it /= 10u;
    } while (it != 0);
    while (n > 0)
        *out++ = digits[--n];
    *out++ = ':';
    aloft_hex(v->salt, sizeof v->salt, out);
    out += 2 * sizeof v->salt;
    *out++ = ':';
    aloft_hex(v->stored_key, sizeof v->stored_key, out);
    out += 2 * sizeof v->stored_key;
    *out++ = ':';
    aloft_hex(v->server_key, sizeof v->server_key, out);
}

int aloft_native_verifier_parse(const char *text, size_t len, aloft_native_verifier_t *v)
{
    enum { SALT_HEX = 2 * ALOFT_NATIVE_SALT_LEN, KEY_HEX = 64 };
    size_t tail = 1 + SALT_HEX + 1 + KEY_HEX + 1 + KEY_HEX;   /* after ITERATIONS */
    uint32_t it = 0;
    size_t i = 0;
    if (text == NULL || len <= tail || len - tail > 8)
        return ALOFT_ERR_ARG;
    for (; i < len - tail; i++) {
        if (text[i] < '0' || text[i] > '9')
            return ALOFT_ERR_ARG;
        it = it * 10u + (uint32_t)(text[i] - '0');   /* at most 8 digits: no overflow */
    }
    const char *p = text + i;
    if (it == 0 || it > 10000000u || p[0] != ':' || p[1 + SALT_HEX] != ':' ||
        p[2 + SALT_HEX + KEY_HEX] != ':' ||
        !aloft_unhex(p + 1, SALT_HEX, v->salt, sizeof v->salt) ||
        !aloft_unhex(p + 2 + SALT_HEX, KEY_HEX, v->stored_key, sizeof v->stored_key) ||
        !aloft_unhex(p + 3 + SALT_HEX + KEY_HEX, KEY_HEX, v->server_key, sizeof v->server_key))
        return ALOFT_ERR_ARG;
    v->iterations = it;
    return ALOFT_OK;
}
