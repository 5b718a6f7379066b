/*
 * host/native_host.c — the native client's commands over the host engine
 * (aloft/native_host.h): upload with the reconnect policy (backoff,
 * resume from the device's new ACCEPT, the same image offered again),
 * info and rollback. One connection is native_session.c, its socket loop
 * native_conn.c, the words for failures native_explain.c. See
 * native_host.h.
 */
#include <stdio.h>
#include <string.h>

#include "native_host_priv.h"
#include "progress.h"

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

/* ---- upload ---------------------------------------------------------- */

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
    native_emit(run, &ev, s->connected ? hello : NULL);
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
        int err = native_session_run(&s, run);
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
        host_sleep_ms(delay * 1000u);
        run->resuming = true;
        r->reconnects++;
    }
}

int native_upload(const native_upload_t *u, native_result_t *r)
{
    native_run_t run;
    uint8_t sha[ALOFT_SHA256_LEN];
    memset(r, 0, sizeof *r);
    int err = native_run_init(&run, &u->peer, &r->error);
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
        run.cfg.window = u->window;
        run.cfg.project = u->project;
        run.cfg.version = u->version;
        run.cfg.secure_version = u->secure_version;
        run.cfg.sig_block = u->sig_block;
        run.cfg.sig_block_len = u->sig_block_len;
        run.cfg.patch = u->patch;
        run.cfg.patch_len = u->patch_len;
        if (u->result_timeout_ms)
            run.cfg.result_timeout_ms = u->result_timeout_ms;
        err = run_upload(&run, r);
    }
    native_run_end(&run);
    snprintf(r->device_addr, sizeof r->device_addr, "%s", run.addr_text);
    r->ok = err == ALOFT_OK;
    r->resumed_from = run.resumed_from;
    r->compressed = run.compressed;
    r->patched = run.patched;
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
    int err = native_run_init(&run, p, &info->error);
    if (!err) {
        run.cfg.op = ALOFT_NATIVE_OP_INFO;
        err = native_session_run(&s, &run);
        const aloft_native_hello_t *hello = aloft_native_host_hello(&s.eng);
        if (hello && s.connected)
            info->hello = *hello;
        info->authenticated = s.authenticated;
    }
    native_run_end(&run);
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
    int err = native_run_init(&run, p, &r->error);
    run.device_text = r->device_text;
    if (!err) {
        run.cfg.op = ALOFT_NATIVE_OP_ROLLBACK;
        err = native_session_run(&s, &run);
        const aloft_native_hello_t *hello = aloft_native_host_hello(&s.eng);
        r->have_hello = s.connected && hello != NULL;
        if (r->have_hello)
            r->hello = *hello;
        r->authenticated = s.authenticated;
        r->open_device = r->have_hello && !(r->hello.caps & ALOFT_CAP_AUTH);
        r->not_native = err && native_not_native(&s);
        if (!err)
            rollback_result(r, &s);
    }
    native_run_end(&run);
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
