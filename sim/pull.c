/*
 * sim/pull.c — the simulator's HTTP pull (see pull.h). Stub until the
 * libcurl runner lands: every start is refused.
 */
#include "pull.h"

#include <stdio.h>
#include <string.h>

int sim_release_parse(const char *json, sim_release_t *r, char *err, size_t n)
{
    (void)json;
    memset(r, 0, sizeof *r);
    snprintf(err, n, "release parsing not built yet");
    return -1;
}

int sim_pull_start(sim_pull_t *p, sim_device_t *sim, const sim_release_t *r,
                   const sim_pull_options_t *opt)
{
    memset(p, 0, sizeof *p);
    p->sim = sim;
    p->rel = *r;
    p->opt = *opt;
    p->engine.phase = ALOFT_PULL_REFUSED;
    return aloft_diag_set(&p->engine.diag, ALOFT_ERR_STATE, 0, 0, "pull");
}

sim_pull_result_t sim_pull_step(sim_pull_t *p, int timeout_ms)
{
    (void)p;
    (void)timeout_ms;
    return SIM_PULL_OVER;
}

void sim_pull_status(const sim_pull_t *p, aloft_pull_status_t *st)
{
    memset(st, 0, sizeof *st);
    st->phase = (aloft_pull_phase_t)p->engine.phase;
    st->diag = p->engine.diag;
}

void sim_pull_cancel(sim_pull_t *p)
{
    (void)p;
}
