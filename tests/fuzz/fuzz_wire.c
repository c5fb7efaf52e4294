/* fuzz_wire.c -- libFuzzer target: the frame decoder (wire.c) on a stream of
 * bytes as a hostile peer would send them.
 *
 * Input: byte 0 chooses the bound the receiver passes (as the handshake, the
 * control socket, the runtime's HELLO and DATA steps do) and whether frame
 * CRCs are fixed up first (so payload paths run instead of stopping at the
 * CRC); byte 1 chooses plain receive or expect-a-type (which parses ERROR
 * frames); the rest is the stream. Frames are read from an in-memory link
 * until the decoder refuses or the stream runs dry. Nothing may crash, leak
 * or read outside the input, whatever the lengths claim. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "hop.h"
#include "wire.h"

static const uint32_t bounds[] = { 41, 32, 64, 200, 256, 1100, (2u << 20) + 8192, HOP_FRAME_MAX };

/* Recompute the CRC of every frame the stream holds, as far as it holds them. */
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
	struct hop_conn a, b;
	struct hop_frame f;
	uint32_t crc;

	if (size < 2)
		return 0;
	uint32_t max = bounds[data[0] & 7];
	int fix = data[0] & 8, expect = data[1];
	uint8_t *s = malloc(size - 2 + 1);
	if (!s)
		return 0;
	memcpy(s, data + 2, size - 2);
	if (fix)
		fix_crcs(s, size - 2);
	if (size - 2 >= HOP_FRAME_HEADER) /* the header alone, as the control socket parses it */
		hop__frame_parse_header(s, &f, &crc, max);
	if (hop__conn_mem_pair(&a, &b) < 0) {
		free(s);
		return 0;
	}
	struct iovec iov = { s, size - 2 };
	if (iov.iov_len) /* (the memory link wants bytes to copy) */
		a.ops->writev(&a, &iov, 1);
	hop__conn_close(&a); /* the peer is done: a short stream ends in HOP_ECLOSED */
	for (int i = 0; i < 64; i++) {
		int rc = expect ? hop__frame_expect(&b, expect, &f, max) : hop__frame_recv(&b, &f, max);
		if (rc < 0 && !(expect && rc == HOP_EPROTO)) /* a wrong type: keep reading */
			break;
		if (rc == 0 && f.len > max)
			__builtin_trap(); /* the bound is the whole point */
	}
	hop__conn_close(&b);
	free(s);
	return 0;
}
