/*
 * tools/common/native_session.c — one connection of the native uploader:
 * connect, HELLO, login, OFFER/ACCEPT, the data phase, END/RESULT
 * (docs/PROTOCOL.md §2; the plan is in native_host.h).
 *
 * Every failure leaves a message and a hint in run->r->error. Failures a
 * new connection may heal (the link dropped, went silent, or mangled a
 * frame; the device is still busy with our previous connection) set
 * s->retryable and a short reason in s->why, for the "connection lost"
 * line. Failures that mean "this is no aloft device" set s->not_native.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto_mbedtls.h"
#include "host_net.h"
#include "native_host_priv.h"
#include "native_stream.h"
#include "progress.h"

static const aloft_crypto_t *const crypto = &aloft_mbedtls_crypto;

/* The smallest max_payload that carries every message the host sends
 * (OFFER: 3 + 4 + 32 + 33 + 33 + 4 = 109 bytes) and a useful DATA frame. */
#define MIN_MAX_PAYLOAD 128u
#define READ_AFTER_FAIL_MS 1000u   /* for the ERROR that explains a broken connection */

void native_emit(const native_run_t *run, const native_event_t *ev)
{
    const native_upload_t *u = run->u;
    if (u && u->on_event)
        u->on_event(u->ctx, ev);
}

static void emit_simple(native_session_t *s, native_event_kind_t kind, const char *text)
{
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.text = text ? text : "";
    ev.hello = &s->hello;
    native_emit(s->run, &ev);
}

static host_error_t *err_of(native_session_t *s)
{
    return &s->run->r->error;
}

/* A failure a reconnect may heal; why is its short reason. */
static int retry_later(native_session_t *s, int code, const char *message, const char *why_fmt,
                       ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int retry_later(native_session_t *s, int code, const char *message, const char *why_fmt,
                       ...)
{
    va_list ap;
    char why[256];
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof why, why_fmt, ap);
    va_end(ap);
    s->retryable = true;
    return host_error_set(err_of(s), code, message, "%s", why);
}

/* The socket's reason, for "connection reset (...)". */
static const char *closed_why(const native_conn_t *c)
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
        return host_error_set(err_of(s), ALOFT_ERR_TIMEOUT, "the device did not answer",
                              "no answer from %s (TCP) within %u s: the device is off or on "
                              "another network, the address is wrong, or a firewall drops TCP "
                              "port %u", addr, (unsigned)(run->connect_ms / 1000), run->port);
    if (refused) {
        char what[48];
        snprintf(what, sizeof what, "nothing listens on TCP port %u", (unsigned)run->port);
        s->not_native = true;
        return host_error_set(err_of(s), ALOFT_ERR_CONNECT, what,
                              "%s refused the connection: the device runs no aloft native "
                              "server (try --protocol espota) or the port is wrong", addr);
    }
    if (err)
        return host_error_set(err_of(s), ALOFT_ERR_CONNECT, "cannot connect to the device",
                              "connecting to %s failed (%s); check the address and this "
                              "computer's network connection", addr, strerror(s->c.sock_errno));
    emit_simple(s, NATIVE_EV_CONNECTED, addr);
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
        return host_error_set(err_of(s), ALOFT_ERR_CLOSED,
                              "the device closed the connection without a HELLO",
                              "%s accepts TCP connections but closes them: it is not an aloft "
                              "native server (try --protocol espota), or it is serving other "
                              "hosts; try again", run->r->device_addr);
    return host_error_set(err_of(s), ALOFT_ERR_TIMEOUT, "no HELLO from the device",
                          "%s accepted the connection but said nothing within %u s: it is not "
                          "an aloft device (try --protocol espota) or the port is wrong",
                          run->r->device_addr, (unsigned)((run->hello_ms + 999) / 1000));
}

static int not_aloft(native_session_t *s)
{
    s->not_native = true;
    return host_error_set(err_of(s), ALOFT_ERR_PROTO,
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
        return host_error_set(err_of(s), ALOFT_ERR_PROTO, "protocol version mismatch",
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
        return host_error_set(err_of(s), ALOFT_ERR_PROTO, "unusable HELLO from the device",
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
        return retry_later(s, got, "no complete HELLO from the device", "%s",
                           got == ALOFT_ERR_TIMEOUT ? "its HELLO stopped halfway"
                                                    : closed_why(c));
    if (m.type == ALOFT_MSG_ERROR) {
        s->retryable = m.u.error.code == ALOFT_ERR_BUSY;
        return native_explain_error(err_of(s), &m.u.error, false);
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
        return host_error_set(err_of(s), ALOFT_ERR_PROTO, "unusable HELLO from the device",
                              "it asks for %u PBKDF2 iterations (this aloft does 1 to %u); its "
                              "firmware does not follow the protocol", (unsigned)h->kdf_iterations,
                              NATIVE_HOST_MAX_ITERATIONS);
    if (run->have_keys && run->key_iterations == h->kdf_iterations &&
        memcmp(run->key_salt, h->salt, sizeof h->salt) == 0)
        return ALOFT_OK;
    if (aloft_native_derive(crypto, run->peer->password, h->salt, h->kdf_iterations, &v,
                            run->client_key) != 0)
        return host_error_set(err_of(s), ALOFT_ERR_CRYPTO, "crypto failure",
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
        return retry_later(s, got, "no answer to the login", "%s",
                           got == ALOFT_ERR_TIMEOUT ? "no answer to the login" : closed_why(&s->c));
    if (got < 0 || (m.type != ALOFT_MSG_AUTH_OK && m.type != ALOFT_MSG_ERROR))
        return host_error_set(err_of(s), ALOFT_ERR_PROTO, "unexpected answer to the login",
                              "the device answered AUTH with something other than AUTH_OK or "
                              "ERROR; its firmware does not follow the protocol");
    if (m.type == ALOFT_MSG_ERROR)
        return native_explain_error(err_of(s), &m.u.error, true);
    if (aloft_native_host_keys(crypto->sha256, run->server_key, run->client_key, auth_message,
                               m.u.auth_ok_signature, s->c.key) != 0)
        return host_error_set(err_of(s), ALOFT_ERR_AUTH,
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
    if (crypto->random(m.u.auth.nonce, sizeof m.u.auth.nonce) != 0)
        return host_error_set(err_of(s), ALOFT_ERR_CRYPTO, "crypto failure",
                              "this computer's random generator failed");
    aloft_native_auth_message(crypto->sha256, s->hello_payload, s->hello_len, m.u.auth.nonce,
                              auth_message);
    aloft_native_client_proof(crypto->sha256, run->client_key, auth_message, m.u.auth.proof);
    err = native_conn_queue(&s->c, &m);
    if (!err && (err = native_conn_flush(&s->c, host_now_ms() + run->timeout_ms)) != 0)
        return retry_later(s, err, "the login could not be sent", "%s", closed_why(&s->c));
    if (!err)
        err = login_answer(s, auth_message);
    if (err)
        return err;
    s->c.keyed = s->authenticated = true;
    emit_simple(s, NATIVE_EV_AUTH_OK, NULL);
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
    if (run->u == NULL && !(wants && have_password(run)))
        return ALOFT_OK;   /* info: the HELLO is all we need */
    if (wants && !have_password(run))
        return host_error_set(err_of(s), ALOFT_ERR_AUTH, "the device requires a password",
                              "pass its OTA password (the one it was provisioned with) with "
                              "--auth PASS");
    if (wants)
        return login(s);
    if (!run->warned_open)
        emit_simple(s, have_password(run) ? NATIVE_EV_PASSWORD_UNUSED : NATIVE_EV_OPEN_DEVICE,
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

/* ---- offer ------------------------------------------------------------ */

static void set_str(aloft_native_str_t *dst, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > ALOFT_NATIVE_STR_MAX)
        n = ALOFT_NATIVE_STR_MAX;
    memcpy(dst->s, src ? src : "", n);
    dst->s[n] = '\0';
    dst->len = (uint8_t)n;
}

/* Deflate the whole image once (kept for an ACCEPT at offset 0): worth
 * it only if the stream comes out smaller than the image. */
static bool compresses(native_session_t *s, unsigned bits)
{
    native_run_t *run = s->run;
    if (run->whole_bits != bits) {
        native_stream_close(&run->whole);
        run->whole_bits = 0;
        if (native_stream_open(&run->whole, run->u->data, run->u->size, 0, bits,
                               NATIVE_DEFLATE_LEVEL) != 0)
            return false;   /* zlib failed: raw still works */
        run->whole_bits = bits;
    }
    return native_stream_len(&run->whole) < run->u->size;
}

/* windowBits to deflate with, 0 for raw; says why when it cannot. */
static unsigned pick_encoding(native_session_t *s)
{
    const native_upload_t *u = s->run->u;
    char why[128];
    if (u->no_compress)
        return 0;
    unsigned bits = native_deflate_bits(s->hello.inflate_window_bits);
    if ((s->hello.caps & ALOFT_CAP_DEFLATE) && bits && compresses(s, bits))
        return bits;
    if (!s->run->resuming) {
        if ((s->hello.caps & ALOFT_CAP_DEFLATE) && bits)
            snprintf(why, sizeof why, "the image does not compress (deflated it would be %llu "
                     "bytes)", (unsigned long long)native_stream_len(&s->run->whole));
        else if (s->hello.caps & ALOFT_CAP_DEFLATE)
            snprintf(why, sizeof why, "its inflate window (2^%u bytes) is smaller than zlib "
                     "can deflate for", (unsigned)s->hello.inflate_window_bits);
        else
            snprintf(why, sizeof why, "the device cannot inflate");
        emit_simple(s, NATIVE_EV_NO_DEFLATE, why);
    }
    return 0;
}

static int send_offer(native_session_t *s, unsigned bits)
{
    const native_upload_t *u = s->run->u;
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.target = u->fs ? 1 : 0;
    m.u.offer.encoding = bits ? ALOFT_ENC_DEFLATE : ALOFT_ENC_RAW;
    m.u.offer.flags = u->no_reboot ? ALOFT_OFFER_NO_REBOOT : 0;
    m.u.offer.size = (uint32_t)u->size;
    memcpy(m.u.offer.sha256, s->run->sha256, sizeof m.u.offer.sha256);
    set_str(&m.u.offer.project, u->project);
    set_str(&m.u.offer.version, u->version);
    m.u.offer.secure_version = u->secure_version;
    int err = native_conn_queue(&s->c, &m);
    if (err)
        return host_error_set(err_of(s), err, "internal error", "the OFFER did not encode");
    err = native_conn_flush(&s->c, host_now_ms() + s->run->timeout_ms);
    if (err)
        return retry_later(s, err, "the offer could not be sent", "%s", closed_why(&s->c));
    return ALOFT_OK;
}

/* The HELLO shows an interrupted transfer of this very image. */
static bool resuming_this(const native_session_t *s)
{
    const aloft_native_hello_t *h = &s->hello;
    const native_upload_t *u = s->run->u;
    return h->has_resume && h->resume_size == u->size && h->resume_target == (u->fs ? 1 : 0) &&
           memcmp(h->resume_sha256, s->run->sha256, sizeof h->resume_sha256) == 0;
}

/* ACCEPT (the offset and window) or a refusal. */
static int read_accept(native_session_t *s, aloft_native_accept_t *acc)
{
    aloft_native_msg_t m;
    int got = native_conn_recv(&s->c, &m, host_now_ms() + NATIVE_HOST_ACCEPT_MS);
    if (got == ALOFT_ERR_AUTH)
        return retry_later(s, got, "a frame from the device failed its MAC check",
                           "a frame failed its MAC check (corrupted on the way?)");
    if (got < 0 && got != ALOFT_ERR_PROTO)
        return retry_later(s, got, "no answer to the offer", "%s",
                           got == ALOFT_ERR_TIMEOUT ? "no answer to the offer" : closed_why(&s->c));
    if (got > 0 && m.type == ALOFT_MSG_ERROR) {
        int code = m.u.error.code;
        snprintf(s->run->r->device_text, sizeof s->run->r->device_text, "%s", m.u.error.text.s);
        /* Busy right after a drop (ours, or a killed earlier run of this
         * upload): the device has not noticed the dead connection yet. */
        s->busy_with_us = code == ALOFT_ERR_BUSY && resuming_this(s);
        s->retryable = (code == ALOFT_ERR_BUSY && (s->run->resuming || s->busy_with_us)) ||
                       code == ALOFT_ERR_TIMEOUT;
        return native_explain_error(err_of(s), &m.u.error, false);
    }
    if (got < 0 || m.type != ALOFT_MSG_ACCEPT || m.u.accept.offset > s->run->u->size)
        return host_error_set(err_of(s), ALOFT_ERR_PROTO, "unexpected answer to the offer",
                              "the device answered with neither a valid ACCEPT nor an ERROR; its "
                              "firmware does not follow the protocol");
    *acc = m.u.accept;
    if (acc->window == 0)
        acc->window = s->hello.window;
    return ALOFT_OK;
}

static void accepted(native_session_t *s, const aloft_native_accept_t *acc, bool deflated)
{
    native_run_t *run = s->run;
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.text = "";
    ev.offset = acc->offset;
    ev.total = run->u->size;
    ev.hello = &s->hello;
    s->accepted = true;
    if (!run->ever_accepted) {
        run->ever_accepted = true;
        run->r->resumed_from = acc->offset;
        run->r->compressed = deflated;
        run->start = progress_clock();
        ev.kind = NATIVE_EV_ACCEPTED;
    } else {
        ev.kind = NATIVE_EV_RESUMED;
    }
    native_emit(run, &ev);
}

/* ---- data ------------------------------------------------------------- */

typedef struct {
    native_session_t *s;
    native_stream_t *st;      /* own, or the run's whole-image stream */
    native_stream_t own;
    native_window_t w;
    size_t chunk;             /* stream bytes per DATA frame */
    bool end_queued;
    uint64_t last_rx_ms, end_deadline;
    uint64_t durable;         /* the device's last ACK */
} xfer_t;

static void progress(xfer_t *x)
{
    native_run_t *run = x->s->run;
    uint64_t at = native_stream_image_pos(x->st, x->w.consumed);
    if (x->durable > at)
        at = x->durable;
    if (at > run->u->size)
        at = run->u->size;
    if (at > run->best)
        run->best = at;
    if (run->u->on_progress)
        run->u->on_progress(run->u->ctx, at, run->u->size);
}

/* Queue the next DATA frame, or END once everything is out. */
static int queue_next(xfer_t *x)
{
    native_conn_t *c = &x->s->c;
    size_t total = native_stream_len(x->st);
    size_t room = native_window_room(&x->w, total - (size_t)x->w.sent);
    aloft_native_msg_t m;
    if (c->tx_len || (room == 0 && (x->w.sent < total || x->end_queued)))
        return ALOFT_OK;
    memset(&m, 0, sizeof m);
    if (room > 0) {
        if (room > x->chunk)
            room = x->chunk;
        m.type = ALOFT_MSG_DATA;
        m.u.data.offset = (uint32_t)x->w.sent;
        m.u.data.data = native_stream_bytes(x->st) + x->w.sent;
        m.u.data.len = (uint16_t)room;
        native_window_sent(&x->w, room);
        x->s->run->r->stream_bytes += room;
    } else {
        m.type = ALOFT_MSG_END;
        m.u.end.stream_len = (uint32_t)total;
        x->end_queued = true;
        x->end_deadline = host_now_ms() + x->s->run->result_ms;
        emit_simple(x->s, NATIVE_EV_SENT_ALL, NULL);
    }
    int err = native_conn_queue(c, &m);
    return err ? host_error_set(err_of(x->s), err, "internal error", "a frame did not encode")
               : ALOFT_OK;
}

static int got_result(xfer_t *x, const aloft_native_result_t *res)
{
    native_result_t *r = x->s->run->r;
    if (!x->end_queued || x->s->c.tx_len)
        return host_error_set(err_of(x->s), ALOFT_ERR_PROTO, "the device answered too early",
                              "it sent its RESULT before the upload ended; its firmware does "
                              "not follow the protocol");
    r->slot = res->slot;
    r->slot_label[0] = '\0';
    if (res->slot < x->s->hello.nslots)
        snprintf(r->slot_label, sizeof r->slot_label, "%s", x->s->hello.slots[res->slot].label.s);
    snprintf(r->version, sizeof r->version, "%s", res->version.s);
    r->reboot = res->reboot != 0;
    x->durable = x->s->run->u->size;
    progress(x);
    return 1;
}

/* One frame from the device. Returns 0 to go on, 1 for the RESULT, or an
 * error code. */
static int handle(xfer_t *x, const aloft_native_msg_t *m)
{
    native_session_t *s = x->s;
    switch (m->type) {
    case ALOFT_MSG_ACK:
        if (native_window_ack(&x->w, m->u.ack.consumed) != 0 || m->u.ack.durable > s->run->u->size)
            return host_error_set(err_of(s), ALOFT_ERR_PROTO, "unexpected ACK from the device",
                                  "it confirmed %u stream bytes (%u image bytes) but %llu were "
                                  "sent; its firmware does not follow the protocol",
                                  (unsigned)m->u.ack.consumed, (unsigned)m->u.ack.durable,
                                  (unsigned long long)x->w.sent);
        if (m->u.ack.durable > x->durable)
            x->durable = m->u.ack.durable;
        progress(x);
        return 0;
    case ALOFT_MSG_ERROR:
        snprintf(s->run->r->device_text, sizeof s->run->r->device_text, "%s", m->u.error.text.s);
        /* The device gave up on a silent link: the next connection resumes. */
        s->retryable = m->u.error.code == ALOFT_ERR_TIMEOUT;
        return native_explain_error(err_of(s), &m->u.error, false);
    case ALOFT_MSG_RESULT:
        return got_result(x, &m->u.result);
    default:
        return host_error_set(err_of(s), ALOFT_ERR_PROTO, "unexpected message from the device",
                              "it sent message type 0x%02x during the upload; its firmware does "
                              "not follow the protocol", (unsigned)m->type);
    }
}

/* Frames that have arrived. Returns 0, 1 (RESULT) or an error code. */
static int take_frames(xfer_t *x)
{
    aloft_native_msg_t m;
    for (;;) {
        int got = native_conn_next(&x->s->c, &m);
        if (got == 0)
            return 0;
        if (got == ALOFT_ERR_AUTH)
            return retry_later(x->s, got, "a frame from the device failed its MAC check",
                               "a frame failed its MAC check (corrupted on the way?)");
        if (got < 0)
            return host_error_set(err_of(x->s), got, "malformed frame from the device",
                                  "its firmware does not follow the protocol");
        x->last_rx_ms = host_now_ms();
        int rc = handle(x, &m);
        if (rc != 0)
            return rc;
    }
}

static int check_time(xfer_t *x)
{
    native_session_t *s = x->s;
    uint64_t now = host_now_ms();
    bool waiting_ack = native_window_in_flight(&x->w) > 0 || s->c.tx_len > 0 || !x->end_queued;
    if (waiting_ack && now - x->last_rx_ms >= s->run->timeout_ms)
        return retry_later(s, ALOFT_ERR_TIMEOUT, "the device stopped responding",
                           "no ACK for %u s", (unsigned)(s->run->timeout_ms / 1000));
    if (!waiting_ack && now >= x->end_deadline)
        return host_error_set(err_of(s), ALOFT_ERR_TIMEOUT, "no result from the device",
                              "all data was sent but the device did not report the result within "
                              "%u s; it may still apply the update: check with 'aloft info' "
                              "before trying again", (unsigned)(s->run->result_ms / 1000));
    return ALOFT_OK;
}

/* Writing failed: the device may have said why (an ERROR) before it
 * closed; read for a moment before calling it a lost connection. */
static int write_failed(xfer_t *x)
{
    native_conn_t *c = &x->s->c;
    int why = c->sock_errno;
    uint64_t deadline = host_now_ms() + READ_AFTER_FAIL_MS;
    while (!c->eof && host_remaining_ms(deadline) > 0) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, host_remaining_ms(deadline)) > 0 && native_conn_read(c) <= 0)
            break;
    }
    int rc = take_frames(x);
    if (rc)
        return rc > 0 ? ALOFT_OK : rc;
    c->sock_errno = why;
    return retry_later(x->s, ALOFT_ERR_CLOSED, "connection to the device lost", "%s",
                       closed_why(c));
}

static int pump(xfer_t *x)
{
    native_conn_t *c = &x->s->c;
    for (;;) {
        int rc = queue_next(x);
        if (!rc && c->tx_len && native_conn_write(c) != 0)
            return write_failed(x);
        if (!rc)
            rc = take_frames(x);
        if (rc)
            return rc > 0 ? ALOFT_OK : rc;
        if (c->eof)
            return retry_later(x->s, ALOFT_ERR_CLOSED, "connection to the device lost", "%s%s",
                               closed_why(c), x->end_queued ? " before the result" : "");
        bool more = c->tx_len == 0 && !x->end_queued &&
                    native_window_room(&x->w, native_stream_len(x->st) - (size_t)x->w.sent) > 0;
        if (more)
            continue;   /* the window is open: keep filling it */
        short ev = native_conn_wait(c, 100);
        if (ev & (POLLIN | POLLHUP | POLLERR))
            native_conn_read(c);
        if ((rc = check_time(x)) != 0)
            return rc;
    }
}

int native_session_upload(native_session_t *s)
{
    native_run_t *run = s->run;
    aloft_native_accept_t acc;
    xfer_t x;
    memset(&acc, 0, sizeof acc);
    unsigned bits = pick_encoding(s);
    int err = send_offer(s, bits);
    if (!err)
        err = read_accept(s, &acc);
    if (err)
        return err;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.st = &x.own;
    if (bits && acc.offset == 0 && run->whole_bits == bits)
        x.st = &run->whole;
    else
        err = native_stream_open(&x.own, run->u->data, run->u->size, acc.offset, bits,
                                 NATIVE_DEFLATE_LEVEL);
    if (err)
        return host_error_set(err_of(s), err, "cannot compress the image",
                              "zlib failed; try again with --no-compress");
    accepted(s, &acc, bits != 0);
    native_window_init(&x.w, acc.window);
    x.chunk = s->c.max_payload - 4;
    x.last_rx_ms = host_now_ms();
    x.durable = acc.offset;
    progress(&x);
    err = pump(&x);
    native_stream_close(&x.own);
    return err;
}
