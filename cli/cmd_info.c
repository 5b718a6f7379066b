/*
 * cli/cmd_info.c — `aloft info DEVICE`: what an aloft device says
 * about itself in its native HELLO (name, chip, flash, protocol version,
 * capabilities, window, slots with their images, a resumable transfer),
 * read over one connection that is then closed. With --auth the login is
 * done too: it checks the password and, because the login covers the
 * whole HELLO, proves the answer came from the device.
 */
#include <stdio.h>
#include <string.h>

#include "aloft/util.h"
#include "aloft/wire/espota.h"
#include "aloft/wire/image.h"
#include "aloft/wire/otadata.h"
#include "cli.h"
#include "native_host.h"

static const char info_help[] =
    "usage: aloft info [options] DEVICE\n\n"
    "Ask an aloft device (native protocol, TCP) what it is and what it runs:\n"
    "name, chip, flash, protocol version and capabilities (password, signed\n"
    "images), its app slots with state (ABORTED: an update that never confirmed\n"
    "itself and was rolled back), project, version and ELF SHA-256, which slot\n"
    "runs, and any interrupted upload it can resume. Nothing is changed on the\n"
    "device.\n\n"
    "  DEVICE              HOST or HOST:PORT (IPv4 address, name or NAME.local as\n"
    "                      'aloft discover' lists it; default port 3232)\n"
    "  --auth PASS         also log in: checks the password and proves the answer\n"
    "                      came from the device that knows it\n"
    "  --timeout SEC       seconds to wait for the connection and for each answer\n"
    "                      (default 5 to connect, 3 for the HELLO)\n"
    "  --json              print one JSON object, nothing else\n\n"
    "Exit status: 0 the device answered (and accepted the password), 1 failure, 2 usage.\n";

/* ---- people ------------------------------------------------------------ */

static const char *target_name(uint8_t target)
{
    return target == 0 ? "app" : target == 1 ? "filesystem" : "unknown";
}

/* What an otadata state means for the slot's image, in words; NULL for
 * the states that need none (VALID, none). */
static const char *state_note(uint32_t state, bool is_running)
{
    switch (state) {
    case ALOFT_OTA_NEW: return "NEW: activated, boots at the next restart";
    case ALOFT_OTA_PENDING_VERIFY:
        return is_running ? "PENDING_VERIFY: not confirmed yet; rolls back at the next restart "
                            "unless the firmware confirms itself"
                          : "PENDING_VERIFY: never confirmed; the next restart abandons it";
    case ALOFT_OTA_INVALID: return "INVALID: rejected by its firmware, never boots again";
    case ALOFT_OTA_ABORTED: return "ABORTED: never confirmed, rolled back";
    default: return NULL;
    }
}

static void print_slot(const aloft_native_hello_t *h, unsigned i)
{
    const aloft_native_slot_t *s = &h->slots[i];
    const char *note = state_note(s->state, i == h->running_slot);
    char size[32], hex[65];
    printf("  %c %-8s %11s bytes  %-14s ", i == h->running_slot ? '*' : ' ', s->label.s,
           host_grouped(s->size, size), aloft_ota_state_name(s->state));
    if (!s->has_image) {
        printf("(no image)\n");
    } else {
        aloft_hex(s->sha256, 8, hex);
        printf("%s %s, secure_version %u, elf sha256 %s...%s\n", s->project.s, s->version.s,
               (unsigned)s->secure_version, hex, i == h->running_slot ? "  (running)" : "");
    }
    if (note)
        printf("    %-8s %s\n", "", note);
}

static void print_human(const device_args_t *a, const native_info_t *in)
{
    const aloft_native_hello_t *h = &in->hello;
    char caps[64], n1[32], n2[32], hex[65];
    native_caps_text(h->caps, caps, sizeof caps);
    printf("device      %s at %s\n", h->name.len ? h->name.s : "(unnamed)", in->device_addr);
    printf("chip        %s, %s bytes of flash\n", aloft_chip_name(h->chip_id),
           host_grouped(h->flash_size, n1));
    printf("protocol    aloft native v%u; capabilities: %s\n", (unsigned)h->version, caps);
    if (h->caps & ALOFT_CAP_AUTH)
        printf("login       password required (PBKDF2-HMAC-SHA256, %u iterations)%s\n",
               (unsigned)h->kdf_iterations,
               in->authenticated ? "; logged in, the device proved it knows the password"
               : a->auth ? "" : "; not checked (pass --auth PASS to check it)");
    else
        printf("login       none: anyone on the device's network can update it\n");
    if (h->caps & ALOFT_CAP_SIGNED)
        printf("signing     signed images required (checked before anything is erased)\n");
    else
        printf("signing     none: the device accepts unsigned images\n");
    printf("transfer    window %s bytes, frames up to %s bytes", host_grouped(h->window, n1),
           host_grouped(h->max_payload, n2));
    if (h->caps & ALOFT_CAP_DEFLATE)
        printf(", inflates zlib windows up to %u bytes (2^%u)", 1u << (h->inflate_window_bits & 15),
               (unsigned)h->inflate_window_bits);
    printf("\nslots       (* running)\n");
    for (unsigned i = 0; i < h->nslots; i++)
        print_slot(h, i);
    if (!h->has_resume) {
        printf("resumable   none\n");
        return;
    }
    aloft_hex(h->resume_sha256, 8, hex);
    printf("resumable   %s image of %s bytes (sha256 %s...): %s bytes are durable; uploading it "
           "again continues there\n", target_name(h->resume_target),
           host_grouped(h->resume_size, n1), hex, host_grouped(h->resume_offset, n2));
}

/* ---- JSON -------------------------------------------------------------- */

static const char *tf(unsigned v)
{
    return v ? "true" : "false";
}

static void json_hex(const uint8_t *b, size_t n)
{
    char hex[65];
    aloft_hex(b, n, hex);
    json_str(hex);
}

static void json_slot(const aloft_native_hello_t *h, unsigned i)
{
    const aloft_native_slot_t *s = &h->slots[i];
    printf("%s{\"label\":", i ? "," : "");
    json_str(s->label.s);
    printf(",\"size\":%lu,\"state\":%lu,\"state_name\":", (unsigned long)s->size,
           (unsigned long)s->state);
    json_str(aloft_ota_state_name(s->state));
    printf(",\"running\":%s,\"state_note\":", i == h->running_slot ? "true" : "false");
    const char *note = state_note(s->state, i == h->running_slot);
    if (note)
        json_str(note);
    else
        printf("null");
    printf(",\"image\":");
    if (!s->has_image) {
        printf("null}");
        return;
    }
    printf("{\"project\":");
    json_str(s->project.s);
    printf(",\"version\":");
    json_str(s->version.s);
    printf(",\"secure_version\":%lu,\"elf_sha256\":", (unsigned long)s->secure_version);
    json_hex(s->sha256, 32);
    printf("}}");
}

static void print_json(const device_args_t *a, const native_info_t *in)
{
    const aloft_native_hello_t *h = &in->hello;
    printf("{\"ok\":%s,\"device\":", in->ok ? "true" : "false");
    json_str(in->device_addr[0] ? in->device_addr : a->device);
    if (!in->ok) {
        printf(",\"error\":{\"code\":%d,\"message\":", in->error.code);
        json_str(in->error.message);
        printf(",\"hint\":");
        json_str(in->error.hint);
        printf("}}\n");
        return;
    }
    printf(",\"name\":");
    json_str(h->name.s);
    printf(",\"chip\":");
    json_str(aloft_chip_name(h->chip_id));
    printf(",\"chip_id\":%u,\"flash_size\":%lu,\"protocol_version\":%u,\"caps\":{\"auth\":%s,"
           "\"deflate\":%s,\"signed\":%s,\"resume\":%s},\"auth_required\":%s,"
           "\"authenticated\":%s,\"signed_required\":%s,\"kdf_iterations\":%lu,\"window\":%lu,"
           "\"max_payload\":%u,\"inflate_window_bits\":%u,\"running_slot\":",
           (unsigned)h->chip_id, (unsigned long)h->flash_size, (unsigned)h->version,
           tf(h->caps & ALOFT_CAP_AUTH), tf(h->caps & ALOFT_CAP_DEFLATE),
           tf(h->caps & ALOFT_CAP_SIGNED), tf(h->caps & ALOFT_CAP_RESUME),
           tf(h->caps & ALOFT_CAP_AUTH), tf(in->authenticated), tf(h->caps & ALOFT_CAP_SIGNED),
           (unsigned long)h->kdf_iterations, (unsigned long)h->window, (unsigned)h->max_payload,
           (unsigned)h->inflate_window_bits);
    if (h->running_slot < h->nslots)
        printf("%u,\"slots\":[", (unsigned)h->running_slot);
    else
        printf("null,\"slots\":[");
    for (unsigned i = 0; i < h->nslots; i++)
        json_slot(h, i);
    printf("],\"resume\":");
    if (!h->has_resume) {
        printf("null,\"error\":null}\n");
        return;
    }
    printf("{\"target\":\"%s\",\"size\":%lu,\"offset\":%lu,\"sha256\":",
           target_name(h->resume_target), (unsigned long)h->resume_size,
           (unsigned long)h->resume_offset);
    json_hex(h->resume_sha256, 32);
    printf("},\"error\":null}\n");
}

int cmd_info(int argc, char **argv)
{
    device_args_t a;
    native_peer_t p;
    static native_info_t in;
    bool done;
    int rc = cli_device_command("info", info_help, argc, argv, &a, NULL, &p, &done);
    if (done)
        return rc;
    native_info(&p, &in);
    if (a.json)
        print_json(&a, &in);
    else if (in.ok)
        print_human(&a, &in);
    fflush(stdout);
    if (!in.ok) {
        fprintf(stderr, "aloft: info failed: %s\n", in.error.message);
        if (in.error.hint[0])
            fprintf(stderr, "  hint: %s\n", in.error.hint);
        return CLI_FAIL;
    }
    if (a.auth && a.auth[0] && !(in.hello.caps & ALOFT_CAP_AUTH))
        fprintf(stderr, "aloft: warning: --auth was given but the device has no password: "
                        "anyone on its network can update its firmware\n");
    return CLI_OK;
}
