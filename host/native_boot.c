/*
 * host/native_boot.c — after an upload or a rollback: wait for the device
 * to come back from its restart and read what it runs (native_host.h,
 * native_await_boot). Each attempt is an INFO session without a password
 * (native_info): the device sends its HELLO before any login, and the
 * HELLO names the running slot and every slot's otadata state. What that
 * means is the engine's (aloft_native_boot_check); this is the waiting.
 */
#include <string.h>

#include "native_host_priv.h"
#include "progress.h"

static uint32_t ms_left(double start, uint32_t timeout_ms)
{
    double used = (progress_clock() - start) * 1000.0;
    return used >= timeout_ms ? 0 : (uint32_t)(timeout_ms - used);
}

static uint32_t at_most(uint32_t v, uint32_t cap)
{
    return v < cap ? v : cap;
}

int native_await_boot(const native_peer_t *p, uint8_t slot, uint32_t timeout_ms,
                      native_boot_result_t *r)
{
    static native_info_t info;   /* a HELLO is large */
    native_peer_t probe = *p;
    double start = progress_clock();
    memset(r, 0, sizeof *r);
    if (timeout_ms == 0)
        timeout_ms = NATIVE_HOST_BOOT_MS;
    probe.password = NULL;   /* the HELLO is all it needs: no login */
    host_sleep_ms(at_most(NATIVE_HOST_RESTART_MS, timeout_ms));
    host_error_set(&r->error, ALOFT_ERR_TIMEOUT, "the device did not come back",
                   "nothing answered within %u s", (unsigned)(timeout_ms / 1000u));
    for (uint32_t left; (left = ms_left(start, timeout_ms)) > 0;) {
        /* A connect may not outlast the deadline. */
        probe.connect_timeout_ms =
            at_most(left, p->connect_timeout_ms ? p->connect_timeout_ms : NATIVE_HOST_CONNECT_MS);
        r->attempts++;
        if (native_info(&probe, &info) == 0) {
            r->have_hello = true;
            r->hello = info.hello;
            aloft_native_boot_t b = aloft_native_boot_check(&info.hello, slot);
            if (b == ALOFT_NATIVE_BOOT_NOT_YET) {
                host_error_set(&r->error, ALOFT_ERR_TIMEOUT, "the device has not restarted",
                               "it answers, still running %s with %s activated",
                               info.hello.slots[info.hello.running_slot].label.s,
                               info.hello.slots[slot].label.s);
            } else {
                r->back = true;
                r->outcome = b;
                r->probation = aloft_native_boot_probation(&info.hello, slot);
                r->seconds = progress_clock() - start;
                return 0;
            }
        } else {
            r->error = info.error;
        }
        host_sleep_ms(at_most(NATIVE_HOST_BOOT_RETRY_MS, ms_left(start, timeout_ms)));
    }
    r->outcome = ALOFT_NATIVE_BOOT_NOT_YET;
    r->seconds = progress_clock() - start;
    return ALOFT_ERR_TIMEOUT;
}
