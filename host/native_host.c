/*
 * host/native_host.c — the native client's commands over the host engine
 * (aloft/native_host.h): upload with the reconnect policy (backoff,
 * resume from the device's new ACCEPT, the same image offered again),
 * info and rollback. One connection's socket loop is native_conn.c; the
 * words for failures are native_explain.c. See native_host.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto_mbedtls.h"
#include "host_net.h"
#include "native_host_priv.h"
#include "native_stream.h"
#include "progress.h"

/* What outlives a connection: set up once per command. */
typedef struct native_run {
    const native_upload_t *u;        /* NULL for info and rollback */
    host_error_t *error;             /* where failures are explained */
    char *device_text;               /* the device's words in its ERROR (40 bytes), or NULL */
    char addr_text[64];
    struct sockaddr_in addr;
    uint16_t port;
    uint32_t connect_ms;
    aloft_native_host_config_t cfg;  /* every connection's */
    aloft_native_keys_t keys;        /* derived once, for every reconnect */
    native_source_t source;
    bool warned_open;                /* the open-device warning was given */
    bool ever_accepted;              /* some session reached DATA */
    bool resuming;                   /* this session reconnects a broken one */
    uint32_t resumed_from;           /* the first ACCEPT's offset */
    bool compressed;
    uint64_t best;                   /* image bytes confirmed, best so far */
    double start;                    /* progress_clock() at the first ACCEPT */
} native_run_t;

/* One connection: the socket, the engine, and what it said. */
typedef struct native_session {
    native_run_t *run;
    native_conn_t conn;
    aloft_native_host_t eng;
    bool connected, refused;
    bool authenticated, accepted, resumable;
} native_session_t;

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

/* Parse and resolve the device; the engine's crypto and timeouts. Returns
 * 0 or an error code. */
static int run_init(native_run_t *run, const native_peer_t *p, host_error_t *e)
{
    char host[256];
    memset(run, 0, sizeof *run);
    run->error = e;
    run->connect_ms = or_default(p->connect_timeout_ms, NATIVE_HOST_CONNECT_MS);
    run->cfg.crypto = &aloft_mbedtls_crypto;
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

static void run_end(native_run_t *run)
{
    memset(&run->keys, 0, sizeof run->keys);
    native_source_close(&run->source);
}

static void emit(const native_run_t *run, native_event_t *ev, const aloft_native_hello_t *hello)
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
    emit(run, &ev, hello);
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

static void on_accepted(native_session_t *s, const aloft_native_event_t *e)
{
    native_run_t *run = s->run;
    native_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.offset = e->offset;
    ev.total = run->u->size;
    s->accepted = true;
    if (!run->ever_accepted) {
        run->ever_accepted = true;
        run->resumed_from = e->offset;
        run->compressed = e->window_bits != 0;
        run->start = progress_clock();
        ev.kind = NATIVE_EV_ACCEPTED;
    } else {
        ev.kind = NATIVE_EV_RESUMED;
    }
    emit(run, &ev, e->hello);
}

/* Image bytes confirmed: what the device consumed (as far as the stream
 * tells) or made durable, whichever is further. */
static void on_progress(native_run_t *run, const aloft_native_event_t *e)
{
    const native_upload_t *u = run->u;
    uint64_t at = native_source_image_pos(&run->source, e->consumed);
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
                          "network connection", addr, strerror(s->conn.sock_errno));
}

/* Connect and run one session. Returns 0 or an error code, with the
 * failure explained in run->error. */
static int session_run(native_session_t *s, native_run_t *run)
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

/* The failure of s may heal on a new connection: the link failed (but not
 * the wait for a RESULT: the device may be applying the update), or the
 * device is busy with a connection of ours it has not seen die, or it
 * gave up on a silent link itself. */
static bool retryable(const native_session_t *s)
{
    const aloft_native_failure_t *f = aloft_native_host_failure(&s->eng);
    if (!s->connected)
        return true;   /* a device may be rebooting, or the Wi-Fi back soon */
    if (f->lost)
        return !(f->why == ALOFT_NATIVE_WHY_SILENT && f->phase == ALOFT_NATIVE_PH_RESULT &&
                 f->want == 0);
    if (f->why != ALOFT_NATIVE_WHY_DEVICE)
        return false;
    if (f->device.code == ALOFT_ERR_BUSY)
        return f->phase == ALOFT_NATIVE_PH_HELLO ||
               (f->phase == ALOFT_NATIVE_PH_OFFER && (s->run->resuming || s->resumable));
    return f->device.code == ALOFT_ERR_TIMEOUT && f->phase >= ALOFT_NATIVE_PH_OFFER;
}

/* Busy on the OFFER while the HELLO shows an interrupted transfer of this
 * very image: the device still holds an earlier, dead connection of it. */
static bool busy_with_us(const native_session_t *s)
{
    const aloft_native_failure_t *f = aloft_native_host_failure(&s->eng);
    return f->why == ALOFT_NATIVE_WHY_DEVICE && f->device.code == ALOFT_ERR_BUSY &&
           f->phase == ALOFT_NATIVE_PH_OFFER && s->resumable;
}

/* Nothing at the address speaks the native protocol: refused, silent
 * before a HELLO, or another service. */
static bool not_native(const native_session_t *s)
{
    aloft_native_why_t why = aloft_native_host_failure(&s->eng)->why;
    return s->refused ||
           (s->connected && (why == ALOFT_NATIVE_WHY_NO_HELLO || why == ALOFT_NATIVE_WHY_NOT_ALOFT));
}

/* ---- upload ---------------------------------------------------------- */

static void sleep_s(unsigned s)
{
    struct timespec ts = {(time_t)s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static unsigned backoff_s(unsigned failures)
{
    unsigned d = 1;
    while (failures-- > 1 && d < NATIVE_HOST_BACKOFF_MAX_S)
        d *= 2;
    return d > NATIVE_HOST_BACKOFF_MAX_S ? NATIVE_HOST_BACKOFF_MAX_S : d;
}

static void say_lost(native_run_t *run, const native_session_t *s, unsigned delay,
                     unsigned attempt, unsigned attempts)
{
    native_event_t ev;
    const aloft_native_hello_t *hello = aloft_native_host_hello(&s->eng);
    bool busy = busy_with_us(s);
    memset(&ev, 0, sizeof ev);
    ev.kind = NATIVE_EV_LOST;
    ev.text = run->error->hint;
    ev.offset = busy ? hello->resume_offset : run->best;
    ev.total = run->u->size;
    ev.delay_s = delay;
    ev.attempt = attempt;
    ev.attempts = attempts;
    /* A connection that never got back to ACCEPT failed to reconnect. */
    ev.reconnect_failed = run->resuming && !s->accepted;
    ev.busy_with_us = busy;
    emit(run, &ev, s->connected ? hello : NULL);
}

static void gave_up(native_run_t *run, unsigned tries)
{
    host_error_t *e = run->error;
    char held[32];
    size_t hl = strlen(e->hint);
    snprintf(e->hint + hl, sizeof e->hint - hl,
             "%sgave up after %u reconnect%s; the device keeps the %s bytes it has made durable: "
             "run the same command again to resume", hl ? "; " : "", tries,
             tries == 1 ? "" : "s", host_grouped(run->best, held));
}

static void upload_result(native_result_t *r, const native_session_t *s)
{
    const aloft_native_result_t *res = aloft_native_host_result(&s->eng);
    const aloft_native_hello_t *hello = aloft_native_host_hello(&s->eng);
    r->slot = res->slot;
    r->slot_label[0] = '\0';
    if (res->slot < hello->nslots)
        snprintf(r->slot_label, sizeof r->slot_label, "%s", hello->slots[res->slot].label.s);
    snprintf(r->version, sizeof r->version, "%s", res->version.s);
    r->reboot = res->reboot != 0;
}

/* Sessions until one ends the upload. */
static int run_upload(native_run_t *run, native_result_t *r)
{
    const native_upload_t *u = run->u;
    static native_session_t s;   /* ~14 KiB of engine */
    unsigned retries = u->retries ? u->retries : NATIVE_HOST_RETRIES;
    unsigned failures = 0;
    for (;;) {
        uint64_t best_before = run->best;
        int err = session_run(&s, run);
        r->wire_bytes += s.conn.tx_bytes;
        r->authenticated = r->authenticated || s.authenticated;
        if (err == 0)
            upload_result(r, &s);
        if (!err || !(run->ever_accepted || busy_with_us(&s)) || !retryable(&s)) {
            /* Only a device that refuses the connection has no native
             * server: anything that answered is not for espota. */
            r->no_listener = err && s.refused && !run->ever_accepted;
            return err;
        }
        if (run->best > best_before)
            failures = 0;   /* it moved: start the backoff afresh */
        /* Busy before any ACCEPT of ours: an earlier run's dead connection
         * times out on the device within 10 s; anything longer is someone
         * else uploading the same image. */
        if (failures >= retries || (!run->ever_accepted && failures >= NATIVE_HOST_BUSY_RETRIES)) {
            gave_up(run, failures);
            return err;
        }
        unsigned delay = backoff_s(++failures);
        say_lost(run, &s, delay, failures, retries);
        sleep_s(delay);
        run->resuming = true;
        r->reconnects++;
    }
}

int native_upload(const native_upload_t *u, native_result_t *r)
{
    native_run_t run;
    uint8_t sha[ALOFT_SHA256_LEN];
    memset(r, 0, sizeof *r);
    int err = run_init(&run, &u->peer, &r->error);
    run.u = u;
    run.device_text = r->device_text;
    if (!err && (u->data == NULL || u->size == 0 || u->size > 0xFFFFFFFFu))
        err = host_error_set(&r->error, ALOFT_ERR_SIZE, "nothing to upload",
                             "the image is empty or larger than 4 GiB");
    if (!err)
        err = aloft_hash_oneshot(run.cfg.crypto->sha256, u->data, u->size, sha);
    if (!err) {
        native_source_init(&run.source, u->data, u->size);
        run.cfg.op = ALOFT_NATIVE_OP_UPLOAD;
        run.cfg.source = &run.source.src;
        run.cfg.size = (uint32_t)u->size;
        run.cfg.sha256 = sha;
        run.cfg.target = u->fs ? ALOFT_TARGET_FS : ALOFT_TARGET_APP;
        run.cfg.no_reboot = u->no_reboot;
        run.cfg.compress = !u->no_compress;
        run.cfg.project = u->project;
        run.cfg.version = u->version;
        run.cfg.secure_version = u->secure_version;
        run.cfg.sig_block = u->sig_block;
        run.cfg.sig_block_len = u->sig_block_len;
        run.cfg.result_timeout_ms = or_default(u->result_timeout_ms, ALOFT_NATIVE_HOST_RESULT_MS);
        err = run_upload(&run, r);
    }
    run_end(&run);
    snprintf(r->device_addr, sizeof r->device_addr, "%s", run.addr_text);
    r->ok = err == ALOFT_OK;
    r->resumed_from = run.resumed_from;
    r->compressed = run.compressed;
    if (run.ever_accepted) {
        r->bytes = u->size - run.resumed_from;
        r->seconds = progress_clock() - run.start;
        r->rate_kib_s = r->seconds > 0 ? (double)r->bytes / 1024.0 / r->seconds : 0.0;
    }
    if (r->ok)
        memset(&r->error, 0, sizeof r->error);
    else if (r->error.code == 0)
        r->error.code = err;
    return err;
}

/* ---- info ------------------------------------------------------------ */

int native_info(const native_peer_t *p, native_info_t *info)
{
    native_run_t run;
    static native_session_t s;
    memset(info, 0, sizeof *info);
    int err = run_init(&run, p, &info->error);
    if (!err) {
        run.cfg.op = ALOFT_NATIVE_OP_INFO;
        err = session_run(&s, &run);
        const aloft_native_hello_t *hello = aloft_native_host_hello(&s.eng);
        if (hello && s.connected)
            info->hello = *hello;
        info->authenticated = s.authenticated;
    }
    run_end(&run);
    snprintf(info->device_addr, sizeof info->device_addr, "%s", run.addr_text);
    info->ok = err == ALOFT_OK;
    if (info->ok)
        memset(&info->error, 0, sizeof info->error);
    else if (info->error.code == 0)
        info->error.code = err;
    return err;
}

/* ---- rollback -------------------------------------------------------- */

/* The device's "no bootable image" is worded for a device that cannot
 * start; here it only means there is nothing to go back to. */
static void explain_nothing_there(native_rollback_result_t *r)
{
    const aloft_native_hello_t *h = &r->hello;
    if (r->error.code != ALOFT_ERR_NO_BOOTABLE || !r->have_hello || h->nslots < 2 ||
        h->running_slot >= h->nslots || r->device_text[0] == '\0')   /* ours says it already */
        return;
    int t = (h->running_slot + 1) % h->nslots;
    const aloft_native_slot_t *run = &h->slots[h->running_slot];
    host_error_set(&r->error, ALOFT_ERR_NO_BOOTABLE, "nothing to roll back to",
                   "%s holds no complete image for this chip that verifies (%s), so the device "
                   "has nothing to go back to; it keeps running %s %s in %s, nothing was changed",
                   h->slots[t].label.s, h->slots[t].has_image ? "its image is damaged or "
                   "incomplete" : "it is empty, or holds an upload that never finished",
                   run->has_image ? run->project.s : "its image",
                   run->has_image ? run->version.s : "", run->label.s);
}

static void rollback_result(native_rollback_result_t *r, const native_session_t *s)
{
    const aloft_native_result_t *res = aloft_native_host_result(&s->eng);
    const aloft_native_slot_t *slot = &r->hello.slots[res->slot];
    r->slot = res->slot;
    snprintf(r->slot_label, sizeof r->slot_label, "%s", slot->label.s);
    snprintf(r->project, sizeof r->project, "%s", slot->has_image ? slot->project.s : "");
    snprintf(r->version, sizeof r->version, "%s", res->version.s);
    r->reboot = res->reboot != 0;
}

int native_rollback(const native_peer_t *p, native_rollback_result_t *r)
{
    native_run_t run;
    static native_session_t s;
    memset(r, 0, sizeof *r);
    int err = run_init(&run, p, &r->error);
    run.device_text = r->device_text;
    if (!err) {
        run.cfg.op = ALOFT_NATIVE_OP_ROLLBACK;
        err = session_run(&s, &run);
        const aloft_native_hello_t *hello = aloft_native_host_hello(&s.eng);
        r->have_hello = s.connected && hello != NULL;
        if (r->have_hello)
            r->hello = *hello;
        r->authenticated = s.authenticated;
        r->open_device = r->have_hello && !(r->hello.caps & ALOFT_CAP_AUTH);
        r->not_native = err && not_native(&s);
        if (!err)
            rollback_result(r, &s);
    }
    run_end(&run);
    snprintf(r->device_addr, sizeof r->device_addr, "%s", run.addr_text);
    r->ok = err == ALOFT_OK;
    if (!r->ok) {
        if (r->error.code == 0)
            r->error.code = err;
        if (r->not_native)   /* no espota to fall back on: ArduinoOTA cannot roll back */
            host_error_set(&r->error, r->error.code, r->error.message, "%s cannot roll back "
                           "remotely: rollback needs the aloft native protocol (TCP), which "
                           "nothing at this address speaks; check the address and port",
                           r->device_addr);
        explain_nothing_there(r);
    }
    return err;
}
