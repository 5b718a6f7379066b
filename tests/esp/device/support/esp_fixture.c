/* tests/esp/device/support/esp_fixture.c — see esp_fixture.h. */
#include "esp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto_mbedtls.h"
#include "image_make.h"
#include "nor_flash.h"

int espfx_setup(esp_fx_t *fx, aloft_scheme_t scheme)
{
    image_spec_t s1 = {.chip_id = ALOFT_CHIP_ESP32, .project = "demo", .version = "1.0.0",
                       .size = 150000};
    image_spec_t s2 = {.chip_id = ALOFT_CHIP_ESP32, .project = "demo", .version = "2.0.0",
                       .size = 300000, .seed = 2};
    memset(fx, 0, sizeof *fx);
    strcpy(fx->path, "/tmp/aloft-espfx-XXXXXX");
    int fd = mkstemp(fx->path);
    if (fd < 0)
        return ALOFT_ERR_IO;
    close(fd);
    fx->v1 = image_make(&s1, &fx->v1_len);
    fx->v2 = image_make(&s2, &fx->v2_len);
    int err = sim_flash_create(fx->path, scheme, fx->v1, fx->v1_len, NULL);
    return err ? err : fake_chip_power_on(&fx->chip, fx->path);
}

int espfx_open(esp_fx_t *fx)
{
    return esp_device_open(&fx->dev, NULL, 0);
}

int espfx_reboot(esp_fx_t *fx)
{
    fake_chip_power_off(&fx->chip);
    int err = fake_chip_power_on(&fx->chip, fx->path);
    return err ? err : espfx_open(fx);
}

void espfx_write_table(const char *path, const aloft_ptable_t *pt)
{
    nor_flash_t nor;
    uint8_t table[ALOFT_PT_LEN];
    if (nor_open_existing(&nor, path) != 0 ||
        aloft_ptable_write(pt, table, sizeof table, &aloft_mbedtls_md5) < 0) {
        fprintf(stderr, "espfx_write_table: cannot write %s\n", path);
        abort();
    }
    memcpy(nor.mem + ALOFT_PT_OFFSET, table, sizeof table);
    nor_close(&nor);
}

int espfx_update(esp_fx_t *fx, const uint8_t *img, size_t len, size_t chunk)
{
    return espfx_update_target(fx, ALOFT_TARGET_APP, img, len, chunk);
}

int espfx_update_target(esp_fx_t *fx, aloft_target_t target, const uint8_t *img, size_t len,
                        size_t chunk)
{
    uint8_t sha[32];
    aloft_hash_oneshot(fx->dev.crypto.sha256, img, len, sha);
    aloft_update_req_t req = {.target = target, .size = (uint32_t)len, .sha256 = sha};
    int err = aloft_update_begin(&fx->dev.update, &fx->dev.dev, &req);
    for (size_t at = 0; err == 0 && at < len; at += chunk)
        err = aloft_update_feed(&fx->dev.update, img + at, len - at < chunk ? len - at : chunk);
    return err ? err : aloft_update_finish(&fx->dev.update);
}

uint8_t *espfx_mem(esp_fx_t *fx)
{
    return fx->chip.sim.nor.mem;
}

void espfx_teardown(esp_fx_t *fx)
{
    fake_chip_power_off(&fx->chip);
    unlink(fx->path);
    image_free(fx->v1);
    image_free(fx->v2);
}

esp_fx_t esp_fx;

int espfx_cmocka_setup(void **state)
{
    (void)state;
    return espfx_setup(&esp_fx, ALOFT_SCHEME_DEFAULT) || espfx_open(&esp_fx);
}

int espfx_cmocka_teardown(void **state)
{
    (void)state;
    espfx_teardown(&esp_fx);
    return 0;
}
