/*
 * tests/fuzz/fuzz_agent.c — libFuzzer target: the MQTT agent engine
 * (aloft/agent.h) and its JSON reader on arbitrary input. The first byte
 * picks where the rest goes: the command topic, OpenMQTTGateway's topic,
 * the release topic, Home Assistant's install topic, or the record read
 * back at boot; the next byte drives pull events afterwards. Checks: every
 * payload the agent publishes or saves is JSON the reader accepts (so its
 * writer escapes what it copies from input), a refused command asks for no
 * pull, save or reboot, and nothing overruns (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aloft/agent.h"
#include "aloft/wire/image.h"
#include "aloft/wire/otadata.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

/* Every action; returns a bit per kind seen. */
static unsigned drain(aloft_agent_t *a)
{
    aloft_agent_action_t act;
    aloft_json_t root;
    unsigned kinds = 0;
    int r, n = 0;
    while ((r = aloft_agent_poll(a, &act)) != 0) {
        check(++n < 64);
        if (r < 0)
            continue;
        kinds |= 1u << act.kind;
        if (act.kind == ALOFT_AGENT_PUBLISH && !(act.len == 6 && memcmp(act.payload, "online", 6) == 0))
            check(aloft_json_parse(act.payload, act.len, &root) == 0);
        if (act.kind == ALOFT_AGENT_SAVE && act.len)
            check(aloft_json_parse(act.payload, act.len, &root) == 0);
        if (act.kind == ALOFT_AGENT_PULL)
            check(act.release->size > 0 && act.release->url[0] &&
                  (act.release->patch_size == 0 || act.release->patch_url[0] == 'h'));
    }
    return kinds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const topics[] = {"aloft/gw1/cmd", "home/gw1/commands/MQTTtoSYS/firmware_update",
                                         "aloft/release/gateway", "aloft/gw1/ha/install"};
    static aloft_agent_t a;
    static aloft_agent_device_t dev;
    static char buf[ALOFT_AGENT_BUF_MIN];
    if (size < 2)
        return 0;
    memset(&dev, 0, sizeof dev);
    dev.chip_id = ALOFT_CHIP_ESP32;
    strcpy(dev.project, "gateway");
    strcpy(dev.version, "2.0.0");
    dev.slot_size = 0x140000;
    dev.nslots = 2;
    dev.running = data[1] & 1;
    dev.signed_only = data[1] & 2;
    for (int i = 0; i < 2; i++) {
        dev.slots[i].label[0] = 'a';
        dev.slots[i].label[1] = (char)('0' + i);
        dev.slots[i].has_image = true;
        dev.slots[i].state = data[1] & 4 ? ALOFT_OTA_PENDING_VERIFY : ALOFT_OTA_VALID;
    }
    aloft_agent_config_t cfg = {.name = "gw1", .omg_prefix = "home/gw1", .buf = buf,
                                .buf_len = sizeof buf};
    unsigned pick = data[0] % 5;
    const char *p = (const char *)data + 2;
    size_t n = size - 2;
    check(aloft_agent_init(&a, &cfg, &dev, pick == 4 ? p : NULL, pick == 4 ? n : 0, NULL) == 0);
    aloft_agent_connected(&a);
    drain(&a);
    if (pick < 4) {
        aloft_agent_message(&a, 1000, topics[pick], p, n);
        unsigned kinds = drain(&a);
        if (aloft_agent_phase(&a) == ALOFT_AGENT_PHASE_REFUSED)
            check(!(kinds & (1u << ALOFT_AGENT_PULL | 1u << ALOFT_AGENT_SAVE | 1u << ALOFT_AGENT_REBOOT)));
    }
    /* then a download: progress, and an end chosen by the input */
    aloft_agent_pull_progress(&a, 5000, 1000, 0);
    aloft_agent_pull_progress(&a, 9000, 0x100000, 0x100000);
    aloft_diag_t d = {.err = data[1] & 8 ? ALOFT_ERR_SHA256 : 0};
    aloft_agent_pull_done(&a, &d);
    drain(&a);
    aloft_agent_confirmed(&a);
    drain(&a);
    return 0;
}
