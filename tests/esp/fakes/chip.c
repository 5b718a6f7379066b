/* tests/esp/fakes/chip.c — power a simulated ESP32 on for the port (see
 * fake_esp.h). */
#include <stdio.h>
#include <string.h>

#include "fake_esp.h"

int fake_chip_power_on(fake_chip_t *c, const char *path)
{
    sim_config_t cfg = {.rollback = true, .confirm_after_ms = -1};
    int err;
    memset(&c->sim, 0, sizeof c->sim);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->sim.display.quiet = true;
    if ((err = sim_open(&c->sim, path, &cfg)) != 0)
        return err;
    if ((err = sim_boot(&c->sim, 0)) != 0 || (err = fake_partition_attach(&c->sim.nor)) != 0) {
        sim_close(&c->sim);
        return err;
    }
    const aloft_part_t *slot = c->sim.boot.od.slots[c->sim.boot.slot];
    fake_ota_set_running(esp_partition_find_first(ESP_PARTITION_TYPE_APP,
                                                  (esp_partition_subtype_t)slot->subtype, NULL));
    return 0;
}

void fake_chip_power_off(fake_chip_t *c)
{
    fake_ota_set_running(NULL);
    fake_partition_detach();
    sim_close(&c->sim);
}
