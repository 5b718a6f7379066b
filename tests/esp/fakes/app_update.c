/* tests/esp/fakes/app_update.c — esp_ota_get_running_partition: the slot
 * the bootloader model booted (fake_chip_power_on sets it). */
#include "esp_ota_ops.h"
#include "fake_esp.h"

static const esp_partition_t *running;

void fake_ota_set_running(const esp_partition_t *p)
{
    running = p;
}

const esp_partition_t *esp_ota_get_running_partition(void)
{
    return running;
}
