/* sim/app.c — simulated BLE and MQTT load (see app.h). */
#include "app.h"

#include <time.h>

static void pause_task(void *ctx)
{
    sim_task_t *t = ctx;
    t->paused = true;
    t->pauses++;
}

static void resume_task(void *ctx)
{
    sim_task_t *t = ctx;
    t->paused = false;
    t->resumes++;
}

static void task_init(sim_task_t *t, const char *name, uint32_t every, uint32_t block,
                      aloft_quiesce_t *q, uint64_t now)
{
    t->name = name;
    t->every_ms = every;
    t->block_ms = block;
    t->next_ms = now + every;
    if (q && every)
        aloft_quiesce_add(q, name, pause_task, resume_task, t);
}

void sim_app_init(sim_app_t *app, uint32_t ble_every_ms, uint32_t ble_stall_ms,
                  uint32_t mqtt_every_ms, uint32_t mqtt_block_ms, aloft_quiesce_t *quiesce,
                  uint64_t now_ms)
{
    task_init(&app->ble, "ble-scan", ble_every_ms, ble_stall_ms, quiesce, now_ms);
    task_init(&app->mqtt, "mqtt", mqtt_every_ms, mqtt_block_ms, quiesce, now_ms);
}

static uint32_t run_task(sim_task_t *t, uint64_t now)
{
    if (t->every_ms == 0 || now < t->next_ms)
        return 0;
    t->next_ms = now + t->every_ms;
    if (t->paused)
        return 0;
    struct timespec ts = {t->block_ms / 1000, (long)(t->block_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    t->runs++;
    return t->block_ms;
}

uint32_t sim_app_step(sim_app_t *app, uint64_t now_ms)
{
    return run_task(&app->ble, now_ms) + run_task(&app->mqtt, now_ms);
}
