/*
 * tests/unit/test_powercut.c — the power-cut sweep over one complete update
 * on the simulated flash.
 *
 * Phase 1, the update (transfer, verification, first page, otadata): for
 * every flash operation index N, start from the same flash, cut power at
 * operation N (the operation is torn), reboot, and require that the device
 * boots the old image, complete and verified, and that app0 is untouched.
 *
 * Phase 2, the life after activation (first boot: NEW -> PENDING_VERIFY,
 * health check: -> VALID): cut at every operation, reboot, and require a
 * complete, verified image: the new one, or the old one if the cut hit an
 * otadata rewrite (the ESP-IDF rule: a torn active entry falls back).
 *
 * Each cut is tried with two tear seeds (how much of the torn operation
 * lands). The number of cut points is printed; zero failures allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim_fixture.h"
#include "test_flash.h"

#define APP0 0x10000u
#define SLOT 0x140000u
#define SEEDS 2

typedef struct sweep {
    sim_fixture_t fx;
    uint8_t *base;       /* flash before the update */
    uint8_t *updated;    /* flash right after a clean update */
} sweep_t;

static int do_update(void *arg)
{
    sweep_t *s = arg;
    return sim_update_buffer(&s->fx.sim, ALOFT_TARGET_APP, s->fx.v2, s->fx.v2_len);
}

/* A reset re-runs the boot path in-process, on the same (armed) flash. */
static int do_boot_and_confirm(void *arg)
{
    sweep_t *s = arg;
    int err = sim_boot(&s->fx.sim, 0);
    if (err == 0 && sim_tick(&s->fx.sim, 1) < 0)
        err = -1;
    return err;
}

/* Put the flash back to a saved state; boot it too when the next step
 * expects a running device (the update), not when the step is the boot. */
static void restore(sweep_t *s, const uint8_t *image, bool boot)
{
    memcpy(s->fx.sim.nor.mem, image, s->fx.sim.nor.size);
    if (boot)
        assert_int_equal(simfx_reboot(&s->fx), 0);
}

/* After a cut: the device must boot a complete, verified image. */
static const char *boot_after_cut(sweep_t *s)
{
    assert_int_equal(simfx_reboot(&s->fx), 0);   /* sim_boot verifies the image */
    assert_true(s->fx.sim.boot.info.complete);
    return s->fx.sim.boot.info.desc.version;
}

/* Operations a function performs without a cut. */
static uint64_t count_ops(sweep_t *s, int (*fn)(void *))
{
    uint64_t before = nor_ops(&s->fx.sim.nor);
    assert_int_equal(fn(s), 0);
    return nor_ops(&s->fx.sim.nor) - before;
}

static void test_sweep(void **state)
{
    (void)state;
    sweep_t s;
    assert_int_equal(simfx_setup(&s.fx, ALOFT_CHIP_ESP32, 60000, 140000), 0);
    s.base = simfx_snapshot(&s.fx);

    uint64_t n_update = count_ops(&s, do_update);
    s.updated = simfx_snapshot(&s.fx);
    uint64_t n_after = count_ops(&s, do_boot_and_confirm);
    assert_string_equal(s.fx.sim.boot.info.desc.version, "2.0.0");
    assert_int_equal(s.fx.sim.boot.state, ALOFT_OTA_VALID);

    unsigned cuts = 0, old_boots = 0, new_boots = 0;
    for (uint64_t n = 1; n <= n_update; n++) {
        for (uint32_t seed = 1; seed <= SEEDS; seed++) {
            restore(&s, s.base, true);
            assert_true(test_flash_run_cut(&s.fx.sim.nor, n, seed * 7919u + (uint32_t)n,
                                           do_update, &s, NULL));
            assert_string_equal(boot_after_cut(&s), "1.0.0");
            assert_true(simfx_same(&s.fx, s.base, APP0, SLOT));
            cuts++;
            old_boots++;
        }
    }
    for (uint64_t n = 1; n <= n_after; n++) {
        for (uint32_t seed = 1; seed <= SEEDS; seed++) {
            restore(&s, s.updated, false);
            assert_true(test_flash_run_cut(&s.fx.sim.nor, n, seed * 104729u + (uint32_t)n,
                                           do_boot_and_confirm, &s, NULL));
            const char *v = boot_after_cut(&s);
            assert_true(strcmp(v, "1.0.0") == 0 || strcmp(v, "2.0.0") == 0);
            if (strcmp(v, "2.0.0") == 0)
                new_boots++;
            else
                old_boots++;
            cuts++;
        }
    }
    printf("power-cut sweep: %llu update ops + %llu boot/confirm ops, %u cut points "
           "(x%d tear seeds), 0 failures: %u booted old, %u booted new\n",
           (unsigned long long)n_update, (unsigned long long)n_after, cuts / SEEDS, SEEDS,
           old_boots, new_boots);
    assert_true(n_update > 20);
    free(s.base);
    free(s.updated);
    simfx_teardown(&s.fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sweep)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
