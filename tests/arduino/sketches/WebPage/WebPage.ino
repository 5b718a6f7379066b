// WebPage: a test sketch (not an example): AloftOTA with its web page on
// port 80 (the test's board maps it to a free port) beside the uploads of
// the Arduino IDE and `aloft upload`, in loop mode; the callbacks print
// what the sketch sees of an update made from the page.

#include <WiFi.h>
#include <AloftOTA.h>

void setup() {
  Serial.begin(115200);
  WiFi.mode(WIFI_STA);
  WiFi.begin("ssid", "pass");
  AloftOTA.setHostname("webpage");
  AloftOTA.setPassword("admin");
  AloftOTA.setWebPort(80);
  AloftOTA
    .onStart([]() { Serial.println("onStart"); })
    .onEnd([]() { Serial.println("onEnd"); })
    .onError([](aloft_ota_error_t error, const char *message) {
      Serial.printf("onError %u: %s\n", error, message);
    });
  if (!AloftOTA.begin()) {
    Serial.println(AloftOTA.lastErrorMessage());
  }
  Serial.println("Ready");
}

void loop() {
  AloftOTA.handle();
  delay(5);
}
