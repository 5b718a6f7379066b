// TaskMode: a test sketch (not an example): AloftOTA in task mode. The
// callbacks say which task runs them, and onEnd waits (up to 10 s) for
// loop() to turn once more: it can, since in task mode nothing in loop()
// serves the update. The logins: a native verifier (from the test, in
// $TEST_VERIFIER) instead of a password, and espota's own password; the
// hostname from $TEST_HOSTNAME if set.

#include <WiFi.h>
#include <AloftOTA.h>
#include <atomic>

TaskHandle_t loopTask;
std::atomic<unsigned> turns{0}, turnsAtStart{0};

const char *who() {
  return xTaskGetCurrentTaskHandle() == loopTask ? "loop task" : "aloft's task";
}

void setup() {
  Serial.begin(115200);
  loopTask = xTaskGetCurrentTaskHandle();
  WiFi.mode(WIFI_STA);
  WiFi.begin("ssid", "pass");
  AloftOTA.setNativeVerifier(getenv("TEST_VERIFIER"));
  AloftOTA.setEspotaPassword("espota-only");
  if (getenv("TEST_HOSTNAME") != nullptr) {
    AloftOTA.setHostname(getenv("TEST_HOSTNAME"));
  }
  AloftOTA.setTaskMode(true);
  AloftOTA
    .onStart([]() {
      turnsAtStart = turns.load();
      Serial.printf("onStart in %s\n", who());
    })
    .onProgress([](unsigned int done, unsigned int total) {
      if (done == total) {
        Serial.printf("onProgress %u/%u in %s\n", done, total, who());
      }
    })
    .onEnd([]() {
      unsigned long t0 = millis();
      while (turns == turnsAtStart && millis() - t0 < 10000) {
        delay(1);
      }
      Serial.printf("onEnd in %s; loop() ran during the update: %s\n", who(),
                    turns != turnsAtStart ? "yes" : "no");
    })
    .onError([](aloft_ota_error_t error, const char *message) {
      Serial.printf("onError %u in %s: %s\n", error, who(), message);
    });
  if (!AloftOTA.begin()) {
    Serial.println(AloftOTA.lastErrorMessage());
  }
  Serial.printf("Ready, %s\n", AloftOTA.isPendingVerify() ? "on probation" : "confirmed");
}

void loop() {
  turns++;
  delay(1);
}
