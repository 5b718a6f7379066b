/*
 * tests/esp/fakes/include/nvs.h — the NVS calls port/esp-idf/src/esp_agent.c
 * uses (IDF's nvs_flash component, nvs.h), kept in files that outlive the
 * process as NVS outlives a reset: FAKE_DIR/NAMESPACE.KEY, FAKE_DIR set
 * with fake_nvs_dir (fake_esp.h). A write is whole or not at all (a
 * rename), and is in place at once (IDF's nvs_commit is kept for the API).
 * One thread at a time (esp_agent.c calls it under its lock).
 */
#ifndef FAKE_NVS_H
#define FAKE_NVS_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#define ESP_ERR_NVS_BASE 0x1100
#define ESP_ERR_NVS_NOT_INITIALIZED (ESP_ERR_NVS_BASE + 0x01)
#define ESP_ERR_NVS_NOT_FOUND (ESP_ERR_NVS_BASE + 0x02)
#define ESP_ERR_NVS_INVALID_HANDLE (ESP_ERR_NVS_BASE + 0x07)
#define ESP_ERR_NVS_INVALID_NAME (ESP_ERR_NVS_BASE + 0x08)
#define ESP_ERR_NVS_INVALID_LENGTH (ESP_ERR_NVS_BASE + 0x0c)

typedef uint32_t nvs_handle_t;
typedef enum { NVS_READONLY, NVS_READWRITE } nvs_open_mode_t;

esp_err_t nvs_open(const char *name, nvs_open_mode_t mode, nvs_handle_t *out);
/* out NULL: *len = the blob's size; a smaller *len: INVALID_LENGTH. */
esp_err_t nvs_get_blob(nvs_handle_t h, const char *key, void *out, size_t *len);
esp_err_t nvs_set_blob(nvs_handle_t h, const char *key, const void *value, size_t len);
esp_err_t nvs_erase_key(nvs_handle_t h, const char *key);
esp_err_t nvs_commit(nvs_handle_t h);
void nvs_close(nvs_handle_t h);

#endif
