/*
 * tests/unit/test_discovery.c — the TXT records a device announces
 * (aloft/discovery.h): the _arduino._tcp keys as arduino-esp32's ESPmDNS
 * enableArduino announces them (board, tcp_check, ssh_upload, auth_upload:
 * libraries/ESPmDNS/src/ESPmDNS.cpp) and the _aloft._tcp record of
 * docs/PROTOCOL.md, from the device's state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/discovery.h"
#include "aloft/wire/image.h"

static const char *get(const aloft_txt_t *t, const char *key)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->items[i].key, key) == 0)
            return t->items[i].value;
    return NULL;
}

static void test_aloft_record(void **state)
{
    (void)state;
    aloft_app_desc_t desc = {0};
    aloft_pubkey_t key = {0};
    strcpy(desc.project_name, "gateway");
    strcpy(desc.version, "2.0.0");
    aloft_device_t dev = {.chip_id = ALOFT_CHIP_ESP32S3, .running_desc = &desc};
    aloft_discovery_state_t st = {.dev = &dev, .native_password = true};
    aloft_txt_t t;
    assert_int_equal(aloft_discovery_txt(&st, &t), 0);
    assert_int_equal(t.count, 7);
    assert_string_equal(t.items[0].key, "txtvers");   /* RFC 6763 6.7: first */
    assert_string_equal(get(&t, "txtvers"), "1");
    assert_string_equal(get(&t, "proto"), "1");
    assert_string_equal(get(&t, "chip"), "esp32s3");
    assert_string_equal(get(&t, "project"), "gateway");
    assert_string_equal(get(&t, "version"), "2.0.0");
    assert_string_equal(get(&t, "auth"), "yes");
    assert_string_equal(get(&t, "signed"), "no");

    dev.keys = &key;
    dev.nkeys = 1;
    dev.chip_id = ALOFT_CHIP_ESP32C3;
    st.native_password = false;
    assert_int_equal(aloft_discovery_txt(&st, &t), 0);
    assert_string_equal(get(&t, "signed"), "yes");
    assert_string_equal(get(&t, "auth"), "no");
    assert_string_equal(get(&t, "chip"), "esp32c3");

    dev.running_desc = NULL;   /* an image without an app description */
    assert_int_equal(aloft_discovery_txt(&st, &t), 0);
    assert_string_equal(get(&t, "project"), "");
    assert_string_equal(get(&t, "version"), "");
}

static void test_arduino_record(void **state)
{
    (void)state;
    aloft_device_t dev = {.chip_id = ALOFT_CHIP_ESP32};
    aloft_discovery_state_t st = {.dev = &dev, .espota_password = false};
    aloft_txt_t t;
    assert_int_equal(aloft_discovery_txt_arduino(&st, &t), 0);
    assert_int_equal(t.count, 4);
    const char *keys[] = {"board", "tcp_check", "ssh_upload", "auth_upload"};
    const char *values[] = {"esp32", "no", "no", "no"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(t.items[i].key, keys[i]);
        assert_string_equal(t.items[i].value, values[i]);
        /* mdns-discovery splits on '=' and drops fields that do not give two parts */
        assert_null(strchr(t.items[i].value, '='));
    }
    st.espota_password = true;
    dev.chip_id = ALOFT_CHIP_ESP32C6;
    assert_int_equal(aloft_discovery_txt_arduino(&st, &t), 0);
    assert_string_equal(get(&t, "auth_upload"), "yes");
    assert_string_equal(get(&t, "board"), "esp32c6");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    aloft_txt_t t;
    aloft_discovery_state_t st = {0};
    assert_int_equal(aloft_discovery_txt(NULL, &t), ALOFT_ERR_ARG);
    assert_int_equal(aloft_discovery_txt(&st, &t), ALOFT_ERR_ARG);
    assert_int_equal(aloft_discovery_txt_arduino(&st, &t), ALOFT_ERR_ARG);
    aloft_device_t dev = {.chip_id = ALOFT_CHIP_ESP32};
    st.dev = &dev;
    assert_int_equal(aloft_discovery_txt_arduino(&st, NULL), ALOFT_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aloft_record),
        cmocka_unit_test(test_arduino_record),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
