/*
 * host/fleet/fleet_mqtt.c — the broker connection over libmosquitto; see
 * fleet_mqtt.h.
 */
#include "fleet_mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

#define MAX_SUBS 8

struct fleet_mqtt {
    struct mosquitto *mosq;
    fleet_broker_t b;
    fleet_msg_fn fn;
    void *ctx;
    char *subs[MAX_SUBS];
    int nsubs;
    int connack;          /* -1 waiting, else the CONNACK code */
    bool connected;
    unsigned unacked;     /* QoS 1 publishes not yet acknowledged */
    char sync_topic[160];
    unsigned sync_sent, sync_seen;
    long long retry_at_ms;
};

static long long mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    fleet_mqtt_t *m = obj;
    m->connack = rc;
    m->connected = rc == 0;
    for (int i = 0; rc == 0 && i < m->nsubs; i++)
        mosquitto_subscribe(mosq, NULL, m->subs[i], 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    fleet_mqtt_t *m = obj;
    (void)mosq;
    (void)rc;
    m->connected = false;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    fleet_mqtt_t *m = obj;
    (void)mosq;
    (void)mid;
    if (m->unacked > 0)
        m->unacked--;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    fleet_mqtt_t *m = obj;
    (void)mosq;
    if (strcmp(msg->topic, m->sync_topic) == 0) {
        m->sync_seen = (unsigned)strtoul(msg->payload ? (const char *)msg->payload : "0", NULL, 10);
        return;
    }
    m->fn(m->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static int mq_fail(const fleet_mqtt_t *m, host_error_t *e, int rc)
{
    if (rc == MOSQ_ERR_ERRNO)
        return host_error_set(e, ALOFT_ERR_IO, "cannot reach the MQTT broker",
                              "%s:%d: %s; check --broker HOST:PORT and that mosquitto runs",
                              m->b.host, m->b.port, strerror(errno));
    if (rc == MOSQ_ERR_TLS)
        return host_error_set(e, ALOFT_ERR_IO, "TLS with the MQTT broker failed",
                              "%s:%d: the broker's certificate does not check against --cafile "
                              "%s (or the broker does not speak TLS on this port)",
                              m->b.host, m->b.port, m->b.cafile ? m->b.cafile : "");
    return host_error_set(e, ALOFT_ERR_IO, "MQTT error", "%s:%d: %s", m->b.host, m->b.port,
                          mosquitto_strerror(rc));
}

static int connack_fail(const fleet_mqtt_t *m, host_error_t *e)
{
    if (m->connack == 4 || m->connack == 5)
        return host_error_set(e, ALOFT_ERR_AUTH, "the MQTT broker refused the login",
                              "%s:%d: %s; check --user and the password (--password, "
                              "--password-file or ALOFT_MQTT_PASSWORD) against the broker's "
                              "password file", m->b.host, m->b.port,
                              mosquitto_connack_string(m->connack));
    return host_error_set(e, ALOFT_ERR_IO, "the MQTT broker refused the connection", "%s:%d: %s",
                          m->b.host, m->b.port, mosquitto_connack_string(m->connack));
}

/* Run the network until done(m) or timeout; returns 0, or an error. */
static int pump(fleet_mqtt_t *m, int timeout_ms, bool (*done)(const fleet_mqtt_t *),
                host_error_t *e)
{
    long long end = mono_ms() + timeout_ms;
    while (!done(m)) {
        if (m->connack > 0)
            return connack_fail(m, e);
        long long left = end - mono_ms();
        if (left <= 0)
            return host_error_set(e, ALOFT_ERR_TIMEOUT, "the MQTT broker did not answer",
                                  "%s:%d: no answer within %d ms; is it overloaded, or is the "
                                  "port a TLS one (give --cafile)?", m->b.host, m->b.port,
                                  timeout_ms);
        int rc = mosquitto_loop(m->mosq, left < 100 ? (int)left : 100, 1);
        if (rc != MOSQ_ERR_SUCCESS)
            return m->connack > 0 ? connack_fail(m, e) : mq_fail(m, e, rc);
    }
    return 0;
}

static bool got_connack(const fleet_mqtt_t *m) { return m->connack == 0; }
static bool synced(const fleet_mqtt_t *m) { return m->sync_seen == m->sync_sent; }
static bool flushed(const fleet_mqtt_t *m) { return m->unacked == 0; }

int fleet_mqtt_connect(const fleet_broker_t *b, fleet_msg_fn fn, void *ctx, int timeout_ms,
                       fleet_mqtt_t **out, host_error_t *e)
{
    char id[64];
    mosquitto_lib_init();
    fleet_mqtt_t *m = xmalloc(sizeof *m);
    memset(m, 0, sizeof *m);
    m->b = *b;
    m->fn = fn;
    m->ctx = ctx;
    m->connack = -1;
    snprintf(id, sizeof id, "aloft-fleet-%ld", (long)getpid());
    snprintf(m->sync_topic, sizeof m->sync_topic, "%s/.ctl/sync/%s", b->prefix, id);
    m->mosq = mosquitto_new(id, true, m);
    if (m->mosq == NULL) {
        free(m);
        return host_error_set(e, ALOFT_ERR_IO, "cannot start the MQTT client", "out of memory");
    }
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_message_callback_set(m->mosq, on_message);
    if (b->user)
        mosquitto_username_pw_set(m->mosq, b->user, b->password);
    int rc = MOSQ_ERR_SUCCESS;
    if (b->cafile && (rc = mosquitto_tls_set(m->mosq, b->cafile, NULL, NULL, NULL, NULL)) != 0) {
        host_error_set(e, ALOFT_ERR_ARG, "cannot use the CA file",
                       "%s: %s; give --cafile the PEM file of the CA that signed the broker's "
                       "certificate", b->cafile, mosquitto_strerror(rc));
        fleet_mqtt_close(m);
        return ALOFT_ERR_ARG;
    }
    rc = mosquitto_connect(m->mosq, b->host, b->port, 30);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = pump(m, timeout_ms, got_connack, e);
    else
        rc = mq_fail(m, e, rc);
    if (rc != 0) {
        fleet_mqtt_close(m);
        return rc;
    }
    if ((rc = fleet_mqtt_subscribe(m, m->sync_topic, e)) != 0) {
        fleet_mqtt_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

void fleet_mqtt_close(fleet_mqtt_t *m)
{
    if (m == NULL)
        return;
    if (m->connected)
        mosquitto_disconnect(m->mosq);
    mosquitto_destroy(m->mosq);
    for (int i = 0; i < m->nsubs; i++)
        free(m->subs[i]);
    free(m);
    mosquitto_lib_cleanup();
}

int fleet_mqtt_subscribe(fleet_mqtt_t *m, const char *filter, host_error_t *e)
{
    if (m->nsubs == MAX_SUBS)
        return host_error_set(e, ALOFT_ERR_ARG, "too many subscriptions", "at most %d", MAX_SUBS);
    m->subs[m->nsubs] = xmalloc(strlen(filter) + 1);
    strcpy(m->subs[m->nsubs++], filter);
    int rc = mosquitto_subscribe(m->mosq, NULL, filter, 1);
    return rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN ? 0 : mq_fail(m, e, rc);
}

int fleet_mqtt_publish(fleet_mqtt_t *m, const char *topic, const void *payload, size_t len,
                       bool retain, host_error_t *e)
{
    int rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, 1, retain);
    if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN) {
        m->unacked++;   /* queued: sent once (re)connected */
        return 0;
    }
    return mq_fail(m, e, rc);
}

int fleet_mqtt_sync(fleet_mqtt_t *m, int timeout_ms, host_error_t *e)
{
    char n[16];
    int len = snprintf(n, sizeof n, "%u", ++m->sync_sent);
    int rc = mosquitto_publish(m->mosq, NULL, m->sync_topic, len, n, 1, false);
    if (rc != MOSQ_ERR_SUCCESS)
        return mq_fail(m, e, rc);
    m->unacked++;
    return pump(m, timeout_ms, synced, e);
}

int fleet_mqtt_flush(fleet_mqtt_t *m, int timeout_ms, host_error_t *e)
{
    return pump(m, timeout_ms, flushed, e);
}

int fleet_mqtt_loop(fleet_mqtt_t *m, int timeout_ms, host_error_t *e)
{
    if (m->connack > 0)
        return connack_fail(m, e);
    int rc = mosquitto_loop(m->mosq, timeout_ms, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        return 0;
    /* Lost: retry once a second, and wait meanwhile as the caller asked. */
    if (mono_ms() >= m->retry_at_ms) {
        m->retry_at_ms = mono_ms() + 1000;
        m->connack = -1;
        if (mosquitto_reconnect(m->mosq) == MOSQ_ERR_SUCCESS)
            return 0;
    }
    struct timespec nap = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
    nanosleep(&nap, NULL);
    return 0;
}
