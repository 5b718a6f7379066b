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
 * aloft's task, or in the caller of aloft_handle() when cfg.task is false;
 * keep them short and thread-safe. Pause hooks run only once an update was
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

#include "aloft/error.h"
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
    /* Serve the web page and API (docs/PROTOCOL.md §3) on this TCP port
     * with esp_http_server, same password; 0 = no web page. */
    uint16_t web_port;
    bool task;                  /* run in own task; false: call aloft_handle() */
    uint32_t task_stack;        /* bytes */
    uint8_t task_priority;
    int8_t task_core;           /* -1 = no affinity */
    void (*on_event)(void *ctx, const aloft_esp_event_t *ev);
    void *ctx;
} aloft_esp_config_t;

/* Defaults from Kconfig (CONFIG_ALOFT_*): port, passwords, auth scheme,
 * protocols, window, timeouts, task stack/priority/core. */
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

#ifdef __cplusplus
}
#endif

#endif /* ALOFT_ESP_H */
