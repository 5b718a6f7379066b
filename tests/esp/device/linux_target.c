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

static esp_fx_t fx;

static int setup(void **state)
{
    (void)state;
    return espfx_setup(&fx, ALOFT_SCHEME_DEFAULT) || espfx_open(&fx);
}

static int teardown(void **state)
{
    (void)state;
    espfx_teardown(&fx);
    return 0;
}

static void test_running_slot_from_otadata(void **state)
{
    (void)state;
    /* esp_ota_get_running_partition is not consulted on this target. */
    fake_ota_set_running(NULL);
    assert_int_equal(espfx_open(&fx), 0);
    assert_int_equal(fx.dev.dev.running_slot, 0);
    assert_int_equal(espfx_update(&fx, fx.v2, fx.v2_len, 1460), 0);
    assert_int_equal(espfx_reboot(&fx), 0);
    fake_ota_set_running(NULL);
    assert_int_equal(espfx_open(&fx), 0);
    assert_int_equal(fx.dev.dev.running_slot, 1);
    assert_string_equal(fx.dev.dev.running_desc->version, "2.0.0");
    assert_int_equal(esp_device_confirm(&fx.dev), 0);
    assert_int_equal(esp_device_running_state(&fx.dev), ALOFT_OTA_VALID);
}

static void test_no_inflate(void **state)
{
    (void)state;
    assert_int_equal(fx.dev.inflate.max_window_bits, 0);
    assert_null(fx.dev.inflate.begin);
    assert_null(fx.dev.inflate.run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_running_slot_from_otadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_inflate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
