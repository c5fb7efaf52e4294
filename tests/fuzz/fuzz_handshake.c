/* fuzz_handshake.c -- libFuzzer target: the token handshake (src/tool/auth.c)
 * against a hostile peer, on both sides.
 *
 * Input: byte 0 picks the side we play (even: `hop receive`'s server side,
 * odd: `hop migrate`'s client side) and whether frame CRCs are fixed up
 * (bit 1); the rest is everything the peer says. The proof can never be right
 * (the nonces are fresh), so every run must end in a refusal; what is checked
 * is that no input crashes, leaks, reads beyond a frame, or gets accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "bytes.h"
#include "wire.h"

static void fix_crcs(uint8_t *b, size_t len)
{
	size_t off = 0;
	while (len - off >= HOP_FRAME_HEADER) {
		uint32_t n = hop__get32(b + off + 8);
		if (n > len - off - HOP_FRAME_HEADER)
			break;
		hop__put32(b + off + 12, hop__crc32(0, b + off + HOP_FRAME_HEADER, n));
		off += HOP_FRAME_HEADER + n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[AUTH_KEY_LEN] = "fuzzing key, 32 bytes long .....";
	struct hop_conn peer, us;

	if (size < 1)
		return 0;
	uint8_t *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	if (data[0] & 2)
		fix_crcs(s, size - 1);
	if (hop__conn_mem_pair(&peer, &us) < 0) {
		free(s);
		return 0;
	}
	struct iovec iov = { s, size - 1 };
	if (iov.iov_len)
		peer.ops->writev(&peer, &iov, 1);
	int rc = (data[0] & 1) ? auth_client(&us, key) : auth_server(&us, key);
	if (rc == 0)
		__builtin_trap(); /* accepted a peer that cannot know the key */
	hop__conn_close(&peer);
	hop__conn_close(&us);
	free(s);
	return 0;
}
