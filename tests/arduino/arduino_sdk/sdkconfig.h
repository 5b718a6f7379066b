/*
 * tests/arduino/arduino_sdk/sdkconfig.h — for the zip-layout check only:
 * the lines that matter to aloft of the sdkconfig.h arduino-esp32 3.x
 * builds against (espressif/esp32-arduino-libs, idf-release/v5.1,
 * esp32/qio_qspi/include/sdkconfig.h). Like it, no CONFIG_ALOFT_*: the
 * library's aloft_arduino_config.h has to supply them.
 */
#ifndef ARDUINO_SDKCONFIG_H
#define ARDUINO_SDKCONFIG_H

#define CONFIG_IDF_TARGET "esp32"
#define CONFIG_IDF_TARGET_ESP32 1
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_APP_ROLLBACK_ENABLE CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
#define CONFIG_ESP_TASK_WDT_EN 1
#define CONFIG_ESP_TASK_WDT_INIT 1
#define CONFIG_MDNS_MAX_INTERFACES 3

#endif
