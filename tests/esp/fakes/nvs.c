/* tests/esp/fakes/nvs.c — see include/nvs.h. */
#include "nvs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_esp.h"

#define HANDLES 4
#define NAME_MAX_LEN 15   /* NVS_KEY_NAME_MAX_SIZE - 1 */

const char *fake_nvs_dir;

static struct {
    bool open;
    nvs_open_mode_t mode;
    char ns[NAME_MAX_LEN + 1];
} handles[HANDLES];

static bool good_name(const char *s)
{
    return s && s[0] && strlen(s) <= NAME_MAX_LEN && strchr(s, '/') == NULL;
}

static void path_of(char *out, size_t n, nvs_handle_t h, const char *key)
{
    snprintf(out, n, "%s/%s.%s", fake_nvs_dir, handles[h - 1].ns, key);
}

static bool valid(nvs_handle_t h)
{
    return h >= 1 && h <= HANDLES && handles[h - 1].open;
}

esp_err_t nvs_open(const char *name, nvs_open_mode_t mode, nvs_handle_t *out)
{
    if (fake_nvs_dir == NULL)
        return ESP_ERR_NVS_NOT_INITIALIZED;
    if (!good_name(name))
        return ESP_ERR_NVS_INVALID_NAME;
    if (mode == NVS_READWRITE && mkdir(fake_nvs_dir, 0700) != 0 && errno != EEXIST)
        return ESP_FAIL;
    for (nvs_handle_t i = 0; i < HANDLES; i++) {
        if (handles[i].open)
            continue;
        handles[i].open = true;
        handles[i].mode = mode;
        snprintf(handles[i].ns, sizeof handles[i].ns, "%s", name);
        *out = i + 1;
        return ESP_OK;
    }
    return ESP_ERR_NO_MEM;
}

esp_err_t nvs_get_blob(nvs_handle_t h, const char *key, void *out, size_t *len)
{
    char path[256];
    struct stat st;
    if (!valid(h))
        return ESP_ERR_NVS_INVALID_HANDLE;
    if (!good_name(key))
        return ESP_ERR_NVS_INVALID_NAME;
    path_of(path, sizeof path, h, key);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ESP_ERR_NVS_NOT_FOUND;
    esp_err_t err = ESP_OK;
    if (fstat(fileno(f), &st) != 0)
        err = ESP_FAIL;
    else if (out == NULL)
        *len = (size_t)st.st_size;
    else if (*len < (size_t)st.st_size)
        err = ESP_ERR_NVS_INVALID_LENGTH;
    else if (fread(out, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        err = ESP_FAIL;
    else
        *len = (size_t)st.st_size;
    fclose(f);
    return err;
}

esp_err_t nvs_set_blob(nvs_handle_t h, const char *key, const void *value, size_t len)
{
    char path[256], tmp[260];
    if (!valid(h))
        return ESP_ERR_NVS_INVALID_HANDLE;
    if (handles[h - 1].mode != NVS_READWRITE)
        return ESP_ERR_NVS_INVALID_HANDLE;   /* IDF: ESP_ERR_NVS_READ_ONLY */
    if (!good_name(key))
        return ESP_ERR_NVS_INVALID_NAME;
    path_of(path, sizeof path, h, key);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(value, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    return ok && rename(tmp, path) == 0 ? ESP_OK : ESP_FAIL;
}

esp_err_t nvs_erase_key(nvs_handle_t h, const char *key)
{
    char path[256];
    if (!valid(h) || handles[h - 1].mode != NVS_READWRITE)
        return ESP_ERR_NVS_INVALID_HANDLE;
    path_of(path, sizeof path, h, key);
    if (unlink(path) == 0)
        return ESP_OK;
    return errno == ENOENT ? ESP_ERR_NVS_NOT_FOUND : ESP_FAIL;
}

esp_err_t nvs_commit(nvs_handle_t h)
{
    return valid(h) ? ESP_OK : ESP_ERR_NVS_INVALID_HANDLE;
}

void nvs_close(nvs_handle_t h)
{
    if (valid(h))
        handles[h - 1].open = false;
}
