/*
 * tests/arduino/fakes/BLEDevice.h (+ BLEScan.h) — arduino-esp32's BLE scan
 * as the Gateway uses it: a scan is "running" from start() until its
 * duration passes or stop(); both are logged ("ble: scan start/stop").
 */
#ifndef FAKE_BLEDEVICE_H
#define FAKE_BLEDEVICE_H

#include "Arduino.h"

class BLEAdvertisedDevice {};

class BLEAdvertisedDeviceCallbacks {
public:
    virtual ~BLEAdvertisedDeviceCallbacks() {}
    virtual void onResult(BLEAdvertisedDevice device) = 0;
};

class BLEScanResults {};

class BLEScan {
public:
    void setActiveScan(bool) {}
    void setAdvertisedDeviceCallbacks(BLEAdvertisedDeviceCallbacks *cb, bool = false,
                                      bool = true) { cb_ = cb; }
    bool start(uint32_t duration, void (*done)(BLEScanResults), bool is_continue = false);
    bool stop();
    bool isScanning();
    void clearResults() {}
private:
    BLEAdvertisedDeviceCallbacks *cb_ = nullptr;
    void (*done_)(BLEScanResults) = nullptr;
    bool scanning_ = false;
    unsigned long until_ = 0;
};

class BLEDevice {
public:
    static void init(const char *name);
    static BLEScan *getScan();
};

#endif
