/*
 * tests/arduino/fakes/Adafruit_SSD1306.h — the screen: display() logs the
 * text drawn since clearDisplay() as "display: TEXT".
 */
#ifndef FAKE_ADAFRUIT_SSD1306_H
#define FAKE_ADAFRUIT_SSD1306_H

#include "Arduino.h"
#include "Wire.h"

#define SSD1306_SWITCHCAPVCC 2
#define SSD1306_WHITE 1

class Adafruit_SSD1306 : public Print {
public:
    Adafruit_SSD1306(int, int, TwoWire *, int) {}
    bool begin(int, int) { return true; }
    void clearDisplay() { text_.clear(); }
    void setTextSize(int) {}
    void setTextColor(int) {}
    void setCursor(int, int) {}
    void display();
    size_t write(const char *s, size_t n) override { text_.append(s, n); return n; }
private:
    std::string text_;
};

#endif
