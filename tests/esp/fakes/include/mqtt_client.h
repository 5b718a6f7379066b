/*
 * tests/esp/fakes/include/mqtt_client.h — esp-mqtt's client API
 * (espressif/esp-mqtt include/mqtt_client.h: the same names, types and
 * field names, a subset of the fields) over libmosquitto (mqtt_client.c),
 * so port/esp-idf/src/esp_agent.c runs on Linux against a real broker.
 *
 * As esp-mqtt does: a task of the client's connects, reconnects after
 * network.reconnect_timeout_ms (default 10 s) and runs the registered
 * handlers, holding the client's API lock (which every call here takes
 * too) while it does; a message larger than buffer.size arrives as several
 * MQTT_EVENT_DATA pieces (total_data_len, current_data_offset; only the
 * first has the topic); mqtts:// verifies the broker with
 * broker.verification.certificate (PEM). esp_mqtt_client_enqueue's outbox
 * is sent by the task once connected. MQTT 3.1.1 only; no user events.
 */
#ifndef FAKE_MQTT_CLIENT_H
#define FAKE_MQTT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_event.h"

ESP_EVENT_DECLARE_BASE(MQTT_EVENTS);

typedef struct esp_mqtt_client *esp_mqtt_client_handle_t;

typedef enum esp_mqtt_event_id_t {
    MQTT_EVENT_ANY = -1,
    MQTT_EVENT_ERROR = 0,
    MQTT_EVENT_CONNECTED,
    MQTT_EVENT_DISCONNECTED,
    MQTT_EVENT_SUBSCRIBED,
    MQTT_EVENT_UNSUBSCRIBED,
    MQTT_EVENT_PUBLISHED,
    MQTT_EVENT_DATA,
    MQTT_EVENT_BEFORE_CONNECT,
    MQTT_EVENT_DELETED,
    MQTT_USER_EVENT,
} esp_mqtt_event_id_t;

typedef enum esp_mqtt_connect_return_code_t {
    MQTT_CONNECTION_ACCEPTED = 0,
    MQTT_CONNECTION_REFUSE_PROTOCOL,
    MQTT_CONNECTION_REFUSE_ID_REJECTED,
    MQTT_CONNECTION_REFUSE_SERVER_UNAVAILABLE,
    MQTT_CONNECTION_REFUSE_BAD_USERNAME,
    MQTT_CONNECTION_REFUSE_NOT_AUTHORIZED
} esp_mqtt_connect_return_code_t;

typedef enum esp_mqtt_error_type_t {
    MQTT_ERROR_TYPE_NONE = 0,
    MQTT_ERROR_TYPE_TCP_TRANSPORT,
    MQTT_ERROR_TYPE_CONNECTION_REFUSED,
    MQTT_ERROR_TYPE_SUBSCRIBE_FAILED
} esp_mqtt_error_type_t;

typedef struct esp_mqtt_error_codes {
    esp_err_t esp_tls_last_esp_err;
    int esp_tls_stack_err;
    int esp_tls_cert_verify_flags;
    esp_mqtt_error_type_t error_type;
    esp_mqtt_connect_return_code_t connect_return_code;
    int esp_transport_sock_errno;
} esp_mqtt_error_codes_t;

typedef struct esp_mqtt_event_t {
    esp_mqtt_event_id_t event_id;
    esp_mqtt_client_handle_t client;
    char *data;
    int data_len;
    int total_data_len;
    int current_data_offset;
    char *topic;
    int topic_len;
    int msg_id;
    int session_present;
    esp_mqtt_error_codes_t *error_handle;
    bool retain;
    int qos;
    bool dup;
} esp_mqtt_event_t;

typedef esp_mqtt_event_t *esp_mqtt_event_handle_t;

typedef struct esp_mqtt_client_config_t {
    struct {
        struct {
            const char *uri;          /* mqtt://HOST:PORT or mqtts://HOST:PORT */
        } address;
        struct {
            const char *certificate;  /* PEM, NUL-terminated */
            size_t certificate_len;
        } verification;
    } broker;
    struct {
        const char *username;
        const char *client_id;
        struct {
            const char *password;
        } authentication;
    } credentials;
    struct {
        struct {
            const char *topic;
            const char *msg;
            int msg_len;              /* 0: strlen(msg) */
            int qos;
            int retain;
        } last_will;
        int keepalive;                /* seconds, 0: 120 */
    } session;
    struct {
        int reconnect_timeout_ms;     /* 0: 10000 */
        bool disable_auto_reconnect;
    } network;
    struct {
        int size;                     /* the receive buffer, 0: 1024 */
        int out_size;
    } buffer;
} esp_mqtt_client_config_t;

esp_mqtt_client_handle_t esp_mqtt_client_init(const esp_mqtt_client_config_t *config);
esp_err_t esp_mqtt_client_start(esp_mqtt_client_handle_t client);
/* Ends the task (not from a handler: ESP_FAIL, as esp-mqtt). */
esp_err_t esp_mqtt_client_stop(esp_mqtt_client_handle_t client);
esp_err_t esp_mqtt_client_destroy(esp_mqtt_client_handle_t client);
esp_err_t esp_mqtt_client_register_event(esp_mqtt_client_handle_t client,
                                         esp_mqtt_event_id_t event, esp_event_handler_t handler,
                                         void *arg);
/* Message id, or -1 when not connected. */
int esp_mqtt_client_subscribe_single(esp_mqtt_client_handle_t client, const char *topic, int qos);
/* Sends now; message id, or -1 when not connected. len 0: strlen(data). */
int esp_mqtt_client_publish(esp_mqtt_client_handle_t client, const char *topic, const char *data,
                            int len, int qos, int retain);
/* Queues for the task (the outbox): message id; sent once connected. */
int esp_mqtt_client_enqueue(esp_mqtt_client_handle_t client, const char *topic, const char *data,
                            int len, int qos, int retain, bool store);

#endif
