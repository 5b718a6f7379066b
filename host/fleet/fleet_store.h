/*
 * host/fleet/fleet_store.h — the rollouts of `aloft fleet` in SQLite
 * (docs/FLEET.md §9.6): one row per rollout (plan, state, wave, the
 * release object, a pending user request) and one per device and rollout
 * (wave, state, attempts, when the attempt was sent, error). Every change
 * the engine marks dirty is written in one transaction, so a controller
 * killed at any point restarts from the last saved decision.
 *
 * The database is opened in WAL mode with a busy timeout, so `aloft fleet
 * status` and `pause` work while a controller runs.
 */
#ifndef ALOFT_FLEET_STORE_H
#define ALOFT_FLEET_STORE_H

#include <stdint.h>

#include "fleet_engine.h"
#include "host_error.h"

typedef struct fleet_store fleet_store_t;

/* What a rollout is about, beside the engine's state. */
typedef struct fleet_meta {
    char project[33], version[33];
    char *release_json;      /* the release object sent in each command (malloc'd) */
    int64_t created_ms, updated_ms;
    char request[16];        /* "pause", "resume", "abort" or "" */
} fleet_meta_t;

/* Open (creating the schema if new) the database at path. */
int fleet_store_open(const char *path, fleet_store_t **out, host_error_t *e);
void fleet_store_close(fleet_store_t *st);

/* Insert a new rollout with r's plan, state and devices; sets r->id and
 * clears the dirty flags. */
int fleet_store_create(fleet_store_t *st, fleet_rollout_t *r, const fleet_meta_t *m,
                       host_error_t *e);

/* The newest rollout: *id, or 0 when there is none. */
int fleet_store_latest(fleet_store_t *st, int64_t *id, host_error_t *e);

/* Load rollout id into r (r->devs malloc'd: free() it) and m (free
 * m->release_json). */
int fleet_store_load(fleet_store_t *st, int64_t id, fleet_rollout_t *r, fleet_meta_t *m,
                     host_error_t *e);

/* Write the rollout row (when dirty) and every dirty device, in one
 * transaction, then clear the flags. */
int fleet_store_save(fleet_store_t *st, fleet_rollout_t *r, int64_t now_ms, host_error_t *e);

/* Leave a request (pause, resume, abort) for the controller that runs
 * rollout id; take_request reads and clears it ("" when none). */
int fleet_store_request(fleet_store_t *st, int64_t id, const char *req, host_error_t *e);
int fleet_store_take_request(fleet_store_t *st, int64_t id, char out[16], host_error_t *e);

#endif /* ALOFT_FLEET_STORE_H */
