/*
 * tests/arduino/sketch_main.cpp — a board for one sketch on Linux:
 *
 *   arduino_SKETCH FLASH     (env: ALOFT_TEST_PORT, ALOFT_TEST_WEB_PORT,
 *                            ALOFT_TEST_MQTT)
 *
 * powers the fake chip on over the flash file (the simulator's bootloader
 * model picks the slot, tests/esp/fakes), does what arduino-esp32 3.x's
 * initArduino() does about rollback, then runs setup() and loop() forever
 * as the core's loop task does. A restart (ESP.restart(), or aloft after an
 * update) ends the process (the fake esp_restart); the test powers the
 * board on again, and the bootloader model boots whatever otadata says.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "Arduino.h"
extern "C" {   /* the core's and the port's headers are C without C++ guards */
#include "aloft/error.h"
#include "aloft/wire/otadata.h"
#include "esp_device.h"
#include "fake_esp.h"
}
#include "aloft_esp.h"

void setup(void);
void loop(void);

/* The core's default (esp32-hal-misc.c); AloftOTA.cpp defines the strong one. */
extern "C" bool verifyRollbackLater(void) __attribute__((weak));
extern "C" bool verifyRollbackLater(void)
{
    return false;
}

/* Every aloft_start of the sketch serves on the test's port, and a web
 * page the sketch asked for on the test's web port. */
extern "C" int __real_aloft_start(const aloft_esp_config_t *cfg);
extern "C" int __wrap_aloft_start(const aloft_esp_config_t *cfg)
{
    aloft_esp_config_t c = *cfg;
    const char *port = getenv("ALOFT_TEST_PORT"), *web = getenv("ALOFT_TEST_WEB_PORT");
    if (port != NULL)
        c.port = (uint16_t)atoi(port);
    if (web != NULL && c.web_port != 0)
        c.web_port = (uint16_t)atoi(web);
    return __real_aloft_start(&c);
}

/* initArduino(), CONFIG_APP_ROLLBACK_ENABLE: unless verifyRollbackLater(),
 * a PENDING_VERIFY image is marked valid before setup(); the port's confirm
 * writes what esp_ota_mark_app_valid_cancel_rollback writes. */
static void init_arduino(void)
{
    static esp_device_t d;
    int err = esp_device_open(&d, NULL, 0);
    if (err != 0) {
        printf("board: no device: %s\n", aloft_strerror(err));
        exit(1);
    }
    uint32_t state = esp_device_running_state(&d);
    printf("board: running %s %s (%s)\n", d.running_desc.project_name, d.running_desc.version,
           aloft_ota_state_name(state));
    if (!verifyRollbackLater() && state == ALOFT_OTA_PENDING_VERIFY) {
        err = esp_device_confirm(&d);
        printf("board: initArduino confirmed the image: %s\n", aloft_strerror(err));
    }
}

int main(int argc, char **argv)
{
    static fake_chip_t chip;
    if (argc != 2) {
        fprintf(stderr, "usage: %s FLASH\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    alarm(600);   /* CTest's timeout: a board a killed test leaves behind ends too */
    int err = fake_chip_power_on(&chip, argv[1]);
    if (err != 0) {
        printf("board: does not boot: %s\n", aloft_strerror(err));
        return 1;
    }
    init_arduino();
    setup();
    for (;;)
        loop();
}
