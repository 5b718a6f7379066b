/*
 * tests/arduino/fakes/Arduino.h — the few pieces of arduino-esp32's core
 * that AloftOTA and its examples use, on Linux: String, Print/Serial
 * (stdout), millis/delay, ESP.restart, and FreeRTOS's task calls (the IDF
 * fakes'). Just enough; not a port of the core.
 */
#ifndef FAKE_ARDUINO_H
#define FAKE_ARDUINO_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <functional>
#include <string>

/* as arduino-esp32's Arduino.h, which includes FreeRTOS (the fakes lack C++ guards) */
extern "C" {
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
}


class String {
public:
    String() {}
    String(const char *s) : s_(s ? s : "") {}
    String(const std::string &s) : s_(s) {}
    const char *c_str() const { return s_.c_str(); }
    unsigned length() const { return (unsigned)s_.size(); }
    bool operator==(const char *o) const { return s_ == o; }
    String &operator+=(const String &o) { s_ += o.s_; return *this; }
    friend String operator+(const String &a, const String &b) { return String(a.s_ + b.s_); }
    friend String operator+(const char *a, const String &b) { return String(a) + b; }
private:
    std::string s_;
};

class IPAddress {
public:
    IPAddress(uint8_t a = 0, uint8_t b = 0, uint8_t c = 0, uint8_t d = 0) : b_{a, b, c, d} {}
    String toString() const;
private:
    uint8_t b_[4];
};

class Print {
public:
    virtual ~Print() {}
    virtual size_t write(const char *s, size_t n) = 0;
    size_t print(const char *s) { return write(s, strlen(s)); }
    size_t print(const String &s) { return print(s.c_str()); }
    size_t print(const IPAddress &ip) { return print(ip.toString()); }
    size_t println(const char *s = "") { return print(s) + print("\n"); }
    size_t println(const String &s) { return println(s.c_str()); }
    size_t println(const IPAddress &ip) { return println(ip.toString()); }
    size_t printf(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

/* Serial: the sketch's output on stdout, unbuffered, so a test reads it as
 * it happens. */
class HardwareSerial : public Print {
public:
    void begin(unsigned long baud);
    size_t write(const char *s, size_t n) override;
};
extern HardwareSerial Serial;

class EspClass {
public:
    void restart();
};
extern EspClass ESP;

unsigned long millis(void);
void delay(uint32_t ms);
void yield(void);

#endif
