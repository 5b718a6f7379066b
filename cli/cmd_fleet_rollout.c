/*
 * cli/cmd_fleet_rollout.c — `aloft fleet rollout`, `run`, `status`,
 * `pause`, `resume`, `abort`: the loop around the rollout engine
 * (host/fleet/fleet_engine.h). Broker messages become engine events,
 * the engine's commands are saved to SQLite and then published, and the
 * output is a live table on a TTY, a line per change otherwise, JSON lines
 * with --json.
 *
 * One controller runs a database's rollout at a time: it holds an flock on
 * DB.lock. pause/resume/abort change the saved rollout directly when no
 * controller runs, else leave a request it applies within a second.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli.h"
#include "fileio.h"
#include "fleet_cli.h"
#include "fleet_store.h"

static const char rollout_help[] =
    "usage: aloft fleet rollout --project P [selection] [plan] [broker options] [--json]\n\n"
    "Roll the release last announced on PREFIX/release/P out to the devices of\n"
    "project P and chip, in waves; the rollout is saved in --db and continues\n"
    "with 'aloft fleet run' after the controller stops. Success is a device\n"
    "reporting 'confirmed' (the new image runs and confirmed itself).\n\n"
    "selection (devices already on the release's version are left out):\n"
    "  --version V          only devices that run version V now\n"
    "  --name GLOB          only devices whose name matches (shell pattern)\n"
    "  --offline skip|queue offline when its wave comes: skipped (default), or\n"
    "                       the wave waits for it (at most --timeout)\n"
    "plan:\n"
    "  --canary N           devices in the first wave (default 1; 0: none)\n"
    "  --waves P1,P2,..     then waves up to these % of the devices (default\n"
    "                       10,50,100)\n"
    "  --success PCT        a wave advances when PCT % of it confirmed (default 90)\n"
    "  --fail-threshold PCT stop when PCT % of the finished devices failed ...\n"
    "  --fail-min N         ... and at least N finished (defaults 10 and 3)\n"
    "  --on-fail pause|abort  what the failure threshold does (default pause)\n"
    "  --timeout SEC        per attempt, command to confirmed (default 600)\n"
    "  --retries N          attempts after a timed-out one (default 1)\n\n"
    "Exit status: 0 done and no device failed, 1 aborted, failures or an error,\n"
    "2 usage.\n";

static const char run_help[] =
    "usage: aloft fleet run [broker options] [--db FILE] [--json]\n\n"
    "Continue the newest rollout of --db: after the controller was stopped or\n"
    "killed (nothing is lost or sent twice), or after 'aloft fleet resume'.\n";

static const char status_help[] =
    "usage: aloft fleet status [--db FILE] [--json]\n\n"
    "The newest rollout of --db: its state, wave, counts and every device.\n";

static const char request_help[] =
    "usage: aloft fleet pause|resume|abort [--db FILE]\n\n"
    "pause: no further commands (devices in flight are still followed);\n"
    "resume: go on (after a wave that ended below --success, the next wave);\n"
    "abort: end the rollout. Applied by the running controller within a second;\n"
    "with none running, to the saved rollout ('aloft fleet run' continues it).\n";

/* ---- the controller's lock --------------------------------------------- */

/* flock DB.lock: 0 held (fd kept open until exit), 1 another controller
 * holds it, -1 (after printing why) when it cannot be made. */
static int lock_db(const char *db, int *fd)
{
    char path[1100];
    snprintf(path, sizeof path, "%s.lock", db);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        cli_fail("cannot open %s: %s (is the directory writable?)", path, strerror(errno));
        return -1;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    close(*fd);
    *fd = -1;
    return 1;
}

/* ---- output ------------------------------------------------------------ */

static void print_counts(const fleet_rollout_t *r)
{
    fleet_counts_t c;
    fleet_count(r, &c);
    printf("devices: %zu: %u confirmed, %u failed, %u in flight, %u queued, %u skipped\n",
           r->ndevs, c.confirmed, c.failed, c.sent + c.running, c.queued, c.skipped);
}

static void print_head(const fleet_rollout_t *r, const fleet_meta_t *m)
{
    printf("rollout %lld: %s %s, %s%s%s%s, wave %u of %u\n", (long long)r->id, m->project,
           m->version, fleet_state_name(r->state), r->reason ? " (" : "",
           fleet_reason_text(r->reason), r->reason ? ")" : "",
           (unsigned)(r->wave + 1), (unsigned)fleet_nwaves(&r->plan));
    print_counts(r);
}

static void print_table(const fleet_rollout_t *r)
{
    printf("%-20s %4s %-9s %8s  %s\n", "NAME", "WAVE", "STATE", "ATTEMPTS", "ERROR");
    for (size_t i = 0; i < r->ndevs; i++) {
        const fleet_dev_t *d = &r->devs[i];
        printf("%-20s %4u %-9s %8u  %s\n", d->name, (unsigned)(d->wave + 1),
               fleet_dev_state_name(d->state), d->attempts, d->error);
    }
}

static cJSON *status_json(const fleet_rollout_t *r, const fleet_meta_t *m)
{
    fleet_counts_t c;
    fleet_count(r, &c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rollout", (double)r->id);
    cJSON_AddStringToObject(o, "project", m->project);
    cJSON_AddStringToObject(o, "version", m->version);
    cJSON_AddStringToObject(o, "state", fleet_state_name(r->state));
    cJSON_AddStringToObject(o, "reason", fleet_reason_text(r->reason));
    cJSON_AddNumberToObject(o, "wave", r->wave + 1);
    cJSON_AddNumberToObject(o, "waves", fleet_nwaves(&r->plan));
    cJSON *k = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddNumberToObject(k, "confirmed", c.confirmed);
    cJSON_AddNumberToObject(k, "failed", c.failed);
    cJSON_AddNumberToObject(k, "in_flight", c.sent + c.running);
    cJSON_AddNumberToObject(k, "queued", c.queued);
    cJSON_AddNumberToObject(k, "skipped", c.skipped);
    cJSON *arr = cJSON_AddArrayToObject(o, "devices");
    for (size_t i = 0; i < r->ndevs; i++) {
        const fleet_dev_t *d = &r->devs[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", d->name);
        cJSON_AddNumberToObject(x, "wave", d->wave + 1);
        cJSON_AddStringToObject(x, "state", fleet_dev_state_name(d->state));
        cJSON_AddNumberToObject(x, "attempts", d->attempts);
        cJSON_AddStringToObject(x, "error", d->error);
        cJSON_AddItemToArray(arr, x);
    }
    return o;
}

static void print_json_line(cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    printf("%s\n", t);
    free(t);
    cJSON_Delete(o);
}

/* ---- the controller ---------------------------------------------------- */

typedef struct runner {
    fleet_opts_t o;
    fleet_store_t *st;
    fleet_mqtt_t *mq;
    fleet_rollout_t r;
    fleet_meta_t m;
    fleet_roster_t ro;
    bool loaded;          /* r holds the rollout: messages are engine events */
    bool tty;
    long long drawn_ms, polled_ms;
} runner_t;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void on_message(void *ctx, const char *topic, const void *p, size_t n)
{
    runner_t *u = ctx;
    const char *kind;
    fleet_seen_t *s = fleet_roster_note(&u->ro, topic, p, n, &kind);
    if (s == NULL || !u->loaded)
        return;
    long i = fleet_find(&u->r, s->name);
    if (i < 0)
        return;
    if (strcmp(kind, "online") == 0) {
        fleet_on_online(&u->r, (size_t)i, s->online);
    } else if (strcmp(kind, "update") == 0) {
        char id[FLEET_CMD_ID_MAX], err[400];
        fleet_phase_t ph;
        int code;
        if (fleet_json_progress(p, n, id, &ph, &code, err, sizeof err) == 0)
            fleet_on_progress(&u->r, (size_t)i, id, ph, code, err, fleet_now_ms());
    }
}

/* Print what changed (before it is saved and the flags cleared). */
static void report(runner_t *u)
{
    fleet_rollout_t *r = &u->r;
    if (u->tty)
        return;
    for (size_t i = 0; i < r->ndevs; i++) {
        const fleet_dev_t *d = &r->devs[i];
        if (!d->dirty)
            continue;
        if (u->o.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "device", d->name);
            cJSON_AddNumberToObject(o, "wave", d->wave + 1);
            cJSON_AddStringToObject(o, "state", fleet_dev_state_name(d->state));
            cJSON_AddNumberToObject(o, "attempt", d->attempts);
            cJSON_AddStringToObject(o, "error", d->error);
            print_json_line(o);
        } else {
            printf("%s: %s (wave %u, attempt %u)%s%s\n", d->name, fleet_dev_state_name(d->state),
                   (unsigned)(d->wave + 1), d->attempts, d->error[0] ? ": " : "", d->error);
        }
    }
    if (r->dirty) {
        if (u->o.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "rollout", (double)r->id);
            cJSON_AddStringToObject(o, "state", fleet_state_name(r->state));
            cJSON_AddStringToObject(o, "reason", fleet_reason_text(r->reason));
            cJSON_AddNumberToObject(o, "wave", r->wave + 1);
            print_json_line(o);
        } else {
            print_head(r, &u->m);
        }
    }
    fflush(stdout);
}

static int save(runner_t *u)
{
    host_error_t e;
    memset(&e, 0, sizeof e);
    report(u);
    return fleet_store_save(u->st, &u->r, fleet_now_ms(), &e) == 0 ? 0 : fleet_fail(&e);
}

static void draw(runner_t *u)
{
    long long now = fleet_now_ms();
    if (!u->tty || now - u->drawn_ms < 500)
        return;
    u->drawn_ms = now;
    fputs("\033[H\033[2J", stdout);
    print_head(&u->r, &u->m);
    print_table(&u->r);
    fflush(stdout);
}

static int apply_request(fleet_rollout_t *r, const char *req)
{
    if (strcmp(req, "pause") == 0)
        return fleet_pause(r);
    if (strcmp(req, "resume") == 0)
        return fleet_resume(r);
    if (strcmp(req, "abort") == 0)
        return fleet_abort(r);
    return -1;
}

/* Send the engine's commands: save first, then publish (a crash between
 * the two loses the attempt to its timeout, never repeats it). */
static int send_commands(runner_t *u, long long now)
{
    host_error_t e;
    char id[FLEET_CMD_ID_MAX], topic[256];
    long i;
    memset(&e, 0, sizeof e);
    while ((i = fleet_step(&u->r, now)) >= 0) {
        const fleet_dev_t *d = &u->r.devs[i];
        if (save(u) != 0)
            return CLI_FAIL;
        fleet_cmd_id(&u->r, d, id);
        char *cmd = fleet_json_install(id, u->m.release_json);
        if (cmd == NULL)
            return cli_fail("rollout %lld's saved release object does not parse; start a new "
                            "rollout", (long long)u->r.id);
        snprintf(topic, sizeof topic, "%s/%s/cmd", u->o.broker.prefix, d->name);
        int rc = fleet_mqtt_publish(u->mq, topic, cmd, strlen(cmd), false, &e);
        free(cmd);
        if (rc != 0)
            return fleet_fail(&e);
    }
    return save(u);
}

/* Paused by a threshold with nothing in flight: a person has to decide,
 * so the controller ends (a pause of the user's waits for the resume). */
static bool stopped_idle(const fleet_rollout_t *r)
{
    fleet_counts_t c;
    fleet_count(r, &c);
    return r->state == FLEET_PAUSED && r->reason != FLEET_WHY_USER && c.sent + c.running == 0;
}

static int run_loop(runner_t *u)
{
    host_error_t e;
    memset(&e, 0, sizeof e);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop_signal) {
        if (fleet_mqtt_loop(u->mq, 50, &e) != 0)
            return fleet_fail(&e);
        long long now = fleet_now_ms();
        if (now - u->polled_ms >= 250) {
            char req[16];
            u->polled_ms = now;
            if (fleet_store_take_request(u->st, u->r.id, req, &e) != 0)
                return fleet_fail(&e);
            if (req[0])
                apply_request(&u->r, req);
        }
        if (send_commands(u, now) != 0)
            return CLI_FAIL;
        draw(u);
        if (u->r.state == FLEET_DONE || u->r.state == FLEET_ABORTED || stopped_idle(&u->r))
            break;
    }
    fleet_mqtt_flush(u->mq, 5000, &e);
    if (stop_signal) {
        fprintf(stderr, "aloft: stopped; 'aloft fleet run --db %s' continues rollout %lld\n",
                u->o.db, (long long)u->r.id);
        return CLI_FAIL;
    }
    if (u->o.json) {
        print_json_line(status_json(&u->r, &u->m));
    } else {
        u->drawn_ms = 0;   /* the final table (a line per change printed the rest) */
        draw(u);
    }
    if (u->r.state == FLEET_PAUSED)
        fprintf(stderr, "aloft: rollout %lld paused: %s; see 'aloft fleet status --db %s', then "
                "'aloft fleet resume' and 'aloft fleet run' go on, 'aloft fleet abort' ends it\n",
                (long long)u->r.id, fleet_reason_text(u->r.reason), u->o.db);
    fleet_counts_t c;
    fleet_count(&u->r, &c);
    return u->r.state == FLEET_DONE && c.failed == 0 ? CLI_OK : CLI_FAIL;
}

static void runner_free(runner_t *u)
{
    fleet_mqtt_close(u->mq);
    fleet_store_close(u->st);
    fleet_roster_free(&u->ro);
    free(u->r.devs);
    free(u->m.release_json);
}

static int open_store(runner_t *u, int *lock_fd)
{
    host_error_t e;
    memset(&e, 0, sizeof e);
    int rc = lock_db(u->o.db, lock_fd);
    if (rc == 1)
        return cli_fail("another 'aloft fleet' controller runs %s's rollout; watch it with "
                        "'aloft fleet status --db %s'", u->o.db, u->o.db);
    if (rc != 0)
        return CLI_FAIL;
    return fleet_store_open(u->o.db, &u->st, &e) == 0 ? 0 : fleet_fail(&e);
}

/* ---- fleet rollout ----------------------------------------------------- */

typedef struct rollout_args {
    fleet_selector_t sel;
    const char *project;
    fleet_plan_t plan;
} rollout_args_t;

static int parse_waves(const char *v, fleet_plan_t *p)
{
    p->npct = 0;
    while (*v) {
        char *end;
        unsigned long x = strtoul(v, &end, 10);
        if (end == v || x > 100 || p->npct == FLEET_MAX_WAVES || (*end && *end != ','))
            return -1;
        p->pct[p->npct++] = (uint8_t)x;
        v = *end ? end + 1 : end;
    }
    return p->npct ? 0 : -1;
}

static int parse_rollout(int argc, char **argv, fleet_opts_t *o, rollout_args_t *a)
{
    static const char *const names[] = {"--project", "--version", "--name", "--offline",
                                        "--canary", "--waves", "--success", "--fail-threshold",
                                        "--fail-min", "--on-fail", "--timeout", "--retries"};
    const char *cmd = "fleet rollout";
    fleet_plan_t *p = &a->plan;
    *p = (fleet_plan_t){.canary = 1, .npct = 3, .pct = {10, 50, 100}, .success_pct = 90,
                        .fail_pct = 10, .fail_min = 3, .timeout_s = 600, .retries = 1};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        uint32_t x = 0;
        if (cli_is_help(argv[i])) {
            fputs(rollout_help, stdout);
            return -1;
        }
        if ((m = fleet_common_opt(cmd, argc, argv, &i, o)) != 0) {
            if (m != 1)
                return m;
            continue;
        }
        size_t k = 0;
        for (; k < sizeof names / sizeof names[0]; k++)
            if ((m = cli_opt(argc, argv, &i, names[k], &v)) != 0)
                break;
        if (m == 0)
            return cli_usage(cmd, "unknown argument '%s'", argv[i]);
        if (m < 0)
            return cli_usage(cmd, "%s needs a value", names[k]);
        bool num = k == 4 || k == 6 || k == 7 || k == 8 || k == 10 || k == 11;
        if (num && cli_parse_u32(v, false, &x) != 0)
            return cli_usage(cmd, "%s takes a number (got '%s')", names[k], v);
        if ((k == 6 || k == 7) && x > 100)
            return cli_usage(cmd, "%s takes a percentage, 0 to 100 (got '%s')", names[k], v);
        switch (k) {
        case 0: a->project = v; break;
        case 1: a->sel.version = v; break;
        case 2: a->sel.name_glob = v; break;
        case 3:
            if (strcmp(v, "skip") != 0 && strcmp(v, "queue") != 0)
                return cli_usage(cmd, "--offline takes skip or queue (got '%s')", v);
            p->queue_offline = strcmp(v, "queue") == 0;
            break;
        case 4: p->canary = x; break;
        case 5:
            if (parse_waves(v, p) != 0)
                return cli_usage(cmd, "--waves takes up to 8 percentages such as 10,50,100 "
                                      "(got '%s')", v);
            break;
        case 6: p->success_pct = (uint8_t)x; break;
        case 7: p->fail_pct = (uint8_t)x; break;
        case 8: p->fail_min = x; break;
        case 9:
            if (strcmp(v, "pause") != 0 && strcmp(v, "abort") != 0)
                return cli_usage(cmd, "--on-fail takes pause or abort (got '%s')", v);
            p->fail_abort = strcmp(v, "abort") == 0;
            break;
        case 10: p->timeout_s = x; break;
        default:
            if (x > 20)
                return cli_usage(cmd, "--retries takes 0 to 20 (got '%s')", v);
            p->retries = x;
            break;
        }
    }
    const char *why = fleet_plan_check(p);
    if (why)
        return cli_usage(cmd, "%s", why);
    if (a->project == NULL)
        return cli_usage(cmd, "missing --project P (whose release to roll out)");
    return 0;
}

static int by_seen_name(const void *x, const void *y)
{
    return strcmp(((const fleet_seen_t *)x)->name, ((const fleet_seen_t *)y)->name);
}

/* Refuse a new rollout while the newest one has not ended. */
static int check_newest_ended(runner_t *u)
{
    host_error_t e;
    int64_t id;
    memset(&e, 0, sizeof e);
    if (fleet_store_latest(u->st, &id, &e) != 0)
        return fleet_fail(&e);
    if (id == 0)
        return 0;
    fleet_rollout_t r;
    fleet_meta_t m;
    if (fleet_store_load(u->st, id, &r, &m, &e) != 0)
        return fleet_fail(&e);
    int rc = 0;
    if (r.state == FLEET_RUNNING || r.state == FLEET_PAUSED)
        rc = cli_fail("rollout %lld (%s %s) is %s in %s: continue it with 'aloft fleet run' "
                      "(after 'aloft fleet resume' if paused) or end it with 'aloft fleet "
                      "abort' first", (long long)id, m.project, m.version,
                      fleet_state_name(r.state), u->o.db);
    free(r.devs);
    free(m.release_json);
    return rc;
}

/* The selected devices, sorted by name, into u->r. */
static int select_devices(runner_t *u, rollout_args_t *a, const char *chip)
{
    fleet_roster_t *ro = &u->ro;
    size_t already = 0;
    if (ro->n > 1)
        qsort(ro->devs, ro->n, sizeof *ro->devs, by_seen_name);
    u->r.devs = xmalloc((ro->n ? ro->n : 1) * sizeof *u->r.devs);
    for (size_t i = 0; i < ro->n; i++) {
        const fleet_seen_t *s = &ro->devs[i];
        if (!s->have_state ||
            !fleet_selects(&a->sel, s->name, s->chip, s->project, s->version))
            continue;
        if (strcmp(s->version, u->m.version) == 0) {
            already++;
            continue;
        }
        fleet_dev_t *d = &u->r.devs[u->r.ndevs++];
        memset(d, 0, sizeof *d);
        snprintf(d->name, sizeof d->name, "%s", s->name);
        d->online = s->online;
    }
    if (u->r.ndevs == 0)
        return cli_fail("no device to update: none of the %zu devices on the broker is a %s %s "
                        "device%s%s%s not on %s already (%zu are); 'aloft fleet devices' shows "
                        "what the broker knows", ro->n, chip, a->project,
                        a->sel.version ? " running " : "", a->sel.version ? a->sel.version : "",
                        a->sel.name_glob ? " matching --name" : "", u->m.version, already);
    if (!u->o.json && already)
        printf("%zu device%s run %s already\n", already, already == 1 ? "" : "s", u->m.version);
    fleet_assign_waves(&a->plan, u->r.devs, u->r.ndevs);
    return 0;
}

int fleet_rollout_cmd(int argc, char **argv)
{
    runner_t u;
    rollout_args_t a;
    host_error_t e;
    int lock_fd = -1;
    memset(&u, 0, sizeof u);
    memset(&a, 0, sizeof a);
    memset(&e, 0, sizeof e);
    fleet_opts_init(&u.o);
    int rc = parse_rollout(argc, argv, &u.o, &a);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = fleet_opts_finish("fleet rollout", &u.o)) != 0)
        return rc;
    u.ro.prefix = u.o.broker.prefix;
    u.ro.release_project = a.project;
    u.tty = !u.o.json && isatty(STDOUT_FILENO);
    char chip[24];
    if ((rc = open_store(&u, &lock_fd)) != 0 || (rc = check_newest_ended(&u)) != 0 ||
        (rc = fleet_connect(&u.o, on_message, &u, a.project, &u.mq)) != 0)
        goto out;
    if (u.ro.release_json == NULL) {
        rc = cli_fail("no release of %s on %s/release/%s at %s:%d: announce one with 'aloft "
                      "fleet release NEW.bin --url URL'", a.project, u.o.broker.prefix,
                      a.project, u.o.broker.host, u.o.broker.port);
        goto out;
    }
    if (fleet_json_release_names(u.ro.release_json, u.m.project, u.m.version, chip) != 0) {
        rc = cli_fail("the release object on %s/release/%s lacks project, version or chip "
                      "(docs/FLEET.md section 3); announce it again with 'aloft fleet release'",
                      u.o.broker.prefix, a.project);
        goto out;
    }
    a.sel.project = u.m.project;
    a.sel.chip = chip;
    if ((rc = select_devices(&u, &a, chip)) != 0)
        goto out;
    u.r.plan = a.plan;
    u.m.release_json = u.ro.release_json;
    u.ro.release_json = NULL;
    u.m.created_ms = fleet_now_ms();
    if (fleet_store_create(u.st, &u.r, &u.m, &e) != 0) {
        rc = fleet_fail(&e);
        goto out;
    }
    if (!u.o.json && !u.tty)
        printf("rollout %lld: %s %s to %zu devices in %u waves\n", (long long)u.r.id,
               u.m.project, u.m.version, u.r.ndevs, (unsigned)fleet_nwaves(&u.r.plan));
    u.loaded = true;
    rc = run_loop(&u);
out:
    runner_free(&u);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

/* ---- fleet run, status, pause, resume, abort --------------------------- */

static int parse_simple(const char *cmd, const char *help, int argc, char **argv, fleet_opts_t *o)
{
    fleet_opts_init(o);
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return -1;
        }
        if ((m = fleet_common_opt(cmd, argc, argv, &i, o)) == 1)
            continue;
        return m != 0 ? m : cli_usage(cmd, "unknown argument '%s'", argv[i]);
    }
    return fleet_opts_finish(cmd, o);
}

/* Load the newest rollout of the store into u. */
static int load_newest(runner_t *u)
{
    host_error_t e;
    int64_t id;
    memset(&e, 0, sizeof e);
    if (fleet_store_latest(u->st, &id, &e) != 0)
        return fleet_fail(&e);
    if (id == 0)
        return cli_fail("%s holds no rollout yet: start one with 'aloft fleet rollout --project "
                        "P --db %s'", u->o.db, u->o.db);
    return fleet_store_load(u->st, id, &u->r, &u->m, &e) == 0 ? 0 : fleet_fail(&e);
}

int fleet_run_cmd(int argc, char **argv)
{
    runner_t u;
    int lock_fd = -1;
    memset(&u, 0, sizeof u);
    int rc = parse_simple("fleet run", run_help, argc, argv, &u.o);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    u.ro.prefix = u.o.broker.prefix;
    u.tty = !u.o.json && isatty(STDOUT_FILENO);
    if ((rc = open_store(&u, &lock_fd)) != 0 || (rc = load_newest(&u)) != 0)
        goto out;
    if (u.r.state == FLEET_DONE || u.r.state == FLEET_ABORTED) {
        rc = cli_fail("rollout %lld has ended (%s); start a new one with 'aloft fleet rollout'",
                      (long long)u.r.id, fleet_state_name(u.r.state));
        goto out;
    }
    u.loaded = true;   /* retained online/update messages are events now */
    if ((rc = fleet_connect(&u.o, on_message, &u, NULL, &u.mq)) != 0)
        goto out;
    if (!u.o.json && !u.tty)
        printf("continuing rollout %lld: %s %s, %zu devices\n", (long long)u.r.id, u.m.project,
               u.m.version, u.r.ndevs);
    rc = run_loop(&u);
out:
    runner_free(&u);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

int fleet_status_cmd(int argc, char **argv)
{
    runner_t u;
    host_error_t e;
    memset(&u, 0, sizeof u);
    memset(&e, 0, sizeof e);
    int rc = parse_simple("fleet status", status_help, argc, argv, &u.o);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (access(u.o.db, F_OK) != 0)
        return cli_fail("no rollout database %s: give --db FILE, the one 'aloft fleet rollout' "
                        "used", u.o.db);
    if (fleet_store_open(u.o.db, &u.st, &e) != 0)
        return fleet_fail(&e);
    if ((rc = load_newest(&u)) == 0) {
        if (u.o.json) {
            print_json_line(status_json(&u.r, &u.m));
        } else {
            print_head(&u.r, &u.m);
            if (u.m.request[0])
                printf("(%s requested; the controller applies it within a second)\n",
                       u.m.request);
            print_table(&u.r);
        }
    }
    runner_free(&u);
    return rc;
}

int fleet_request_cmd(int argc, char **argv)
{
    runner_t u;
    host_error_t e;
    char cmd[32];
    int lock_fd = -1;
    memset(&u, 0, sizeof u);
    memset(&e, 0, sizeof e);
    snprintf(cmd, sizeof cmd, "fleet %s", argv[0]);
    int rc = parse_simple(cmd, request_help, argc, argv, &u.o);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (access(u.o.db, F_OK) != 0)
        return cli_fail("no rollout database %s: give --db FILE, the one 'aloft fleet rollout' "
                        "used", u.o.db);
    int locked = lock_db(u.o.db, &lock_fd);
    if (locked < 0)
        return CLI_FAIL;
    if (fleet_store_open(u.o.db, &u.st, &e) != 0) {
        rc = fleet_fail(&e);
    } else if ((rc = load_newest(&u)) == 0) {
        fleet_rollout_t probe = u.r;   /* would the engine take it? */
        if (apply_request(&probe, argv[0]) != 0) {
            rc = cli_fail("rollout %lld is %s: nothing to %s", (long long)u.r.id,
                          fleet_state_name(u.r.state), argv[0]);
        } else if (locked == 1) {
            rc = fleet_store_request(u.st, u.r.id, argv[0], &e) == 0 ? CLI_OK : fleet_fail(&e);
            if (rc == CLI_OK)
                printf("rollout %lld: %s requested; the running controller applies it within "
                       "a second\n", (long long)u.r.id, argv[0]);
        } else {
            apply_request(&u.r, argv[0]);
            rc = fleet_store_save(u.st, &u.r, fleet_now_ms(), &e) == 0 ? CLI_OK : fleet_fail(&e);
            if (rc == CLI_OK)
                printf("rollout %lld: %s%s\n", (long long)u.r.id, fleet_state_name(u.r.state),
                       u.r.state == FLEET_RUNNING ? "; 'aloft fleet run' sends the next commands"
                                                  : "");
        }
    }
    runner_free(&u);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}
