/*
 * tests/unit/test_agent.c — the MQTT agent engine (aloft/agent.h) against a
 * fake pull: what it publishes on connect, an install from command to
 * `confirmed` across a re-init (the reboot), the rollback after a reboot,
 * every refusal of FLEET.md §6 (and that a refusal asks for nothing but a
 * publish), busy, OpenMQTTGateway's firmware_update, Home Assistant's
 * Install, version order, and the JSON reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/agent.h"
#include "aloft/wire/image.h"
#include "aloft/wire/otadata.h"
#include "json.h"

#define SHA "\"sha256\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\""
#define REL(chip, project, version, size) \
    "{\"project\":\"" project "\",\"version\":\"" version "\",\"chip\":\"" chip "\"," \
    "\"url\":\"http://files.lan/gw.bin\",\"size\":" size "," SHA "}"
#define INSTALL(id, rel) "{\"op\":\"install\",\"id\":\"" id "\",\"release\":" rel "}"
#define GOOD REL("esp32", "gateway", "2.1.0", "915456")

typedef struct seen {
    aloft_agent_act_t kind;
    char topic[ALOFT_AGENT_TOPIC_MAX];
    char payload[ALOFT_AGENT_BUF_MIN];
    bool retain;
} seen_t;

static aloft_agent_t agent;
static aloft_agent_device_t dev;
static char buf[ALOFT_AGENT_BUF_MIN];
static seen_t acts[32];
static size_t nacts;
static char record[ALOFT_AGENT_BUF_MIN];
static const char *password;

static int check_pw(void *ctx, const char *pw, size_t len)
{
    (void)ctx;
    return strlen(password) == len && memcmp(pw, password, len) == 0 ? 0 : ALOFT_ERR_AUTH;
}

static void device(int running, uint32_t state)
{
    memset(&dev, 0, sizeof dev);
    dev.chip_id = ALOFT_CHIP_ESP32;
    strcpy(dev.project, "gateway");
    strcpy(dev.version, running == 0 ? "2.0.0" : "2.1.0");
    dev.slot_size = 0x140000;
    dev.nslots = 2;
    dev.running = running;
    for (int i = 0; i < 2; i++) {
        snprintf(dev.slots[i].label, sizeof dev.slots[i].label, "app%d", i);
        dev.slots[i].has_image = true;
        dev.slots[i].state = i == running ? state : ALOFT_OTA_VALID;
        strcpy(dev.slots[i].project, "gateway");
        strcpy(dev.slots[i].version, i == 0 ? "2.0.0" : "2.1.0");
    }
}

static void start(const char *rec, const aloft_diag_t *boot_diag)
{
    aloft_agent_config_t cfg = {.name = "gw1", .omg_prefix = "home/gw1", .buf = buf,
                                .buf_len = sizeof buf, .check_password = password ? check_pw : NULL};
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, rec, rec ? strlen(rec) : 0, boot_diag), 0);
}

/* Every action until poll says none; each payload is checked to be JSON
 * (or the plain `online`, or an empty SAVE). */
static void drain(void)
{
    aloft_agent_action_t a;
    int r;
    nacts = 0;
    while ((r = aloft_agent_poll(&agent, &a)) == 1) {
        assert_true(nacts < sizeof acts / sizeof acts[0]);
        seen_t *s = &acts[nacts++];
        s->kind = a.kind;
        snprintf(s->topic, sizeof s->topic, "%s", a.topic ? a.topic : "");
        assert_true(a.len < sizeof s->payload);
        memcpy(s->payload, a.payload ? a.payload : "", a.payload ? a.len : 0);
        s->payload[a.payload ? a.len : 0] = '\0';
        s->retain = a.retain;
        if (a.kind == ALOFT_AGENT_SAVE)
            snprintf(record, sizeof record, "%s", s->payload);
        if ((a.kind == ALOFT_AGENT_PUBLISH && strcmp(s->payload, "online") != 0) ||
            (a.kind == ALOFT_AGENT_SAVE && a.len)) {
            aloft_json_t root;
            if (aloft_json_parse(a.payload, a.len, &root) != 0)
                fail_msg("not JSON on %s: %s", s->topic, s->payload);
        }
    }
    assert_int_equal(r, 0);
}

static const seen_t *find(aloft_agent_act_t kind, const char *topic)
{
    for (size_t i = 0; i < nacts; i++)
        if (acts[i].kind == kind && (topic == NULL || strcmp(acts[i].topic, topic) == 0))
            return &acts[i];
    return NULL;
}

static const char *published(const char *topic)
{
    const seen_t *s = find(ALOFT_AGENT_PUBLISH, topic);
    if (s == NULL)
        fail_msg("nothing published on %s", topic);
    return s->payload;
}

static void has(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("'%s' lacks '%s'", text, part);
}

static void cmd(const char *json)
{
    aloft_agent_message(&agent, 1000, "aloft/gw1/cmd", json, strlen(json));
    drain();
}

static void connected(void)
{
    aloft_agent_connected(&agent);
    drain();
}

static int setup(void **state)
{
    (void)state;
    password = NULL;
    record[0] = '\0';
    device(0, ALOFT_OTA_VALID);
    start(NULL, NULL);
    connected();
    return 0;
}

/* A refusal publishes the progress object and asks for nothing else. */
static void refused(const char *json, const char *code)
{
    cmd(json);
    const char *p = published("aloft/gw1/update");
    has(p, "\"phase\":\"refused\"");
    has(p, code);
    assert_null(find(ALOFT_AGENT_PULL, NULL));
    assert_null(find(ALOFT_AGENT_SAVE, NULL));
    assert_null(find(ALOFT_AGENT_REBOOT, NULL));
    assert_int_equal(aloft_agent_phase(&agent), ALOFT_AGENT_PHASE_REFUSED);
}

static void test_connect(void **state)
{
    (void)state;
    assert_string_equal(aloft_agent_will_topic(&agent), "aloft/gw1/online");
    connected();
    assert_non_null(find(ALOFT_AGENT_SUBSCRIBE, "aloft/gw1/cmd"));
    assert_non_null(find(ALOFT_AGENT_SUBSCRIBE, "aloft/gw1/ha/install"));
    assert_non_null(find(ALOFT_AGENT_SUBSCRIBE, "aloft/release/gateway"));
    assert_non_null(find(ALOFT_AGENT_SUBSCRIBE, "home/gw1/commands/MQTTtoSYS/firmware_update"));
    assert_string_equal(published("aloft/gw1/online"), "online");
    const char *d = published("homeassistant/update/gw1/firmware/config");
    has(d, "\"device_class\":\"firmware\"");
    has(d, "\"state_topic\":\"aloft/gw1/ha\"");
    has(d, "\"command_topic\":\"aloft/gw1/ha/install\"");
    has(d, "\"availability_topic\":\"aloft/gw1/online\"");
    has(d, "\"unique_id\":\"aloft_gw1_firmware\",\"default_entity_id\":\"update.gw1_firmware\"");
    has(d, "\"sw_version\":\"2.0.0\"");
    has(d, "\"model\":\"esp32\"");
    const char *s = published("aloft/gw1/state");
    has(s, "\"running_slot\":\"app0\"");
    has(s, "{\"label\":\"app1\",\"state\":\"VALID\",\"project\":\"gateway\",\"version\":\"2.1.0\"");
    const char *h = published("aloft/gw1/ha");
    has(h, "\"installed_version\":\"2.0.0\",\"latest_version\":\"2.0.0\",\"in_progress\":false,"
           "\"update_percentage\":null,\"title\":\"gateway\"");
    for (size_t i = 0; i < nacts; i++)
        if (acts[i].kind == ALOFT_AGENT_PUBLISH)
            assert_true(acts[i].retain);
    /* nothing to report before any command */
    assert_null(find(ALOFT_AGENT_PUBLISH, "aloft/gw1/update"));
    /* nothing goes out while disconnected */
    aloft_agent_disconnected(&agent);
    cmd("{\"op\":\"state\"}");
    assert_int_equal(nacts, 0);
}

static void test_install_confirmed(void **state)
{
    (void)state;
    cmd(INSTALL("r7-gw1-1", GOOD));
    const char *p = published("aloft/gw1/update");
    has(p, "{\"id\":\"r7-gw1-1\",\"version\":\"2.1.0\",\"phase\":\"downloading\",\"done\":0,"
           "\"total\":915456,\"error\":null}");
    has(published("aloft/gw1/ha"), "\"in_progress\":true,\"update_percentage\":0");
    const seen_t *pull = find(ALOFT_AGENT_PULL, NULL);
    assert_non_null(pull);
    assert_string_equal(agent.release.url, "http://files.lan/gw.bin");
    assert_int_equal(agent.release.size, 915456);
    assert_int_equal(agent.release.sha256[1], 0x11);

    /* at most one report per second and per 5 % */
    aloft_agent_pull_progress(&agent, 5000, 50000, 915456);
    drain();
    has(published("aloft/gw1/update"), "\"done\":50000");
    aloft_agent_pull_progress(&agent, 5500, 300000, 915456);
    drain();
    assert_int_equal(nacts, 0);
    aloft_agent_pull_progress(&agent, 6100, 90000, 915456);
    drain();
    assert_int_equal(nacts, 0);
    aloft_agent_pull_progress(&agent, 6200, 262144, 915456);
    drain();
    has(published("aloft/gw1/update"), "\"done\":262144");
    has(published("aloft/gw1/ha"), "\"update_percentage\":28");

    aloft_agent_pull_done(&agent, NULL);
    drain();
    has(published("aloft/gw1/update"), "\"phase\":\"rebooting\",\"done\":915456");
    assert_string_equal(record, "{\"id\":\"r7-gw1-1\",\"version\":\"2.1.0\",\"slot\":\"app1\"}");
    assert_non_null(find(ALOFT_AGENT_REBOOT, NULL));

    /* the reboot: RAM is gone, the record is read back; app1 runs unconfirmed */
    device(1, ALOFT_OTA_PENDING_VERIFY);
    start(record, NULL);
    connected();
    has(published("aloft/gw1/update"), "\"phase\":\"rebooting\"");
    assert_int_equal(aloft_agent_phase(&agent), ALOFT_AGENT_PHASE_REBOOTING);
    /* busy until it confirms */
    cmd(INSTALL("r8", REL("esp32", "gateway", "2.2.0", "1000")));
    has(published("aloft/gw1/update"), "\"id\":\"r8\"");
    has(published("aloft/gw1/update"), "-9");
    assert_null(find(ALOFT_AGENT_PULL, NULL));

    dev.slots[1].state = ALOFT_OTA_VALID;
    aloft_agent_confirmed(&agent);
    drain();
    has(published("aloft/gw1/update"),
        "{\"id\":\"r7-gw1-1\",\"version\":\"2.1.0\",\"phase\":\"confirmed\"");
    has(published("aloft/gw1/state"), "\"running_slot\":\"app1\"");
    assert_non_null(find(ALOFT_AGENT_SAVE, NULL));
    assert_string_equal(record, "");

    /* a further boot has nothing to report */
    start(NULL, NULL);
    connected();
    assert_null(find(ALOFT_AGENT_PUBLISH, "aloft/gw1/update"));
}

static void test_confirmed_at_boot(void **state)
{
    (void)state;
    /* a bootloader without rollback: the new image runs UNDEFINED at once */
    device(1, ALOFT_OTA_UNDEFINED);
    start("{\"id\":\"x\",\"version\":\"2.1.0\",\"slot\":\"app1\"}", NULL);
    connected();
    has(published("aloft/gw1/update"), "\"phase\":\"confirmed\"");
    assert_string_equal(record, "");
}

static void test_rolled_back(void **state)
{
    (void)state;
    /* the reset came before the image confirmed: the old slot runs again */
    start("{\"id\":\"r7\",\"version\":\"2.1.0\",\"slot\":\"app1\"}", NULL);
    connected();
    const char *p = published("aloft/gw1/update");
    has(p, "\"id\":\"r7\",\"version\":\"2.1.0\",\"phase\":\"failed\"");
    has(p, "\"code\":-78,\"message\":\"the new image never confirmed itself\"");
    has(p, "the image in app1 confirmed itself");
    assert_string_equal(record, "");

    /* the bootloader refused the new image: its reason */
    aloft_diag_t d = {0};
    aloft_diag_set(&d, ALOFT_ERR_IMG_HASH, 0x1000, 0, NULL);
    start("{\"id\":\"r9\",\"version\":\"2.1.0\",\"slot\":\"app1\"}", &d);
    connected();
    has(published("aloft/gw1/update"), "\"code\":-26");

    /* a damaged record is dropped */
    strcpy(record, "keep");
    start("{\"id\":", NULL);
    connected();
    assert_null(find(ALOFT_AGENT_PUBLISH, "aloft/gw1/update"));
    assert_string_equal(record, "");
}

static void test_pull_failed(void **state)
{
    (void)state;
    aloft_diag_t d = {0};
    cmd(INSTALL("r1", GOOD));
    aloft_diag_set(&d, ALOFT_ERR_SHA256, 0, 0, NULL);
    aloft_agent_pull_done(&agent, &d);
    drain();
    has(published("aloft/gw1/update"), "\"phase\":\"failed\"");
    has(published("aloft/gw1/update"), "\"code\":-64,\"message\":\"SHA-256 mismatch\",\"hint\":\"the received");
    assert_null(find(ALOFT_AGENT_REBOOT, NULL));
    /* not busy any more */
    cmd(INSTALL("r2", GOOD));
    assert_non_null(find(ALOFT_AGENT_PULL, NULL));
}

static void test_refusals(void **state)
{
    (void)state;
    refused(INSTALL("c", REL("esp32s3", "gateway", "2.1.0", "1000")), "\"code\":-30");
    has(published("aloft/gw1/update"), "image is built for ESP32-S3 but the device is ESP32");
    refused(INSTALL("p", REL("esp32", "sensor", "2.1.0", "1000")), "\"code\":-73");
    refused(INSTALL("d", REL("esp32", "gateway", "1.9.0", "1000")), "\"code\":-79");
    has(published("aloft/gw1/update"), "the device runs version 2.0.0");
    refused(INSTALL("s", REL("esp32", "gateway", "2.0.0", "1000")), "\"code\":-79");
    refused(INSTALL("t", REL("esp32", "gateway", "2.1.0", "2000000")), "\"code\":-61");
    has(published("aloft/gw1/update"), "slot app1 holds 1 310 720");
    refused("{\"op\":\"install\",\"id\":\"m\",\"release\":{\"project\":\"gateway\",\"version\":\"2.1.0\","
            "\"chip\":\"esp32\",\"url\":\"http://x/y\",\"size\":5}}", "member sha256 is missing");
    refused("{\"op\":\"install\",\"id\":\"u\",\"release\":{\"project\":\"gateway\",\"version\":\"2.1.0\","
            "\"chip\":\"esp32\",\"url\":\"ftp://x/y\",\"size\":5," SHA "}}", "member url");
    refused("{\"op\":\"install\",\"id\":\"z\",\"release\":{\"project\":\"gateway\",\"version\":\"2.1.0\","
            "\"chip\":\"esp32\",\"url\":\"http://x/y\",\"size\":-5," SHA "}}", "member size");
    refused("{\"op\":\"frobnicate\",\"id\":\"f\"}", "member op");
    refused("not json", "\"id\":null");
    refused("{\"op\":\"install\",\"id\":\"l\",\"latest\":true}", "member release");
    /* allow_downgrade lifts the version rule only */
    cmd("{\"op\":\"install\",\"id\":\"dd\",\"allow_downgrade\":true,\"release\":"
        REL("esp32", "gateway", "1.9.0", "1000") "}");
    assert_non_null(find(ALOFT_AGENT_PULL, NULL));
}

static void test_signed_only(void **state)
{
    (void)state;
    dev.signed_only = true;
    refused(INSTALL("u", GOOD), "\"code\":-69");
    cmd("{\"op\":\"install\",\"id\":\"s\",\"release\":{\"project\":\"gateway\",\"version\":\"2.1.0\","
        "\"chip\":\"esp32\",\"url\":\"https://x/y\",\"size\":5," SHA ",\"signed\":true}}");
    assert_non_null(find(ALOFT_AGENT_PULL, NULL));
    assert_true(agent.release.is_signed);
}

/* Of the release's patches the agent keeps the one from the running image
 * (malformed entries passed over); none: the file. */
static void test_patch_choice(void **state)
{
    (void)state;
#define H(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define PATCH(base, url, size) \
    "{\"base_sha256\":\"" H(base) "\",\"url\":\"" url "\",\"size\":" size "," SHA "}"
#define PREL(patches) \
    "{\"project\":\"gateway\",\"version\":\"2.1.0\",\"chip\":\"esp32\"," \
    "\"url\":\"http://files.lan/gw.bin\",\"size\":915456," SHA ",\"patches\":[" patches "]}"
    memset(dev.slots[dev.running].sha256, 0x11, 32);
    cmd(INSTALL("p1", PREL(PATCH("22", "http://files.lan/a.patch", "10") ","
                           PATCH("11", "ftp://files.lan/b.patch", "20") ","
                           PATCH("11", "http://files.lan/c.patch", "2048"))));
    assert_non_null(find(ALOFT_AGENT_PULL, NULL));
    assert_int_equal(agent.release.patch_size, 2048);
    assert_string_equal(agent.release.patch_url, "http://files.lan/c.patch");
    assert_int_equal(agent.release.patch_sha256[1], 0x11);
    aloft_agent_pull_done(&agent, &(aloft_diag_t){.err = ALOFT_ERR_SHA256});
    drain();
    cmd(INSTALL("p2", PREL(PATCH("22", "http://files.lan/a.patch", "10"))));
    assert_non_null(find(ALOFT_AGENT_PULL, NULL));
    assert_int_equal(agent.release.patch_size, 0);
#undef PREL
#undef PATCH
#undef H
}

static void test_pending_and_busy(void **state)
{
    (void)state;
    cmd(INSTALL("r1", GOOD));
    aloft_agent_pull_progress(&agent, 5000, 100000, 915456);
    drain();
    /* a second command is refused under its own id; the running report follows */
    cmd(INSTALL("r2", REL("esp32", "gateway", "2.2.0", "1000")));
    assert_int_equal(nacts, 2);
    has(acts[0].payload, "{\"id\":\"r2\",\"version\":\"2.2.0\",\"phase\":\"refused\"");
    has(acts[0].payload, "\"code\":-9");
    has(acts[1].payload, "{\"id\":\"r1\",\"version\":\"2.1.0\",\"phase\":\"downloading\",\"done\":100000");
    aloft_agent_message(&agent, 0, "aloft/gw1/ha/install", "install", 7);
    drain();
    has(acts[0].payload, "\"code\":-9");
    /* the running image is not confirmed: refused, nothing erased */
    device(0, ALOFT_OTA_PENDING_VERIFY);
    start(NULL, NULL);
    connected();
    refused(INSTALL("r3", GOOD), "\"code\":-67");
}

static void test_omg(void **state)
{
    (void)state;
    const char *topic = "home/gw1/commands/MQTTtoSYS/firmware_update";
    const char *ok = "{\"version\":\"2.1.0\",\"url\":\"http://x/gw.bin\",\"password\":\"pw\","
                     "\"size\":4096," SHA "}";
    const char *no_sha = "{\"version\":\"2.1.0\",\"url\":\"http://x/gw.bin\",\"password\":\"pw\","
                         "\"size\":4096}";
    password = "pw";
    start(NULL, NULL);
    connected();
    aloft_agent_message(&agent, 0, topic, no_sha, strlen(no_sha));
    drain();
    has(published("aloft/gw1/update"), "member sha256 is missing");
    assert_null(find(ALOFT_AGENT_PULL, NULL));
    password = "other";
    start(NULL, NULL);
    connected();
    aloft_agent_message(&agent, 0, topic, ok, strlen(ok));
    drain();
    has(published("aloft/gw1/update"), "\"code\":-81");
    assert_null(find(ALOFT_AGENT_PULL, NULL));
    password = "pw";
    start(NULL, NULL);
    connected();
    aloft_agent_message(&agent, 0, topic, ok, strlen(ok));
    drain();
    has(published("aloft/gw1/update"), "\"phase\":\"downloading\",\"done\":0,\"total\":4096");
    assert_non_null(find(ALOFT_AGENT_PULL, NULL));
    assert_string_equal(agent.release.project, "gateway");
    assert_int_equal(agent.release.size, 4096);
    /* a device with keys needs a signed file */
    dev.signed_only = true;
    start(NULL, NULL);
    connected();
    aloft_agent_message(&agent, 0, topic, ok, strlen(ok));
    drain();
    has(published("aloft/gw1/update"), "\"code\":-69");
}

static void test_ha_install(void **state)
{
    (void)state;
    const char *rel = "{\"project\":\"gateway\",\"version\":\"2.1.0\",\"chip\":\"esp32\","
                      "\"url\":\"http://x/gw.bin\",\"size\":915456," SHA ",\"summary\":\"fixes \\\"BLE\\\"\","
                      "\"release_url\":\"https://example.com/2.1.0\"}";
    aloft_agent_message(&agent, 0, "aloft/gw1/ha/install", "install", 7);
    drain();
    has(published("aloft/gw1/update"), "{\"id\":\"ha-1\",\"version\":null,\"phase\":\"refused\"");
    aloft_agent_message(&agent, 0, "aloft/release/gateway", rel, strlen(rel));
    drain();
    has(published("aloft/gw1/ha"), "\"latest_version\":\"2.1.0\"");
    has(published("aloft/gw1/ha"), "\"release_summary\":\"fixes \\\"BLE\\\"\",\"release_url\":\"https://example.com/2.1.0\"");
    aloft_agent_message(&agent, 0, "aloft/gw1/ha/install", "install", 7);
    drain();
    has(published("aloft/gw1/update"), "{\"id\":\"ha-2\",\"version\":\"2.1.0\",\"phase\":\"downloading\"");
    assert_non_null(find(ALOFT_AGENT_PULL, NULL));
    /* another project's release is not ours */
    start(NULL, NULL);
    connected();
    aloft_agent_message(&agent, 0, "aloft/release/gateway", "", 0);
    drain();
    has(published("aloft/gw1/ha"), "\"latest_version\":\"2.0.0\"");
}

static void test_rollback_cmd(void **state)
{
    (void)state;
    cmd("{\"op\":\"rollback\",\"id\":\"rb\"}");
    assert_non_null(find(ALOFT_AGENT_ROLLBACK, NULL));
    aloft_diag_t d = {0};
    aloft_diag_set(&d, ALOFT_ERR_NO_BOOTABLE, 0, 0, "app1");
    aloft_agent_pull_done(&agent, &d);
    drain();
    has(published("aloft/gw1/update"), "{\"id\":\"rb\",\"version\":null,\"phase\":\"failed\"");
    has(published("aloft/gw1/update"), "\"code\":-46");
}

static void test_init_args(void **state)
{
    (void)state;
    aloft_agent_config_t cfg = {.name = "gw1", .buf = buf, .buf_len = sizeof buf};
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, NULL, 0, NULL), 0);
    cfg.name = "GW1";
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, NULL, 0, NULL), ALOFT_ERR_ARG);
    cfg.name = "a/b";
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, NULL, 0, NULL), ALOFT_ERR_ARG);
    cfg.name = "123456789012345678901234567890123";
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, NULL, 0, NULL), ALOFT_ERR_ARG);
    cfg.name = "gw1";
    cfg.prefix = "a/#";
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, NULL, 0, NULL), ALOFT_ERR_ARG);
    cfg.prefix = "site/aloft";
    cfg.buf_len = 100;
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, NULL, 0, NULL), ALOFT_ERR_ARG);
    cfg.buf_len = sizeof buf;
    assert_int_equal(aloft_agent_init(&agent, &cfg, &dev, NULL, 0, NULL), 0);
    assert_string_equal(aloft_agent_will_topic(&agent), "site/aloft/gw1/online");
}

static void test_version_order(void **state)
{
    (void)state;
    assert_true(aloft_agent_version_cmp("2.1.0", "2.0.9") > 0);
    assert_true(aloft_agent_version_cmp("2.10.0", "2.9.0") > 0);
    assert_true(aloft_agent_version_cmp("v2.1", "2.1.0") == 0);
    assert_true(aloft_agent_version_cmp("2.1.0-rc1", "2.1.0") < 0);
    assert_true(aloft_agent_version_cmp("2.1.0-rc2", "2.1.0-rc1") > 0);
    assert_true(aloft_agent_version_cmp("2.1.0+b7", "2.1.0") == 0);
    assert_true(aloft_agent_version_cmp("1.0.0", "1.0.0.1") < 0);
    assert_true(aloft_agent_version_cmp("99999999999.0", "1.0") > 0);
}

static void test_json(void **state)
{
    (void)state;
    aloft_json_t root, v;
    char out[16];
    const char *doc = " {\"a\": [1, {\"b\": null}], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\", \"n\": 4294967295,"
                      " \"f\": 1.5e3, \"a\": 2} ";
    assert_int_equal(aloft_json_parse(doc, strlen(doc), &root), 0);
    assert_int_equal(aloft_json_member(&root, "a", &v), 1);
    assert_int_equal(v.type, ALOFT_JSON_ARRAY);
    assert_int_equal(aloft_json_member(&root, "s", &v), 1);
    assert_int_equal(aloft_json_string(&v, out, sizeof out), 8);
    assert_string_equal(out, "x\xc3\xa9\xf0\x9f\x98\x80\n");
    assert_int_equal(aloft_json_string(&v, out, 8), ALOFT_ERR_BUFFER);
    uint32_t n;
    assert_int_equal(aloft_json_member(&root, "n", &v), 1);
    assert_int_equal(aloft_json_u32(&v, &n), 0);
    assert_true(n == 4294967295u);
    assert_int_equal(aloft_json_member(&root, "f", &v), 1);
    assert_int_equal(aloft_json_u32(&v, &n), ALOFT_ERR_PROTO);
    assert_int_equal(aloft_json_member(&root, "zz", &v), 0);
    static const char *bad[] = {
        "", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1 2]", "\"\\x\"", "\"a\nb\"", "01",
        "1.", "-", "tru", "{} {}", "[[[[[[[[[1]]]]]]]]]", "{\"a\":1}x", "\"\\u12\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (aloft_json_parse(bad[i], strlen(bad[i]), &root) == 0)
            fail_msg("accepted '%s'", bad[i]);
    static const char *bad_str[] = {"\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\""};
    for (size_t i = 0; i < sizeof bad_str / sizeof bad_str[0]; i++) {
        assert_int_equal(aloft_json_parse(bad_str[i], strlen(bad_str[i]), &v), 0);
        assert_int_equal(aloft_json_string(&v, out, sizeof out), ALOFT_ERR_PROTO);
    }
    assert_int_equal(aloft_json_parse("[[[[[[[[1]]]]]]]]", 17, &root), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_connect, setup),
        cmocka_unit_test_setup(test_install_confirmed, setup),
        cmocka_unit_test_setup(test_confirmed_at_boot, setup),
        cmocka_unit_test_setup(test_rolled_back, setup),
        cmocka_unit_test_setup(test_pull_failed, setup),
        cmocka_unit_test_setup(test_refusals, setup),
        cmocka_unit_test_setup(test_signed_only, setup),
        cmocka_unit_test_setup(test_patch_choice, setup),
        cmocka_unit_test_setup(test_pending_and_busy, setup),
        cmocka_unit_test_setup(test_omg, setup),
        cmocka_unit_test_setup(test_ha_install, setup),
        cmocka_unit_test_setup(test_rollback_cmd, setup),
        cmocka_unit_test_setup(test_init_args, setup),
        cmocka_unit_test(test_version_order),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
