/* siphash_ref.c -- digest.c's SipHash against libsodium's SipHash-2-4-128
 * (crypto_shorthash_siphashx24, the reference's 128-bit output).
 *
 * t_siphash_ref.sh compiles digest.c with HOP_SIP_C=2 HOP_SIP_D=4, so the
 * code the digest runs (key set-up, the round, the word reads, the tail and
 * length byte, both output halves) is checked against an independent
 * implementation; the digest itself runs the same code with 1 and 3 rounds.
 * Random keys, every length up to 300, each fed in random pieces. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

int main(void)
{
	uint8_t key[16], msg[300], want[16], got[16];
	uint64_t out[2];
	unsigned seed = 12345;
	int bad = 0, n = 0;
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 16; i++)
			key[i] = (uint8_t)rand_r(&seed);
		for (size_t len = 0; len <= sizeof(msg); len++) {
			for (size_t i = 0; i < len; i++)
				msg[i] = (uint8_t)rand_r(&seed);
			crypto_shorthash_siphashx24(want, msg, len, key);
			struct hop_hash h;
			hop__hash_init_key(&h, key);
			for (size_t at = 0; at < len;) {
				size_t k = (size_t)rand_r(&seed) % 20;
				if (k > len - at)
					k = len - at;
				hop__hash_update(&h, msg + at, k);
				at += k;
			}
			hop__hash_final(&h, out);
			for (int i = 0; i < 16; i++)
				got[i] = (uint8_t)(out[i / 8] >> (8 * (i % 8)));
			n++;
			if (memcmp(got, want, 16) != 0 && bad++ < 5)
				fprintf(stderr, "length %zu: SipHash-2-4-128 differs from libsodium's\n", len);
		}
	}
	printf("%d of %d inputs differ from libsodium\n", bad, n);
	return bad != 0;
}
