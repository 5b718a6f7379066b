/*
 * aloft-sim — a simulated ESP32 running the aloft device library over a
 * file-backed NOR flash. Thin: parses arguments and drives sim_device.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aloft/version.h"
#include "crypto_mbedtls.h"
#include "fileio.h"
#include "sign_keys.h"
#include "app.h"
#include "device.h"
#include "inflate_zlib.h"
#include "serve.h"
#include "web_page.h"
#include "web_server.h"

enum { EXIT_USAGE = 2, EXIT_POWER_CUT = 3 };

#define SIM_WINDOW_BITS 12   /* zlib window the simulated device inflates */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
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
          "  --power-cut N          cut power at the Nth flash erase/program (exit status 3)\n"
          "  --power-cut-seed S     how much of the torn operation lands (default 1)\n"
          "  --quiet                no output\n"
          "\n"
          "Network (ArduinoOTA/espota on UDP, aloft native on TCP, while running):\n"
          "  --bind ADDR            IPv4 address to serve on (default 127.0.0.1)\n"
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
          "\n"
          "Simulated application load (paused during updates unless --no-quiesce):\n"
          "  --ble-every MS --ble-stall MS    a BLE scan stalls the radio for STALL every EVERY\n"
          "  --mqtt-every MS --mqtt-block MS  an MQTT reconnect blocks the loop\n"
          "  --no-quiesce           do not pause the app during updates (reproduces field failures)\n",
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
    uint16_t http_port;      /* 0: no web page */
} options_t;

static int parse_args(int argc, char **argv, options_t *o)
{
    enum { O_INIT = 256, O_SCHEME, O_FIRMWARE, O_TIMING, O_CONFIRM, O_NEVER, O_NOROLL,
           O_UPDATE, O_FS, O_RUNFOR, O_CUT, O_SEED, O_QUIET, O_BIND, O_PORT, O_PASSWORD,
           O_AUTH, O_IDLE, O_BLE_EVERY, O_BLE_STALL, O_MQTT_EVERY, O_MQTT_BLOCK, O_NO_QUIESCE,
           O_REACHABLE, O_PUBKEY, O_ESPOTA_PASSWORD, O_NO_ESPOTA, O_HTTP };
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
        {"ble-every", required_argument, 0, O_BLE_EVERY},
        {"ble-stall", required_argument, 0, O_BLE_STALL},
        {"mqtt-every", required_argument, 0, O_MQTT_EVERY},
        {"mqtt-block", required_argument, 0, O_MQTT_BLOCK},
        {"no-quiesce", no_argument, 0, O_NO_QUIESCE},
        {"confirm-when-reachable", required_argument, 0, O_REACHABLE},
        {"public-key", required_argument, 0, O_PUBKEY},
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
        case 'h': usage(stdout); exit(0);
        case 'V': printf("aloft-sim %s\n", ALOFT_VERSION_STRING); exit(0);
        default: return -1;
        }
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
    int status = 0;
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
    o->net.name = "aloft-sim";
    o->net.bind_hint = "another simulator running? use --port";
    if (serve_open(&net, &o->net) != 0)
        return 1;
    if (o->http_port && open_web(sim, o, &ws) != 0) {
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
        printf("aloft-sim: native on TCP %s:%u (%s, zlib window %u bits, resume)\n",
               o->net.bind ? o->net.bind : "127.0.0.1",
               o->net.port ? o->net.port : ALOFT_NATIVE_PORT,
               o->net.verifier ? "password" : "no password", SIM_WINDOW_BITS);
    if (!o->quiet && o->password == NULL)
        printf("aloft-sim: WARNING: no --password: anyone who can reach %s may update this device\n",
               o->net.bind ? o->net.bind : "127.0.0.1");
    fflush(stdout);
    uint64_t start = posix_now_ms();
    while (status == 0 && !stop_requested &&
           (o->run_for < 0 || (double)(posix_now_ms() - start) < o->run_for * 1000)) {
        /* The web server's thread takes the lock while the loop waits. */
        serve_wait(&net, 20);
        pthread_mutex_lock(&loop_lock);
        /* A line per stall: tests wait on it rather than on the clock. */
        uint32_t held = sim_app_step(&app, posix_now_ms());
        if (held)
            sim_log(sim, "aloft-sim: app tasks held the loop for %u ms", (unsigned)held);
        if (sim_tick(sim, posix_now_ms()) < 0 || serve_step(&net, 0) < 0)
            status = 1;
        if (o->http_port)
            aloft_web_tick(&web, (uint32_t)posix_now_ms());
        pthread_mutex_unlock(&loop_lock);
    }
    web_server_close(&ws);
    serve_close(&net);
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
    if (status == 0 && o.run_for != 0)
        status = run(&sim, &o);
    sim_close(&sim);
    return status;
}
