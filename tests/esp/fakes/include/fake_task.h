/*
 * tests/esp/fakes/include/fake_task.h — what the task fakes let a test
 * see: the last task created and the task watchdog's counts.
 */
#ifndef FAKE_TASK_H
#define FAKE_TASK_H

#include <stdint.h>

typedef struct fake_task_info {
    char name[16];
    uint32_t stack;
    unsigned priority;
    int core;
    unsigned created;       /* tasks created so far */
} fake_task_info_t;

void fake_task_last(fake_task_info_t *out);

typedef struct fake_wdt_stats {
    unsigned subscribed;    /* tasks subscribed now */
    unsigned long resets;   /* esp_task_wdt_reset by subscribed tasks, ever */
    uint32_t longest_ms;    /* longest time a subscribed task went without one */
} fake_wdt_stats_t;

void fake_wdt_stats(fake_wdt_stats_t *out);

#endif
