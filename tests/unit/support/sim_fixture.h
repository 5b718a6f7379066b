/*
 * tests/unit/support/sim_fixture.h — a simulated device for pipeline and
 * power-cut tests: a temporary flash file with the default scheme and a
 * synthetic v1 in app0, booted quietly, plus a synthetic v2 to update to.
 */
#ifndef ALOFT_SIM_FIXTURE_H
#define ALOFT_SIM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

typedef struct sim_fixture {
    char path[64];
    sim_device_t sim;
    uint8_t *v1, *v2;
    size_t v1_len, v2_len;
} sim_fixture_t;

/* Make v1 (project "demo", "1.0.0") and v2 ("2.0.0") of about these sizes
 * for chip, create the flash with v1, open and boot it. Returns 0 or an
 * error code. */
int simfx_setup(sim_fixture_t *fx, uint16_t chip, size_t v1_size, size_t v2_size);

/* Reset the device: close the flash and boot again from the file. */
int simfx_reboot(sim_fixture_t *fx);

/* Close, remove the file, free the images. */
void simfx_teardown(sim_fixture_t *fx);

/* For cmocka groups whose context struct begins with a sim_fixture_t:
 * calloc size bytes and set the fixture up as simfx_setup does for an
 * ESP32 (the context's other fields are zero); NULL on failure. */
void *simfx_ctx_new(size_t size, size_t v1_size, size_t v2_size);

/* A cmocka teardown for such a context: simfx_teardown, then free. */
int simfx_ctx_teardown(void **state);

/* Copy of the whole flash (free() it), and a check that the region
 * [addr, addr+len) still equals a copy taken earlier. */
uint8_t *simfx_snapshot(const sim_fixture_t *fx);
int simfx_same(const sim_fixture_t *fx, const uint8_t *snap, uint32_t addr, uint32_t len);

/* A filesystem-like image of len bytes (free() it): a data page, then three
 * erased (0xFF) ones; seed makes two images differ. */
uint8_t *simfx_fs_image(size_t len, unsigned seed);

#endif
