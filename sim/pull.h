/*
 * sim/pull.h — the simulator's HTTP/HTTPS pull (libcurl's multi interface
 * around the aloft/pull.h engine). Non-blocking: sim_pull_step() does the
 * network I/O that is ready within its timeout and returns, so a device
 * loop (the MQTT agent's, aloft-sim's) steps it between its other work.
 *
 *   sim_release_parse(json) -> sim_release_t
 *   sim_pull_start(&pull, sim, &release, &options)   refusal: nothing erased
 *   while (sim_pull_step(&pull, 20) == SIM_PULL_BUSY) { other work }
 *   sim_pull_status(&pull, &st)                      any time: phase, done/total
 *   DONE: the new image is activated; the caller reboots (sim_boot)
 *
 * One pull per sim_pull_t; the struct may be static. The release is
 * copied. libcurl's handles are freed once the pull is over (or
 * cancelled); a new sim_pull_start may reuse the struct.
 */
#ifndef ALOFT_SIM_PULL_H
#define ALOFT_SIM_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/pull.h"
#include "device.h"
#include "inflate_zlib.h"

#define SIM_URL_MAX 512
#define SIM_PATCHES_MAX 8

/* A release object (docs/FLEET.md §3), what the simulator uses of it. */
typedef struct sim_release {
    char project[32], version[32], chip[16];   /* "" when absent */
    char url[SIM_URL_MAX];
    char patch_url[SIM_PATCHES_MAX][SIM_URL_MAX];
    aloft_pull_patch_t patches[SIM_PATCHES_MAX];  /* urls point into patch_url */
    aloft_pull_release_t file;                 /* file.url points into url */
} sim_release_t;

/* Parse a release object's JSON text (url, size, sha256 required; signed,
 * project, version, chip, patches optional: the first SIM_PATCHES_MAX,
 * each with base_sha256, url, size, sha256). Returns 0, or -1 with a
 * reason in err. */
int sim_release_parse(const char *json, sim_release_t *r, char *err, size_t n);

/* Point r's pointers at its own strings again (after a copy). */
void sim_release_own(sim_release_t *r);

typedef struct sim_pull_options {
    const char *ca_file;          /* HTTPS: trust this CA bundle (PEM); NULL = system's */
    aloft_pull_policy_t policy;   /* retries (zero: defaults, FLEET.md §8) */
    uint32_t stall_ms;            /* a connection silent this long is cut (0: 10000) */
    uint32_t max_bytes_per_s;     /* download rate limit, 0 = none (tests) */
} sim_pull_options_t;

/* Internal; do not rely on the fields. */
typedef struct sim_pull {
    sim_device_t *sim;
    sim_release_t rel;
    sim_pull_options_t opt;
    aloft_pull_t engine;
    aloft_native_delta_t stage;   /* patches: the decoder, the running image */
    inflate_zlib_t zst;
    aloft_inflate_t inflate;
    void *multi, *easy;           /* CURLM *, CURL * */
    void *headers;                /* struct curl_slist * */
    char range[32];
    char content_range[80];
    int64_t content_length;
    int status;
    bool answered;                /* the response headers went to the engine */
    int body_err;                 /* the engine refused body bytes */
    bool told_fallback;           /* the patch's refusal was logged */
    char curl_error[256];         /* CURL_ERROR_SIZE */
} sim_pull_t;

typedef enum sim_pull_result {
    SIM_PULL_BUSY = 0,     /* still running: step again */
    SIM_PULL_OVER = 1,     /* done, refused or failed: see sim_pull_status */
} sim_pull_result_t;

/* Start pulling r into sim's inactive slot. Returns 0, or the refusal
 * (status phase REFUSED with the diag; nothing erased): the pipeline's
 * (ALOFT_ERR_BUSY while another update runs, TOO_LARGE, PENDING,
 * UNSIGNED, ...); ALOFT_ERR_BUSY also, with p untouched, while p's own
 * pull runs. p must be zeroed (or static) before its first start. */
int sim_pull_start(sim_pull_t *p, sim_device_t *sim, const sim_release_t *r,
                   const sim_pull_options_t *opt);

/* Do what is ready within timeout_ms (socket I/O, flash writes, a due
 * retry). Returns SIM_PULL_BUSY or SIM_PULL_OVER. */
sim_pull_result_t sim_pull_step(sim_pull_t *p, int timeout_ms);

/* Phase, bytes done/total, attempt, the failure's diag. */
void sim_pull_status(const sim_pull_t *p, aloft_pull_status_t *st);

/* Stop now (the journal keeps the durable prefix). No-op once over. */
void sim_pull_cancel(sim_pull_t *p);

#endif /* ALOFT_SIM_PULL_H */
