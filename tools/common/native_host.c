/*
 * tools/common/native_host.c — the native uploader's outer loop: set up
 * the run (address, image hash, timeouts), run sessions, and reconnect
 * with backoff when a connection breaks once the device has ACCEPTed;
 * and `info`, one HELLO (plus a login when a password is given). See
 * native_host.h; one connection's exchange is in native_session.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
