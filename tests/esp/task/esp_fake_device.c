/*
 * tests/esp/task/esp_fake_device.c — a firmware using the ESP-IDF component
 * (aloft_esp.h), run on Linux over the IDF fakes: a simulated ESP32 flash
 * file booted by the bootloader model (fake_chip_power_on), aloft_start
 * with a password, a quiesce hook and on_event that print lines, and a
 * restart (esp_restart) that boots the chip again into what the model
 * picks. The integration scripts (tests/integration/test_esp_*.sh) drive it.
 *
 *   esp_fake_device --flash FILE --init FW.bin     a new 4 MB flash, FW in app0
 *   esp_fake_device --flash FILE --port N [options]
 *   ... --web-port N               the web page and API (esp_web.c over the
 *                                  esp_http_server fake) on TCP port N
 *   ... --pull URL --pull-size N --pull-sha256 HEX   on the first boot, after
 *                                  aloft_start: aloft_pull, and a restart
 *   ... --pull-patch URL,SIZE,SHA256,BASE_SHA256     a patch of that release
 *
 * A supervisor process is the power supply: it runs the firmware in a
 * child and starts it again when the child restarts (the fake esp_restart
 * exits 0; the firmware exits otherwise only with STATUS_STOPPED after
 * SIGTERM, or 1). Signals to the firmware (the supervisor forwards them):
 *   SIGUSR1  the station got a new IP address (IP_EVENT_STA_GOT_IP)
 *   SIGHUP   DHCP renewed the same address (GOT_IP, ip_changed false)
 *   SIGUSR2  it lost its address (IP_EVENT_STA_LOST_IP)
 *   SIGTERM  aloft_stop, print the counters, end
 *
 * --mqtt URI --mqtt-name DEV [--mqtt-password P] [--mqtt-ca PEM]
 * [--mqtt-reconnect MS]: the MQTT agent (aloft_agent_start) after
 * aloft_start, its NVS in FILE.nvs/; the health check (confirm) runs after
 * it then.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aloft/util.h"
#include "aloft_esp.h"
#include "esp_event.h"
#include "esp_netif_types.h"
#include "esp_system.h"
#include "fake_esp.h"
#include "fake_task.h"
#include "fileio.h"

enum { STATUS_STOPPED = 5 };

typedef struct options {
    const char *flash, *init_fw, *password, *espota_password, *verifier, *keys;
    const char *pull_url, *pull_sha256, *pull_patch;
    uint32_t pull_size;
    uint16_t port, web_port;
    bool no_native, no_espota, no_delta, pbkdf2, allow_open, timing, no_task, never_confirm, reject;
    uint32_t stop_at, idle_ms;
    const char *mqtt, *mqtt_name, *mqtt_password, *mqtt_ca;
    int mqtt_reconnect;
} options_t;

static options_t opt;
static int boot_no;
static atomic_bool paused, stop_asked;
static atomic_uint resumes;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void usage(void)
{
    fputs("usage: esp_fake_device --flash FILE --init FW.bin\n"
          "       esp_fake_device --flash FILE --port N --mqtt URI --mqtt-name DEV\n"
          "         [--mqtt-password P] [--mqtt-ca PEM] [--mqtt-reconnect MS] [options below]\n"
          "       esp_fake_device --flash FILE --port N [--password P]\n"
          "         [--espota-password P] [--verifier V] [--signing-keys TEXT] [--pbkdf2]\n"
          "         [--no-native] [--no-espota] [--no-delta] [--open] [--flash-timing esp32]\n"
          "         [--no-task] [--never-confirm | --reject] [--stop-at BYTES]\n"
          "         [--idle-timeout MS] [--pull URL --pull-size N --pull-sha256 HEX]\n"
          "         [--web-port N] [--pull-patch URL,SIZE,SHA256,BASE_SHA256]\n",
          stderr);
    exit(2);
}

static void parse(int argc, char **argv)
{
    static const struct option lo[] = {
        {"flash", required_argument, 0, 'f'}, {"init", required_argument, 0, 'i'},
        {"mqtt", required_argument, 0, 'm'}, {"mqtt-name", required_argument, 0, 'n'},
        {"mqtt-password", required_argument, 0, 'w'}, {"mqtt-ca", required_argument, 0, 'c'},
        {"mqtt-reconnect", required_argument, 0, 'r'},
        {"port", required_argument, 0, 'p'}, {"password", required_argument, 0, 'P'},
        {"espota-password", required_argument, 0, 'E'}, {"verifier", required_argument, 0, 'v'},
        {"signing-keys", required_argument, 0, 'k'}, {"pbkdf2", no_argument, 0, 'b'},
        {"no-native", no_argument, 0, 'N'}, {"no-espota", no_argument, 0, 'O'},
        {"open", no_argument, 0, 'o'}, {"flash-timing", required_argument, 0, 't'},
        {"no-task", no_argument, 0, 'T'}, {"never-confirm", no_argument, 0, 'C'},
        {"stop-at", required_argument, 0, 's'}, {"idle-timeout", required_argument, 0, 'I'},
        {"reject", no_argument, 0, 'R'}, {"pull", required_argument, 0, 'u'},
        {"pull-size", required_argument, 0, 'z'}, {"pull-sha256", required_argument, 0, 'h'},
        {"no-delta", no_argument, 0, 'D'}, {"web-port", required_argument, 0, 'W'},
        {"pull-patch", required_argument, 0, 'X'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'f': opt.flash = optarg; break;
        case 'm': opt.mqtt = optarg; break;
        case 'n': opt.mqtt_name = optarg; break;
        case 'w': opt.mqtt_password = optarg; break;
        case 'c': opt.mqtt_ca = optarg; break;
        case 'r': opt.mqtt_reconnect = atoi(optarg); break;
        case 'i': opt.init_fw = optarg; break;
        case 'p': opt.port = (uint16_t)strtoul(optarg, NULL, 10); break;
        case 'P': opt.password = optarg; break;
        case 'E': opt.espota_password = optarg; break;
        case 'v': opt.verifier = optarg; break;
        case 'k': opt.keys = optarg; break;
        case 'b': opt.pbkdf2 = true; break;
        case 'N': opt.no_native = true; break;
        case 'O': opt.no_espota = true; break;
        case 'D': opt.no_delta = true; break;
        case 'o': opt.allow_open = true; break;
        case 't': opt.timing = strcmp(optarg, "esp32") == 0; break;
        case 'T': opt.no_task = true; break;
        case 'C': opt.never_confirm = true; break;
        case 'R': opt.reject = true; break;
        case 's': opt.stop_at = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'I': opt.idle_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'u': opt.pull_url = optarg; break;
        case 'z': opt.pull_size = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'h': opt.pull_sha256 = optarg; break;
        case 'W': opt.web_port = (uint16_t)strtoul(optarg, NULL, 10); break;
        case 'X': opt.pull_patch = optarg; break;
        default: usage();
        }
    }
    if (opt.flash == NULL || (opt.port == 0 && opt.init_fw == NULL) || optind != argc ||
        (opt.mqtt && opt.mqtt_name == NULL))
        usage();
}

/* ---- the firmware ------------------------------------------------------- */

static void hook_pause(void *ctx)
{
    (void)ctx;
    atomic_store(&paused, true);
    say("hook: paused");
}

static void hook_resume(void *ctx)
{
    (void)ctx;
    atomic_store(&paused, false);
    atomic_fetch_add(&resumes, 1);
    say("hook: resumed");
}

static const char *proto_name(aloft_esp_proto_t p)
{
    return p == ALOFT_PROTO_ESPOTA ? "espota"
           : p == ALOFT_PROTO_HTTP ? "http"
           : p == ALOFT_PROTO_WEB  ? "web"
                                   : "native";
}

static void on_event(void *ctx, const aloft_esp_event_t *ev)
{
    static atomic_uint last_tenth;   /* aloft's task and a pull's caller both report */
    (void)ctx;
    switch (ev->kind) {
    case ALOFT_EV_START:
        atomic_store(&last_tenth, 0);
        say("event: START %s%s %u/%u (hook %s)", proto_name(ev->proto), ev->fs ? " fs" : "",
            (unsigned)ev->done, (unsigned)ev->total, atomic_load(&paused) ? "paused" : "running");
        break;
    case ALOFT_EV_PROGRESS: {
        /* A line per tenth: tests wait on them, not on the clock. */
        unsigned tenth = ev->total ? (unsigned)((uint64_t)ev->done * 10 / ev->total) : 0;
        if (tenth > atomic_load(&last_tenth) || ev->done == ev->total) {
            atomic_store(&last_tenth, tenth);
            say("event: PROGRESS %s %u/%u", proto_name(ev->proto), (unsigned)ev->done,
                (unsigned)ev->total);
        }
        if (opt.stop_at && ev->done >= opt.stop_at)
            atomic_store(&stop_asked, true);
        break;
    }
    case ALOFT_EV_END:
        say("event: END %s %u/%u", proto_name(ev->proto), (unsigned)ev->done,
            (unsigned)ev->total);
        break;
    case ALOFT_EV_ERROR:
        say("event: ERROR %s %d: %s", proto_name(ev->proto), ev->err,
            ev->message ? ev->message : "");
        break;
    }
}

static void print_counters(void)
{
    fake_wdt_stats_t w;
    fake_wdt_stats(&w);
    say("wdt: %lu resets, longest gap %u ms, %u subscribed", w.resets, (unsigned)w.longest_ms,
        w.subscribed);
    say("flash: %u erases (%u KiB), %u writes", fake_partition_stats.erases,
        fake_partition_stats.erase_bytes / 1024, fake_partition_stats.writes);
}

static void post_ip(int32_t id, uint32_t last_octet, bool changed)
{
    ip_event_got_ip_t e;
    memset(&e, 0, sizeof e);
    e.ip_info.ip.addr = htonl(0xc0a80100u | last_octet);   /* 192.168.1.x */
    e.ip_changed = changed;
    esp_event_post(IP_EVENT, id, &e, sizeof e, portMAX_DELAY);
    say("ip: %s", id != IP_EVENT_STA_GOT_IP ? "lost the address"
                  : changed                 ? "got a new address"
                                            : "renewed the same address");
}

static void fill_config(aloft_esp_config_t *cfg)
{
    aloft_esp_config_default(cfg);
    cfg->port = opt.port;
    cfg->hostname = "esp-fake";
    cfg->password = opt.password;
    cfg->espota_password = opt.espota_password;
    cfg->native_verifier = opt.verifier;
    cfg->signing_keys = opt.keys;
    cfg->espota_auth = opt.pbkdf2 ? ALOFT_ESPOTA_AUTH_PBKDF2 : ALOFT_ESPOTA_AUTH_MD5;
    cfg->native = !opt.no_native;
    cfg->espota = !opt.no_espota;
    cfg->delta = !opt.no_delta;
    cfg->allow_open = opt.allow_open;
    cfg->task = !opt.no_task;
    cfg->web_port = opt.web_port;
    if (opt.idle_ms)
        cfg->idle_timeout_ms = opt.idle_ms;
    cfg->on_event = on_event;
}

static int start(const aloft_esp_config_t *cfg)
{
    int err = aloft_start(cfg);
    aloft_status_t st;
    aloft_status(&st);
    if (err) {
        say("aloft_start: %s (%s)", aloft_strerror(err), st.last_message);
        return err;
    }
    if (cfg->web_port)
        say("web page on http://127.0.0.1:%u/", (unsigned)cfg->web_port);
    say("serving on 127.0.0.1:%u", (unsigned)st.port);
    return 0;
}

/* --pull: the application's call, then the restart it asks for. */
static void pull(void)
{
    aloft_esp_pull_t req = {.url = opt.pull_url, .size = opt.pull_size, .backoff_ms = 100};
    aloft_status_t st;
    if (opt.pull_sha256 == NULL ||
        !aloft_unhex(opt.pull_sha256, strlen(opt.pull_sha256), req.sha256, sizeof req.sha256)) {
        say("pull: --pull-sha256 needs 64 hex digits");
        return;
    }
    static char url[256], sha[65], base[65];
    static aloft_pull_patch_t patch;
    if (opt.pull_patch) {
        if (sscanf(opt.pull_patch, "%255[^,],%u,%64[0-9a-f],%64[0-9a-f]", url, &patch.size, sha,
                   base) != 4 || !aloft_unhex(sha, 64, patch.sha256, 32) ||
            !aloft_unhex(base, 64, patch.base_sha256, 32)) {
            say("pull: --pull-patch needs URL,SIZE,SHA256,BASE_SHA256");
            return;
        }
        patch.url = url;
        req.patches = &patch;
        req.npatches = 1;
    }
    int err = aloft_pull(&req);
    if (err == 0) {
        say("pull: verified and activated, restarting");
        esp_restart();
    }
    aloft_status(&st);
    say("pull: %s (%s)", aloft_strerror(err), st.last_message);
}

/* Stop in the middle of an update (--stop-at), check what it left, and
 * serve again. */
static int stop_and_start_again(const aloft_esp_config_t *cfg)
{
    unsigned before = atomic_load(&resumes);
    aloft_stop();
    aloft_status_t st;
    aloft_status(&st);
    say("stopped: serving %s, updating %s, hook %s (%u resume%s)", st.serving ? "yes" : "no",
        st.updating ? "yes" : "no", atomic_load(&paused) ? "paused" : "resumed",
        atomic_load(&resumes) - before, atomic_load(&resumes) - before == 1 ? "" : "s");
    opt.stop_at = 0;
    return start(cfg);
}

/* --mqtt: the agent, as an application starts it after aloft_start. */
static int start_agent(void)
{
    static char nvs_dir[256];
    aloft_agent_esp_config_t ac;
    size_t len = 0;
    char *ca = NULL;
    snprintf(nvs_dir, sizeof nvs_dir, "%s.nvs", opt.flash);
    fake_nvs_dir = nvs_dir;
    aloft_agent_esp_config_default(&ac);
    ac.broker_uri = opt.mqtt;
    ac.name = opt.mqtt_name;
    ac.password = opt.mqtt_password;
    ac.reconnect_ms = opt.mqtt_reconnect;
    if (opt.mqtt_ca) {
        uint8_t *pem = read_file(opt.mqtt_ca, &len);
        if (pem == NULL || (ca = realloc(pem, len + 1)) == NULL)
            return 1;
        ca[len] = '\0';
        ac.ca_pem = ca;   /* esp-mqtt keeps the pointer: never freed */
    }
    int err = aloft_agent_start(&ac);
    say("agent: %s", err ? aloft_strerror(err) : "started");
    return err ? 1 : 0;
}

/* The health check: confirm (or reject, or neither) a PENDING_VERIFY image. */
static void health_check(const aloft_status_t *st)
{
    int err;
    if (st->pending_verify && opt.reject) {   /* the health check failed */
        say("reject: rolling back");
        err = aloft_reject();   /* restarts; returns only when it cannot */
        say("reject: %s", aloft_strerror(err));
    } else if (st->pending_verify && !opt.never_confirm) {   /* the health check passed */
        err = aloft_confirm();
        say("confirm: %s", err ? aloft_strerror(err) : "confirmed (VALID)");
    }
}

static int firmware(void)
{
    static fake_chip_t chip;
    aloft_esp_config_t cfg;
    aloft_status_t st;
    sigset_t set;
    /* The signals come to this thread only, through sigtimedwait (blocked
     * since before the fork; aloft's task inherits the mask). */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    int err = fake_chip_power_on(&chip, opt.flash);
    if (err) {
        say("boot #%d: no bootable image: %s", boot_no, aloft_strerror(err));
        return 1;
    }
    if (opt.timing)
        nor_set_timing(&chip.sim.nor, NOR_TIMING_ESP32);
    atexit(print_counters);   /* esp_restart exits: the counters of this boot */
    esp_event_loop_create_default();
    aloft_add_pause("app", hook_pause, hook_resume, NULL);
    aloft_status(&st);
    say("boot #%d: running app%d %s %s, state %s%s", boot_no, st.running_slot, st.project,
        st.version,
        st.running_state == ALOFT_OTA_VALID ? "VALID"
        : st.pending_verify                  ? "PENDING_VERIFY"
                                             : "other",
        st.rolled_back ? ", rolled back" : "");
    if (opt.mqtt == NULL)
        health_check(&st);
    fill_config(&cfg);
    if (start(&cfg) != 0)
        return 1;
    if (opt.mqtt) {
        if (start_agent() != 0)
            return 1;
        health_check(&st);
    }
    if (opt.pull_url && boot_no == 1)
        pull();
    uint32_t octet = 10;
    for (;;) {
        struct timespec wait = {0, opt.no_task ? 0 : 50 * 1000000L};
        if (opt.no_task && (err = aloft_handle(20)) != 0)
            say("aloft_handle: %s", aloft_strerror(err));
        int sig = sigtimedwait(&set, NULL, &wait);
        if (sig == SIGTERM)
            break;
        if (sig == SIGUSR1)
            post_ip(IP_EVENT_STA_GOT_IP, ++octet, true);
        if (sig == SIGHUP)
            post_ip(IP_EVENT_STA_GOT_IP, octet, false);
        if (sig == SIGUSR2)
            post_ip(IP_EVENT_STA_LOST_IP, 0, true);
        if (atomic_load(&stop_asked)) {
            atomic_store(&stop_asked, false);
            if (stop_and_start_again(&cfg) != 0)
                return 1;
        }
    }
    aloft_stop();
    say("stopped");
    return STATUS_STOPPED;
}

/* ---- the power supply --------------------------------------------------- */

static volatile sig_atomic_t forward;
static pid_t child;

static void on_signal(int sig)
{
    if (child > 0)
        kill(child, sig);
    if (sig == SIGTERM)
        forward = 1;
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    if (opt.init_fw) {
        size_t len;
        aloft_diag_t diag = {0};
        uint8_t *fw = read_file(opt.init_fw, &len);
        if (fw == NULL)
            return 1;
        int err = sim_flash_create(opt.flash, ALOFT_SCHEME_DEFAULT, fw, len, &diag);
        free(fw);
        if (err) {
            fprintf(stderr, "esp_fake_device: cannot create %s: %s\n", opt.flash,
                    aloft_strerror(err));
            return 1;
        }
        return 0;
    }
    struct sigaction sa;
    sigset_t set, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    for (boot_no = 1;; boot_no++) {
        fflush(stdout);
        /* Blocked across the fork: the child starts with them blocked and
         * waits for them; here they are forwarded once child is known. */
        sigprocmask(SIG_BLOCK, &set, &old);
        child = fork();
        if (child < 0)
            return 1;
        if (child == 0)
            exit(firmware());
        sigprocmask(SIG_SETMASK, &old, NULL);
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
        child = 0;
        if (!WIFEXITED(status))
            return 1;
        if (WEXITSTATUS(status) == STATUS_STOPPED || forward)
            return 0;
        if (WEXITSTATUS(status) != 0)
            return WEXITSTATUS(status);
        /* esp_restart(): power the chip on again */
    }
}
