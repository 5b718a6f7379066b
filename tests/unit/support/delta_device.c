/* tests/unit/support/delta_device.c — see delta_device.h. */
#include "delta_device.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "crypto_mbedtls.h"
#include "delta_host.h"
#include "device.h"
#include "inflate_zlib.h"
#include "native_link.h"
#include "native_stream.h"

typedef struct run_state {
    sim_device_t sim;
    inflate_zlib_t zst;
    aloft_inflate_t z;
    aloft_native_delta_t stage;
    native_source_t src;
    aloft_native_device_t d;
    aloft_native_host_t h;
    bool patched;
} run_state_t;

static void on_event(void *ctx, const aloft_native_event_t *ev)
{
    run_state_t *st = ctx;
    if (ev->kind == ALOFT_NATIVE_EV_ACCEPTED)
        st->patched = ev->patch;
}

static int upload(run_state_t *st, const uint8_t *new_img, size_t new_len, const uint8_t *patch,
                  size_t patch_len, delta_device_run_t *r)
{
    uint8_t sha[32];
    aloft_hash_oneshot(&aloft_mbedtls_sha256, new_img, new_len, sha);
    aloft_native_device_config_t dc = {.dev = &st->sim.dev, .update = &st->sim.update,
                                       .inflate = &st->z, .delta = &st->stage,
                                       .name = "delta", .open = true};
    aloft_native_host_config_t hc = {
        .crypto = &aloft_mbedtls_crypto, .op = ALOFT_NATIVE_OP_UPLOAD, .source = &st->src.src,
        .size = (uint32_t)new_len, .sha256 = sha, .patch = patch, .patch_len = patch_len,
        .on_event = on_event, .ctx = st};
    native_link_t l = {.host = &st->h, .dev = &st->d, .chunk = 1460};
    int err = aloft_native_device_init(&st->d, &dc, 0x7F000001u, 0);
    if (!err)
        err = aloft_native_host_init(&st->h, &hc, 0);
    if (err) {
        snprintf(r->why, sizeof r->why, "engine init: %s", aloft_strerror(err));
        return err;
    }
    native_link_run(&l);
    r->up = l.up;
    if ((err = aloft_native_host_last_error(&st->h)) != 0 ||
        (err = aloft_native_device_last_error(&st->d)) != 0) {
        snprintf(r->why, sizeof r->why, "upload: %s", aloft_strerror(err));
        return err;
    }
    if (aloft_native_host_result(&st->h) == NULL || !st->patched) {
        snprintf(r->why, sizeof r->why, "upload: %s", st->patched ? "no RESULT" : "not as a patch");
        return -1;
    }
    return 0;
}

/* After the restart: another slot boots, holding new_img byte for byte. */
static int check_boot(run_state_t *st, int old_slot, const uint8_t *new_img, size_t new_len,
                      delta_device_run_t *r)
{
    int err = sim_boot(&st->sim, 0);
    r->slot = st->sim.boot.slot;
    if (err || r->slot == old_slot || !st->sim.boot.info.complete) {
        snprintf(r->why, sizeof r->why, "boot: slot %d (was %d): %s", r->slot, old_slot,
                 err ? aloft_strerror(err) : "the new image did not boot");
        return err ? err : -1;
    }
    const aloft_part_t *slots[ALOFT_OTA_SLOTS_MAX];
    aloft_ptable_ota_slots(st->sim.dev.ptable, slots, (int)ALOFT_OTA_SLOTS_MAX);
    uint8_t *got = malloc(new_len);
    err = st->sim.dev.flash->read(st->sim.dev.flash, slots[r->slot]->offset, got, new_len);
    if (!err && memcmp(got, new_img, new_len) != 0)
        err = -1;
    free(got);
    if (err)
        snprintf(r->why, sizeof r->why, "the booted slot is not the new image");
    return err;
}

int delta_device_apply(const uint8_t *old, size_t old_len, const uint8_t *new_img,
                       size_t new_len, const uint8_t *patch, size_t patch_len,
                       delta_device_run_t *r)
{
    sim_config_t cfg = {.rollback = true, .confirm_after_ms = 0};
    run_state_t *st = calloc(1, sizeof *st);
    memset(r, 0, sizeof *r);
    int err = sim_open_scratch(&st->sim, old, old_len, &cfg);
    if (err) {
        snprintf(r->why, sizeof r->why, "a device running the old image: %s",
                 aloft_strerror(err));
        free(st);
        return err;
    }
    inflate_zlib_init(&st->z, &st->zst, DELTA_DEFAULT_WBITS);
    native_source_init(&st->src, new_img, new_len);
    int old_slot = st->sim.boot.slot;
    err = upload(st, new_img, new_len, patch, patch_len, r);
    if (!err)
        err = check_boot(st, old_slot, new_img, new_len, r);
    native_source_close(&st->src);
    st->z.end(st->z.ctx);
    sim_close(&st->sim);
    free(st);
    return err;
}
