/*
 * cli/cli.h — what the `aloft` subcommands share.
 *
 * Adding a subcommand: write cli/cmd_NAME.c with
 * `int cmd_NAME(int argc, char **argv)` (argv[0] is "NAME", the rest are
 * its arguments; return one of the exit codes below), declare it here and
 * add one line to the table in main.c.
 */
#ifndef ALOFT_CLI_H
#define ALOFT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes of every subcommand. */
enum {
    CLI_OK = 0,      /* success; for checks: the thing is valid */
    CLI_FAIL = 1,    /* invalid input file or a runtime failure */
    CLI_USAGE = 2,   /* bad command line */
    /* upload and rollback, which wait for the device's restart: */
    CLI_PREVIOUS = 3,  /* activated, but the device restarted into the previous image */
    CLI_NOT_BACK = 4,  /* activated, but the device did not come back in time (or its
                          HELLO does not say what runs) */
};


/* Subcommands (cli/cmd_*.c). */
int cmd_image(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_espota(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_keygen(int argc, char **argv);   /* cmd_keys.c */
int cmd_sign(int argc, char **argv);     /* cmd_keys.c */
int cmd_verify(int argc, char **argv);   /* cmd_keys.c */
int cmd_verifier(int argc, char **argv);
int cmd_delta(int argc, char **argv);
int cmd_discover(int argc, char **argv);
int cmd_fleet(int argc, char **argv);    /* cmd_fleet.c, cmd_fleet_rollout.c */

/* `aloft image info` of a delta patch (cmd_delta.c): is p[0..n) one, and
 * describe it (base, new image, segments, ratio). */
bool delta_is_patch(const uint8_t *p, size_t n);
int delta_info(const char *path, const uint8_t *p, size_t n, bool json);

/* Print "aloft: <message>" to stderr and return CLI_FAIL. */
int cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Print "aloft <cmd>: <message>" and a pointer to `aloft <cmd> --help` to
 * stderr and return CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Print s to stdout as a JSON string; bytes outside printable ASCII become
 * \u00XX (\n for newlines), so the output is valid whatever s holds. */
void json_str(const char *s);

/* The arguments of commands that only talk to a device: DEVICE [--auth
 * PASS] [--timeout SEC] [--json]. */
typedef struct device_args {
    const char *device, *auth;
    uint32_t timeout_s;   /* 0: the command's defaults */
    bool json;
} device_args_t;

struct boot_opts;

/* Parse them for command cmd (argv[0] is the command), and with boot
 * non-NULL also --boot-timeout and --no-wait (boot_check.h; a command that
 * restarts the device). Returns CLI_OK, or CLI_USAGE after printing what
 * is wrong. */
int cli_device_args(const char *cmd, device_args_t *a, struct boot_opts *boot, int argc,
                    char **argv);

struct native_peer;

/* The whole start of a device-only command: print help (then *done, exit
 * CLI_OK), or parse its arguments into a (and boot, as above) and a native
 * peer p. Returns the exit code when *done, else CLI_OK. */
int cli_device_command(const char *cmd, const char *help, int argc, char **argv,
                       device_args_t *a, struct boot_opts *boot, struct native_peer *p,
                       bool *done);

/* True if argv[i] is "-h" or "--help". */
bool cli_is_help(const char *arg);

/* Match option `name` ("--size") at argv[*i], as "--size VALUE" or
 * "--size=VALUE". Returns 1 with *value set (and *i advanced past a
 * separate value), 0 if argv[*i] is not this option, -1 if the value is
 * missing. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* Parse an unsigned number: decimal, 0x-hex, and with allow_suffix a
 * K or M suffix (KiB, MiB). Returns 0, or -1 if s is not such a number or
 * does not fit 32 bits. */
int cli_parse_u32(const char *s, bool allow_suffix, uint32_t *out);

#endif /* ALOFT_CLI_H */
