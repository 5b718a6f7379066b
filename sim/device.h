/*
 * sim/device.h — a simulated ESP32: the aloft core running over
 * a file-backed NOR flash (port/posix/nor_flash.h) with an ESP-IDF partition
 * table, otadata and A/B app slots. aloft-sim is a thin main() around it;
 * the power-cut sweeps drive it in-process.
 *
 * Flash file layout (4 MB, as an ESP32 with an arduino-esp32 scheme):
 *   bootloader stand-in at 0x1000 (0x0 on C3/S3/C2/C6/H2): an app-format
 *   header whose chip id tells the simulated ROM which chip this is;
 *   partition table at 0x8000; otadata, nvs, app0, app1, spiffs, coredump
 *   per the scheme.
 */
#ifndef ALOFT_SIM_DEVICE_H
#define ALOFT_SIM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "aloft/update.h"
#include "clock.h"
#include "nor_flash.h"

#define SIM_FLASH_SIZE 0x400000u
#define SIM_WINDOW_BITS 12   /* zlib window the simulated device inflates */

/* What aloft-sim prints; sim_device reports through it. */
typedef struct sim_display {
    bool tty;          /* refresh one status line in place (else print lines) */
    bool quiet;        /* no output at all (tests) */
    int last_percent;  /* last progress printed on a non-tty */
} sim_display_t;

#define SIM_MAX_KEYS 4

typedef struct sim_config {
    bool rollback;            /* bootloader rollback on (ESP-IDF default for aloft) */
    int confirm_after_ms;     /* health policy: confirm after running this long; <0 never */
    /* health policy: confirm once this TCP endpoint (e.g. the MQTT broker)
     * accepts a connection; NULL = not used */
    const char *confirm_endpoint;
    nor_timing_mode_t timing;
    aloft_pubkey_t keys[SIM_MAX_KEYS];   /* provisioned signing keys */
    size_t nkeys;
} sim_config_t;

typedef struct sim_device {
    sim_config_t cfg;
    nor_flash_t nor;
    uint16_t chip_id;
    aloft_boot_t boot;
    aloft_quiesce_t quiesce;
    aloft_device_t dev;
    aloft_update_t update;
    sim_display_t display;
    uint64_t boot_ms;         /* monotonic ms at the last boot */
    uint64_t probe_ms;        /* last health probe of confirm_endpoint */
    int boots;
    bool booted;
    char activity[96];        /* what the status line shows on the right */
} sim_device_t;

/* Create a new flash file at path: scheme's partition table, the chip's
 * bootloader stand-in, firmware in app0, blank otadata (so app0 boots).
 * The firmware must be a valid app image; its chip becomes the device's.
 * Returns 0 or an error code (details in diag, may be NULL). */
int sim_flash_create(const char *path, aloft_scheme_t scheme,
                     const uint8_t *fw, size_t fw_len, aloft_diag_t *diag);

/* A throw-away device (fuzzers): a new flash file in /tmp with fw in app0,
 * opened, unlinked (the mapping keeps it) and booted quietly. Returns 0 or
 * an error code. */
int sim_open_scratch(sim_device_t *sim, const uint8_t *fw, size_t fw_len,
                     const sim_config_t *cfg);

/* A cheap reset for fuzzers, which run thousands of sessions a second on
 * one device: sim_checkpoint() copies the flash into cp->flash (the
 * caller's, sim->nor.size bytes) and keeps the device's whole state (boot
 * result, quiesce hooks, counters); sim_rewind() ends any update session as
 * a reset would (sim_boot), then copies back only the flash bytes written
 * since (nor_flash's touched span) and the state, so the device is as it
 * was at the checkpoint, without booting again. The checkpoint points into
 * sim: rewind only the device it was taken of. */
typedef struct sim_checkpoint {
    sim_device_t state;
    uint8_t *flash;
} sim_checkpoint_t;

void sim_checkpoint(sim_device_t *sim, sim_checkpoint_t *cp, uint8_t *flash);
void sim_rewind(sim_device_t *sim, const sim_checkpoint_t *cp);

/* Whether any byte of [addr, addr + len) differs from the checkpoint (only
 * the bytes written since are compared). */
bool sim_changed(const sim_device_t *sim, const sim_checkpoint_t *cp, uint32_t addr,
                 uint32_t len);

/* Open an existing flash file. Returns 0 or an error code. */
int sim_open(sim_device_t *sim, const char *path, const sim_config_t *cfg);
void sim_close(sim_device_t *sim);

/* Run the boot path (partition table, otadata rollback step, image
 * verification, fallback) and print the banner. Returns 0 or an error code
 * (no bootable image: the device is bricked). */
int sim_boot(sim_device_t *sim, uint64_t now_ms);

/* Health policy: confirm a PENDING_VERIFY image once it has run for
 * confirm_after_ms and, if confirm_endpoint is set, that endpoint accepts a
 * TCP connection (probed once a second). Returns 1 if it confirmed now, 0
 * otherwise, or an error. */
int sim_tick(sim_device_t *sim, uint64_t now_ms);

/* Confirm the running image now (otadata VALID) if it is PENDING_VERIFY,
 * logging "aloft-sim: WHY: SLOT confirmed (VALID)". Returns 1 if it
 * confirmed, 0 if there was nothing to confirm, or a flash error. */
int sim_confirm(sim_device_t *sim, const char *why);

/* Feed a whole buffer through the update pipeline in transport-sized
 * pieces, as a local "upload". Returns 0 or the pipeline's error (details
 * from aloft_update_diag(&sim->update)). */
int sim_update_buffer(sim_device_t *sim, aloft_target_t target,
                      const uint8_t *data, size_t len);

/* Print the status line (state, slot, version, update progress). */
void sim_show_status(sim_device_t *sim);

/* Print one line of the device's log (above the status line on a tty;
 * nothing when quiet) and flush it. */
void sim_log(sim_device_t *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Format the status line into out. */
void sim_status_line(const sim_device_t *sim, char *out, size_t n);


#endif /* ALOFT_SIM_DEVICE_H */
