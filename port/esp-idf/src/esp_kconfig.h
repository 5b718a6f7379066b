/*
 * port/esp-idf/src/esp_kconfig.h — the configuration the component reads:
 * sdkconfig.h, and under the Arduino library (whose prebuilt sdkconfig.h
 * has no aloft Kconfig) the CONFIG_ALOFT_* defaults it ships in
 * aloft_arduino_config.h, which is on the include path only there.
 */
#ifndef ALOFT_ESP_KCONFIG_H
#define ALOFT_ESP_KCONFIG_H

#include "sdkconfig.h"

#if defined(__has_include)
#if __has_include("aloft_arduino_config.h")
#include "aloft_arduino_config.h"
#endif
#endif

#endif /* ALOFT_ESP_KCONFIG_H */
