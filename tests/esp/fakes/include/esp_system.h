/* Fake ESP-IDF esp_system.h. */
#ifndef FAKE_ESP_SYSTEM_H
#define FAKE_ESP_SYSTEM_H

void esp_restart(void) __attribute__((noreturn));

#endif
