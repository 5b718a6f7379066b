/* tests/arduino/fakes/Update.h — the command values of arduino-esp32's Update.h. */
#ifndef FAKE_UPDATE_H
#define FAKE_UPDATE_H
#define U_FLASH 0
#define U_SPIFFS 100
#endif
