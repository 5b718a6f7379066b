/* tests/unit/test_sim_checkpoint.c — the simulator's cheap reset
 * (sim_checkpoint, sim_rewind, sim_changed; the fuzzers' per-input reset). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "aloft/wire/ptable.h"
#include "device.h"
#include "sim_fixture.h"

#define OTADATA 0xE000u
#define OTADATA_LEN 0x2000u

typedef struct {
    sim_fixture_t fx;
    sim_checkpoint_t cp;
    uint8_t *copy;    /* the checkpoint's flash */
    int paused;       /* quiesce hook balance */
} ctx_t;

static void on_pause(void *c) { ((ctx_t *)c)->paused++; }
static void on_resume(void *c) { ((ctx_t *)c)->paused--; }

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL || simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 100000, 120000) != 0)
        return -1;
    aloft_quiesce_add(&c->fx.sim.quiesce, "test", on_pause, on_resume, c);
    c->copy = malloc(c->fx.sim.nor.size);
    if (c->copy == NULL)
        return -1;
    sim_checkpoint(&c->fx.sim, &c->cp, c->copy);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    simfx_teardown(&c->fx);
    free(c->copy);
    free(c);
    return 0;
}

static const aloft_part_t *slot(const sim_device_t *sim, int i)
{
    return sim->boot.od.slots[i];
}

/* A whole update changes app1 and otadata, not app0; rewinding puts every
 * byte and the boot state back, and nothing differs any more. */
static void test_rewind_after_update(void **state)
{
    ctx_t *c = *state;
    sim_device_t *sim = &c->fx.sim;
    const aloft_part_t *app0 = slot(sim, 0), *app1 = slot(sim, 1);
    int boots = sim->boots;

    assert_int_equal(memcmp(sim->nor.mem, c->copy, sim->nor.size), 0);
    assert_false(sim_changed(sim, &c->cp, 0, sim->nor.size));
    assert_int_equal(sim_update_buffer(sim, ALOFT_TARGET_APP, c->fx.v2, c->fx.v2_len), 0);
    assert_true(sim_changed(sim, &c->cp, app1->offset, app1->size));
    assert_true(sim_changed(sim, &c->cp, OTADATA, OTADATA_LEN));
    assert_false(sim_changed(sim, &c->cp, app0->offset, app0->size));
    assert_int_equal(sim_boot(sim, 0), 0);
    assert_int_equal(sim->boot.slot, 1);

    sim_rewind(sim, &c->cp);
    assert_int_equal(memcmp(sim->nor.mem, c->copy, sim->nor.size), 0);
    assert_false(sim_changed(sim, &c->cp, 0, sim->nor.size));
    assert_int_equal(sim->boot.slot, 0);
    assert_int_equal(sim->boots, boots);
    assert_int_equal(sim->nor.touched_lo, sim->nor.touched_hi);
    /* The rewound device works: the same update again, and it boots it. */
    assert_int_equal(sim_update_buffer(sim, ALOFT_TARGET_APP, c->fx.v2, c->fx.v2_len), 0);
    assert_int_equal(sim_boot(sim, 0), 0);
    assert_int_equal(sim->boot.slot, 1);
    assert_int_equal(c->paused, 0);
}

/* Rewinding in the middle of a session ends it as a reset does: the app
 * tasks it paused are resumed, and the slot's half-written bytes are gone. */
static void test_rewind_mid_session(void **state)
{
    ctx_t *c = *state;
    sim_device_t *sim = &c->fx.sim;
    const aloft_part_t *app1 = slot(sim, 1);
    aloft_update_req_t req = {.target = ALOFT_TARGET_APP, .size = (uint32_t)c->fx.v2_len};

    assert_int_equal(aloft_update_begin(&sim->update, &sim->dev, &req), 0);
    assert_int_equal(aloft_update_feed(&sim->update, c->fx.v2, 50000), 0);
    assert_int_equal(c->paused, 1);
    assert_true(sim_changed(sim, &c->cp, app1->offset, app1->size));

    sim_rewind(sim, &c->cp);
    assert_int_equal(c->paused, 0);
    assert_int_equal(aloft_update_state(&sim->update), ALOFT_UPDATE_IDLE);
    assert_int_equal(memcmp(sim->nor.mem, c->copy, sim->nor.size), 0);
}

/* A change that writes the same bytes back is no change. */
static void test_changed_compares_bytes(void **state)
{
    ctx_t *c = *state;
    sim_device_t *sim = &c->fx.sim;
    const aloft_flash_t *f = &sim->nor.flash;
    uint32_t at = slot(sim, 1)->offset;
    uint8_t byte = 0x00;

    assert_int_equal(f->prog(f, at, c->copy + at, 16), 0);   /* 0xFF over 0xFF */
    assert_int_not_equal(sim->nor.touched_lo, sim->nor.touched_hi);
    assert_false(sim_changed(sim, &c->cp, at, 16));
    assert_int_equal(f->prog(f, at + 7, &byte, 1), 0);
    assert_true(sim_changed(sim, &c->cp, at, 16));
    assert_false(sim_changed(sim, &c->cp, at, 7));
    assert_false(sim_changed(sim, &c->cp, at + 8, 8));
    sim_rewind(sim, &c->cp);
    assert_false(sim_changed(sim, &c->cp, 0, sim->nor.size));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_rewind_after_update),
        T(test_rewind_mid_session),
        T(test_changed_compares_bytes),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
