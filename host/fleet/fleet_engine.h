/*
 * host/fleet/fleet_engine.h — the rollout engine of `aloft fleet`
 * (docs/FLEET.md §9), sans-I/O: it holds the plan, the rollout's state and
 * the caller's device table, takes events (a device online or offline, a
 * progress object, the time) and decides what to command next, when a wave
 * advances, when the rollout pauses or aborts. It never touches the
 * broker, the clock or the store: the caller feeds it, publishes the
 * commands it asks for and saves what it marked dirty.
 *
 * Use: fill a fleet_rollout_t (plan, id, devs, waves from
 * fleet_assign_waves), then in a loop feed events and call fleet_step
 * until it returns -1, publishing an install command for each index it
 * returns (its id from fleet_cmd_id). Save every row with dirty set (and
 * the rollout when r->dirty), then clear the flags. Save before publishing:
 * a controller that dies after the save and before the publish loses that
 * attempt to the timeout, but never repeats a command.
 */
#ifndef ALOFT_FLEET_ENGINE_H
#define ALOFT_FLEET_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_MAX_WAVES 8      /* percentage waves after the canary */
#define FLEET_NAME_MAX 32      /* FLEET.md §1: 1..32 of [a-z0-9_-] */
#define FLEET_CMD_ID_MAX 64

/* A device's place in the rollout (the values are stored: append only). */
typedef enum fleet_dev_state {
    FLEET_DEV_QUEUED = 0,     /* not yet commanded (or waiting for a retry) */
    FLEET_DEV_SENT = 1,       /* install command published, no report yet */
    FLEET_DEV_RUNNING = 2,    /* reported downloading or rebooting */
    FLEET_DEV_CONFIRMED = 3,  /* reported confirmed: success */
    FLEET_DEV_FAILED = 4,     /* refused, failed (rollback included) or timed out */
    FLEET_DEV_SKIPPED = 5,    /* offline when its wave came (offline=skip) */
} fleet_dev_state_t;

typedef enum fleet_state {
    FLEET_RUNNING = 0,
    FLEET_PAUSED = 1,
    FLEET_ABORTED = 2,
    FLEET_DONE = 3,
} fleet_state_t;

/* Why the rollout paused or aborted. */
typedef enum fleet_reason {
    FLEET_WHY_NONE = 0,
    FLEET_WHY_USER = 1,          /* aloft fleet pause / abort */
    FLEET_WHY_FAILURES = 2,      /* the failure threshold */
    FLEET_WHY_WAVE_SUCCESS = 3,  /* a wave ended below the success threshold */
} fleet_reason_t;

/* What phase a progress object reports (FLEET.md §5). */
typedef enum fleet_phase {
    FLEET_PHASE_UNKNOWN = 0,
    FLEET_PHASE_REFUSED,
    FLEET_PHASE_DOWNLOADING,
    FLEET_PHASE_REBOOTING,
    FLEET_PHASE_CONFIRMED,
    FLEET_PHASE_FAILED,
} fleet_phase_t;

typedef struct fleet_plan {
    uint32_t canary;                  /* devices in wave 0 (0: no canary wave) */
    uint8_t pct[FLEET_MAX_WAVES];     /* cumulative % of the devices after each wave */
    uint8_t npct;                     /* at least 1; pct rising, the last 100 */
    uint8_t success_pct;              /* a wave advances when >= this % confirmed */
    uint8_t fail_pct;                 /* stop when failed >= this % of finished ... */
    uint32_t fail_min;                /* ... and at least this many finished */
    bool fail_abort;                  /* the failure threshold aborts (else pauses) */
    uint32_t timeout_s;               /* per attempt: command to confirmed */
    uint32_t retries;                 /* attempts after a timed-out one */
    bool queue_offline;               /* offline devices wait up to timeout_s
                                         (else skipped at once) */
} fleet_plan_t;

typedef struct fleet_dev {
    char name[FLEET_NAME_MAX + 1];
    uint16_t wave;
    uint8_t state;           /* fleet_dev_state_t */
    uint8_t attempts;        /* commands sent so far */
    bool online;             /* last PREFIX/DEV/online said online */
    bool dirty;              /* changed since the caller last saved it */
    int64_t sent_ms;         /* when the current attempt was commanded; while
                                queued and offline (offline=queue): since when
                                it waits, 0 before its wave came */
    char error[160];         /* why it failed or was skipped */
} fleet_dev_t;

typedef struct fleet_rollout {
    fleet_plan_t plan;
    int64_t id;              /* the store's rollout id: command ids are rID-DEV-N */
    uint8_t state;           /* fleet_state_t */
    uint8_t reason;          /* fleet_reason_t */
    uint16_t wave;           /* the wave being rolled out */
    bool dirty;
    fleet_dev_t *devs;       /* caller-owned, ndevs rows */
    size_t ndevs;
} fleet_rollout_t;

/* Counts over the whole rollout (all waves). */
typedef struct fleet_counts {
    uint32_t queued, sent, running, confirmed, failed, skipped;
} fleet_counts_t;

/* Check a plan: returns NULL, or what is wrong with it in words. */
const char *fleet_plan_check(const fleet_plan_t *p);

/* Number of waves: the canary (when plan.canary > 0) and one per pct. */
uint16_t fleet_nwaves(const fleet_plan_t *p);

/* Give devs[0..n) (in rollout order) their waves: the first canary ones
 * wave 0, then wave w holds those up to pct[w-1] % of n (rounded up). */
void fleet_assign_waves(const fleet_plan_t *p, fleet_dev_t *devs, size_t n);

/* The install command's id for a device's current attempt: "r7-gw1-2". */
void fleet_cmd_id(const fleet_rollout_t *r, const fleet_dev_t *d, char out[FLEET_CMD_ID_MAX]);

/* The device named name, or -1. */
long fleet_find(const fleet_rollout_t *r, const char *name);

/* Events. */
void fleet_on_online(fleet_rollout_t *r, size_t i, bool online);

/* A progress object from device i, with the code of its error (0: none).
 * Taken when id is that of the device's current attempt while it is in
 * flight; of an earlier attempt of this rollout only a confirmation counts
 * (a slow device that was retried). A BUSY refusal of a retry is not a
 * failure: the earlier attempt still runs, its report or the timeout
 * decides. Anything else (another rollout's id) is ignored. error: the
 * object's error in words (may be NULL). */
void fleet_on_progress(fleet_rollout_t *r, size_t i, const char *id, fleet_phase_t phase,
                       int code, const char *error, int64_t now_ms);

/* Advance time (now_ms: a wall clock, > 0): time out attempts, skip
 * devices offline past their wait, finish waves, and return the index of
 * a device to command now (already marked SENT with its attempt counted
 * and sent_ms = now_ms), or -1 when there is nothing to send. Call again
 * until -1. */
long fleet_step(fleet_rollout_t *r, int64_t now_ms);

/* User requests. Pause: no new commands, devices in flight still tracked.
 * Resume: go on; after a wave ended below the success threshold that wave
 * counts as passed. Abort: the rollout ends. Each returns 0, or -1 when it
 * does not apply (resume of a running rollout, anything after the end). */
int fleet_pause(fleet_rollout_t *r);
int fleet_resume(fleet_rollout_t *r);
int fleet_abort(fleet_rollout_t *r);

void fleet_count(const fleet_rollout_t *r, fleet_counts_t *c);

/* Names for output and the store. */
const char *fleet_dev_state_name(uint8_t s);
const char *fleet_state_name(uint8_t s);
const char *fleet_reason_text(uint8_t why);
fleet_phase_t fleet_phase_parse(const char *s);

/* The device selector (FLEET.md §9): what a device must be to be part of
 * a rollout. NULL members match anything. */
typedef struct fleet_selector {
    const char *project;     /* the release's project */
    const char *chip;        /* the release's chip (names compared as aloft_chip_parse does) */
    const char *version;     /* --version: the version it runs now */
    const char *name_glob;   /* --name: a shell pattern (fnmatch) */
} fleet_selector_t;

/* Does a device (its state object's members; NULLs where missing) fall
 * under the selector? */
bool fleet_selects(const fleet_selector_t *s, const char *name, const char *chip,
                   const char *project, const char *version);

/* A valid device name (FLEET.md §1)? */
bool fleet_name_ok(const char *name);

#endif /* ALOFT_FLEET_ENGINE_H */
