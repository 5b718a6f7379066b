/*
 * tests/unit/support/delta_device.h — a delta patch applied the way a
 * device applies it: a throw-away simulated device of the image's chip
 * runs the old image, the host engine sends the patch over the native
 * protocol (engines linked in one process, support/native_link.h), the
 * device's delta stage rebuilds the new image from its running slot into
 * the pipeline, and the bootloader model boots the result.
 */
#ifndef ALOFT_TEST_DELTA_DEVICE_H
#define ALOFT_TEST_DELTA_DEVICE_H

#include <stddef.h>
#include <stdint.h>

typedef struct delta_device_run {
    uint64_t up;        /* bytes host to device */
    int slot;           /* the OTA slot that boots afterwards */
    char why[128];      /* what went wrong, when the result is not 0 */
} delta_device_run_t;

/* Returns 0 when the device accepted the upload as a patch, activated it
 * and then boots exactly new_img (byte for byte, from another slot than
 * old); else an aloft error or -1, with r->why. */
int delta_device_apply(const uint8_t *old, size_t old_len, const uint8_t *new_img,
                       size_t new_len, const uint8_t *patch, size_t patch_len,
                       delta_device_run_t *r);

#endif
