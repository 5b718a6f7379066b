/*
 * tests/arduino/fakes/PubSubClient.h — the MQTT client as the Gateway uses
 * it, over a real TCP connection: connect() reaches the broker at
 * $ALOFT_TEST_MQTT (HOST:PORT, in place of the sketch's address), publish()
 * sends "TOPIC PAYLOAD\n", connected() notices the broker closing.
 * Logged: "mqtt: connected", "mqtt: disconnect".
 */
#ifndef FAKE_PUBSUBCLIENT_H
#define FAKE_PUBSUBCLIENT_H

#include "WiFi.h"

class PubSubClient {
public:
    explicit PubSubClient(WiFiClient &) {}
    PubSubClient &setServer(const char *host, uint16_t port);
    bool connect(const char *id);
    void disconnect();
    bool connected();
    bool loop() { return connected(); }
    bool publish(const char *topic, const char *payload);
private:
    int fd_ = -1;
};

#endif
