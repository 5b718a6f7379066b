/*
 * tests/unit/test_fleet_store.c — the rollout database (host/fleet/
 * fleet_store.h) as a restarted controller sees it: a rollout created,
 * changed by the engine and saved, then loaded by another connection
 * holds the same plan, state, wave and device rows (attempts, sent_ms,
 * errors) in the same order; only dirty rows are written; requests are
 * taken once; a file that is not a rollout database is refused with words
 * that say so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet_store.h"

static char path[64];

static int make_path(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/aloft-fleet-store-%ld.db", (long)getpid());
    unlink(path);
    return 0;
}

static int remove_files(void **state)
{
    char p[80];
    (void)state;
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    host_error_t e;
    fleet_store_t *st;
    fleet_dev_t devs[3];
    memset(devs, 0, sizeof devs);
    const char *names[3] = {"zeta", "alpha", "mid"};   /* rollout order, not name order */
    for (int i = 0; i < 3; i++) {
        snprintf(devs[i].name, sizeof devs[i].name, "%s", names[i]);
        devs[i].online = true;
    }
    fleet_rollout_t r = {.plan = {.canary = 1, .npct = 2, .pct = {50, 100}, .success_pct = 90,
                                  .fail_pct = 10, .fail_min = 3, .fail_abort = true,
                                  .timeout_s = 30, .retries = 2, .queue_offline = true},
                         .devs = devs, .ndevs = 3};
    fleet_assign_waves(&r.plan, devs, 3);
    fleet_meta_t m = {.project = "gw", .version = "2.0.0", .release_json = "{\"x\":1}",
                      .created_ms = 1234};
    assert_int_equal(fleet_store_open(path, &st, &e), 0);
    assert_int_equal(fleet_store_create(st, &r, &m, &e), 0);
    assert_int_equal(r.id, 1);
    assert_false(devs[0].dirty);

    /* The engine sends the canary; saved; then a change that is not saved. */
    assert_int_equal(fleet_step(&r, 5000), 0);
    assert_int_equal(fleet_store_save(st, &r, 5001, &e), 0);
    snprintf(devs[1].error, sizeof devs[1].error, "unsaved");
    fleet_store_close(st);

    fleet_rollout_t back;
    fleet_meta_t bm;
    int64_t id;
    assert_int_equal(fleet_store_open(path, &st, &e), 0);
    assert_int_equal(fleet_store_latest(st, &id, &e), 0);
    assert_int_equal(id, 1);
    assert_int_equal(fleet_store_load(st, id, &back, &bm, &e), 0);
    assert_string_equal(bm.project, "gw");
    assert_string_equal(bm.version, "2.0.0");
    assert_string_equal(bm.release_json, "{\"x\":1}");
    assert_int_equal(bm.created_ms, 1234);
    assert_int_equal(bm.updated_ms, 5001);
    assert_memory_equal(&back.plan, &r.plan, sizeof r.plan);
    assert_int_equal(back.state, FLEET_RUNNING);
    assert_int_equal(back.ndevs, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(back.devs[i].name, names[i]);
    assert_int_equal(back.devs[0].state, FLEET_DEV_SENT);
    assert_int_equal(back.devs[0].attempts, 1);
    assert_int_equal(back.devs[0].sent_ms, 5000);
    assert_int_equal(back.devs[2].wave, 2);
    assert_string_equal(back.devs[1].error, "");
    /* Loaded rows are clean and online is not stored (the broker says it). */
    assert_false(back.devs[0].dirty);
    assert_false(back.devs[0].online);

    /* Requests: taken once. */
    char req[16];
    assert_int_equal(fleet_store_request(st, id, "pause", &e), 0);
    assert_int_equal(fleet_store_take_request(st, id, req, &e), 0);
    assert_string_equal(req, "pause");
    assert_int_equal(fleet_store_take_request(st, id, req, &e), 0);
    assert_string_equal(req, "");

    /* A second rollout is the newest. */
    back.id = 0;
    assert_int_equal(fleet_store_create(st, &back, &bm, &e), 0);
    assert_int_equal(fleet_store_latest(st, &id, &e), 0);
    assert_int_equal(id, 2);
    assert_int_not_equal(fleet_store_load(st, 9, &r, &m, &e), 0);
    assert_non_null(strstr(e.hint, "holds no rollout 9"));
    free(back.devs);
    free(bm.release_json);
    fleet_store_close(st);
}

static void test_not_a_database(void **state)
{
    (void)state;
    host_error_t e;
    fleet_store_t *st = NULL;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is a firmware image, not a database, but long enough to be looked at.....\n"
          "................................................................................\n",
          f);
    fclose(f);
    assert_int_not_equal(fleet_store_open(path, &st, &e), 0);
    assert_string_equal(e.message, "not a rollout database");
    assert_non_null(strstr(e.hint, "give --db a new file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, make_path, remove_files),
        cmocka_unit_test_setup_teardown(test_not_a_database, make_path, remove_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
