/*
 * host/native_session.c — one connection of the native client: the run's
 * set-up (address, crypto, timeouts, the keys cache), connecting, the host
 * engine on the socket (native_conn.c), its events as the caller hears
 * them (native_host.h), and its failure in words (native_explain.c). The
 * commands and the reconnect policy are native_host.c.
 */
#include <stdio.h>
#include <string.h>

#include "host_net.h"
#include "host_os.h"
#include "native_host_priv.h"
#include "progress.h"

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

int native_run_init(native_run_t *run, const native_peer_t *p, host_error_t *e)
{
    char host[256];
    memset(run, 0, sizeof *run);
    run->error = e;
    run->connect_ms = or_default(p->connect_timeout_ms, NATIVE_HOST_CONNECT_MS);
    run->cfg.crypto = host_crypto;
    run->cfg.password = p->password;
    run->cfg.keys = &run->keys;
    run->cfg.hello_timeout_ms = or_default(p->hello_timeout_ms, ALOFT_NATIVE_HOST_HELLO_MS);
    run->cfg.timeout_ms = or_default(p->timeout_ms, ALOFT_NATIVE_HOST_TIMEOUT_MS);
    run->cfg.accept_timeout_ms = ALOFT_NATIVE_HOST_ACCEPT_MS;
    run->cfg.result_timeout_ms = ALOFT_NATIVE_HOST_RESULT_MS;
    if (p->device == NULL ||
        host_parse_device(p->device, p->default_port ? p->default_port : ALOFT_NATIVE_PORT,
                          host, sizeof host, &run->port) != 0)
        return host_error_set(e, ALOFT_ERR_ARG, "bad device address",
                              "'%s' is not HOST or HOST:PORT (IPv4 address or name, port "
                              "1-65535)", p->device ? p->device : "");
    int err = host_resolve(host, run->port, &run->addr, e);
    if (!err)
        host_addr_text(&run->addr, run->addr_text, sizeof run->addr_text);
    return err;
}

void native_run_end(native_run_t *run)
{
    memset(&run->keys, 0, sizeof run->keys);
    native_source_close(&run->source);
}

void native_emit(const native_run_t *run, native_event_t *ev, const aloft_native_hello_t *hello)
{
    const native_upload_t *u = run->u;
    if (ev->text == NULL)
        ev->text = "";
    ev->hello = hello;
    if (u && u->on_event)
        u->on_event(u->ctx, ev);
}

static void emit_simple(const native_run_t *run, native_event_kind_t kind, const char *text,
                        const aloft_native_hello_t *hello)
{
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.text = text;
    native_emit(run, &ev, hello);
}

/* ---- the engine's events, as the caller hears them -------------------- */

static void say_raw(const native_run_t *run, const aloft_native_event_t *e)
{
    char why[128];
    if (run->resuming)
        return;   /* said with the first connection */
    switch (e->raw_why) {
    case ALOFT_NATIVE_RAW_NO_GAIN:
        snprintf(why, sizeof why, "the image does not compress (deflated it would be %lu "
                 "bytes)", (unsigned long)e->have);
        break;
    case ALOFT_NATIVE_RAW_WINDOW:
        snprintf(why, sizeof why, "its inflate window (2^%u bytes) is smaller than zlib can "
                 "deflate for", (unsigned)e->have);
        break;
    case ALOFT_NATIVE_RAW_FAILED:
        snprintf(why, sizeof why, "zlib failed to deflate the image");
        break;
    default:
        snprintf(why, sizeof why, "the device cannot inflate");
        break;
    }
    emit_simple(run, NATIVE_EV_NO_DEFLATE, why, e->hello);
}

static void say_full(const native_run_t *run, const aloft_native_event_t *e)
{
    char why[160];
    if (run->resuming)
        return;   /* said with the first connection */
    switch (e->full_why) {
    case ALOFT_NATIVE_FULL_NO_CAP:
        snprintf(why, sizeof why, "the device takes no patches (no cap delta)");
        break;
    case ALOFT_NATIVE_FULL_OTHER_BASE:
        if (e->hello->base_size == 0)
            snprintf(why, sizeof why, "the device's running image did not verify, so no patch "
                     "applies");
        else
            snprintf(why, sizeof why, "the device runs another image than the patch's base "
                     "(%lu bytes, SHA-256 %02x%02x%02x%02x...)", (unsigned long)e->hello->base_size,
                     e->hello->base_sha256[0], e->hello->base_sha256[1],
                     e->hello->base_sha256[2], e->hello->base_sha256[3]);
        break;
    case ALOFT_NATIVE_FULL_WINDOW:
        snprintf(why, sizeof why, "the patch needs a 2^%u-byte zlib window, the device inflates "
                 "2^%u", (unsigned)e->have, (unsigned)e->hello->inflate_window_bits);
        break;
    default:
        snprintf(why, sizeof why, "the patch does not make this image");
        break;
    }
    emit_simple(run, NATIVE_EV_NO_PATCH, why, e->hello);
}

static void on_accepted(native_session_t *s, const aloft_native_event_t *e)
{
    native_run_t *run = s->run;
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.offset = e->offset;
    ev.total = run->u->size;
    s->accepted = true;
    run->patching = e->patch;
    run->stream_from = e->offset;
    run->stream_len = e->stream_len;
    if (!run->ever_accepted) {
        run->ever_accepted = true;
        run->resumed_from = e->offset;
        run->compressed = e->window_bits != 0;
        run->patched = e->patch;
        run->start = progress_clock();
        ev.kind = NATIVE_EV_ACCEPTED;
    } else {
        ev.kind = NATIVE_EV_RESUMED;
    }
    native_emit(run, &ev, e->hello);
}

/* Image bytes confirmed: what the device consumed (as far as the stream
 * tells) or made durable, whichever is further. */
static void on_progress(native_run_t *run, const aloft_native_event_t *e)
{
    const native_upload_t *u = run->u;
    /* A patch's bytes do not map to image bytes: in proportion. */
    uint64_t at = run->patching && run->stream_len
                      ? run->stream_from + (uint64_t)e->consumed * (u->size - run->stream_from) /
                                               run->stream_len
                      : native_source_image_pos(&run->source, e->consumed);
    if (e->durable > at)
        at = e->durable;
    if (at > u->size)
        at = u->size;
    if (at > run->best)
        run->best = at;
    if (u->on_progress)
        u->on_progress(u->ctx, at, u->size);
}

static void on_engine_event(void *ctx, const aloft_native_event_t *e)
{
    native_session_t *s = ctx;
    native_run_t *run = s->run;
    bool password = run->cfg.password && run->cfg.password[0];
    switch (e->kind) {
    case ALOFT_NATIVE_EV_HELLO:
        s->resumable = e->resumable;
        emit_simple(run, NATIVE_EV_HELLO, e->hello->name.s, e->hello);
        break;
    case ALOFT_NATIVE_EV_OPEN:
        if (!run->warned_open)
            emit_simple(run, password ? NATIVE_EV_PASSWORD_UNUSED : NATIVE_EV_OPEN_DEVICE, NULL,
                        e->hello);
        run->warned_open = true;
        break;
    case ALOFT_NATIVE_EV_AUTH_OK:
        s->authenticated = true;
        emit_simple(run, NATIVE_EV_AUTH_OK, NULL, e->hello);
        break;
    case ALOFT_NATIVE_EV_NO_DEFLATE: say_raw(run, e); break;
    case ALOFT_NATIVE_EV_NO_PATCH: say_full(run, e); break;
    case ALOFT_NATIVE_EV_ACCEPTED: on_accepted(s, e); break;
    case ALOFT_NATIVE_EV_PROGRESS: on_progress(run, e); break;
    case ALOFT_NATIVE_EV_SENT_ALL: emit_simple(run, NATIVE_EV_SENT_ALL, NULL, e->hello); break;
    default: break;   /* the end of the session: read from the engine afterwards */
    }
}

/* ---- one connection ------------------------------------------------------ */

static int connect_failed(native_session_t *s, int err)
{
    native_run_t *run = s->run;
    const char *addr = run->addr_text;
    if (err == ALOFT_ERR_TIMEOUT)
        return host_error_set(run->error, ALOFT_ERR_TIMEOUT, "the device did not answer",
                              "no answer from %s (TCP) within %u s: the device is off or on "
                              "another network, the address is wrong, or a firewall drops TCP "
                              "port %u", addr, (unsigned)(run->connect_ms / 1000), run->port);
    if (s->refused) {
        char what[48];
        snprintf(what, sizeof what, "nothing listens on TCP port %u", (unsigned)run->port);
        return host_error_set(run->error, ALOFT_ERR_CONNECT, what,
                              "%s refused the connection: the device runs no aloft native "
                              "server (try --protocol espota) or the port is wrong", addr);
    }
    return host_error_set(run->error, ALOFT_ERR_CONNECT, "cannot connect to the device",
                          "connecting to %s failed (%s); check the address and this computer's "
                          "network connection", addr, host_sock_strerror(s->conn.sock_errno));
}

int native_session_run(native_session_t *s, native_run_t *run)
{
    memset(s, 0, sizeof *s);
    s->run = run;
    run->cfg.on_event = on_engine_event;
    run->cfg.ctx = s;
    int err = native_conn_open(&s->conn, &run->addr, run->connect_ms, &s->refused);
    if (err) {
        native_conn_close(&s->conn);
        return connect_failed(s, err);
    }
    s->connected = true;
    emit_simple(run, NATIVE_EV_CONNECTED, run->addr_text, NULL);
    if (run->u && run->u->make_patch && !run->patch_made) {   /* the HELLO is on its way */
        uint64_t t = host_now_ms();
        run->patch_made = true;
        run->u->make_patch(run->u->patch_ctx, &run->cfg.patch, &run->cfg.patch_len);
        /* A slow one (a large image, a slow host) took the device's login
         * deadline with it: connect afresh. */
        if (host_now_ms() - t > NATIVE_HOST_PATCH_REDIAL_MS) {
            native_conn_close(&s->conn);
            s->connected = false;
            if ((err = native_conn_open(&s->conn, &run->addr, run->connect_ms, &s->refused))) {
                native_conn_close(&s->conn);
                return connect_failed(s, err);
            }
            s->connected = true;
        }
    }
    err = aloft_native_host_init(&s->eng, &run->cfg, (uint32_t)host_now_ms());
    if (err)
        return host_error_set(run->error, err, "internal error", "the native session did not "
                              "start");
    native_conn_run(&s->conn, &s->eng);
    native_conn_close(&s->conn);
    const aloft_native_failure_t *f = aloft_native_host_failure(&s->eng);
    if (f->code == 0)
        return ALOFT_OK;
    native_context_t x = {run->addr_text, run->port, &s->eng.cfg, &s->conn,
                          aloft_native_host_hello(&s->eng)};
    if (f->why == ALOFT_NATIVE_WHY_DEVICE && f->phase >= ALOFT_NATIVE_PH_OFFER && run->device_text)
        snprintf(run->device_text, 40, "%s", f->device.text.s);
    return native_explain_failure(run->error, f, &x);
}

bool native_not_native(const native_session_t *s)
{
    aloft_native_why_t why = aloft_native_host_failure(&s->eng)->why;
    return s->refused || (s->connected && (why == ALOFT_NATIVE_WHY_NO_HELLO ||
                                           why == ALOFT_NATIVE_WHY_NOT_ALOFT));
}

