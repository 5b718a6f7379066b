/*
 * tests/esp/fakes/mqtt_client.c — see include/mqtt_client.h: esp-mqtt over
 * libmosquitto. The client's task is a thread that owns the mosquitto
 * handle; every call on the handle is made under the API lock (a
 * recursive mutex, as esp-mqtt's), which the task also holds while it
 * runs handlers, so a caller that holds a lock of its own while calling in
 * meets the same lock order esp-mqtt imposes on a device.
 */
#include "mqtt_client.h"

#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esp_log.h"

ESP_EVENT_DEFINE_BASE(MQTT_EVENTS);

static const char *TAG = "mqtt_client";

#define HANDLERS 4
#define CONNACK_WAIT_MS 10000

typedef struct out_msg {
    struct out_msg *next;
    char *topic;
    char *data;
    int len, qos, retain;
} out_msg_t;

typedef enum { ST_INIT, ST_CONNECTING, ST_CONNECTED, ST_WAIT_RECONNECT } state_t;

struct esp_mqtt_client {
    char host[128];
    int port;
    bool tls;
    int ca_fd;                    /* the CA, an unlinked temp file: /proc/self/fd/N */
    int keepalive, reconnect_ms, buffer_size;
    bool auto_reconnect;
    struct mosquitto *m;
    pthread_mutex_t api;          /* recursive */
    pthread_t task;
    bool started, run;
    int wake[2];                  /* a byte wakes the task */
    state_t state;
    int64_t tick_ms;              /* when the state's wait began */
    struct {
        esp_mqtt_event_id_t id;
        esp_event_handler_t fn;
        void *arg;
    } handlers[HANDLERS];
    size_t nhandlers;
    out_msg_t *outbox, **outbox_tail;
    esp_mqtt_error_codes_t err;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(esp_mqtt_client_handle_t c)
{
    char b = 1;
    if (write(c->wake[1], &b, 1) < 0 && errno != EAGAIN)
        ESP_LOGE(TAG, "cannot wake the MQTT task: %s", strerror(errno));
}

/* Run the handlers for ev (under the API lock, in the task). */
static void dispatch(esp_mqtt_client_handle_t c, esp_mqtt_event_t *ev)
{
    ev->client = c;
    ev->error_handle = &c->err;
    for (size_t i = 0; i < c->nhandlers; i++)
        if (c->handlers[i].id == MQTT_EVENT_ANY || c->handlers[i].id == ev->event_id)
            c->handlers[i].fn(c->handlers[i].arg, MQTT_EVENTS, ev->event_id, ev);
}

static void dispatch_id(esp_mqtt_client_handle_t c, esp_mqtt_event_id_t id)
{
    esp_mqtt_event_t ev = {.event_id = id};
    dispatch(c, &ev);
}

/* esp_mqtt_abort_connection: close, DISCONNECTED, wait to reconnect. */
static void abort_connection(esp_mqtt_client_handle_t c)
{
    if (c->state == ST_WAIT_RECONNECT || c->state == ST_INIT)
        return;
    mosquitto_disconnect(c->m);
    c->state = ST_WAIT_RECONNECT;
    c->tick_ms = now_ms();
    dispatch_id(c, MQTT_EVENT_DISCONNECTED);
}

static void on_connect(struct mosquitto *m, void *ctx, int rc)
{
    esp_mqtt_client_handle_t c = ctx;
    (void)m;
    if (rc != 0) {
        ESP_LOGE(TAG, "broker refused the connection: %s", mosquitto_connack_string(rc));
        c->err.error_type = MQTT_ERROR_TYPE_CONNECTION_REFUSED;
        c->err.connect_return_code = (esp_mqtt_connect_return_code_t)rc;
        dispatch_id(c, MQTT_EVENT_ERROR);
        abort_connection(c);
        return;
    }
    c->state = ST_CONNECTED;
    esp_mqtt_event_t ev = {.event_id = MQTT_EVENT_CONNECTED};
    dispatch(c, &ev);
}

static void on_disconnect(struct mosquitto *m, void *ctx, int rc)
{
    (void)m;
    (void)rc;
    abort_connection(ctx);
}

static void on_subscribe(struct mosquitto *m, void *ctx, int mid, int n, const int *granted)
{
    esp_mqtt_client_handle_t c = ctx;
    char data[8];
    (void)m;
    c->err.error_type = MQTT_ERROR_TYPE_NONE;
    for (int i = 0; i < n && i < (int)sizeof data; i++) {
        data[i] = (char)granted[i];
        if (granted[i] >= 0x80)
            c->err.error_type = MQTT_ERROR_TYPE_SUBSCRIBE_FAILED;
    }
    esp_mqtt_event_t ev = {.event_id = MQTT_EVENT_SUBSCRIBED, .msg_id = mid, .data = data,
                           .data_len = n < (int)sizeof data ? n : (int)sizeof data};
    ev.total_data_len = ev.data_len;
    dispatch(c, &ev);
}

static void on_publish(struct mosquitto *m, void *ctx, int mid)
{
    esp_mqtt_event_t ev = {.event_id = MQTT_EVENT_PUBLISHED, .msg_id = mid};
    (void)m;
    dispatch(ctx, &ev);
}

static int varint_len(int n)
{
    return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/* deliver_publish: the first piece is what the receive buffer holds after
 * the packet's header and topic, the next ones a buffer each. */
static void on_message(struct mosquitto *m, void *ctx, const struct mosquitto_message *msg)
{
    esp_mqtt_client_handle_t c = ctx;
    (void)m;
    int topic_len = (int)strlen(msg->topic);
    int vh = 2 + topic_len + (msg->qos ? 2 : 0);
    int rem = vh + msg->payloadlen;
    int head = 1 + varint_len(rem) + vh;
    int first = head + msg->payloadlen <= c->buffer_size ? msg->payloadlen : c->buffer_size - head;
    esp_mqtt_event_t ev = {.event_id = MQTT_EVENT_DATA, .msg_id = msg->mid,
                           .total_data_len = msg->payloadlen, .topic = msg->topic,
                           .topic_len = topic_len, .retain = msg->retain, .qos = msg->qos};
    if (first < 0) {
        ESP_LOGE(TAG, "a topic of %d bytes does not fit the %d-byte buffer", topic_len,
                 c->buffer_size);
        return;
    }
    int n = first;
    for (int at = 0;;) {
        ev.data = n ? (char *)msg->payload + at : NULL;
        ev.data_len = n;
        ev.current_data_offset = at;
        dispatch(c, &ev);
        at += n;
        if (at >= msg->payloadlen)
            break;
        ev.topic = NULL;
        ev.topic_len = 0;
        n = msg->payloadlen - at < c->buffer_size ? msg->payloadlen - at : c->buffer_size;
    }
}

static void start_connect(esp_mqtt_client_handle_t c)
{
    dispatch_id(c, MQTT_EVENT_BEFORE_CONNECT);
    int rc = mosquitto_connect(c->m, c->host, c->port, c->keepalive);
    c->tick_ms = now_ms();
    if (rc == MOSQ_ERR_SUCCESS) {
        c->state = ST_CONNECTING;
        return;
    }
    ESP_LOGE(TAG, "cannot connect to %s:%d: %s", c->host, c->port,
             rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    c->err.error_type = MQTT_ERROR_TYPE_TCP_TRANSPORT;
    c->err.esp_transport_sock_errno = rc == MOSQ_ERR_ERRNO ? errno : 0;
    dispatch_id(c, MQTT_EVENT_ERROR);
    c->state = ST_CONNECTING;   /* so that abort_connection reports it */
    abort_connection(c);
}

static void send_outbox(esp_mqtt_client_handle_t c)
{
    while (c->state == ST_CONNECTED && c->outbox) {
        out_msg_t *o = c->outbox;
        if (mosquitto_publish(c->m, NULL, o->topic, o->len, o->data, o->qos, o->retain) !=
            MOSQ_ERR_SUCCESS)
            return;   /* the connection went: sent after the next connect */
        c->outbox = o->next;
        if (c->outbox == NULL)
            c->outbox_tail = &c->outbox;
        free(o->topic);
        free(o->data);
        free(o);
    }
}

/* esp_mqtt_task: handlers and the connection under the API lock, the
 * wait for the socket (or the reconnect timer, or a wake) outside it. */
static void *task(void *arg)
{
    esp_mqtt_client_handle_t c = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = c->wake[0], .events = POLLIN}, {.fd = -1}};
        int timeout = 100;
        pthread_mutex_lock(&c->api);
        if (!c->run) {
            pthread_mutex_unlock(&c->api);
            return NULL;
        }
        int64_t waited = now_ms() - c->tick_ms;
        if (c->state == ST_INIT ||
            (c->state == ST_WAIT_RECONNECT && c->auto_reconnect && waited >= c->reconnect_ms))
            start_connect(c);
        else if (c->state == ST_CONNECTING && waited >= CONNACK_WAIT_MS)
            abort_connection(c);
        if (c->state == ST_CONNECTING || c->state == ST_CONNECTED) {
            int rc = mosquitto_loop(c->m, 0, 1);
            if (rc != MOSQ_ERR_SUCCESS)
                abort_connection(c);
            send_outbox(c);
        }
        if (c->state == ST_CONNECTING || c->state == ST_CONNECTED) {
            p[1].fd = mosquitto_socket(c->m);
            p[1].events = (short)(POLLIN | (mosquitto_want_write(c->m) ? POLLOUT : 0));
        } else if (c->state == ST_WAIT_RECONNECT && c->auto_reconnect) {
            int64_t left = c->reconnect_ms - (now_ms() - c->tick_ms);
            timeout = left < 0 ? 0 : left < 1000 ? (int)left : 1000;
        }
        pthread_mutex_unlock(&c->api);
        if (poll(p, p[1].fd >= 0 ? 2 : 1, timeout) > 0 && (p[0].revents & POLLIN)) {
            char drain[64];
            while (read(c->wake[0], drain, sizeof drain) > 0)
                ;
        }
    }
}

static int parse_uri(esp_mqtt_client_handle_t c, const char *uri)
{
    const char *rest;
    if (strncmp(uri, "mqtt://", 7) == 0) {
        rest = uri + 7;
        c->port = 1883;
    } else if (strncmp(uri, "mqtts://", 8) == 0) {
        rest = uri + 8;
        c->port = 8883;
        c->tls = true;
    } else {
        ESP_LOGE(TAG, "no scheme in '%s' (mqtt:// or mqtts://)", uri);
        return -1;
    }
    size_t n = strcspn(rest, ":/");
    if (n == 0 || n >= sizeof c->host)
        return -1;
    memcpy(c->host, rest, n);
    c->host[n] = '\0';
    if (rest[n] == ':')
        c->port = atoi(rest + n + 1);
    return c->port > 0 && c->port < 65536 ? 0 : -1;
}

/* The CA for libmosquitto, which wants a path: an unlinked temp file. */
static int set_ca(esp_mqtt_client_handle_t c, const char *pem)
{
    char path[64];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/fake-mqtt-ca-XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
    c->ca_fd = mkstemp(path);
    if (c->ca_fd < 0)
        return -1;
    unlink(path);
    size_t len = strlen(pem);
    if (write(c->ca_fd, pem, len) != (ssize_t)len)
        return -1;
    snprintf(path, sizeof path, "/proc/self/fd/%d", c->ca_fd);
    int rc = mosquitto_tls_set(c->m, path, NULL, NULL, NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        ESP_LOGE(TAG, "the broker's CA: %s", mosquitto_strerror(rc));
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

static int configure(esp_mqtt_client_handle_t c, const esp_mqtt_client_config_t *cfg)
{
    if (cfg->broker.address.uri == NULL || parse_uri(c, cfg->broker.address.uri) != 0)
        return -1;
    c->keepalive = cfg->session.keepalive > 0 ? cfg->session.keepalive : 120;
    c->reconnect_ms = cfg->network.reconnect_timeout_ms > 0 ? cfg->network.reconnect_timeout_ms
                                                            : 10000;
    c->auto_reconnect = !cfg->network.disable_auto_reconnect;
    c->buffer_size = cfg->buffer.size > 0 ? cfg->buffer.size : 1024;
    c->m = mosquitto_new(cfg->credentials.client_id, true, c);
    if (c->m == NULL)
        return -1;
    mosquitto_connect_callback_set(c->m, on_connect);
    mosquitto_disconnect_callback_set(c->m, on_disconnect);
    mosquitto_subscribe_callback_set(c->m, on_subscribe);
    mosquitto_publish_callback_set(c->m, on_publish);
    mosquitto_message_callback_set(c->m, on_message);
    if (cfg->credentials.username &&
        mosquitto_username_pw_set(c->m, cfg->credentials.username,
                                  cfg->credentials.authentication.password) != MOSQ_ERR_SUCCESS)
        return -1;
    const char *will = cfg->session.last_will.msg;
    if (cfg->session.last_will.topic) {
        int len = cfg->session.last_will.msg_len > 0 ? cfg->session.last_will.msg_len
                  : will                               ? (int)strlen(will)
                                                       : 0;
        if (mosquitto_will_set(c->m, cfg->session.last_will.topic, len, will,
                               cfg->session.last_will.qos,
                               cfg->session.last_will.retain != 0) != MOSQ_ERR_SUCCESS)
            return -1;
    }
    if (c->tls && cfg->broker.verification.certificate &&
        set_ca(c, cfg->broker.verification.certificate) != 0)
        return -1;
    return 0;
}

esp_mqtt_client_handle_t esp_mqtt_client_init(const esp_mqtt_client_config_t *cfg)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))mosquitto_lib_init);
    esp_mqtt_client_handle_t c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&c->api, &ma);
    pthread_mutexattr_destroy(&ma);
    c->ca_fd = -1;
    c->wake[0] = c->wake[1] = -1;
    c->outbox_tail = &c->outbox;
    if (configure(c, cfg) != 0 || pipe(c->wake) != 0 ||
        fcntl(c->wake[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(c->wake[1], F_SETFL, O_NONBLOCK) != 0) {
        esp_mqtt_client_destroy(c);
        return NULL;
    }
    return c;
}

esp_err_t esp_mqtt_client_start(esp_mqtt_client_handle_t c)
{
    if (c == NULL || c->started)
        return ESP_FAIL;
    c->run = true;
    c->state = ST_INIT;
    if (pthread_create(&c->task, NULL, task, c) != 0)
        return ESP_FAIL;
    c->started = true;
    return ESP_OK;
}

esp_err_t esp_mqtt_client_stop(esp_mqtt_client_handle_t c)
{
    if (c == NULL || !c->started || pthread_equal(pthread_self(), c->task))
        return ESP_FAIL;
    pthread_mutex_lock(&c->api);
    c->run = false;
    bool up = c->state == ST_CONNECTED || c->state == ST_CONNECTING;
    c->state = ST_INIT;   /* no DISCONNECTED event for a stop */
    if (up) {
        mosquitto_disconnect(c->m);
        mosquitto_loop(c->m, 0, 1);
    }
    pthread_mutex_unlock(&c->api);
    wake(c);
    pthread_join(c->task, NULL);
    c->started = false;
    return ESP_OK;
}

esp_err_t esp_mqtt_client_destroy(esp_mqtt_client_handle_t c)
{
    if (c == NULL)
        return ESP_ERR_INVALID_ARG;
    if (c->started)
        esp_mqtt_client_stop(c);
    while (c->outbox) {
        out_msg_t *o = c->outbox;
        c->outbox = o->next;
        free(o->topic);
        free(o->data);
        free(o);
    }
    if (c->m)
        mosquitto_destroy(c->m);
    if (c->ca_fd >= 0)
        close(c->ca_fd);
    for (int i = 0; i < 2; i++)
        if (c->wake[i] >= 0)
            close(c->wake[i]);
    pthread_mutex_destroy(&c->api);
    free(c);
    return ESP_OK;
}

esp_err_t esp_mqtt_client_register_event(esp_mqtt_client_handle_t c, esp_mqtt_event_id_t event,
                                         esp_event_handler_t handler, void *arg)
{
    if (c == NULL)
        return ESP_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->api);
    esp_err_t err = ESP_ERR_NO_MEM;
    if (c->nhandlers < HANDLERS) {
        c->handlers[c->nhandlers].id = event;
        c->handlers[c->nhandlers].fn = handler;
        c->handlers[c->nhandlers].arg = arg;
        c->nhandlers++;
        err = ESP_OK;
    }
    pthread_mutex_unlock(&c->api);
    return err;
}

int esp_mqtt_client_subscribe_single(esp_mqtt_client_handle_t c, const char *topic, int qos)
{
    int mid = -1;
    pthread_mutex_lock(&c->api);
    if (c->state == ST_CONNECTED && mosquitto_subscribe(c->m, &mid, topic, qos) != MOSQ_ERR_SUCCESS)
        mid = -1;
    pthread_mutex_unlock(&c->api);
    wake(c);
    return mid;
}

int esp_mqtt_client_publish(esp_mqtt_client_handle_t c, const char *topic, const char *data,
                            int len, int qos, int retain)
{
    int mid = -1;
    if (len <= 0 && data != NULL)
        len = (int)strlen(data);
    pthread_mutex_lock(&c->api);
    if (c->state == ST_CONNECTED &&
        mosquitto_publish(c->m, &mid, topic, len, data, qos, retain != 0) != MOSQ_ERR_SUCCESS)
        mid = -1;
    pthread_mutex_unlock(&c->api);
    wake(c);
    return mid < 0 ? -1 : qos > 0 ? mid : 0;   /* esp-mqtt: 0 for QoS 0 */
}

int esp_mqtt_client_enqueue(esp_mqtt_client_handle_t c, const char *topic, const char *data,
                            int len, int qos, int retain, bool store)
{
    static int next_id;
    if (len <= 0 && data != NULL)
        len = (int)strlen(data);
    if (qos == 0 && !store)
        return -1;
    out_msg_t *o = calloc(1, sizeof *o);
    if (o == NULL || (o->topic = strdup(topic)) == NULL ||
        (len > 0 && (o->data = malloc((size_t)len)) == NULL)) {
        if (o)
            free(o->topic);
        free(o);
        return -1;
    }
    if (len > 0)
        memcpy(o->data, data, (size_t)len);
    o->len = len;
    o->qos = qos;
    o->retain = retain;
    pthread_mutex_lock(&c->api);
    *c->outbox_tail = o;
    c->outbox_tail = &o->next;
    int id = ++next_id;
    pthread_mutex_unlock(&c->api);
    wake(c);
    return id;
}
