/*
 * tests/unit/support/native_link.h — a host engine (aloft/native_host.h)
 * and a device engine (aloft/native_device.h) connected in one process,
 * as a TCP connection would connect them: bytes move both ways in pieces
 * of at most `chunk`, a tap may look at (and change) them on the way, and
 * an engine that closes closes the other one's end. No sockets, no clock
 * but `now`: every run is deterministic. Used by the unit tests and the
 * fuzzers (no cmocka in here).
 */
#ifndef ALOFT_NATIVE_LINK_H
#define ALOFT_NATIVE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/native_device.h"
#include "aloft/native_host.h"

typedef struct native_link {
    aloft_native_host_t *host;
    aloft_native_device_t *dev;
    uint32_t now;                /* the time both engines are given */
    size_t chunk;                /* most bytes moved per pump each way; 0 = all that fit */
    bool hold_up, hold_down;     /* nothing moves that way (a stalled link); while up
                                    is held the host is not stepped either, so nothing
                                    waits in its send buffer (see inject) */
    bool dev_manual;             /* the link never steps the device (the test does) */
    /* Sees the bytes just moved into the receiver's buffer, before it is
     * told; may change them (a flipped bit). up: host to device. */
    void (*tap)(void *ctx, bool up, uint8_t *p, size_t n);
    void *tap_ctx;
    uint64_t up, down;           /* bytes moved each way */
} native_link_t;

/* One round: the host's next frame, bytes each way, one device step, and
 * the end of a side that closed passed on. Returns true if anything
 * happened. */
bool native_link_pump(native_link_t *l);

/* Pump until nothing happens (both closed, or both waiting). */
void native_link_run(native_link_t *l);

/* Advance the clock by ms and tick both engines. */
void native_link_tick(native_link_t *l, uint32_t ms);

/* The connection breaks: both ends hear it. */
void native_link_drop(native_link_t *l);

/* An adversary's frame on the host's side of a keyed session: encoded
 * with the host engine's session key and next sequence number (which the
 * host engine then skips, so its own frames stay in order) and handed to
 * the device. Returns the frame length or a codec error. */
int native_link_inject(native_link_t *l, const aloft_native_msg_t *m);

/* A frame of any type and payload, as no engine would build it (fuzzers,
 * hostile peers): header, payload cut to ALOFT_NATIVE_MAX_PAYLOAD, and
 * with key a MAC for direction dir ('H' or 'D') and sequence number seq
 * (flip_mac: one bit of it wrong). Writes into out (ALOFT_NATIVE_FRAME_MAX
 * bytes); returns the frame length. */
size_t native_raw_frame(uint8_t *out, uint8_t type, const uint8_t *payload, size_t len,
                        const uint8_t *key, char dir, uint32_t seq, bool flip_mac);

/* Raw bytes to the device as if the host had sent them. */
void native_link_push_raw(native_link_t *l, const uint8_t *p, size_t n);

/* Frames in a byte stream one way, as they pass a tap: which frame and
 * where in it each byte is, and the last complete frame (for a replay).
 * Which frames carry a MAC is read off their type: host to device ('H')
 * all but AUTH, device to host ('D') all but HELLO and AUTH_OK (an ERROR
 * answering the login is not told apart: do not follow one). */
typedef struct native_frames {
    char dir;
    unsigned count;              /* frames completed */
    unsigned data;               /* DATA frames completed */
    size_t pos, len;             /* in the frame being read; len 0 before its header */
    uint8_t cur[ALOFT_NATIVE_FRAME_MAX];
    uint8_t last[ALOFT_NATIVE_FRAME_MAX];
    size_t last_len;
} native_frames_t;

/* Take one byte; returns true if it completed a frame (then in last). */
bool native_frames_byte(native_frames_t *f, uint8_t b);

#endif /* ALOFT_NATIVE_LINK_H */
