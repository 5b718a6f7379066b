/*
 * lib/agent_payload.c — the JSON the agent publishes (docs/FLEET.md §4, §5,
 * §7) and the record it keeps across a reboot, built with sbuf (no printf).
 */
#include <string.h>

#include "agent_int.h"
#include "aloft/wire/image.h"
#include "aloft/wire/otadata.h"
#include "json.h"

static const char *const phase_names[] = {
    "none", "refused", "downloading", "rebooting", "confirmed", "failed",
};

void aloft_agent_put_topic(const aloft_agent_t *a, aloft_sbuf_t *b, const char *leaf)
{
    aloft_sbuf_str(b, a->prefix);
    aloft_sbuf_char(b, '/');
    aloft_sbuf_str(b, a->cfg.name);
    aloft_sbuf_char(b, '/');
    aloft_sbuf_str(b, leaf);
}

/* "esp32s3": the chip as IDF targets and FLEET.md name it. */
static void put_chip(aloft_sbuf_t *b, uint16_t chip_id)
{
    aloft_sbuf_char(b, '"');
    for (const char *s = aloft_chip_name(chip_id); *s; s++)
        if (*s != '-')
            aloft_sbuf_char(b, *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s);
    aloft_sbuf_char(b, '"');
}

static void put_hex(aloft_sbuf_t *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    aloft_sbuf_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        aloft_sbuf_char(b, hex[p[i] >> 4]);
        aloft_sbuf_char(b, hex[p[i] & 0xF]);
    }
    aloft_sbuf_char(b, '"');
}

static void put_str_member(aloft_sbuf_t *b, const char *key, const char *v, bool first)
{
    aloft_json_put_key(b, key, first);
    aloft_json_put_str(b, v);
}

/* A string member that is null when empty. */
static void put_opt_member(aloft_sbuf_t *b, const char *key, const char *v)
{
    aloft_json_put_key(b, key, false);
    if (v[0])
        aloft_json_put_str(b, v);
    else
        aloft_sbuf_str(b, "null");
}

static void put_u32_member(aloft_sbuf_t *b, const char *key, uint32_t v)
{
    aloft_json_put_key(b, key, false);
    aloft_sbuf_u32(b, v);
}

void aloft_agent_put_state(const aloft_agent_t *a, aloft_sbuf_t *b)
{
    const aloft_agent_device_t *d = a->dev;
    aloft_sbuf_char(b, '{');
    put_str_member(b, "name", a->cfg.name, true);
    aloft_json_put_key(b, "chip", false);
    put_chip(b, d->chip_id);
    put_str_member(b, "project", d->project, false);
    put_str_member(b, "version", d->version, false);
    put_str_member(b, "running_slot", d->slots[d->running].label, false);
    aloft_json_put_key(b, "signed_only", false);
    aloft_sbuf_str(b, d->signed_only ? "true" : "false");
    put_u32_member(b, "agent", 1);
    aloft_json_put_key(b, "slots", false);
    aloft_sbuf_char(b, '[');
    for (size_t i = 0; i < d->nslots; i++) {
        const aloft_agent_slot_t *s = &d->slots[i];
        if (i)
            aloft_sbuf_char(b, ',');
        aloft_sbuf_char(b, '{');
        put_str_member(b, "label", s->label, true);
        put_str_member(b, "state", s->has_image ? aloft_ota_state_name(s->state) : "EMPTY", false);
        if (s->has_image) {
            put_str_member(b, "project", s->project, false);
            put_str_member(b, "version", s->version, false);
            aloft_json_put_key(b, "sha256", false);
            put_hex(b, s->sha256, sizeof s->sha256);
        }
        aloft_sbuf_char(b, '}');
    }
    aloft_sbuf_str(b, "]}");
}

/* {"code": -NN, "message": "...", "hint": "..."}: the CLI's words. */
static void put_error(aloft_sbuf_t *b, const aloft_diag_t *d)
{
    char text[320];
    const char *msg = aloft_strerror(d->err);
    size_t mlen = strlen(msg);
    size_t n = aloft_diag_format(d, text, sizeof text);
    aloft_sbuf_str(b, "{\"code\":-");
    aloft_sbuf_u32(b, (uint32_t)-d->err);
    put_str_member(b, "message", msg, false);
    /* aloft_diag_format wrote "message: hint" */
    put_str_member(b, "hint", n > mlen + 2 ? text + mlen + 2 : "", false);
    aloft_sbuf_char(b, '}');
}

void aloft_agent_put_progress(const aloft_agent_t *a, aloft_sbuf_t *b, bool busy)
{
    aloft_diag_t refused = {.err = ALOFT_ERR_BUSY};
    const char *id = busy ? a->busy_id : a->id;
    const aloft_diag_t *d = busy ? &refused : &a->diag;
    aloft_sbuf_char(b, '{');
    aloft_json_put_key(b, "id", true);
    if (id[0])
        aloft_json_put_str(b, id);
    else
        aloft_sbuf_str(b, "null");
    put_opt_member(b, "version", busy ? a->busy_version : a->version);
    put_str_member(b, "phase", phase_names[busy ? ALOFT_AGENT_PHASE_REFUSED : a->phase], false);
    put_u32_member(b, "done", busy ? 0 : a->done);
    put_u32_member(b, "total", busy ? 0 : a->total);
    aloft_json_put_key(b, "error", false);
    if (d->err)
        put_error(b, d);
    else
        aloft_sbuf_str(b, "null");
    aloft_sbuf_char(b, '}');
}

void aloft_agent_put_discovery(const aloft_agent_t *a, aloft_sbuf_t *b)
{
    const char *dev = a->cfg.name;
    aloft_sbuf_char(b, '{');
    put_str_member(b, "name", "Firmware", true);
    aloft_json_put_key(b, "unique_id", false);
    aloft_sbuf_str(b, "\"aloft_");
    aloft_sbuf_str(b, dev);
    aloft_sbuf_str(b, "_firmware\"");
    /* object_id stopped working in Home Assistant 2026.4; an entity id
     * takes only [a-z0-9_] */
    aloft_json_put_key(b, "default_entity_id", false);
    aloft_sbuf_str(b, "\"update.");
    for (const char *c = dev; *c; c++)
        aloft_sbuf_char(b, *c == '-' ? '_' : *c);
    aloft_sbuf_str(b, "_firmware\"");
    put_str_member(b, "device_class", "firmware", false);
    aloft_json_put_key(b, "state_topic", false);
    aloft_sbuf_char(b, '"');
    aloft_agent_put_topic(a, b, "ha");
    aloft_sbuf_char(b, '"');
    aloft_json_put_key(b, "command_topic", false);
    aloft_sbuf_char(b, '"');
    aloft_agent_put_topic(a, b, "ha/install");
    aloft_sbuf_char(b, '"');
    put_str_member(b, "payload_install", "install", false);
    aloft_json_put_key(b, "availability_topic", false);
    aloft_sbuf_char(b, '"');
    aloft_agent_put_topic(a, b, "online");
    aloft_sbuf_char(b, '"');
    put_str_member(b, "payload_available", "online", false);
    put_str_member(b, "payload_not_available", "offline", false);
    aloft_json_put_key(b, "device", false);
    aloft_sbuf_str(b, "{\"identifiers\":[\"aloft_");
    aloft_sbuf_str(b, dev);
    aloft_sbuf_str(b, "\"]");
    put_str_member(b, "name", dev, false);
    aloft_json_put_key(b, "model", false);
    put_chip(b, a->dev->chip_id);
    put_str_member(b, "sw_version", a->dev->version, false);
    put_str_member(b, "manufacturer", "aloft", false);
    aloft_sbuf_str(b, "}}");
}

void aloft_agent_put_ha(const aloft_agent_t *a, aloft_sbuf_t *b)
{
    const aloft_agent_device_t *d = a->dev;
    bool running = a->phase == ALOFT_AGENT_PHASE_DOWNLOADING ||
                   a->phase == ALOFT_AGENT_PHASE_REBOOTING;
    /* while an update runs, the version it installs is the latest (after
     * the reboot only the record's version is known) */
    const aloft_agent_release_t *r = running ? &a->release : a->has_latest ? &a->latest : NULL;
    aloft_sbuf_char(b, '{');
    put_str_member(b, "installed_version", d->version, true);
    put_str_member(b, "latest_version", running ? a->version : r ? r->version : d->version, false);
    aloft_json_put_key(b, "in_progress", false);
    aloft_sbuf_str(b, running ? "true" : "false");
    aloft_json_put_key(b, "update_percentage", false);
    if (a->phase == ALOFT_AGENT_PHASE_REBOOTING)
        aloft_sbuf_str(b, "100");
    else if (running && a->total)
        aloft_sbuf_u32(b, (uint32_t)((uint64_t)a->done * 100 / a->total));
    else if (running)
        aloft_sbuf_char(b, '0');
    else
        aloft_sbuf_str(b, "null");
    put_str_member(b, "title", d->project, false);
    put_opt_member(b, "release_summary", r ? r->summary : "");
    put_opt_member(b, "release_url", r ? r->release_url : "");
    aloft_sbuf_char(b, '}');
}

void aloft_agent_put_record(const aloft_agent_t *a, aloft_sbuf_t *b)
{
    aloft_sbuf_char(b, '{');
    put_str_member(b, "id", a->id, true);
    put_str_member(b, "version", a->version, false);
    put_str_member(b, "slot", a->target, false);
    aloft_sbuf_char(b, '}');
}
