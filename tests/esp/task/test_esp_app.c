/*
 * tests/esp/task/test_esp_app.c — the application API (aloft_esp.h) in
 * process, over the IDF fakes on a simulated ESP32: the Kconfig defaults,
 * the status before aloft_start, what aloft_start refuses (with the reason
 * in the status), the task's life (created as configured, subscribed to
 * the watchdog, stop waits for it, start works again), no-task mode,
 * the hook registry's limit, the mDNS announcements (over a fake mdns), and
 * a staged filesystem copy cut short finished by aloft_start.
 * Uploads are the integration scripts' part (tests/integration/test_esp_*.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aloft_esp.h"
#include "esp_event.h"
#include "esp_fixture.h"
#include "fake_esp.h"
#include "fake_task.h"
#include "freertos/task.h"

static esp_fx_t fx;

static int setup(void **state)
{
    (void)state;
    return espfx_setup(&fx, ALOFT_SCHEME_DEFAULT);
}

static int teardown(void **state)
{
    (void)state;
    aloft_stop();
    espfx_teardown(&fx);
    return 0;
}

static void config(aloft_esp_config_t *cfg)
{
    aloft_esp_config_default(cfg);
    cfg->password = "s3cret";
}

/* aloft_start on a free port of this family's range (3400..3419). */
static int start_on_free_port(aloft_esp_config_t *cfg)
{
    int err = ALOFT_ERR_CONNECT;
    for (unsigned i = 0; i < 40 && err == ALOFT_ERR_CONNECT; i++) {
        cfg->port = (uint16_t)(3400 + (unsigned)(getpid() + i) % 20);
        err = aloft_start(cfg);
    }
    return err;
}

static void wait_subscribed(unsigned want)
{
    fake_wdt_stats_t w;
    for (int i = 0; i < 500; i++) {   /* the task subscribes when it runs */
        fake_wdt_stats(&w);
        if (w.subscribed == want)
            return;
        vTaskDelay(pdMS_TO_TICKS(10));
    }
    fail_msg("%u tasks subscribed to the watchdog, want %u", w.subscribed, want);
}

static void test_defaults(void **state)
{
    aloft_esp_config_t cfg;
    (void)state;
    memset(&cfg, 0xa5, sizeof cfg);
    aloft_esp_config_default(&cfg);
    assert_int_equal(cfg.port, 3232);
    assert_null(cfg.hostname);
    assert_true(cfg.mdns);
    assert_null(cfg.password);
    assert_null(cfg.native_verifier);
    assert_null(cfg.espota_password);
    assert_null(cfg.signing_keys);
    assert_int_equal(cfg.espota_auth, ALOFT_ESPOTA_AUTH_MD5);
    assert_false(cfg.allow_open);
    assert_true(cfg.native && cfg.espota && cfg.task);
    assert_int_equal(cfg.window, 32768);
    assert_int_equal(cfg.idle_timeout_ms, 10000);
    assert_int_equal(cfg.task_stack, 8192);
    assert_int_equal(cfg.task_priority, 5);
    assert_int_equal(cfg.task_core, -1);
    assert_null(cfg.keys);
    assert_int_equal(cfg.nkeys, 0);
    assert_null(cfg.on_event);
}

static void test_status_before_start(void **state)
{
    aloft_status_t st;
    (void)state;
    assert_int_equal(aloft_status(&st), 0);
    assert_int_equal(st.running_slot, 0);
    assert_int_equal(st.running_state, ALOFT_OTA_VALID);
    assert_false(st.pending_verify || st.rolled_back || st.serving || st.updating);
    assert_string_equal(st.project, "demo");
    assert_string_equal(st.version, "1.0.0");
    assert_int_equal(st.last_error, 0);
    assert_int_equal(aloft_confirm(), 0);   /* VALID already: nothing to do */
}

static void expect_refused(const aloft_esp_config_t *cfg, int err, const char *reason)
{
    aloft_status_t st;
    assert_int_equal(aloft_start(cfg), err);
    aloft_status(&st);
    assert_false(st.serving);
    assert_int_equal(st.last_error, err);
    if (strstr(st.last_message, reason) == NULL)
        fail_msg("'%s' lacks '%s'", st.last_message, reason);
}

static void test_start_refused(void **state)
{
    aloft_esp_config_t cfg;
    (void)state;
    aloft_esp_config_default(&cfg);   /* no password */
    expect_refused(&cfg, ALOFT_ERR_ARG, "espota without a password");
    cfg.espota = false;
    expect_refused(&cfg, ALOFT_ERR_ARG, "native protocol without a password or verifier");
    cfg.native = false;
    expect_refused(&cfg, ALOFT_ERR_ARG, "neither espota nor the native protocol");
    config(&cfg);
    cfg.signing_keys = "0400";
    expect_refused(&cfg, ALOFT_ERR_ARG, "signing key 1 is not a P-256 public key");
    config(&cfg);
    cfg.native_verifier = "1:2:3";
    expect_refused(&cfg, ALOFT_ERR_ARG, "the native verifier is not");

    /* the port taken by another socket: the bind's reason and what to do */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(s, (struct sockaddr *)&a, &al);
    config(&cfg);
    cfg.port = ntohs(a.sin_port);
    expect_refused(&cfg, ALOFT_ERR_CONNECT,
                   "(another service on this port? set CONFIG_ALOFT_PORT)");
    close(s);
}

static void test_task_life(void **state)
{
    aloft_esp_config_t cfg;
    aloft_status_t st;
    fake_task_info_t t0, t;
    (void)state;
    config(&cfg);
    fake_task_last(&t0);
    assert_int_equal(start_on_free_port(&cfg), 0);
    fake_task_last(&t);
    assert_int_equal(t.created, t0.created + 1);
    assert_string_equal(t.name, "aloft");
    assert_int_equal(t.stack, 8192);
    assert_int_equal(t.priority, 5);
    assert_int_equal(t.core, tskNO_AFFINITY);
    aloft_status(&st);
    assert_true(st.serving);
    assert_int_equal(st.port, cfg.port);
    wait_subscribed(1);
    assert_int_equal(aloft_start(&cfg), ALOFT_ERR_BUSY);
    assert_int_equal(aloft_handle(0), ALOFT_ERR_STATE);   /* the task serves */

    aloft_stop();   /* returns once the task ended */
    aloft_status(&st);
    assert_false(st.serving);
    fake_wdt_stats_t w;
    fake_wdt_stats(&w);
    assert_int_equal(w.subscribed, 0);

    cfg.task_core = 1;
    cfg.task_priority = 7;
    cfg.task_stack = 12288;
    assert_int_equal(start_on_free_port(&cfg), 0);   /* and again */
    fake_task_last(&t);
    assert_int_equal(t.created, t0.created + 2);
    assert_int_equal(t.core, 1);
    assert_int_equal(t.priority, 7);
    assert_int_equal(t.stack, 12288);
    aloft_stop();
    aloft_stop();   /* safe when stopped */
    wait_subscribed(0);
}

static void test_no_task(void **state)
{
    aloft_esp_config_t cfg;
    fake_task_info_t t0, t;
    (void)state;
    config(&cfg);
    cfg.task = false;
    fake_task_last(&t0);
    assert_int_equal(start_on_free_port(&cfg), 0);
    fake_task_last(&t);
    assert_int_equal(t.created, t0.created);
    assert_int_equal(aloft_handle(0), 0);
    assert_int_equal(aloft_handle(5), 0);
    aloft_stop();
    assert_int_equal(aloft_handle(0), ALOFT_ERR_STATE);
}

static const fake_mdns_service_t *announced(const char *type)
{
    for (size_t i = 0; i < FAKE_MDNS_SERVICES; i++)
        if (strcmp(fake_mdns.services[i].type, type) == 0)
            return &fake_mdns.services[i];
    return NULL;
}

static void assert_txt(const fake_mdns_service_t *s, const char *const *want, size_t n)
{
    assert_int_equal(s->ntxt, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->txt[i], want[i]);
}

/* aloft_start announces the device through the mdns component: its name,
 * _aloft._tcp and _arduino._tcp with the core's records; aloft_stop takes
 * them back; an application's own responder keeps its host name. */
static void test_mdns(void **state)
{
    aloft_esp_config_t cfg;
    (void)state;
    config(&cfg);
    cfg.hostname = "gateway";
    memset(&fake_mdns, 0, sizeof fake_mdns);
    esp_event_loop_create_default();   /* mdns_init registers for its IP events */
    assert_int_equal(start_on_free_port(&cfg), 0);
    assert_true(fake_mdns.running);
    assert_string_equal(fake_mdns.hostname, "gateway");
    const fake_mdns_service_t *a = announced("_aloft._tcp"), *r = announced("_arduino._tcp");
    assert_non_null(a);
    assert_non_null(r);
    assert_string_equal(a->instance, "gateway");
    assert_int_equal(a->port, cfg.port);
    assert_int_equal(r->port, cfg.port);
    static const char *const aloft_txt[] = {"txtvers=1", "proto=1", "chip=esp32",
        "project=demo", "version=1.0.0", "auth=yes", "signed=no"};
    static const char *const arduino_txt[] = {"board=esp32", "tcp_check=no", "ssh_upload=no",
        "auth_upload=yes"};
    assert_txt(a, aloft_txt, 7);
    assert_txt(r, arduino_txt, 4);
    aloft_stop();
    assert_false(fake_mdns.running);   /* ours: mdns_free */

    /* the app runs mdns as "my-app" already; espota off: no _arduino._tcp */
    fake_mdns.running = true;
    strcpy(fake_mdns.hostname, "my-app");
    cfg.espota = false;
    assert_int_equal(start_on_free_port(&cfg), 0);
    assert_string_equal(fake_mdns.hostname, "my-app");
    assert_non_null(announced("_aloft._tcp"));
    assert_null(announced("_arduino._tcp"));
    aloft_stop();
    assert_true(fake_mdns.running);    /* the app's: left running */
    assert_null(announced("_aloft._tcp"));
    memset(&fake_mdns, 0, sizeof fake_mdns);

    cfg.mdns = false;   /* off: nothing announced */
    assert_int_equal(start_on_free_port(&cfg), 0);
    assert_false(fake_mdns.running);
    aloft_stop();
}

static void nop(void *ctx)
{
    (void)ctx;
}

/* Last: the registry outlives stop and start. */
/* A staged filesystem copy cut short (here: its journal open without
 * marks, spiffs erased, as a cut right after the journal's record leaves
 * them) is
 * finished by aloft_start before the application could mount spiffs. */
static void test_start_finishes_fs_copy(void **state)
{
    enum { SPIFFS = 0x290000, JOURNAL = 0x150000 + 0x140000 - 0x1000, LEN = 70000 };
    static uint8_t img[LEN];
    aloft_esp_config_t cfg;
    (void)state;
    for (size_t i = 0; i < LEN; i++)
        img[i] = (uint8_t)(i * 13 + (i >> 8));
    assert_int_equal(espfx_open(&fx), 0);
    assert_int_equal(espfx_update_target(&fx, ALOFT_TARGET_FS, img, LEN, 4096), 0);
    assert_string_equal(aloft_update_staging(&fx.dev.update)->label, "app1");
    uint8_t *mem = espfx_mem(&fx);
    assert_memory_equal(mem + SPIFFS, img, LEN);
    memset(mem + SPIFFS, 0xFF, 0x20000);
    memset(mem + JOURNAL + 48, 0xFF, 4);    /* the closed word and the first */
    memset(mem + JOURNAL + 256, 0xFF, 4);   /* mark, as before the copy */
    config(&cfg);
    assert_int_equal(start_on_free_port(&cfg), 0);
    assert_memory_equal(mem + SPIFFS, img, LEN);
    assert_memory_equal(mem + JOURNAL + 48, "\0\0\0\0", 4);   /* closed again */
    aloft_stop();
}

static void test_hooks(void **state)
{
    (void)state;
    assert_int_equal(aloft_add_pause("x", NULL, nop, NULL), ALOFT_ERR_ARG);
    for (int i = 0; i < ALOFT_QUIESCE_MAX; i++)
        assert_int_equal(aloft_add_pause("hook", nop, nop, NULL), 0);
    assert_int_equal(aloft_add_pause("one too many", nop, nop, NULL), ALOFT_ERR_BUFFER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_status_before_start),
        cmocka_unit_test(test_start_refused),
        cmocka_unit_test(test_task_life),
        cmocka_unit_test(test_no_task),
        cmocka_unit_test(test_mdns),
        cmocka_unit_test(test_start_finishes_fs_copy),
        cmocka_unit_test(test_hooks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
