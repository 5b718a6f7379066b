/*
 * lib/agent_int.h — internal: what agent.c (events, commands) and
 * agent_payload.c (the JSON the agent publishes) share.
 */
#ifndef ALOFT_AGENT_INT_H
#define ALOFT_AGENT_INT_H

#include "aloft/agent.h"
#include "sbuf.h"

/* aloft_agent_t.pending bits, in the order poll serves them. */
enum {
    AGENT_P_SUBS = 1u << 0,
    AGENT_P_ONLINE = 1u << 1,
    AGENT_P_DISCOVERY = 1u << 2,
    AGENT_P_STATE = 1u << 3,
    AGENT_P_HA = 1u << 4,
    AGENT_P_BUSY = 1u << 10,     /* a command refused while busy (before PROGRESS) */
    AGENT_P_PROGRESS = 1u << 5,
    AGENT_P_SAVE = 1u << 6,
    AGENT_P_PULL = 1u << 7,
    AGENT_P_ROLLBACK = 1u << 8,
    AGENT_P_REBOOT = 1u << 9,
};

/* Payloads of FLEET.md §4, §5, §7 and the record, into b. */
void aloft_agent_put_state(const aloft_agent_t *a, aloft_sbuf_t *b);
/* busy: the BUSY refusal of busy_id instead of the running update's. */
void aloft_agent_put_progress(const aloft_agent_t *a, aloft_sbuf_t *b, bool busy);
void aloft_agent_put_discovery(const aloft_agent_t *a, aloft_sbuf_t *b);
void aloft_agent_put_ha(const aloft_agent_t *a, aloft_sbuf_t *b);
void aloft_agent_put_record(const aloft_agent_t *a, aloft_sbuf_t *b);

/* "PREFIX/DEV/" + leaf into b. */
void aloft_agent_put_topic(const aloft_agent_t *a, aloft_sbuf_t *b, const char *leaf);

#endif /* ALOFT_AGENT_INT_H */
