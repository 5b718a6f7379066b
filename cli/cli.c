/* cli/cli.c — helpers shared by the subcommands (see cli.h). */
#include "cli.h"

#include "boot_check.h"
#include "native_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("aloft: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "aloft %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'aloft %s --help' for usage.\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

int cli_parse_u32(const char *s, bool allow_suffix, uint32_t *out)
{
    char *end;
    unsigned long long v;
    unsigned long long mul = 1;
    if (s[0] < '0' || s[0] > '9')   /* strtoull would accept "-1", " 1" */
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno != 0 || end == s)
        return -1;
    if (allow_suffix && (*end == 'k' || *end == 'K'))
        mul = 1024, end++;
    else if (allow_suffix && (*end == 'm' || *end == 'M'))
        mul = 1024 * 1024, end++;
    if (*end != '\0' || v > 0xFFFFFFFFull / mul)
        return -1;
    *out = (uint32_t)(v * mul);
    return 0;
}

void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            printf("\\n");
        else if (c < 0x20 || c >= 0x7F)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int cli_device_args(const char *cmd, device_args_t *a, struct boot_opts *boot, int argc,
                    char **argv)
{
    memset(a, 0, sizeof *a);
    if (boot)
        memset(boot, 0, sizeof *boot);
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (boot && (m = boot_opt(cmd, argc, argv, &i, boot)) != 0) {
            if (m < 0)
                return -m;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if ((m = cli_opt(argc, argv, &i, "--auth", &v)) != 0) {
            if (m < 0)
                return cli_usage(cmd, "--auth needs a value");
            a->auth = v;
        } else if ((m = cli_opt(argc, argv, &i, "--timeout", &v)) != 0) {
            if (m < 0 || cli_parse_u32(v, false, &a->timeout_s) != 0 || a->timeout_s == 0 ||
                a->timeout_s > 3600)
                return cli_usage(cmd, "--timeout needs a number of seconds from 1 to 3600");
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage(cmd, "unknown option '%s'", argv[i]);
        } else if (a->device == NULL) {
            a->device = argv[i];
        } else {
            return cli_usage(cmd, "unexpected argument '%s' (DEVICE is already given)", argv[i]);
        }
    }
    return a->device ? CLI_OK : cli_usage(cmd, "missing DEVICE");
}

int cli_device_command(const char *cmd, const char *help, int argc, char **argv,
                       device_args_t *a, struct boot_opts *boot, struct native_peer *p,
                       bool *done)
{
    *done = true;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return CLI_OK;
        }
    }
    int rc = cli_device_args(cmd, a, boot, argc, argv);
    if (rc != CLI_OK)
        return rc;
    memset(p, 0, sizeof *p);
    p->device = a->device;
    p->password = a->auth;
    if (a->timeout_s)
        p->connect_timeout_ms = p->hello_timeout_ms = p->timeout_ms = a->timeout_s * 1000u;
    *done = false;
    return CLI_OK;
}
