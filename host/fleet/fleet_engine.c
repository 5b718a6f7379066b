/*
 * host/fleet/fleet_engine.c — the rollout rules of docs/FLEET.md §9; see
 * fleet_engine.h for the contract.
 */
#include "fleet_engine.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "aloft/error.h"
#include "aloft/wire/image.h"

const char *fleet_plan_check(const fleet_plan_t *p)
{
    if (p->npct == 0 || p->npct > FLEET_MAX_WAVES)
        return "--waves takes 1 to 8 percentages";
    for (uint8_t k = 0; k < p->npct; k++)
        if (p->pct[k] == 0 || p->pct[k] > 100 || (k > 0 && p->pct[k] <= p->pct[k - 1]))
            return "--waves percentages must rise, from 1 to 100 (e.g. 10,50,100)";
    if (p->pct[p->npct - 1] != 100)
        return "the last of --waves must be 100, or some devices are never updated";
    if (p->success_pct > 100 || p->fail_pct > 100)
        return "thresholds are percentages, 0 to 100";
    if (p->fail_pct == 0)
        return "--fail-threshold 0 would stop at the first report; give 1 to 100";
    if (p->timeout_s == 0)
        return "--timeout must be at least 1 second";
    return NULL;
}

uint16_t fleet_nwaves(const fleet_plan_t *p)
{
    return (uint16_t)((p->canary > 0 ? 1 : 0) + p->npct);
}

void fleet_assign_waves(const fleet_plan_t *p, fleet_dev_t *devs, size_t n)
{
    uint16_t first = p->canary > 0 ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        devs[i].dirty = true;
        if (i < p->canary) {
            devs[i].wave = 0;
            continue;
        }
        uint16_t w = (uint16_t)(first + p->npct - 1);
        for (uint8_t k = 0; k < p->npct; k++) {
            size_t upto = ((size_t)p->pct[k] * n + 99) / 100;
            if (i < upto) {
                w = (uint16_t)(first + k);
                break;
            }
        }
        devs[i].wave = w;
    }
}

void fleet_cmd_id(const fleet_rollout_t *r, const fleet_dev_t *d, char out[FLEET_CMD_ID_MAX])
{
    snprintf(out, FLEET_CMD_ID_MAX, "r%lld-%s-%u", (long long)r->id, d->name, d->attempts);
}

long fleet_find(const fleet_rollout_t *r, const char *name)
{
    for (size_t i = 0; i < r->ndevs; i++)
        if (strcmp(r->devs[i].name, name) == 0)
            return (long)i;
    return -1;
}

static bool in_flight(const fleet_dev_t *d)
{
    return d->state == FLEET_DEV_SENT || d->state == FLEET_DEV_RUNNING;
}

static bool finished(const fleet_rollout_t *r)
{
    return r->state == FLEET_ABORTED || r->state == FLEET_DONE;
}

static void set_state(fleet_rollout_t *r, uint8_t state, uint8_t why)
{
    r->state = state;
    r->reason = why;
    r->dirty = true;
}

static void dev_set(fleet_dev_t *d, uint8_t state, const char *error)
{
    d->state = state;
    if (error != d->error)
        snprintf(d->error, sizeof d->error, "%s", error ? error : "");
    d->dirty = true;
}

/* The failure threshold, checked at each failure: failed >= fail_pct % of
 * the finished devices (confirmed + failed, all waves) and at least
 * fail_min finished. */
static void check_failures(fleet_rollout_t *r)
{
    fleet_counts_t c;
    fleet_count(r, &c);
    uint32_t done = c.confirmed + c.failed;
    if (finished(r) || done < r->plan.fail_min || c.failed * 100u < (uint32_t)r->plan.fail_pct * done)
        return;
    set_state(r, r->plan.fail_abort ? FLEET_ABORTED : FLEET_PAUSED, FLEET_WHY_FAILURES);
}

static void dev_fail(fleet_rollout_t *r, fleet_dev_t *d, const char *error)
{
    dev_set(d, FLEET_DEV_FAILED, error);
    check_failures(r);
}

void fleet_on_online(fleet_rollout_t *r, size_t i, bool online)
{
    r->devs[i].online = online;
}

/* Which attempt of this rollout's commands to d the id names: 1.., or 0. */
static unsigned attempt_of(const fleet_rollout_t *r, const fleet_dev_t *d, const char *id)
{
    char want[FLEET_CMD_ID_MAX];
    for (unsigned k = d->attempts; k >= 1; k--) {
        snprintf(want, sizeof want, "r%lld-%s-%u", (long long)r->id, d->name, k);
        if (strcmp(id, want) == 0)
            return k;
    }
    return 0;
}

void fleet_on_progress(fleet_rollout_t *r, size_t i, const char *id, fleet_phase_t phase,
                       int code, const char *error, int64_t now_ms)
{
    fleet_dev_t *d = &r->devs[i];
    (void)now_ms;
    if (finished(r) || !in_flight(d) || id == NULL)
        return;
    unsigned k = attempt_of(r, d, id);
    if (k == 0)
        return;   /* another rollout's report */
    if (k < d->attempts) {
        if (phase == FLEET_PHASE_CONFIRMED)
            dev_set(d, FLEET_DEV_CONFIRMED, NULL);
        return;
    }
    switch (phase) {
    case FLEET_PHASE_DOWNLOADING:
    case FLEET_PHASE_REBOOTING:
        if (d->state != FLEET_DEV_RUNNING)
            dev_set(d, FLEET_DEV_RUNNING, NULL);
        break;
    case FLEET_PHASE_CONFIRMED:
        dev_set(d, FLEET_DEV_CONFIRMED, NULL);
        break;
    case FLEET_PHASE_REFUSED:
        if (code == ALOFT_ERR_BUSY && d->attempts > 1)
            break;   /* the earlier attempt still runs */
        dev_fail(r, d, error && *error ? error : "refused the release");
        break;
    case FLEET_PHASE_FAILED:
        dev_fail(r, d, error && *error ? error : "failed (the previous image runs)");
        break;
    case FLEET_PHASE_UNKNOWN:
        break;
    }
}

/* Attempts past their deadline: retried while retries last, else failed. */
static void time_out(fleet_rollout_t *r, int64_t now_ms)
{
    int64_t limit = (int64_t)r->plan.timeout_s * 1000;
    for (size_t i = 0; i < r->ndevs && !finished(r); i++) {
        fleet_dev_t *d = &r->devs[i];
        if (!in_flight(d) || now_ms - d->sent_ms < limit)
            continue;
        char why[160];
        if (d->attempts <= r->plan.retries) {
            snprintf(why, sizeof why, "attempt %u: no confirmation within %u s; retrying",
                     d->attempts, r->plan.timeout_s);
            d->sent_ms = 0;   /* queued again: waits afresh if offline */
            dev_set(d, FLEET_DEV_QUEUED, why);
        } else {
            snprintf(why, sizeof why, "no confirmation within %u s (%u attempt%s)",
                     r->plan.timeout_s, d->attempts, d->attempts == 1 ? "" : "s");
            dev_fail(r, d, why);
        }
    }
}

/* When the current wave has nothing left in flight or queued: pass it if
 * enough of its devices confirmed (skipped ones do not count), else stop. */
static void gate_wave(fleet_rollout_t *r)
{
    uint16_t nw = fleet_nwaves(&r->plan);
    while (r->state == FLEET_RUNNING) {
        uint32_t ok = 0, tried = 0;
        for (size_t i = 0; i < r->ndevs; i++) {
            const fleet_dev_t *d = &r->devs[i];
            if (d->wave != r->wave)
                continue;
            if (d->state == FLEET_DEV_QUEUED || in_flight(d))
                return;
            if (d->state == FLEET_DEV_CONFIRMED)
                ok++;
            if (d->state != FLEET_DEV_SKIPPED)
                tried++;
        }
        if (tried > 0 && ok * 100u < (uint32_t)r->plan.success_pct * tried) {
            set_state(r, FLEET_PAUSED, FLEET_WHY_WAVE_SUCCESS);
            return;
        }
        r->dirty = true;
        if (r->wave + 1 >= nw) {
            set_state(r, FLEET_DONE, FLEET_WHY_NONE);
            return;
        }
        r->wave++;
    }
}

/* A queued device that is offline when its wave comes is skipped at once,
 * or with offline=queue once it has stayed offline for the attempt timeout
 * (so a device that never comes back cannot hold its wave for ever). A
 * queued device's sent_ms is when it began to wait (0: not yet). */
static bool offline_skipped(fleet_rollout_t *r, fleet_dev_t *d, int64_t now_ms)
{
    char why[96];
    if (!r->plan.queue_offline) {
        dev_set(d, FLEET_DEV_SKIPPED, "offline when its wave came");
        return true;
    }
    if (d->sent_ms == 0) {
        d->sent_ms = now_ms;
        d->dirty = true;
    }
    if (now_ms - d->sent_ms < (int64_t)r->plan.timeout_s * 1000)
        return false;
    snprintf(why, sizeof why, "offline for %u s after its wave came", r->plan.timeout_s);
    dev_set(d, FLEET_DEV_SKIPPED, why);
    return true;
}

long fleet_step(fleet_rollout_t *r, int64_t now_ms)
{
    if (finished(r))
        return -1;
    time_out(r, now_ms);
    for (;;) {
        bool skipped = false;
        gate_wave(r);
        if (r->state != FLEET_RUNNING)
            return -1;
        for (size_t i = 0; i < r->ndevs; i++) {
            fleet_dev_t *d = &r->devs[i];
            if (d->wave != r->wave || d->state != FLEET_DEV_QUEUED)
                continue;
            if (!d->online) {
                skipped |= offline_skipped(r, d, now_ms);
                continue;
            }
            d->attempts++;
            d->sent_ms = now_ms;
            dev_set(d, FLEET_DEV_SENT, d->error);   /* keeps the retry's reason */
            return (long)i;
        }
        if (!skipped)
            return -1;   /* else the skips may have ended the wave: gate again */
    }
}

int fleet_pause(fleet_rollout_t *r)
{
    if (r->state != FLEET_RUNNING)
        return -1;
    set_state(r, FLEET_PAUSED, FLEET_WHY_USER);
    return 0;
}

int fleet_resume(fleet_rollout_t *r)
{
    if (r->state != FLEET_PAUSED)
        return -1;
    bool passed = r->reason == FLEET_WHY_WAVE_SUCCESS;
    set_state(r, FLEET_RUNNING, FLEET_WHY_NONE);
    if (passed) {
        if (r->wave + 1 >= fleet_nwaves(&r->plan))
            set_state(r, FLEET_DONE, FLEET_WHY_NONE);
        else
            r->wave++;
    }
    return 0;
}

int fleet_abort(fleet_rollout_t *r)
{
    if (finished(r))
        return -1;
    set_state(r, FLEET_ABORTED, FLEET_WHY_USER);
    return 0;
}

void fleet_count(const fleet_rollout_t *r, fleet_counts_t *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < r->ndevs; i++) {
        switch (r->devs[i].state) {
        case FLEET_DEV_QUEUED: c->queued++; break;
        case FLEET_DEV_SENT: c->sent++; break;
        case FLEET_DEV_RUNNING: c->running++; break;
        case FLEET_DEV_CONFIRMED: c->confirmed++; break;
        case FLEET_DEV_FAILED: c->failed++; break;
        default: c->skipped++; break;
        }
    }
}

const char *fleet_dev_state_name(uint8_t s)
{
    static const char *const names[] = {"queued", "sent", "running", "confirmed", "failed",
                                        "skipped"};
    return s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *fleet_state_name(uint8_t s)
{
    static const char *const names[] = {"running", "paused", "aborted", "done"};
    return s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *fleet_reason_text(uint8_t why)
{
    switch (why) {
    case FLEET_WHY_USER: return "by the user";
    case FLEET_WHY_FAILURES: return "the failure threshold was reached";
    case FLEET_WHY_WAVE_SUCCESS: return "a wave ended below the success threshold";
    default: return "";
    }
}

fleet_phase_t fleet_phase_parse(const char *s)
{
    static const char *const names[] = {"refused", "downloading", "rebooting", "confirmed",
                                        "failed"};
    for (size_t k = 0; s && k < sizeof names / sizeof names[0]; k++)
        if (strcmp(s, names[k]) == 0)
            return (fleet_phase_t)(k + 1);
    return FLEET_PHASE_UNKNOWN;
}

static bool same_chip(const char *a, const char *b)
{
    uint16_t x, y;
    if (aloft_chip_parse(a, &x) != 0 || aloft_chip_parse(b, &y) != 0)
        return strcmp(a, b) == 0;
    return x == y;
}

bool fleet_selects(const fleet_selector_t *s, const char *name, const char *chip,
                   const char *project, const char *version)
{
    if (s->project && (project == NULL || strcmp(s->project, project) != 0))
        return false;
    if (s->chip && (chip == NULL || !same_chip(s->chip, chip)))
        return false;
    if (s->version && (version == NULL || strcmp(s->version, version) != 0))
        return false;
    return s->name_glob == NULL || fnmatch(s->name_glob, name, 0) == 0;
}

bool fleet_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > FLEET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}
