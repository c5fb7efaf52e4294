/* test_wire.c -- frames: round trip over both transports; truncated,
 * oversized, corrupt and foreign frames refused with a message. */
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "err.h"
#include "task.h"
#include "wire.h"

TEST(mem_round_trip)
{
	struct hop_conn a, b;
	struct hop_frame f;
	ASSERT_EQ(hop__conn_mem_pair(&a, &b), 0);
	ASSERT_EQ(hop__frame_send(&a, HOP_F_HELLO, 7, "hello", 5), 0);
	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
	ASSERT_EQ(hop__frame_sendv(&a, HOP_F_DATA, 0, iov, 3), 0);
	ASSERT_EQ(hop__frame_send(&a, HOP_F_COMMIT, 0, NULL, 0), 0);
	ASSERT_EQ(hop__frame_recv(&b, &f, 100), 0);
	ASSERT_EQ(f.type, HOP_F_HELLO);
	ASSERT_EQ(f.flags, 7);
	ASSERT_EQ(f.len, 5);
	ASSERT(memcmp(f.payload, "hello", 5) == 0);
	ASSERT_EQ(hop__frame_expect(&b, HOP_F_DATA, &f, 100), 0);
	ASSERT_EQ(f.len, 5);
	ASSERT(memcmp(f.payload, "abcde", 5) == 0);
	ASSERT_EQ(hop__frame_recv(&b, &f, 100), 0);
	ASSERT_EQ(f.type, HOP_F_COMMIT);
	ASSERT_EQ(f.len, 0);
	/* nothing more: the memory link says so instead of blocking */
	ASSERT_EQ(hop__frame_recv(&b, &f, 100), HOP_ETIMEDOUT);
	ASSERT_EQ(a.bytes_out, b.bytes_in);
	hop__conn_close(&a);
	ASSERT_EQ(hop__frame_recv(&b, &f, 100), HOP_ECLOSED);
	hop__conn_close(&b);
}

TEST(fd_round_trip_large)
{
	int sv[2];
	struct hop_conn a, b;
	struct hop_frame f;
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	hop__conn_fd(&a, sv[0], 2000, "a");
	hop__conn_fd(&b, sv[1], 2000, "b");
	/* bigger than the socket buffer: needs a writer and a reader at once */
	size_t n = 3 << 20;
	uint8_t *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 12));
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		hop__conn_close(&b);
		int rc = hop__frame_send(&a, HOP_F_DATA, 0, big, n);
		_exit(rc == 0 ? 0 : 1);
	}
	close(sv[0]);
	ASSERT_EQ(hop__frame_recv(&b, &f, (uint32_t)n), 0);
	ASSERT_EQ(f.len, n);
	ASSERT(memcmp(f.payload, big, n) == 0);
	/* the writer is gone: a clean end */
	ASSERT_EQ(hop__frame_recv(&b, &f, 100), HOP_ECLOSED);
	hop__conn_close(&b);
	free(big);
}

TEST(fd_timeout)
{
	int sv[2];
	struct hop_conn b;
	struct hop_frame f;
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	hop__conn_fd(&b, sv[1], 50, "b");
	ASSERT_EQ(hop__frame_recv(&b, &f, 100), HOP_ETIMEDOUT);
	ASSERT_ERR_HAS("silent");
	close(sv[0]);
	hop__conn_close(&b);
}

/* Write raw bytes on one end, expect the frame decoder to refuse them. */
static int raw_recv(const uint8_t *raw, size_t n, uint32_t max)
{
	int sv[2];
	struct hop_conn b;
	struct hop_frame f;
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_EQ(write(sv[0], raw, n), (ssize_t)n);
	close(sv[0]);
	hop__conn_fd(&b, sv[1], 1000, "b");
	int rc = hop__frame_recv(&b, &f, max);
	hop__conn_close(&b);
	return rc;
}

TEST(rejects)
{
	uint8_t raw[64];
	const char *pl = "payload!";
	uint32_t crc = hop__crc32(0, pl, 8);

	/* good, for reference */
	hop__frame_header(raw, HOP_F_HELLO, 0, 8, crc);
	memcpy(raw + HOP_FRAME_HEADER, pl, 8);
	ASSERT_EQ(raw_recv(raw, HOP_FRAME_HEADER + 8, 100), 0);

	/* truncated payload */
	ASSERT_EQ(raw_recv(raw, HOP_FRAME_HEADER + 5, 100), HOP_ECLOSED);
	ASSERT_ERR_HAS("middle of a frame");
	/* truncated header */
	ASSERT_EQ(raw_recv(raw, 7, 100), HOP_ECLOSED);

	/* oversized for the caller's bound: refused before reading the payload */
	ASSERT_EQ(raw_recv(raw, HOP_FRAME_HEADER + 8, 4), HOP_EPROTO);
	ASSERT_ERR_HAS("exceeds the bound");
	/* a length that would exhaust memory */
	hop__frame_header(raw, HOP_F_DATA, 0, 0xfffffff0u, crc);
	ASSERT_EQ(raw_recv(raw, HOP_FRAME_HEADER, UINT32_MAX), HOP_EPROTO);
	ASSERT_ERR_HAS("exceeds the bound");

	/* corrupt payload */
	hop__frame_header(raw, HOP_F_HELLO, 0, 8, crc);
	memcpy(raw + HOP_FRAME_HEADER, pl, 8);
	raw[HOP_FRAME_HEADER + 3] ^= 0x10;
	ASSERT_EQ(raw_recv(raw, HOP_FRAME_HEADER + 8, 100), HOP_EFORMAT);
	ASSERT_ERR_HAS("CRC mismatch");

	/* bad magic (an HTTP client, say) */
	memcpy(raw, "GET / HTTP/1.1\r\n", 16);
	ASSERT_EQ(raw_recv(raw, 16, 100), HOP_EPROTO);
	ASSERT_ERR_HAS("bad magic");

	/* another wire version */
	hop__frame_header(raw, HOP_F_HELLO, 0, 8, crc);
	raw[4] = 99;
	ASSERT_EQ(raw_recv(raw, HOP_FRAME_HEADER + 8, 100), HOP_EPROTO);
	ASSERT_ERR_HAS("wire version 99");
}

TEST(error_frames)
{
	struct hop_conn a, b;
	struct hop_frame f;
	ASSERT_EQ(hop__conn_mem_pair(&a, &b), 0);
	hop__send_error(&a, HOP_EDIGEST, "digests differ at the end");
	ASSERT_EQ(hop__frame_expect(&b, HOP_F_READY, &f, 64), HOP_EDIGEST);
	ASSERT_ERR_HAS("peer reports: digests differ");
	/* a wrong type is a protocol error naming both */
	ASSERT_EQ(hop__frame_send(&a, HOP_F_COMMIT, 0, NULL, 0), 0);
	ASSERT_EQ(hop__frame_expect(&b, HOP_F_READY, &f, 64), HOP_EPROTO);
	ASSERT_ERR_HAS("expected frame READY, got COMMIT");
	/* an absurd code from the peer does not pass for a real one */
	uint8_t bad[4];
	hop__put32(bad, 12345);
	ASSERT_EQ(hop__frame_send(&a, HOP_F_ERROR, 0, bad, 4), 0);
	ASSERT_EQ(hop__frame_expect(&b, HOP_F_READY, &f, 64), HOP_EABORTED);
	hop__conn_close(&a);
	hop__conn_close(&b);
}

TEST(names)
{
	ASSERT_STR_EQ(hop__frame_name(HOP_F_DIGEST), "DIGEST");
	ASSERT_EQ(hop__frame_by_name("COMMIT"), HOP_F_COMMIT);
	ASSERT_EQ(hop__frame_by_name("NOPE"), -1);
	ASSERT_STR_EQ(hop__frame_name(250), "?");
}

int main(void)
{
	RUN(mem_round_trip);
	RUN(fd_round_trip_large);
	RUN(fd_timeout);
	RUN(rejects);
	RUN(error_frames);
	RUN(names);
	return 0;
}
