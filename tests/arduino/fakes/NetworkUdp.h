/* tests/arduino/fakes/NetworkUdp.h — BasicOTA includes it; AloftOTA needs nothing from it. */
