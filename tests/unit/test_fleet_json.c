/*
 * tests/unit/test_fleet_json.c — FLEET.md's objects as the controller
 * reads and writes them (host/fleet/fleet_json.h): the device object's
 * slots line, the progress object's id, phase and error (code and words),
 * unknown members and wrong types read as absent, non-objects refused;
 * the release object and the install command round-trip through a JSON
 * parser with every member of §3 and §6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_json.h"

static void test_device(void **state)
{
    (void)state;
    const char *p = "{\"name\":\"gw1\",\"chip\":\"esp32\",\"project\":\"gateway\",\"version\":\"2.0.0\","
                    "\"running_slot\":\"app1\",\"signed_only\":true,\"agent\":1,\"extra\":[1,2],"
                    "\"slots\":[{\"label\":\"app0\",\"state\":\"ABORTED\",\"version\":\"1.9.0\"},"
                    "{\"label\":\"app1\",\"state\":\"VALID\",\"version\":\"2.0.0\"},"
                    "{\"label\":\"app2\",\"state\":\"EMPTY\"}]}";
    fleet_seen_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(fleet_json_device(p, strlen(p), &s), 0);
    assert_true(s.have_state);
    assert_string_equal(s.chip, "esp32");
    assert_string_equal(s.project, "gateway");
    assert_string_equal(s.version, "2.0.0");
    assert_string_equal(s.slots, "app0 ABORTED 1.9.0, app1 VALID 2.0.0*, app2 EMPTY");
    /* Wrong types read as absent; a non-object is refused. */
    const char *q = "{\"chip\":7,\"project\":null,\"slots\":\"no\"}";
    assert_int_equal(fleet_json_device(q, strlen(q), &s), 0);
    assert_string_equal(s.chip, "");
    assert_string_equal(s.project, "");
    assert_string_equal(s.slots, "");
    assert_int_equal(fleet_json_device("[1]", 3, &s), -1);
    assert_int_equal(fleet_json_device("{\"chip\":", 8, &s), -1);
}

static void test_progress(void **state)
{
    (void)state;
    char id[FLEET_CMD_ID_MAX], err[200];
    fleet_phase_t ph;
    int code;
    const char *p = "{\"id\":\"r7-gw1-1\",\"version\":\"2.1.0\",\"phase\":\"downloading\","
                    "\"done\":262144,\"total\":915456,\"error\":null}";
    assert_int_equal(fleet_json_progress(p, strlen(p), id, &ph, &code, err, sizeof err), 0);
    assert_string_equal(id, "r7-gw1-1");
    assert_int_equal(ph, FLEET_PHASE_DOWNLOADING);
    assert_int_equal(code, 0);
    assert_string_equal(err, "");
    p = "{\"id\":\"r7-gw1-2\",\"phase\":\"failed\",\"error\":{\"code\":-78,\"message\":"
        "\"the new image never confirmed itself\",\"hint\":\"the previous image runs\"}}";
    assert_int_equal(fleet_json_progress(p, strlen(p), id, &ph, &code, err, sizeof err), 0);
    assert_int_equal(ph, FLEET_PHASE_FAILED);
    assert_int_equal(code, -78);
    assert_string_equal(err, "the new image never confirmed itself (code -78): the previous image runs");
    p = "{\"phase\":\"sleeping\",\"error\":{\"code\":-9}}";
    assert_int_equal(fleet_json_progress(p, strlen(p), id, &ph, &code, err, sizeof err), 0);
    assert_string_equal(id, "");
    assert_int_equal(ph, FLEET_PHASE_UNKNOWN);
    assert_string_equal(err, "failed (code -9)");
    assert_int_equal(fleet_json_progress("\"x\"", 3, id, &ph, &code, err, sizeof err), -1);
}

static void test_release_and_install(void **state)
{
    (void)state;
    fleet_release_t r = {.project = "gateway", .version = "2.1.0", .chip = "ESP32",
                         .url = "http://files.lan/gateway/2.1.0/gateway.bin", .size = 915456,
                         .sha256_hex = "ab", .is_signed = true, .summary = "fixes \"BLE\"",
                         .patches_json = "[{\"base_sha256\":\"cd\",\"url\":\"u\",\"size\":5,"
                                         "\"sha256\":\"ef\"}]"};
    char *rel = fleet_json_release(&r);
    char project[33], version[33], chip[24];
    assert_int_equal(fleet_json_release_names(rel, project, version, chip), 0);
    assert_string_equal(project, "gateway");
    assert_string_equal(version, "2.1.0");
    assert_string_equal(chip, "ESP32");
    char *cmd = fleet_json_install("r3-gw1-1", rel);
    cJSON *o = cJSON_Parse(cmd);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "op")->valuestring, "install");
    assert_string_equal(cJSON_GetObjectItem(o, "id")->valuestring, "r3-gw1-1");
    cJSON *x = cJSON_GetObjectItem(o, "release");
    assert_int_equal(cJSON_GetObjectItem(x, "size")->valuedouble, 915456);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(x, "signed")));
    assert_string_equal(cJSON_GetObjectItem(x, "summary")->valuestring, "fixes \"BLE\"");
    assert_null(cJSON_GetObjectItem(x, "release_url"));
    cJSON *patch = cJSON_GetArrayItem(cJSON_GetObjectItem(x, "patches"), 0);
    assert_string_equal(cJSON_GetObjectItem(patch, "base_sha256")->valuestring, "cd");
    cJSON_Delete(o);
    free(cmd);
    free(rel);
    /* No patches: no member; a release object that is not one. */
    r.patches_json = "[]";
    rel = fleet_json_release(&r);
    assert_null(strstr(rel, "patches"));
    free(rel);
    assert_null(fleet_json_install("x", "{cut"));
    assert_int_equal(fleet_json_release_names("{\"project\":\"p\"}", project, version, chip), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_release_and_install),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
