/* Fake sdkconfig.h: an ESP32 configured as arduino-esp32 3.x ships it
 * (rollback on), plus the defaults of aloft's Kconfig. */
#ifndef FAKE_SDKCONFIG_H
#define FAKE_SDKCONFIG_H

#define CONFIG_IDF_TARGET "esp32"
#define CONFIG_IDF_TARGET_ESP32 1
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_APP_ROLLBACK_ENABLE 1

/* aloft (port/esp-idf/Kconfig) */
#ifndef CONFIG_ALOFT_INFLATE_WINDOW_BITS
#define CONFIG_ALOFT_INFLATE_WINDOW_BITS 12
#endif

#endif
