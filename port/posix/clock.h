/*
 * port/posix/clock.h — the time the engines are given: monotonic
 * milliseconds (CLOCK_MONOTONIC), never stepped by NTP.
 */
#ifndef ALOFT_POSIX_CLOCK_H
#define ALOFT_POSIX_CLOCK_H

#include <stdint.h>

uint64_t posix_now_ms(void);

#endif /* ALOFT_POSIX_CLOCK_H */
