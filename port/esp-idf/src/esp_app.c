/*
 * port/esp-idf/src/esp_app.c — the application API (aloft_esp.h) over the
 * device (esp_device.h) and the socket loop (esp_task.h): configuration
 * from Kconfig, the secrets derived at start, events derived from the
 * pipeline's state as the loop turns (the engines are not changed for it),
 * and the status.
 */
#include "aloft_esp.h"

#include <stdio.h>
#include <string.h>

#include "esp_app.h"
#include "esp_device.h"
#include "esp_keys.h"
#include "esp_log.h"
#include "esp_mdns.h"
#include "esp_task.h"
#include "esp_web.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "esp_kconfig.h"
#ifndef CONFIG_IDF_TARGET_LINUX
#include "esp_mac.h"
#endif

static const char *TAG = "aloft";

#ifdef CONFIG_ALOFT_DELTA
_Static_assert(sizeof(aloft_native_delta_t) <= 16u * 1024u,
               "the delta stage must stay within 16 KiB of RAM beyond a full update");
#endif

void (*aesp_confirm_hook)(void);

/* A device serves on every interface; the tests on Linux on loopback only. */
#ifndef ALOFT_ESP_BIND
#define ALOFT_ESP_BIND "0.0.0.0"
#endif

#define NATIVE_ITERATIONS 10000u   /* PBKDF2 rounds of the derived verifier (as aloft-sim) */
#define MAX_EVENTS 4               /* per turn: START, PROGRESS, END or ERROR */

static struct {
    esp_device_t d;
    aloft_quiesce_t hooks;         /* kept across stop/start; the pipeline's registry */
    aloft_esp_config_t cfg;
    bool opened;                   /* d holds the partitions and boot state */
    char hostname[33];
    char secret[ALOFT_ESPOTA_HEX_MAX];
    aloft_native_verifier_t verifier;
#ifdef CONFIG_ALOFT_DELTA
    aloft_native_delta_t delta;    /* the patch decoder, reading the running slot */
#endif
    /* event derivation, under the loop's lock */
    bool in_update;                /* START reported, END/ERROR not yet */
    aloft_esp_proto_t source;      /* set: aloft_pull or a web request runs (0 none) */
    bool start_pending, progress_pending;
    uint32_t done, total;
    aloft_diag_t reported;         /* the failure last reported (refusals repeat it) */
    aloft_esp_proto_t proto;
    int last_error;
    char last_message[192];
    uint16_t port;
} A;

/* ---- configuration ------------------------------------------------------ */

static const char *text_or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

void aloft_esp_config_default(aloft_esp_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = CONFIG_ALOFT_PORT;
    cfg->hostname = text_or_null(CONFIG_ALOFT_HOSTNAME);
    cfg->password = text_or_null(CONFIG_ALOFT_PASSWORD);
    cfg->native_verifier = text_or_null(CONFIG_ALOFT_NATIVE_VERIFIER);
    cfg->espota_password = text_or_null(CONFIG_ALOFT_ESPOTA_PASSWORD);
#ifdef CONFIG_ALOFT_ESPOTA_AUTH_PBKDF2
    cfg->espota_auth = ALOFT_ESPOTA_AUTH_PBKDF2;
#else
    cfg->espota_auth = ALOFT_ESPOTA_AUTH_MD5;
#endif
#ifdef CONFIG_ALOFT_ALLOW_OPEN
    cfg->allow_open = true;
#endif
#ifdef CONFIG_ALOFT_NATIVE
    cfg->native = true;
#endif
#ifdef CONFIG_ALOFT_ESPOTA
    cfg->espota = true;
#endif
#ifdef CONFIG_ALOFT_DELTA
    cfg->delta = true;
#endif
    cfg->window = CONFIG_ALOFT_WINDOW;
    cfg->idle_timeout_ms = CONFIG_ALOFT_IDLE_TIMEOUT_MS;
    cfg->signing_keys = text_or_null(CONFIG_ALOFT_SIGNING_KEYS);
#ifdef CONFIG_ALOFT_WEB_PORT
    cfg->web_port = CONFIG_ALOFT_WEB_PORT;
#endif
    cfg->task = true;
    cfg->task_stack = CONFIG_ALOFT_TASK_STACK;
    cfg->task_priority = CONFIG_ALOFT_TASK_PRIORITY;
    cfg->task_core = CONFIG_ALOFT_TASK_CORE;
#ifdef CONFIG_ALOFT_MDNS
    cfg->mdns = true;
#endif
}

/* ---- events ------------------------------------------------------------- */

/* dev.progress: inside the pipeline, under the loop's lock. begin calls it
 * once it accepted (hooks paused): that first call is the START. */
static void on_progress(void *ctx, uint32_t done, uint32_t total)
{
    (void)ctx;
    if (!A.in_update) {
        A.in_update = true;
        A.start_pending = true;
    }
    A.done = done;
    A.total = total;
    A.progress_pending = true;
}

static aloft_esp_proto_t current_proto(void)
{
    if (A.source)
        return A.source;
    return aloft_espota_state(&esp_task_serve()->espota) >= ALOFT_ESPOTA_CONNECTING
               ? ALOFT_PROTO_ESPOTA
               : ALOFT_PROTO_NATIVE;
}

static void push(aloft_esp_event_t *ev, int *n, aloft_esp_event_kind_t kind)
{
    const aloft_part_t *p = aloft_update_partition(&A.d.update);
    ev[*n] = (aloft_esp_event_t){.kind = kind, .proto = A.proto, .done = A.done,
                                 .total = A.total,
                                 .fs = p != NULL && p->type == ALOFT_PT_TYPE_DATA};
    if (kind == ALOFT_EV_ERROR) {
        ev[*n].err = A.last_error;
        ev[*n].message = A.last_message;
    }
    (*n)++;
}

static void failed(const aloft_diag_t *diag)
{
    A.reported = *diag;
    A.last_error = diag->err;
    aloft_diag_format(diag, A.last_message, sizeof A.last_message);
    ESP_LOGW(TAG, "update failed: %s", A.last_message);
}

/* After every loop turn: what the pipeline did since the last one. A
 * refusal before anything was paused (too large, unconfirmed image) is an
 * ERROR without a START; the same refusal twice in a row is one event. */
static void after_turn(void *ctx)
{
    aloft_esp_event_t ev[MAX_EVENTS];
    int n = 0;
    (void)ctx;
    esp_web_tick();
    esp_task_lock();
    aloft_update_state_t st = aloft_update_state(&A.d.update);
    const aloft_diag_t *diag = aloft_update_diag(&A.d.update);
    if (A.start_pending) {
        A.start_pending = false;
        A.proto = current_proto();
        A.last_error = 0;
        A.last_message[0] = '\0';
        memset(&A.reported, 0, sizeof A.reported);
        push(ev, &n, ALOFT_EV_START);
    }
    if (A.progress_pending) {
        A.progress_pending = false;
        push(ev, &n, ALOFT_EV_PROGRESS);
    }
    if (A.in_update && st == ALOFT_UPDATE_DONE) {
        A.in_update = false;
        push(ev, &n, ALOFT_EV_END);
    } else if (A.in_update && st == ALOFT_UPDATE_FAILED) {
        A.in_update = false;
        failed(diag);
        push(ev, &n, ALOFT_EV_ERROR);
    } else if (!A.in_update && st == ALOFT_UPDATE_FAILED && diag->err != 0 &&
               memcmp(diag, &A.reported, sizeof *diag) != 0) {
        A.proto = current_proto();
        A.done = A.total = 0;
        failed(diag);
        push(ev, &n, ALOFT_EV_ERROR);
    } else if (st != ALOFT_UPDATE_FAILED) {
        memset(&A.reported, 0, sizeof A.reported);
    }
    if (A.source == ALOFT_PROTO_WEB)   /* reported; set again by its next request */
        A.source = 0;
    esp_task_unlock();
    for (int i = 0; i < n && A.cfg.on_event; i++)
        A.cfg.on_event(A.cfg.ctx, &ev[i]);
}

/* ---- for the pull (esp_app.h) ------------------------------------------- */

esp_device_t *esp_app_device(void)
{
    return esp_task_running() ? &A.d : NULL;
}

aloft_pull_delta_t esp_app_delta(void)
{
    aloft_pull_delta_t dl = {0};
#ifdef CONFIG_ALOFT_DELTA
    if (A.cfg.delta && A.d.inflate.max_window_bits) {
        dl.stage = &A.delta;
        dl.inflate = &A.d.inflate;
    }
#endif
    return dl;
}

void esp_app_set_source(aloft_esp_proto_t proto)
{
    A.source = proto;
}

void esp_app_events(void)
{
    after_turn(NULL);
}

/* ---- start and stop ----------------------------------------------------- */

static void log_line(void *ctx, const char *msg)
{
    (void)ctx;
    snprintf(A.last_message, sizeof A.last_message, "%s", msg);
    ESP_LOGE(TAG, "%s", msg);
}

static int refuse(int err, const char *msg)
{
    log_line(NULL, msg);
    A.last_error = err;
    return err;
}

static int restart(void *ctx)
{
    (void)ctx;
    esp_device_restart();
    return 0;
}

static const char *device_name(const aloft_esp_config_t *cfg)
{
    if (cfg->hostname)
        snprintf(A.hostname, sizeof A.hostname, "%s", cfg->hostname);
    else {
#ifdef CONFIG_IDF_TARGET_LINUX
        snprintf(A.hostname, sizeof A.hostname, "esp32-linux");
#else
        uint8_t mac[6] = {0};
        esp_read_mac(mac, ESP_MAC_WIFI_STA);
        snprintf(A.hostname, sizeof A.hostname, "esp32-%02x%02x%02x", mac[3], mac[4], mac[5]);
#endif
    }
    return A.hostname;
}

/* Open the device with the configured keys: the text ones need the
 * device's SHA-256 for their ids, so it is opened once without keys first. */
static int open_device(const aloft_esp_config_t *cfg)
{
    aloft_pubkey_t keys[ESP_DEVICE_MAX_KEYS];
    char why[160];
    int err;
    size_t nkeys = cfg->nkeys;
    if (nkeys > ESP_DEVICE_MAX_KEYS)
        return refuse(ALOFT_ERR_ARG, "more than 4 signing keys");
    if ((err = esp_device_open(&A.d, NULL, 0)) != 0) {
        A.opened = false;
        snprintf(why, sizeof why, "cannot open the device: %s", aloft_strerror(err));
        return refuse(err, why);
    }
    A.opened = true;
    const char *alg;
    if (aloft_crypto_selftest(&A.d.crypto, cfg->espota, &alg) != 0) {
        snprintf(why, sizeof why, "this build's mbedTLS computes %s wrongly (a PSA "
                 "configuration without PSA_WANT_ALG_%s?)%s", alg, alg[0] == 's' ? "SHA_256" : "MD5",
                 alg[0] == 'm' ? ": enable it, or turn espota off" : "");
        return refuse(ALOFT_ERR_CRYPTO, why);
    }
    if (nkeys)
        memcpy(keys, cfg->keys, nkeys * sizeof *keys);
    if (cfg->signing_keys) {
        err = esp_keys_parse(cfg->signing_keys, A.d.crypto.sha256, keys + nkeys,
                             ESP_DEVICE_MAX_KEYS - nkeys, why, sizeof why);
        if (err < 0)
            return refuse(err, why);
        nkeys += (size_t)err;
    }
    if (nkeys && (err = esp_device_open(&A.d, keys, nkeys)) != 0)
        return refuse(err, "cannot open the device");
    A.d.dev.quiesce = &A.hooks;
    A.d.dev.progress = on_progress;
    /* A staged filesystem copy cut by a power cut goes on before anything
     * mounts the filesystem (docs/PROTOCOL.md 4.5). */
    err = aloft_update_recover_fs(&A.d.update, &A.d.dev);
    if (err < 0)
        ESP_LOGE(TAG, "finishing the filesystem copy failed: %s", aloft_strerror(err));
    else if (err)
        ESP_LOGI(TAG, "finished the staged filesystem copy into %s",
                 aloft_update_partition(&A.d.update)->label);
    return 0;
}

/* The espota secret and the native verifier; the passwords are not kept. */
static int derive_secrets(const aloft_esp_config_t *cfg, serve_config_t *sc)
{
    char why[160];
    const char *espota_pw = cfg->espota_password ? cfg->espota_password : cfg->password;
    int err;
    sc->auth = ALOFT_ESPOTA_AUTH_NONE;
    if (cfg->espota && espota_pw) {
        if ((err = aloft_espota_secret(&A.d.crypto, cfg->espota_auth, espota_pw, A.secret)) != 0)
            return refuse(err, "cannot derive the espota secret");
        sc->auth = cfg->espota_auth;
        sc->secret = A.secret;
    } else if (cfg->espota && !cfg->allow_open) {
        return refuse(ALOFT_ERR_ARG, "espota without a password: set one (or allow_open)");
    }
    if (cfg->native && cfg->native_verifier) {
        if ((err = esp_verifier_parse(cfg->native_verifier, &A.verifier, why, sizeof why)) != 0)
            return refuse(err, why);
        sc->verifier = &A.verifier;
    } else if (cfg->native && cfg->password) {
        uint8_t salt[ALOFT_NATIVE_SALT_LEN];
        if ((err = A.d.crypto.random(A.d.crypto.ctx, salt, sizeof salt)) != 0 ||
            (err = aloft_native_derive(&A.d.crypto, cfg->password, salt, NATIVE_ITERATIONS,
                                       &A.verifier, NULL)) != 0)
            return refuse(err, "cannot derive the native login verifier");
        sc->verifier = &A.verifier;
    } else if (cfg->native && !cfg->allow_open) {
        return refuse(ALOFT_ERR_ARG, "native protocol without a password or verifier: set "
                                     "one (or allow_open)");
    }
    return 0;
}

/* The web page's confirm button, under the loop's lock. */
static int confirm_web(void *ctx)
{
    (void)ctx;
    return esp_device_confirm(&A.d);
}

/* The page is built into the component (gzipped by its CMakeLists);
 * without it (the Arduino library) the API is served alone. */
#ifdef ALOFT_WEB_PAGE
#include "web_page.h"
#endif

static int start_web(const aloft_esp_config_t *cfg, const aloft_native_verifier_t *verifier)
{
    aloft_web_config_t wc = {.dev = &A.d.dev, .update = &A.d.update, .verifier = verifier,
                             .name = A.hostname, .confirm = confirm_web};
#ifdef ALOFT_WEB_PAGE
    wc.page_gz = aloft_web_page_gz;
    wc.page_gz_len = aloft_web_page_gz_len;
#endif
    int err = esp_web_start(&wc, cfg->web_port, cfg->idle_timeout_ms);
    if (err)
        return refuse(err, "cannot serve the web page (see the log)");
    return 0;
}

int aloft_start(const aloft_esp_config_t *cfg)
{
    esp_task_config_t tc;
    int err;
    if (esp_task_running())
        return ALOFT_ERR_BUSY;
    if (cfg == NULL)
        aloft_esp_config_default(&A.cfg);
    else
        A.cfg = *cfg;
    cfg = &A.cfg;
    A.last_error = 0;
    A.last_message[0] = '\0';
    if (!cfg->native && !cfg->espota)
        return refuse(ALOFT_ERR_ARG, "neither espota nor the native protocol is enabled");
    if ((err = open_device(cfg)) != 0)
        return err;
    memset(&tc, 0, sizeof tc);
    if ((err = derive_secrets(cfg, &tc.serve)) != 0)
        return err;
    A.in_update = A.start_pending = A.progress_pending = false;
    memset(&A.reported, 0, sizeof A.reported);
    A.port = cfg->port ? cfg->port : ALOFT_ESPOTA_PORT;
    tc.serve.dev = &A.d.dev;
    tc.serve.update = &A.d.update;
    tc.serve.reboot = restart;
    tc.serve.log = log_line;
    tc.serve.inflate = A.d.inflate.max_window_bits ? &A.d.inflate : NULL;
#ifdef CONFIG_ALOFT_DELTA
    memset(&A.delta, 0, sizeof A.delta);   /* the running image is identified anew */
    tc.serve.delta = cfg->delta ? &A.delta : NULL;   /* serve: none without inflate */
#endif
    tc.serve.name = device_name(cfg);
    tc.serve.bind = ALOFT_ESP_BIND;
    tc.serve.port = A.port;
    tc.serve.bind_hint = "another service on this port? set CONFIG_ALOFT_PORT";
    tc.serve.idle_timeout_ms = cfg->idle_timeout_ms;
    tc.serve.window = cfg->window;
    tc.serve.no_espota = !cfg->espota;
    tc.serve.no_native = !cfg->native;
    tc.task = cfg->task;
    tc.stack = cfg->task_stack;
    tc.priority = cfg->task_priority;
    tc.core = cfg->task_core;
    tc.after_turn = after_turn;
    if ((err = esp_task_start(&tc)) != 0) {
        A.last_error = err;
        return err;
    }
    esp_mdns_config_t mc = {
        .name = tc.serve.name, .port = A.port, .native = cfg->native, .espota = cfg->espota,
        .state = {.dev = &A.d.dev, .native_password = tc.serve.verifier != NULL,
                  .espota_password = tc.serve.auth != ALOFT_ESPOTA_AUTH_NONE},
    };
    if (cfg->mdns)
        esp_mdns_start(&mc);   /* logged; the device serves by its address without it */
    ESP_LOGI(TAG, "serving on port %u: espota %s, native %s%s", (unsigned)A.port,
             !cfg->espota ? "off" : tc.serve.auth == ALOFT_ESPOTA_AUTH_NONE ? "open" : "password",
             !cfg->native ? "off" : tc.serve.verifier ? "password" : "open",
             cfg->native && tc.serve.inflate && tc.serve.delta ? " (takes patches)" : "");
    if (cfg->web_port && (err = start_web(cfg, tc.serve.verifier)) != 0) {
        esp_mdns_stop();
        esp_task_stop();
        return err;
    }
    return 0;
}

void aloft_stop(void)
{
    esp_mdns_stop();
    esp_web_stop();
    esp_task_stop();
    if (!esp_task_running())   /* END/ERROR of an update the stop abandoned */
        after_turn(NULL);
}

int aloft_handle(uint32_t wait_ms)
{
    return esp_task_handle(wait_ms);
}

/* ---- hooks, confirm, reject, status ------------------------------------- */

int aloft_add_pause(const char *name, void (*pause)(void *ctx), void (*resume)(void *ctx),
                    void *ctx)
{
    bool running = esp_task_running();
    if (running)
        esp_task_lock();
    int err = aloft_quiesce_add(&A.hooks, name, pause, resume, ctx);
    if (running)
        esp_task_unlock();
    return err;
}

/* confirm, reject and status work before aloft_start too. */
static int ensure_open(void)
{
    if (A.opened)
        return 0;
    int err = esp_device_open(&A.d, NULL, 0);
    A.opened = err == 0;
    return err;
}

int aloft_confirm(void)
{
    bool running = esp_task_running();
    if (running)
        esp_task_lock();
    int err = ensure_open();
    if (err == 0)
        err = esp_device_confirm(&A.d);
    if (running)
        esp_task_unlock();
    if (err == 0 && aesp_confirm_hook)
        aesp_confirm_hook();
    return err;
}

int aloft_reject(void)
{
    bool running = esp_task_running();
    if (running)
        esp_task_lock();
    int err = ensure_open();
    if (err == 0)
        err = esp_device_reject(&A.d);
    if (running)
        esp_task_unlock();
    if (err)
        return err;
    esp_device_restart();
    return ALOFT_ERR_STATE;   /* only where a restart returns (never on a chip) */
}

int aloft_status(aloft_status_t *st)
{
    bool running = esp_task_running();
    int err;
    memset(st, 0, sizeof *st);
    st->running_slot = -1;
    st->running_state = ALOFT_OTA_UNDEFINED;
    if (running)
        esp_task_lock();
    if ((err = ensure_open()) == 0) {
        st->running_slot = A.d.dev.running_slot;
        st->running_state = esp_device_running_state(&A.d);
        st->pending_verify = st->running_state == ALOFT_OTA_PENDING_VERIFY;
        st->rolled_back = A.d.rolled_back;
        snprintf(st->project, sizeof st->project, "%.*s", (int)sizeof st->project - 1,
                 A.d.running_desc.project_name);
        snprintf(st->version, sizeof st->version, "%.*s", (int)sizeof st->version - 1,
                 A.d.running_desc.version);
    }
    st->serving = running;
    st->updating = A.in_update;
    st->proto = A.proto;
    st->done = A.done;
    st->total = A.total;
    st->last_error = A.last_error;
    snprintf(st->last_message, sizeof st->last_message, "%s", A.last_message);
    st->port = A.port;
    if (running)
        esp_task_unlock();
    return err;
}
