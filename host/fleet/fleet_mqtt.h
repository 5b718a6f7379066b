/*
 * host/fleet/fleet_mqtt.h — the controller's one broker connection
 * (libmosquitto, MQTT 3.1.1, QoS 1), run from the caller's loop: connect
 * with a user and password and TLS with the user's CA, subscribe,
 * publish, and a sync that returns once every retained message of the
 * subscriptions so far has been delivered. A lost connection is
 * reconnected (and resubscribed) from fleet_mqtt_loop.
 */
#ifndef ALOFT_FLEET_MQTT_H
#define ALOFT_FLEET_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "host_error.h"

typedef struct fleet_broker {
    const char *host;
    int port;
    const char *user, *password;   /* NULL: anonymous */
    const char *cafile;            /* non-NULL: TLS, the broker's certificate checked */
    const char *prefix;            /* topic prefix, "aloft" */
} fleet_broker_t;

/* Called for every message, from inside fleet_mqtt_loop / sync. */
typedef void (*fleet_msg_fn)(void *ctx, const char *topic, const void *payload, size_t len);

typedef struct fleet_mqtt fleet_mqtt_t;

/* Connect and wait (at most timeout_ms) for the broker's CONNACK. */
int fleet_mqtt_connect(const fleet_broker_t *b, fleet_msg_fn fn, void *ctx, int timeout_ms,
                       fleet_mqtt_t **out, host_error_t *e);
void fleet_mqtt_close(fleet_mqtt_t *m);

/* Subscribe to a topic filter (kept for reconnects). */
int fleet_mqtt_subscribe(fleet_mqtt_t *m, const char *filter, host_error_t *e);

/* Publish at QoS 1. */
int fleet_mqtt_publish(fleet_mqtt_t *m, const char *topic, const void *payload, size_t len,
                       bool retain, host_error_t *e);

/* Wait until a message this connection sends itself after its
 * subscriptions comes back: the retained messages come before it. */
int fleet_mqtt_sync(fleet_mqtt_t *m, int timeout_ms, host_error_t *e);

/* Wait until every publish so far is acknowledged (before exiting). */
int fleet_mqtt_flush(fleet_mqtt_t *m, int timeout_ms, host_error_t *e);

/* Run the network for up to timeout_ms; reconnects a lost connection.
 * Returns 0 (connected or retrying), or an error that retrying cannot fix
 * (a refused login). */
int fleet_mqtt_loop(fleet_mqtt_t *m, int timeout_ms, host_error_t *e);

#endif /* ALOFT_FLEET_MQTT_H */
