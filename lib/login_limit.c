/*
 * lib/login_limit.c — the failed-login limiter (contract in
 * aloft/login_limit.h).
 *
 * The device budget is a token bucket kept as "spent" (so zero means
 * full, and a zeroed limiter is ready): a failure of an unknown peer
 * spends one, and one comes back every ALOFT_LOGIN_REFILL_MS after
 * spent_ms. Engines check and report within one call, so the check and
 * the failure it allowed cannot interleave with another login.
 */
#include <string.h>

#include "aloft/login_limit.h"

static int peer_index(const aloft_login_limiter_t *l, uint32_t peer)
{
    for (unsigned i = 0; i < ALOFT_LOGIN_PEERS; i++)
        if (l->peer[i].fails && l->peer[i].peer == peer)
            return (int)i;
    return -1;
}

bool aloft_login_known(const aloft_login_limiter_t *l, uint32_t peer)
{
    for (unsigned i = 0; l && i < l->nknown; i++)
        if (l->known[i] == peer)
            return true;
    return false;
}

/* Give back what the time since spent_ms has earned. */
static void refill(aloft_login_limiter_t *l, uint32_t now)
{
    if (l->spent == 0)
        return;
    uint32_t back = (now - l->spent_ms) / ALOFT_LOGIN_REFILL_MS;
    if (back >= l->spent) {
        l->spent = 0;
        return;
    }
    l->spent = (uint8_t)(l->spent - back);
    l->spent_ms += back * ALOFT_LOGIN_REFILL_MS;
}

int aloft_login_check(aloft_login_limiter_t *l, uint32_t peer, uint32_t now_ms, bool retry,
                      uint32_t *wait_ms)
{
    uint32_t own = 0, device = 0;
    *wait_ms = 0;
    if (l == NULL)
        return ALOFT_OK;
    int i = retry ? -1 : peer_index(l, peer);
    if (i >= 0) {
        uint32_t age = now_ms - l->peer[i].since_ms;
        if (age >= l->peer[i].wait_ms)
            l->peer[i].wait_ms = 0;   /* served; an old entry must not lock again at the wrap */
        else
            own = l->peer[i].wait_ms - age;
    }
    refill(l, now_ms);
    if (l->spent >= ALOFT_LOGIN_BUDGET && !aloft_login_known(l, peer))
        device = ALOFT_LOGIN_REFILL_MS - (now_ms - l->spent_ms);
    *wait_ms = own > device ? own : device;
    return own == 0 && device == 0 ? ALOFT_OK
         : own >= device           ? ALOFT_ERR_RATE : ALOFT_ERR_LOGIN_BUDGET;
}

/* The counter for peer: its own, a free one, else the one of the unknown
 * peer that failed longest ago (known peers keep theirs: a flood must not
 * reset a lockout). */
static int peer_slot(aloft_login_limiter_t *l, uint32_t peer, uint32_t now)
{
    int i = peer_index(l, peer), oldest = -1;
    if (i >= 0)
        return i;
    for (unsigned k = 0; k < ALOFT_LOGIN_PEERS; k++) {
        if (l->peer[k].fails == 0) {
            oldest = (int)k;
            break;
        }
        if (aloft_login_known(l, l->peer[k].peer))
            continue;
        if (oldest < 0 || now - l->peer[k].since_ms > now - l->peer[oldest].since_ms)
            oldest = (int)k;
    }
    if (oldest < 0)
        oldest = 0;
    memset(&l->peer[oldest], 0, sizeof l->peer[oldest]);
    l->peer[oldest].peer = peer;
    return oldest;
}

/* One more failure in a row for peer, and the lockout it earns. */
static void count_failure(aloft_login_limiter_t *l, uint32_t peer, uint32_t now_ms)
{
    int i = peer_slot(l, peer, now_ms);
    if (l->peer[i].fails < 255)
        l->peer[i].fails++;
    l->peer[i].since_ms = now_ms;
    l->peer[i].wait_ms = 0;
    if (l->peer[i].fails > ALOFT_LOGIN_FREE) {
        unsigned over = l->peer[i].fails - ALOFT_LOGIN_FREE - 1u;
        uint32_t wait = ALOFT_LOGIN_FIRST_WAIT_MS << (over < 6 ? over : 6);   /* 1, 2, 4 ... s */
        l->peer[i].wait_ms = wait < ALOFT_LOGIN_MAX_WAIT_MS ? wait : ALOFT_LOGIN_MAX_WAIT_MS;
    }
}

void aloft_login_failed(aloft_login_limiter_t *l, uint32_t peer, uint32_t now_ms, bool retry)
{
    if (l == NULL)
        return;
    if (!retry)
        count_failure(l, peer, now_ms);
    if (aloft_login_known(l, peer))
        return;
    refill(l, now_ms);
    if (l->spent == 0)
        l->spent_ms = now_ms;
    if (l->spent < ALOFT_LOGIN_BUDGET)
        l->spent++;
}

void aloft_login_succeeded(aloft_login_limiter_t *l, uint32_t peer)
{
    if (l == NULL)
        return;
    int i = peer_index(l, peer);
    if (i >= 0)
        memset(&l->peer[i], 0, sizeof l->peer[i]);
    unsigned at = 0;   /* move (or add) peer to the front */
    while (at < l->nknown && l->known[at] != peer)
        at++;
    if (at == l->nknown && l->nknown < ALOFT_LOGIN_KNOWN)
        l->nknown++;
    if (at == ALOFT_LOGIN_KNOWN)
        at--;   /* the least recent is forgotten */
    memmove(&l->known[1], &l->known[0], at * sizeof l->known[0]);
    l->known[0] = peer;
}
