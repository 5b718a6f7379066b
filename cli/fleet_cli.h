/*
 * cli/fleet_cli.h — what the `aloft fleet` subcommands share
 * (cli/cmd_fleet.c: options, the broker's device table, devices,
 * release; cli/cmd_fleet_rollout.c: rollout, run, status, pause, resume,
 * abort).
 */
#ifndef ALOFT_FLEET_CLI_H
#define ALOFT_FLEET_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "fleet_json.h"
#include "fleet_mqtt.h"
#include "host_error.h"

/* Options every fleet subcommand takes. */
typedef struct fleet_opts {
    fleet_broker_t broker;
    const char *db;          /* --db, default aloft-fleet.db */
    bool json;
    char password[256];      /* from --password-file or ALOFT_MQTT_PASSWORD */
    const char *password_file;
    char host[128];
} fleet_opts_t;

/* Defaults, before parsing. */
void fleet_opts_init(fleet_opts_t *o);

/* Take argv[*i] if it is a shared option (--broker, --user, --password,
 * --password-file, --cafile, --prefix, --db, --json). Returns 1 taken,
 * 0 not one of them, or CLI_USAGE after printing what is wrong. */
int fleet_common_opt(const char *cmd, int argc, char **argv, int *i, fleet_opts_t *o);

/* After parsing: read the password file or environment, set the port
 * default. Returns 0 or CLI_USAGE / CLI_FAIL after printing. */
int fleet_opts_finish(const char *cmd, fleet_opts_t *o);

/* The devices the broker's retained messages describe, and the release
 * of one project. */
typedef struct fleet_roster {
    fleet_seen_t *devs;
    size_t n, cap;
    const char *release_project;   /* NULL: not watched */
    char *release_json;            /* retained PREFIX/release/PROJECT (malloc'd) */
    const char *prefix;
} fleet_roster_t;

/* Record a message in the roster (PREFIX/DEV/state, PREFIX/DEV/online,
 * PREFIX/release/PROJECT). Returns the device's row, or NULL for other
 * topics. kind receives "state", "online", "update" or "". */
fleet_seen_t *fleet_roster_note(fleet_roster_t *ro, const char *topic, const void *p, size_t n,
                                const char **kind);
void fleet_roster_free(fleet_roster_t *ro);

/* Connect to the broker with fn as the message handler, subscribe to the
 * device topics (and the release of ro->release_project) and wait until
 * the retained ones are in. Returns 0 or CLI_FAIL after printing. */
int fleet_connect(const fleet_opts_t *o, fleet_msg_fn fn, void *ctx, const char *release_project,
                  fleet_mqtt_t **out);

/* "aloft: message: hint" to stderr; returns CLI_FAIL. */
int fleet_fail(const host_error_t *e);

/* Wall-clock milliseconds (rollout deadlines survive a restart). */
long long fleet_now_ms(void);

/* The help text of `aloft fleet` (the list of subcommands). */
extern const char fleet_help[];

int fleet_rollout_cmd(int argc, char **argv);
int fleet_run_cmd(int argc, char **argv);
int fleet_status_cmd(int argc, char **argv);
int fleet_request_cmd(int argc, char **argv);   /* pause, resume, abort */

#endif /* ALOFT_FLEET_CLI_H */
