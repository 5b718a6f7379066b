/*
 * aloft-sim — a simulated ESP32 running the aloft device library over a
 * file-backed NOR flash. Thin: parses arguments and drives sim_device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aloft/version.h"
#include "crypto_mbedtls.h"
#include "fileio.h"
#include "sign_keys.h"
#include "app.h"
#include "agent.h"
#include "device.h"
#include "inflate_zlib.h"
#include "pull.h"
#include "mdns.h"
#include "serve.h"
#include "web_page.h"
#include "web_server.h"

enum { EXIT_USAGE = 2, EXIT_POWER_CUT = 3 };

static volatile sig_atomic_t stop_requested, readdress_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_readdress(int sig)
{
    (void)sig;
    readdress_requested = 1;
}

static void usage(FILE *out)
{
    fputs("usage: aloft-sim --flash FILE --init [--scheme default|min_spiffs] --firmware FW.bin\n"
          "       aloft-sim --flash FILE [options]\n"
          "\n"
          "Boots a simulated ESP32 from FILE (partition table, otadata, A/B slots)\n"
          "and runs it until Ctrl-C or --run-for.\n"
          "\n"
          "  --init                 create FILE: 4 MB flash, scheme, FW.bin in app0\n"
          "  --scheme NAME          default (2 x 1280 KiB apps) or min_spiffs (2 x 1920 KiB)\n"
          "  --firmware FW.bin      app image for --init\n"
          "  --flash-timing MODE    off (default) or esp32: W25Q32 erase/program times\n"
          "  --confirm-after SEC    health policy: confirm a new image after SEC s (default 5)\n"
          "  --never-confirm        never confirm (simulates firmware that hangs or crashes)\n"
          "  --confirm-when-reachable HOST:PORT  confirm only once this TCP endpoint (the\n"
          "                         MQTT broker, say) accepts a connection\n"
          "  --public-key FILE.pub  accept only images signed by this key (repeatable:\n"
          "                         any of the keys, for rotation)\n"
          "  --no-rollback          bootloader without rollback (new images start UNDEFINED)\n"
          "  --update FILE          feed FILE through the update pipeline, then reboot\n"
          "  --fs                   --update FILE is a filesystem image for the data partition\n"
          "  --run-for SEC          exit after SEC seconds (0: boot, update, exit)\n"
          "\n"
          "HTTP pull (docs/FLEET.md §8): download a release, verify, activate, reboot:\n"
          "  --pull-release FILE.json  a release object (url, size, sha256, signed; its\n"
          "                         patch from the running image, if any, is pulled instead)\n"
          "  --pull URL --pull-size N --pull-sha256 HEX [--pull-signed]  the same, inline\n"
          "  --ca-file PEM          trust this CA for https:// (default: the system's)\n"
          "  --pull-tries N         attempts in all (default 5)\n"
          "  --pull-backoff MS      wait before the first retry, doubling (default 1000)\n"
          "  --pull-rate BYTES      download at most BYTES per second (tests)\n"
          "\n"
          "  --power-cut N          cut power at the Nth flash erase/program (exit status 3)\n"
          "  --power-cut-seed S     how much of the torn operation lands (default 1)\n"
          "  --quiet                no output\n"
          "\n"
          "Network (ArduinoOTA/espota on UDP, aloft native on TCP, while running):\n"
          "  --bind ADDR            IPv4 address to serve on (default 127.0.0.1)\n"
          "  --address-file FILE    instead of --bind: the address in FILE, read again on\n"
          "                         SIGUSR1 (a DHCP lease that changed): the sockets are\n"
          "                         bound anew and mDNS announces NAME.local there\n"
          "  --port N               espota UDP and native TCP port (default 3232)\n"
          "  --password P           require this OTA password (only its hash and a native\n"
          "                         login verifier are kept); without it both are open\n"
          "  --espota-password P    espota's own password (default: --password); espota's\n"
          "                         MD5 login can be cracked offline from one sniffed\n"
          "                         exchange, so keep it apart from the native one\n"
          "  --no-espota            serve the native protocol only (no espota UDP socket)\n"
          "  --espota-auth MODE     pbkdf2 (ESP32 core >= 3.3.1, default) or md5 (older, ESP8266)\n"
          "  --http PORT            serve the web page and API on TCP PORT (0: off, the default)\n"
          "  --espota-idle-timeout MS  give up on a silent upload after MS (default 10000;\n"
          "                         ArduinoOTA uses 1000)\n"
          "  --mdns                 announce the device by mDNS through the Avahi daemon:\n"
          "                         _aloft._tcp, _arduino._tcp (as ArduinoOTA) and\n"
          "                         NAME.local for the --bind address\n"
          "  --name NAME            the device's name (default aloft-sim): NAME.local, the\n"
          "                         native HELLO, the MQTT agent's DEV and client id\n"
          "  --native-window BYTES  native DATA bytes in flight the device offers (default\n"
          "                         32768; it ACKs every half window)\n"
          "\n"
          "Simulated application load (paused during updates unless --no-quiesce):\n"
          "  --ble-every MS --ble-stall MS    a BLE scan stalls the radio for STALL every EVERY\n"
          "  --mqtt-every MS --mqtt-block MS  an MQTT reconnect blocks the loop\n"
          "  --no-quiesce           do not pause the app during updates (reproduces field failures)\n",
          out);
    fputs("\n"
          "MQTT agent (docs/FLEET.md; with --mqtt the device takes updates over MQTT only):\n"
          "  --mqtt HOST:PORT       connect to this broker: state, progress, Home Assistant\n"
          "  --mqtt-user U --mqtt-password P  the broker login (default U: DEV, FLEET.md)\n"
          "  --mqtt-cafile CA.pem   TLS to the broker, trusting this CA\n"
          "  --prefix P             topic prefix (default aloft)\n"
          "  --omg-prefix P         also take OpenMQTTGateway's P/commands/MQTTtoSYS/firmware_update\n"
          "  --fleet N              N devices in this process: flash FILE.1 .. FILE.N (made\n"
          "                         from --firmware when missing), names DEV-1 .. DEV-N, one\n"
          "                         MQTT session each (user DEV-i, the same password)\n",
          out);
}

typedef struct options {
    const char *flash, *firmware, *update;
    aloft_scheme_t scheme;
    bool init, fs;
    sim_config_t cfg;
    double run_for;          /* < 0: forever */
    unsigned long long cut_at;
    unsigned cut_seed;
    bool quiet;
    serve_config_t net;
    const char *password, *espota_password;
    uint32_t ble_every, ble_stall, mqtt_every, mqtt_block;
    bool no_quiesce;
    const char *mqtt, *name;
    const char *address_file;
    sim_agent_config_t agent;
    unsigned fleet;
    const char *pull_release, *pull_url, *pull_sha256;
    bool pull_signed;
    unsigned long pull_size;
    sim_pull_options_t pull;
    bool mdns;
    uint16_t http_port;      /* 0: no web page */
} options_t;

#define SIM_FLEET_MAX 1000

/* HOST:PORT of --mqtt. */
static int parse_broker(const char *arg, sim_agent_config_t *a)
{
    static char host[256];
    const char *colon = strrchr(arg, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == arg || (size_t)(colon - arg) >= sizeof host || *end ||
        port <= 0 || port > 65535) {
        fprintf(stderr, "aloft-sim: --mqtt wants HOST:PORT, not '%s'\n", arg);
        return -1;
    }
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    a->host = host;
    a->port = (int)port;
    return 0;
}

static int parse_args(int argc, char **argv, options_t *o)
{
    enum { O_INIT = 256, O_SCHEME, O_FIRMWARE, O_TIMING, O_CONFIRM, O_NEVER, O_NOROLL,
           O_UPDATE, O_FS, O_RUNFOR, O_CUT, O_SEED, O_QUIET, O_BIND, O_PORT, O_PASSWORD,
           O_AUTH, O_IDLE, O_BLE_EVERY, O_BLE_STALL, O_MQTT_EVERY, O_MQTT_BLOCK, O_NO_QUIESCE,
           O_REACHABLE, O_PUBKEY, O_ESPOTA_PASSWORD, O_NO_ESPOTA, O_MQTT, O_NAME, O_MQTT_USER,
           O_MQTT_PASSWORD, O_MQTT_CAFILE, O_PREFIX, O_OMG, O_FLEET,
           O_PULL_RELEASE, O_PULL, O_PULL_SIZE, O_PULL_SHA256, O_PULL_SIGNED, O_CA_FILE,
           O_PULL_TRIES, O_PULL_BACKOFF, O_PULL_RATE, O_MDNS, O_WINDOW, O_HTTP,
           O_ADDRESS_FILE };
    static const struct option longopts[] = {
        {"flash", required_argument, 0, 'f'},
        {"init", no_argument, 0, O_INIT},
        {"scheme", required_argument, 0, O_SCHEME},
        {"firmware", required_argument, 0, O_FIRMWARE},
        {"flash-timing", required_argument, 0, O_TIMING},
        {"confirm-after", required_argument, 0, O_CONFIRM},
        {"never-confirm", no_argument, 0, O_NEVER},
        {"no-rollback", no_argument, 0, O_NOROLL},
        {"update", required_argument, 0, O_UPDATE},
        {"fs", no_argument, 0, O_FS},
        {"run-for", required_argument, 0, O_RUNFOR},
        {"power-cut", required_argument, 0, O_CUT},
        {"power-cut-seed", required_argument, 0, O_SEED},
        {"quiet", no_argument, 0, O_QUIET},
        {"bind", required_argument, 0, O_BIND},
        {"port", required_argument, 0, O_PORT},
        {"password", required_argument, 0, O_PASSWORD},
        {"espota-password", required_argument, 0, O_ESPOTA_PASSWORD},
        {"no-espota", no_argument, 0, O_NO_ESPOTA},
        {"http", required_argument, 0, O_HTTP},
        {"espota-auth", required_argument, 0, O_AUTH},
        {"espota-idle-timeout", required_argument, 0, O_IDLE},
        {"native-window", required_argument, 0, O_WINDOW},
        {"ble-every", required_argument, 0, O_BLE_EVERY},
        {"ble-stall", required_argument, 0, O_BLE_STALL},
        {"mqtt-every", required_argument, 0, O_MQTT_EVERY},
        {"mqtt-block", required_argument, 0, O_MQTT_BLOCK},
        {"no-quiesce", no_argument, 0, O_NO_QUIESCE},
        {"confirm-when-reachable", required_argument, 0, O_REACHABLE},
        {"public-key", required_argument, 0, O_PUBKEY},
        {"mqtt", required_argument, 0, O_MQTT},
        {"name", required_argument, 0, O_NAME},
        {"mqtt-user", required_argument, 0, O_MQTT_USER},
        {"mqtt-password", required_argument, 0, O_MQTT_PASSWORD},
        {"mqtt-cafile", required_argument, 0, O_MQTT_CAFILE},
        {"prefix", required_argument, 0, O_PREFIX},
        {"omg-prefix", required_argument, 0, O_OMG},
        {"fleet", required_argument, 0, O_FLEET},
        {"pull-release", required_argument, 0, O_PULL_RELEASE},
        {"pull", required_argument, 0, O_PULL},
        {"pull-size", required_argument, 0, O_PULL_SIZE},
        {"pull-sha256", required_argument, 0, O_PULL_SHA256},
        {"pull-signed", no_argument, 0, O_PULL_SIGNED},
        {"ca-file", required_argument, 0, O_CA_FILE},
        {"pull-tries", required_argument, 0, O_PULL_TRIES},
        {"pull-backoff", required_argument, 0, O_PULL_BACKOFF},
        {"pull-rate", required_argument, 0, O_PULL_RATE},
        {"mdns", no_argument, 0, O_MDNS},
        {"address-file", required_argument, 0, O_ADDRESS_FILE},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;
    memset(o, 0, sizeof *o);
    o->cfg.rollback = true;
    o->cfg.confirm_after_ms = 5000;
    o->run_for = -1;
    o->cut_seed = 1;
    o->net.auth = ALOFT_ESPOTA_AUTH_PBKDF2;
    while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o->flash = optarg; break;
        case O_INIT: o->init = true; break;
        case O_SCHEME:
            if (aloft_scheme_parse(optarg, &o->scheme) != 0) {
                fprintf(stderr, "aloft-sim: unknown scheme '%s' (use default or min_spiffs)\n", optarg);
                return -1;
            }
            break;
        case O_FIRMWARE: o->firmware = optarg; break;
        case O_TIMING:
            if (strcmp(optarg, "esp32") == 0)
                o->cfg.timing = NOR_TIMING_ESP32;
            else if (strcmp(optarg, "off") != 0) {
                fprintf(stderr, "aloft-sim: unknown flash timing '%s' (use off or esp32)\n", optarg);
                return -1;
            }
            break;
        case O_CONFIRM: o->cfg.confirm_after_ms = (int)(atof(optarg) * 1000); break;
        case O_NEVER: o->cfg.confirm_after_ms = -1; break;
        case O_NOROLL: o->cfg.rollback = false; break;
        case O_UPDATE: o->update = optarg; break;
        case O_FS: o->fs = true; break;
        case O_RUNFOR: o->run_for = atof(optarg); break;
        case O_CUT: o->cut_at = strtoull(optarg, NULL, 10); break;
        case O_SEED: o->cut_seed = (unsigned)strtoul(optarg, NULL, 10); break;
        case O_QUIET: o->quiet = true; break;
        case O_BIND: o->net.bind = optarg; break;
        case O_PORT: o->net.port = (uint16_t)strtoul(optarg, NULL, 10); break;
        case O_PASSWORD: o->password = optarg; break;
        case O_ESPOTA_PASSWORD: o->espota_password = optarg; break;
        case O_NO_ESPOTA: o->net.no_espota = true; break;
        case O_HTTP: o->http_port = (uint16_t)strtoul(optarg, NULL, 10); break;
        case O_AUTH:
            if (strcmp(optarg, "md5") == 0)
                o->net.auth = ALOFT_ESPOTA_AUTH_MD5;
            else if (strcmp(optarg, "pbkdf2") != 0) {
                fprintf(stderr, "aloft-sim: unknown espota auth '%s' (use pbkdf2 or md5)\n", optarg);
                return -1;
            }
            break;
        case O_IDLE: o->net.idle_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_WINDOW:
            o->net.window = (uint32_t)strtoul(optarg, NULL, 10);
            if (o->net.window < 2 * ALOFT_NATIVE_MAX_PAYLOAD || o->net.window > (1u << 24)) {
                fprintf(stderr, "aloft-sim: --native-window %s: give bytes from %u to %u\n",
                        optarg, 2u * ALOFT_NATIVE_MAX_PAYLOAD, 1u << 24);
                return -1;
            }
            break;
        case O_BLE_EVERY: o->ble_every = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_BLE_STALL: o->ble_stall = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_MQTT_EVERY: o->mqtt_every = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_MQTT_BLOCK: o->mqtt_block = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_NO_QUIESCE: o->no_quiesce = true; break;
        case O_REACHABLE: o->cfg.confirm_endpoint = optarg; break;
        case O_PUBKEY:
            if (o->cfg.nkeys == SIM_MAX_KEYS) {
                fprintf(stderr, "aloft-sim: at most %d --public-key\n", SIM_MAX_KEYS);
                return -1;
            }
            if (pubkey_load(optarg, &o->cfg.keys[o->cfg.nkeys]) != 0)
                return -1;
            o->cfg.nkeys++;
            break;
        case O_MQTT: o->mqtt = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_MQTT_USER: o->agent.user = optarg; break;
        case O_MQTT_PASSWORD: o->agent.password = optarg; break;
        case O_MQTT_CAFILE: o->agent.cafile = optarg; break;
        case O_PREFIX: o->agent.prefix = optarg; break;
        case O_OMG: o->agent.omg_prefix = optarg; break;
        case O_FLEET: o->fleet = (unsigned)strtoul(optarg, NULL, 10); break;
        case O_PULL_RELEASE: o->pull_release = optarg; break;
        case O_PULL: o->pull_url = optarg; break;
        case O_PULL_SIZE: o->pull_size = strtoul(optarg, NULL, 10); break;
        case O_PULL_SHA256: o->pull_sha256 = optarg; break;
        case O_PULL_SIGNED: o->pull_signed = true; break;
        case O_CA_FILE: o->pull.ca_file = optarg; break;
        case O_PULL_TRIES: o->pull.policy.tries = (uint8_t)strtoul(optarg, NULL, 10); break;
        case O_PULL_BACKOFF: o->pull.policy.backoff_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_PULL_RATE: o->pull.max_bytes_per_s = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_MDNS: o->mdns = true; break;
        case O_ADDRESS_FILE: o->address_file = optarg; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("aloft-sim %s\n", ALOFT_VERSION_STRING); exit(0);
        default: return -1;
        }
    }
    if (o->fleet > SIM_FLEET_MAX || (o->fleet && o->mqtt == NULL)) {
        fprintf(stderr, "aloft-sim: --fleet takes 1..%d devices and needs --mqtt\n", SIM_FLEET_MAX);
        return -1;
    }
    if (o->mqtt && parse_broker(o->mqtt, &o->agent) != 0)
        return -1;
    /* --mdns: one DNS label, so NAME.local resolves as typed (the agent
     * checks its own rule, FLEET.md §1) */
    if (o->mdns && o->name &&
        (o->name[0] == '\0' || strlen(o->name) > 63 ||
         strspn(o->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
             strlen(o->name))) {
        fprintf(stderr, "aloft-sim: --name '%s' must be 1-63 letters, digits or '-'\n", o->name);
        return -1;
    }
    if (optind != argc || o->flash == NULL || (o->init && o->firmware == NULL)) {
        fprintf(stderr, "aloft-sim: %s\n", o->flash == NULL ? "--flash FILE is required"
                                          : o->init ? "--init needs --firmware FW.bin"
                                                    : "unexpected argument");
        return -1;
    }
    return 0;
}

static int do_init(const options_t *o)
{
    size_t len;
    aloft_diag_t diag = {0};
    char text[320];
    uint8_t *fw = read_file(o->firmware, &len);
    if (fw == NULL)
        return 1;
    int err = sim_flash_create(o->flash, o->scheme, fw, len, &diag);
    free(fw);
    if (err) {
        if (diag.err == 0)
            aloft_diag_set(&diag, err, 0, 0, NULL);
        aloft_diag_format(&diag, text, sizeof text);
        fprintf(stderr, "aloft-sim: cannot create %s: %s\n", o->flash, text);
        return 1;
    }
    if (!o->quiet)
        printf("aloft-sim: created %s (4 MB, scheme %s, %s in app0)\n", o->flash,
               aloft_scheme_name(o->scheme), o->firmware);
    return 0;
}

/* A power cut ends the process as a real power loss ends the chip: the
 * flash file keeps whatever landed, nothing else is cleaned up. */
static void on_power_cut(void *ctx)
{
    const options_t *o = ctx;
    if (!o->quiet)
        printf("\naloft-sim: POWER CUT at flash operation %llu\n", o->cut_at);
    fflush(stdout);
    _exit(EXIT_POWER_CUT);
}

/* The release to pull: --pull-release's JSON, or the inline options as
 * the same object. */
static int pull_release(const options_t *o, sim_release_t *r)
{
    char err[128], *json;
    size_t len;
    int rc;
    if (o->pull_release) {
        uint8_t *text = read_file(o->pull_release, &len);
        if (text == NULL)
            return -1;
        json = strndup((const char *)text, len);
        free(text);
    } else {
        cJSON *obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "url", o->pull_url);
        cJSON_AddNumberToObject(obj, "size", (double)o->pull_size);
        cJSON_AddStringToObject(obj, "sha256", o->pull_sha256 ? o->pull_sha256 : "");
        cJSON_AddBoolToObject(obj, "signed", o->pull_signed);
        json = cJSON_PrintUnformatted(obj);
        cJSON_Delete(obj);
    }
    if ((rc = sim_release_parse(json ? json : "", r, err, sizeof err)) != 0)
        fprintf(stderr, "aloft-sim: %s: %s\n",
                o->pull_release ? o->pull_release : "--pull", err);
    free(json);
    return rc;
}

/* Pull, then reboot into the new image (stepped until over; Ctrl-C
 * cancels, the journal keeps what is in flash). */
static int run_pull(sim_device_t *sim, const options_t *o)
{
    static sim_pull_t pull;
    static sim_release_t rel;
    aloft_pull_status_t st;
    if (pull_release(o, &rel) != 0)
        return 1;
    sim_log(sim, "aloft-sim: pull %s%s%s (%u bytes%s)", rel.url, rel.version[0] ? ", version " : "",
            rel.version, (unsigned)rel.file.size, rel.file.is_signed ? ", signed" : "");
    if (sim_pull_start(&pull, sim, &rel, &o->pull) != 0)
        return 1;
    while (sim_pull_step(&pull, 20) == SIM_PULL_BUSY)
        if (stop_requested)
            sim_pull_cancel(&pull);
    sim_pull_status(&pull, &st);
    if (st.phase != ALOFT_PULL_DONE)
        return 1;
    if (!o->quiet)
        printf("\naloft-sim: rebooting into the new firmware\n");
    return sim_boot(sim, posix_now_ms()) ? 1 : 0;
}

static int run_update(sim_device_t *sim, const options_t *o)
{
    size_t len;
    uint8_t *data = read_file(o->update, &len);
    if (data == NULL)
        return 1;
    int err = sim_update_buffer(sim, o->fs ? ALOFT_TARGET_FS : ALOFT_TARGET_APP, data, len);
    free(data);
    if (err)
        return 1;
    if (!o->fs) {
        if (!o->quiet)
            printf("\naloft-sim: rebooting into the new firmware\n");
        return sim_boot(sim, posix_now_ms()) ? 1 : 0;
    }
    return 0;
}

/* Keep only the espota password's hash and a native login verifier
 * (random salt, 10000 PBKDF2 rounds), as a device stores them. */
static int set_secret(options_t *o, char secret[ALOFT_ESPOTA_HEX_MAX], aloft_native_verifier_t *v)
{
    uint8_t salt[ALOFT_NATIVE_SALT_LEN];
    const char *espota = o->espota_password ? o->espota_password : o->password;
    int err = 0;
    if (espota == NULL)
        o->net.auth = ALOFT_ESPOTA_AUTH_NONE;
    else if ((err = aloft_espota_secret(&aloft_mbedtls_crypto, o->net.auth, espota, secret)) == 0)
        o->net.secret = secret;
    if (err == 0 && o->password != NULL &&
        (err = aloft_mbedtls_crypto.random(aloft_mbedtls_crypto.ctx, salt, sizeof salt)) == 0 &&
        (err = aloft_native_derive(&aloft_mbedtls_crypto, o->password, salt, 10000, v, NULL)) == 0)
        o->net.verifier = v;
    if (err)
        fprintf(stderr, "aloft-sim: cannot derive the password's secrets\n");
    return err ? -1 : 0;
}

static serve_t net;
static aloft_web_t web;
/* Held by the loop while it runs, by the web server's thread per call. */
static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;

/* serve's restart: boot the simulated device again; RAM (the web
 * sessions) does not survive it. */
static int reboot_sim(void *ctx)
{
    aloft_web_reset(&web);
    return sim_boot(ctx, posix_now_ms());
}

/* The web page's confirm button: what the health check does. */
static int confirm_sim(void *ctx)
{
    int err = sim_confirm(ctx, "confirmed from the web page");
    return err < 0 ? err : 0;
}

/* A web response asked for a restart: the same path as the others'. */
static void reboot_web(void *ctx)
{
    (void)ctx;
    serve_request_reboot(&net);
}

static uint64_t clock_sim(void *ctx)
{
    (void)ctx;
    return posix_now_ms();
}

static void log_sim(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "aloft: %s\n", msg);
}

static int open_web(sim_device_t *sim, const options_t *o, web_server_t *ws)
{
    aloft_web_config_t wc = {
        .dev = &sim->dev, .update = &sim->update, .limiter = &net.limiter,
        .verifier = o->net.verifier, .name = "aloft-sim", .confirm = confirm_sim, .ctx = sim,
        .page_gz = aloft_web_page_gz, .page_gz_len = aloft_web_page_gz_len};
    if (aloft_web_init(&web, &wc) != 0)
        return -1;
    ws->web = &web;
    ws->now_ms = clock_sim;
    ws->reboot = reboot_web;
    ws->ctx = sim;
    ws->lock = &loop_lock;
    if (web_server_open(ws, o->net.bind, o->http_port) != 0)
        return -1;
    if (!o->quiet)
        printf("aloft-sim: web page on http://%s:%u/ (%s)\n", o->net.bind ? o->net.bind : "127.0.0.1",
               o->http_port, o->net.verifier ? "password" : "no password");
    return 0;
}

/* --address-file: its one line, an IPv4 address, into out. Returns 0, or
 * -1 after a line on stderr. */
static int read_address(const char *path, char out[INET_ADDRSTRLEN])
{
    char line[64] = "";
    struct in_addr a;
    FILE *f = fopen(path, "r");
    int err = f ? 0 : errno;
    if (f && fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    if (f)
        fclose(f);
    line[strcspn(line, " \t\r\n")] = '\0';
    if (err || inet_pton(AF_INET, line, &a) != 1) {
        fprintf(stderr, "aloft-sim: --address-file %s: %s\n", path,
                err ? strerror(err) : "no IPv4 address in it");
        return -1;
    }
    inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
    return 0;
}

/* SIGUSR1 with --address-file: serve where the file says now, as a device
 * whose station got a new address from DHCP (esp_task.h rebinds, the mdns
 * component announces): the sockets closed (an update in progress is
 * abandoned, firmware untouched) and bound anew, the web page too, and
 * NAME.local announced at the new address. The same address: nothing.
 * Called without the loop's lock (the web server's thread may wait on
 * it). Returns 0, or -1 when the new address cannot be served. */
static int readdress(options_t *o, char here[INET_ADDRSTRLEN], web_server_t *ws,
                     sim_mdns_t *mdns)
{
    char now[INET_ADDRSTRLEN];
    if (read_address(o->address_file, now) != 0 || strcmp(now, here) == 0)
        return 0;   /* unreadable: stay where it serves */
    if (o->http_port)
        web_server_close(ws);
    pthread_mutex_lock(&loop_lock);
    serve_close(&net);
    memcpy(here, now, INET_ADDRSTRLEN);   /* o->net.bind and the mDNS config point here */
    int err = serve_open(&net, &o->net);
    if (err == 0 && mdns)
        err = sim_mdns_moved(mdns);
    pthread_mutex_unlock(&loop_lock);
    if (err == 0 && o->http_port)
        err = web_server_open(ws, here, o->http_port);
    if (err == 0 && !o->quiet)
        printf("aloft-sim: new address: serving on %s\n", here);
    fflush(stdout);
    return err ? -1 : 0;
}

static int run(sim_device_t *sim, options_t *o)
{
    static web_server_t ws;
    static sim_app_t app;
    static inflate_zlib_t zst;
    static aloft_inflate_t inflate;
    static aloft_native_delta_t delta;
    char secret[ALOFT_ESPOTA_HEX_MAX];
    aloft_native_verifier_t verifier;
    struct in_addr addr;
    static char here[INET_ADDRSTRLEN];   /* --address-file's */
    int status = 0;
    if (o->address_file) {
        if (read_address(o->address_file, here) != 0)
            return 1;
        o->net.bind = here;
        signal(SIGUSR1, on_readdress);
    }
    if (o->net.bind && inet_pton(AF_INET, o->net.bind, &addr) != 1) {
        fprintf(stderr, "aloft: --bind %s is not an IPv4 address\n", o->net.bind);
        return 1;
    }
    if (set_secret(o, secret, &verifier) != 0)
        return 1;
    inflate_zlib_init(&inflate, &zst, SIM_WINDOW_BITS);
    o->net.dev = &sim->dev;
    o->net.update = &sim->update;
    o->net.now_ms = clock_sim;
    o->net.reboot = reboot_sim;
    o->net.log = log_sim;
    o->net.ctx = sim;
    o->net.inflate = &inflate;
    o->net.delta = &delta;
    o->net.name = o->name ? o->name : "aloft-sim";
    o->net.bind_hint = "another simulator running? use --port";
    if (serve_open(&net, &o->net) != 0)
        return 1;
    sim_mdns_t *mdns = NULL;
    sim_mdns_config_t mc = {
        .name = o->net.name,
        .bind = o->net.bind ? o->net.bind : "127.0.0.1",
        .port = o->net.port ? o->net.port : ALOFT_NATIVE_PORT,
        .espota = !o->net.no_espota,
        .state = {.dev = &sim->dev, .native_password = o->net.verifier != NULL,
                  .espota_password = o->net.auth != ALOFT_ESPOTA_AUTH_NONE},
    };
    if ((o->mdns && (mdns = sim_mdns_open(&mc)) == NULL) ||
        (o->http_port && open_web(sim, o, &ws) != 0)) {
        sim_mdns_close(mdns);
        serve_close(&net);
        return 1;
    }
    sim_app_init(&app, o->ble_every, o->ble_stall, o->mqtt_every, o->mqtt_block,
                 o->no_quiesce ? NULL : &sim->quiesce, posix_now_ms());
    if (!o->quiet && o->net.no_espota)
        printf("aloft-sim: espota off (--no-espota)\n");
    else if (!o->quiet)
        printf("aloft-sim: espota on %s:%u (%s%s)\n", o->net.bind ? o->net.bind : "127.0.0.1",
               o->net.port ? o->net.port : ALOFT_ESPOTA_PORT,
               o->net.auth == ALOFT_ESPOTA_AUTH_NONE ? "no password"
               : o->net.auth == ALOFT_ESPOTA_AUTH_MD5 ? "password, MD5 auth" : "password, PBKDF2 auth",
               o->espota_password ? ", its own" : "");
    if (!o->quiet)
        printf("aloft-sim: native on TCP %s:%u (%s, zlib window %u bits, resume, window %u)\n",
               o->net.bind ? o->net.bind : "127.0.0.1",
               o->net.port ? o->net.port : ALOFT_NATIVE_PORT,
               o->net.verifier ? "password" : "no password", SIM_WINDOW_BITS,
               (unsigned)(o->net.window ? o->net.window : ALOFT_NATIVE_WINDOW_DEFAULT));
    if (!o->quiet && o->password == NULL)
        printf("aloft-sim: WARNING: no --password: anyone who can reach %s may update this device\n",
               o->net.bind ? o->net.bind : "127.0.0.1");
    if (!o->quiet && mdns)
        printf("aloft-sim: mDNS: %s%s (%s%s)\n", mc.name,
               strcmp(mc.bind, "0.0.0.0") ? ".local" : " on this machine's host name",
               ALOFT_MDNS_SERVICE, mc.espota ? ", " ALOFT_MDNS_ARDUINO_SERVICE : "");
    fflush(stdout);
    uint64_t start = posix_now_ms();
    while (status == 0 && !stop_requested &&
           (o->run_for < 0 || (double)(posix_now_ms() - start) < o->run_for * 1000)) {
        /* The web server's thread takes the lock while the loop waits. */
        serve_wait(&net, 20);
        if (readdress_requested) {
            readdress_requested = 0;
            if (readdress(o, here, &ws, mdns) != 0)
                status = 1;
        }
        pthread_mutex_lock(&loop_lock);
        /* A line per stall: tests wait on it rather than on the clock. */
        uint32_t held = sim_app_step(&app, posix_now_ms());
        if (held)
            sim_log(sim, "aloft-sim: app tasks held the loop for %u ms", (unsigned)held);
        if (sim_tick(sim, posix_now_ms()) < 0 || serve_step(&net, 0) < 0 ||
            (mdns && sim_mdns_step(mdns) < 0))
            status = 1;
        if (o->http_port)
            aloft_web_tick(&web, (uint32_t)posix_now_ms());
        pthread_mutex_unlock(&loop_lock);
    }
    sim_mdns_close(mdns);
    web_server_close(&ws);
    serve_close(&net);
    return status;
}

/* The MQTT agents: one device, or --fleet N of them, stepped in turn by
 * this one thread, which waits on all their sockets at once. */
static int run_mqtt(options_t *o)
{
    unsigned n = o->fleet ? o->fleet : 1;
    sim_device_t *sims = calloc(n, sizeof *sims);
    sim_agent_t *agents = calloc(n, sizeof *agents);
    struct pollfd *fds = calloc(n, sizeof *fds);
    char path[512], name[ALOFT_AGENT_NAME_MAX + 1];
    const char *base = o->name ? o->name : "aloft-sim";
    unsigned opened = 0;
    int status = 0;
    if (sims == NULL || agents == NULL || fds == NULL) {
        fprintf(stderr, "aloft-sim: out of memory for %u devices\n", n);
        status = 1;
    }
    o->agent.ota_password = o->password;
    o->agent.pull = o->pull;   /* --ca-file, --pull-tries, --pull-backoff, --pull-rate */
    sim_agent_lib_init();
    for (unsigned i = 0; status == 0 && i < n; i++) {
        sim_device_t *sim = &sims[i];
        snprintf(path, sizeof path, o->fleet ? "%s.%u" : "%s", o->flash, i + 1);
        snprintf(name, sizeof name, o->fleet ? "%s-%u" : "%s", base, i + 1);
        if (o->fleet && o->firmware && access(path, F_OK) != 0) {
            options_t one = *o;
            one.flash = path;
            one.quiet = true;
            if (do_init(&one) != 0) {
                status = 1;
                break;
            }
        }
        sim->display.quiet = o->quiet;
        sim->display.tty = o->fleet == 0 && isatty(STDOUT_FILENO);
        int err = sim_open(sim, path, &o->cfg);
        if (err) {
            fprintf(stderr, "aloft-sim: cannot open flash %s: %s (create it with --init)\n", path,
                    aloft_strerror(err));
            status = 1;
            break;
        }
        opened++;
        sim_agent_config_t cfg = o->agent;
        if (o->fleet)
            cfg.user = NULL;   /* the device's MQTT user is its DEV */
        if (sim_boot(sim, posix_now_ms()) != 0 ||
            sim_agent_open(&agents[i], sim, path, name, &cfg, posix_now_ms()) != 0)
            status = 1;
    }
    if (status == 0 && !o->quiet)
        printf("aloft-sim: %u device%s on MQTT %s:%d\n", n, n == 1 ? "" : "s", o->agent.host,
               o->agent.port);
    fflush(stdout);
    uint64_t start = posix_now_ms();
    while (status == 0 && !stop_requested &&
           (o->run_for < 0 || (double)(posix_now_ms() - start) < o->run_for * 1000)) {
        bool pulling = false;
        for (unsigned i = 0; i < n && status == 0; i++) {
            if (sim_agent_step(&agents[i], posix_now_ms()) != 0)
                status = 1;
            sim_agent_pollfd(&agents[i], &fds[i]);
            pulling = pulling || sim_agent_pulling(&agents[i]);
        }
        fflush(stdout);
        if (status == 0 && poll(fds, n, pulling ? 1 : 20) < 0 && errno != EINTR)
            status = 1;
    }
    for (unsigned i = 0; i < opened; i++) {
        if (agents[i].m)
            sim_agent_close(&agents[i]);
        sim_close(&sims[i]);
    }
    free(fds);
    free(agents);
    free(sims);
    return status;
}

int main(int argc, char **argv)
{
    options_t o;
    static sim_device_t sim;
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o.init)
        return do_init(&o);
    if (o.mqtt) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        return run_mqtt(&o);
    }

    sim.display.tty = isatty(STDOUT_FILENO);
    sim.display.quiet = o.quiet;
    int err = sim_open(&sim, o.flash, &o.cfg);
    if (err) {
        fprintf(stderr, "aloft-sim: cannot open flash %s: %s (create it with --init)\n",
                o.flash, aloft_strerror(err));
        return 1;
    }
    if (o.cut_at)
        nor_arm_cut(&sim.nor, o.cut_at, o.cut_seed, on_power_cut, &o);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    int status = sim_boot(&sim, posix_now_ms()) ? 1 : 0;
    if (status == 0 && o.update)
        status = run_update(&sim, &o);
    if (status == 0 && (o.pull_release || o.pull_url))
        status = run_pull(&sim, &o);
    if (status == 0 && o.run_for != 0)
        status = run(&sim, &o);
    sim_close(&sim);
    return status;
}
