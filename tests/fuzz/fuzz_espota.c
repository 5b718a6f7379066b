/*
 * tests/fuzz/fuzz_espota.c — libFuzzer target for everything espota parses
 * and for the device engine as a whole.
 *
 * The input is first given to the message parsers (invitation, auth
 * datagram, refusal text). Then it is read as a script of events for an
 * engine serving a simulated device (byte 0 bit 6: with an MD5 password
 * and a login limiter, else none, so data can flow at once):
 *   byte op, then for ops with a payload one length byte and the payload;
 *   op % 7: 0 datagram from the host, 1 datagram from another host,
 *           2 connect result (ok if len is odd), 3 TCP bytes,
 *           4 time passes (len x 100 ms), 5 TCP closed, 6 the host answers
 *           the last nonce with the right password (len odd) or a wrong one.
 * A script may open with a valid invitation so the data phase is reached.
 * After every input: the engine has not crashed, a failed or unfinished
 * session left otadata and app0 untouched, and the app was resumed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/espota_device.h"
#include "image_make.h"
#include "device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static sim_device_t sim;
static sim_checkpoint_t booted;   /* each input starts here (a cheap reset) */
static int paused;

static void on_pause(void *c) { (void)c; paused++; }
static void on_resume(void *c) { (void)c; paused--; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    image_spec_t spec = {.chip_id = 0, .project = "fuzz", .version = "1", .size = 8192};
    size_t len;
    uint8_t *fw = image_make(&spec, &len);
    sim_config_t cfg = {.rollback = true, .confirm_after_ms = 0};
    if (sim_open_scratch(&sim, fw, len, &cfg) != 0)
        abort();
    image_free(fw);
    aloft_quiesce_add(&sim.quiesce, "fuzz", on_pause, on_resume, NULL);
    uint8_t *flash = malloc(sim.nor.size);
    if (flash == NULL)
        abort();
    sim_checkpoint(&sim, &booted, flash);
    return 0;
}

static char nonce[ALOFT_ESPOTA_HEX_MAX];   /* the last one the device sent */

static void drain(aloft_espota_t *e)
{
    aloft_espota_action_t a;
    while (aloft_espota_next(e, &a)) {
        if (a.kind == ALOFT_ESPOTA_ACT_REBOOT)
            sim_boot(&sim, 0);
        if (a.kind == ALOFT_ESPOTA_ACT_UDP_SEND && a.len == 5 + 32 && memcmp(a.data, "AUTH ", 5) == 0) {
            memcpy(nonce, a.data + 5, 32);
            nonce[32] = '\0';
        }
    }
}

/* "200 <cnonce> <response>" for the last nonce, as a host with password
 * pw would send it. */
static void answer(aloft_espota_t *e, uint32_t now, const char *pw)
{
    char h[ALOFT_ESPOTA_HEX_MAX], resp[ALOFT_ESPOTA_HEX_MAX], line[80];
    static const char cnonce[] = "0123456789abcdef0123456789abcdef";
    aloft_espota_secret(sim.dev.crypto, ALOFT_ESPOTA_AUTH_MD5, pw, h);
    if (nonce[0] == '\0' ||
        aloft_espota_response(sim.dev.crypto, ALOFT_ESPOTA_AUTH_MD5, h, nonce, cnonce, resp) != 0)
        return;
    memcpy(line, "200 ", 4);
    memcpy(line + 4, cnonce, 32);
    line[36] = ' ';
    memcpy(line + 37, resp, 32);
    line[69] = '\n';
    aloft_espota_on_datagram(e, now, 0x7F000001u, 4001, line, 70);
}

static void parsers(const uint8_t *data, size_t size)
{
    aloft_espota_invite_t inv;
    aloft_diag_t d;
    char cn[ALOFT_ESPOTA_HEX_MAX], rs[ALOFT_ESPOTA_HEX_MAX], line[96];
    if (aloft_espota_parse_invite(data, size, &inv) == 0) {
        int n = aloft_espota_format_invite(&inv, line, sizeof line);
        aloft_espota_invite_t again;
        if (n < 0 || aloft_espota_parse_invite(line, (size_t)n, &again) != 0 ||
            memcmp(&inv, &again, sizeof inv) != 0)
            abort();   /* what parses must survive a round trip */
    }
    aloft_espota_parse_auth(data, size, 32, cn, rs);
    aloft_espota_parse_auth(data, size, 64, cn, rs);
    aloft_espota_parse_refusal((const char *)data, size, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static aloft_espota_t e;
    static aloft_login_limiter_t limiter;
    static char secret[ALOFT_ESPOTA_HEX_MAX];
    aloft_espota_config_t cfg = {.dev = &sim.dev, .update = &sim.update};
    uint32_t now = 0xFFFF0000u;   /* timers cross the 32-bit wrap */
    parsers(data, size);

    sim_rewind(&sim, &booted);
    memset(&limiter, 0, sizeof limiter);
    nonce[0] = '\0';
    if (size > 0 && data[0] & 0x40) {
        aloft_espota_secret(sim.dev.crypto, ALOFT_ESPOTA_AUTH_MD5, "fuzz", secret);
        cfg.auth = ALOFT_ESPOTA_AUTH_MD5;
        cfg.secret = secret;
        cfg.limiter = &limiter;
    }
    if (aloft_espota_init(&e, &cfg) != 0)
        abort();
    if (size > 0 && data[0] & 0x80) {   /* start from a valid invitation */
        const char *inv = "0 4000 9000 0123456789abcdef0123456789abcdef\n";
        aloft_espota_on_datagram(&e, now, 0x7F000001u, 4001, inv, strlen(inv));
        drain(&e);
    }
    for (size_t i = 0; i < size;) {
        uint8_t op = data[i++] % 7;
        size_t len = i < size ? data[i++] : 0;
        if (len > size - i)
            len = size - i;
        const uint8_t *p = data + i;
        switch (op) {
        case 0: aloft_espota_on_datagram(&e, now, 0x7F000001u, 4001, p, len); i += len; break;
        case 1: aloft_espota_on_datagram(&e, now, 0x7F000002u, 4002, p, len); i += len; break;
        case 2: aloft_espota_on_connect(&e, now, len & 1); break;
        case 3: aloft_espota_on_tcp(&e, now, p, len); i += len; break;
        case 4: now += (uint32_t)len * 100; aloft_espota_tick(&e, now); break;
        case 5: aloft_espota_on_tcp_closed(&e, now); break;
        default: answer(&e, now, len & 1 ? "fuzz" : "wrong"); break;
        }
        drain(&e);
    }
    /* Whatever happened, an unfinished session must not have touched the
     * running firmware or otadata, and the app must not stay paused once
     * the session is over. */
    if (aloft_update_state(&sim.update) != ALOFT_UPDATE_DONE &&
        (sim_changed(&sim, &booted, 0xE000, 0x2000) ||
         sim_changed(&sim, &booted, 0x10000, 0x140000)))
        abort();
    aloft_update_abort(&sim.update, ALOFT_ERR_ABORTED);
    if (paused != 0)
        abort();
    return 0;
}
