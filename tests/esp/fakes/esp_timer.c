/* tests/esp/fakes/esp_timer.c — see include/esp_timer.h. */
#include "esp_timer.h"

#include <time.h>

int64_t esp_timer_get_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
