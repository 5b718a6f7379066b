/*
 * tests/esp/device/support/esp_fixture.h — a simulated ESP32 for the port's
 * tests: a temporary 4 MB flash file (an arduino-esp32 scheme, v1 of
 * project "demo" in app0, blank otadata) powered on through the fakes
 * (fake_esp.h), and the port's device opened on it.
 */
#ifndef ALOFT_ESP_FIXTURE_H
#define ALOFT_ESP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "esp_device.h"
#include "fake_esp.h"

typedef struct esp_fx {
    char path[64];
    fake_chip_t chip;
    esp_device_t dev;
    uint8_t *v1, *v2;             /* "1.0.0" and "2.0.0" for ESP32 */
    size_t v1_len, v2_len;
} esp_fx_t;

/* Make the flash file with scheme and power on; the port's device is not
 * opened (espfx_open). Returns 0 or an error code. */
int espfx_setup(esp_fx_t *fx, aloft_scheme_t scheme);

/* esp_device_open(&fx->dev) with no keys. */
int espfx_open(esp_fx_t *fx);

/* Power off and on again: the bootloader model runs, then the device is
 * opened again. Returns 0 or the first error. */
int espfx_reboot(esp_fx_t *fx);

/* Replace the partition table of the (powered off) flash file at path. */
void espfx_write_table(const char *path, const aloft_ptable_t *pt);

/* Feed img through the core's update pipeline over the port's device, in
 * pieces of chunk bytes. Returns 0 or the pipeline's error. */
int espfx_update(esp_fx_t *fx, const uint8_t *img, size_t len, size_t chunk);

/* The same for a target (a filesystem image: ALOFT_TARGET_FS). */
int espfx_update_target(esp_fx_t *fx, aloft_target_t target, const uint8_t *img, size_t len,
                        size_t chunk);

/* The flash as the NOR simulator holds it (powered on). */
uint8_t *espfx_mem(esp_fx_t *fx);

void espfx_teardown(esp_fx_t *fx);

/* The fixture most tests share, and cmocka setup/teardown for it: the
 * default scheme, powered on, the device opened. */
extern esp_fx_t esp_fx;
int espfx_cmocka_setup(void **state);
int espfx_cmocka_teardown(void **state);
#define ESPFX_TEST(fn) \
    cmocka_unit_test_setup_teardown(fn, espfx_cmocka_setup, espfx_cmocka_teardown)

#endif
