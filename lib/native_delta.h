/*
 * lib/native_delta.h — the device engine's delta stage (internal): a patch
 * decoder between the bytes received and the update pipeline, reading the
 * base from the running slot: the native protocol's DATA, and the HTTP
 * pull's patches (lib/pull.c). Contract of the type in
 * aloft/native_device.h.
 */
#ifndef ALOFT_LIB_NATIVE_DELTA_H
#define ALOFT_LIB_NATIVE_DELTA_H

#include "aloft/native_device.h"

/* Find the running image (once per aloft_native_delta_t): its slot address,
 * size and SHA-256 into dl->base_*; size 0 when it does not verify. */
void aloft_nd_identify(aloft_native_delta_t *dl, const aloft_device_t *dev);

/* Start a decoder of a patch for the identified base whose output goes to
 * u's aloft_update_feed (begun later). 0, or ALOFT_ERR_ARG with dg. */
int aloft_nd_init(aloft_native_delta_t *dl, const aloft_flash_t *flash, aloft_update_t *u,
                  const aloft_inflate_t *z, aloft_diag_t *dg);

/* Feed the patch header from p, never a byte past it (*used: bytes taken;
 * the header is complete once aloft_delta_header() is not NULL). 0, or the
 * refusal with dg: ALOFT_ERR_PATCH, _PATCH_BASE (another base),
 * _PATCH_WINDOW, _SIGNED_MISMATCH. Nothing is written. */
int aloft_nd_header(aloft_native_delta_t *dl, const uint8_t *p, size_t len, size_t *used,
                    aloft_diag_t *dg);

/* Before the pipeline begins: check the OFFER's patch header against the
 * running image, the inflate and the OFFER itself. 0, or an error with dg
 * filled (ALOFT_ERR_PATCH_BASE for another base); nothing is written. */
int aloft_nd_open(aloft_native_delta_t *dl, const aloft_native_device_config_t *cfg,
                  const aloft_native_offer_t *o, aloft_diag_t *dg);

/* The pipeline accepted at image offset `offset` (a resume when > 0). */
int aloft_nd_start(aloft_native_delta_t *dl, uint32_t offset);

/* Decode up to len patch bytes, stopping once about max_out image bytes
 * came out; *used = bytes consumed. 0 or an error: dl->pipe_err says
 * whether it is the pipeline's (aloft_update_diag) or the patch's
 * (aloft_delta_diag). */
int aloft_nd_feed(aloft_native_delta_t *dl, const uint8_t *p, size_t len, size_t max_out,
                  size_t *used);
#endif /* ALOFT_LIB_NATIVE_DELTA_H */
