/* tests/arduino/fakes/Wire.h — the I2C bus object, a type only. */
#ifndef FAKE_WIRE_H
#define FAKE_WIRE_H
class TwoWire {};
extern TwoWire Wire;
#endif
