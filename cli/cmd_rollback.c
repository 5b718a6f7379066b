/*
 * cli/cmd_rollback.c — `aloft rollback DEVICE`: make an aloft
 * device boot the image in its other app slot again, without any download
 * (native ROLLBACK, docs/PROTOCOL.md §2.9). The device verifies that image
 * as its bootloader will before it switches; an empty or damaged slot, or
 * an image that never confirmed itself, is refused with the reason.
 */
#include <stdio.h>
#include <string.h>

#include "aloft/wire/image.h"
#include "aloft/wire/otadata.h"
#include "boot_check.h"
#include "cli.h"
#include "native_host.h"

static const char rollback_help[] =
    "usage: aloft rollback [options] DEVICE\n\n"
    "Make an aloft device (native protocol, TCP) boot the image in its other app\n"
    "slot, the one it ran before the last update, without sending any firmware.\n"
    "The device first verifies that image as its bootloader will, then selects\n"
    "it and restarts. Refused, with nothing changed, when that slot is empty or\n"
    "damaged, or holds an image that never confirmed itself (ABORTED) or was\n"
    "rejected (INVALID).\n\n"
    "  DEVICE              HOST or HOST:PORT (IPv4 address, name or NAME.local as\n"
    "                      'aloft discover' lists it; default port 3232)\n"
    "  --auth PASS         the device's OTA password\n"
    "  --timeout SEC       seconds to wait for the connection and for each answer\n"
    "                      (default 5 to connect, 10 for the login)\n"
    BOOT_CHECK_HELP
    "  --json              print one JSON object with the result, nothing else\n\n"
    "Then aloft waits for the device to come back and reads which image it runs.\n"
    "Exit status: 0 the device runs the other image (with --no-wait: it switched\n"
    "and restarts), 1 failure or refusal, 2 usage, 3 it switched but restarted into\n"
    "the image it ran before, 4 it switched but did not come back within\n"
    "--boot-timeout.\n";

/* The running slot in the HELLO, or NULL. */
static const aloft_native_slot_t *running(const native_rollback_result_t *r)
{
    const aloft_native_hello_t *h = &r->hello;
    return r->have_hello && h->running_slot < h->nslots ? &h->slots[h->running_slot] : NULL;
}

static void json_slot(const aloft_native_slot_t *s)
{
    if (s == NULL) {
        printf("null");
        return;
    }
    printf("{\"slot\":");
    json_str(s->label.s);
    printf(",\"project\":");
    json_str(s->has_image ? s->project.s : "");
    printf(",\"version\":");
    json_str(s->has_image ? s->version.s : "");
    printf(",\"state\":");
    json_str(aloft_ota_state_name(s->state));
    printf("}");
}

static void print_json(const device_args_t *a, const native_rollback_result_t *r,
                       const boot_check_t *boot)
{
    bool ok = r->ok && boot_check_ok(boot);
    printf("{\"ok\":%s,\"device\":", ok ? "true" : "false");
    json_str(r->device_addr[0] ? r->device_addr : a->device);
    printf(",\"authenticated\":%s,\"from\":", r->authenticated ? "true" : "false");
    json_slot(running(r));
    if (r->ok) {
        printf(",\"slot\":");
        json_str(r->slot_label);
        printf(",\"project\":");
        json_str(r->project);
        printf(",\"version\":");
        json_str(r->version);
        printf(",\"reboot\":%s", r->reboot ? "true" : "false");
    }
    boot_check_json(boot);
    if (ok) {
        printf(",\"error\":null}\n");
        return;
    }
    printf(",\"error\":{\"code\":%d,\"message\":", r->error.code);
    json_str(r->error.message);
    printf(",\"hint\":");
    json_str(r->error.hint);
    if (r->device_text[0] &&
        strncmp(r->device_text, r->error.message, strlen(r->device_text)) != 0) {
        printf(",\"device_text\":");
        json_str(r->device_text);
    }
    printf("}}\n");
}

/* "device aloft-sim: ESP32, running app1 (demo 2.0.0, VALID)" */
static void print_device(const native_rollback_result_t *r)
{
    const aloft_native_slot_t *s = running(r);
    if (!r->have_hello)
        return;
    printf("device %s: %s", r->hello.name.len ? r->hello.name.s : "(unnamed)",
           aloft_chip_name(r->hello.chip_id));
    if (s && s->has_image)
        printf(", running %s (%s %s, %s)", s->label.s, s->project.s, s->version.s,
               aloft_ota_state_name(s->state));
    else if (s)
        printf(", running %s", s->label.s);
    putchar('\n');
}

/* "rolled back: app0 (demo 1.0.0) boots next; the device restarts now" */
static void print_done(const native_rollback_result_t *r)
{
    printf("rolled back: %s", r->slot_label);
    if (r->project[0] || r->version[0])
        printf(" (%s%s%s)", r->project, r->project[0] && r->version[0] ? " " : "", r->version);
    printf(" boots next; %s\n", r->reboot ? "the device restarts now"
                                          : "it runs it after its next restart");
}

int cmd_rollback(int argc, char **argv)
{
    device_args_t a;
    boot_opts_t bo;
    native_peer_t p;
    static native_rollback_result_t r;
    static boot_check_t boot;
    bool done;
    int rc = cli_device_command("rollback", rollback_help, argc, argv, &a, &bo, &p, &done);
    if (done)
        return rc;
    native_rollback(&p, &r);
    if (!a.json) {
        print_device(&r);
        if (r.ok)
            print_done(&r);
        fflush(stdout);
    }
    if (r.ok && r.reboot)
        boot_check_run(&boot, &bo, &p, r.slot, a.json);
    else
        boot_check_skip(&boot, r.ok ? "the device runs it after its next restart"
                                    : "the rollback failed", false);
    if (r.ok && !boot_check_ok(&boot))
        boot_check_error(&boot, "switched", "run the rollback again", &r.error);
    if (a.json)
        print_json(&a, &r, &boot);
    else if (r.ok && boot_check_ok(&boot))
        boot_check_print(&boot);
    fflush(stdout);
    if (r.open_device)
        fprintf(stderr, "aloft: warning: %s: anyone on its network can roll back or update its "
                "firmware%s\n", a.auth && a.auth[0] ? "--auth was given but the device has no "
                "password" : "the device has no password", a.auth && a.auth[0] ? "" : "; give it one");
    if (r.ok && !boot_check_ok(&boot)) {
        fprintf(stderr, "aloft: %s\n", r.error.hint);
        return boot_check_exit(&boot);
    }
    if (!r.ok) {
        fprintf(stderr, "aloft: rollback failed: %s\n", r.error.message);
        if (r.error.hint[0])
            fprintf(stderr, "  hint: %s\n", r.error.hint);
        if (r.device_text[0] &&
            strncmp(r.device_text, r.error.message, strlen(r.device_text)) != 0)
            fprintf(stderr, "  device said: \"%s\"\n", r.device_text);
        return CLI_FAIL;
    }
    return CLI_OK;
}
