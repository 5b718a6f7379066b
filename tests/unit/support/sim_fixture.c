/* tests/unit/support/sim_fixture.c — see sim_fixture.h. */
#include "sim_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "image_make.h"

int simfx_setup(sim_fixture_t *fx, uint16_t chip, size_t v1_size, size_t v2_size)
{
    image_spec_t s1 = {.chip_id = chip, .project = "demo", .version = "1.0.0",
                       .size = (uint32_t)v1_size};
    image_spec_t s2 = {.chip_id = chip, .project = "demo", .version = "2.0.0",
                       .size = (uint32_t)v2_size};
    sim_config_t cfg = {.rollback = true, .confirm_after_ms = 0};
    memset(fx, 0, sizeof *fx);
    strcpy(fx->path, "/tmp/aloft-simfx-XXXXXX");
    int fd = mkstemp(fx->path);
    if (fd < 0)
        return ALOFT_ERR_IO;
    close(fd);
    fx->v1 = image_make(&s1, &fx->v1_len);
    fx->v2 = image_make(&s2, &fx->v2_len);
    int err = sim_flash_create(fx->path, ALOFT_SCHEME_DEFAULT, fx->v1, fx->v1_len, NULL);
    if (err)
        return err;
    fx->sim.display.quiet = true;
    if ((err = sim_open(&fx->sim, fx->path, &cfg)) != 0)
        return err;
    return sim_boot(&fx->sim, 0);
}

int simfx_reboot(sim_fixture_t *fx)
{
    sim_config_t cfg = fx->sim.cfg;
    sim_close(&fx->sim);
    int err = sim_open(&fx->sim, fx->path, &cfg);
    return err ? err : sim_boot(&fx->sim, 0);
}

void simfx_teardown(sim_fixture_t *fx)
{
    sim_close(&fx->sim);
    unlink(fx->path);
    image_free(fx->v1);
    image_free(fx->v2);
}

void *simfx_ctx_new(size_t size, size_t v1_size, size_t v2_size)
{
    sim_fixture_t *fx = calloc(1, size);   /* the context's first member */
    if (fx != NULL && simfx_setup(fx, ALOFT_CHIP_ESP32, v1_size, v2_size) != 0) {
        free(fx);
        return NULL;
    }
    return fx;
}

int simfx_ctx_teardown(void **state)
{
    simfx_teardown(*state);
    free(*state);
    return 0;
}

uint8_t *simfx_snapshot(const sim_fixture_t *fx)
{
    uint8_t *copy = xmalloc(fx->sim.nor.size);
    memcpy(copy, fx->sim.nor.mem, fx->sim.nor.size);
    return copy;
}

uint8_t *simfx_fs_image(size_t len, unsigned seed)
{
    uint8_t *p = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        p[i] = (i / 256) % 4 ? 0xFF : (uint8_t)(i * 7 + seed + (i >> 9));
    return p;
}

int simfx_same(const sim_fixture_t *fx, const uint8_t *snap, uint32_t addr, uint32_t len)
{
    return memcmp(fx->sim.nor.mem + addr, snap + addr, len) == 0;
}
