/*
 * aloft_arduino_config.h — the ESP-IDF component's Kconfig defaults
 * (port/esp-idf/Kconfig) for the Arduino library: arduino-esp32's prebuilt
 * sdkconfig.h has no CONFIG_ALOFT_*, so the component reads these instead.
 * AloftOTA's setters override them at run time; a number or a string can
 * also be set with a build flag (PlatformIO build_flags =
 * -DCONFIG_ALOFT_IDLE_TIMEOUT_MS=20000). Kept equal to the Kconfig file by
 * tests/integration/test_arduino_zip.sh.
 */
#ifndef ALOFT_ARDUINO_CONFIG_H
#define ALOFT_ARDUINO_CONFIG_H

#ifndef CONFIG_ALOFT_PORT
#define CONFIG_ALOFT_PORT 3232
#endif
#ifndef CONFIG_ALOFT_HOSTNAME
#define CONFIG_ALOFT_HOSTNAME ""
#endif
#ifndef CONFIG_ALOFT_PASSWORD
#define CONFIG_ALOFT_PASSWORD ""
#endif
#ifndef CONFIG_ALOFT_NATIVE_VERIFIER
#define CONFIG_ALOFT_NATIVE_VERIFIER ""
#endif
#ifndef CONFIG_ALOFT_ESPOTA_PASSWORD
#define CONFIG_ALOFT_ESPOTA_PASSWORD ""
#endif
/* choice ALOFT_ESPOTA_AUTH: MD5, what every espota.py speaks */
#if !defined(CONFIG_ALOFT_ESPOTA_AUTH_MD5) && !defined(CONFIG_ALOFT_ESPOTA_AUTH_PBKDF2)
#define CONFIG_ALOFT_ESPOTA_AUTH_MD5 1
#endif
/* bool ALOFT_ALLOW_OPEN: n (AloftOTA.setOpen(true) at run time) */
#define CONFIG_ALOFT_NATIVE 1
#define CONFIG_ALOFT_ESPOTA 1
/* bool ALOFT_MDNS: y; AloftOTA.setMdnsEnabled() turns it off at run time */
#define CONFIG_ALOFT_MDNS 1
/* int ALOFT_WEB_PORT: 0, no page; AloftOTA.setWebPort() sets one */
#ifndef CONFIG_ALOFT_WEB_PORT
#define CONFIG_ALOFT_WEB_PORT 0
#endif
/* The zip carries the page, gzipped, as src/aloft_port/web_page.c
 * (tools/arduino_pack.sh), as the component's CMakeLists builds it in. */
#define ALOFT_WEB_PAGE 1
#ifndef CONFIG_ALOFT_WINDOW
#define CONFIG_ALOFT_WINDOW 32768
#endif
#ifndef CONFIG_ALOFT_IDLE_TIMEOUT_MS
#define CONFIG_ALOFT_IDLE_TIMEOUT_MS 10000
#endif
#ifndef CONFIG_ALOFT_SIGNING_KEYS
#define CONFIG_ALOFT_SIGNING_KEYS ""
#endif
#ifndef CONFIG_ALOFT_TASK_STACK
#define CONFIG_ALOFT_TASK_STACK 8192
#endif
#ifndef CONFIG_ALOFT_TASK_PRIORITY
#define CONFIG_ALOFT_TASK_PRIORITY 5
#endif
#ifndef CONFIG_ALOFT_TASK_CORE
#define CONFIG_ALOFT_TASK_CORE -1
#endif
#ifndef CONFIG_ALOFT_INFLATE_WINDOW_BITS
#define CONFIG_ALOFT_INFLATE_WINDOW_BITS 12
#endif
/* bool ALOFT_DELTA: y; the build flag -DALOFT_NO_DELTA saves its RAM */
#ifndef ALOFT_NO_DELTA
#define CONFIG_ALOFT_DELTA 1
#endif

/* The MQTT agent is off under Arduino (CONFIG_ALOFT_MQTT_AGENT unset); its
 * strings as Kconfig has them, for a sketch that turns it on. */
#ifndef CONFIG_ALOFT_MQTT_BROKER_URI
#define CONFIG_ALOFT_MQTT_BROKER_URI "mqtt://broker.lan:1883"
#endif
#ifndef CONFIG_ALOFT_MQTT_NAME
#define CONFIG_ALOFT_MQTT_NAME "esp32"
#endif
#ifndef CONFIG_ALOFT_MQTT_PREFIX
#define CONFIG_ALOFT_MQTT_PREFIX "aloft"
#endif
#ifndef CONFIG_ALOFT_MQTT_OMG_PREFIX
#define CONFIG_ALOFT_MQTT_OMG_PREFIX ""
#endif
#ifndef CONFIG_ALOFT_MQTT_USERNAME
#define CONFIG_ALOFT_MQTT_USERNAME ""
#endif
#ifndef CONFIG_ALOFT_MQTT_PASSWORD
#define CONFIG_ALOFT_MQTT_PASSWORD ""
#endif

#endif /* ALOFT_ARDUINO_CONFIG_H */
