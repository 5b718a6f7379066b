// Gateway: a BLE-to-MQTT gateway that takes updates with AloftOTA.
//
// - A BLE scan (arduino-esp32's BLEDevice/BLEScan) counts advertisers and
//   an MQTT client (PubSubClient) publishes the count. Both are paused while
//   an update runs (the radio and the CPU go to the update) and resumed
//   after it, whether it succeeded or failed.
// - A progress line on an SSD1306 (Adafruit_SSD1306), through StatusLine.
// - The health check: a new image is kept (confirm()) only once it has
//   reached the MQTT broker, the channel the next update is announced on.
//   If it cannot within HEALTH_DEADLINE_MS it goes back to the previous
//   image (reject()); if it crashes before, the bootloader does.

#include <WiFi.h>
#include <AloftOTA.h>
#include <BLEDevice.h>
#include <BLEScan.h>
#include <PubSubClient.h>
#include <Adafruit_SSD1306.h>
#include <atomic>

const char *ssid = "..........";
const char *password = "..........";
const char *otaPassword = "gateway-ota";
const char *mqttHost = "192.168.1.10";
const uint16_t mqttPort = 1883;
#ifndef HEALTH_DEADLINE_MS
#define HEALTH_DEADLINE_MS (5 * 60 * 1000UL)
#endif

// The one line of status the gateway shows; any display with a text call fits.
class StatusLine {
public:
  bool begin() {
    return oled.begin(SSD1306_SWITCHCAPVCC, 0x3C);
  }
  void show(const char *text) {
    if (strncmp(text, last, sizeof last) == 0) {
      return;   // unchanged: spare the I2C bus
    }
    snprintf(last, sizeof last, "%s", text);
    oled.clearDisplay();
    oled.setTextSize(1);
    oled.setTextColor(SSD1306_WHITE);
    oled.setCursor(0, 0);
    oled.print(text);
    oled.display();
  }
private:
  Adafruit_SSD1306 oled{128, 32, &Wire, -1};
  char last[64] = "";
};

StatusLine screen;
WiFiClient net;
PubSubClient mqtt(net);
BLEScan *scan;
volatile bool paused = false;   // set and cleared by AloftOTA's pause hooks
std::atomic<unsigned> seen{0};   // counted in the BLE task
unsigned long lastConnectTry = 0, lastPublish = 0, bootMs;
bool healthChecked = false;

class Seen : public BLEAdvertisedDeviceCallbacks {
  void onResult(BLEAdvertisedDevice) {
    seen++;
  }
};
Seen seenCallback;

void scanDone(BLEScanResults) {
  scan->clearResults();
}

void showf(const char *fmt, unsigned a) {
  char line[64];
  snprintf(line, sizeof line, fmt, a);
  screen.show(line);
}

void setup() {
  bootMs = millis();
  Serial.begin(115200);
  screen.begin();
  screen.show("connecting");
  WiFi.mode(WIFI_STA);
  WiFi.begin(ssid, password);
  while (WiFi.waitForConnectResult() != WL_CONNECTED) {
    Serial.println("Connection Failed! Rebooting...");
    delay(5000);
    ESP.restart();
  }

  BLEDevice::init("gateway");
  scan = BLEDevice::getScan();
  scan->setActiveScan(true);
  scan->setAdvertisedDeviceCallbacks(&seenCallback);
  mqtt.setServer(mqttHost, mqttPort);

  AloftOTA.setPassword(otaPassword);
  AloftOTA.setAutoConfirm(false);   // confirm() below, once MQTT works
  AloftOTA
    .onPause([]() {
      paused = true;
      scan->stop();
      mqtt.disconnect();
      Serial.println("paused BLE scan and MQTT");
    })
    .onResume([]() {
      paused = false;   // loop() restarts the scan and reconnects
      Serial.println("resuming BLE scan and MQTT");
    })
    .onStart([]() {
      screen.show("update: starting");
    })
    .onProgress([](unsigned int done, unsigned int total) {
      showf("update: %u%%", total ? (unsigned)((uint64_t)done * 100 / total) : 0);
    })
    .onEnd([]() {
      screen.show("update: done, restarting");
    })
    .onError([](aloft_ota_error_t error, const char *message) {
      screen.show("update failed");
      Serial.printf("update failed (%u): %s\n", error, message);
    });
  if (!AloftOTA.begin()) {
    Serial.printf("aloft: %s\n", AloftOTA.lastErrorMessage().c_str());
  }
  Serial.printf("gateway %s ready\n", AloftOTA.runningVersion().c_str());
}

// Keep the image once it reaches the broker; give it up after the deadline.
void healthCheck() {
  if (healthChecked || !AloftOTA.isPendingVerify()) {
    healthChecked = true;
    return;
  }
  if (mqtt.connected()) {
    healthChecked = AloftOTA.confirm();
    Serial.println(healthChecked ? "health check passed: image confirmed"
                                 : AloftOTA.lastErrorMessage().c_str());
  } else if (millis() - bootMs > HEALTH_DEADLINE_MS) {
    Serial.println("health check failed: no MQTT broker; rolling back");
    AloftOTA.reject();
  }
}

void loop() {
  AloftOTA.handle();
  if (paused) {
    return;
  }
  if (!mqtt.connected() && millis() - lastConnectTry > 1000) {
    lastConnectTry = millis();
    if (mqtt.connect("gateway")) {
      Serial.println("mqtt connected");
    }
  }
  mqtt.loop();
  if (!scan->isScanning()) {
    scan->start(5, scanDone, false);
  }
  if (mqtt.connected() && millis() - lastPublish > 10000) {
    lastPublish = millis();
    char count[12];
    snprintf(count, sizeof count, "%u", seen.load());
    mqtt.publish("gateway/ble/seen", count);
  }
  healthCheck();
  showf("BLE seen: %u", seen.load());
  delay(10);
}
