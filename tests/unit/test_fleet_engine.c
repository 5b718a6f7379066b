/*
 * tests/unit/test_fleet_engine.c — the rollout engine's rules
 * (docs/FLEET.md §9) decision by decision, with a made-up clock: waves
 * (canary, percentages, rounding), a wave advancing only once its devices
 * ended and enough confirmed, the failure threshold with its minimum
 * sample (pause or abort, nothing sent after), per-attempt timeouts and
 * retries with new command ids, reports of other attempts ignored,
 * offline devices skipped or queued, pause/resume/abort, the plan checks
 * and the device selector.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fleet_engine.h"

#define MAXD 200

static fleet_dev_t devs[MAXD];
static fleet_rollout_t R;

/* n devices d00.., all online, plan p (waves assigned). */
static void setup(size_t n, const fleet_plan_t *p)
{
    memset(devs, 0, sizeof devs);
    memset(&R, 0, sizeof R);
    for (size_t i = 0; i < n; i++) {
        snprintf(devs[i].name, sizeof devs[i].name, "d%02zu", i);
        devs[i].online = true;
    }
    R.plan = *p;
    R.id = 7;
    R.devs = devs;
    R.ndevs = n;
    assert_null(fleet_plan_check(p));
    fleet_assign_waves(p, devs, n);
}

static fleet_plan_t plan(uint32_t canary, const char *waves)
{
    fleet_plan_t p = {.canary = canary, .success_pct = 100, .fail_pct = 50, .fail_min = 100,
                      .timeout_s = 60, .retries = 0};
    for (const char *s = waves; *s;) {
        unsigned v;
        int used;
        assert_int_equal(sscanf(s, "%u%n", &v, &used), 1);
        p.pct[p.npct++] = (uint8_t)v;
        s += used;
        if (*s == ',')
            s++;
    }
    return p;
}

/* Every command fleet_step gives now, as a string of indexes "0,1,2". */
static const char *step_all(int64_t now)
{
    static char out[1024];
    size_t n = 0;
    long i;
    out[0] = '\0';
    while ((i = fleet_step(&R, now)) >= 0)
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%ld", n ? "," : "", i);
    return out;
}

static void report(size_t i, fleet_phase_t ph, const char *error)
{
    char id[FLEET_CMD_ID_MAX];
    fleet_cmd_id(&R, &devs[i], id);
    fleet_on_progress(&R, i, id, ph, 0, error, 0);
}

static void test_waves(void **state)
{
    (void)state;
    fleet_plan_t p = plan(1, "50,100");
    setup(10, &p);
    assert_int_equal(fleet_nwaves(&p), 3);
    const uint16_t want[10] = {0, 1, 1, 1, 1, 2, 2, 2, 2, 2};
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(devs[i].wave, want[i]);
    /* 200 devices, canary 2, then up to 10 % (20), 50 % (100), 100 %. */
    p = plan(2, "10,50,100");
    setup(200, &p);
    assert_int_equal(devs[1].wave, 0);
    assert_int_equal(devs[2].wave, 1);
    assert_int_equal(devs[19].wave, 1);
    assert_int_equal(devs[20].wave, 2);
    assert_int_equal(devs[99].wave, 2);
    assert_int_equal(devs[100].wave, 3);
    /* Rounded up: 3 devices at 50 % is 2; no canary: waves start at 0. */
    p = plan(0, "50,100");
    setup(3, &p);
    assert_int_equal(fleet_nwaves(&p), 2);
    assert_int_equal(devs[0].wave, 0);
    assert_int_equal(devs[1].wave, 0);
    assert_int_equal(devs[2].wave, 1);
    /* A canary larger than a wave's share: that wave is empty, passed. */
    p = plan(4, "10,100");
    setup(10, &p);
    assert_int_equal(devs[3].wave, 0);
    assert_int_equal(devs[4].wave, 2);
}

static void test_canary_then_waves(void **state)
{
    (void)state;
    fleet_plan_t p = plan(1, "50,100");
    setup(10, &p);
    assert_string_equal(step_all(1000), "0");
    assert_int_equal(devs[0].state, FLEET_DEV_SENT);
    assert_int_equal(devs[0].attempts, 1);
    assert_int_equal(devs[0].sent_ms, 1000);
    char id[FLEET_CMD_ID_MAX];
    fleet_cmd_id(&R, &devs[0], id);
    assert_string_equal(id, "r7-d00-1");
    /* Nothing more while the canary runs, downloading or rebooting. */
    report(0, FLEET_PHASE_DOWNLOADING, NULL);
    assert_int_equal(devs[0].state, FLEET_DEV_RUNNING);
    report(0, FLEET_PHASE_REBOOTING, NULL);
    assert_string_equal(step_all(2000), "");
    report(0, FLEET_PHASE_CONFIRMED, NULL);
    assert_int_equal(devs[0].state, FLEET_DEV_CONFIRMED);
    assert_string_equal(step_all(3000), "1,2,3,4");
    assert_int_equal(R.wave, 1);
    for (size_t i = 1; i < 4; i++)
        report(i, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(4000), "");   /* d04 still in flight */
    report(4, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(5000), "5,6,7,8,9");
    for (size_t i = 5; i < 10; i++)
        report(i, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(6000), "");
    assert_int_equal(R.state, FLEET_DONE);
    fleet_counts_t c;
    fleet_count(&R, &c);
    assert_int_equal(c.confirmed, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(devs[i].attempts, 1);
}

static void test_wave_success_gate(void **state)
{
    (void)state;
    fleet_plan_t p = plan(0, "40,100");
    p.success_pct = 75;
    setup(10, &p);
    assert_string_equal(step_all(0), "0,1,2,3");
    report(0, FLEET_PHASE_CONFIRMED, NULL);
    report(1, FLEET_PHASE_CONFIRMED, NULL);
    report(2, FLEET_PHASE_CONFIRMED, NULL);
    report(3, FLEET_PHASE_FAILED, NULL);   /* 3 of 4 = 75 %: passes */
    assert_string_equal(step_all(0), "4,5,6,7,8,9");
    for (size_t i = 4; i < 8; i++)
        report(i, FLEET_PHASE_CONFIRMED, NULL);
    report(8, FLEET_PHASE_FAILED, "flash error");
    report(9, FLEET_PHASE_REFUSED, NULL);   /* 4 of 6: below 75 % */
    assert_string_equal(devs[8].error, "flash error");
    assert_string_equal(devs[9].error, "refused the release");
    assert_string_equal(step_all(0), "");
    assert_int_equal(R.state, FLEET_PAUSED);
    assert_int_equal(R.reason, FLEET_WHY_WAVE_SUCCESS);
    /* Resume: the person accepts the wave; it was the last one. */
    assert_int_equal(fleet_resume(&R), 0);
    assert_int_equal(R.state, FLEET_DONE);
}

static void test_wave_gate_resume_next(void **state)
{
    (void)state;
    fleet_plan_t p = plan(1, "100");
    setup(3, &p);
    assert_string_equal(step_all(0), "0");
    report(0, FLEET_PHASE_FAILED, NULL);
    assert_string_equal(step_all(0), "");
    assert_int_equal(R.state, FLEET_PAUSED);
    assert_int_equal(R.reason, FLEET_WHY_WAVE_SUCCESS);
    assert_int_equal(fleet_resume(&R), 0);
    assert_int_equal(R.wave, 1);
    assert_string_equal(step_all(0), "1,2");
}

static void test_failure_threshold_min_sample(void **state)
{
    (void)state;
    /* 20 % of the finished, at least 5 finished; abort. */
    fleet_plan_t p = plan(0, "50,100");
    p.success_pct = 0;
    p.fail_pct = 20;
    p.fail_min = 5;
    p.fail_abort = true;
    setup(20, &p);
    assert_string_equal(step_all(0), "0,1,2,3,4,5,6,7,8,9");
    report(0, FLEET_PHASE_FAILED, NULL);   /* 1 of 1: below the minimum sample */
    assert_int_equal(R.state, FLEET_RUNNING);
    report(1, FLEET_PHASE_CONFIRMED, NULL);
    report(2, FLEET_PHASE_CONFIRMED, NULL);
    report(3, FLEET_PHASE_CONFIRMED, NULL);
    report(4, FLEET_PHASE_CONFIRMED, NULL);   /* 1 of 5 = 20 %: checked at failures only */
    assert_int_equal(R.state, FLEET_RUNNING);
    report(5, FLEET_PHASE_CONFIRMED, NULL);
    report(6, FLEET_PHASE_CONFIRMED, NULL);
    report(7, FLEET_PHASE_CONFIRMED, NULL);
    report(8, FLEET_PHASE_FAILED, NULL);   /* 2 of 9 = 22 % */
    assert_int_equal(R.state, FLEET_ABORTED);
    assert_int_equal(R.reason, FLEET_WHY_FAILURES);
    assert_string_equal(step_all(0), "");
    report(9, FLEET_PHASE_CONFIRMED, NULL);   /* an aborted rollout takes nothing */
    assert_int_equal(devs[9].state, FLEET_DEV_SENT);
    for (size_t i = 10; i < 20; i++)
        assert_int_equal(devs[i].attempts, 0);
    assert_int_equal(fleet_resume(&R), -1);
    assert_int_equal(fleet_abort(&R), -1);
}

static void test_failure_threshold_pauses(void **state)
{
    (void)state;
    fleet_plan_t p = plan(0, "100");
    p.success_pct = 0;
    p.fail_pct = 50;
    p.fail_min = 2;
    setup(6, &p);
    assert_string_equal(step_all(0), "0,1,2,3,4,5");
    report(0, FLEET_PHASE_FAILED, NULL);
    report(1, FLEET_PHASE_FAILED, NULL);
    assert_int_equal(R.state, FLEET_PAUSED);
    /* Paused: devices in flight are still followed. */
    report(2, FLEET_PHASE_CONFIRMED, NULL);
    assert_int_equal(devs[2].state, FLEET_DEV_CONFIRMED);
    assert_int_equal(fleet_resume(&R), 0);
    assert_int_equal(R.state, FLEET_RUNNING);
    /* The next failure while the rate is still over the threshold pauses again. */
    report(3, FLEET_PHASE_FAILED, NULL);
    assert_int_equal(R.state, FLEET_PAUSED);
    assert_int_equal(R.reason, FLEET_WHY_FAILURES);
}

static void test_timeout_and_retries(void **state)
{
    (void)state;
    fleet_plan_t p = plan(0, "100");
    p.timeout_s = 10;
    p.retries = 1;
    setup(2, &p);
    assert_string_equal(step_all(1000), "0,1");
    report(1, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(10999), "");
    assert_int_equal(devs[0].state, FLEET_DEV_SENT);
    /* 10 s after the command: attempt 2, with a new id. */
    assert_string_equal(step_all(11000), "0");
    assert_int_equal(devs[0].attempts, 2);
    assert_int_equal(devs[0].sent_ms, 11000);
    assert_string_equal(devs[0].error, "attempt 1: no confirmation within 10 s; retrying");
    /* Another rollout's report is ignored; attempt 1's failure too. */
    fleet_on_progress(&R, 0, "r6-d00-2", FLEET_PHASE_CONFIRMED, 0, NULL, 12000);
    assert_int_equal(devs[0].state, FLEET_DEV_SENT);
    fleet_on_progress(&R, 0, "r7-d00-1", FLEET_PHASE_FAILED, -5, "late", 12000);
    assert_int_equal(devs[0].state, FLEET_DEV_SENT);
    /* The device is still busy with attempt 1: BUSY for attempt 2 is no failure. */
    fleet_on_progress(&R, 0, "r7-d00-2", FLEET_PHASE_REFUSED, -9, "busy", 12000);
    assert_int_equal(devs[0].state, FLEET_DEV_SENT);
    /* Any other refusal of it is. */
    fleet_on_progress(&R, 1, "r7-d01-1", FLEET_PHASE_REFUSED, -9, "busy", 12000);
    assert_int_equal(devs[1].state, FLEET_DEV_CONFIRMED);   /* ended already: ignored */
    /* Progress does not extend the deadline: attempt 2 times out too. */
    report(0, FLEET_PHASE_DOWNLOADING, NULL);
    assert_string_equal(step_all(21000), "");
    assert_int_equal(devs[0].state, FLEET_DEV_FAILED);
    assert_string_equal(devs[0].error, "no confirmation within 10 s (2 attempts)");
    assert_int_equal(R.state, FLEET_PAUSED);   /* 1 of 2 confirmed: below 100 % */
    assert_int_equal(R.reason, FLEET_WHY_WAVE_SUCCESS);
}

static void test_late_confirmation_of_earlier_attempt(void **state)
{
    (void)state;
    fleet_plan_t p = plan(0, "100");
    p.timeout_s = 10;
    p.retries = 2;
    setup(1, &p);
    assert_string_equal(step_all(0), "0");
    assert_string_equal(step_all(10000), "0");   /* attempt 2 */
    fleet_on_progress(&R, 0, "r7-d00-1", FLEET_PHASE_CONFIRMED, 0, NULL, 11000);
    assert_int_equal(devs[0].state, FLEET_DEV_CONFIRMED);   /* the slow attempt 1 made it */
    assert_int_equal(devs[0].attempts, 2);
    assert_string_equal(step_all(11000), "");
    assert_int_equal(R.state, FLEET_DONE);
}

static void test_offline_skip_and_queue(void **state)
{
    (void)state;
    fleet_plan_t p = plan(0, "100");
    setup(3, &p);
    devs[1].online = false;
    assert_string_equal(step_all(0), "0,2");
    assert_int_equal(devs[1].state, FLEET_DEV_SKIPPED);
    assert_string_equal(devs[1].error, "offline when its wave came");
    report(0, FLEET_PHASE_CONFIRMED, NULL);
    report(2, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(0), "");
    assert_int_equal(R.state, FLEET_DONE);   /* skipped devices do not count against success */

    p.queue_offline = true;
    setup(3, &p);
    devs[1].online = false;
    assert_string_equal(step_all(0), "0,2");
    assert_int_equal(devs[1].state, FLEET_DEV_QUEUED);
    report(0, FLEET_PHASE_CONFIRMED, NULL);
    report(2, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(0), "");
    assert_int_equal(R.state, FLEET_RUNNING);   /* the wave waits */
    fleet_on_online(&R, 1, true);
    assert_string_equal(step_all(0), "1");
    report(1, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(0), "");
    assert_int_equal(R.state, FLEET_DONE);

    /* A queued device that never comes back holds its wave for the
     * attempt timeout (60 s here), not for ever. */
    setup(3, &p);
    devs[1].online = false;
    assert_string_equal(step_all(1000), "0,2");
    assert_int_equal(devs[1].sent_ms, 1000);   /* the wait's start, stored: a restart keeps it */
    assert_true(devs[1].dirty);
    report(0, FLEET_PHASE_CONFIRMED, NULL);
    report(2, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(60999), "");
    assert_int_equal(devs[1].state, FLEET_DEV_QUEUED);
    assert_string_equal(step_all(61000), "");
    assert_int_equal(devs[1].state, FLEET_DEV_SKIPPED);
    assert_string_equal(devs[1].error, "offline for 60 s after its wave came");
    assert_int_equal(R.state, FLEET_DONE);
}

static void test_all_skipped_wave_passes(void **state)
{
    (void)state;
    fleet_plan_t p = plan(1, "100");
    setup(3, &p);
    devs[0].online = false;
    assert_string_equal(step_all(0), "1,2");   /* the canary was offline: skipped */
    assert_int_equal(R.wave, 1);
}

static void test_pause_resume_abort(void **state)
{
    (void)state;
    fleet_plan_t p = plan(1, "100");
    setup(4, &p);
    assert_string_equal(step_all(0), "0");
    assert_int_equal(fleet_resume(&R), -1);
    assert_int_equal(fleet_pause(&R), 0);
    assert_int_equal(R.reason, FLEET_WHY_USER);
    assert_int_equal(fleet_pause(&R), -1);
    report(0, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(0), "");   /* paused: the next wave waits */
    assert_int_equal(R.wave, 0);
    assert_int_equal(fleet_resume(&R), 0);
    assert_string_equal(step_all(0), "1,2,3");
    assert_int_equal(fleet_abort(&R), 0);
    assert_int_equal(R.state, FLEET_ABORTED);
    assert_int_equal(R.reason, FLEET_WHY_USER);
    assert_string_equal(step_all(0), "");
}

static void test_dirty_flags(void **state)
{
    (void)state;
    fleet_plan_t p = plan(0, "100");
    setup(2, &p);
    devs[0].dirty = devs[1].dirty = false;
    R.dirty = false;
    assert_string_equal(step_all(0), "0,1");
    assert_true(devs[0].dirty && devs[1].dirty);
    devs[0].dirty = devs[1].dirty = false;
    report(0, FLEET_PHASE_DOWNLOADING, NULL);
    assert_true(devs[0].dirty);
    devs[0].dirty = false;
    report(0, FLEET_PHASE_DOWNLOADING, NULL);   /* no change, nothing to save */
    assert_false(devs[0].dirty);
    report(0, FLEET_PHASE_CONFIRMED, NULL);
    report(1, FLEET_PHASE_CONFIRMED, NULL);
    assert_string_equal(step_all(0), "");
    assert_true(R.dirty);
}

static void test_plan_check(void **state)
{
    (void)state;
    fleet_plan_t p = plan(1, "10,50,100");
    assert_null(fleet_plan_check(&p));
    p = plan(1, "50,40,100");
    assert_non_null(strstr(fleet_plan_check(&p), "must rise"));
    p = plan(1, "10,50");
    assert_non_null(strstr(fleet_plan_check(&p), "last of --waves must be 100"));
    p = plan(1, "100");
    p.timeout_s = 0;
    assert_non_null(strstr(fleet_plan_check(&p), "--timeout"));
    p = plan(1, "100");
    p.fail_pct = 0;
    assert_non_null(strstr(fleet_plan_check(&p), "--fail-threshold 0"));
}

static void test_selector(void **state)
{
    (void)state;
    fleet_selector_t s = {.project = "gw", .chip = "ESP32-S3"};
    assert_true(fleet_selects(&s, "a1", "esp32s3", "gw", "1.0"));
    assert_false(fleet_selects(&s, "a1", "esp32", "gw", "1.0"));
    assert_false(fleet_selects(&s, "a1", "esp32s3", "other", "1.0"));
    assert_false(fleet_selects(&s, "a1", NULL, "gw", "1.0"));
    s.version = "1.0";
    s.name_glob = "kitchen-*";
    assert_true(fleet_selects(&s, "kitchen-2", "ESP32S3", "gw", "1.0"));
    assert_false(fleet_selects(&s, "hall-2", "ESP32S3", "gw", "1.0"));
    assert_false(fleet_selects(&s, "kitchen-2", "ESP32S3", "gw", "1.1"));
    assert_true(fleet_name_ok("gw1_a-b"));
    assert_false(fleet_name_ok("GW1"));
    assert_false(fleet_name_ok("a/b"));
    assert_false(fleet_name_ok(""));
    assert_false(fleet_name_ok("0123456789012345678901234567890123"));
    assert_int_equal(fleet_phase_parse("confirmed"), FLEET_PHASE_CONFIRMED);
    assert_int_equal(fleet_phase_parse("nope"), FLEET_PHASE_UNKNOWN);
    assert_int_equal(fleet_phase_parse(NULL), FLEET_PHASE_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waves),
        cmocka_unit_test(test_canary_then_waves),
        cmocka_unit_test(test_wave_success_gate),
        cmocka_unit_test(test_wave_gate_resume_next),
        cmocka_unit_test(test_failure_threshold_min_sample),
        cmocka_unit_test(test_failure_threshold_pauses),
        cmocka_unit_test(test_timeout_and_retries),
        cmocka_unit_test(test_late_confirmation_of_earlier_attempt),
        cmocka_unit_test(test_offline_skip_and_queue),
        cmocka_unit_test(test_all_skipped_wave_passes),
        cmocka_unit_test(test_pause_resume_abort),
        cmocka_unit_test(test_dirty_flags),
        cmocka_unit_test(test_plan_check),
        cmocka_unit_test(test_selector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
