/*
 * aloft/agent.h — the device's MQTT agent (docs/FLEET.md), sans-I/O: it
 * speaks no MQTT itself. The port owns the MQTT client and the pull
 * transport and feeds the agent events:
 *
 *   aloft_agent_init(record read back at boot)   after every boot
 *   aloft_agent_connected / _disconnected        the broker session
 *   aloft_agent_message(topic, payload)          every message received
 *   aloft_agent_pull_progress / _pull_done       the download of a release
 *   aloft_agent_confirmed                        the new image confirmed itself
 *   aloft_agent_device_changed                   slots or states changed
 *
 * and asks for actions with aloft_agent_poll() until it returns 0:
 * subscribe, publish (topic, payload, retained), save the record, start
 * the pull of a release, roll back, reboot. Payloads are built into the
 * config's buffer when polled, so an action's strings are valid until the
 * next call on the agent: publish (or copy) them before polling again.
 *
 * A command is checked before anything is paused or erased: a refusal
 * (another chip or project, not newer, unsigned on a device with keys, too
 * large, busy, malformed) is published as the progress object with phase
 * `refused` and nothing else happens. An accepted release is pulled; its
 * success is `confirmed` only after the reboot, when the new image confirms
 * itself. The agent learns that at boot from the record it asked to be
 * saved before the reboot (a small JSON text the port keeps in NVS or a
 * file) and the slot the device runs: the record's slot running VALID is
 * confirmed, PENDING_VERIFY waits for aloft_agent_confirmed(), another slot
 * is `failed` with the bootloader's reason (ALOFT_ERR_UNCONFIRMED when the
 * image never confirmed itself).
 *
 * No malloc, no OS, no clock: now_ms is passed in. Not thread-safe: one
 * caller at a time.
 */
#ifndef ALOFT_AGENT_H
#define ALOFT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"

#define ALOFT_AGENT_NAME_MAX 32      /* DEV: [a-z0-9_-], 1..32 */
#define ALOFT_AGENT_PREFIX_MAX 48    /* topic prefixes (aloft, OMG's home/gw1) */
#define ALOFT_AGENT_ID_MAX 48        /* command ids */
#define ALOFT_AGENT_TEXT_MAX 33      /* project, version (esp_app_desc_t sizes) */
#define ALOFT_AGENT_URL_MAX 256
#define ALOFT_AGENT_SUMMARY_MAX 128
#define ALOFT_AGENT_SLOTS_MAX 4
#define ALOFT_AGENT_TOPIC_MAX 160
/* What aloft_agent_config_t.buf should hold: the largest payload (the
 * device object with four slots, the discovery config) fits. */
#define ALOFT_AGENT_BUF_MIN 1536

/* One app slot, as the device object (FLEET.md §4) lists it. */
typedef struct aloft_agent_slot {
    char label[17];
    uint32_t state;                    /* otadata state (ALOFT_OTA_*) */
    bool has_image;                    /* a verified image for this chip */
    char project[ALOFT_AGENT_TEXT_MAX];
    char version[ALOFT_AGENT_TEXT_MAX];
    uint8_t sha256[32];
} aloft_agent_slot_t;

/* What the device is and runs; the port fills it at boot and calls
 * aloft_agent_device_changed() after changing it. */
typedef struct aloft_agent_device {
    uint16_t chip_id;
    char project[ALOFT_AGENT_TEXT_MAX];   /* the running image's */
    char version[ALOFT_AGENT_TEXT_MAX];
    bool signed_only;                     /* the device holds signing keys */
    uint32_t slot_size;                   /* bytes the update slot holds */
    int running;                          /* index of the running slot in slots */
    aloft_agent_slot_t slots[ALOFT_AGENT_SLOTS_MAX];
    size_t nslots;
} aloft_agent_device_t;

/* A release (FLEET.md §3) as a command or PREFIX/release/PROJECT gave it. */
typedef struct aloft_agent_release {
    char project[ALOFT_AGENT_TEXT_MAX];
    char version[ALOFT_AGENT_TEXT_MAX];
    uint16_t chip_id;
    char url[ALOFT_AGENT_URL_MAX];
    uint32_t size;                  /* exact bytes of the file */
    uint8_t sha256[32];
    bool is_signed;                 /* the file ends in a signature block */
    char summary[ALOFT_AGENT_SUMMARY_MAX];
    char release_url[ALOFT_AGENT_URL_MAX];
    /* Of the release's `patches`, the one whose base_sha256 is the running
     * image's (patch_size 0: none; the pull then fetches url). */
    char patch_url[ALOFT_AGENT_URL_MAX];
    uint32_t patch_size;
    uint8_t patch_sha256[32];
} aloft_agent_release_t;

typedef struct aloft_agent_config {
    const char *name;               /* DEV */
    const char *prefix;             /* NULL: "aloft" */
    const char *omg_prefix;         /* OpenMQTTGateway prefix, NULL: none */
    char *buf;                      /* payload scratch, ALOFT_AGENT_BUF_MIN */
    size_t buf_len;
    /* The OTA password check for OpenMQTTGateway's `password`: 0 if pw
     * (len bytes) is the device's, ALOFT_ERR_AUTH if not. NULL: the device
     * has no password. */
    int (*check_password)(void *ctx, const char *pw, size_t len);
    void *ctx;
} aloft_agent_config_t;

typedef enum aloft_agent_act {
    ALOFT_AGENT_NONE = 0,
    ALOFT_AGENT_SUBSCRIBE,   /* topic (QoS 1) */
    ALOFT_AGENT_PUBLISH,     /* topic, payload/len, retain (QoS 1) */
    ALOFT_AGENT_SAVE,        /* keep payload/len across the reboot; len 0: erase it */
    ALOFT_AGENT_PULL,        /* download and install release; report with pull_* */
    ALOFT_AGENT_ROLLBACK,    /* aloft_update_rollback, then reboot (pull_done on failure) */
    ALOFT_AGENT_REBOOT,      /* restart (after the publishes above went out) */
} aloft_agent_act_t;

typedef struct aloft_agent_action {
    aloft_agent_act_t kind;
    const char *topic;
    const char *payload;
    size_t len;
    bool retain;
    const aloft_agent_release_t *release;
} aloft_agent_action_t;

typedef enum aloft_agent_phase {
    ALOFT_AGENT_PHASE_NONE = 0,
    ALOFT_AGENT_PHASE_REFUSED,
    ALOFT_AGENT_PHASE_DOWNLOADING,
    ALOFT_AGENT_PHASE_REBOOTING,
    ALOFT_AGENT_PHASE_CONFIRMED,
    ALOFT_AGENT_PHASE_FAILED,
} aloft_agent_phase_t;

/* Internal; do not rely on the fields. About 3 KiB; may be static. */
typedef struct aloft_agent {
    aloft_agent_config_t cfg;
    const aloft_agent_device_t *dev;
    char prefix[ALOFT_AGENT_PREFIX_MAX];
    char topic[ALOFT_AGENT_TOPIC_MAX];
    uint32_t pending;               /* what poll still has to do (bits) */
    uint8_t subs_done;              /* subscriptions made this session */
    bool connected;
    uint8_t busy;                   /* an accepted update has not ended */
    uint32_t ha_seq;                /* ids of Home Assistant's installs */
    char busy_id[ALOFT_AGENT_ID_MAX];        /* a command refused BUSY */
    char busy_version[ALOFT_AGENT_TEXT_MAX];
    /* the progress object (FLEET.md §5) */
    char id[ALOFT_AGENT_ID_MAX];
    char version[ALOFT_AGENT_TEXT_MAX];
    uint8_t phase;
    uint32_t done, total;
    aloft_diag_t diag;
    uint64_t now_ms;                /* of the message being handled */
    uint64_t report_ms;             /* when downloading was last reported */
    uint32_t report_done;
    char target[17];                /* slot the update goes to (the record's) */
    bool record;                    /* a record to save (else: erase it) */
    aloft_agent_release_t release;  /* being installed */
    aloft_agent_release_t latest;   /* last on PREFIX/release/PROJECT */
    bool has_latest;
} aloft_agent_t;

/* Start after a boot. dev must stay valid. record/len is what the last
 * ALOFT_AGENT_SAVE kept (NULL/0: none); boot_diag is the bootloader's
 * reason when the selected slot did not verify (NULL or err 0 otherwise).
 * A record whose slot is not the running one becomes `failed`. Returns 0 or
 * ALOFT_ERR_ARG (bad name, prefix, buffer). A damaged record is dropped
 * (and erased) without failing. */
int aloft_agent_init(aloft_agent_t *a, const aloft_agent_config_t *cfg,
                     const aloft_agent_device_t *dev, const char *record, size_t len,
                     const aloft_diag_t *boot_diag);

/* The will the port gives its MQTT client before connecting: retained
 * `offline` on this topic. */
const char *aloft_agent_will_topic(aloft_agent_t *a);

/* The broker session is up: subscribe, publish online, discovery, state and
 * the Home Assistant state again. */
void aloft_agent_connected(aloft_agent_t *a);
void aloft_agent_disconnected(aloft_agent_t *a);

/* A message on one of the subscribed topics. Anything malformed is refused
 * (with the command's id when it has one) or, for topics that carry no
 * command, ignored. */
void aloft_agent_message(aloft_agent_t *a, uint64_t now_ms, const char *topic,
                         const void *payload, size_t len);

/* The pull of release: done of total bytes written. Reported at most once a
 * second and once per 5 %. */
void aloft_agent_pull_progress(aloft_agent_t *a, uint64_t now_ms, uint32_t done,
                               uint32_t total);

/* The pull ended: diag NULL or err 0 means verified and activated (the
 * agent then saves the record and asks for the reboot); else `failed` with
 * that reason. Also the outcome of a failed ALOFT_AGENT_ROLLBACK. */
void aloft_agent_pull_done(aloft_agent_t *a, const aloft_diag_t *diag);

/* The running image confirmed itself (it was PENDING_VERIFY at init). */
void aloft_agent_confirmed(aloft_agent_t *a);

/* dev changed (a slot's state or image): publish the state again. */
void aloft_agent_device_changed(aloft_agent_t *a);

/* The next action, into *act. Returns 1 with an action, 0 when there is
 * none, or ALOFT_ERR_BUFFER if a payload does not fit the buffer (it is
 * dropped). Publishes and subscriptions come only while connected. */
int aloft_agent_poll(aloft_agent_t *a, aloft_agent_action_t *act);

/* The progress phase now (tests, status lines). */
aloft_agent_phase_t aloft_agent_phase(const aloft_agent_t *a);

/* "2.1.0" vs "2.0.9": < 0, 0, > 0 in semantic version order (numeric
 * dot-separated parts, a leading 'v' ignored, a "-pre" release before the
 * release itself, "+build" ignored). */
int aloft_agent_version_cmp(const char *a, const char *b);

#endif /* ALOFT_AGENT_H */
