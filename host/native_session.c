/*
 * host/native_session.c — one connection of the native uploader,
 * up to a keyed session: connect, HELLO, login (docs/PROTOCOL.md §2.1-2.4;
 * the plan is in native_host.h). The transfer on it is native_transfer.c.
 *
 * Every failure leaves a message and a hint in run->r->error. Failures a
 * new connection may heal (the link dropped, went silent, or mangled a
 * frame; the device is still busy with our previous connection) set
 * s->retryable and a short reason as the hint, for the "connection lost"
 * line. Failures that mean "this is no aloft device" set s->not_native.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto_mbedtls.h"
#include "host_net.h"
#include "native_host_priv.h"

static const aloft_crypto_t *const crypto = &aloft_mbedtls_crypto;

/* The smallest max_payload that carries every message the host sends
 * (an unsigned OFFER: 3 + 4 + 32 + 33 + 33 + 4 + 1 = 110 bytes; a signed
 * one, up to 224 more, is checked when it is sent) and a useful DATA frame. */
#define MIN_MAX_PAYLOAD 128u

void native_emit(const native_run_t *run, const native_event_t *ev)
{
    const native_upload_t *u = run->u;
    if (u && u->on_event)
        u->on_event(u->ctx, ev);
}

void native_emit_simple(native_session_t *s, native_event_kind_t kind, const char *text)
{
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.text = text ? text : "";
    ev.hello = &s->hello;
    native_emit(s->run, &ev);
}

host_error_t *native_err(native_session_t *s)
{
    return &s->run->r->error;
}

int native_retry_later(native_session_t *s, int code, const char *message, const char *why_fmt,
                       ...)
{
    va_list ap;
    char why[256];
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof why, why_fmt, ap);
    va_end(ap);
    s->retryable = true;
    return host_error_set(native_err(s), code, message, "%s", why);
}

/* The socket's reason, for "connection reset (...)". */
const char *native_closed_why(const native_conn_t *c)
{
    return c->sock_errno ? strerror(c->sock_errno) : "the device closed the connection";
}

/* ---- connecting and HELLO --------------------------------------------- */

static int connect_device(native_session_t *s)
{
    native_run_t *run = s->run;
    const char *addr = run->r->device_addr;
    bool refused = false;
    int err = native_conn_open(&s->c, &run->addr, run->connect_ms, &refused);
    s->retryable = err != ALOFT_OK;   /* a device may be rebooting, or the Wi-Fi back soon */
    if (err == ALOFT_ERR_TIMEOUT)
        return host_error_set(native_err(s), ALOFT_ERR_TIMEOUT, "the device did not answer",
                              "no answer from %s (TCP) within %u s: the device is off or on "
                              "another network, the address is wrong, or a firewall drops TCP "
                              "port %u", addr, (unsigned)(run->connect_ms / 1000), run->port);
    if (refused) {
        char what[48];
        snprintf(what, sizeof what, "nothing listens on TCP port %u", (unsigned)run->port);
        s->not_native = true;
        return host_error_set(native_err(s), ALOFT_ERR_CONNECT, what,
                              "%s refused the connection: the device runs no aloft native "
                              "server (try --protocol espota) or the port is wrong", addr);
    }
    if (err)
        return host_error_set(native_err(s), ALOFT_ERR_CONNECT, "cannot connect to the device",
                              "connecting to %s failed (%s); check the address and this "
                              "computer's network connection", addr, strerror(s->c.sock_errno));
    native_emit_simple(s, NATIVE_EV_CONNECTED, addr);
    return ALOFT_OK;
}

/* Wait until the first bytes tell what is there: at least a frame
 * header, the magic and the version (every frame a device may send first
 * is longer than that). Returns 0 or an error code. */
static int first_bytes(native_session_t *s, uint64_t deadline)
{
    native_conn_t *c = &s->c;
    const native_run_t *run = s->run;
    while (c->rx_len < ALOFT_NATIVE_HEADER_LEN + 5 && !c->eof) {
        struct pollfd p = {c->fd, POLLIN, 0};
        int ms = host_remaining_ms(deadline);
        if (ms == 0)
            break;
        if (poll(&p, 1, ms) > 0)
            native_conn_read(c);
    }
    if (c->rx_len >= ALOFT_NATIVE_HEADER_LEN + 5)
        return ALOFT_OK;
    s->not_native = s->retryable = true;
    if (c->eof)
        return host_error_set(native_err(s), ALOFT_ERR_CLOSED,
                              "the device closed the connection without a HELLO",
                              "%s accepts TCP connections but closes them: it is not an aloft "
                              "native server (try --protocol espota), or it is serving other "
                              "hosts; try again", run->r->device_addr);
    return host_error_set(native_err(s), ALOFT_ERR_TIMEOUT, "no HELLO from the device",
                          "%s accepted the connection but said nothing within %u s: it is not "
                          "an aloft device (try --protocol espota) or the port is wrong",
                          run->r->device_addr, (unsigned)((run->hello_ms + 999) / 1000));
}

static int not_aloft(native_session_t *s)
{
    s->not_native = true;
    return host_error_set(native_err(s), ALOFT_ERR_PROTO,
                          "the device does not speak the aloft native protocol",
                          "%s answered with something other than an aloft HELLO: another "
                          "service listens on TCP port %u (try --protocol espota, or the right "
                          "port)", s->run->r->device_addr, s->run->port);
}

/* Tell another protocol version apart from garbage before decoding. */
static int check_first_frame(native_session_t *s)
{
    const uint8_t *b = s->c.rx;
    if (b[0] == ALOFT_MSG_ERROR)
        return ALOFT_OK;   /* a refusal before HELLO, e.g. the device's RNG failed */
    if (b[0] != ALOFT_MSG_HELLO || memcmp(b + ALOFT_NATIVE_HEADER_LEN, ALOFT_NATIVE_MAGIC, 4) != 0)
        return not_aloft(s);
    unsigned version = b[ALOFT_NATIVE_HEADER_LEN + 4];
    if (version != ALOFT_NATIVE_VERSION)
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "protocol version mismatch",
                              "the device speaks aloft native protocol version %u, this aloft "
                              "speaks version %u: update aloft (or the device's firmware) so "
                              "that both speak the same version, or use --protocol espota",
                              version, ALOFT_NATIVE_VERSION);
    return ALOFT_OK;
}

static int check_hello(native_session_t *s)
{
    const aloft_native_hello_t *h = &s->hello;
    if (h->max_payload < MIN_MAX_PAYLOAD || h->max_payload > ALOFT_NATIVE_MAX_PAYLOAD ||
        h->window == 0)
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "unusable HELLO from the device",
                              "it announces frames of at most %u bytes and a window of %u bytes "
                              "(need %u..%u and at least 1); its firmware does not follow the "
                              "protocol", (unsigned)h->max_payload, (unsigned)h->window,
                              MIN_MAX_PAYLOAD, ALOFT_NATIVE_MAX_PAYLOAD);
    return ALOFT_OK;
}

static int read_hello(native_session_t *s)
{
    native_conn_t *c = &s->c;
    aloft_native_msg_t m;
    uint64_t deadline = host_now_ms() + s->run->hello_ms;
    int err = first_bytes(s, deadline);
    if (!err)
        err = check_first_frame(s);
    if (err)
        return err;
    /* A HELLO with 4 slots is ~730 bytes: more time only for slow links. */
    int got = native_conn_recv(c, &m, deadline + s->run->timeout_ms);
    if (got == ALOFT_ERR_PROTO)
        return not_aloft(s);
    if (got < 0)
        return native_retry_later(s, got, "no complete HELLO from the device", "%s",
                           got == ALOFT_ERR_TIMEOUT ? "its HELLO stopped halfway"
                                                    : native_closed_why(c));
    if (m.type == ALOFT_MSG_ERROR) {
        s->retryable = m.u.error.code == ALOFT_ERR_BUSY;
        return native_explain_error(native_err(s), &m.u.error, false);
    }
    if (m.type != ALOFT_MSG_HELLO)
        return not_aloft(s);
    s->hello = m.u.hello;
    s->hello_len = c->frame_len - ALOFT_NATIVE_HEADER_LEN;
    memcpy(s->hello_payload, c->frame + ALOFT_NATIVE_HEADER_LEN, s->hello_len);
    if ((err = check_hello(s)) != 0)
        return err;
    c->max_payload = s->hello.max_payload;
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = NATIVE_EV_HELLO;
    ev.text = s->hello.name.s;
    ev.hello = &s->hello;
    native_emit(s->run, &ev);
    return ALOFT_OK;
}

/* ---- login ------------------------------------------------------------ */

static bool have_password(const native_run_t *run)
{
    return run->peer->password != NULL && run->peer->password[0] != '\0';
}

/* client_key and server_key from the password, derived once per salt. */
static int password_keys(native_session_t *s)
{
    native_run_t *run = s->run;
    const aloft_native_hello_t *h = &s->hello;
    aloft_native_verifier_t v;
    if (h->kdf_iterations == 0 || h->kdf_iterations > NATIVE_HOST_MAX_ITERATIONS)
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "unusable HELLO from the device",
                              "it asks for %u PBKDF2 iterations (this aloft does 1 to %u); its "
                              "firmware does not follow the protocol", (unsigned)h->kdf_iterations,
                              NATIVE_HOST_MAX_ITERATIONS);
    if (run->have_keys && run->key_iterations == h->kdf_iterations &&
        memcmp(run->key_salt, h->salt, sizeof h->salt) == 0)
        return ALOFT_OK;
    if (aloft_native_derive(crypto, run->peer->password, h->salt, h->kdf_iterations, &v,
                            run->client_key) != 0)
        return host_error_set(native_err(s), ALOFT_ERR_CRYPTO, "crypto failure",
                              "deriving the keys from the password failed");
    memcpy(run->server_key, v.server_key, sizeof v.server_key);
    memcpy(run->key_salt, h->salt, sizeof h->salt);
    run->key_iterations = h->kdf_iterations;
    run->have_keys = true;
    memset(&v, 0, sizeof v);
    return ALOFT_OK;
}

static int login_answer(native_session_t *s, const uint8_t auth_message[32])
{
    native_run_t *run = s->run;
    aloft_native_msg_t m;
    int got = native_conn_recv(&s->c, &m, host_now_ms() + run->timeout_ms);
    if (got < 0 && got != ALOFT_ERR_PROTO && got != ALOFT_ERR_AUTH)
        return native_retry_later(s, got, "no answer to the login", "%s",
                           got == ALOFT_ERR_TIMEOUT ? "no answer to the login" : native_closed_why(&s->c));
    if (got < 0 || (m.type != ALOFT_MSG_AUTH_OK && m.type != ALOFT_MSG_ERROR))
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "unexpected answer to the login",
                              "the device answered AUTH with something other than AUTH_OK or "
                              "ERROR; its firmware does not follow the protocol");
    if (m.type == ALOFT_MSG_ERROR)
        return native_explain_error(native_err(s), &m.u.error, true);
    if (aloft_native_host_keys(crypto->sha256, run->server_key, run->client_key, auth_message,
                               m.u.auth_ok_signature, s->c.key) != 0)
        return host_error_set(native_err(s), ALOFT_ERR_AUTH,
                              "the device could not prove it knows the password",
                              "its login signature does not match: this is not the device the "
                              "password belongs to (another device at %s, or someone in "
                              "between), or it was provisioned with another password; nothing "
                              "was sent to it", run->r->device_addr);
    return ALOFT_OK;
}

static int login(native_session_t *s)
{
    native_run_t *run = s->run;
    aloft_native_msg_t m;
    uint8_t auth_message[32];
    int err = password_keys(s);
    if (err)
        return err;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_AUTH;
    if (crypto->random(crypto->ctx, m.u.auth.nonce, sizeof m.u.auth.nonce) != 0)
        return host_error_set(native_err(s), ALOFT_ERR_CRYPTO, "crypto failure",
                              "this computer's random generator failed");
    aloft_native_auth_message(crypto->sha256, s->hello_payload, s->hello_len, m.u.auth.nonce,
                              auth_message);
    aloft_native_client_proof(crypto->sha256, run->client_key, auth_message, m.u.auth.proof);
    err = native_conn_queue(&s->c, &m);
    if (!err && (err = native_conn_flush(&s->c, host_now_ms() + run->timeout_ms)) != 0)
        return native_retry_later(s, err, "the login could not be sent", "%s", native_closed_why(&s->c));
    if (!err)
        err = login_answer(s, auth_message);
    if (err)
        return err;
    s->c.keyed = s->authenticated = true;
    native_emit_simple(s, NATIVE_EV_AUTH_OK, NULL);
    return ALOFT_OK;
}

/* A device without a password: the MAC key comes from a zero client key
 * and a zero host nonce (no AUTH is sent), so both sides can compute it. */
static void key_open_device(native_session_t *s)
{
    uint8_t zero[32], auth_message[32];
    memset(zero, 0, sizeof zero);
    aloft_native_auth_message(crypto->sha256, s->hello_payload, s->hello_len, zero, auth_message);
    aloft_native_session_key(crypto->sha256, zero, auth_message, s->c.key);
    s->c.keyed = true;
}

static int secure(native_session_t *s)
{
    native_run_t *run = s->run;
    bool wants = (s->hello.caps & ALOFT_CAP_AUTH) != 0;
    if (run->u == NULL && !run->command && !(wants && have_password(run)))
        return ALOFT_OK;   /* info: the HELLO is all we need */
    if (wants && !have_password(run))
        return host_error_set(native_err(s), ALOFT_ERR_AUTH, "the device requires a password",
                              "pass its OTA password (the one it was provisioned with) with "
                              "--auth PASS");
    if (wants)
        return login(s);
    if (!run->warned_open)
        native_emit_simple(s, have_password(run) ? NATIVE_EV_PASSWORD_UNUSED : NATIVE_EV_OPEN_DEVICE,
                    NULL);
    run->warned_open = true;
    key_open_device(s);
    return ALOFT_OK;
}

int native_session_open(native_session_t *s, native_run_t *run)
{
    memset(s, 0, sizeof *s);
    s->run = run;
    s->c.fd = -1;
    s->c.sha256 = crypto->sha256;
    s->c.max_payload = ALOFT_NATIVE_MAX_PAYLOAD;
    int err = connect_device(s);
    if (!err)
        err = read_hello(s);
    if (!err) {
        s->retryable = s->not_native = false;
        err = secure(s);
    }
    return err;
}

void native_session_close(native_session_t *s)
{
    native_conn_close(&s->c);
}
