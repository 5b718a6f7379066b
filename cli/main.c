/*
 * cli/main.c — the `aloft` host tool: subcommand dispatch.
 *
 * Each subcommand lives in its own cmd_*.c; this file only knows the table.
 */
#include <stdio.h>
#include <string.h>

#include "aloft/version.h"
#include "cli.h"
#include "host_os.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"image", cmd_image, "inspect or build ESP32 app images (image info, image make)"},
    {"upload", cmd_upload, "send firmware to a device over the network (aloft native or espota)"},
    {"discover", cmd_discover, "list the devices that announce themselves by mDNS (NAME.local)"},
    {"info", cmd_info, "ask an aloft device what it is and what its slots hold"},
    {"rollback", cmd_rollback, "make an aloft device boot its previous firmware again"},
    {"espota", cmd_espota, "drop-in replacement for espota.py (same flags and exit codes)"},
    {"keygen", cmd_keygen, "make an ECDSA P-256 key pair for signing firmware"},
    {"sign", cmd_sign, "sign an app image (appends a signature block)"},
    {"delta", cmd_delta, "make or apply a delta patch between two app images"},
    {"verify", cmd_verify, "check a signed image against public keys, as a device does"},
    {"verifier", cmd_verifier, "print a password's native login verifier for a device's config"},
#ifndef ALOFT_NO_FLEET
    {"fleet", cmd_fleet, "update many devices through an MQTT broker (staged rollouts)"},
#endif
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fputs("usage: aloft COMMAND [ARGS...]\n"
          "       aloft --help | --version\n\n"
          "OTA firmware updates for ESP32 devices.\n\ncommands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nRun 'aloft COMMAND --help' for a command's options.\n"
          "Exit status: 0 success, 1 invalid input or failure, 2 usage error; upload and\n"
          "rollback: 3 the device restarted into its previous image, 4 it did not come\n"
          "back in time.\n", out);
}

int main(int argc, char **argv)
{
    if (host_os_init() != 0)
        return CLI_FAIL;
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("aloft %s\n", ALOFT_VERSION_STRING);
        return CLI_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "aloft: unknown command '%s'; run 'aloft --help' for the list\n", argv[1]);
    return CLI_USAGE;
}
