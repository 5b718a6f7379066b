/*
 * tests/unit/support/native_peer.h — the host side of a native login in a
 * few calls, for tests that drive many connections through device engines
 * (limits, admission): connect and read HELLO, send AUTH with a client key,
 * read the unkeyed reply (AUTH_OK or ERROR). The full in-test host with
 * uploads lives in test_native_device.c.
 */
#ifndef ALOFT_NATIVE_PEER_H
#define ALOFT_NATIVE_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "aloft/native_device.h"

typedef struct native_peer {
    aloft_native_device_t d;
    uint8_t hello[ALOFT_NATIVE_MAX_PAYLOAD];   /* HELLO payload, for the proof */
    size_t hello_len;
} native_peer_t;

/* Start p's engine for a connection from ip and take its HELLO. Returns 0
 * or the engine's error. */
int npeer_connect(native_peer_t *p, const aloft_native_device_config_t *cfg, uint32_t ip,
                  uint32_t now_ms);

/* Hand n raw bytes to the engine. */
void npeer_push(native_peer_t *p, const void *bytes, size_t n, uint32_t now_ms);

/* Send AUTH proving client_key (a wrong key makes a wrong proof). */
void npeer_auth(native_peer_t *p, const uint8_t client_key[32], uint32_t now_ms);

/* The next unkeyed frame the engine queued, decoded into *m: returns its
 * type, or 0 if there is none. */
int npeer_reply(native_peer_t *p, aloft_native_msg_t *m);

/* One login from ip: connect, AUTH, reply. Returns 0 for AUTH_OK or the
 * ERROR code (with its have in *have if not NULL). */
int npeer_login(native_peer_t *p, const aloft_native_device_config_t *cfg, uint32_t ip,
                const uint8_t client_key[32], uint32_t now_ms, uint32_t *have);

#endif
