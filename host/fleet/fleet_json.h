/*
 * host/fleet/fleet_json.h — the JSON objects of docs/FLEET.md the
 * controller reads (device §4, progress §5) and writes (release §3,
 * install command §6), with cJSON. Unknown members are ignored; a missing
 * or mistyped member reads as absent.
 */
#ifndef ALOFT_FLEET_JSON_H
#define ALOFT_FLEET_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "fleet_engine.h"

/* What the controller keeps of a device object. */
typedef struct fleet_seen {
    char name[FLEET_NAME_MAX + 1];
    char chip[24], project[33], version[33];
    char slots[160];          /* "app0 VALID 2.0.0*, app1 ABORTED 2.1.0" (* = running) */
    bool have_state;          /* a valid device object was seen */
    bool online;
} fleet_seen_t;

/* Parse a device object into s (name kept: it comes from the topic).
 * Returns 0, or -1 when it is not a JSON object. */
int fleet_json_device(const char *p, size_t n, fleet_seen_t *s);

/* Parse a progress object: its id (empty if none), phase, the error's
 * code (0 when null) and the error as "message (code N): hint" ("" when
 * null). Returns 0 or -1. */
int fleet_json_progress(const char *p, size_t n, char id[FLEET_CMD_ID_MAX], fleet_phase_t *phase,
                        int *code, char *error, size_t error_cap);

/* A release object (§3). patches_json: a JSON array text or NULL. */
typedef struct fleet_release {
    const char *project, *version, *chip, *url, *sha256_hex;
    size_t size;
    bool is_signed;
    const char *summary, *release_url;   /* may be NULL */
    const char *patches_json;
} fleet_release_t;

/* The release object as compact JSON text (malloc'd, free() it). */
char *fleet_json_release(const fleet_release_t *r);

/* Read project, version and chip of a release object (each cap 33/24
 * bytes). Returns 0, or -1 when a member is missing. */
int fleet_json_release_names(const char *p, char project[33], char version[33], char chip[24]);

/* The install command {"op":"install","id":...,"release":{...}}
 * (malloc'd). Returns NULL when release_json does not parse. */
char *fleet_json_install(const char *id, const char *release_json);

#endif /* ALOFT_FLEET_JSON_H */
