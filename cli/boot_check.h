/*
 * cli/boot_check.h — what `aloft upload` and `aloft rollback` share about
 * the restart they cause: the options (--boot-timeout, --no-wait), the
 * wait (native_await_boot), and how its outcome is said (a line, the
 * error, the exit code, the "boot" object of --json).
 *
 * The device's RESULT only says the new slot is selected; whether it runs
 * is known once the device is back (PROTOCOL.md §2.6: the first boot's
 * otadata rewrite can be cut, and an image that never confirms itself is
 * rolled back).
 */
#ifndef ALOFT_CLI_BOOT_CHECK_H
#define ALOFT_CLI_BOOT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "host_error.h"
#include "native_host.h"

typedef struct boot_opts {
    uint32_t timeout_s;   /* 0: NATIVE_HOST_BOOT_MS */
    bool no_wait;
} boot_opts_t;

typedef struct boot_check {
    bool checked;              /* waited for the device */
    const char *why_not;       /* when not: why, for --json */
    bool say_why;              /* ... and for people (not when the summary says it) */
    uint8_t slot;              /* the RESULT's */
    uint32_t timeout_s;
    native_boot_result_t r;
} boot_check_t;

/* The help lines of the two options. */
#define BOOT_CHECK_HELP                                                                    \
    "  --boot-timeout SEC  how long the device may take to restart and answer\n"          \
    "                      (default 60); then its HELLO says which image runs\n"          \
    "  --no-wait           do not wait for the restart (RESULT only)\n"

/* Match --boot-timeout / --no-wait at argv[*i] for command cmd: 1
 * consumed, 0 not one of them, -CLI_USAGE after saying what is wrong. */
int boot_opt(const char *cmd, int argc, char **argv, int *i, boot_opts_t *b);

/* Not waited for, and why (a string that outlives c); say: print it too. */
void boot_check_skip(boot_check_t *c, const char *why, bool say);

/* Wait for the device at p to come back and read what runs; unless
 * o->no_wait. Says "waiting ..." on stdout unless quiet. */
void boot_check_run(boot_check_t *c, const boot_opts_t *o, const native_peer_t *p,
                    uint8_t slot, bool quiet);

/* The new slot runs (or it was not checked). */
bool boot_check_ok(const boot_check_t *c);

/* CLI_OK, CLI_PREVIOUS or CLI_NOT_BACK. */
int boot_check_exit(const boot_check_t *c);

/* The failure as an error: done is what happened before ("uploaded and
 * activated"), again what to run ("run the upload again"). */
void boot_check_error(const boot_check_t *c, const char *done, const char *again,
                      host_error_t *e);

/* "running 2.0.0 in app1, on probation until it confirms itself" on stdout
 * (when the slot runs), or the reason it was not checked. */
void boot_check_print(const boot_check_t *c);

/* `,"boot":{...}` for --json. */
void boot_check_json(const boot_check_t *c);

#endif /* ALOFT_CLI_BOOT_CHECK_H */
