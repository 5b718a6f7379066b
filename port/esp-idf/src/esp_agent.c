/*
 * port/esp-idf/src/esp_agent.c — the MQTT agent (aloft/agent.h,
 * docs/FLEET.md) on ESP-IDF: esp-mqtt (the component registry's
 * espressif/mqtt in IDF 6, built in before) carries the engine's
 * subscriptions and publishes, NVS keeps its record across the reboot
 * (namespace "aloft", key "agent"), and the release is pulled with the
 * component's aloft_pull() in a task of the agent's (progress read from
 * aloft_status() every 500 ms), or by the application's pull callback,
 * which reports back with aloft_agent_pull_report / aloft_agent_pull_result.
 * Built only with CONFIG_ALOFT_MQTT_AGENT (the component needs the mqtt
 * component then).
 *
 * Threads: esp-mqtt's task delivers events, the pull (and its progress
 * timer) and aloft_confirm's hook report from theirs; G.lock serialises the
 * engine. esp-mqtt's task holds the client's API lock while it runs the
 * handler, and every esp-mqtt call takes that lock: so only the handler
 * calls esp-mqtt under G.lock. Another task copies each publish out under
 * G.lock and sends it after releasing it (drain_elsewhere); else it would
 * wait for the API lock while holding G.lock, and the handler for G.lock
 * while holding the API lock. A reboot the engine asks for is an esp_timer
 * one-shot 1.5 s later, so the `rebooting` report still goes out.
 */
#include "esp_kconfig.h"

#if defined(CONFIG_ALOFT_MQTT_AGENT) && CONFIG_ALOFT_MQTT_AGENT

#include <string.h>

#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "mqtt_client.h"
#include "nvs.h"

#include "aloft_esp.h"
#include "esp_device.h"

#define REBOOT_DELAY_US 1500000
#define PULL_REPORT_US 500000
#define PULL_STACK 6144
#define PAYLOAD_MAX 2048   /* the engine's payloads */

static const char *TAG = "aloft-agent";

static struct {
    aloft_agent_esp_config_t cfg;
    esp_device_t d;                 /* partitions, otadata, the slots' images (read only) */
    aloft_update_t scratch;         /* a rollback's session */
    aloft_agent_t agent;
    aloft_agent_device_t dev;
    char buf[PAYLOAD_MAX];
    char rx_topic[ALOFT_AGENT_TOPIC_MAX];
    char rx[2048];                  /* a message esp-mqtt delivers in pieces */
    size_t rx_len;
    bool rx_dropped;
    esp_mqtt_client_handle_t client;
    bool connected;                 /* to log a lost session once */
    SemaphoreHandle_t lock;         /* the engine, G.dev */
    StaticSemaphore_t lock_mem;
    SemaphoreHandle_t out_lock;     /* G.out: one sender besides esp-mqtt's task */
    StaticSemaphore_t out_lock_mem;
    struct {                        /* a publish copied out of G.buf */
        char topic[ALOFT_AGENT_TOPIC_MAX];
        char payload[PAYLOAD_MAX];
        aloft_agent_action_t act;
    } out;
    esp_timer_handle_t reboot_timer;
    esp_timer_handle_t report_timer;  /* the default pull's progress */
    aloft_esp_pull_t req;             /* the default pull's file */
    aloft_pull_patch_t patch;         /* and its patch */
    bool started;
} G;

void aloft_agent_esp_config_default(aloft_agent_esp_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->broker_uri = CONFIG_ALOFT_MQTT_BROKER_URI;
    cfg->name = CONFIG_ALOFT_MQTT_NAME;
    cfg->prefix = CONFIG_ALOFT_MQTT_PREFIX[0] ? CONFIG_ALOFT_MQTT_PREFIX : NULL;
    cfg->omg_prefix = CONFIG_ALOFT_MQTT_OMG_PREFIX[0] ? CONFIG_ALOFT_MQTT_OMG_PREFIX : NULL;
    cfg->username = CONFIG_ALOFT_MQTT_USERNAME[0] ? CONFIG_ALOFT_MQTT_USERNAME : NULL;
    cfg->password = CONFIG_ALOFT_MQTT_PASSWORD[0] ? CONFIG_ALOFT_MQTT_PASSWORD : NULL;
    cfg->signed_only = CONFIG_ALOFT_SIGNING_KEYS[0] != '\0';
}

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

/* The device object (FLEET.md §4) of what the flash holds now. */
static void describe(void)
{
    esp_device_t *d = &G.d;
    aloft_agent_device_t *a = &G.dev;
    int n = d->otadata.nslots < ALOFT_AGENT_SLOTS_MAX ? d->otadata.nslots : ALOFT_AGENT_SLOTS_MAX;
    memset(a, 0, sizeof *a);
    a->chip_id = d->dev.chip_id;
    a->signed_only = G.cfg.signed_only;
    a->nslots = (size_t)n;
    a->running = d->dev.running_slot < n ? d->dev.running_slot : 0;
    copy_str(a->project, sizeof a->project, d->running_desc.project_name);
    copy_str(a->version, sizeof a->version, d->running_desc.version);
    a->slot_size = d->otadata.slots[(d->dev.running_slot + 1) % d->otadata.nslots]->size;
    for (int i = 0; i < n; i++) {
        const aloft_part_t *p = d->otadata.slots[i];
        aloft_agent_slot_t *s = &a->slots[i];
        copy_str(s->label, sizeof s->label, p->label);
        s->state = aloft_otadata_slot_state(&d->otadata, i);
        if (aloft_image_verify_flash(&d->flash, p->offset, p->size, d->crypto.sha256,
                                     &d->scratch) != 0)
            continue;
        const aloft_image_info_t *info = aloft_image_info(&d->scratch);
        s->has_image = true;
        if (info->has_desc) {
            copy_str(s->project, sizeof s->project, info->desc.project_name);
            copy_str(s->version, sizeof s->version, info->desc.version);
        }
        memcpy(s->sha256, info->sha256, sizeof s->sha256);
    }
    a->slots[a->running].state = esp_device_running_state(d);
}

static void save_record(const char *p, size_t n)
{
    nvs_handle_t h;
    esp_err_t e = nvs_open("aloft", NVS_READWRITE, &h);
    if (e == ESP_OK) {
        e = n ? nvs_set_blob(h, "agent", p, n) : nvs_erase_key(h, "agent");
        if (e == ESP_ERR_NVS_NOT_FOUND)
            e = ESP_OK;
        if (e == ESP_OK)
            e = nvs_commit(h);
        nvs_close(h);
    }
    if (e != ESP_OK)
        ESP_LOGE(TAG, "cannot keep the update record in NVS (%d): the outcome after the "
                      "reboot will not be reported", (int)e);
}

static size_t load_record(char *p, size_t n)
{
    nvs_handle_t h;
    size_t len = n;
    if (nvs_open("aloft", NVS_READONLY, &h) != ESP_OK)
        return 0;
    if (nvs_get_blob(h, "agent", p, &len) != ESP_OK)
        len = 0;
    nvs_close(h);
    return len;
}

static void reboot_now(void *arg)
{
    (void)arg;
    esp_device_restart();
}

static void rollback(void)
{
    int err = aloft_update_rollback(&G.scratch, &G.d.dev);
    if (err) {
        aloft_diag_t diag = *aloft_update_diag(&G.scratch);
        if (diag.err == 0)
            aloft_diag_set(&diag, err, 0, 0, NULL);
        aloft_agent_pull_done(&G.agent, &diag);
        return;
    }
    esp_timer_start_once(G.reboot_timer, REBOOT_DELAY_US);
}

/* The default pull: aloft_pull() blocks, so it runs in a task of its own;
 * its progress comes from aloft_status(). */
static void report_progress(void *arg)
{
    aloft_status_t st;
    (void)arg;
    if (aloft_status(&st) == 0 && st.updating)
        aloft_agent_pull_report(st.done, st.total);
}

static void pull_task(void *arg)
{
    aloft_diag_t diag = {0};
    (void)arg;
    int err = aloft_pull(&G.req);
    esp_timer_stop(G.report_timer);
    if (err)
        aloft_diag_set(&diag, err, 0, 0, NULL);
    aloft_agent_pull_result(err ? &diag : NULL);
    vTaskDelete(NULL);
}

static int default_pull(const aloft_agent_release_t *rel)
{
    memset(&G.req, 0, sizeof G.req);
    G.req.url = rel->url;      /* the engine keeps rel until the pull ends */
    G.req.size = rel->size;
    memcpy(G.req.sha256, rel->sha256, sizeof G.req.sha256);
    G.req.is_signed = rel->is_signed;
    G.req.cert_pem = G.cfg.pull_ca_pem;
    if (rel->patch_size) {   /* the agent kept the one from the running image */
        G.patch = (aloft_pull_patch_t){.url = rel->patch_url, .size = rel->patch_size};
        memcpy(G.patch.sha256, rel->patch_sha256, 32);
        memcpy(G.patch.base_sha256, G.dev.slots[G.dev.running].sha256, 32);
        G.req.patches = &G.patch;
        G.req.npatches = 1;
    }
    if (xTaskCreatePinnedToCore(pull_task, "aloft-pull", PULL_STACK, NULL, 5, NULL,
                                tskNO_AFFINITY) != pdPASS)
        return ALOFT_ERR_STATE;
    esp_timer_start_periodic(G.report_timer, PULL_REPORT_US);
    return 0;
}

/* A subscription or publish, through esp-mqtt. */
static void send(const aloft_agent_action_t *act)
{
    if (act->kind == ALOFT_AGENT_SUBSCRIBE)
        esp_mqtt_client_subscribe_single(G.client, act->topic, 1);
    else   /* enqueue: never blocks the MQTT task this often runs in */
        esp_mqtt_client_enqueue(G.client, act->topic, act->payload, (int)act->len, 1,
                                act->retain, true);
}

static bool is_send(const aloft_agent_action_t *act)
{
    return act->kind == ALOFT_AGENT_SUBSCRIBE || act->kind == ALOFT_AGENT_PUBLISH;
}

/* Any other action; under G.lock. */
static void carry_out(const aloft_agent_action_t *act)
{
    switch (act->kind) {
    case ALOFT_AGENT_SAVE:
        save_record(act->payload, act->len);
        break;
    case ALOFT_AGENT_PULL: {
        int err = G.cfg.pull ? G.cfg.pull(G.cfg.ctx, act->release) : default_pull(act->release);
        if (err) {
            aloft_diag_t diag = {0};
            aloft_diag_set(&diag, err, 0, 0, NULL);
            aloft_agent_pull_done(&G.agent, &diag);
        }
        break;
    }
    case ALOFT_AGENT_ROLLBACK:
        rollback();
        break;
    case ALOFT_AGENT_REBOOT:
        esp_timer_start_once(G.reboot_timer, REBOOT_DELAY_US);
        break;
    default:
        break;
    }
}

/* Every action the engine has now, in esp-mqtt's task (the handler), under
 * G.lock: this task holds the API lock already, calling in cannot wait. */
static void drain(void)
{
    aloft_agent_action_t act;
    int r;
    while ((r = aloft_agent_poll(&G.agent, &act)) != 0) {
        if (r < 0)
            ESP_LOGE(TAG, "a payload did not fit the agent's buffer");
        else if (is_send(&act))
            send(&act);
        else
            carry_out(&act);
    }
}

/* The same from any other task, called without G.lock: each publish is
 * copied out under it and sent once it is released. */
static void drain_elsewhere(void)
{
    xSemaphoreTake(G.out_lock, portMAX_DELAY);
    for (;;) {
        aloft_agent_action_t act;
        bool out = false;
        xSemaphoreTake(G.lock, portMAX_DELAY);
        int r = aloft_agent_poll(&G.agent, &act);
        if (r < 0) {
            ESP_LOGE(TAG, "a payload did not fit the agent's buffer");
        } else if (r > 0 && is_send(&act)) {
            copy_str(G.out.topic, sizeof G.out.topic, act.topic);
            if (act.payload)
                memcpy(G.out.payload, act.payload, act.len);   /* from G.buf */
            G.out.act = act;
            G.out.act.topic = G.out.topic;
            G.out.act.payload = G.out.payload;
            out = true;
        } else if (r > 0) {
            carry_out(&act);
        }
        xSemaphoreGive(G.lock);
        if (r == 0)
            break;
        if (out)
            send(&G.out.act);
    }
    xSemaphoreGive(G.out_lock);
}

static void on_data(const esp_mqtt_event_t *ev)
{
    if (ev->current_data_offset == 0) {
        G.rx_len = 0;
        G.rx_dropped = (size_t)ev->topic_len >= sizeof G.rx_topic;
        if (!G.rx_dropped) {
            memcpy(G.rx_topic, ev->topic, (size_t)ev->topic_len);
            G.rx_topic[ev->topic_len] = '\0';
        }
    }
    if (G.rx_len + (size_t)ev->data_len > sizeof G.rx)
        G.rx_dropped = true;
    if (!G.rx_dropped && ev->data_len > 0) {   /* an empty message has data NULL */
        memcpy(G.rx + G.rx_len, ev->data, (size_t)ev->data_len);
        G.rx_len += (size_t)ev->data_len;
    }
    if (ev->current_data_offset + ev->data_len < ev->total_data_len)
        return;
    if (G.rx_dropped) {
        ESP_LOGW(TAG, "dropped a message of %d bytes (at most %u)", ev->total_data_len,
                 (unsigned)sizeof G.rx);
        return;
    }
    aloft_agent_message(&G.agent, (uint64_t)(esp_timer_get_time() / 1000), G.rx_topic, G.rx,
                        G.rx_len);
}

static void on_mqtt(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    const esp_mqtt_event_t *ev = data;
    (void)arg;
    (void)base;
    xSemaphoreTake(G.lock, portMAX_DELAY);
    switch ((esp_mqtt_event_id_t)id) {
    case MQTT_EVENT_CONNECTED:
        ESP_LOGI(TAG, "connected to %s as %s", G.cfg.broker_uri, G.cfg.name);
        G.connected = true;
        aloft_agent_connected(&G.agent);
        break;
    case MQTT_EVENT_DISCONNECTED:
        if (G.connected)
            ESP_LOGW(TAG, "lost the broker %s: reconnecting", G.cfg.broker_uri);
        G.connected = false;
        aloft_agent_disconnected(&G.agent);
        break;
    case MQTT_EVENT_ERROR:
        if (ev->error_handle->error_type == MQTT_ERROR_TYPE_CONNECTION_REFUSED)
            ESP_LOGE(TAG, "the broker refused %s (CONNACK %d: %s)", G.cfg.name,
                     (int)ev->error_handle->connect_return_code,
                     ev->error_handle->connect_return_code == MQTT_CONNECTION_REFUSE_NOT_AUTHORIZED
                         ? "not authorised: check the username and password"
                         : "see the broker's log");
        else if (ev->error_handle->error_type == MQTT_ERROR_TYPE_TCP_TRANSPORT)
            ESP_LOGW(TAG, "cannot reach %s (errno %d): retrying", G.cfg.broker_uri,
                     ev->error_handle->esp_transport_sock_errno);
        break;
    case MQTT_EVENT_DATA:
        on_data(ev);
        break;
    default:
        break;
    }
    drain();
    xSemaphoreGive(G.lock);
}

/* aloft_confirm() passed: the running image is VALID now. */
static void on_confirmed(void)
{
    xSemaphoreTake(G.lock, portMAX_DELAY);
    describe();
    aloft_agent_confirmed(&G.agent);
    aloft_agent_device_changed(&G.agent);
    xSemaphoreGive(G.lock);
    drain_elsewhere();
}

int aloft_agent_start(const aloft_agent_esp_config_t *cfg)
{
    static char record[256];
    aloft_agent_esp_config_t def;
    if (G.started)
        return ALOFT_ERR_BUSY;
    if (cfg == NULL) {
        aloft_agent_esp_config_default(&def);
        cfg = &def;
    }
    if (cfg->broker_uri == NULL || cfg->broker_uri[0] == '\0' || cfg->name == NULL)
        return ALOFT_ERR_ARG;
    G.cfg = *cfg;
    int err = esp_device_open(&G.d, NULL, 0);
    if (err)
        return err;
    describe();
    size_t n = load_record(record, sizeof record);
    aloft_agent_config_t acfg = {.name = cfg->name, .prefix = cfg->prefix,
                                 .omg_prefix = cfg->omg_prefix, .buf = G.buf,
                                 .buf_len = sizeof G.buf,
                                 .check_password = cfg->check_password, .ctx = cfg->ctx};
    /* the bootloader's reason is not kept by IDF: a rollback reads as
     * "never confirmed itself" (ALOFT_ERR_UNCONFIRMED) */
    if ((err = aloft_agent_init(&G.agent, &acfg, &G.dev, record, n, NULL)) != 0) {
        ESP_LOGE(TAG, "bad name '%s' or prefix (FLEET.md §1)", cfg->name);
        return err;
    }
    G.lock = xSemaphoreCreateMutexStatic(&G.lock_mem);
    G.out_lock = xSemaphoreCreateMutexStatic(&G.out_lock_mem);
    const esp_timer_create_args_t targs = {.callback = reboot_now, .name = "aloft-reboot"};
    const esp_timer_create_args_t rargs = {.callback = report_progress, .name = "aloft-pull"};
    if (esp_timer_create(&targs, &G.reboot_timer) != ESP_OK ||
        esp_timer_create(&rargs, &G.report_timer) != ESP_OK)
        return ALOFT_ERR_STATE;
    esp_mqtt_client_config_t mc = {0};
    mc.broker.address.uri = cfg->broker_uri;
    mc.broker.verification.certificate = cfg->ca_pem;
    mc.credentials.client_id = cfg->name;
    mc.credentials.username = cfg->username ? cfg->username : cfg->name;
    mc.credentials.authentication.password = cfg->password;
    mc.session.last_will.topic = aloft_agent_will_topic(&G.agent);
    mc.session.last_will.msg = "offline";
    mc.session.last_will.qos = 1;
    mc.session.last_will.retain = 1;
    mc.network.reconnect_timeout_ms = cfg->reconnect_ms;
    /* esp-mqtt's default receive buffer: larger messages come in pieces,
     * put together in G.rx; the largest payload goes out whole */
    mc.buffer.size = 1024;
    mc.buffer.out_size = (int)sizeof G.buf + ALOFT_AGENT_TOPIC_MAX + 8;
    G.client = esp_mqtt_client_init(&mc);
    if (G.client == NULL)
        return ALOFT_ERR_ARG;
    esp_mqtt_client_register_event(G.client, MQTT_EVENT_ANY, on_mqtt, NULL);
    /* before the MQTT task starts: the reports it leads to read it */
    G.started = true;
    aesp_confirm_hook = on_confirmed;
    if (esp_mqtt_client_start(G.client) != ESP_OK) {
        aesp_confirm_hook = NULL;
        G.started = false;
        return ALOFT_ERR_CONNECT;
    }
    return 0;
}

void aloft_agent_pull_report(uint32_t done, uint32_t total)
{
    if (!G.started)
        return;
    xSemaphoreTake(G.lock, portMAX_DELAY);
    aloft_agent_pull_progress(&G.agent, (uint64_t)(esp_timer_get_time() / 1000), done, total);
    xSemaphoreGive(G.lock);
    drain_elsewhere();
}

void aloft_agent_pull_result(const aloft_diag_t *diag)
{
    if (!G.started)
        return;
    xSemaphoreTake(G.lock, portMAX_DELAY);
    aloft_agent_pull_done(&G.agent, diag);
    /* the update slot changed, whatever the outcome (FLEET.md §4) */
    describe();
    aloft_agent_device_changed(&G.agent);
    xSemaphoreGive(G.lock);
    drain_elsewhere();
}

#else
/* ISO C wants a translation unit to declare something. */
typedef int aloft_esp_agent_off;
#endif
