/*
 * cli/cmd_upload.c — `aloft upload`: send firmware to a device over
 * the network.
 *
 * The protocol is chosen by --protocol from a table. The default, auto,
 * tries the aloft native protocol (upload_native.c) and falls back to
 * espota (ArduinoOTA) only when nothing at DEVICE listens for it (TCP
 * refused), saying on stderr that it is a downgrade. An app image is
 * checked here first, with the parser the device runs, so a broken file
 * never reaches the device. After a native app upload that restarts the
 * device, the RESULT is not the end: check_restart waits for the device
 * and reads what it runs (boot_check.h). Progress and the summary go to
 * stdout, problems to stderr; --json replaces stdout with one object, the
 * same for every protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/wire/image.h"
#include "aloft/wire/signature.h"
#include "cli.h"
#include "espota_host.h"
#include "fileio.h"
#include "host_os.h"
#include "native_host.h"
#include "progress.h"
#include "sign_keys.h"
#include "upload.h"

static const char upload_help[] =
    "usage: aloft upload [options] DEVICE FIRMWARE\n\n"
    "Upload FIRMWARE (an app .bin, or a filesystem image with --fs) to DEVICE\n"
    "over the network and wait until the device confirms it.\n\n"
    "  DEVICE              HOST or HOST:PORT (IPv4 address, name or NAME.local as\n"
    "                      'aloft discover' lists it; port 3232: aloft native on\n"
    "                      TCP, espota on UDP; ESP8266 espota uses 8266)\n"
    "  --protocol NAME     auto (default: native; espota only if nothing listens on\n"
    "                      the native TCP port), native, or espota\n"
    "                      (ArduinoOTA)\n"
    "  --auth PASS         the OTA password (native: the device's; espota:\n"
    "                      ArduinoOTA.setPassword in the firmware)\n"
    "  --fs                FIRMWARE is a filesystem image (SPIFFS/LittleFS/FAT)\n"
    "  --timeout SEC       seconds to wait for each answer from the device (default 10;\n"
    "                      native: also the connect timeout, default 5)\n"
    "  --json              print one JSON object with the result, nothing else\n\n"
    "native only:\n"
    "  --no-reboot         activate the new image but let the device restart later\n"
    "                      (espota cannot: refused with it, and no fallback to it)\n"
    "  --no-compress       send the image as is (default: deflate if the device can)\n"
    "  --base OLD          send a delta patch from OLD, the image the device runs (a\n"
    "                      file, or a directory: the file whose SHA-256 the device\n"
    "                      reports); the full image when it does not apply (says why)\n"
    "  --retries N         reconnects in a row without progress before giving up\n"
    "                      (default 6; waits 1, 2, 4 ... 30 s between them)\n"
    "  --window N          at most N bytes unacknowledged (default: the device's\n"
    "                      window); half the device's window sends N-byte chunks,\n"
    "                      each acknowledged before the next (ESPHome's pace; for\n"
    "                      comparisons)\n"
    BOOT_CHECK_HELP "\n"
    "espota only:\n"
    "  --md5-target        the device keeps an MD5 password hash (ESP32 3.3.1+ built\n"
    "                      with setPasswordHash(md5)); otherwise tried automatically\n"
    "  --host-ip ADDR      listen on this address of this computer (default all)\n"
    "  --host-port N       TCP port the device connects back to (default random\n"
    "                      10000-60000); choose one your firewall lets in\n"
    "  --tries N           invitations to send before giving up (default 10)\n"
    "  --stop-and-wait     send 1 KiB and wait for its ack, like espota.py (slower;\n"
    "                      for comparisons)\n\n"
    "An app image is checked first (header, segments, checksum, SHA-256); a broken\n"
    "file is refused before anything is sent. A signed file (from 'aloft sign') is\n"
    "sent so that the device can check it: native sends the signature block ahead\n"
    "of the image (checked before anything is erased), espota uploads the file as\n"
    "is (checked before activation). A native upload that loses its\n"
    "connection reconnects and resumes where the device's flash left off; so does\n"
    "running the same command again after an interruption.\n"
    "After a native app upload the device restarts; aloft waits for it and reads\n"
    "which image it runs (espota cannot: ArduinoOTA has no status query).\n"
    "Exit status: 0 the device took the update (native app: and runs it, confirmed\n"
    "or on probation), 1 failure, 2 usage, 3 activated but the device restarted\n"
    "into the previous image (upload again), 4 activated but the device did not\n"
    "come back within --boot-timeout.\n";

/* ---- output -------------------------------------------------------- */

void upload_end_line(upload_ui_t *ui)
{
    if (ui->progress_on && ui->progress.tty && ui->progress.drawn) {
        putchar('\n');
        ui->progress.drawn = 0;
    }
    if (ui->line_open)
        putchar('\n');
    ui->line_open = false;
}

void upload_progress_start(upload_ui_t *ui, uint64_t done)
{
    if (ui->a->json)
        return;
    upload_end_line(ui);
    progress_init(&ui->progress, stdout, host_is_terminal(stdout), "upload", ui->total,
                  progress_clock());
    if (done)
        progress_rebase(&ui->progress, done, progress_clock());
    ui->progress_on = true;
    progress_update(&ui->progress, done, progress_clock());
}

static void on_event(void *ctx, espota_event_t ev, const char *detail)
{
    upload_ui_t *ui = ctx;
    if (ui->a->json)
        return;
    switch (ev) {
    case ESPOTA_EV_INVITE:
        printf("inviting %s ", detail);
        ui->line_open = true;
        break;
    case ESPOTA_EV_NO_ANSWER:
        putchar('.');
        ui->line_open = true;
        break;
    case ESPOTA_EV_AUTH:
        upload_end_line(ui);
        printf("authenticating (%s)... ", detail);
        ui->line_open = true;
        break;
    case ESPOTA_EV_AUTH_OK:
        printf("ok");
        upload_end_line(ui);
        break;
    case ESPOTA_EV_AUTH_FAILED:
        printf("refused");
        upload_end_line(ui);
        break;
    case ESPOTA_EV_AUTH_RETRY_MD5:
        printf("retrying with the MD5 secret (device built with an MD5 password hash?)\n");
        break;
    case ESPOTA_EV_CONNECTED:
        upload_end_line(ui);
        printf("device connected from %s\n", detail);
        upload_progress_start(ui, 0);
        break;
    default:
        break;
    }
    fflush(stdout);
}

static void on_progress(void *ctx, uint64_t sent, uint64_t confirmed, uint64_t total)
{
    upload_ui_t *ui = ctx;
    (void)confirmed;
    (void)total;
    ui->done = sent;
    if (!ui->progress_on || ui->a->json)
        return;
    progress_update(&ui->progress, sent, progress_clock());
}

/* What only a native upload reports: wire bytes, resume, the result. */
static void print_json_native(const upload_outcome_t *o)
{
    printf(",\"wire_bytes\":%llu,\"resumed_from\":%lu,\"reconnects\":%u,\"compressed\":%s",
           (unsigned long long)o->wire_bytes, (unsigned long)o->resumed_from, o->reconnects,
           o->compressed ? "true" : "false");
    printf(",\"patched\":%s", o->patched ? "true" : "false");
    printf(",\"signatures_required\":%s",
           !o->caps_known ? "null" : o->signatures_required ? "true" : "false");
    if (!o->activated)
        return;
    printf(",\"slot\":");
    json_str(o->slot_label);
    printf(",\"new_version\":");
    json_str(o->new_version);
    printf(",\"reboot\":%s", o->reboot ? "true" : "false");
}

static void print_json(const upload_args_t *a, const upload_outcome_t *o)
{
    printf("{\"ok\":%s,\"protocol\":", o->ok ? "true" : "false");
    json_str(o->protocol ? o->protocol : a->protocol);
    printf(",\"fallback\":%s,\"device\":", o->fallback ? "true" : "false");
    json_str(o->device[0] ? o->device : a->device);
    printf(",\"file\":");
    json_str(a->file);
    printf(",\"signed\":%s", a->sig_block_len ? "true" : "false");
    printf(",\"bytes\":%llu,\"seconds\":%.3f,\"rate_kib_s\":%.1f,\"auth\":\"%s\"",
           (unsigned long long)o->bytes, o->seconds, o->rate_kib_s, o->auth);
    if (o->protocol && strcmp(o->protocol, "native") == 0)
        print_json_native(o);
    boot_check_json(&o->boot);
    printf(",\"error\":");
    if (o->ok) {
        printf("null}\n");
        return;
    }
    printf("{\"code\":%d,\"message\":", o->error.code);
    json_str(o->error.message);
    printf(",\"hint\":");
    json_str(o->error.hint);
    if (o->device_text[0]) {
        printf(",\"device_text\":");
        json_str(o->device_text);
    }
    printf("}}\n");
}

static void print_failure(const upload_outcome_t *o)
{
    if (o->activated) {   /* the hint is the whole story: what happened, what to do */
        fprintf(stderr, "aloft: %s\n", o->error.hint);
        return;
    }
    fprintf(stderr, "aloft: upload failed: %s\n", o->error.message);
    if (o->error.hint[0])
        fprintf(stderr, "  hint: %s\n", o->error.hint);
    if (o->device_text[0])
        fprintf(stderr, "  device said: \"%s\"\n", o->device_text);
}

static void print_weak_auth(const upload_outcome_t *o)
{
    if (o->weak_auth)
        fprintf(stderr, "aloft: warning: the device uses an MD5-based login, which is weak (one "
                        "sniffed login can be cracked offline); update it to ESP32 core 3.3.1+ "
                        "and a SHA-256 password (setPassword, or setPasswordHash with SHA-256)\n");
}

/* "done: 1 048 576 image bytes in 2.10 s (487.6 KiB/s), 612 345 bytes on
 * the wire (58 %, deflate); the device activated app1 (2.0.0) and restarts". */
static void print_native_done(const upload_args_t *a, const upload_outcome_t *o)
{
    char img[32], wire[32], from[32];
    unsigned pct = o->bytes ? (unsigned)(o->wire_bytes * 100 / o->bytes) : 0;
    printf("done: %s image bytes", host_grouped(o->bytes, img));
    if (o->resumed_from)
        printf(" (resumed at %s)", host_grouped(o->resumed_from, from));
    printf(" in %.2f s (%.1f KiB/s), %s bytes on the wire (%u %%, %s)", o->seconds,
           o->rate_kib_s, host_grouped(o->wire_bytes, wire), pct,
           o->patched ? "delta patch" : o->compressed ? "deflate" : "uncompressed");
    if (o->reconnects)
        printf(", %u reconnect%s", o->reconnects, o->reconnects == 1 ? "" : "s");
    if (a->fs) {
        printf("; the device wrote the filesystem image%s\n", o->reboot ? " and restarts now" : "");
        return;
    }
    printf("; the device activated %s%s%s%s", o->slot_label[0] ? o->slot_label : "the update",
           o->new_version[0] ? " (" : "", o->new_version, o->new_version[0] ? ")" : "");
    printf(o->reboot ? " and restarts now\n" : "; it runs it after its next restart\n");
}

/* A native app upload that restarts the device: wait for it and read what
 * it runs (the RESULT only says the slot is selected); otherwise why not. */
static void check_restart(const upload_args_t *a, upload_outcome_t *o)
{
    native_peer_t p;
    const char *why = !o->activated ? "the upload failed"
                      : strcmp(o->protocol, "native") != 0
                          ? "espota cannot confirm the device restarted into it (ArduinoOTA "
                            "has no status query)"
                      : a->fs ? "a filesystem image: the device does not restart"
                      : !o->reboot ? "--no-reboot: the device runs it after its next restart"
                                   : NULL;
    if (why) {   /* said only where the summary does not say it already */
        boot_check_skip(&o->boot, why, o->activated && strcmp(o->protocol, "native") != 0);
        return;
    }
    memset(&p, 0, sizeof p);
    p.device = a->device;
    if (a->timeout_given)
        p.connect_timeout_ms = p.timeout_ms = a->timeout_s * 1000u;
    boot_check_run(&o->boot, &a->boot, &p, o->slot, a->json);
    if (!boot_check_ok(&o->boot)) {
        o->ok = false;
        boot_check_error(&o->boot, "uploaded and activated", "run the upload again", &o->error);
    }
}

static int report(const upload_args_t *a, upload_outcome_t *o, upload_ui_t *ui)
{
    bool native = o->protocol && strcmp(o->protocol, "native") == 0;
    if (ui->progress_on)
        progress_end(&ui->progress, ui->done, progress_clock(), o->activated);
    upload_end_line(ui);
    if (!a->json && o->activated && native)
        print_native_done(a, o);
    else if (!a->json && o->activated)
        printf("done: %llu bytes in %.2f s (%.1f KiB/s); the device confirmed the update\n",
               (unsigned long long)o->bytes, o->seconds, o->rate_kib_s);
    fflush(stdout);   /* the status line before any message on stderr */
    check_restart(a, o);
    if (a->json)
        print_json(a, o);
    if (!o->ok) {
        fflush(stdout);
        print_failure(o);
        return o->activated ? boot_check_exit(&o->boot) : CLI_FAIL;
    }
    if (!a->json)
        boot_check_print(&o->boot);
    fflush(stdout);
    print_weak_auth(o);
    return CLI_OK;
}

/* ---- protocols ----------------------------------------------------- */

static const char *auth_name(aloft_espota_auth_t auth)
{
    return auth == ALOFT_ESPOTA_AUTH_MD5 ? "md5" : auth == ALOFT_ESPOTA_AUTH_PBKDF2 ? "pbkdf2" : "none";
}

static void upload_espota(const upload_args_t *a, const uint8_t *data, size_t len, upload_ui_t *ui,
                          upload_outcome_t *o)
{
    espota_upload_t u;
    espota_result_t r;
    memset(&u, 0, sizeof u);
    u.device = a->device;
    u.host_ip = a->host_ip;
    u.host_port = (uint16_t)a->host_port;
    u.password = a->auth;
    u.md5_target = a->md5_target;
    u.fs = a->fs;
    u.stop_and_wait = a->stop_and_wait;
    u.tries = a->tries;
    u.invite_timeout_ms = u.timeout_ms = a->timeout_s * 1000u;
    u.filename = a->file;
    u.data = data;   /* the whole file: a signature block travels inside it */
    u.size = len;
    ui->total = len;
    if (a->sig_block_len && !a->json)
        printf("signed file: uploaded as is (image + %zu-byte signature block); a device that "
               "requires signatures checks it before activating the image\n", a->sig_block_len);
    u.on_event = on_event;
    u.on_progress = on_progress;
    u.ctx = ui;
    espota_upload(&u, &r);
    o->ok = o->activated = r.ok;
    o->error = r.error;
    snprintf(o->device_text, sizeof o->device_text, "%s", r.device_text);
    o->auth = auth_name(r.auth);
    o->weak_auth = r.ok && (r.auth == ALOFT_ESPOTA_AUTH_MD5 || r.md5_secret);
    o->bytes = r.bytes;
    o->seconds = r.seconds;
    o->rate_kib_s = r.rate_kib_s;
    snprintf(o->device, sizeof o->device, "%s", r.device_addr);
    o->protocol = "espota";
}

/* Native first; espota only when nothing at DEVICE listens for native (a
 * device that answered and then was busy, silent or failed is not one to
 * downgrade). The downgrade is said on stderr, --json or not. */
static void upload_auto(const upload_args_t *a, const uint8_t *data, size_t len, upload_ui_t *ui,
                        upload_outcome_t *o)
{
    upload_native(a, data, len, ui, o);
    if (!o->no_listener)
        return;
    fflush(stdout);
    if (a->no_reboot) {
        host_error_set(&o->error, ALOFT_ERR_ARG, "the device has no aloft native server and "
                       "espota cannot upload without a restart", "%s refused the native "
                       "connection (%s); ArduinoOTA always restarts the device after an upload, "
                       "so --no-reboot cannot be kept: drop --no-reboot to upload with espota, "
                       "or check the address and port", a->device, o->error.message);
        return;
    }
    fprintf(stderr, "aloft: %s: %s; falling back to espota (ArduinoOTA)\n", a->device,
            o->error.message);
    fprintf(stderr, "aloft: warning: espota is a downgrade: no mutual authentication (the "
                    "device does not prove it knows the password), no MACs (nothing catches a "
                    "corrupted or injected packet before the image checks), no resume\n");
    memset(o, 0, sizeof *o);
    o->fallback = true;
    upload_espota(a, data, len, ui, o);
}

typedef struct {
    const char *name;
    void (*run)(const upload_args_t *a, const uint8_t *data, size_t len, upload_ui_t *ui,
                upload_outcome_t *o);
} protocol_t;

static const protocol_t protocols[] = {
    {"auto", upload_auto},
    {"native", upload_native},
    {"espota", upload_espota},
};

static const protocol_t *find_protocol(const char *name)
{
    for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
        if (strcmp(protocols[i].name, name) == 0)
            return &protocols[i];
    return NULL;
}

/* ---- the command ----------------------------------------------------- */

/* An option at argv[*i]: 1 consumed, 0 not ours, negative CLI_USAGE. */
static int upload_option(upload_args_t *a, int argc, char **argv, int *i)
{
    const struct { const char *name; bool *on; } flags[] = {
        {"--fs", &a->fs}, {"--md5-target", &a->md5_target}, {"--json", &a->json},
        {"--stop-and-wait", &a->stop_and_wait}, {"--no-reboot", &a->no_reboot},
        {"--no-compress", &a->no_compress}};
    const struct { const char *name; const char **text; uint32_t *num; uint32_t max; } opts[] = {
        {"--protocol", &a->protocol, NULL, 0}, {"--auth", &a->auth, NULL, 0},
        {"--host-ip", &a->host_ip, NULL, 0}, {"--host-port", NULL, &a->host_port, 65535},
        {"--timeout", NULL, &a->timeout_s, 3600}, {"--tries", NULL, &a->tries, 1000},
        {"--retries", NULL, &a->retries, 100}, {"--base", &a->base, NULL, 0},
        {"--window", NULL, &a->window, 1u << 30}};
    int b = boot_opt("upload", argc, argv, i, &a->boot);
    if (b != 0)
        return b;
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
        if (strcmp(argv[*i], flags[k].name) == 0) {
            *flags[k].on = true;
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        const char *v = NULL;
        int m = cli_opt(argc, argv, i, opts[k].name, &v);
        if (m == 0)
            continue;
        if (m < 0)
            return -cli_usage("upload", "%s needs a value", opts[k].name);
        a->timeout_given = a->timeout_given || opts[k].num == &a->timeout_s;
        if (opts[k].text != NULL)
            *opts[k].text = v;
        else if (cli_parse_u32(v, false, opts[k].num) != 0 || *opts[k].num == 0 ||
                 *opts[k].num > opts[k].max)
            return -cli_usage("upload", "%s '%s' is not a number from 1 to %u", opts[k].name, v,
                              (unsigned)opts[k].max);
        return 1;
    }
    return 0;
}

static int parse_upload_args(upload_args_t *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->protocol = "auto";
    a->timeout_s = ESPOTA_HOST_TIMEOUT_MS / 1000u;
    for (int i = 1; i < argc; i++) {
        int m = upload_option(a, argc, argv, &i);
        if (m < 0)
            return -m;
        if (m > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("upload", "unknown option '%s'", argv[i]);
        if (a->device == NULL)
            a->device = argv[i];
        else if (a->file == NULL)
            a->file = argv[i];
        else
            return cli_usage("upload", "unexpected argument '%s' (DEVICE and FIRMWARE are "
                             "already given)", argv[i]);
    }
    if (a->device == NULL || a->file == NULL)
        return cli_usage("upload", "missing %s", a->device ? "FIRMWARE (the .bin to send)"
                                                           : "DEVICE and FIRMWARE");
    if (find_protocol(a->protocol) == NULL)
        return cli_usage("upload", "unknown protocol '%s' (available: auto, native, "
                         "espota)", a->protocol);
    if (a->no_reboot && strcmp(a->protocol, "espota") == 0)
        return cli_usage("upload", "--no-reboot cannot be used with --protocol espota: an "
                         "ArduinoOTA device restarts once the upload is done and espota has no "
                         "way to ask it not to; leave out --no-reboot, or use --protocol native "
                         "(an aloft device)");
    if (a->window && strcmp(a->protocol, "espota") == 0)
        return cli_usage("upload", "--window cannot be used with --protocol espota (its pace "
                         "is --stop-and-wait's or aloft's own)");
    if (a->base && (a->fs || strcmp(a->protocol, "espota") == 0))
        return cli_usage("upload", "--base cannot be used with %s: patches are for app images "
                         "over the native protocol (espota sends full images)",
                         a->fs ? "--fs" : "--protocol espota");
    char host[256];
    uint16_t port;
    if (host_parse_device(a->device, ALOFT_ESPOTA_PORT, host, sizeof host, &port) != 0)
        return cli_usage("upload", "DEVICE '%s' is not HOST or HOST:PORT (IPv4 address or name, "
                         "port 1-65535)", a->device);
    return CLI_OK;
}

/* A signature block at the end of the file: note it (the device checks
 * it), and warn when it describes another image than the one in front of
 * it (changed after signing: a device that requires signatures refuses). */
static void note_signature(upload_args_t *a, const uint8_t *data, size_t len)
{
    aloft_sig_block_t b;
    uint8_t sha[ALOFT_SHA256_LEN];
    size_t block = aloft_sig_trailer_len(data, len);
    if (block == 0 || aloft_sig_parse(data + len - block, block, &b) != 0)
        return;
    a->sig_block = data + len - block;
    a->sig_block_len = block;
    sign_key_id_hex(b.meta.key_id, a->key_id);
    if (aloft_hash_oneshot(host_crypto->sha256, data, len - block, sha) == 0 &&
        aloft_sig_check_image(&b.meta, (uint32_t)(len - block), sha) != 0)
        fprintf(stderr, "aloft: warning: %s: the signature block does not describe the image in "
                "front of it (changed after signing?); a device that requires signatures will "
                "refuse it\n", a->file);
}

/* A filesystem image has no format to check: say what it is, and warn
 * when its block is not a filesystem image's. */
static int check_fs_image(upload_args_t *a, const uint8_t *data, size_t len)
{
    aloft_sig_block_t b;
    char n[32];
    note_signature(a, data, len);
    if (a->sig_block_len && aloft_sig_parse(a->sig_block, a->sig_block_len, &b) == 0 &&
        b.meta.target != ALOFT_TARGET_FS)
        fprintf(stderr, "aloft: warning: %s is signed as an app image, not a filesystem image; "
                "a device that requires signatures will refuse it (sign it with 'aloft sign "
                "--fs --chip CHIP')\n", a->file);
    if (!a->json)
        printf("%s: filesystem image, %s bytes, %s%s%s\n", a->file,
               host_grouped(len - a->sig_block_len, n),
               a->sig_block_len ? "signed (key id " : "not signed",
               a->sig_block_len ? a->key_id : "", a->sig_block_len ? ")" : "");
    return CLI_OK;
}

/* Refuse a broken app image before the device sees it; note its project
 * and version for the native OFFER, and its signature block if signed. */
static int check_app_image(upload_args_t *a, const uint8_t *data, size_t len,
                           upload_outcome_t *o)
{
    static aloft_image_info_t info;   /* outlives the check: a->project points in */
    aloft_diag_t diag;
    char n[32];
    memset(&diag, 0, sizeof diag);
    note_signature(a, data, len);
    size_t image_len = len - a->sig_block_len;
    if (aloft_image_check(data, image_len, host_crypto->sha256, &info, &diag) == 0) {
        if (info.has_desc) {
            a->project = info.desc.project_name;
            a->version = info.desc.version;
            a->secure_version = info.desc.secure_version;
        }
        if (!a->json)
            printf("%s: %s app image, %s bytes, %s %s%s%s%s\n", a->file,
                   aloft_chip_name(info.chip_id), host_grouped(image_len, n),
                   info.has_desc ? info.desc.project_name : "(no app description)",
                   info.has_desc ? info.desc.version : "",
                   a->sig_block_len ? ", signed (key id " : ", not signed",
                   a->sig_block_len ? a->key_id : "", a->sig_block_len ? ")" : "");
        return CLI_OK;
    }
    host_error_from_diag(&o->error, &diag);
    snprintf(o->error.message, sizeof o->error.message, "%s is not a valid app image: %s",
             a->file, aloft_strerror(diag.err));
    size_t hl = strlen(o->error.hint);
    snprintf(o->error.hint + hl, sizeof o->error.hint - hl,
             "%snothing was sent to the device (use --fs for a filesystem image)",
             hl ? "; " : "");
    return CLI_FAIL;
}

int cmd_upload(int argc, char **argv)
{
    upload_args_t a;
    upload_outcome_t o;
    upload_ui_t ui;
    size_t len = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(upload_help, stdout);
            return CLI_OK;
        }
    }
    int rc = parse_upload_args(&a, argc, argv);
    if (rc != CLI_OK)
        return rc;
    memset(&o, 0, sizeof o);
    memset(&ui, 0, sizeof ui);
    ui.a = &a;
    o.auth = "none";
    /* says why on stderr when it fails, and in o.error for --json */
    uint8_t *data = read_file_error(a.file, &len, &o.error);
    if (data == NULL && !a.json)
        return CLI_FAIL;
    ui.total = len;
    if (data != NULL && len == 0)
        host_error_set(&o.error, ALOFT_ERR_SIZE, "the firmware file is empty",
                       "%s has no bytes; rebuild it or pick the right file", a.file);
    else if (data != NULL && (a.fs ? check_fs_image(&a, data, len)
                                     : check_app_image(&a, data, len, &o)) == CLI_OK)
        find_protocol(a.protocol)->run(&a, data, len, &ui, &o);
    free(data);
    return report(&a, &o, &ui);
}
