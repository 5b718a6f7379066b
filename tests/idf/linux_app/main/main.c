/*
 * tests/idf/linux_app/main/main.c — the aloft component on IDF's Linux
 * target, driven by tools/idf/check.sh through the environment:
 *   ALOFT_IDF_FLASH  the flash file (made and booted by aloft-sim) that IDF's
 *                    emulated esp_partition maps instead of a fresh one
 *   ALOFT_IDF_MODE   "serve": aloft_start with a password on ALOFT_IDF_PORT
 *                    and wait for an upload (the component restarts the
 *                    "chip" after it, which on Linux exits 0);
 *                    "confirm": start, print the boot state, aloft_confirm()
 *                    (the health check passed), print it again, stop
 * Every line it prints starts with "aloft-linux-app:" for the script.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esp_private/partition_linux.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "aloft/wire/otadata.h"
#include "aloft_esp.h"

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("aloft-linux-app: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static void on_event(void *ctx, const aloft_esp_event_t *ev)
{
    (void)ctx;
    switch (ev->kind) {
    case ALOFT_EV_START: say("update started (%s)", ev->proto == ALOFT_PROTO_NATIVE ? "native" : "espota"); break;
    case ALOFT_EV_PROGRESS: break;
    case ALOFT_EV_END: say("update verified and activated (%u bytes)", (unsigned)ev->total); break;
    case ALOFT_EV_ERROR: say("update failed: %d %s", ev->err, ev->message ? ev->message : ""); break;
    }
}

/* The check expects one "paused" and one "resumed" around the upload. */
static void pause_hook(void *ctx) { (void)ctx; say("paused"); }
static void resume_hook(void *ctx) { (void)ctx; say("resumed"); }

static void print_status(void)
{
    aloft_status_t st;
    int rc = aloft_status(&st);
    if (rc != 0) {
        say("aloft_status: %d %s", rc, aloft_strerror(rc));
        return;
    }
    say("status: running slot %d, state %s, pending_verify %d, rolled_back %d, %s %s, "
        "serving %d, last_error %d",
        st.running_slot, aloft_ota_state_name(st.running_state), st.pending_verify, st.rolled_back,
        st.project, st.version, st.serving, st.last_error);
}

void app_main(void)
{
    const char *flash = getenv("ALOFT_IDF_FLASH");
    const char *mode = getenv("ALOFT_IDF_MODE");
    if (flash == NULL || mode == NULL) {
        say("set ALOFT_IDF_FLASH and ALOFT_IDF_MODE (serve|confirm)");
        exit(2);
    }
    /* Before the first esp_partition call: map the given flash file. */
    esp_partition_file_mmap_ctrl_t *mm = esp_partition_get_file_mmap_ctrl_input();
    snprintf(mm->flash_file_name, sizeof mm->flash_file_name, "%s", flash);
    mm->remove_dump = false;

    aloft_esp_config_t cfg;
    aloft_esp_config_default(&cfg);
    const char *port = getenv("ALOFT_IDF_PORT");
    cfg.port = (uint16_t)(port ? atoi(port) : 0);
    cfg.password = getenv("ALOFT_IDF_PASSWORD");
    cfg.on_event = on_event;

    int rc = aloft_add_pause("test", pause_hook, resume_hook, NULL);
    if (rc == 0)
        rc = aloft_start(&cfg);
    if (rc != 0) {
        say("aloft_start: %d %s", rc, aloft_strerror(rc));
        exit(1);
    }
    say("started");
    print_status();
    if (strcmp(mode, "confirm") == 0) {
        rc = aloft_confirm();
        say("aloft_confirm: %d", rc);
        print_status();
        aloft_stop();
        exit(rc == 0 ? 0 : 1);
    }
    say("serving on 127.0.0.1:%u", (unsigned)cfg.port);
    for (;;)   /* the component restarts (exits) after an activated update */
        vTaskDelay(pdMS_TO_TICKS(1000));
}
