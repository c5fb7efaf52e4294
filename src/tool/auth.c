/* auth.c -- challenge-response on the token (see auth.h), with libsodium. */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "err.h"

#define NONCE 32
#define MAC crypto_auth_hmacsha256_BYTES
#define AUTH_VERSION 1
#define HELLO_LEN (8 + 1 + NONCE)

static const char hello_magic[8] = { 'h', 'o', 'p', '-', 'a', 'u', 't', 'h' };

int auth_load_token(const char *path, uint8_t key[AUTH_KEY_LEN])
{
	uint8_t buf[4097];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hop__sysfail("token file %s", path);
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "hop: warning: token file %s is readable by others (mode %03o)\n", path,
			(unsigned)(st.st_mode & 0777));
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return hop__sysfail("token file %s: read", path);
	if (n > 4096)
		return hop__fail(HOP_EINVAL, "token file %s: longer than 4096 bytes", path);
	size_t a = 0, b = (size_t)n;
	while (a < b && (buf[a] == ' ' || buf[a] == '\n' || buf[a] == '\r' || buf[a] == '\t'))
		a++;
	while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\n' || buf[b - 1] == '\r' || buf[b - 1] == '\t'))
		b--;
	if (b - a < 16)
		return hop__fail(HOP_EINVAL, "token file %s: token shorter than 16 bytes", path);
	if (sodium_init() < 0)
		return hop__fail(HOP_ESYS, "libsodium failed to initialise");
	crypto_generichash(key, AUTH_KEY_LEN, buf + a, b - a, (const uint8_t *)"hop token v1", 12);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

static void proof(uint8_t out[MAC], const uint8_t key[AUTH_KEY_LEN], const char *label,
		  const uint8_t nc[NONCE], const uint8_t ns[NONCE])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, AUTH_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, strlen(label) + 1);
	crypto_auth_hmacsha256_update(&st, nc, NONCE);
	crypto_auth_hmacsha256_update(&st, ns, NONCE);
	crypto_auth_hmacsha256_final(&st, out);
}

int auth_client(struct hop_conn *c, const uint8_t key[AUTH_KEY_LEN])
{
	uint8_t hello[HELLO_LEN], nc[NONCE], mac[MAC];
	struct hop_frame f;
	int rc;

	randombytes_buf(nc, NONCE);
	memcpy(hello, hello_magic, 8);
	hello[8] = AUTH_VERSION;
	memcpy(hello + 9, nc, NONCE);
	if ((rc = hop__frame_send(c, HOP_F_AUTH_HELLO, 0, hello, sizeof(hello))) < 0)
		return rc;
	if ((rc = hop__frame_expect(c, HOP_F_AUTH_CHALLENGE, &f, NONCE + MAC)) < 0)
		return rc;
	if (f.len != NONCE + MAC)
		return hop__fail(HOP_EAUTH, "authentication: challenge of %u bytes", f.len);
	uint8_t ns[NONCE];
	memcpy(ns, f.payload, NONCE);
	proof(mac, key, "hop server proof", nc, ns);
	if (sodium_memcmp(mac, f.payload + NONCE, MAC) != 0)
		return hop__fail(HOP_EAUTH, "authentication: the destination does not know the token");
	proof(mac, key, "hop client proof", nc, ns);
	if ((rc = hop__frame_send(c, HOP_F_AUTH_PROOF, 0, mac, MAC)) < 0)
		return rc;
	if ((rc = hop__frame_expect(c, HOP_F_AUTH_OK, &f, 0)) < 0)
		return rc == HOP_ECLOSED ? hop__fail(HOP_EAUTH, "authentication: the destination refused us") : rc;
	return 0;
}

int auth_server(struct hop_conn *c, const uint8_t key[AUTH_KEY_LEN])
{
	uint8_t nc[NONCE], ns[NONCE], out[NONCE + MAC], mac[MAC];
	struct hop_frame f;
	int rc;

	/* the only bytes read from a stranger: one header and 41 bytes, then 32 */
	if ((rc = hop__frame_recv(c, &f, HELLO_LEN)) < 0)
		return rc;
	if (f.type != HOP_F_AUTH_HELLO || f.len != HELLO_LEN || memcmp(f.payload, hello_magic, 8) != 0)
		return hop__fail(HOP_EAUTH, "authentication: not a hop handshake");
	if (f.payload[8] != AUTH_VERSION)
		return hop__fail(HOP_EAUTH, "authentication: handshake version %u, we speak %u", f.payload[8],
				 AUTH_VERSION);
	memcpy(nc, f.payload + 9, NONCE);
	randombytes_buf(ns, NONCE);
	memcpy(out, ns, NONCE);
	proof(out + NONCE, key, "hop server proof", nc, ns);
	if ((rc = hop__frame_send(c, HOP_F_AUTH_CHALLENGE, 0, out, sizeof(out))) < 0)
		return rc;
	if ((rc = hop__frame_recv(c, &f, MAC)) < 0)
		return rc;
	proof(mac, key, "hop client proof", nc, ns);
	if (f.type != HOP_F_AUTH_PROOF || f.len != MAC || sodium_memcmp(mac, f.payload, MAC) != 0)
		return hop__fail(HOP_EAUTH, "authentication: the peer does not know the token");
	return hop__frame_send(c, HOP_F_AUTH_OK, 0, NULL, 0);
}
