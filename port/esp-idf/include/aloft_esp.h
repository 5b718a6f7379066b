/*
 * aloft_esp.h — aloft on an ESP32 (ESP-IDF component, and through it the
 * Arduino library): the application API.
 *
 *   aloft_esp_config_t cfg;
 *   aloft_esp_config_default(&cfg);   (Kconfig values)
 *   cfg.password = "...";
 *   aloft_add_pause("ble-scan", ble_pause, ble_resume, NULL);
 *   aloft_start(&cfg);          a FreeRTOS task serves espota (UDP) and the
 *                               native protocol (TCP) on cfg.port, and
 *                               with cfg.web_port the web page (HTTP)
 *   ... health check passed:    aloft_confirm();   (or aloft_reject())
 *
 * One instance per firmware (static storage inside the component, no
 * allocation after aloft_start). Callbacks (on_event, quiesce hooks) run in
 * aloft's task, or in the caller of aloft_handle() when cfg.task is false,
 * and during aloft_pull() in its caller's task too; keep them short and
 * thread-safe. Pause hooks run only once an update was
 * authenticated and accepted (nothing is paused for a refused one) and are
 * always resumed: success, error, timeout, abort, stop.
 *
 * Every function returns 0 or a negative aloft_err_t (aloft/error.h);
 * aloft_strerror() says what happened; aloft_status() holds the last
 * failure with its numbers and what to do (aloft_diag_format).
 */
#ifndef ALOFT_ESP_H
#define ALOFT_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/agent.h"
#include "aloft/error.h"
#include "aloft/pull.h"
#include "aloft/wire/espota.h"
#include "aloft/wire/signature.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aloft_esp_event_kind {
    ALOFT_EV_START = 1,     /* an update was accepted (after login); hooks paused */
    ALOFT_EV_PROGRESS,      /* done/total bytes written so far */
    ALOFT_EV_END,           /* verified and activated: the device restarts next */
    ALOFT_EV_ERROR,         /* the update failed; err says why; firmware unchanged */
} aloft_esp_event_kind_t;

typedef enum aloft_esp_proto {
    ALOFT_PROTO_ESPOTA = 1, /* espota.py, PlatformIO, Arduino IDE */
    ALOFT_PROTO_NATIVE = 2, /* aloft upload */
    ALOFT_PROTO_HTTP = 3,   /* aloft_pull: the device downloads */
    ALOFT_PROTO_WEB = 4,    /* the device's web page and API (web_port) */
} aloft_esp_proto_t;

typedef struct aloft_esp_event {
    aloft_esp_event_kind_t kind;
    aloft_esp_proto_t proto;
    bool fs;                /* target is a filesystem partition, not the app */
    uint32_t done, total;   /* bytes of the image */
    int err;                /* ALOFT_EV_ERROR: the aloft_err_t */
    const char *message;    /* ALOFT_EV_ERROR: the failure with its numbers */
} aloft_esp_event_t;

typedef struct aloft_esp_config {
    uint16_t port;              /* UDP (espota) and TCP (native); 0 = 3232 */
    const char *hostname;       /* name in the native HELLO; NULL = "esp32-XXXXXX" (MAC) */
    /* Password for both protocols; NULL = none: the device is open, which
     * aloft_start refuses unless allow_open is set. */
    const char *password;
    /* Instead of password for the native login: a verifier
     * ITERATIONS:SALT:STORED_KEY:SERVER_KEY (decimal, then hex), as
     * `aloft verifier` prints it, so the firmware never holds the password. */
    const char *native_verifier;
    /* espota's own password (its MD5 exchange can be cracked offline from a
     * sniffed upload: give it a different one); NULL = password. */
    const char *espota_password;
    aloft_espota_auth_t espota_auth;   /* MD5 (what espota.py speaks) or PBKDF2 */
    bool allow_open;
    bool native;                /* serve the native protocol */
    bool espota;                /* serve espota */
    /* Take delta patches over the native protocol (`aloft upload
     * --base`); needs CONFIG_ALOFT_DELTA (its storage) and inflate. */
    bool delta;
    uint32_t window;            /* native DATA bytes in flight; 0 = 32 KiB */
    uint32_t idle_timeout_ms;   /* 0 = 10 s */
    /* Only images signed by one of these keys are activated; nkeys 0 =
     * unsigned images are accepted. */
    const aloft_pubkey_t *keys;
    size_t nkeys;
    /* More keys as text (CONFIG_ALOFT_SIGNING_KEYS), parsed by aloft_start:
     * each `aloft keygen` NAME.pub (the PEM, or its two base64 lines
     * joined) or its 130-hex-digit point, separated by spaces or commas;
     * at most 4 keys in all. NULL = none. */
    const char *signing_keys;
    /* Serve the web page and API (docs/PROTOCOL.md §4) on this TCP port
     * with esp_http_server, same password; 0 = no web page. */
    uint16_t web_port;
    bool task;                  /* run in own task; false: call aloft_handle() */
    uint32_t task_stack;        /* bytes */
    uint8_t task_priority;
    int8_t task_core;           /* -1 = no affinity */
    void (*on_event)(void *ctx, const aloft_esp_event_t *ev);
    void *ctx;
    /* Announce the device by mDNS through the mdns component: NAME.local,
     * _aloft._tcp and _arduino._tcp (docs/PROTOCOL.md "Discovery (mDNS)");
     * needs CONFIG_ALOFT_MDNS, which also gives the default. */
    bool mdns;
} aloft_esp_config_t;

/* Defaults from Kconfig (CONFIG_ALOFT_*): port, passwords, auth scheme,
 * protocols, delta, window, timeouts, task stack/priority/core. */
void aloft_esp_config_default(aloft_esp_config_t *cfg);

/* Find the partitions, read the boot state, bind the sockets and start
 * serving. ALOFT_ERR_NO_SLOT (the partition table has no second app
 * slot), ALOFT_ERR_NO_OTADATA, ALOFT_ERR_ARG (open device without
 * allow_open, bad verifier or signing key, neither protocol on),
 * ALOFT_ERR_BUSY (already started), ALOFT_ERR_CONNECT (cannot bind the
 * port). The reason is logged and in aloft_status().last_message. */
int aloft_start(const aloft_esp_config_t *cfg);   /* NULL: the Kconfig defaults */

/* Stop serving: an update in progress is abandoned (firmware unchanged,
 * hooks resumed, an ERROR event), sockets closed, the task ended and
 * waited for; aloft_start works again after it. Safe when not started.
 * From a callback (on_event, a hook) it only asks the task to end: call it
 * again from elsewhere before aloft_start. */
void aloft_stop(void);

/* cfg.task false: serve for up to wait_ms (0 = only what is ready).
 * ALOFT_ERR_STATE when not started or in task mode. */
int aloft_handle(uint32_t wait_ms);

/* Register a pause/resume pair (BLE scan, MQTT client, sensor polling).
 * Up to 8; a hook added during an update is paused at once. */
int aloft_add_pause(const char *name, void (*pause)(void *ctx), void (*resume)(void *ctx),
                    void *ctx);

/* The running image passed its health check: keep it (otadata VALID).
 * Same effect on flash as esp_ota_mark_app_valid_cancel_rollback().
 * A no-op when it is confirmed already. */
int aloft_confirm(void);

/* The running image is bad: mark it INVALID and restart into the previous
 * one, as esp_ota_mark_app_invalid_rollback_and_reboot() does. Returns
 * only on failure (ALOFT_ERR_NO_BOOTABLE: nothing valid to go back to). */
int aloft_reject(void);

typedef struct aloft_status {
    int running_slot;           /* OTA slot index */
    uint32_t running_state;     /* ALOFT_OTA_* of the running slot (otadata) */
    bool pending_verify;        /* runs on probation: confirm or it rolls back */
    bool rolled_back;           /* this boot fell back from an unconfirmed image */
    char project[33];           /* of the running image (as aloft_app_desc_t: 32 + NUL) */
    char version[33];
    bool serving;               /* started */
    bool updating;              /* an update is receiving */
    aloft_esp_proto_t proto;    /* of the update in progress or the last one */
    uint32_t done, total;
    int last_error;             /* of the last update, 0 if it succeeded or none */
    char last_message[192];     /* its diagnosis with numbers and a hint */
    uint16_t port;
} aloft_status_t;

int aloft_status(aloft_status_t *st);

/* ---- HTTP pull (docs/FLEET.md §8) ---------------------------------------- */

/* One file of a release (FLEET.md §3: url, size, sha256, signed) and how
 * to fetch it. */
typedef struct aloft_esp_pull {
    const char *url;            /* http:// or https:// */
    uint32_t size;              /* exact bytes of the file */
    uint8_t sha256[32];         /* of the whole file */
    bool is_signed;             /* the file ends with a signature block (aloft sign) */
    /* https: the server's CA, PEM, NUL-terminated; NULL = IDF's certificate
     * bundle (CONFIG_MBEDTLS_CERTIFICATE_BUNDLE; without it https fails) */
    const char *cert_pem;
    uint8_t tries;              /* attempts in all; 0 = 5 */
    uint32_t backoff_ms;        /* before the first retry, doubling up to 16 s; 0 = 1000 */
    uint32_t timeout_ms;        /* a silent connection is cut after this; 0 = 10000 */
    /* Delta patches of the release (FLEET.md §3 patches): the one from the
     * running image is pulled instead of url when the device takes patches
     * (aloft_esp_config_t.delta); NULL/0: the file always. Kept until the
     * pull returns. */
    const aloft_pull_patch_t *patches;
    size_t npatches;
} aloft_esp_pull_t;

/* Download the file and install it, in the caller's task (it blocks for
 * the download; the serving task keeps answering, and refuses other
 * updates with BUSY meanwhile). The same checks as every update, in this
 * order: size against the slot, the HTTP status (200, or 206 to a Range
 * request), Content-Length and Content-Range against the release, the
 * first bytes (magic, chip) — all before the first erase — then SHA-256
 * and the signature before activation. A patch (req->patches) begins only
 * once its header has been checked against the running image and the
 * release; one refused or failing gives way to the file, once. A cut connection is retried from
 * where it stopped with a Range request; after a power cut the same
 * release resumes from the journal. Events (on_event) carry
 * ALOFT_PROTO_HTTP.
 *
 * Returns 0 once the new image is verified and activated: restart
 * (esp_restart) when the application is ready. Else the failure
 * (ALOFT_ERR_HTTP with the status, ALOFT_ERR_HTTP_MISMATCH, any pipeline
 * refusal, ALOFT_ERR_CONNECT/CLOSED/TIMEOUT after the last try),
 * described in aloft_status().last_message; the running firmware is
 * untouched. ALOFT_ERR_STATE before aloft_start, ALOFT_ERR_BUSY while
 * another pull or update runs. */
int aloft_pull(const aloft_esp_pull_t *req);

/*
 * The MQTT agent (docs/FLEET.md; CONFIG_ALOFT_MQTT_AGENT, which needs the
 * mqtt component: espressif/mqtt from the registry on IDF 6, built into
 * IDF 5): the device's state, progress and outcome on the broker, Home
 * Assistant discovery of an update entity, commands (aloft's and
 * OpenMQTTGateway's firmware_update). Call nvs_flash_init() first (the
 * update record lives in NVS across the reboot) and aloft_confirm() from
 * the health check as before: the agent reports `confirmed` then.
 *
 *   aloft_start(NULL);                     the pipeline, espota, native
 *   aloft_agent_esp_config_t ac;
 *   aloft_agent_esp_config_default(&ac);   (Kconfig: broker URI, name, prefix)
 *   aloft_agent_start(&ac);                releases pulled with aloft_pull()
 */
typedef struct aloft_agent_esp_config {
    const char *broker_uri;      /* mqtt://host:1883 or mqtts://host:8883 */
    const char *name;            /* DEV (FLEET.md §1): client id, topic level */
    const char *prefix;          /* NULL: aloft */
    const char *omg_prefix;      /* OpenMQTTGateway prefix, NULL: none */
    const char *username;        /* NULL: name (FLEET.md §2) */
    const char *password;
    const char *ca_pem;          /* mqtts: the broker's CA, PEM; NULL: none */
    int reconnect_ms;            /* retry a lost broker after this; 0: esp-mqtt's 10 s */
    bool signed_only;            /* the firmware holds signing keys */
    /* Start downloading rel into the update slot (a task of its own);
     * report with aloft_agent_pull_report and aloft_agent_pull_result.
     * Returns 0, or a refusal (nothing erased). NULL: aloft_pull() above,
     * in a task of the agent's, progress read from aloft_status(). */
    int (*pull)(void *ctx, const aloft_agent_release_t *rel);
    const char *pull_ca_pem;     /* that pull's https CA (aloft_esp_pull_t.cert_pem) */
    /* OMG's password: 0 if right, ALOFT_ERR_AUTH if not; NULL: none. */
    int (*check_password)(void *ctx, const char *pw, size_t len);
    void *ctx;
} aloft_agent_esp_config_t;

/* Kconfig defaults (CONFIG_ALOFT_MQTT_*); pull and check_password NULL. */
void aloft_agent_esp_config_default(aloft_agent_esp_config_t *cfg);

/* Read the slots and the record, start esp-mqtt. Returns 0, ALOFT_ERR_BUSY
 * (started), ALOFT_ERR_ARG (no broker URI, bad name or prefix), or
 * esp_device_open's errors. NULL: the Kconfig defaults. */
int aloft_agent_start(const aloft_agent_esp_config_t *cfg);

/* From the pull: done of total bytes in the pipeline; then the end (diag
 * NULL or err 0: verified and activated, the agent reboots the device). */
void aloft_agent_pull_report(uint32_t done, uint32_t total);
void aloft_agent_pull_result(const aloft_diag_t *diag);

#ifdef __cplusplus
}
#endif

#endif /* ALOFT_ESP_H */
