/* Fake sdkconfig.h: an ESP32 configured as arduino-esp32 3.x ships it
 * (rollback on), plus the defaults of aloft's Kconfig. */
#ifndef FAKE_SDKCONFIG_H
#define FAKE_SDKCONFIG_H

/* FAKE_IDF_TARGET_LINUX: the port as IDF's Linux target builds it (no
 * app_update, no ROM; tests/esp/device/linux_target.c). */
#ifdef FAKE_IDF_TARGET_LINUX
#define CONFIG_IDF_TARGET "linux"
#define CONFIG_IDF_TARGET_LINUX 1
#else
#define CONFIG_IDF_TARGET "esp32"
#define CONFIG_IDF_TARGET_ESP32 1
#endif
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_APP_ROLLBACK_ENABLE 1

#define CONFIG_ESP_TASK_WDT_EN 1

/* aloft (port/esp-idf/Kconfig), its defaults */
#ifndef CONFIG_ALOFT_INFLATE_WINDOW_BITS
#define CONFIG_ALOFT_INFLATE_WINDOW_BITS 12
#endif
#define CONFIG_ALOFT_PORT 3232
#define CONFIG_ALOFT_HOSTNAME ""
#define CONFIG_ALOFT_PASSWORD ""
#define CONFIG_ALOFT_NATIVE_VERIFIER ""
#define CONFIG_ALOFT_ESPOTA_PASSWORD ""
#define CONFIG_ALOFT_ESPOTA_AUTH_MD5 1
#define CONFIG_ALOFT_NATIVE 1
#define CONFIG_ALOFT_ESPOTA 1
#define CONFIG_ALOFT_WINDOW 32768
#define CONFIG_ALOFT_IDLE_TIMEOUT_MS 10000
#define CONFIG_ALOFT_SIGNING_KEYS ""
/* the MQTT agent (esp_agent.c), compiled against the esp-mqtt and NVS fakes */
#define CONFIG_ALOFT_MQTT_AGENT 1
#define CONFIG_ALOFT_MQTT_BROKER_URI "mqtt://broker.lan:1883"
#define CONFIG_ALOFT_MQTT_NAME "esp32"
#define CONFIG_ALOFT_MQTT_PREFIX "aloft"
#define CONFIG_ALOFT_MQTT_OMG_PREFIX ""
#define CONFIG_ALOFT_MQTT_USERNAME ""
#define CONFIG_ALOFT_MQTT_PASSWORD ""
#define CONFIG_ALOFT_TASK_STACK 8192
#define CONFIG_ALOFT_TASK_PRIORITY 5
#define CONFIG_ALOFT_TASK_CORE -1
#define CONFIG_ALOFT_DELTA 1
#ifndef FAKE_IDF_TARGET_LINUX
#define CONFIG_ALOFT_MDNS 1
#endif

#endif
