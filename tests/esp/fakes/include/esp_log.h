/* Fake ESP-IDF esp_log.h: ESP_LOGE/W/I print a line to stderr
 * (tests/esp/fakes/log.c); ESP_LOGD prints nothing. */
#ifndef FAKE_ESP_LOG_H
#define FAKE_ESP_LOG_H

void fake_esp_log(char level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ESP_LOGE(tag, ...) fake_esp_log('E', tag, __VA_ARGS__)
#define ESP_LOGW(tag, ...) fake_esp_log('W', tag, __VA_ARGS__)
#define ESP_LOGI(tag, ...) fake_esp_log('I', tag, __VA_ARGS__)
#define ESP_LOGD(tag, ...) ((void)(tag))

#endif
