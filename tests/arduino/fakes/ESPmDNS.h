/* tests/arduino/fakes/ESPmDNS.h — arduino-esp32's MDNSResponder over the
 * mdns component as the real one is (tests/esp/fakes/mdns.c): begin() is
 * mdns_init and mdns_hostname_set, end() mdns_free. */
#ifndef FAKE_ESPMDNS_H
#define FAKE_ESPMDNS_H

#include "Arduino.h"

class MDNSResponder {
public:
    bool begin(const char *hostname);
    void end();
};
extern MDNSResponder MDNS;

#endif
