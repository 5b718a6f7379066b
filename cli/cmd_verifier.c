/*
 * cli/cmd_verifier.c — `aloft verifier`: the native login verifier of a
 * password, as text for a firmware's configuration (CONFIG_ALOFT_NATIVE_
 * VERIFIER, AloftOTA::setVerifier), so the firmware never holds the
 * password. Format: include/aloft/wire/native.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/wire/native.h"
#include "cli.h"
#include "host_os.h"

#define DEFAULT_ITERATIONS 10000u   /* the host pays them at each login, the device never */

static const char verifier_help[] =
    "usage: aloft verifier [--iterations N] [--password PW]\n\n"
    "Print the native login verifier of a password (random salt):\n"
    "  ITERATIONS:SALT:STORED_KEY:SERVER_KEY\n"
    "Configure it on a device instead of the password (ESP-IDF:\n"
    "CONFIG_ALOFT_NATIVE_VERIFIER; Arduino: AloftOTA.setVerifier). A device that\n"
    "holds only the verifier cannot give the password away; `aloft upload\n"
    "--auth PW` logs in with the password as before. espota needs its own\n"
    "password (its MD5 exchange cannot use a verifier).\n\n"
    "  --password PW   the password (else one line is read from stdin, which\n"
    "                  keeps it out of the shell's history)\n"
    "  --iterations N  PBKDF2 rounds the host runs at each login (default 10000)\n\n"
    "Exit status: 0 printed, 1 failure, 2 usage.\n";

int cmd_verifier(int argc, char **argv)
{
    const char *password = NULL;
    unsigned long iterations = DEFAULT_ITERATIONS;
    char line[256];
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(verifier_help, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc) {
            password = argv[++i];
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            char *end;
            iterations = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || iterations == 0 || iterations > 10000000ul)
                return cli_usage("verifier", "--iterations takes 1..10000000 (got '%s')", argv[i]);
        } else {
            return cli_usage("verifier", "unknown argument '%s'", argv[i]);
        }
    }
    if (password == NULL) {
        if (fgets(line, sizeof line, stdin) == NULL)
            return cli_usage("verifier", "no password: give --password PW or one line on stdin");
        line[strcspn(line, "\r\n")] = '\0';
        password = line;
    }
    if (password[0] == '\0')
        return cli_usage("verifier", "the password is empty");

    uint8_t salt[ALOFT_NATIVE_SALT_LEN];
    aloft_native_verifier_t v;
    char text[ALOFT_NATIVE_VERIFIER_TEXT_MAX];
    const aloft_crypto_t *c = host_crypto;
    if (c->random(c->ctx, salt, sizeof salt) != 0 ||
        aloft_native_derive(c, password, salt, (uint32_t)iterations, &v, NULL) != 0) {
        fprintf(stderr, "aloft: cannot derive the verifier (the system RNG or mbedTLS failed)\n");
        return CLI_FAIL;
    }
    aloft_native_verifier_format(&v, text);
    puts(text);
    return CLI_OK;
}
