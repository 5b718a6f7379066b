/*
 * sim/agent.c — see agent.h. The port side of aloft/agent.h: the device
 * object from the simulated flash, the engine's actions carried out with
 * libmosquitto, sim_pull and sim_boot.
 */
#include "agent.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto_mbedtls.h"

static const aloft_crypto_t *crypto = &aloft_mbedtls_crypto;

/* Broker reconnects: the first at once, then 250 ms doubling up to 30 s,
 * so that a fleet whose broker restarts does not come back all at once
 * and keep hammering it (libmosquitto's own backoff is for its threaded
 * loop, which the simulator does not use). */
enum { BACKOFF_FIRST_MS = 250, BACKOFF_MAX_MS = 30000 };

void sim_agent_lib_init(void)
{
    mosquitto_lib_init();
}

/* Truncating copy (snprintf here trips GCC -O2's -Wformat-truncation). */
static void copy_str(char *dst, size_t n, const char *src)
{
    size_t len = strnlen(src, n - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* The device object (FLEET.md §4) of what the flash holds now. */
static void describe(sim_agent_t *sa)
{
    sim_device_t *sim = sa->sim;
    const aloft_boot_t *b = &sim->boot;
    aloft_agent_device_t *d = &sa->dev;
    memset(d, 0, sizeof *d);
    d->chip_id = sim->chip_id;
    d->signed_only = sim->cfg.nkeys > 0;
    d->nslots = b->od.nslots < ALOFT_AGENT_SLOTS_MAX ? (size_t)b->od.nslots : ALOFT_AGENT_SLOTS_MAX;
    d->running = b->slot;
    if (b->info.has_desc) {
        copy_str(d->project, sizeof d->project, b->info.desc.project_name);
        copy_str(d->version, sizeof d->version, b->info.desc.version);
    }
    d->slot_size = b->od.slots[((size_t)b->slot + 1) % (size_t)b->od.nslots]->size;
    sa->scratch.od = b->od;   /* the slots to verify */
    for (size_t i = 0; i < d->nslots; i++) {
        aloft_agent_slot_t *s = &d->slots[i];
        aloft_image_info_t info;
        const aloft_image_info_t *in = &info;
        copy_str(s->label, sizeof s->label, b->od.slots[i]->label);
        s->state = aloft_otadata_slot_state(&b->od, (int)i);
        if ((int)i == b->slot)
            in = &b->info;
        else if (aloft_boot_verify_slot(&sa->scratch, &sim->nor.flash, crypto, sim->chip_id,
                                        (int)i, &info) != 0)
            continue;
        s->has_image = true;
        if (in->has_desc) {
            copy_str(s->project, sizeof s->project, in->desc.project_name);
            copy_str(s->version, sizeof s->version, in->desc.version);
        }
        memcpy(s->sha256, in->sha256, sizeof s->sha256);
    }
    /* the running slot's state as the bootloader left it */
    d->slots[d->running].state = b->state;
}

static int check_password(void *ctx, const char *pw, size_t len)
{
    sim_agent_t *sa = ctx;
    uint8_t h[32];
    if (aloft_hash_oneshot(crypto->sha256, pw, len, h) != 0)
        return ALOFT_ERR_CRYPTO;
    return memcmp(h, sa->password_sha256, sizeof h) == 0 ? 0 : ALOFT_ERR_AUTH;
}

/* What the last boot left for the engine: the record and the bootloader's
 * reason, then a fresh engine (RAM does not survive a reset). */
static int start_engine(sim_agent_t *sa)
{
    char rec[512];
    size_t n = 0;
    FILE *f = fopen(sa->record_path, "rb");
    if (f) {
        n = fread(rec, 1, sizeof rec, f);
        fclose(f);
    }
    describe(sa);
    aloft_agent_config_t cfg = {.name = sa->name, .prefix = sa->cfg.prefix,
                                .omg_prefix = sa->cfg.omg_prefix, .buf = sa->buf,
                                .buf_len = sizeof sa->buf,
                                .check_password = sa->has_password ? check_password : NULL,
                                .ctx = sa};
    const aloft_diag_t *why = sa->sim->boot.fell_back ? &sa->sim->boot.diag : NULL;
    if (aloft_agent_init(&sa->agent, &cfg, &sa->dev, rec, n, why) != 0) {
        fprintf(stderr, "aloft-sim: bad --name '%s' or --prefix (DEV is 1-32 of [a-z0-9_-])\n",
                sa->name);
        return -1;
    }
    return 0;
}

/* The record, written whole or not at all. */
static void save_record(sim_agent_t *sa, const char *p, size_t n)
{
    char tmp[sizeof sa->record_path + 4];
    if (n == 0) {
        if (unlink(sa->record_path) != 0 && errno != ENOENT)
            sim_log(sa->sim, "aloft-sim: cannot remove %s: %s", sa->record_path, strerror(errno));
        return;
    }
    snprintf(tmp, sizeof tmp, "%s.new", sa->record_path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(p, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, sa->record_path) != 0)
        sim_log(sa->sim, "aloft-sim: cannot write %s: %s", sa->record_path, strerror(errno));
}

static void start_pull(sim_agent_t *sa, const aloft_agent_release_t *r)
{
    memset(&sa->rel, 0, sizeof sa->rel);
    copy_str(sa->rel.project, sizeof sa->rel.project, r->project);
    copy_str(sa->rel.version, sizeof sa->rel.version, r->version);
    copy_str(sa->rel.url, sizeof sa->rel.url, r->url);
    sa->rel.file.size = r->size;
    memcpy(sa->rel.file.sha256, r->sha256, sizeof sa->rel.file.sha256);
    sa->rel.file.is_signed = r->is_signed;
    if (r->patch_size) {   /* the agent kept the one from the running image */
        copy_str(sa->rel.patch_url[0], sizeof sa->rel.patch_url[0], r->patch_url);
        sa->rel.patches[0].size = r->patch_size;
        memcpy(sa->rel.patches[0].sha256, r->patch_sha256, 32);
        memcpy(sa->rel.patches[0].base_sha256, sa->dev.slots[sa->dev.running].sha256, 32);
        sa->rel.file.npatches = 1;
    }
    sim_release_own(&sa->rel);
    sim_log(sa->sim, "aloft-sim: %s: pulling %s %s from %s", sa->name, r->project, r->version,
            r->url);
    if (sim_pull_start(&sa->pull, sa->sim, &sa->rel, &sa->cfg.pull) != 0) {
        aloft_pull_status_t st;
        sim_pull_status(&sa->pull, &st);
        aloft_agent_pull_done(&sa->agent, &st.diag);
        return;
    }
    sa->pulling = true;
}

static void rollback(sim_agent_t *sa)
{
    int err = aloft_update_rollback(&sa->sim->update, &sa->sim->dev);
    if (err) {
        aloft_diag_t d = *aloft_update_diag(&sa->sim->update);
        if (d.err == 0)
            aloft_diag_set(&d, err, 0, 0, NULL);
        aloft_agent_pull_done(&sa->agent, &d);
        return;
    }
    sim_log(sa->sim, "aloft-sim: %s: rolling back to %s", sa->name,
            aloft_update_partition(&sa->sim->update)->label);
    sa->reboot = true;
}

/* Carry out every action the engine has now. */
static void drain(sim_agent_t *sa)
{
    aloft_agent_action_t act;
    int r;
    while ((r = aloft_agent_poll(&sa->agent, &act)) != 0) {
        if (r < 0) {
            sim_log(sa->sim, "aloft-sim: %s: a payload did not fit the agent's buffer", sa->name);
            continue;
        }
        switch (act.kind) {
        case ALOFT_AGENT_SUBSCRIBE:
            mosquitto_subscribe(sa->m, NULL, act.topic, 1);
            break;
        case ALOFT_AGENT_PUBLISH:
            if (mosquitto_publish(sa->m, NULL, act.topic, (int)act.len, act.payload, 1,
                                  act.retain) == MOSQ_ERR_SUCCESS)
                sa->unacked++;
            break;
        case ALOFT_AGENT_SAVE:
            save_record(sa, act.payload, act.len);
            break;
        case ALOFT_AGENT_PULL:
            start_pull(sa, act.release);
            break;
        case ALOFT_AGENT_ROLLBACK:
            rollback(sa);
            break;
        case ALOFT_AGENT_REBOOT:
            sa->reboot = true;
            break;
        case ALOFT_AGENT_NONE:
            break;
        }
    }
}

static void on_connect(struct mosquitto *m, void *ctx, int rc)
{
    sim_agent_t *sa = ctx;
    (void)m;
    if (rc != 0) {
        sim_log(sa->sim, "aloft-sim: %s: broker refused the connection: %s", sa->name,
                mosquitto_connack_string(rc));
        return;
    }
    sa->connected = true;
    sa->backoff_ms = BACKOFF_FIRST_MS;
    sim_log(sa->sim, "aloft-sim: %s: connected to MQTT %s:%d%s", sa->name, sa->cfg.host,
            sa->cfg.port, sa->cfg.cafile ? " (TLS)" : "");
    aloft_agent_connected(&sa->agent);
    drain(sa);
}

static void on_publish(struct mosquitto *m, void *ctx, int mid)
{
    sim_agent_t *sa = ctx;
    (void)m;
    (void)mid;
    if (sa->unacked)
        sa->unacked--;
}

static void on_disconnect(struct mosquitto *m, void *ctx, int rc)
{
    sim_agent_t *sa = ctx;
    (void)m;
    if (sa->connected)
        sim_log(sa->sim, "aloft-sim: %s: MQTT connection lost (%s)", sa->name,
                rc ? mosquitto_strerror(rc) : "closed");
    sa->connected = false;
    aloft_agent_disconnected(&sa->agent);
}

static void on_message(struct mosquitto *m, void *ctx, const struct mosquitto_message *msg)
{
    sim_agent_t *sa = ctx;
    (void)m;
    aloft_agent_message(&sa->agent, posix_now_ms(), msg->topic, msg->payload,
                        (size_t)msg->payloadlen);
    drain(sa);
    if (aloft_agent_phase(&sa->agent) == ALOFT_AGENT_PHASE_REFUSED)
        sim_log(sa->sim, "aloft-sim: %s: refused: %s", sa->name,
                aloft_strerror(sa->agent.diag.err));
}

static void try_connect(sim_agent_t *sa, uint64_t now_ms)
{
    int rc = sa->retry_ms == 0 ? mosquitto_connect(sa->m, sa->cfg.host, sa->cfg.port, 30)
                               : mosquitto_reconnect(sa->m);
    /* a refused CONNACK comes later: the same wait before the next try */
    sa->retry_ms = now_ms + sa->backoff_ms;
    if (rc != MOSQ_ERR_SUCCESS)
        sim_log(sa->sim, "aloft-sim: %s: cannot reach MQTT %s:%d: %s (retrying in %u ms)",
                sa->name, sa->cfg.host, sa->cfg.port,
                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc),
                (unsigned)sa->backoff_ms);
    sa->backoff_ms = sa->backoff_ms * 2 < BACKOFF_MAX_MS ? sa->backoff_ms * 2 : BACKOFF_MAX_MS;
}

/* Every piece the pipeline takes (one sim_pull_step may write many):
 * the display's callback, then the engine's progress reports. */
static void on_piece(void *ctx, uint32_t done, uint32_t total)
{
    sim_agent_t *sa = ctx;
    if (sa->display_progress)
        sa->display_progress(sa->sim, done, total);
    if (sa->pulling) {
        aloft_agent_pull_progress(&sa->agent, posix_now_ms(), done, total);
        drain(sa);
    }
}

/* A new MQTT client: login, TLS, the will. A reboot makes a new one, as
 * RAM (and the old session's queue) does not survive it. */
static int new_client(sim_agent_t *sa)
{
    sa->m = mosquitto_new(sa->name, true, sa);
    if (sa->m == NULL) {
        fprintf(stderr, "aloft-sim: cannot create an MQTT client: %s\n", strerror(errno));
        return -1;
    }
    mosquitto_connect_callback_set(sa->m, on_connect);
    mosquitto_disconnect_callback_set(sa->m, on_disconnect);
    mosquitto_message_callback_set(sa->m, on_message);
    mosquitto_publish_callback_set(sa->m, on_publish);
    const char *user = sa->cfg.user ? sa->cfg.user : sa->name;
    if ((sa->cfg.user || sa->cfg.password) &&
        mosquitto_username_pw_set(sa->m, user, sa->cfg.password) != 0)
        return -1;
    if (sa->cfg.cafile) {
        int rc = mosquitto_tls_set(sa->m, sa->cfg.cafile, NULL, NULL, NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "aloft-sim: --mqtt-cafile %s: %s\n", sa->cfg.cafile,
                    mosquitto_strerror(rc));
            return -1;
        }
    }
    const char *will = aloft_agent_will_topic(&sa->agent);
    if (mosquitto_will_set(sa->m, will, 7, "offline", 1, true) != MOSQ_ERR_SUCCESS)
        return -1;
    sa->unacked = 0;
    sa->retry_ms = 0;
    sa->backoff_ms = BACKOFF_FIRST_MS;
    return 0;
}

int sim_agent_open(sim_agent_t *sa, sim_device_t *sim, const char *flash_path,
                   const char *name, const sim_agent_config_t *cfg, uint64_t now_ms)
{
    memset(sa, 0, sizeof *sa);
    sa->sim = sim;
    sa->cfg = *cfg;
    copy_str(sa->name, sizeof sa->name, name);
    snprintf(sa->record_path, sizeof sa->record_path, "%s.agent", flash_path);
    if (cfg->ota_password) {
        sa->has_password = true;
        if (aloft_hash_oneshot(crypto->sha256, cfg->ota_password, strlen(cfg->ota_password),
                               sa->password_sha256) != 0)
            return -1;
    }
    if (start_engine(sa) != 0)
        return -1;
    sa->display_progress = sim->dev.progress;
    sim->dev.progress = on_piece;
    sim->dev.progress_ctx = sa;
    if (new_client(sa) != 0)
        return -1;
    try_connect(sa, now_ms);
    return 0;
}

/* Let the last publishes (`rebooting`) go out, then restart as the chip
 * would: the session ends, the bootloader runs, a new engine starts from
 * the record. */
static int reboot(sim_agent_t *sa, uint64_t now_ms)
{
    for (int i = 0; i < 40 && sa->connected && sa->unacked; i++)
        mosquitto_loop(sa->m, 50, 1);
    sa->reboot = false;
    sim_log(sa->sim, "aloft-sim: %s: rebooting", sa->name);
    if (sa->connected)
        mosquitto_disconnect(sa->m);
    sa->connected = false;
    mosquitto_destroy(sa->m);
    sa->m = NULL;
    if (sim_boot(sa->sim, now_ms) != 0)
        return -1;
    if (start_engine(sa) != 0 || new_client(sa) != 0)
        return -1;
    try_connect(sa, now_ms);
    return 0;
}

static void step_pull(sim_agent_t *sa)
{
    aloft_pull_status_t st;
    sim_pull_result_t r = sim_pull_step(&sa->pull, 0);
    sim_pull_status(&sa->pull, &st);
    if (r == SIM_PULL_OVER) {
        sa->pulling = false;
        if (st.phase == ALOFT_PULL_DONE)
            sim_log(sa->sim, "aloft-sim: %s: release verified and activated", sa->name);
        else
            sim_log(sa->sim, "aloft-sim: %s: pull %s: %s", sa->name,
                    aloft_pull_phase_name(st.phase),
                    aloft_strerror(st.diag.err));
        aloft_agent_pull_done(&sa->agent, st.phase == ALOFT_PULL_DONE ? NULL : &st.diag);
        /* the update slot changed, whatever the outcome (FLEET.md §4) */
        describe(sa);
        aloft_agent_device_changed(&sa->agent);
    }
    drain(sa);
}

int sim_agent_step(sim_agent_t *sa, uint64_t now_ms)
{
    if (!sa->connected && now_ms >= sa->retry_ms && !sa->reboot)
        try_connect(sa, now_ms);
    int rc = mosquitto_loop(sa->m, 0, 1);
    if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_PROTOCOL)
        on_disconnect(sa->m, sa, rc);
    if (sa->pulling)
        step_pull(sa);
    int confirmed = sim_tick(sa->sim, now_ms);
    if (confirmed < 0)
        return -1;
    if (confirmed) {
        describe(sa);
        aloft_agent_confirmed(&sa->agent);
        aloft_agent_device_changed(&sa->agent);
        drain(sa);
    }
    if (sa->reboot)
        return reboot(sa, now_ms);
    return 0;
}

void sim_agent_pollfd(sim_agent_t *sa, struct pollfd *p)
{
    p->fd = mosquitto_socket(sa->m);
    p->events = (short)(POLLIN | (mosquitto_want_write(sa->m) ? POLLOUT : 0));
    p->revents = 0;
}

bool sim_agent_pulling(const sim_agent_t *sa)
{
    return sa->pulling;
}

void sim_agent_close(sim_agent_t *sa)
{
    if (sa->pulling)
        sim_pull_cancel(&sa->pull);
    if (sa->m) {
        /* a clean stop says so itself: the will is only for a lost session */
        if (sa->connected) {
            mosquitto_publish(sa->m, NULL, aloft_agent_will_topic(&sa->agent), 7, "offline", 1,
                              true);
            sa->unacked++;
            for (int i = 0; i < 20 && sa->unacked; i++)
                mosquitto_loop(sa->m, 50, 1);
            mosquitto_disconnect(sa->m);
            mosquitto_loop(sa->m, 0, 1);
        }
        mosquitto_destroy(sa->m);
        sa->m = NULL;
    }
}
