/*
 * lib/native_host_login.c — the host engine up to a keyed session
 * (docs/PROTOCOL.md §2.3-2.4): the HELLO checked and kept, the keys from
 * the password (derived once per salt, cached by the caller), AUTH with a
 * fresh nonce, AUTH_OK's signature checked, or the open device's zero key.
 */
#include <string.h>

#include "aloft/error.h"
#include "native_host_int.h"

static bool have_password(const aloft_native_host_t *h)
{
    return h->cfg.password != NULL && h->cfg.password[0] != '\0';
}

static bool keys_match(const aloft_native_keys_t *k, const aloft_native_hello_t *hello)
{
    return k != NULL && k->valid && k->iterations == hello->kdf_iterations &&
           memcmp(k->salt, hello->salt, sizeof k->salt) == 0;
}

/* The HELLO shows an interrupted transfer of the image this session offers. */
static bool resumes_this(const aloft_native_host_t *h)
{
    const aloft_native_hello_t *m = &h->hello;
    return h->cfg.op == ALOFT_NATIVE_OP_UPLOAD && m->has_resume && m->resume_size == h->cfg.size &&
           m->resume_target == h->cfg.target &&
           memcmp(m->resume_sha256, h->cfg.sha256, sizeof m->resume_sha256) == 0;
}

/* auth_message = SHA-256(HELLO payload || host nonce): the HELLO part was
 * hashed when it arrived. */
static void auth_message(aloft_native_host_t *h, const uint8_t nonce[32])
{
    aloft_nh_sha(h)->update(&h->hello_hash, nonce, ALOFT_NATIVE_NONCE_LEN);
    aloft_nh_sha(h)->finish(&h->hello_hash, h->auth_message);
}

/* A device without a password: the MAC key comes from a zero client key
 * and a zero host nonce (no AUTH is sent), so both sides can compute it. */
static void key_open_device(aloft_native_host_t *h)
{
    static const uint8_t zero[32];
    aloft_native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ALOFT_NATIVE_EV_OPEN;
    ev.password_unused = have_password(h);
    aloft_nh_emit(h, &ev);
    auth_message(h, zero);
    aloft_native_session_key(aloft_nh_sha(h), zero, h->auth_message, h->key);
    h->keyed = true;
    aloft_nh_next_request(h);
}

static void after_hello(aloft_native_host_t *h)
{
    const aloft_native_hello_t *m = &h->hello;
    bool wants = (m->caps & ALOFT_CAP_AUTH) != 0;
    bool can = have_password(h) || (h->cfg.keys && h->cfg.keys->valid);
    if (h->cfg.op == ALOFT_NATIVE_OP_INFO && !(wants && can)) {
        aloft_nh_done(h);   /* the HELLO is all it needs */
    } else if (!wants) {
        key_open_device(h);
    } else if (!can) {
        aloft_nh_fail(h, ALOFT_ERR_AUTH, ALOFT_NATIVE_WHY_NEED_PASSWORD, 0, 0);
    } else if (m->kdf_iterations == 0 || m->kdf_iterations > ALOFT_NATIVE_HOST_MAX_ITERATIONS) {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_ITERATIONS, m->kdf_iterations,
                ALOFT_NATIVE_HOST_MAX_ITERATIONS);
    } else {
        h->phase = ALOFT_NATIVE_PH_LOGIN;
        h->to_send = true;
    }
}

void aloft_nh_on_hello(aloft_native_host_t *h, const aloft_native_hello_t *hello,
                       const uint8_t *payload, size_t len)
{
    aloft_native_event_t ev;
    if (hello->max_payload < ALOFT_NATIVE_HOST_MIN_PAYLOAD ||
        hello->max_payload > ALOFT_NATIVE_MAX_PAYLOAD || hello->window == 0) {
        aloft_nh_fail(h, ALOFT_ERR_PROTO, ALOFT_NATIVE_WHY_BAD_HELLO, hello->max_payload,
                      hello->window);
        return;
    }
    if (aloft_hash_init(aloft_nh_sha(h), &h->hello_hash) != 0) {
        aloft_nh_fail(h, ALOFT_ERR_CRYPTO, ALOFT_NATIVE_WHY_CRYPTO, 0, 0);
        return;
    }
    aloft_nh_sha(h)->update(&h->hello_hash, payload, len);
    h->hello = *hello;
    h->have_hello = true;
    h->resumable = resumes_this(h);
    memset(&ev, 0, sizeof ev);
    ev.kind = ALOFT_NATIVE_EV_HELLO;
    ev.resumable = h->resumable;
    aloft_nh_emit(h, &ev);
    after_hello(h);
}

/* client_key and server_key: the caller's cache when it was derived for
 * this salt, else from the password (slow: a step of its own, so that the
 * login's wait starts once AUTH goes out). Returns 1 when they are ready
 * now, 0 when this step derived them, or an error. */
static int login_keys(aloft_native_host_t *h)
{
    aloft_native_keys_t *k = h->cfg.keys;
    const aloft_native_hello_t *m = &h->hello;
    aloft_native_verifier_t v;
    if (keys_match(k, m)) {
        memcpy(h->client_key, k->client_key, sizeof h->client_key);
        memcpy(h->server_key, k->server_key, sizeof h->server_key);
        return 1;
    }
    if (!have_password(h)) {
        aloft_nh_fail(h, ALOFT_ERR_AUTH, ALOFT_NATIVE_WHY_STALE_KEYS, m->kdf_iterations,
                k ? k->iterations : 0);
        return ALOFT_ERR_AUTH;
    }
    int err = aloft_native_derive(h->cfg.crypto, h->cfg.password, m->salt, m->kdf_iterations, &v,
                                  h->client_key);
    if (err) {
        aloft_nh_fail(h, ALOFT_ERR_CRYPTO, ALOFT_NATIVE_WHY_CRYPTO, 0, 1);
        return err;
    }
    memcpy(h->server_key, v.server_key, sizeof h->server_key);
    memset(&v, 0, sizeof v);
    if (k) {
        memcpy(k->salt, m->salt, sizeof k->salt);
        k->iterations = m->kdf_iterations;
        memcpy(k->client_key, h->client_key, sizeof k->client_key);
        memcpy(k->server_key, h->server_key, sizeof k->server_key);
        k->valid = true;
        return 0;
    }
    return 1;   /* no cache to come back to: go on at once */
}

int aloft_nh_send_auth(aloft_native_host_t *h)
{
    const aloft_crypto_t *c = h->cfg.crypto;
    aloft_native_msg_t m;
    int ready = login_keys(h);
    if (ready <= 0)
        return 1;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_AUTH;
    if (c->random(c->ctx, m.u.auth.nonce, sizeof m.u.auth.nonce) != 0) {
        aloft_nh_fail(h, ALOFT_ERR_CRYPTO, ALOFT_NATIVE_WHY_CRYPTO, 0, 0);
        return 1;
    }
    auth_message(h, m.u.auth.nonce);
    aloft_native_client_proof(aloft_nh_sha(h), h->client_key, h->auth_message, m.u.auth.proof);
    if (aloft_nh_queue(h, &m) == 0) {
        h->to_send = false;
        aloft_nh_wait(h, ALOFT_NATIVE_PH_LOGIN);
    }
    return 1;
}

void aloft_nh_on_auth_ok(aloft_native_host_t *h, const uint8_t signature[32])
{
    aloft_native_event_t ev;
    if (aloft_native_host_keys(aloft_nh_sha(h), h->server_key, h->client_key, h->auth_message,
                               signature, h->key) != 0) {
        aloft_nh_fail(h, ALOFT_ERR_AUTH, ALOFT_NATIVE_WHY_IMPOSTOR, 0, 0);
        return;
    }
    h->keyed = true;
    memset(&ev, 0, sizeof ev);
    ev.kind = ALOFT_NATIVE_EV_AUTH_OK;
    aloft_nh_emit(h, &ev);
    aloft_nh_next_request(h);
}
