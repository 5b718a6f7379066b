/*
 * lib/native_admit.c — which connection slot a new native connection
 * takes (contract in aloft/native_device.h, guarantees in docs/PROTOCOL.md
 * "Login and connection guarantees"). A port with a fixed number of
 * connections calls it on accept; the ESP-IDF port and the POSIX one share
 * the policy this way.
 *
 * Why the oldest connection that is not logged in: a login takes one round
 * trip, so the oldest has had the most time to finish it; evicting it
 * bounds how long any unfinished login can hold a slot to the arrival of
 * the next connections, not to its own deadline. Known peers (they logged
 * in before) are displaced only by known peers, so a flood of connections
 * from other addresses cannot push them out before they log in.
 */
#include "aloft/native_device.h"

int aloft_native_admit(aloft_native_device_t *const conn[], size_t n,
                       const aloft_login_limiter_t *limiter, uint32_t peer, uint32_t now_ms)
{
    bool known = aloft_login_known(limiter, peer);
    int over = -1, victim = -1;
    for (size_t i = 0; i < n; i++) {
        const aloft_native_device_t *d = conn[i];
        if (d == NULL)
            return (int)i;
        if (aloft_native_device_state(d) & ALOFT_NATIVE_CLOSED) {
            over = (int)i;
            continue;
        }
        if (d->logged_in || (!known && aloft_login_known(limiter, d->peer_ip)))
            continue;
        if (victim < 0 || now_ms - d->start_ms > now_ms - conn[victim]->start_ms)
            victim = (int)i;
    }
    return over >= 0 ? over : victim;
}
