/*
 * cli/cmd_fleet.c — `aloft fleet`: the controller of docs/FLEET.md. This
 * file holds the dispatch, the options every subcommand shares, the device
 * table the broker's retained messages give, `fleet devices` and `fleet
 * release`; the rollout commands are in cmd_fleet_rollout.c.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "aloft/util.h"
#include "aloft/wire/image.h"
#include "aloft/wire/signature.h"
#include "cli.h"
#include "crypto_mbedtls.h"
#include "delta_host.h"
#include "fileio.h"
#include "fleet_cli.h"

const char fleet_help[] =
    "usage: aloft fleet COMMAND [OPTIONS]\n\n"
    "Update many devices through an MQTT broker (docs/FLEET.md): devices report\n"
    "to the broker and fetch images over HTTP; this controller never talks to a\n"
    "device directly and keeps its rollouts in SQLite.\n\n"
    "commands:\n"
    "  devices     what the broker's retained state says about each device\n"
    "  release     publish an image where devices fetch it, and announce it\n"
    "  rollout     start a staged rollout of a project's release, and run it\n"
    "  run         continue the newest rollout (after a restart or resume)\n"
    "  status      the newest rollout's state and devices\n"
    "  pause       stop sending commands (devices in flight are still followed)\n"
    "  resume      go on after a pause\n"
    "  abort       end the rollout\n\n"
    "Broker options (every command):\n"
    "  --broker HOST[:PORT]    default 127.0.0.1:1883 (8883 with --cafile)\n"
    "  --user NAME             MQTT user (FLEET.md's ACL: aloft-controller)\n"
    "  --password PASS         or --password-file FILE, or ALOFT_MQTT_PASSWORD\n"
    "  --cafile PEM            TLS, checking the broker's certificate against this CA\n"
    "  --prefix P              topic prefix (default aloft)\n"
    "  --db FILE               rollout database (default aloft-fleet.db)\n"
    "  --json                  machine-readable output\n\n"
    "Run 'aloft fleet COMMAND --help' for a command's options.\n";

static const char devices_help[] =
    "usage: aloft fleet devices [--project P] [broker options] [--json]\n\n"
    "List the devices whose retained state the broker holds: name, chip,\n"
    "project, version, slot states (* marks the running slot), online.\n";

static const char release_help[] =
    "usage: aloft fleet release NEW.bin --url URL [--dir DIR] [--signed]\n"
    "                           [--summary TEXT] [--release-url URL] [--no-patches]\n"
    "                           [broker options] [--json]\n\n"
    "Publish NEW.bin for the devices of its project: with --dir, copy it to\n"
    "DIR/PROJECT/VERSION/ (DIR is what an HTTP server serves at URL) with delta\n"
    "patches from the earlier releases there; without --dir, NEW.bin must be at\n"
    "URL/NAME already. Then write the release object (FLEET.md section 3) to\n"
    "DIR/PROJECT/VERSION/release.json and publish it, retained, on\n"
    "PREFIX/release/PROJECT.\n\n"
    "  --url URL          the HTTP(S) prefix devices fetch from\n"
    "  --dir DIR          the directory served at URL\n"
    "  --signed           NEW.bin must be signed (aloft sign); devices with keys\n"
    "                     take only signed files\n"
    "  --summary TEXT, --release-url URL   shown by Home Assistant\n"
    "  --no-patches       no delta patches\n";

void fleet_opts_init(fleet_opts_t *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->broker.host = o->host;
    o->broker.prefix = "aloft";
    o->db = "aloft-fleet.db";
}

int fleet_common_opt(const char *cmd, int argc, char **argv, int *i, fleet_opts_t *o)
{
    static const char *const names[] = {"--broker", "--user", "--password", "--password-file",
                                        "--cafile", "--prefix", "--db"};
    const char *v = NULL;
    if (strcmp(argv[*i], "--json") == 0) {
        o->json = true;
        return 1;
    }
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int m = cli_opt(argc, argv, i, names[k], &v);
        if (m == 0)
            continue;
        if (m < 0 || *v == '\0')
            return cli_usage(cmd, "%s needs a value", names[k]);
        switch (k) {
        case 0: {
            const char *colon = strrchr(v, ':');
            uint32_t port = 0;
            size_t hl = colon ? (size_t)(colon - v) : strlen(v);
            if (hl == 0 || hl >= sizeof o->host ||
                (colon && (cli_parse_u32(colon + 1, false, &port) != 0 || port == 0 ||
                           port > 65535)))
                return cli_usage(cmd, "--broker takes HOST or HOST:PORT (got '%s')", v);
            memcpy(o->host, v, hl);
            o->host[hl] = '\0';
            o->broker.port = (int)port;
            break;
        }
        case 1: o->broker.user = v; break;
        case 2: o->broker.password = v; break;
        case 3: o->password_file = v; break;
        case 4: o->broker.cafile = v; break;
        case 5:
            if (strpbrk(v, "+#") || v[strlen(v) - 1] == '/')
                return cli_usage(cmd, "--prefix is a topic prefix without +, # or a final / "
                                      "(got '%s')", v);
            o->broker.prefix = v;
            break;
        default: o->db = v; break;
        }
        return 1;
    }
    return 0;
}

int fleet_opts_finish(const char *cmd, fleet_opts_t *o)
{
    if (o->broker.port == 0)
        o->broker.port = o->broker.cafile ? 8883 : 1883;
    if (o->password_file) {
        FILE *f = fopen(o->password_file, "r");
        if (f == NULL)
            return cli_fail("cannot read --password-file %s: %s", o->password_file,
                            strerror(errno));
        if (fgets(o->password, sizeof o->password, f) == NULL)
            o->password[0] = '\0';
        fclose(f);
        o->password[strcspn(o->password, "\r\n")] = '\0';
        o->broker.password = o->password;
    } else if (o->broker.password == NULL && getenv("ALOFT_MQTT_PASSWORD")) {
        o->broker.password = getenv("ALOFT_MQTT_PASSWORD");
    }
    if (o->broker.password && o->broker.user == NULL)
        return cli_usage(cmd, "a password needs --user NAME");
    return 0;
}

int fleet_fail(const host_error_t *e)
{
    return cli_fail("%s%s%s", e->message, e->hint[0] ? ": " : "", e->hint);
}

long long fleet_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- the roster -------------------------------------------------------- */

static fleet_seen_t *roster_row(fleet_roster_t *ro, const char *name)
{
    for (size_t i = 0; i < ro->n; i++)
        if (strcmp(ro->devs[i].name, name) == 0)
            return &ro->devs[i];
    if (ro->n == ro->cap) {
        ro->cap = ro->cap ? ro->cap * 2 : 64;
        ro->devs = xrealloc(ro->devs, ro->cap * sizeof *ro->devs);
    }
    fleet_seen_t *s = &ro->devs[ro->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

fleet_seen_t *fleet_roster_note(fleet_roster_t *ro, const char *topic, const void *p, size_t n,
                                const char **kind)
{
    size_t pl = strlen(ro->prefix);
    char name[FLEET_NAME_MAX + 1];
    *kind = "";
    if (strncmp(topic, ro->prefix, pl) != 0 || topic[pl] != '/')
        return NULL;
    const char *rest = topic + pl + 1, *slash = strchr(rest, '/');
    if (slash == NULL)
        return NULL;
    if (strncmp(rest, "release/", 8) == 0) {
        if (ro->release_project && strcmp(rest + 8, ro->release_project) == 0) {
            free(ro->release_json);
            ro->release_json = xmalloc(n + 1);
            memcpy(ro->release_json, p, n);
            ro->release_json[n] = '\0';
        }
        return NULL;
    }
    size_t nl = (size_t)(slash - rest);
    if (nl > FLEET_NAME_MAX)
        return NULL;
    memcpy(name, rest, nl);
    name[nl] = '\0';
    if (!fleet_name_ok(name))
        return NULL;
    const char *what = slash + 1;
    if (strcmp(what, "state") == 0) {
        fleet_seen_t *s = roster_row(ro, name);
        *kind = "state";
        if (fleet_json_device(p, n, s) != 0)
            s->have_state = false;
        return s;
    }
    if (strcmp(what, "online") == 0) {
        fleet_seen_t *s = roster_row(ro, name);
        *kind = "online";
        s->online = n == 6 && memcmp(p, "online", 6) == 0;
        return s;
    }
    if (strcmp(what, "update") == 0) {
        *kind = "update";
        return roster_row(ro, name);
    }
    return NULL;
}

void fleet_roster_free(fleet_roster_t *ro)
{
    free(ro->devs);
    free(ro->release_json);
    memset(ro, 0, sizeof *ro);
}

int fleet_connect(const fleet_opts_t *o, fleet_msg_fn fn, void *ctx, const char *release_project,
                  fleet_mqtt_t **out)
{
    host_error_t e;
    char filter[256];
    const char *const kinds[] = {"state", "online", "update"};
    memset(&e, 0, sizeof e);
    if (fleet_mqtt_connect(&o->broker, fn, ctx, 10000, out, &e) != 0)
        return fleet_fail(&e);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < 3; k++) {
        snprintf(filter, sizeof filter, "%s/+/%s", o->broker.prefix, kinds[k]);
        rc = fleet_mqtt_subscribe(*out, filter, &e);
    }
    if (rc == 0 && release_project) {
        snprintf(filter, sizeof filter, "%s/release/%s", o->broker.prefix, release_project);
        rc = fleet_mqtt_subscribe(*out, filter, &e);
    }
    if (rc == 0)
        rc = fleet_mqtt_sync(*out, 30000, &e);
    if (rc != 0) {
        fleet_mqtt_close(*out);
        *out = NULL;
        return fleet_fail(&e);
    }
    return 0;
}

/* ---- fleet devices ----------------------------------------------------- */

static void roster_msg(void *ctx, const char *topic, const void *p, size_t n)
{
    const char *kind;
    fleet_roster_note(ctx, topic, p, n, &kind);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fleet_seen_t *)a)->name, ((const fleet_seen_t *)b)->name);
}

static int devices_cmd(int argc, char **argv)
{
    fleet_opts_t o;
    const char *project = NULL;
    fleet_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (cli_is_help(argv[i])) {
            fputs(devices_help, stdout);
            return CLI_OK;
        }
        if ((m = fleet_common_opt("fleet devices", argc, argv, &i, &o)) != 0) {
            if (m != 1)
                return m;
        } else if ((m = cli_opt(argc, argv, &i, "--project", &v)) != 0) {
            if (m < 0)
                return cli_usage("fleet devices", "--project needs a name");
            project = v;
        } else {
            return cli_usage("fleet devices", "unknown argument '%s'", argv[i]);
        }
    }
    int rc = fleet_opts_finish("fleet devices", &o);
    if (rc != 0)
        return rc;
    fleet_roster_t ro = {.prefix = o.broker.prefix};
    fleet_mqtt_t *mq;
    if ((rc = fleet_connect(&o, roster_msg, &ro, NULL, &mq)) != 0)
        return rc;
    fleet_mqtt_close(mq);
    if (ro.n > 1)
        qsort(ro.devs, ro.n, sizeof *ro.devs, by_name);
    cJSON *arr = cJSON_CreateArray();
    size_t shown = 0;
    if (!o.json)
        printf("%-20s %-9s %-14s %-10s %-7s %s\n", "NAME", "CHIP", "PROJECT", "VERSION", "ONLINE",
               "SLOTS");
    for (size_t i = 0; i < ro.n; i++) {
        const fleet_seen_t *s = &ro.devs[i];
        if (!s->have_state || (project && strcmp(project, s->project) != 0))
            continue;
        shown++;
        if (o.json) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "name", s->name);
            cJSON_AddStringToObject(d, "chip", s->chip);
            cJSON_AddStringToObject(d, "project", s->project);
            cJSON_AddStringToObject(d, "version", s->version);
            cJSON_AddStringToObject(d, "slots", s->slots);
            cJSON_AddBoolToObject(d, "online", s->online);
            cJSON_AddItemToArray(arr, d);
        } else {
            printf("%-20s %-9s %-14s %-10s %-7s %s\n", s->name, s->chip, s->project, s->version,
                   s->online ? "yes" : "no", s->slots);
        }
    }
    if (o.json) {
        char *t = cJSON_PrintUnformatted(arr);
        printf("%s\n", t);
        free(t);
    } else if (shown == 0) {
        printf("(no device has published its state under %s/ on %s:%d)\n", o.broker.prefix,
               o.broker.host, o.broker.port);
    }
    cJSON_Delete(arr);
    fleet_roster_free(&ro);
    return CLI_OK;
}

/* ---- fleet release ----------------------------------------------------- */

typedef struct release_args {
    const char *file, *url, *dir, *summary, *release_url;
    bool want_signed, no_patches;
} release_args_t;

static void hex32(const uint8_t h[32], char out[65])
{
    for (int k = 0; k < 32; k++)
        snprintf(out + 2 * k, 3, "%02x", h[k]);
}

static int mkdirs(const char *path)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return cli_fail("cannot make directory %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return cli_fail("cannot make directory %s: %s", p, strerror(errno));
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Delta patches from every earlier release under DIR/PROJECT (each a
 * directory with its release.json and image) to the new image; returns
 * the "patches" array as JSON text (malloc'd). */
static char *make_patches(const release_args_t *a, const char *project, const char *version,
                          const char *url_dir, const char *out_dir, const uint8_t *img,
                          size_t plain, size_t total)
{
    char pdir[1024], path[1400];
    cJSON *arr = cJSON_CreateArray();
    snprintf(pdir, sizeof pdir, "%s/%s", a->dir, project);
    DIR *dir = opendir(pdir);
    struct dirent *ent;
    while (dir && (ent = readdir(dir)) != NULL) {
        const char *line = ent->d_name;
        if (line[0] == '.' || strcmp(line, version) == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s/release.json", pdir, line);
        size_t rl;
        FILE *probe = fopen(path, "r");
        if (probe == NULL)
            continue;
        fclose(probe);
        char *rel = (char *)read_file(path, &rl);
        if (rel == NULL)
            continue;
        rel = xrealloc(rel, rl + 1);
        rel[rl] = '\0';
        cJSON *ro = cJSON_Parse(rel);
        free(rel);
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(ro, "url");
        if (!cJSON_IsString(u)) {
            cJSON_Delete(ro);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s/%s", pdir, line, base_name(u->valuestring));
        cJSON_Delete(ro);
        size_t ol;
        uint8_t *old = read_file(path, &ol), *patch = NULL;
        size_t opl, pl;
        if (old == NULL)
            continue;
        opl = ol - aloft_sig_trailer_len(old, ol);
        /* made once, fetched by many devices: the smallest patch */
        if (delta_make(old, opl, img, plain, img + plain, total - plain, DELTA_DEFAULT_WBITS, 0,
                       DELTA_SMALLEST, &patch, &pl) == 0) {
            uint8_t h[32];
            char hx[65], name[300];
            snprintf(name, sizeof name, "from-%s.patch", line);
            snprintf(path, sizeof path, "%s/%s", out_dir, name);
            if (write_file(path, patch, pl) == 0) {
                cJSON *p = cJSON_CreateObject();
                delta_sha256(old, opl, h);
                hex32(h, hx);
                cJSON_AddStringToObject(p, "base_sha256", hx);
                snprintf(path, sizeof path, "%s/%s", url_dir, name);
                cJSON_AddStringToObject(p, "url", path);
                cJSON_AddNumberToObject(p, "size", (double)pl);
                delta_sha256(patch, pl, h);
                hex32(h, hx);
                cJSON_AddStringToObject(p, "sha256", hx);
                cJSON_AddItemToArray(arr, p);
            }
            free(patch);
        }
        free(old);
    }
    if (dir)
        closedir(dir);
    char *t = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return t;
}

static bool topic_safe(const char *s)
{
    return *s && s[0] != '.' && strpbrk(s, "/+#'\"\\ ") == NULL;
}

static int release_publish(const release_args_t *a, const fleet_opts_t *o, uint8_t *img,
                           size_t total)
{
    aloft_image_info_t info;
    aloft_diag_t d;
    char msg[400], sha[65], url[1024], out_dir[1024], path[1400], topic[256];
    uint8_t h[32];
    size_t plain = total - aloft_sig_trailer_len(img, total);
    memset(&d, 0, sizeof d);
    if (aloft_image_check(img, plain, &aloft_mbedtls_sha256, &info, &d) != 0) {
        aloft_diag_format(&d, msg, sizeof msg);
        return cli_fail("%s is not a valid app image: %s", a->file, msg);
    }
    if (!info.has_desc || !info.desc.project_name[0] || !info.desc.version[0])
        return cli_fail("%s has no app description (project and version): devices compare "
                        "them to refuse other projects and downgrades; build it with ESP-IDF "
                        "or 'aloft image make --project P --version V'", a->file);
    const char *project = info.desc.project_name, *version = info.desc.version;
    if (!topic_safe(project) || !topic_safe(version))
        return cli_fail("%s: project '%s' / version '%s' cannot be a topic level or a "
                        "directory name (no /, +, #, quotes, spaces or a leading dot)",
                        a->file, project, version);
    bool is_signed = plain < total;
    if (a->want_signed && !is_signed)
        return cli_fail("%s is not signed: sign it first ('aloft sign --key KEY.pem %s -o "
                        "NEW.signed.bin') and release the signed file", a->file, a->file);
    delta_sha256(img, total, h);
    hex32(h, sha);
    char *patches = NULL;
    size_t ul = strlen(a->url);
    while (ul > 0 && a->url[ul - 1] == '/')
        ul--;
    if (a->dir) {
        snprintf(out_dir, sizeof out_dir, "%s/%s/%s", a->dir, project, version);
        snprintf(url, sizeof url, "%.*s/%s/%s", (int)ul, a->url, project, version);
        if (mkdirs(out_dir) != 0)
            return CLI_FAIL;
        snprintf(path, sizeof path, "%s/%s", out_dir, base_name(a->file));
        if (write_file(path, img, total) != 0)
            return CLI_FAIL;
        if (!a->no_patches)
            patches = make_patches(a, project, version, url, out_dir, img, plain, total);
    } else {
        snprintf(url, sizeof url, "%.*s", (int)ul, a->url);
    }
    char file_url[1400];
    snprintf(file_url, sizeof file_url, "%s/%s", url, base_name(a->file));
    fleet_release_t rel = {.project = project, .version = version,
                           .chip = aloft_chip_name(info.chip_id), .url = file_url,
                           .sha256_hex = sha, .size = total, .is_signed = is_signed,
                           .summary = a->summary, .release_url = a->release_url,
                           .patches_json = patches};
    char *json = fleet_json_release(&rel);
    free(patches);
    int rc = CLI_OK;
    if (a->dir) {
        snprintf(path, sizeof path, "%s/release.json", out_dir);
        if (write_file(path, json, strlen(json)) != 0)
            rc = CLI_FAIL;
    }
    fleet_mqtt_t *mq = NULL;
    host_error_t e;
    memset(&e, 0, sizeof e);
    snprintf(topic, sizeof topic, "%s/release/%s", o->broker.prefix, project);
    if (rc == CLI_OK && fleet_mqtt_connect(&o->broker, roster_msg, NULL, 10000, &mq, &e) != 0)
        rc = fleet_fail(&e);
    if (rc == CLI_OK && (fleet_mqtt_publish(mq, topic, json, strlen(json), true, &e) != 0 ||
                         fleet_mqtt_flush(mq, 10000, &e) != 0))
        rc = fleet_fail(&e);
    fleet_mqtt_close(mq);
    if (rc == CLI_OK) {
        if (o->json)
            printf("%s\n", json);
        else
            printf("released %s %s (%s, %zu bytes%s) at %s\nannounced on %s\n", project, version,
                   rel.chip, total, is_signed ? ", signed" : "", file_url, topic);
    }
    free(json);
    return rc;
}

static int release_cmd(int argc, char **argv)
{
    fleet_opts_t o;
    release_args_t a;
    memset(&a, 0, sizeof a);
    fleet_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        static const char *const names[] = {"--url", "--dir", "--summary", "--release-url"};
        const char **dest[] = {&a.url, &a.dir, &a.summary, &a.release_url};
        const char *v;
        int m = 0;
        if (cli_is_help(argv[i])) {
            fputs(release_help, stdout);
            return CLI_OK;
        }
        if ((m = fleet_common_opt("fleet release", argc, argv, &i, &o)) != 0) {
            if (m != 1)
                return m;
            continue;
        }
        if (strcmp(argv[i], "--signed") == 0) {
            a.want_signed = true;
            continue;
        }
        if (strcmp(argv[i], "--no-patches") == 0) {
            a.no_patches = true;
            continue;
        }
        for (size_t k = 0; k < 4 && m == 0; k++)
            if ((m = cli_opt(argc, argv, &i, names[k], &v)) > 0)
                *dest[k] = v;
            else if (m < 0)
                return cli_usage("fleet release", "%s needs a value", names[k]);
        if (m != 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("fleet release", "unknown option '%s'", argv[i]);
        if (a.file)
            return cli_usage("fleet release", "one image at a time (got '%s' and '%s')", a.file,
                             argv[i]);
        a.file = argv[i];
    }
    if (a.file == NULL)
        return cli_usage("fleet release", "missing NEW.bin (the image to release)");
    if (a.url == NULL)
        return cli_usage("fleet release", "missing --url URL (where devices fetch the image)");
    if (strncmp(a.url, "http://", 7) != 0 && strncmp(a.url, "https://", 8) != 0)
        return cli_usage("fleet release", "--url must start with http:// or https:// "
                                          "(got '%s')", a.url);
    int rc = fleet_opts_finish("fleet release", &o);
    if (rc != 0)
        return rc;
    size_t n;
    uint8_t *img = read_file(a.file, &n);
    if (img == NULL)
        return CLI_FAIL;
    rc = release_publish(&a, &o, img, n);
    free(img);
    return rc;
}

/* ---- dispatch ---------------------------------------------------------- */

int cmd_fleet(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        {"devices", devices_cmd}, {"release", release_cmd},      {"rollout", fleet_rollout_cmd},
        {"run", fleet_run_cmd},   {"status", fleet_status_cmd}, {"pause", fleet_request_cmd},
        {"resume", fleet_request_cmd}, {"abort", fleet_request_cmd},
    };
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(fleet_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++)
        if (strcmp(argv[1], subs[k].name) == 0)
            return subs[k].run(argc - 1, argv + 1);
    return cli_usage("fleet", "unknown command '%s' (devices, release, rollout, run, status, "
                              "pause, resume, abort)", argv[1]);
}
