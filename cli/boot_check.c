/*
 * cli/boot_check.c — after the restart an upload or a rollback causes:
 * wait for the device, then say what it runs (contract in boot_check.h).
 */
#include <stdio.h>
#include <string.h>

#include "aloft/wire/otadata.h"
#include "boot_check.h"
#include "cli.h"

int boot_opt(const char *cmd, int argc, char **argv, int *i, boot_opts_t *b)
{
    const char *v = NULL;
    if (strcmp(argv[*i], "--no-wait") == 0) {
        b->no_wait = true;
        return 1;
    }
    int m = cli_opt(argc, argv, i, "--boot-timeout", &v);
    if (m == 0)
        return 0;
    if (m < 0 || cli_parse_u32(v, false, &b->timeout_s) != 0 || b->timeout_s == 0 ||
        b->timeout_s > 3600)
        return -cli_usage(cmd, "--boot-timeout needs a number of seconds from 1 to 3600");
    return 1;
}

void boot_check_skip(boot_check_t *c, const char *why, bool say)
{
    memset(c, 0, sizeof *c);
    c->why_not = why;
    c->say_why = say;
}

void boot_check_run(boot_check_t *c, const boot_opts_t *o, const native_peer_t *p,
                    uint8_t slot, bool quiet)
{
    if (o->no_wait) {
        boot_check_skip(c, "--no-wait: the restart was not waited for, so it is not known "
                        "whether the device runs the new image", true);
        return;
    }
    memset(c, 0, sizeof *c);
    c->checked = true;
    c->slot = slot;
    c->timeout_s = o->timeout_s ? o->timeout_s : NATIVE_HOST_BOOT_MS / 1000u;
    if (!quiet) {
        printf("waiting for the device to restart (up to %u s) ...\n", (unsigned)c->timeout_s);
        fflush(stdout);
    }
    native_await_boot(p, slot, c->timeout_s * 1000u, &c->r);
}

static const aloft_native_slot_t *slot_of(const boot_check_t *c, unsigned i)
{
    const aloft_native_hello_t *h = &c->r.hello;
    return c->r.have_hello && i < h->nslots && h->nslots <= ALOFT_NATIVE_MAX_SLOTS
               ? &h->slots[i] : NULL;
}

static const char *version_of(const aloft_native_slot_t *s)
{
    return s && s->has_image ? s->version.s : "?";
}

bool boot_check_ok(const boot_check_t *c)
{
    return !c->checked || (c->r.back && c->r.outcome == ALOFT_NATIVE_BOOT_RUNNING);
}

int boot_check_exit(const boot_check_t *c)
{
    if (boot_check_ok(c))
        return CLI_OK;
    return c->r.back && c->r.outcome == ALOFT_NATIVE_BOOT_PREVIOUS ? CLI_PREVIOUS : CLI_NOT_BACK;
}

void boot_check_error(const boot_check_t *c, const char *done, const char *again,
                      host_error_t *e)
{
    const aloft_native_slot_t *run = slot_of(c, c->r.hello.running_slot);
    const aloft_native_slot_t *ours = slot_of(c, c->slot);
    if (!c->r.back)
        host_error_set(e, ALOFT_ERR_TIMEOUT, "the device did not come back",
                       "%s, but the device did not come back within %u s (%s: %s): check its "
                       "serial log", done, (unsigned)c->timeout_s, c->r.error.message,
                       c->r.error.hint);
    else if (c->r.outcome == ALOFT_NATIVE_BOOT_PREVIOUS && run && ours)
        host_error_set(e, ALOFT_ERR_ABORTED, "the device restarted into the previous image",
                       "%s, but the device restarted into the previous image (%s, %s): the new "
                       "one did not stay selected, a power cut during its first boot or it was "
                       "rolled back (%s is %s in otadata now); the device is safe, %s", done,
                       run->label.s, version_of(run), ours->label.s,
                       aloft_ota_state_name(ours->state), again);
    else
        host_error_set(e, ALOFT_ERR_PROTO, "the device does not say which image it runs",
                       "%s; the device came back, but its HELLO names no running slot or not "
                       "slot %u: 'aloft info' shows what it says", done, (unsigned)c->slot);
}

void boot_check_print(const boot_check_t *c)
{
    const aloft_native_slot_t *s = slot_of(c, c->slot);
    if (!c->checked) {
        if (c->say_why)
            printf("%s\n", c->why_not);
        return;
    }
    if (!boot_check_ok(c) || s == NULL)
        return;
    printf("running %s in %s (after %.1f s), %s (%s)\n", version_of(s), s->label.s,
           c->r.seconds, c->r.probation ? "on probation until it confirms itself"
                                        : "confirmed", aloft_ota_state_name(s->state));
}

static void json_slot(const char *key, const aloft_native_slot_t *s)
{
    printf(",\"%s\":", key);
    if (s == NULL) {
        printf("null");
        return;
    }
    printf("{\"slot\":");
    json_str(s->label.s);
    printf(",\"version\":");
    json_str(s->has_image ? s->version.s : "");
    printf(",\"state\":");
    json_str(aloft_ota_state_name(s->state));
    printf("}");
}

void boot_check_json(const boot_check_t *c)
{
    static const char *const names[] = {"not_back", "running", "previous", "unknown"};
    printf(",\"boot\":{\"checked\":%s", c->checked ? "true" : "false");
    if (!c->checked) {
        printf(",\"why\":");
        json_str(c->why_not);
        printf("}");
        return;
    }
    printf(",\"outcome\":\"%s\"", c->r.back ? names[c->r.outcome] : names[0]);
    printf(",\"running\":%s,\"confirmed\":%s", boot_check_ok(c) ? "true" : "false",
           boot_check_ok(c) && !c->r.probation ? "true" : "false");
    json_slot("new", slot_of(c, c->slot));
    json_slot("runs", c->r.back ? slot_of(c, c->r.hello.running_slot) : NULL);
    printf(",\"seconds\":%.3f,\"attempts\":%u}", c->r.seconds, c->r.attempts);
}
