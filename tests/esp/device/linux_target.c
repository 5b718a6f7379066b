/*
 * tests/esp/device/linux_target.c — the device half built as IDF's Linux
 * target builds it (CONFIG_IDF_TARGET_LINUX: no app_update, no ROM): the
 * running slot comes from the boot state (the slot otadata selects), and
 * there is no inflate: the engines get none, so the device advertises no
 * compression.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esp_fixture.h"


static void test_running_slot_from_otadata(void **state)
{
    (void)state;
    /* esp_ota_get_running_partition is not consulted on this target. */
    fake_ota_set_running(NULL);
    assert_int_equal(espfx_open(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
    assert_int_equal(espfx_update(&esp_fx, esp_fx.v2, esp_fx.v2_len, 1460), 0);
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    fake_ota_set_running(NULL);
    assert_int_equal(espfx_open(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 1);
    assert_string_equal(esp_fx.dev.dev.running_desc->version, "2.0.0");
    assert_int_equal(esp_device_confirm(&esp_fx.dev), 0);
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_VALID);
}

static void test_no_inflate(void **state)
{
    (void)state;
    assert_int_equal(esp_fx.dev.inflate.max_window_bits, 0);
    assert_null(esp_fx.dev.inflate.begin);
    assert_null(esp_fx.dev.inflate.run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ESPFX_TEST(test_running_slot_from_otadata),
        ESPFX_TEST(test_no_inflate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
