/*
 * cli/upload_native.c — `aloft upload` over the aloft native
 * protocol: runs native_upload (host/native_host.h) and shows what
 * happens. Status lines and progress go to stdout; warnings and the
 * reconnect story ("connection lost at 41%; reconnecting in 2 s ...
 * resumed at 786 432 bytes") to stderr, so they stay visible with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/wire/image.h"
#include "cli.h"
#include "native_host.h"
#include "upload.h"

/* The stderr line "reconnecting ..." waits for its outcome. */
static void end_err_line(upload_ui_t *ui)
{
    if (ui->err_line_open)
        fputc('\n', stderr);
    ui->err_line_open = false;
}

/* Whether the device checks signatures (cap SIGNED), and what that means
 * for this file. */
static void say_signatures(const upload_args_t *a, const aloft_native_hello_t *h)
{
    bool required = (h->caps & ALOFT_CAP_SIGNED) != 0;
    if (required && a->sig_block_len)
        printf("signatures: required by the device; this file is signed (key id %s): the "
               "signature goes ahead of the image and is checked before anything is erased\n",
               a->key_id);
    else if (required)
        printf("signatures: required by the device, but this image is not signed: the device "
               "will refuse it (sign it with 'aloft sign --key KEY.key')\n");
    else if (a->sig_block_len)
        printf("signatures: the device accepts unsigned images (it has no signing keys): the "
               "signature is not checked by that device\n");
    else
        printf("signatures: the device accepts unsigned images (it has no signing keys)\n");
}

/* Where the device will put a filesystem image (docs/PROTOCOL.md 4.5), as
 * far as the HELLO tells: it does not list a fs_stage partition, so an
 * inactive slot holding firmware means "in place, unless it has one". */
static void say_fs_staging(const aloft_native_hello_t *h)
{
    if (h->running_slot >= h->nslots || h->nslots < 2) {
        fprintf(stderr, "aloft: warning: the device has no second app slot: unless it has a "
                        "fs_stage partition it writes the filesystem image in place, and an "
                        "upload that breaks off leaves the filesystem half-written\n");
        return;
    }
    const aloft_native_slot_t *s = &h->slots[(h->running_slot + 1) % h->nslots];
    if (s->has_image && s->state != ALOFT_OTA_INVALID && s->state != ALOFT_OTA_ABORTED)
        fprintf(stderr, "aloft: warning: the inactive slot %s holds %s %s (the rollback "
                        "image): unless the device has a fs_stage partition it writes the "
                        "filesystem image in place, and an upload that breaks off leaves the "
                        "filesystem half-written (upload it again, or use the web page, which "
                        "can stage it in %s)\n",
                s->label.s, s->project.s, s->version.s, s->label.s);
    else
        printf("filesystem: staged in a fs_stage partition or the free slot %s, and copied "
               "into the filesystem once it checks out\n", s->label.s);
}

static void on_hello(upload_ui_t *ui, const aloft_native_hello_t *h)
{
    char caps[64];
    ui->caps_known = true;
    ui->caps = h->caps;
    if (ui->a->json || ui->said_hello)
        return;
    ui->said_hello = true;
    native_caps_text(h->caps, caps, sizeof caps);
    printf("device %s: %s, aloft native v%u (%s)\n", h->name.len ? h->name.s : "(unnamed)",
           aloft_chip_name(h->chip_id), (unsigned)h->version, caps);
    say_signatures(ui->a, h);
    if (ui->a->fs)
        say_fs_staging(h);
}

static void on_accepted(upload_ui_t *ui, const native_event_t *ev)
{
    char n[32];
    if (ui->err_line_open)
        fputs(" ok\n", stderr);
    ui->err_line_open = false;
    if (!ui->a->json && ev->offset > 0)
        printf("the device already holds %s bytes of this image (an interrupted upload): "
               "resuming there\n", host_grouped(ev->offset, n));
    upload_progress_start(ui, ev->offset);
}

static void on_lost(upload_ui_t *ui, const native_event_t *ev)
{
    int pct = ev->total ? (int)(ev->offset * 100 / ev->total) : 0;
    upload_end_line(ui);
    fflush(stdout);
    end_err_line(ui);
    if (ev->busy_with_us)
        fprintf(stderr, "aloft: the device is still busy with an earlier connection of this "
                "upload (it holds %d%% of it); retrying in %u s ...", pct, ev->delay_s);
    else if (ev->reconnect_failed)
        fprintf(stderr, "aloft: reconnecting failed (%s); retrying in %u s (attempt %u of %u) ...",
                ev->text, ev->delay_s, ev->attempt, ev->attempts);
    else
        fprintf(stderr, "aloft: connection lost at %d%% (%s); reconnecting in %u s ...", pct,
                ev->text, ev->delay_s);
    ui->err_line_open = true;
}

static void on_resumed(upload_ui_t *ui, const native_event_t *ev)
{
    char n[32];
    if (ui->err_line_open)
        fprintf(stderr, " resumed at %s bytes\n", host_grouped(ev->offset, n));
    else
        fprintf(stderr, "aloft: resumed at %s bytes\n", host_grouped(ev->offset, n));
    ui->err_line_open = false;
}

static void on_event(void *ctx, const native_event_t *ev)
{
    upload_ui_t *ui = ctx;
    bool quiet = ui->a->json;
    switch (ev->kind) {
    case NATIVE_EV_HELLO: on_hello(ui, ev->hello); break;
    case NATIVE_EV_OPEN_DEVICE:
        fprintf(stderr, "aloft: warning: the device has no password: anyone on its network can "
                        "update its firmware; give it one\n");
        break;
    case NATIVE_EV_PASSWORD_UNUSED:
        fprintf(stderr, "aloft: warning: --auth was given but the device has no password: "
                        "anyone on its network can update its firmware\n");
        break;
    case NATIVE_EV_AUTH_OK:
        if (!quiet && !ui->said_auth)
            printf("logged in (the device proved it knows the password too)\n");
        ui->said_auth = true;
        break;
    case NATIVE_EV_NO_DEFLATE:
        if (!quiet)
            printf("sending uncompressed: %s\n", ev->text);
        break;
    case NATIVE_EV_NO_PATCH:
        if (!quiet)
            printf("sending the full image: %s\n", ev->text);
        break;
    case NATIVE_EV_ACCEPTED: on_accepted(ui, ev); break;
    case NATIVE_EV_LOST: on_lost(ui, ev); break;
    case NATIVE_EV_RESUMED: on_resumed(ui, ev); break;
    case NATIVE_EV_CONNECTED:
    case NATIVE_EV_SENT_ALL:
        break;
    }
    fflush(stdout);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    upload_ui_t *ui = ctx;
    (void)total;
    ui->done = done;
    if (ui->progress_on && !ui->a->json && !ui->err_line_open)
        progress_update(&ui->progress, done, progress_clock());
}

/* --base: the patch is made once the connection is up (native_upload_t
 * make_patch), from the base loaded before. */
static void make_patch(void *ctx, const uint8_t **patch, size_t *patch_len)
{
    upload_base_t *b = ctx;
    upload_base_make(b);
    *patch = b->patch;
    *patch_len = b->patch_len;
}

void upload_native(const upload_args_t *a, const uint8_t *data, size_t len, upload_ui_t *ui,
                   upload_outcome_t *o)
{
    native_upload_t u;
    native_result_t r;
    memset(&u, 0, sizeof u);
    u.peer.device = a->device;
    u.peer.password = a->auth;
    if (a->timeout_given)
        u.peer.connect_timeout_ms = u.peer.timeout_ms = a->timeout_s * 1000u;
    u.fs = a->fs;
    u.no_reboot = a->no_reboot;
    u.no_compress = a->no_compress;
    u.window = a->window;
    u.retries = a->retries;
    /* DATA is the image alone; its size and SHA-256 are the OFFER's. */
    u.data = data;
    u.size = len - a->sig_block_len;
    u.sig_block = a->sig_block_len ? a->sig_block : NULL;
    u.sig_block_len = a->sig_block_len;
    ui->total = u.size;
    u.project = a->project;
    u.version = a->version;
    u.secure_version = a->secure_version;
    u.on_progress = on_progress;
    u.on_event = on_event;
    u.ctx = ui;
    upload_base_t base;
    memset(&base, 0, sizeof base);
    if (a->base && upload_base_load(a, &u.peer, data, u.size, &base) != CLI_OK) {
        upload_base_end(&base);
        host_error_set(&o->error, ALOFT_ERR_IO, "cannot read --base",
                       "%s: check the path (a file, or a directory of earlier builds)", a->base);
        o->protocol = "native";
        return;
    }
    if (a->base) {
        u.make_patch = make_patch;
        u.patch_ctx = &base;
    }
    native_upload(&u, &r);
    upload_base_end(&base);
    end_err_line(ui);
    o->protocol = "native";
    o->ok = o->activated = r.ok;
    o->no_listener = r.no_listener;
    o->error = r.error;
    /* The device's text is cut at 32 bytes: only say it when it differs. */
    if (strncmp(r.device_text, r.error.message, strlen(r.device_text)) != 0)
        snprintf(o->device_text, sizeof o->device_text, "%s", r.device_text);
    if (r.error.code == ALOFT_ERR_PENDING) {   /* what to do about it from here */
        size_t hl = strlen(o->error.hint);
        snprintf(o->error.hint + hl, sizeof o->error.hint - hl, "; 'aloft info %s' shows its "
                 "state, 'aloft rollback %s' goes back to the previous firmware now", a->device,
                 a->device);
    }
    o->auth = r.authenticated ? "scram-sha256" : "none";
    o->bytes = r.bytes;
    o->seconds = r.seconds;
    o->rate_kib_s = r.rate_kib_s;
    snprintf(o->device, sizeof o->device, "%s", r.device_addr);
    o->wire_bytes = r.wire_bytes;
    o->resumed_from = r.resumed_from;
    o->reconnects = r.reconnects;
    o->compressed = r.compressed;
    o->patched = r.patched;
    snprintf(o->slot_label, sizeof o->slot_label, "%s", r.slot_label);
    snprintf(o->new_version, sizeof o->new_version, "%s", r.version);
    o->slot = r.slot;
    o->reboot = r.reboot;
    o->caps_known = ui->caps_known;
    o->signatures_required = ui->caps_known && (ui->caps & ALOFT_CAP_SIGNED);
}
