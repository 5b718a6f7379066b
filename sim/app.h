/*
 * sim/app.h — the simulated application work of a typical
 * ESP32 gateway (OpenMQTTGateway-style), the load under which field OTA
 * uploads fail:
 *
 *  - a BLE scan that steals radio time: every ble_every_ms the device's
 *    loop (and its network) is stalled for ble_stall_ms, as Wi-Fi/BT
 *    coexistence starves Wi-Fi;
 *  - an MQTT client that reconnects and blocks: every mqtt_every_ms the
 *    loop blocks for mqtt_block_ms.
 *
 * Both register quiesce hooks, so an update in progress pauses them (unless
 * the simulator runs with quiesce disabled, to reproduce the failures).
 */
#ifndef ALOFT_SIM_APP_H
#define ALOFT_SIM_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/quiesce.h"

typedef struct sim_task {
    const char *name;
    uint32_t every_ms, block_ms;   /* 0 every_ms: task off */
    uint64_t next_ms;
    bool paused;
    uint32_t runs, pauses, resumes;
} sim_task_t;

typedef struct sim_app {
    sim_task_t ble, mqtt;
} sim_app_t;

/* Configure the tasks and, if quiesce is not NULL, register their hooks. */
void sim_app_init(sim_app_t *app, uint32_t ble_every_ms, uint32_t ble_stall_ms,
                  uint32_t mqtt_every_ms, uint32_t mqtt_block_ms, aloft_quiesce_t *quiesce,
                  uint64_t now_ms);

/* Run whatever task is due (blocking the caller for its duration, as the
 * real task blocks the loop). Returns the milliseconds spent. */
uint32_t sim_app_step(sim_app_t *app, uint64_t now_ms);

#endif /* ALOFT_SIM_APP_H */
