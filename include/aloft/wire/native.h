/*
 * aloft/wire/native.h — the aloft native protocol: frames and messages, shared by
 * the device engine (aloft/native_device.h) and the host client. One codec,
 * compiled into both sides. docs/PROTOCOL.md §2 is the full specification;
 * this header is its machine-readable half.
 *
 * Transport: one TCP connection from the host to the device (port 3232 by
 * default; espota keeps UDP 3232). Nothing connects back.
 *
 * Frame (all integers little-endian):
 *   type u8 | flags u8 (0) | len u16 | payload[len] | mac[16] (authenticated phase)
 * len <= ALOFT_NATIVE_MAX_PAYLOAD. Once the handshake is over (after AUTH_OK,
 * or after HELLO for a device without a password) every frame in both
 * directions carries mac = first 16 bytes of
 *   HMAC-SHA256(session_key, dir || seq u32 || type || flags || len || payload)
 * where dir is 'H' for host->device and 'D' for device->host, and seq counts
 * that direction's MACed frames from 0. A bad MAC (flipped bit, injected,
 * replayed or reordered frame) ends the connection.
 *
 * Exchange:
 *   device -> HELLO                 who it is, slots, caps, KDF salt, nonce, resume point
 *   host   -> AUTH                  host nonce + SCRAM-style client proof
 *   device -> AUTH_OK | ERROR       server signature (mutual authentication)
 *   host   -> OFFER                 target, size, SHA-256, encoding, version
 *   device -> ACCEPT | ERROR        resume offset and window, or a refusal
 *   host   -> DATA ...              encoded stream, in order, up to the window in flight
 *   device -> ACK ...               consumed and durable offsets (also a keepalive)
 *   host   -> END
 *   device -> RESULT | ERROR        activated slot and version; then it reboots
 * or, instead of OFFER:
 *   host   -> ROLLBACK              boot the image in the other slot, no download
 *   device -> RESULT | ERROR        the slot now selected and its version; then it reboots
 */
#ifndef ALOFT_WIRE_NATIVE_H
#define ALOFT_WIRE_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/port/crypto.h"

#define ALOFT_NATIVE_PORT 3232u
#define ALOFT_NATIVE_VERSION 1u
#define ALOFT_NATIVE_MAGIC "ALFT"
#define ALOFT_NATIVE_HEADER_LEN 4u
#define ALOFT_NATIVE_MAC_LEN 16u
#define ALOFT_NATIVE_MAX_PAYLOAD 4096u
#define ALOFT_NATIVE_NONCE_LEN 32u
#define ALOFT_NATIVE_SALT_LEN 16u
#define ALOFT_NATIVE_KEY_LEN 32u
#define ALOFT_NATIVE_STR_MAX 32u        /* longest string field, bytes */
#define ALOFT_NATIVE_MAX_SLOTS 4u       /* slots described in HELLO */
#define ALOFT_NATIVE_FRAME_MAX \
    (ALOFT_NATIVE_HEADER_LEN + ALOFT_NATIVE_MAX_PAYLOAD + ALOFT_NATIVE_MAC_LEN)

/* Message types (frozen: on the wire). */
enum aloft_native_type {
    ALOFT_MSG_HELLO = 0x01,
    ALOFT_MSG_AUTH = 0x02,
    ALOFT_MSG_AUTH_OK = 0x03,
    ALOFT_MSG_ERROR = 0x04,
    ALOFT_MSG_OFFER = 0x10,
    ALOFT_MSG_ACCEPT = 0x11,
    ALOFT_MSG_DATA = 0x12,
    ALOFT_MSG_ACK = 0x13,
    ALOFT_MSG_END = 0x14,
    ALOFT_MSG_RESULT = 0x15,
    ALOFT_MSG_ROLLBACK = 0x16,   /* H->D, empty: boot the other slot's image (answer RESULT) */
};

/* HELLO capability bits (frozen). */
#define ALOFT_CAP_AUTH 0x01u        /* a password is required */
#define ALOFT_CAP_DEFLATE 0x02u     /* the device inflates DATA (encoding 1) */
#define ALOFT_CAP_SIGNED 0x04u      /* only signed images are accepted */
#define ALOFT_CAP_RESUME 0x08u      /* interrupted transfers can be resumed */
#define ALOFT_CAP_DELTA 0x10u       /* takes delta patches (encoding 2); HELLO names the base */

/* OFFER encodings and flags (frozen). */
#define ALOFT_ENC_RAW 0u
#define ALOFT_ENC_DEFLATE 1u        /* zlib stream (RFC 1950), window <= HELLO's */
#define ALOFT_ENC_PATCH 2u          /* delta patch (FORMATS.md §3) of the running image, cap DELTA */
#define ALOFT_OFFER_NO_REBOOT 0x01u

typedef struct aloft_native_str {
    uint8_t len;
    char s[ALOFT_NATIVE_STR_MAX + 1];   /* NUL-terminated copy */
} aloft_native_str_t;

typedef struct aloft_native_slot {
    aloft_native_str_t label;
    uint32_t size;
    uint32_t state;                  /* otadata state (ALOFT_OTA_*) */
    bool has_image;                  /* an image header and app description at the slot start (not verified) */
    aloft_native_str_t project, version;
    uint32_t secure_version;
    uint8_t sha256[32];
} aloft_native_slot_t;

typedef struct aloft_native_hello {
    uint8_t version;                 /* ALOFT_NATIVE_VERSION */
    uint8_t caps;                    /* ALOFT_CAP_* */
    uint16_t chip_id;
    uint32_t flash_size;
    uint32_t window;                 /* max DATA bytes in flight (unacked) */
    uint16_t max_payload;            /* largest frame payload the device takes */
    uint8_t inflate_window_bits;     /* zlib windowBits the device can inflate (8..15) */
    uint32_t kdf_iterations;         /* PBKDF2-HMAC-SHA256 rounds for the password */
    uint8_t salt[ALOFT_NATIVE_SALT_LEN];
    uint8_t nonce[ALOFT_NATIVE_NONCE_LEN];
    aloft_native_str_t name;
    uint8_t running_slot;
    uint8_t nslots;
    aloft_native_slot_t slots[ALOFT_NATIVE_MAX_SLOTS];
    bool has_resume;                 /* an interrupted transfer can continue */
    uint8_t resume_target;
    uint32_t resume_size;
    uint8_t resume_sha256[32];
    uint32_t resume_offset;          /* image bytes already durable */
    /* With cap DELTA only: the running image a patch must be made against
     * (its bytes and their SHA-256; base_size 0: none that verifies). */
    uint32_t base_size;
    uint8_t base_sha256[32];
} aloft_native_hello_t;

typedef struct aloft_native_auth {
    uint8_t nonce[ALOFT_NATIVE_NONCE_LEN];
    uint8_t proof[32];
} aloft_native_auth_t;

typedef struct aloft_native_error {
    int16_t code;                    /* aloft_err_t */
    uint32_t have, want;             /* the diag numbers */
    aloft_native_str_t where;
    aloft_native_str_t text;         /* plain words, for peers without our table */
} aloft_native_error_t;

typedef struct aloft_native_offer {
    uint8_t target;                  /* aloft_target_t */
    uint8_t encoding;                /* ALOFT_ENC_* */
    uint8_t flags;                   /* ALOFT_OFFER_* */
    uint32_t size;                   /* image bytes (decoded) */
    uint8_t sha256[32];              /* of the image bytes */
    aloft_native_str_t project, version;
    uint32_t secure_version;
    /* The image's signature block (docs/FORMATS.md), sent ahead so the
     * device can refuse before erasing; size and sha256 above then describe
     * the image without it. Points into the frame; 0 length = unsigned. */
    const uint8_t *sig_block;
    uint8_t sig_block_len;
    /* Encoding PATCH only: the patch's header (FORMATS.md §3.1, header_len
     * bytes); DATA then carries its segments. Points into the frame. */
    const uint8_t *patch_header;
    uint16_t patch_header_len;
} aloft_native_offer_t;

typedef struct aloft_native_accept {
    uint32_t offset;                 /* image offset the DATA stream starts at */
    uint32_t window;                 /* max DATA payload bytes in flight */
} aloft_native_accept_t;

typedef struct aloft_native_data {
    uint32_t offset;                 /* stream offset of data[0], from 0 at ACCEPT */
    const uint8_t *data;             /* points into the frame */
    uint16_t len;
} aloft_native_data_t;

typedef struct aloft_native_ack {
    uint32_t consumed;               /* stream bytes taken since ACCEPT */
    uint32_t durable;                /* image bytes safe in flash (absolute) */
} aloft_native_ack_t;

typedef struct aloft_native_end {
    uint32_t stream_len;             /* stream bytes sent since ACCEPT */
} aloft_native_end_t;

typedef struct aloft_native_result {
    uint8_t slot;
    aloft_native_str_t version;
    uint8_t reboot;                  /* 1: the device restarts now */
} aloft_native_result_t;

/* One decoded message. */
typedef struct aloft_native_msg {
    uint8_t type;
    union {
        aloft_native_hello_t hello;
        aloft_native_auth_t auth;
        uint8_t auth_ok_signature[32];
        aloft_native_error_t error;
        aloft_native_offer_t offer;
        aloft_native_accept_t accept;
        aloft_native_data_t data;
        aloft_native_ack_t ack;
        aloft_native_end_t end;
        aloft_native_result_t result;
    } u;
} aloft_native_msg_t;

/* Set s to text (NULL = empty), cut at ALOFT_NATIVE_STR_MAX bytes. */
void aloft_native_str_set(aloft_native_str_t *s, const char *text);

/* Encode msg as one frame into out (cap bytes): header, payload, and a MAC
 * when mac_key is not NULL (dir 'H' or 'D', seq as above). Returns the frame
 * length, or ALOFT_ERR_BUFFER / ALOFT_ERR_ARG. */
int aloft_native_encode(const aloft_native_msg_t *msg, const aloft_hash_alg_t *sha256,
                        const uint8_t *mac_key, char dir, uint32_t seq,
                        uint8_t *out, size_t cap);

/* Length of the frame that starts at buf (len bytes available) if it is
 * complete: > 0 frame length; 0 need more bytes; ALOFT_ERR_PROTO for a
 * header no peer may send (unknown flags, payload above max_payload). */
int aloft_native_frame_len(const uint8_t *buf, size_t len, bool with_mac, size_t max_payload);

/* Check the MAC (if mac_key) and decode one complete frame. DATA points
 * into frame. Returns 0, ALOFT_ERR_INTEGRITY for a bad MAC, ALOFT_ERR_PROTO
 * for a malformed or unknown message. */
int aloft_native_decode(const uint8_t *frame, size_t len, const aloft_hash_alg_t *sha256,
                        const uint8_t *mac_key, char dir, uint32_t seq,
                        aloft_native_msg_t *msg);

/* ---- authentication (SCRAM-SHA-256 style, RFC 5802 roles) ------------ */

/* The device stores a verifier derived from the password, never the
 * password: salted = PBKDF2-HMAC-SHA256(password, salt, iterations, 32),
 * client_key = HMAC(salted, "Client Key"), stored_key = SHA-256(client_key),
 * server_key = HMAC(salted, "Server Key"). */
typedef struct aloft_native_verifier {
    uint8_t salt[ALOFT_NATIVE_SALT_LEN];
    uint32_t iterations;
    uint8_t stored_key[32];
    uint8_t server_key[32];
} aloft_native_verifier_t;

/* A verifier as text, for a firmware's configuration (Kconfig, the
 * Arduino library) so the firmware never holds the password:
 * ITERATIONS:SALT:STORED_KEY:SERVER_KEY, decimal then 32, 64 and 64 hex
 * digits (`aloft verifier` prints one). */
#define ALOFT_NATIVE_VERIFIER_TEXT_MAX 175u   /* with the NUL */

/* Format v into out (at least ALOFT_NATIVE_VERIFIER_TEXT_MAX bytes). */
void aloft_native_verifier_format(const aloft_native_verifier_t *v, char *out);

/* Parse len bytes of text. Returns 0, or ALOFT_ERR_ARG for anything but
 * the form above (iterations 1..10,000,000). */
int aloft_native_verifier_parse(const char *text, size_t len, aloft_native_verifier_t *v);

/* Derive a verifier for password (host tool or provisioning). Returns 0 or
 * ALOFT_ERR_CRYPTO. Also gives client_key (may be NULL) for the host. */
int aloft_native_derive(const aloft_crypto_t *c, const char *password,
                        const uint8_t salt[ALOFT_NATIVE_SALT_LEN], uint32_t iterations,
                        aloft_native_verifier_t *v, uint8_t client_key[32]);

/* auth_message = SHA-256(HELLO payload || host nonce): what both proofs and
 * the session key bind, so the whole hello (caps, slots, nonce) is covered. */
int aloft_native_auth_message(const aloft_hash_alg_t *sha256, const uint8_t *hello_payload,
                              size_t hello_len, const uint8_t host_nonce[32], uint8_t out[32]);

/* Host: proof = client_key XOR HMAC(stored_key, auth_message). */
void aloft_native_client_proof(const aloft_hash_alg_t *sha256, const uint8_t client_key[32],
                               const uint8_t auth_message[32], uint8_t proof[32]);

/* Device: recover client_key from proof and check SHA-256(client_key) ==
 * stored_key in constant time. On success writes the session key and the
 * server signature HMAC(server_key, auth_message). Returns 0 or
 * ALOFT_ERR_AUTH. */
int aloft_native_verify_proof(const aloft_hash_alg_t *sha256, const aloft_native_verifier_t *v,
                              const uint8_t auth_message[32], const uint8_t proof[32],
                              uint8_t session_key[32], uint8_t signature[32]);

/* Host: check the device's signature (it knows server_key, i.e. the
 * password) and compute the session key. Returns 0 or ALOFT_ERR_AUTH. */
int aloft_native_host_keys(const aloft_hash_alg_t *sha256, const uint8_t server_key[32],
                           const uint8_t client_key[32], const uint8_t auth_message[32],
                           const uint8_t signature[32], uint8_t session_key[32]);

/* session_key = HMAC(client_key, "aloft session" || auth_message). Open
 * devices (no password) use client_key = 32 zero bytes: integrity against
 * corruption, not against an attacker, and the host says so. */
void aloft_native_session_key(const aloft_hash_alg_t *sha256, const uint8_t client_key[32],
                              const uint8_t auth_message[32], uint8_t session_key[32]);

#endif /* ALOFT_WIRE_NATIVE_H */
