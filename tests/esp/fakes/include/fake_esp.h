/*
 * tests/esp/fakes/include/fake_esp.h — what the tests control and observe
 * in the fakes of the IDF calls the device half uses.
 *
 * A "chip" is the simulator's device (sim/device.h) over a flash file made
 * by sim_flash_create: fake_chip_power_on runs the simulator's bootloader
 * model on it (sim_boot), then points esp_partition_* at its NOR flash and
 * esp_ota_get_running_partition at the slot the model booted, as the ROM
 * and the second-stage bootloader leave a real ESP32 for the app.
 */
#ifndef FAKE_ESP_H
#define FAKE_ESP_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "esp_partition.h"

/* esp_partition.c: partitions of the table at 0x8000 of nor (MD5 checked).
 * Returns 0 or the table's parse error. */
int fake_partition_attach(nor_flash_t *nor);
void fake_partition_detach(void);

typedef struct fake_partition_stats {
    unsigned reads, writes, erases;     /* calls that reached the flash */
    unsigned refused;                   /* calls refused (bounds, alignment) */
    unsigned erase_bytes;
} fake_partition_stats_t;
extern fake_partition_stats_t fake_partition_stats;

/* app_update.c */
void fake_ota_set_running(const esp_partition_t *p);

/* esp_task_wdt.c: esp_task_wdt_reset calls so far (subscribed or not;
 * fake_task.h has the watchdog's view). esp_system.c: esp_restart calls,
 * and where esp_restart longjmps to when armed (else it exits the
 * process). */
extern unsigned fake_wdt_resets;
extern unsigned fake_restarts;
extern jmp_buf *fake_restart_jmp;

/* chip.c */
typedef struct fake_chip {
    sim_device_t sim;
    char path[64];
} fake_chip_t;

/* Boot the chip from the flash file at path (rollback on, the health
 * policy never confirms: the app under test does). Returns 0 or an error
 * (bricked: ALOFT_ERR_NO_BOOTABLE). */
int fake_chip_power_on(fake_chip_t *c, const char *path);
void fake_chip_power_off(fake_chip_t *c);

/* mdns.c: what the port announced (zeroed by mdns_free). Set running
 * before aloft_start to play an application that runs mdns itself. */
#define FAKE_MDNS_SERVICES 4
#define FAKE_MDNS_TXT 8
typedef struct fake_mdns_service {
    char instance[64], type[32];   /* type: "_aloft._tcp"; "" = free entry */
    uint16_t port;
    size_t ntxt;
    char txt[FAKE_MDNS_TXT][80];   /* "key=value" */
} fake_mdns_service_t;
typedef struct fake_mdns {
    bool running;
    char hostname[64];
    fake_mdns_service_t services[FAKE_MDNS_SERVICES];
} fake_mdns_t;
extern fake_mdns_t fake_mdns;

/* nvs.c: the directory NVS lives in (NULL: nvs_open fails NOT_INITIALIZED). */
extern const char *fake_nvs_dir;

#endif
