/*
 * sim/agent.h — the simulator's MQTT agent: the aloft/agent.h engine over
 * libmosquitto for one simulated device, pulling releases with sim/pull.h.
 * A fleet is N of these in one thread: each has its own flash, record file
 * and MQTT session, and the caller's loop steps them in turn (no threads:
 * libmosquitto is used without its own loop thread, sim_agent_step runs
 * mosquitto_loop with a zero timeout, and the caller waits on every
 * session's socket at once, see sim_agent_pollfd).
 *
 * The record the engine saves across a reboot is a file beside the flash:
 * FLASH.agent (written whole to a temporary name, then renamed).
 */
#ifndef ALOFT_SIM_AGENT_H
#define ALOFT_SIM_AGENT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "aloft/agent.h"
#include "device.h"
#include "pull.h"

typedef struct sim_agent_config {
    const char *host;            /* broker */
    int port;
    /* MQTT login; user NULL: the device's name (FLEET.md §2), both NULL: none */
    const char *user, *password;
    const char *cafile;          /* TLS to the broker with this CA (PEM); NULL: plain */
    const char *prefix;          /* NULL: aloft */
    const char *omg_prefix;      /* OpenMQTTGateway prefix, NULL: none */
    const char *ota_password;    /* for OMG's password; NULL: none (only its hash is kept) */
    sim_pull_options_t pull;     /* HTTPS CA, retries, rate of the pulls */
} sim_agent_config_t;

typedef struct sim_agent {
    sim_device_t *sim;
    sim_agent_config_t cfg;
    char name[ALOFT_AGENT_NAME_MAX + 1];
    char record_path[512];
    struct mosquitto *m;
    aloft_agent_t agent;
    aloft_agent_device_t dev;
    aloft_boot_t scratch;        /* verifies the other slots for the device object */
    char buf[2048];
    bool has_password;
    uint8_t password_sha256[32];
    bool connected, reboot;
    unsigned unacked;            /* QoS 1 publishes the broker has not acknowledged */
    uint64_t retry_ms;           /* next connection attempt */
    uint32_t backoff_ms;         /* before the attempt after a failed one (doubling) */
    sim_pull_t pull;
    sim_release_t rel;
    bool pulling;
    void (*display_progress)(void *ctx, uint32_t done, uint32_t total);   /* sim's own */
} sim_agent_t;

/* Once per process, before the first sim_agent_open. */
void sim_agent_lib_init(void);

/* Bind an agent named name to a booted sim (whose flash file is
 * flash_path) and start connecting. Returns 0 or -1 (printed). */
int sim_agent_open(sim_agent_t *sa, sim_device_t *sim, const char *flash_path,
                   const char *name, const sim_agent_config_t *cfg, uint64_t now_ms);

/* Do what is due: MQTT I/O (without waiting), the pull, the health check
 * (sim_tick), a reboot the engine asked for. Returns 0, or -1 when the
 * device cannot go on (it did not boot). */
int sim_agent_step(sim_agent_t *sa, uint64_t now_ms);

/* The session's socket and the events to wait for (fd -1 when there is
 * none); a pull in progress wants the caller not to wait long. */
void sim_agent_pollfd(sim_agent_t *sa, struct pollfd *p);
bool sim_agent_pulling(const sim_agent_t *sa);

void sim_agent_close(sim_agent_t *sa);

#endif /* ALOFT_SIM_AGENT_H */
