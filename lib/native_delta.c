/*
 * lib/native_delta.c — the device engine's delta stage (lib/native_delta.h).
 */
#include <string.h>

#include "native_delta.h"

/* Patch bytes per decoder call: small, so one call's output (a long copy
 * costs a few bytes) stays near max_out and the engine gets back to the
 * network and its keepalive ACKs. */
#define STEP 64u

void aloft_nd_identify(aloft_native_delta_t *dl, const aloft_device_t *dev)
{
    const aloft_part_t *slots[ALOFT_OTA_SLOTS_MAX];
    int n = aloft_ptable_ota_slots(dev->ptable, slots, (int)ALOFT_OTA_SLOTS_MAX);
    if (dl->identified || dl->in_use)   /* the decoder shares its memory */
        return;
    dl->identified = true;
    dl->base_size = 0;
    if (dev->running_slot < 0 || dev->running_slot >= n || dev->running_slot >= (int)ALOFT_OTA_SLOTS_MAX)
        return;
    const aloft_part_t *p = slots[dev->running_slot];
    if (aloft_image_verify_flash(dev->flash, p->offset, p->size, dev->crypto->sha256,
                                 &dl->u.probe) != 0)
        return;
    const aloft_image_info_t *info = aloft_image_info(&dl->u.probe);
    dl->base_addr = p->offset;
    dl->base_size = info->image_len;
    memcpy(dl->base_sha256, info->sha256, 32);
}

static int read_base(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    aloft_native_delta_t *dl = ctx;
    return dl->flash->read(dl->flash, dl->base_addr + off, buf, len);
}

static int write_new(void *ctx, const uint8_t *data, size_t len)
{
    aloft_native_delta_t *dl = ctx;
    int err = aloft_update_feed(dl->update, data, len);
    dl->pipe_err = err != 0;
    return err;
}

int aloft_nd_init(aloft_native_delta_t *dl, const aloft_flash_t *flash, aloft_update_t *u,
                  const aloft_inflate_t *z, aloft_diag_t *dg)
{
    aloft_delta_cfg_t dc = {.base_size = dl->base_size, .base_sha256 = dl->base_sha256,
                            .read_base = read_base, .write = write_new, .inflate = z, .ctx = dl};
    memset(dg, 0, sizeof *dg);
    dl->flash = flash;
    dl->update = u;
    dl->pipe_err = false;
    int err = aloft_delta_init(&dl->u.dec, &dc);
    if (err)
        aloft_diag_set(dg, err, 0, 0, "patch decoder");
    return err;
}

/* One byte at a time: the decoder checks the header once it has all of
 * it, and a byte more would start segment 0 (output before begin). */
int aloft_nd_header(aloft_native_delta_t *dl, const uint8_t *p, size_t len, size_t *used,
                    aloft_diag_t *dg)
{
    *used = 0;
    while (*used < len && aloft_delta_header(&dl->u.dec) == NULL) {
        int err = aloft_delta_feed(&dl->u.dec, p + *used, 1);
        if (err) {
            *dg = *aloft_delta_diag(&dl->u.dec);
            dg->err = err;
            return err;
        }
        (*used)++;
    }
    return ALOFT_OK;
}

int aloft_nd_open(aloft_native_delta_t *dl, const aloft_native_device_config_t *cfg,
                  const aloft_native_offer_t *o, aloft_diag_t *dg)
{
    size_t used = 0;
    int err = aloft_nd_init(dl, cfg->dev->flash, cfg->update, cfg->inflate, dg);
    if (err == 0)
        err = aloft_nd_header(dl, o->patch_header, o->patch_header_len, &used, dg);
    if (err)
        return err;
    const aloft_delta_header_t *h = aloft_delta_header(&dl->u.dec);
    if (h == NULL || used != o->patch_header_len) {   /* cut short, or more than it */
        aloft_diag_set(dg, ALOFT_ERR_PATCH, o->patch_header_len, h ? h->header_len : 0,
                       "patch header");
        return ALOFT_ERR_PATCH;
    }
    if (h->new_size != o->size || memcmp(h->new_sha256, o->sha256, 32) != 0) {
        aloft_diag_set(dg, ALOFT_ERR_PATCH, h->new_size, o->size, "new image");
        return ALOFT_ERR_PATCH;
    }
    return ALOFT_OK;
}

/* The device does not know where the host's stream starts in the patch
 * (the host sends from the segment that holds the mark): the header's end
 * is a lower bound, which only loosens the decoder's bound on segment
 * lengths; the segment's own header says which it is, and the rebuilt
 * image is checked by its SHA-256 either way. */
int aloft_nd_start(aloft_native_delta_t *dl, uint32_t offset)
{
    if (offset == 0)
        return ALOFT_OK;
    return aloft_delta_resume(&dl->u.dec, offset, aloft_delta_header(&dl->u.dec)->header_len);
}

int aloft_nd_feed(aloft_native_delta_t *dl, const uint8_t *p, size_t len, size_t max_out,
                  size_t *used)
{
    uint32_t start = aloft_delta_new_offset(&dl->u.dec);
    *used = 0;
    while (*used < len && aloft_delta_new_offset(&dl->u.dec) - start < max_out) {
        size_t k = len - *used < STEP ? len - *used : STEP;
        int err = aloft_delta_feed(&dl->u.dec, p + *used, k);
        if (err)
            return err;
        *used += k;
    }
    return ALOFT_OK;
}
