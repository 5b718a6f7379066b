/*
 * cli/cmd_espota.c — `aloft espota`: a drop-in for espota.py, so the
 * Arduino IDE, PlatformIO or a script can call aloft where they called
 * espota.py (same flags, same exit codes 0/1/2, messages on stderr).
 *
 * Deliberate differences: a result other than "OK" is always a failure
 * (espota 3.3.1+ exits 0 and says it "may still be successful"), the
 * transfer streams instead of stopping for every 1 KiB, the auth answer is
 * read on the invitation's socket (ESP8266 devices answer there), and
 * errors come with a cause and a hint. --tries is an addition.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "espota_host.h"
#include "fileio.h"
#include "host_os.h"
#include "progress.h"

static const char espota_help[] =
    "usage: aloft espota -i IP -f FILE [-I HOST_IP] [-p PORT] [-P HOST_PORT]\n"
    "                    [-a AUTH] [-m] [-s] [-d] [-r] [-t TIMEOUT] [--tries N]\n\n"
    "Drop-in replacement for espota.py (ArduinoOTA uploads), same flags and exit\n"
    "codes; a device answer other than OK is always a failure.\n\n"
    "  -i, --ip IP               device address or name (NAME.local too)\n"
    "  -I, --host_ip HOST_IP     address of this computer to listen on (default 0.0.0.0)\n"
    "  -p, --port PORT           device UDP port (default 3232; ESP8266: 8266)\n"
    "  -P, --host_port HOST_PORT TCP port the device connects back to (default random)\n"
    "  -a, --auth AUTH           OTA password (also --auth=AUTH)\n"
    "  -m, --md5-target          the device keeps an MD5 password hash\n"
    "  -f, --file FILE           image to upload\n"
    "  -s, --spiffs              FILE is a filesystem image\n"
    "  -d, --debug               show what happens step by step\n"
    "  -r, --progress            show a progress bar\n"
    "  -t, --timeout TIMEOUT     seconds to wait for each invitation answer (default 10)\n"
    "      --tries N             invitations before giving up (default 10)\n\n"
    "Exit status: 0 the device confirmed the update, 1 failure, 2 usage.\n";

enum { F_IP, F_HOST_IP, F_PORT, F_HOST_PORT, F_AUTH, F_MD5, F_FILE, F_SPIFFS, F_DEBUG,
       F_PROGRESS, F_TIMEOUT, F_TRIES, F_HELP };

typedef struct {
    char short_name;          /* 0: long only */
    const char *long_name;
    const char *alias;        /* accepted too (aloft spelling), or NULL */
    bool has_value;
    int id;
} flag_t;

static const flag_t flags[] = {
    {'i', "--ip", NULL, true, F_IP},
    {'I', "--host_ip", "--host-ip", true, F_HOST_IP},
    {'p', "--port", NULL, true, F_PORT},
    {'P', "--host_port", "--host-port", true, F_HOST_PORT},
    {'a', "--auth", NULL, true, F_AUTH},
    {'m', "--md5-target", NULL, false, F_MD5},
    {'f', "--file", NULL, true, F_FILE},
    {'s', "--spiffs", NULL, false, F_SPIFFS},
    {'d', "--debug", NULL, false, F_DEBUG},
    {'r', "--progress", NULL, false, F_PROGRESS},
    {'t', "--timeout", NULL, true, F_TIMEOUT},
    {0, "--tries", NULL, true, F_TRIES},
    {'h', "--help", NULL, false, F_HELP},
};

typedef struct {
    const char *ip, *host_ip, *auth, *file;
    uint32_t port, host_port, timeout_s, tries;
    bool md5, spiffs, debug, progress, help;
} espota_args_t;

/* ---- command line ---------------------------------------------------- */

static int set_number(const char *flag, const char *v, uint32_t max, uint32_t *out)
{
    if (cli_parse_u32(v, false, out) != 0 || *out == 0 || *out > max)
        return cli_usage("espota", "%s: '%s' is not a number from 1 to %u", flag, v,
                         (unsigned)max);
    return CLI_OK;
}

static int apply(espota_args_t *a, const flag_t *f, const char *v)
{
    switch (f->id) {
    case F_IP: a->ip = v; break;
    case F_HOST_IP: a->host_ip = v; break;
    case F_PORT: return set_number(f->long_name, v, 65535, &a->port);
    case F_HOST_PORT: return set_number(f->long_name, v, 65535, &a->host_port);
    case F_AUTH: a->auth = v; break;
    case F_MD5: a->md5 = true; break;
    case F_FILE: a->file = v; break;
    case F_SPIFFS: a->spiffs = true; break;
    case F_DEBUG: a->debug = true; break;
    case F_PROGRESS: a->progress = true; break;
    case F_TIMEOUT: return set_number(f->long_name, v, 3600, &a->timeout_s);
    case F_TRIES: return set_number(f->long_name, v, 1000, &a->tries);
    default: a->help = true; break;
    }
    return CLI_OK;
}

/* "--name VALUE", "--name=VALUE" (or the alias). */
static int long_flag(espota_args_t *a, int argc, char **argv, int *i)
{
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
        const flag_t *f = &flags[k];
        const char *v = NULL;
        for (int n = 0; n < 2; n++) {
            const char *name = n ? f->alias : f->long_name;
            if (name == NULL)
                continue;
            if (!f->has_value) {
                if (strcmp(argv[*i], name) == 0)
                    return apply(a, f, NULL);
                continue;
            }
            int m = cli_opt(argc, argv, i, name, &v);
            if (m < 0)
                return cli_usage("espota", "%s needs a value", name);
            if (m > 0)
                return apply(a, f, v);
        }
    }
    return cli_usage("espota", "unrecognized argument '%s'", argv[*i]);
}

/* "-x VALUE", "-xVALUE", and booleans bundled as "-dr". */
static int short_flags(espota_args_t *a, int argc, char **argv, int *i)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        const flag_t *f = NULL;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (flags[k].short_name == *p)
                f = &flags[k];
        if (f == NULL)
            return cli_usage("espota", "unrecognized option '-%c'", *p);
        if (!f->has_value) {
            int rc = apply(a, f, NULL);
            if (rc != CLI_OK)
                return rc;
            continue;
        }
        if (p[1] != '\0')
            return apply(a, f, p + 1);
        if (*i + 1 >= argc)
            return cli_usage("espota", "-%c needs a value", *p);
        return apply(a, f, argv[++*i]);
    }
    return CLI_OK;
}

static int parse_espota_args(espota_args_t *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->port = ALOFT_ESPOTA_PORT;
    a->timeout_s = ESPOTA_HOST_TIMEOUT_MS / 1000u;
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strncmp(argv[i], "--", 2) == 0)
            rc = long_flag(a, argc, argv, &i);
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            rc = short_flags(a, argc, argv, &i);
        else
            rc = cli_usage("espota", "unrecognized argument '%s'", argv[i]);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

/* ---- output, espota's way ---------------------------------------------- */

typedef struct {
    const espota_args_t *a;
    uint64_t total;          /* image bytes */
    bool line_open;          /* "Sending invitation ..." awaits its newline */
    progress_t bar;
    bool bar_on;
    uint64_t dots;           /* -r off: a dot per 2 % */
} ui_t;

static void log_line(const char *level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "HH:MM:SS [LEVEL]: message", espota's logging format. */
static void log_line(const char *level, const char *fmt, ...)
{
    char stamp[16];
    va_list ap;
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%H:%M:%S", localtime(&now));
    fprintf(stderr, "%s [%s]: ", stamp, level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void end_line(ui_t *ui)
{
    if (ui->line_open)
        fputc('\n', stderr);
    ui->line_open = false;
}

/* An INFO line, shown with -d only. */
static void info(ui_t *ui, const char *text, const char *arg)
{
    if (!ui->a->debug)
        return;
    end_line(ui);
    log_line("INFO", "%s%s", text, arg);
}

static void start_upload(ui_t *ui)
{
    end_line(ui);
    if (ui->a->progress) {
        progress_init(&ui->bar, stderr, host_is_terminal(stderr), "Uploading", ui->total,
                      progress_clock());
        ui->bar_on = true;
    } else {
        fputs("Uploading", stderr);
        ui->line_open = true;
    }
}

static void on_event(void *ctx, espota_event_t ev, const char *detail)
{
    ui_t *ui = ctx;
    switch (ev) {
    case ESPOTA_EV_LISTENING: info(ui, "Starting on ", detail); break;
    case ESPOTA_EV_INVITE:
        fprintf(stderr, "Sending invitation to %s ", ui->a->ip);
        ui->line_open = true;
        break;
    case ESPOTA_EV_NO_ANSWER: fputc('.', stderr); break;
    case ESPOTA_EV_AUTH:
        end_line(ui);
        fprintf(stderr, "Authenticating (%s)...", detail);
        ui->line_open = true;
        break;
    case ESPOTA_EV_AUTH_OK: fputs("OK", stderr); end_line(ui); break;
    case ESPOTA_EV_AUTH_FAILED: fputs("FAIL", stderr); end_line(ui); break;
    case ESPOTA_EV_AUTH_RETRY_MD5: fputs("Retrying with MD5 password...\n", stderr); break;
    case ESPOTA_EV_ACCEPTED: info(ui, "Waiting for device to connect to ", detail); break;
    case ESPOTA_EV_CONNECTED:
        info(ui, "Device connected from ", detail);
        start_upload(ui);
        break;
    case ESPOTA_EV_SENT_ALL: info(ui, "Waiting for result...", ""); break;
    case ESPOTA_EV_DEVICE_SAID: info(ui, "Device said: ", detail); break;
    }
    fflush(stderr);
}

static void on_progress(void *ctx, uint64_t sent, uint64_t confirmed, uint64_t total)
{
    ui_t *ui = ctx;
    (void)confirmed;
    if (ui->bar_on) {
        progress_update(&ui->bar, sent, progress_clock());
        return;
    }
    for (; total && ui->line_open && ui->dots < sent * 50 / total; ui->dots++)
        fputc('.', stderr);
}

static void report_failure(const espota_result_t *r)
{
    char line[sizeof r->error.message + sizeof r->error.hint + 4];
    snprintf(line, sizeof line, "%s%s%s", r->error.message, r->error.hint[0] ? ": " : "",
             r->error.hint);
    log_line("ERROR", "%s", line);
    if (r->device_text[0])
        log_line("ERROR", "device said: %s", r->device_text);
}

static int finish(ui_t *ui, const espota_result_t *r)
{
    if (ui->bar_on)
        progress_end(&ui->bar, r->bytes, progress_clock(), r->ok);
    end_line(ui);
    if (!r->ok) {
        report_failure(r);
        return CLI_FAIL;
    }
    if (r->auth == ALOFT_ESPOTA_AUTH_MD5 || r->md5_secret)
        log_line("WARNING", "%s", "Device uses MD5-based authentication, which is weak; update "
                 "it to ESP32 core 3.3.1+ with a SHA-256 password");
    info(ui, "Result: OK", "");
    info(ui, "Success: ", r->device_addr);
    return CLI_OK;
}

/* ---- the command ----------------------------------------------------- */

int cmd_espota(int argc, char **argv)
{
    espota_args_t a;
    espota_upload_t u;
    espota_result_t r;
    ui_t ui;
    size_t len = 0;
    char device[300];
    int rc = parse_espota_args(&a, argc, argv);
    if (rc != CLI_OK)
        return rc;
    if (a.help) {
        fputs(espota_help, stdout);
        return CLI_OK;
    }
    memset(&ui, 0, sizeof ui);
    ui.a = &a;
    if (a.ip == NULL || a.file == NULL) {   /* espota.py: exit 1, not a parse error */
        log_line("CRITICAL", "%s", "Not enough arguments: -i IP and -f FILE are required.");
        return CLI_FAIL;
    }
    uint8_t *data = read_file(a.file, &len);
    if (data == NULL)
        return CLI_FAIL;
    ui.total = len;
    snprintf(device, sizeof device, "%s:%u", a.ip, (unsigned)a.port);
    memset(&u, 0, sizeof u);
    u.device = device;
    u.host_ip = a.host_ip;
    u.host_port = (uint16_t)a.host_port;
    u.password = a.auth;
    u.md5_target = a.md5;
    u.fs = a.spiffs;
    u.tries = a.tries;
    u.invite_timeout_ms = a.timeout_s * 1000u;   /* -t is for the invitation only, as in espota */
    u.host_port_flag = "-P";
    u.filename = a.file;
    u.data = data;
    u.size = len;
    u.on_event = on_event;
    u.on_progress = on_progress;
    u.ctx = &ui;
    if (a.debug)
        log_line("INFO", "Upload size: %zu", len);
    espota_upload(&u, &r);
    free(data);
    return finish(&ui, &r);
}
