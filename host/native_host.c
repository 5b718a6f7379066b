/*
 * host/native_host.c — the native uploader's outer loop: set up
 * the run (address, image hash, timeouts), run sessions, and reconnect
 * with backoff when a connection breaks once the device has ACCEPTed;
 * `info`, one HELLO (plus a login when a password is given); and
 * `rollback`, a keyed session with one ROLLBACK and its RESULT. See
 * native_host.h; one connection's exchange is in native_session.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aloft/wire/otadata.h"
#include "crypto_mbedtls.h"
#include "host_net.h"
#include "native_host_priv.h"
#include "progress.h"

static const aloft_crypto_t *const crypto = &aloft_mbedtls_crypto;

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

/* Parse and resolve the device; timeouts. Returns 0 or an error code. */
static int run_init(native_run_t *run, const native_peer_t *p, native_result_t *r)
{
    memset(run, 0, sizeof *run);
    run->peer = p;
    run->r = r;
    run->connect_ms = or_default(p->connect_timeout_ms, NATIVE_HOST_CONNECT_MS);
    run->hello_ms = or_default(p->hello_timeout_ms, NATIVE_HOST_HELLO_MS);
    run->timeout_ms = or_default(p->timeout_ms, NATIVE_HOST_TIMEOUT_MS);
    run->result_ms = NATIVE_HOST_RESULT_MS;
    if (p->device == NULL ||
        host_parse_device(p->device, p->default_port ? p->default_port : ALOFT_NATIVE_PORT,
                          run->host, sizeof run->host, &run->port) != 0)
        return host_error_set(&r->error, ALOFT_ERR_ARG, "bad device address",
                              "'%s' is not HOST or HOST:PORT (IPv4 address or name, port "
                              "1-65535)", p->device ? p->device : "");
    int err = host_resolve(run->host, run->port, &run->addr, &r->error);
    if (!err)
        host_addr_text(&run->addr, r->device_addr, sizeof r->device_addr);
    return err;
}

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
    memset(&ev, 0, sizeof ev);
    ev.kind = NATIVE_EV_LOST;
    ev.text = run->r->error.hint;
    ev.offset = s->busy_with_us ? s->hello.resume_offset : run->best;
    ev.total = run->u->size;
    ev.delay_s = delay;
    ev.attempt = attempt;
    ev.attempts = attempts;
    /* A connection that never got back to ACCEPT failed to reconnect. */
    ev.reconnect_failed = run->resuming && !s->accepted;
    ev.busy_with_us = s->busy_with_us;
    native_emit(run, &ev);
}

static void gave_up(native_run_t *run, unsigned tries)
{
    host_error_t *e = &run->r->error;
    char held[32];
    size_t hl = strlen(e->hint);
    snprintf(e->hint + hl, sizeof e->hint - hl,
             "%sgave up after %u reconnect%s; the device keeps the %s bytes it has made durable: "
             "run the same command again to resume", hl ? "; " : "", tries,
             tries == 1 ? "" : "s", host_grouped(run->best, held));
}

/* Sessions until one ends the upload. */
static int run_upload(native_run_t *run)
{
    const native_upload_t *u = run->u;
    native_result_t *r = run->r;
    static native_session_t s;   /* ~20 KiB of buffers */
    unsigned retries = u->retries ? u->retries : NATIVE_HOST_RETRIES;
    unsigned failures = 0;
    for (;;) {
        uint64_t best_before = run->best;
        bool accepted_before = run->ever_accepted;
        int err = native_session_open(&s, run);
        if (!err)
            err = native_session_upload(&s);
        r->wire_bytes += s.c.tx_bytes;
        r->authenticated = r->authenticated || s.authenticated;
        native_session_close(&s);
        if (!err || !(run->ever_accepted || s.busy_with_us) || !s.retryable) {
            r->not_native = err && s.not_native && !accepted_before;
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
    memset(r, 0, sizeof *r);
    int err = run_init(&run, &u->peer, r);
    run.u = u;
    run.result_ms = or_default(u->result_timeout_ms, NATIVE_HOST_RESULT_MS);
    if (!err && (u->data == NULL || u->size == 0 || u->size > 0xFFFFFFFFu))
        err = host_error_set(&r->error, ALOFT_ERR_SIZE, "nothing to upload",
                             "the image is empty or larger than 4 GiB");
    if (!err)
        err = aloft_hash_oneshot(crypto->sha256, u->data, u->size, run.sha256);
    if (!err)
        err = run_upload(&run);
    memset(run.client_key, 0, sizeof run.client_key);
    memset(run.server_key, 0, sizeof run.server_key);
    native_stream_close(&run.whole);
    r->ok = err == ALOFT_OK;
    if (run.ever_accepted) {
        r->bytes = u->size - r->resumed_from;
        r->seconds = progress_clock() - run.start;
        r->rate_kib_s = r->seconds > 0 ? (double)r->bytes / 1024.0 / r->seconds : 0.0;
    }
    if (r->ok)
        memset(&r->error, 0, sizeof r->error);
    else if (r->error.code == 0)
        r->error.code = err;
    return err;
}

int native_info(const native_peer_t *p, native_info_t *info)
{
    native_run_t run;
    static native_session_t s;
    static native_result_t r;
    memset(info, 0, sizeof *info);
    memset(&r, 0, sizeof r);
    int err = run_init(&run, p, &r);
    if (!err) {
        err = native_session_open(&s, &run);
        info->hello = s.hello;
        info->authenticated = s.authenticated;
        info->not_native = s.not_native;
        native_session_close(&s);
    }
    memset(run.client_key, 0, sizeof run.client_key);
    memset(run.server_key, 0, sizeof run.server_key);
    snprintf(info->device_addr, sizeof info->device_addr, "%s", r.device_addr);
    info->ok = err == ALOFT_OK;
    if (!info->ok) {
        info->error = r.error;
        if (info->error.code == 0)
            info->error.code = err;
    }
    return err;
}

/* ---- rollback ------------------------------------------------------------ */

/* The slot a rollback selects: the one after the running slot, as the
 * device chooses it; -1 when the HELLO does not say. */
static int other_slot(const aloft_native_hello_t *h)
{
    if (h->nslots < 2 || h->running_slot >= h->nslots)
        return -1;
    return (h->running_slot + 1) % h->nslots;
}

/* Going "back" to an image that never confirmed itself, or that its
 * firmware rejected, is not going back to a known-good image. */
static int check_rollback_target(const aloft_native_hello_t *h, host_error_t *e)
{
    int t = other_slot(h);
    if (t < 0)
        return ALOFT_OK;   /* the device decides */
    const aloft_native_slot_t *s = &h->slots[t], *run = &h->slots[h->running_slot];
    if (!s->has_image || (s->state != ALOFT_OTA_ABORTED && s->state != ALOFT_OTA_INVALID))
        return ALOFT_OK;
    return host_error_set(e, ALOFT_ERR_NO_BOOTABLE, "nothing to roll back to",
                          "%s holds %s %s, which %s: it is not a known-good image to go back "
                          "to; the device keeps running %s %s in %s. Upload a fixed image "
                          "instead; nothing was changed", s->label.s, s->project.s,
                          s->version.s, s->state == ALOFT_OTA_ABORTED
                              ? "never confirmed itself and was rolled back (ABORTED)"
                              : "its firmware rejected (INVALID)",
                          run->has_image ? run->project.s : "its image",
                          run->has_image ? run->version.s : "", run->label.s);
}

/* ROLLBACK, then RESULT or ERROR. */
static int rollback_exchange(native_session_t *s, native_rollback_result_t *r)
{
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_ROLLBACK;
    int err = native_conn_queue(&s->c, &m);
    if (err)
        return host_error_set(native_err(s), err, "internal error", "the ROLLBACK did not encode");
    if ((err = native_conn_flush(&s->c, host_now_ms() + s->run->timeout_ms)) != 0)
        return host_error_set(native_err(s), err, "the rollback could not be sent", "%s; nothing "
                              "was changed", native_closed_why(&s->c));
    /* The device verifies the other slot's image first: as long as a resume. */
    int got = native_conn_recv(&s->c, &m, host_now_ms() + NATIVE_HOST_ACCEPT_MS);
    if (got < 0 && got != ALOFT_ERR_PROTO)
        return host_error_set(native_err(s), got, "no answer to the rollback",
                              "%s; the device may still have switched: check with 'aloft info' "
                              "before trying again", got == ALOFT_ERR_TIMEOUT
                                  ? "no answer within 30 s" : got == ALOFT_ERR_AUTH
                                  ? "a frame failed its MAC check" : native_closed_why(&s->c));
    if (got > 0 && m.type == ALOFT_MSG_ERROR) {
        snprintf(s->run->r->device_text, sizeof s->run->r->device_text, "%s", m.u.error.text.s);
        return native_explain_error(native_err(s), &m.u.error, false);
    }
    if (got < 0 || m.type != ALOFT_MSG_RESULT || m.u.result.slot >= s->hello.nslots)
        return host_error_set(native_err(s), ALOFT_ERR_PROTO, "unexpected answer to the rollback",
                              "the device answered with neither a RESULT naming one of its app "
                              "slots nor an ERROR; its firmware does not follow the protocol");
    const aloft_native_slot_t *slot = &s->hello.slots[m.u.result.slot];
    r->slot = m.u.result.slot;
    snprintf(r->slot_label, sizeof r->slot_label, "%s", slot->label.s);
    snprintf(r->project, sizeof r->project, "%s", slot->has_image ? slot->project.s : "");
    snprintf(r->version, sizeof r->version, "%s", m.u.result.version.s);
    r->reboot = m.u.result.reboot != 0;
    return ALOFT_OK;
}

/* The device's "no bootable image" is worded for a device that cannot
 * start; here it only means there is nothing to go back to. */
static void explain_nothing_there(native_rollback_result_t *r)
{
    const aloft_native_hello_t *h = &r->hello;
    int t = other_slot(h);
    if (r->error.code != ALOFT_ERR_NO_BOOTABLE || !r->have_hello || t < 0 ||
        r->device_text[0] == '\0')   /* our own refusal says it already */
        return;
    const aloft_native_slot_t *run = &h->slots[h->running_slot];
    host_error_set(&r->error, ALOFT_ERR_NO_BOOTABLE, "nothing to roll back to",
                   "%s holds no complete image for this chip that verifies (%s), so the device "
                   "has nothing to go back to; it keeps running %s %s in %s, nothing was changed",
                   h->slots[t].label.s, h->slots[t].has_image ? "its image is damaged or "
                   "incomplete" : "it is empty, or holds an upload that never finished", run->has_image ? run->project.s : "its image",
                   run->has_image ? run->version.s : "", run->label.s);
}

int native_rollback(const native_peer_t *p, native_rollback_result_t *r)
{
    native_run_t run;
    static native_session_t s;
    static native_result_t scratch;
    memset(r, 0, sizeof *r);
    memset(&scratch, 0, sizeof scratch);
    int err = run_init(&run, p, &scratch);
    run.command = true;
    if (!err) {
        err = native_session_open(&s, &run);
        r->have_hello = s.hello.version == ALOFT_NATIVE_VERSION;
        r->hello = s.hello;
        r->authenticated = s.authenticated;
        r->open_device = r->have_hello && !(s.hello.caps & ALOFT_CAP_AUTH);
        r->not_native = err && s.not_native;
        if (!err)
            err = check_rollback_target(&s.hello, &scratch.error);
        if (!err)
            err = rollback_exchange(&s, r);
        native_session_close(&s);
    }
    memset(run.client_key, 0, sizeof run.client_key);
    memset(run.server_key, 0, sizeof run.server_key);
    snprintf(r->device_addr, sizeof r->device_addr, "%s", scratch.device_addr);
    snprintf(r->device_text, sizeof r->device_text, "%s", scratch.device_text);
    r->ok = err == ALOFT_OK;
    if (!r->ok) {
        r->error = scratch.error;
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
