/*
 * lib/agent.c — the MQTT agent's events and commands (see aloft/agent.h,
 * docs/FLEET.md §5, §6): every check of a release happens here, before the
 * port is asked to pull it.
 */
#include <string.h>

#include "agent_int.h"
#include "aloft/wire/image.h"
#include "aloft/util.h"
#include "aloft/wire/otadata.h"
#include "json.h"

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

static bool valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
              s[n] == '_' || s[n] == '-'))
            return false;
    return n >= 1 && n <= ALOFT_AGENT_NAME_MAX;
}

/* A topic prefix: levels without wildcards, no leading or trailing '/'. */
static bool valid_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= ALOFT_AGENT_PREFIX_MAX || s[0] == '/' || s[n - 1] == '/')
        return false;
    for (; *s; s++)
        if (*s == '+' || *s == '#')
            return false;
    return true;
}

/* ------------------------------------------------------------- versions */

/* A number at *s (saturating); advances *s. */
static uint32_t version_part(const char **s)
{
    uint32_t v = 0;
    while (**s >= '0' && **s <= '9') {
        v = v > 400000000u ? UINT32_MAX : v * 10 + (uint32_t)(**s - '0');
        (*s)++;
    }
    return v;
}

/* The end of the part a pre-release or build suffix does not belong to. */
static const char *pre_release(const char *s)
{
    while (*s && *s != '-' && *s != '+')
        s++;
    return *s == '-' ? s + 1 : NULL;
}

int aloft_agent_version_cmp(const char *a, const char *b)
{
    const char *pa = pre_release(a), *pb = pre_release(b);
    if (*a == 'v')
        a++;
    if (*b == 'v')
        b++;
    for (;;) {
        uint32_t x = version_part(&a), y = version_part(&b);
        if (x != y)
            return x < y ? -1 : 1;
        bool ma = *a == '.', mb = *b == '.';
        if (!ma && !mb)
            break;
        /* 1.2 equals 1.2.0 */
        if (ma)
            a++;
        if (mb)
            b++;
    }
    if ((pa == NULL) != (pb == NULL))
        return pa == NULL ? 1 : -1;   /* 2.1.0-rc1 < 2.1.0 */
    if (pa == NULL)
        return 0;
    for (; *pa && *pa != '+' && *pa == *pb; pa++, pb++)
        ;
    char ca = *pa == '+' ? '\0' : *pa, cb = *pb == '+' ? '\0' : *pb;
    return ca == cb ? 0 : (unsigned char)ca < (unsigned char)cb ? -1 : 1;
}

/* ------------------------------------------------------------- life */

static const aloft_agent_slot_t *target_slot(const aloft_agent_t *a)
{
    const aloft_agent_device_t *d = a->dev;
    return d->nslots ? &d->slots[((size_t)d->running + 1) % d->nslots] : NULL;
}

static void set_phase(aloft_agent_t *a, aloft_agent_phase_t phase)
{
    a->phase = (uint8_t)phase;
    a->pending |= AGENT_P_PROGRESS | AGENT_P_HA;
}

/* The record at boot: {"id", "version", "slot"} of the update that asked
 * for the reboot. */
static void resume_record(aloft_agent_t *a, const char *rec, size_t len,
                          const aloft_diag_t *boot_diag)
{
    aloft_json_t root, v;
    const aloft_agent_device_t *d = a->dev;
    if (aloft_json_parse(rec, len, &root) != 0 ||
        !aloft_json_member(&root, "id", &v) || aloft_json_string(&v, a->id, sizeof a->id) < 0 ||
        !aloft_json_member(&root, "version", &v) ||
        aloft_json_string(&v, a->version, sizeof a->version) < 0 ||
        !aloft_json_member(&root, "slot", &v) ||
        aloft_json_string(&v, a->target, sizeof a->target) < 0) {
        memset(a->id, 0, sizeof a->id);
        memset(a->version, 0, sizeof a->version);
        a->pending |= AGENT_P_SAVE;   /* erase it */
        return;
    }
    if (!aloft_str_eq(d->slots[d->running].label, a->target)) {
        /* the bootloader went back: the selected slot did not verify, or
         * the new image never confirmed itself */
        if (boot_diag && boot_diag->err)
            a->diag = *boot_diag;
        else
            aloft_diag_set(&a->diag, ALOFT_ERR_UNCONFIRMED, 0, 0, a->target);
        set_phase(a, ALOFT_AGENT_PHASE_FAILED);
        a->pending |= AGENT_P_SAVE;
    } else if (d->slots[d->running].state == ALOFT_OTA_PENDING_VERIFY) {
        a->busy = 1;   /* until it confirms itself (or a reset rolls it back) */
        a->phase = ALOFT_AGENT_PHASE_REBOOTING;
        a->record = true;
    } else {
        a->record = true;
        aloft_agent_confirmed(a);
    }
}

int aloft_agent_init(aloft_agent_t *a, const aloft_agent_config_t *cfg,
                     const aloft_agent_device_t *dev, const char *record, size_t len,
                     const aloft_diag_t *boot_diag)
{
    const char *prefix = cfg->prefix ? cfg->prefix : "aloft";
    memset(a, 0, sizeof *a);
    if (cfg->name == NULL || !valid_name(cfg->name) || !valid_prefix(prefix) ||
        (cfg->omg_prefix && !valid_prefix(cfg->omg_prefix)) || cfg->buf == NULL ||
        cfg->buf_len < ALOFT_AGENT_BUF_MIN || dev == NULL || dev->nslots == 0 ||
        dev->nslots > ALOFT_AGENT_SLOTS_MAX || dev->running < 0 ||
        (size_t)dev->running >= dev->nslots)
        return ALOFT_ERR_ARG;
    a->cfg = *cfg;
    a->dev = dev;
    copy_str(a->prefix, sizeof a->prefix, prefix);
    if (record && len)
        resume_record(a, record, len, boot_diag);
    return ALOFT_OK;
}

const char *aloft_agent_will_topic(aloft_agent_t *a)
{
    aloft_sbuf_t b;
    aloft_sbuf_init(&b, a->topic, sizeof a->topic);
    aloft_agent_put_topic(a, &b, "online");
    return a->topic;
}

void aloft_agent_connected(aloft_agent_t *a)
{
    a->connected = true;
    a->subs_done = 0;
    a->pending |= AGENT_P_SUBS | AGENT_P_ONLINE | AGENT_P_DISCOVERY | AGENT_P_STATE | AGENT_P_HA;
    if (a->phase != ALOFT_AGENT_PHASE_NONE)
        a->pending |= AGENT_P_PROGRESS;
}

void aloft_agent_disconnected(aloft_agent_t *a)
{
    a->connected = false;
}

void aloft_agent_device_changed(aloft_agent_t *a)
{
    a->pending |= AGENT_P_STATE | AGENT_P_HA | AGENT_P_DISCOVERY;
}

aloft_agent_phase_t aloft_agent_phase(const aloft_agent_t *a)
{
    return (aloft_agent_phase_t)a->phase;
}

/* ------------------------------------------------------------- commands */

static void refuse(aloft_agent_t *a, int err, uint32_t have, uint32_t want, const char *where)
{
    aloft_diag_set(&a->diag, err, have, want, where);
    a->done = a->total = 0;
    set_phase(a, ALOFT_AGENT_PHASE_REFUSED);
}

/* Member key of obj as a string into out; missing is "" when optional. */
static int get_str(const aloft_json_t *obj, const char *key, char *out, size_t n, bool optional)
{
    aloft_json_t v;
    out[0] = '\0';
    if (!aloft_json_member(obj, key, &v))
        return optional ? 0 : ALOFT_ERR_COMMAND;
    return aloft_json_string(&v, out, n) < 0 ? ALOFT_ERR_COMMAND : 0;
}

static bool get_true(const aloft_json_t *obj, const char *key)
{
    aloft_json_t v;
    return aloft_json_member(obj, key, &v) && v.type == ALOFT_JSON_TRUE;
}

static int get_sha256(const aloft_json_t *obj, const char *key, uint8_t out[32])
{
    char hex[65];
    if (get_str(obj, key, hex, sizeof hex, false) != 0 ||
        !aloft_unhex(hex, strlen(hex), out, 32))
        return ALOFT_ERR_COMMAND;
    return 0;
}

static bool http_url(const char *u)
{
    return (aloft_str_starts(u, "http://") && u[7]) || (aloft_str_starts(u, "https://") && u[8]);
}

/* The patch from the running image among obj's "patches", into r. An
 * entry that is malformed is passed over: the file serves instead. */
static void find_patch(const aloft_agent_t *a, const aloft_json_t *obj, aloft_agent_release_t *r)
{
    const aloft_agent_slot_t *run = &a->dev->slots[a->dev->running];
    aloft_json_t arr, e, v;
    uint8_t base[32];
    if (!run->has_image || !aloft_json_member(obj, "patches", &arr))
        return;
    for (size_t i = 0; aloft_json_element(&arr, i, &e); i++) {
        if (get_sha256(&e, "base_sha256", base) != 0 || memcmp(base, run->sha256, 32) != 0 ||
            !aloft_json_member(&e, "size", &v) || aloft_json_u32(&v, &r->patch_size) != 0 ||
            get_sha256(&e, "sha256", r->patch_sha256) != 0 ||
            get_str(&e, "url", r->patch_url, sizeof r->patch_url, false) != 0 ||
            !http_url(r->patch_url)) {
            r->patch_size = 0;
            continue;
        }
        if (r->patch_size)
            return;
    }
}

/* The release object (FLEET.md §3) into r; *bad names the first member
 * that is missing or invalid. The OpenMQTTGateway form (omg) takes chip
 * and project from the running image. */
static int parse_release(const aloft_agent_t *a, const aloft_json_t *obj, bool omg,
                         aloft_agent_release_t *r, const char **bad)
{
    char chip[24];
    aloft_json_t v;
    memset(r, 0, sizeof *r);
    if (omg) {
        copy_str(r->project, sizeof r->project, a->dev->project);
        r->chip_id = a->dev->chip_id;
    } else {
        if (get_str(obj, "project", r->project, sizeof r->project, false) != 0)
            return *bad = "project", ALOFT_ERR_COMMAND;
        if (get_str(obj, "chip", chip, sizeof chip, false) != 0 ||
            aloft_chip_parse(chip, &r->chip_id) != 0)
            return *bad = "chip", ALOFT_ERR_COMMAND;
    }
    if (!aloft_json_member(obj, "size", &v) || aloft_json_u32(&v, &r->size) != 0 || r->size == 0)
        return *bad = "size", ALOFT_ERR_COMMAND;
    if (get_str(obj, "version", r->version, sizeof r->version, false) != 0 || !r->version[0])
        return *bad = "version", ALOFT_ERR_COMMAND;
    if (get_str(obj, "url", r->url, sizeof r->url, false) != 0 || !http_url(r->url))
        return *bad = "url", ALOFT_ERR_COMMAND;
    if (get_sha256(obj, "sha256", r->sha256) != 0)
        return *bad = "sha256", ALOFT_ERR_COMMAND;
    r->is_signed = get_true(obj, "signed");
    if (get_str(obj, "summary", r->summary, sizeof r->summary, true) != 0)
        return *bad = "summary", ALOFT_ERR_COMMAND;
    if (get_str(obj, "release_url", r->release_url, sizeof r->release_url, true) != 0)
        return *bad = "release_url", ALOFT_ERR_COMMAND;
    find_patch(a, obj, r);
    return 0;
}

/* Every check of FLEET.md §6.1, then the pull. */
static void install(aloft_agent_t *a, const aloft_agent_release_t *r, bool allow_downgrade)
{
    const aloft_agent_device_t *d = a->dev;
    const aloft_agent_slot_t *t = target_slot(a);
    copy_str(a->version, sizeof a->version, r->version);
    if (d->slots[d->running].state == ALOFT_OTA_PENDING_VERIFY) {
        refuse(a, ALOFT_ERR_PENDING, 0, 0, d->slots[d->running].label);
        return;
    }
    if (t == NULL || t == &d->slots[d->running]) {
        refuse(a, ALOFT_ERR_NO_SLOT, 0, 0, "app");
        return;
    }
    if (r->chip_id != d->chip_id) {
        refuse(a, ALOFT_ERR_IMG_CHIP, r->chip_id, d->chip_id, NULL);
        return;
    }
    if (!aloft_str_eq(r->project, d->project)) {
        refuse(a, ALOFT_ERR_PROJECT, 0, 0, d->project);
        return;
    }
    if (!allow_downgrade && aloft_agent_version_cmp(r->version, d->version) <= 0) {
        refuse(a, ALOFT_ERR_NOT_NEWER, 0, 0, d->version);
        return;
    }
    if (d->signed_only && !r->is_signed) {
        refuse(a, ALOFT_ERR_UNSIGNED, 0, 0, NULL);
        return;
    }
    if (r->size > d->slot_size) {
        refuse(a, ALOFT_ERR_TOO_LARGE, r->size, d->slot_size, t->label);
        return;
    }
    if (&a->release != r)
        a->release = *r;
    copy_str(a->target, sizeof a->target, t->label);
    memset(&a->diag, 0, sizeof a->diag);
    a->busy = 1;
    a->done = 0;
    a->total = r->size;
    a->report_ms = a->now_ms;   /* the first report after the accepted one: 1 s on */
    a->report_done = 0;
    set_phase(a, ALOFT_AGENT_PHASE_DOWNLOADING);
    a->pending |= AGENT_P_PULL;
}

/* A fresh id for an install Home Assistant asked for. */
static void ha_id(aloft_agent_t *a)
{
    aloft_sbuf_t b;
    aloft_sbuf_init(&b, a->id, sizeof a->id);
    aloft_sbuf_str(&b, "ha-");
    aloft_sbuf_u32(&b, ++a->ha_seq);
}

static void install_latest(aloft_agent_t *a, bool allow_downgrade)
{
    if (!a->has_latest) {
        a->version[0] = '\0'; {
            refuse(a, ALOFT_ERR_COMMAND, 0, 0, "release");
            return;
        }
    }
    install(a, &a->latest, allow_downgrade);
}

/* A command while an update runs: refused BUSY under its own id, and the
 * running update's report published again right after, so the retained
 * progress stays the running one's. */
static void refuse_busy(aloft_agent_t *a, const char *id, const char *version)
{
    copy_str(a->busy_id, sizeof a->busy_id, id);
    copy_str(a->busy_version, sizeof a->busy_version, version);
    a->pending |= AGENT_P_BUSY;
}

/* PREFIX/DEV/cmd (FLEET.md §6.1). */
static void command(aloft_agent_t *a, const char *p, size_t n)
{
    aloft_json_t root, v;
    char op[16] = "", id[ALOFT_AGENT_ID_MAX] = "", version[ALOFT_AGENT_TEXT_MAX] = "";
    const char *bad = "op";
    aloft_agent_release_t r;
    bool ok = aloft_json_parse(p, n, &root) == 0 && root.type == ALOFT_JSON_OBJECT &&
              get_str(&root, "op", op, sizeof op, false) == 0;
    if (ok && aloft_str_eq(op, "state")) {
        a->pending |= AGENT_P_STATE;
        return;
    }
    if (ok && get_str(&root, "id", id, sizeof id, true) != 0)
        id[0] = '\0';
    if (a->busy) {
        if (ok && aloft_json_member(&root, "release", &v))
            get_str(&v, "version", version, sizeof version, true);
        refuse_busy(a, id, version);
        return;
    }
    copy_str(a->id, sizeof a->id, id);
    a->version[0] = '\0';
    if (ok && aloft_str_eq(op, "rollback")) {
        memset(&a->diag, 0, sizeof a->diag);
        a->busy = 1;
        a->pending |= AGENT_P_ROLLBACK;
        return;
    }
    if (!ok || !aloft_str_eq(op, "install")) {
        refuse(a, ALOFT_ERR_COMMAND, 0, 0, "op");
        return;
    }
    bool allow = get_true(&root, "allow_downgrade");
    if (get_true(&root, "latest")) {
        install_latest(a, allow);
        return;
    }
    if (!aloft_json_member(&root, "release", &v) || v.type != ALOFT_JSON_OBJECT) {
        refuse(a, ALOFT_ERR_COMMAND, 0, 0, "release");
        return;
    }
    if (parse_release(a, &v, false, &r, &bad) != 0) {
        copy_str(a->version, sizeof a->version, r.version);
        refuse(a, ALOFT_ERR_COMMAND, 0, 0, bad);
        return;
    }
    install(a, &r, allow);
}

/* OMG/commands/MQTTtoSYS/firmware_update (FLEET.md §6.2). */
static void omg_command(aloft_agent_t *a, const char *p, size_t n)
{
    aloft_json_t root, v;
    aloft_agent_release_t r;
    const char *bad = "version";
    if (a->busy) {
        refuse_busy(a, "", "");
        return;
    }
    a->id[0] = '\0';
    a->version[0] = '\0';
    if (aloft_json_parse(p, n, &root) != 0 || root.type != ALOFT_JSON_OBJECT) {
        refuse(a, ALOFT_ERR_COMMAND, 0, 0, "firmware_update");
        return;
    }
    if (parse_release(a, &root, true, &r, &bad) != 0) {
        copy_str(a->version, sizeof a->version, r.version);
        refuse(a, ALOFT_ERR_COMMAND, 0, 0, bad);
        return;
    }
    if (a->cfg.check_password) {
        char pw[65];
        int len = aloft_json_member(&root, "password", &v) ? aloft_json_string(&v, pw, sizeof pw)
                                                           : -1;
        if (len < 0 || a->cfg.check_password(a->cfg.ctx, pw, (size_t)len) != 0) {
            copy_str(a->version, sizeof a->version, r.version); {
                refuse(a, ALOFT_ERR_AUTH, 0, 0, NULL);
                return;
            }
        }
    }
    install(a, &r, false);
}

/* PREFIX/release/PROJECT (retained): what "latest" installs. */
static void release_seen(aloft_agent_t *a, const char *p, size_t n)
{
    aloft_json_t root;
    const char *bad;
    aloft_agent_release_t r;
    if (aloft_json_parse(p, n, &root) != 0 || parse_release(a, &root, false, &r, &bad) != 0 ||
        !aloft_str_eq(r.project, a->dev->project)) {
        a->has_latest = false;   /* an empty retained message clears it too */
    } else {
        a->latest = r;
        a->has_latest = true;
    }
    a->pending |= AGENT_P_HA;
}

/* Whether topic (len n) is PREFIX/DEV/leaf. */
static bool is_topic(aloft_agent_t *a, const char *topic, const char *leaf)
{
    aloft_sbuf_t b;
    aloft_sbuf_init(&b, a->topic, sizeof a->topic);
    aloft_agent_put_topic(a, &b, leaf);
    return aloft_sbuf_fits(&b) && aloft_str_eq(topic, a->topic);
}

/* Subscription i (0..) into a->topic; false past the last. */
static bool sub_topic(aloft_agent_t *a, unsigned i)
{
    aloft_sbuf_t b;
    aloft_sbuf_init(&b, a->topic, sizeof a->topic);
    switch (i) {
    case 0: aloft_agent_put_topic(a, &b, "cmd"); break;
    case 1: aloft_agent_put_topic(a, &b, "ha/install"); break;
    case 2:
        aloft_sbuf_str(&b, a->prefix);
        aloft_sbuf_str(&b, "/release/");
        aloft_sbuf_str(&b, a->dev->project);
        break;
    case 3:
        if (a->cfg.omg_prefix == NULL)
            return false;
        aloft_sbuf_str(&b, a->cfg.omg_prefix);
        aloft_sbuf_str(&b, "/commands/MQTTtoSYS/firmware_update");
        break;
    default: return false;
    }
    return aloft_sbuf_fits(&b);
}

void aloft_agent_message(aloft_agent_t *a, uint64_t now_ms, const char *topic,
                         const void *payload, size_t len)
{
    const char *p = payload;
    a->now_ms = now_ms;
    if (is_topic(a, topic, "cmd")) {
        command(a, p, len);
    } else if (is_topic(a, topic, "ha/install")) {
        if (len != 7 || memcmp(p, "install", 7) != 0)
            return;
        if (a->busy) {
            refuse_busy(a, "ha", "");
            return;
        }
        ha_id(a);
        install_latest(a, false);
    } else if (sub_topic(a, 2) && aloft_str_eq(topic, a->topic)) {
        release_seen(a, p, len);
    } else if (sub_topic(a, 3) && aloft_str_eq(topic, a->topic)) {
        omg_command(a, p, len);
    }
}

/* ------------------------------------------------------------- pull */

void aloft_agent_pull_progress(aloft_agent_t *a, uint64_t now_ms, uint32_t done, uint32_t total)
{
    if (a->phase != ALOFT_AGENT_PHASE_DOWNLOADING)
        return;
    a->done = done;
    if (total)
        a->total = total;
    uint64_t step = a->total / 20;   /* 5 % */
    if (now_ms - a->report_ms >= 1000 && (uint64_t)(done - a->report_done) >= step) {
        a->report_ms = now_ms;
        a->report_done = done;
        a->pending |= AGENT_P_PROGRESS | AGENT_P_HA;
    }
}

void aloft_agent_pull_done(aloft_agent_t *a, const aloft_diag_t *diag)
{
    if (!a->busy)
        return;
    if (diag && diag->err) {
        a->diag = *diag;
        a->busy = 0;
        set_phase(a, ALOFT_AGENT_PHASE_FAILED);
        return;
    }
    if (a->phase == ALOFT_AGENT_PHASE_DOWNLOADING)
        a->done = a->total;
    a->record = true;
    set_phase(a, ALOFT_AGENT_PHASE_REBOOTING);
    a->pending |= AGENT_P_SAVE | AGENT_P_REBOOT;
}

void aloft_agent_confirmed(aloft_agent_t *a)
{
    if (!a->record)
        return;
    a->busy = 0;
    a->record = false;
    memset(&a->diag, 0, sizeof a->diag);
    set_phase(a, ALOFT_AGENT_PHASE_CONFIRMED);
    a->pending |= AGENT_P_SAVE | AGENT_P_STATE;
}

/* ------------------------------------------------------------- poll */

/* The payload built in b becomes act's; drop it if it was cut. */
static int emit(aloft_agent_t *a, aloft_agent_action_t *act, aloft_agent_act_t kind,
                const aloft_sbuf_t *b, bool retain)
{
    if (!aloft_sbuf_fits(b))
        return ALOFT_ERR_BUFFER;
    act->kind = kind;
    act->topic = a->topic;
    act->payload = b->p;
    act->len = b->len;
    act->retain = retain;
    return 1;
}

static int publish(aloft_agent_t *a, aloft_agent_action_t *act, uint32_t bit)
{
    aloft_sbuf_t t, b;
    aloft_sbuf_init(&t, a->topic, sizeof a->topic);
    aloft_sbuf_init(&b, a->cfg.buf, a->cfg.buf_len);
    a->pending &= ~bit;
    switch (bit) {
    case AGENT_P_ONLINE:
        aloft_agent_put_topic(a, &t, "online");
        aloft_sbuf_str(&b, "online");
        break;
    case AGENT_P_DISCOVERY:
        aloft_sbuf_str(&t, "homeassistant/update/");
        aloft_sbuf_str(&t, a->cfg.name);
        aloft_sbuf_str(&t, "/firmware/config");
        aloft_agent_put_discovery(a, &b);
        break;
    case AGENT_P_STATE:
        aloft_agent_put_topic(a, &t, "state");
        aloft_agent_put_state(a, &b);
        break;
    case AGENT_P_HA:
        aloft_agent_put_topic(a, &t, "ha");
        aloft_agent_put_ha(a, &b);
        break;
    case AGENT_P_BUSY:
        aloft_agent_put_topic(a, &t, "update");
        aloft_agent_put_progress(a, &b, true);
        a->pending |= AGENT_P_PROGRESS;
        break;
    default:
        aloft_agent_put_topic(a, &t, "update");
        aloft_agent_put_progress(a, &b, false);
        break;
    }
    if (!aloft_sbuf_fits(&t))
        return ALOFT_ERR_BUFFER;
    return emit(a, act, ALOFT_AGENT_PUBLISH, &b, true);
}

int aloft_agent_poll(aloft_agent_t *a, aloft_agent_action_t *act)
{
    static const uint32_t publishes[] = {AGENT_P_ONLINE, AGENT_P_DISCOVERY, AGENT_P_STATE,
                                         AGENT_P_HA, AGENT_P_BUSY, AGENT_P_PROGRESS};
    memset(act, 0, sizeof *act);
    if (a->connected && (a->pending & AGENT_P_SUBS)) {
        if (sub_topic(a, a->subs_done)) {
            a->subs_done++;
            act->kind = ALOFT_AGENT_SUBSCRIBE;
            act->topic = a->topic;
            return 1;
        }
        a->pending &= ~(uint32_t)AGENT_P_SUBS;
    }
    for (size_t i = 0; a->connected && i < sizeof publishes / sizeof publishes[0]; i++)
        if (a->pending & publishes[i])
            return publish(a, act, publishes[i]);
    if (a->pending & AGENT_P_SAVE) {
        aloft_sbuf_t b;
        aloft_sbuf_init(&b, a->cfg.buf, a->cfg.buf_len);
        a->pending &= ~(uint32_t)AGENT_P_SAVE;
        if (a->record)
            aloft_agent_put_record(a, &b);
        return emit(a, act, ALOFT_AGENT_SAVE, &b, false);
    }
    if (a->pending & (AGENT_P_PULL | AGENT_P_ROLLBACK)) {
        act->kind = a->pending & AGENT_P_PULL ? ALOFT_AGENT_PULL : ALOFT_AGENT_ROLLBACK;
        act->release = &a->release;
        a->pending &= ~(uint32_t)(AGENT_P_PULL | AGENT_P_ROLLBACK);
        return 1;
    }
    if (a->pending & AGENT_P_REBOOT) {
        a->pending &= ~(uint32_t)AGENT_P_REBOOT;
        act->kind = ALOFT_AGENT_REBOOT;
        return 1;
    }
    return 0;
}
