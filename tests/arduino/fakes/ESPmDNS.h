/* tests/arduino/fakes/ESPmDNS.h — logs what would be advertised. */
#ifndef FAKE_ESPMDNS_H
#define FAKE_ESPMDNS_H

#include "Arduino.h"

class MDNSResponder {
public:
    bool begin(const char *hostname);
    void enableArduino(uint16_t port, bool auth);
    void end();
};
extern MDNSResponder MDNS;

#endif
