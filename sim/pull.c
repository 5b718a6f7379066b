/*
 * sim/pull.c — the simulator's HTTP/HTTPS pull (see pull.h): libcurl's
 * multi interface as the port of the aloft/pull.h engine, which decides
 * what to request, checks the responses and feeds the pipeline.
 */
#include "pull.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "aloft/util.h"
#include "clock.h"

/* ------------------------------------------------------------------ */
/* The release object (docs/FLEET.md §3). */

static void copy_str(const cJSON *o, const char *name, char *out, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v))
        snprintf(out, n, "%s", v->valuestring);
}

void sim_release_own(sim_release_t *r)
{
    r->file.url = r->url;
    r->file.patches = r->patches;
    for (size_t i = 0; i < r->file.npatches; i++)
        r->patches[i].url = r->patch_url[i];
}

static bool get_sha256(const cJSON *o, const char *name, uint8_t out[32])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && aloft_unhex(v->valuestring, strlen(v->valuestring), out, 32);
}

static bool http_url(const cJSON *v, size_t max)
{
    return cJSON_IsString(v) && strlen(v->valuestring) < max &&
           (strncmp(v->valuestring, "http://", 7) == 0 ||
            strncmp(v->valuestring, "https://", 8) == 0);
}

static bool file_size(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= UINT32_MAX &&
           v->valuedouble == (double)(uint32_t)v->valuedouble;
}

/* "patches" (FLEET.md §3): the first SIM_PATCHES_MAX, each whole or a
 * reason. */
static const char *parse_patches(const cJSON *arr, sim_release_t *r)
{
    const cJSON *e;
    if (arr == NULL)
        return NULL;
    if (!cJSON_IsArray(arr))
        return "\"patches\" must be an array";
    cJSON_ArrayForEach(e, arr) {
        aloft_pull_patch_t *pt = &r->patches[r->file.npatches];
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
        if (r->file.npatches == SIM_PATCHES_MAX)
            break;
        if (!http_url(url, SIM_URL_MAX) || !file_size(size) ||
            !get_sha256(e, "sha256", pt->sha256) || !get_sha256(e, "base_sha256", pt->base_sha256))
            return "each of \"patches\" needs base_sha256, url, size and sha256";
        snprintf(r->patch_url[r->file.npatches], SIM_URL_MAX, "%s", url->valuestring);
        pt->size = (uint32_t)size->valuedouble;
        r->file.npatches++;
    }
    return NULL;
}

int sim_release_parse(const char *json, sim_release_t *r, char *err, size_t n)
{
    memset(r, 0, sizeof *r);
    cJSON *o = cJSON_Parse(json);
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(o, "url");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(o, "signed");
    const char *why = NULL;
    if (!cJSON_IsObject(o))
        why = "not a JSON object";
    else if (!http_url(url, sizeof r->url))
        why = "\"url\" must be an http:// or https:// URL";
    else if (!file_size(size))
        why = "\"size\" must be the file's size in bytes";
    else if (!get_sha256(o, "sha256", r->file.sha256))
        why = "\"sha256\" must be 64 hex digits";
    else if (sig != NULL && !cJSON_IsBool(sig))
        why = "\"signed\" must be true or false";
    else
        why = parse_patches(cJSON_GetObjectItemCaseSensitive(o, "patches"), r);
    if (why == NULL) {
        snprintf(r->url, sizeof r->url, "%s", url->valuestring);
        sim_release_own(r);
        r->file.size = (uint32_t)size->valuedouble;
        r->file.is_signed = cJSON_IsTrue(sig);
        copy_str(o, "project", r->project, sizeof r->project);
        copy_str(o, "version", r->version, sizeof r->version);
        copy_str(o, "chip", r->chip, sizeof r->chip);
    }
    cJSON_Delete(o);
    if (why)
        snprintf(err, n, "%s", why);
    return why ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* libcurl as the engine's port. */

static void log_diag(sim_pull_t *p, const char *what)
{
    aloft_pull_status_t st;
    char text[320];
    aloft_pull_status(&p->engine, &st);
    aloft_diag_format(&st.diag, text, sizeof text);
    sim_log(p->sim, "aloft-sim: pull %s: %s", what, text);
}

/* Headers arrive a line at a time; the blank line ends a response (a
 * redirect's or a 100's is followed by the real one). */
static size_t on_header(char *line, size_t size, size_t count, void *ctx)
{
    sim_pull_t *p = ctx;
    size_t n = size * count;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        const char *sp = memchr(line, ' ', n);
        p->status = sp ? atoi(sp + 1) : 0;
        p->content_length = -1;
        p->content_range[0] = '\0';
    } else if (n > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
        char *end;
        long long v = strtoll(line + 15, &end, 10);
        p->content_length = v >= 0 ? v : -1;
    } else if (n > 14 && strncasecmp(line, "Content-Range:", 14) == 0) {
        aloft_printable(line + 14, n - 14, p->content_range, sizeof p->content_range);
    } else if ((n == 2 && line[0] == '\r') || (n == 1 && line[0] == '\n')) {
        bool interim = (p->status >= 100 && p->status < 200) ||
                       (p->status >= 300 && p->status < 400 && p->status != 304);
        if (!interim && !p->answered) {
            const char *cr = p->content_range;
            while (*cr == ' ')
                cr++;
            p->answered = true;
            if (aloft_pull_response(&p->engine, p->status, p->content_length,
                                    *cr ? cr : NULL) != 0)
                return 0;   /* refused: curl stops with CURLE_WRITE_ERROR */
        }
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t count, void *ctx)
{
    sim_pull_t *p = ctx;
    size_t n = size * count;
    if (!p->answered || (p->body_err = aloft_pull_body(&p->engine, data, n)) != 0)
        return 0;
    return n;
}

static void drop_request(sim_pull_t *p)
{
    if (p->easy) {
        curl_multi_remove_handle(p->multi, p->easy);
        curl_easy_cleanup(p->easy);
        p->easy = NULL;
    }
}

static void free_handles(sim_pull_t *p)
{
    drop_request(p);
    if (p->multi)
        curl_multi_cleanup(p->multi);
    p->multi = NULL;
}

static int open_request(sim_pull_t *p, const aloft_pull_next_t *next)
{
    aloft_pull_status_t st;
    CURL *e = curl_easy_init();
    long stall_s = (long)((p->opt.stall_ms + 999) / 1000);
    if (e == NULL)
        return ALOFT_ERR_CONNECT;
    aloft_pull_status(&p->engine, &st);
    p->status = 0;
    p->content_length = -1;
    p->content_range[0] = '\0';
    p->answered = false;
    p->body_err = 0;
    curl_easy_setopt(e, CURLOPT_URL, next->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->opt.stall_ms);
    /* A connection that moves less than a byte a second for stall_ms is
     * cut (CURLE_OPERATION_TIMEDOUT), and the engine retries. */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s ? stall_s : 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, p);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);   /* the file's own bytes */
    if (p->opt.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, p->opt.ca_file);
    if (p->opt.max_bytes_per_s)
        curl_easy_setopt(e, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)p->opt.max_bytes_per_s);
    if (next->from) {
        snprintf(p->range, sizeof p->range, "%u-", (unsigned)next->from);
        curl_easy_setopt(e, CURLOPT_RANGE, p->range);
    }
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->curl_error);
    p->curl_error[0] = '\0';
    if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return ALOFT_ERR_CONNECT;
    }
    p->easy = e;
    sim_log(p->sim, "aloft-sim: pull attempt %u of %u: GET %s%s%s", (unsigned)st.attempt,
            (unsigned)st.tries, next->url, next->from ? " from byte " : "",
            next->from ? p->range : "");
    return ALOFT_OK;
}

/* libcurl's outcome in the engine's words. */
static int transport_err(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return ALOFT_OK;
    case CURLE_OPERATION_TIMEDOUT: return ALOFT_ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return ALOFT_ERR_CONNECT;
    default: return ALOFT_ERR_CLOSED;
    }
}

static void end_request(sim_pull_t *p, CURLcode rc)
{
    int err = transport_err(rc);
    if (err && p->curl_error[0] && !p->body_err && rc != CURLE_WRITE_ERROR)
        sim_log(p->sim, "aloft-sim: pull: %s", p->curl_error);
    drop_request(p);
    aloft_pull_phase_t ph = aloft_pull_end(&p->engine, err, posix_now_ms());
    aloft_pull_status_t st;
    aloft_pull_status(&p->engine, &st);
    if (st.patch_diag.err && !p->told_fallback) {
        char text[320];
        aloft_diag_format(&st.patch_diag, text, sizeof text);
        sim_log(p->sim, "aloft-sim: pull: %s (%s): the full image instead", st.why, text);
        p->told_fallback = true;
    }
    if (ph == ALOFT_PULL_WAIT)
        log_diag(p, "attempt failed, retrying");
    else if (ph == ALOFT_PULL_REFUSED)
        log_diag(p, "refused");
    else if (ph == ALOFT_PULL_FAILED)
        log_diag(p, "failed");
    else if (ph == ALOFT_PULL_DONE && st.patch)
        sim_log(p->sim, "aloft-sim: pull complete: a %u-byte patch for the %u-byte file, %u bytes "
                "on the wire in %u attempt%s, verified and %s activated",
                (unsigned)st.total, (unsigned)p->rel.file.size, (unsigned)st.wire,
                (unsigned)st.attempt, st.attempt == 1 ? "" : "s",
                aloft_update_partition(&p->sim->update)->label);
    if (ph == ALOFT_PULL_DONE && st.patch && st.resumed_from)
        sim_log(p->sim, "aloft-sim: pull: resumed from the journal: %u image bytes were in flash, "
                "the patch's segments below them skipped", (unsigned)st.resumed_from);
    else if (ph == ALOFT_PULL_DONE)
        sim_log(p->sim, "aloft-sim: pull complete: %u bytes in %u attempt%s%s, verified and %s activated",
                (unsigned)st.total, (unsigned)st.attempt, st.attempt == 1 ? "" : "s",
                st.resumed_from ? " (resumed from the journal)" : "",
                aloft_update_partition(&p->sim->update)->label);
}

int sim_pull_start(sim_pull_t *p, sim_device_t *sim, const sim_release_t *r,
                   const sim_pull_options_t *opt)
{
    static bool curl_ready;
    if (p->multi != NULL)   /* this struct's pull still runs */
        return ALOFT_ERR_BUSY;
    memset(p, 0, sizeof *p);
    p->sim = sim;
    p->rel = *r;
    sim_release_own(&p->rel);
    inflate_zlib_init(&p->inflate, &p->zst, SIM_WINDOW_BITS);
    aloft_pull_delta_t delta = {.stage = &p->stage, .inflate = &p->inflate};
    if (opt)
        p->opt = *opt;
    if (p->opt.stall_ms == 0)
        p->opt.stall_ms = 10000;
    if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
        curl_ready = true;
    int err = aloft_pull_start(&p->engine, &sim->dev, &sim->update, &p->rel.file,
                               &p->opt.policy, &delta);
    aloft_pull_status_t st;
    aloft_pull_status(&p->engine, &st);
    if (st.patch)
        sim_log(sim, "aloft-sim: pull: %s: %u bytes instead of %u", st.why, (unsigned)st.total,
                (unsigned)p->rel.file.size);
    else
        sim_log(sim, "aloft-sim: pull: the full image: %s", st.why);
    if (err) {
        log_diag(p, "refused");
        return err;
    }
    if (st.resumed_from)
        sim_log(sim, "aloft-sim: pull: %u of %u bytes already in flash (journal), resuming",
                (unsigned)st.resumed_from, (unsigned)st.total);
    if ((p->multi = curl_multi_init()) == NULL) {
        aloft_pull_cancel(&p->engine);
        return ALOFT_ERR_CONNECT;
    }
    return ALOFT_OK;
}

sim_pull_result_t sim_pull_step(sim_pull_t *p, int timeout_ms)
{
    aloft_pull_next_t next;
    aloft_pull_phase_t ph = aloft_pull_poll(&p->engine, posix_now_ms(), &next);
    if (ph == ALOFT_PULL_REQUEST && open_request(p, &next) != 0)
        end_request(p, CURLE_FAILED_INIT);
    else if (ph == ALOFT_PULL_WAIT)
        poll(NULL, 0, (int)(next.wait_ms < (uint32_t)timeout_ms ? next.wait_ms : (uint32_t)timeout_ms));
    if (p->easy) {
        int running, left;
        CURLMsg *m;
        curl_multi_perform(p->multi, &running);
        while ((m = curl_multi_info_read(p->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE && m->easy_handle == p->easy)
                end_request(p, m->data.result);
        if (p->easy)
            curl_multi_poll(p->multi, NULL, 0, timeout_ms, NULL);
    }
    aloft_pull_status_t st;
    aloft_pull_status(&p->engine, &st);
    if (st.phase == ALOFT_PULL_WAIT || st.phase == ALOFT_PULL_RECEIVING ||
        st.phase == ALOFT_PULL_REQUEST)
        return SIM_PULL_BUSY;
    free_handles(p);
    return SIM_PULL_OVER;
}

void sim_pull_status(const sim_pull_t *p, aloft_pull_status_t *st)
{
    aloft_pull_status(&p->engine, st);
}

void sim_pull_cancel(sim_pull_t *p)
{
    aloft_pull_status_t st;
    aloft_pull_status(&p->engine, &st);
    free_handles(p);
    aloft_pull_cancel(&p->engine);
    if (st.phase == ALOFT_PULL_REQUEST || st.phase == ALOFT_PULL_RECEIVING ||
        st.phase == ALOFT_PULL_WAIT)
        log_diag(p, "cancelled");
}
