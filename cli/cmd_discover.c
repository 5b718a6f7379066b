/*
 * cli/cmd_discover.c — `aloft discover`: the devices that answer mDNS on
 * this network (aloft's _aloft._tcp and ArduinoOTA's _arduino._tcp,
 * docs/PROTOCOL.md "Discovery (mDNS)"), one line each or one JSON array.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mdns_host.h"

#define DEFAULT_TIMEOUT_S 3

static const char discover_help[] =
    "usage: aloft discover [--timeout SEC] [--json]\n\n"
    "List the devices that announce themselves by mDNS: aloft devices\n"
    "(_aloft._tcp: chip, project, version, whether a password or signed images\n"
    "are required) and ArduinoOTA devices (_arduino._tcp, as the Arduino IDE and\n"
    "PlatformIO find them). Each NAME.local can be given as DEVICE to upload,\n"
    "info and rollback. Needs the Avahi daemon (Debian: avahi-daemon).\n\n"
    "  --timeout SEC       wait at most SEC seconds for answers (default 3; the\n"
    "                      list ends sooner once every known device is resolved)\n"
    "  --json              print one JSON array, nothing else\n\n"
    "Exit status: 0 listed (possibly none), 1 failure (no Avahi daemon), 2 usage.\n";

static void protocols_text(const mdns_device_t *d, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s", d->aloft ? "aloft" : "", d->aloft && d->arduino ? "," : "",
             d->arduino ? "espota" : "");
}

static void print_json(const mdns_device_t *d, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++, d++) {
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_str(d->name);
        printf(", \"host\": ");
        json_str(d->host);
        printf(", \"address\": ");
        json_str(d->address);
        printf(", \"port\": %u, \"protocols\": [%s%s%s]", (unsigned)d->port,
               d->aloft ? "\"aloft\"" : "", d->aloft && d->arduino ? ", " : "",
               d->arduino ? "\"espota\"" : "");
        if (d->aloft) {
            printf(", \"proto\": %u, \"chip\": ", d->proto);
            json_str(d->chip);
            printf(", \"project\": ");
            json_str(d->project);
            printf(", \"version\": ");
            json_str(d->version);
            printf(", \"auth\": %s, \"signed\": %s", d->auth ? "true" : "false",
                   d->signed_only ? "true" : "false");
        }
        if (d->arduino) {
            printf(", \"board\": ");
            json_str(d->board);
            printf(", \"auth_upload\": %s", d->auth_upload ? "true" : "false");
        }
        printf("}");
    }
    printf("%s]\n", n ? "\n" : "");
}

static void print_table(const mdns_device_t *d, size_t n, uint32_t timeout_s)
{
    if (n == 0) {
        printf("no device answered within %u s (aloft devices announce _aloft._tcp, "
               "ArduinoOTA ones _arduino._tcp)\n", (unsigned)timeout_s);
        return;
    }
    printf("%-20s %-21s %-9s %-16s %-12s %s\n", "NAME", "ADDRESS", "CHIP", "PROJECT",
           "VERSION", "PROTOCOLS");
    for (size_t i = 0; i < n; i++, d++) {
        char addr[32], protos[16], notes[40];
        snprintf(addr, sizeof addr, "%s:%u", d->address, (unsigned)d->port);
        protocols_text(d, protos, sizeof protos);
        snprintf(notes, sizeof notes, "%s%s", d->auth || d->auth_upload ? " password" : "",
                 d->signed_only ? " signed" : "");
        printf("%-20s %-21s %-9s %-16s %-12s %s%s\n", d->host, addr,
               d->aloft ? d->chip : d->board[0] ? d->board : "-",
               d->project[0] ? d->project : "-", d->version[0] ? d->version : "-", protos,
               notes);
    }
}

int cmd_discover(int argc, char **argv)
{
    static mdns_device_t devices[MDNS_DEVICES_MAX];
    uint32_t timeout_s = DEFAULT_TIMEOUT_S;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (cli_is_help(argv[i])) {
            fputs(discover_help, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if ((m = cli_opt(argc, argv, &i, "--timeout", &v)) != 0) {
            if (m < 0 || cli_parse_u32(v, false, &timeout_s) != 0 || timeout_s == 0 ||
                timeout_s > 3600)
                return cli_usage("discover", "--timeout needs a number of seconds from 1 to 3600");
        } else {
            return cli_usage("discover", "unexpected argument '%s'", argv[i]);
        }
    }
    host_error_t e = {0};
    size_t n = 0;
    if (mdns_browse(timeout_s * 1000u, devices, MDNS_DEVICES_MAX, &n, &e) != 0)
        return cli_fail("%s: %s", e.message, e.hint);
    if (json)
        print_json(devices, n);
    else
        print_table(devices, n, timeout_s);
    return CLI_OK;
}
