// BasicAloft: ArduinoOTA's BasicOTA example, line for line, with AloftOTA.
// Upload with `aloft upload --auth admin esp32-xxxx.local firmware.bin`,
// the Arduino IDE's network port, PlatformIO (upload_port = the IP) or
// espota.py. The new image is kept once it runs loop() and serves updates
// again (AloftOTA's automatic confirmation); one that crashes before that is
// undone by the bootloader at the next reset.

#include <WiFi.h>
#include <ESPmDNS.h>
#include <NetworkUdp.h>
#include <AloftOTA.h>

const char *ssid = "..........";
const char *password = "..........";

void setup() {
  Serial.begin(115200);
  Serial.println("Booting");
  WiFi.mode(WIFI_STA);
  WiFi.begin(ssid, password);
  while (WiFi.waitForConnectResult() != WL_CONNECTED) {
    Serial.println("Connection Failed! Rebooting...");
    delay(5000);
    ESP.restart();
  }

  // Port defaults to 3232 (espota on UDP, aloft's native protocol on TCP)
  // AloftOTA.setPort(3232);

  // Hostname defaults to esp32-[MAC]
  // AloftOTA.setHostname("myesp32");

  // A password is required (an open device takes firmware from anyone);
  // AloftOTA.setOpen(true) is the explicit way to run without one.
  AloftOTA.setPassword("admin");

  // Instead of setPasswordHash: keep only a verifier of the native password
  // in the firmware, and give espota a password of its own
  // AloftOTA.setNativeVerifier("...");
  // AloftOTA.setEspotaPassword("espota-only");

  AloftOTA
    .onStart([]() {
      String type;
      if (AloftOTA.getCommand() == U_FLASH) {
        type = "sketch";
      } else {  // U_SPIFFS
        type = "filesystem";
      }

      // NOTE: if updating SPIFFS this would be the place to unmount SPIFFS using SPIFFS.end()
      Serial.println("Start updating " + type);
    })
    .onEnd([]() {
      Serial.println("\nEnd");
    })
    .onProgress([](unsigned int progress, unsigned int total) {
      Serial.printf("Progress: %u%%\r", (progress / (total / 100)));
    })
    .onError([](aloft_ota_error_t error, const char *message) {
      Serial.printf("Error[%u]: ", error);
      if (error == ALOFT_OTA_AUTH_ERROR) {
        Serial.println("Auth Failed");
      } else if (error == ALOFT_OTA_BEGIN_ERROR) {
        Serial.println("Begin Failed");
      } else if (error == ALOFT_OTA_CONNECT_ERROR) {
        Serial.println("Connect Failed");
      } else if (error == ALOFT_OTA_RECEIVE_ERROR) {
        Serial.println("Receive Failed");
      } else if (error == ALOFT_OTA_END_ERROR) {
        Serial.println("End Failed");
      }
      Serial.println(message);
    });

  if (!AloftOTA.begin()) {
    Serial.println(AloftOTA.lastErrorMessage());
  }

  Serial.println("Ready");
  Serial.print("IP address: ");
  Serial.println(WiFi.localIP());
}

void loop() {
  AloftOTA.handle();
}
