/*
 * aloft/login_limit.h — the failed-login limiter every login of a device
 * goes through (the native AUTH and espota's "200" answer): one instance,
 * caller-owned, zero-initialised, shared by the engines (their configs
 * take a pointer to it), so both protocols draw on the same budget. Peers
 * are 32-bit keys (an IPv4 address in host byte order).
 *
 * An engine asks aloft_login_check() before it looks at a proof, so a
 * refused attempt costs no derivation, then reports the outcome. Limits:
 *  - per peer: the 3rd failure in a row locks that peer out for 1 s, each
 *    further one doubles the wait, up to 60 s; a success clears the count
 *    (counters for ALOFT_LOGIN_PEERS peers; when they are all taken, the
 *    peer that failed longest ago is forgotten first);
 *  - per device: failures of peers that have never logged in draw on one
 *    budget of ALOFT_LOGIN_BUDGET, one more every ALOFT_LOGIN_REFILL_MS;
 *    while it is empty such peers wait for the next refill, whatever their
 *    address (so more addresses do not buy more guesses);
 *  - the last ALOFT_LOGIN_KNOWN distinct peers that logged in are known:
 *    the device budget does not apply to them (a flood from other addresses
 *    cannot keep them out); the per-peer limit does.
 * The guarantees with their numbers are in docs/PROTOCOL.md ("Login and
 * connection guarantees").
 *
 * Not thread-safe: call it from the task that runs the engines. now_ms is
 * only compared by subtraction, so it may wrap. A NULL limiter limits
 * nothing.
 */
#ifndef ALOFT_LOGIN_LIMIT_H
#define ALOFT_LOGIN_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "aloft/error.h"

#define ALOFT_LOGIN_PEERS 16u          /* per-peer failure counters */
#define ALOFT_LOGIN_FREE 2u            /* failures in a row without a wait */
#define ALOFT_LOGIN_FIRST_WAIT_MS 1000u
#define ALOFT_LOGIN_MAX_WAIT_MS 60000u
#define ALOFT_LOGIN_BUDGET 10u         /* device-wide failures of unknown peers, at once */
#define ALOFT_LOGIN_REFILL_MS 6000u    /* one more every 6 s: 10 a minute */
#define ALOFT_LOGIN_KNOWN 4u           /* peers that logged in, remembered */

typedef struct aloft_login_limiter {
    struct {
        uint32_t peer;
        uint32_t since_ms;   /* time of the last failure */
        uint32_t wait_ms;    /* lockout from since_ms; 0 = none */
        uint8_t fails;       /* in a row; 0 = free entry */
    } peer[ALOFT_LOGIN_PEERS];
    uint32_t known[ALOFT_LOGIN_KNOWN];   /* most recent first */
    uint8_t nknown;
    uint8_t spent;                       /* device budget used */
    uint32_t spent_ms;                   /* refills count from here */
} aloft_login_limiter_t;

/* May peer's proof be checked now? Returns 0 (yes), ALOFT_ERR_RATE (peer
 * is locked out) or ALOFT_ERR_LOGIN_BUDGET (the device budget is spent and
 * peer is not known), with *wait_ms = how long until it may try (0 with
 * a 0 return). retry: this is the second try of a login that just failed,
 * which a host makes by design (espota >= 3.3.1 tries the password as a
 * SHA-256 and then as an MD5 secret); the peer's own lockout does not
 * apply to it (the device budget does). */
int aloft_login_check(aloft_login_limiter_t *l, uint32_t peer, uint32_t now_ms, bool retry,
                      uint32_t *wait_ms);

/* peer's proof was wrong (or its login was abandoned unanswered). A
 * failed retry spends the device budget but does not count against the
 * peer: one wrong password is one failure, however many forms the host
 * tried it in. */
void aloft_login_failed(aloft_login_limiter_t *l, uint32_t peer, uint32_t now_ms, bool retry);

/* peer logged in: its failures are forgotten and it becomes known. */
void aloft_login_succeeded(aloft_login_limiter_t *l, uint32_t peer);

/* peer is one of the last ALOFT_LOGIN_KNOWN peers that logged in. */
bool aloft_login_known(const aloft_login_limiter_t *l, uint32_t peer);

#endif /* ALOFT_LOGIN_LIMIT_H */
