/* auth.h -- both ends of a migration prove they know the token.
 *
 * `hop migrate` (client) and `hop receive` (server) run a challenge-response
 * over frames before anything else: each side sends a fresh 32-byte nonce and
 * answers with HMAC-SHA-256(key, role label || client nonce || server nonce),
 * key = BLAKE2b-256 of the token file (libsodium). The MACs are compared in
 * constant time; the labels keep one side's answer from being replayed as the
 * other's, the nonces keep an old exchange from being replayed. Until the
 * exchange succeeds a peer is sent nothing else, and nothing it sends is read
 * beyond these frames of fixed, small size. See docs/protocol.md. */
#ifndef HOP_AUTH_H
#define HOP_AUTH_H

#include <stdint.h>

#include "wire.h"

#define AUTH_KEY_LEN 32

/* Read a token file (at least 16 bytes, at most 4096, surrounding
 * whitespace ignored) into a key. 0 or HOP_E*. */
int auth_load_token(const char *path, uint8_t key[AUTH_KEY_LEN]);
/* The client's side (hop migrate). 0, or HOP_EAUTH / link errors. */
int auth_client(struct hop_conn *c, const uint8_t key[AUTH_KEY_LEN]);
/* The server's side (hop receive). 0, or HOP_EAUTH / link errors. */
int auth_server(struct hop_conn *c, const uint8_t key[AUTH_KEY_LEN]);

#endif
