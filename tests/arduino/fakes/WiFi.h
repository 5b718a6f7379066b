/* tests/arduino/fakes/WiFi.h — a station that is always connected, on 127.0.0.1. */
#ifndef FAKE_WIFI_H
#define FAKE_WIFI_H

#include "Arduino.h"

#define WIFI_STA 1
#define WL_CONNECTED 3

class WiFiClass {
public:
    void mode(int);   /* the default event loop, as arduino-esp32's Network.begin() */
    void begin(const char *, const char *) {}
    int waitForConnectResult() { return WL_CONNECTED; }
    IPAddress localIP() { return IPAddress(127, 0, 0, 1); }
    void macAddress(uint8_t mac[6]);
};
extern WiFiClass WiFi;

/* Only a type here: the fake PubSubClient keeps its own socket. */
class WiFiClient {};

#endif
