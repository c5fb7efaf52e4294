/* datadir.h -- the data directory follows the program.
 *
 * `hop migrate --data-dir DIR` / `hop receive --data-dir DIR`: the origin's
 * directory is copied while the program runs, then only what changed, in
 * rounds; a last round while the program is frozen makes the destination's
 * directory exactly the origin's, byte for byte (checked by a digest both
 * sides compute). Large files change in place: a file is cut into 64 KiB
 * blocks and only blocks whose hash differs from what the destination holds
 * are sent. The destination says at the start what it already has (sizes and
 * block hashes), so moving back and forth sends little.
 *
 * The session runs on a connected socket the caller has authenticated; the
 * framing is datadir's own (type u8, length u32, payload, all big-endian,
 * every length bounded). See docs/outside-world.md.
 */
#ifndef HOP_DATADIR_H
#define HOP_DATADIR_H

#include <stdint.h>

#define DATADIR_BLOCK (64 * 1024)

struct datadir_stats {
	uint32_t rounds;
	uint64_t files_sent;   /* files with something sent, summed over rounds */
	uint64_t blocks_sent;
	uint64_t bytes_sent;   /* payload bytes of blocks */
	uint64_t deleted;
	uint64_t last_round_us;
};

struct datadir_out;

/* Origin: start a session for dir on sock; reads the destination's
 * manifest. 0 or a negative HOP_E*. */
int datadir_out_open(const char *dir, int sock, struct datadir_out **out);
/* One round: send what differs from what the destination holds (a file is
 * re-read when its size or mtime changed, or its mtime is too recent to be
 * trusted). final: the program is frozen; the round ends the session and
 * both sides' digests must agree (HOP_EDIGEST otherwise). Returns 0 or a
 * negative HOP_E*. */
int datadir_out_round(struct datadir_out *o, int final, struct datadir_stats *st);
/* Bytes the last round sent (for deciding when rounds are small enough). */
uint64_t datadir_out_last_bytes(const struct datadir_out *o);
void datadir_out_close(struct datadir_out *o);

/* Destination: serve one session into dir (created if missing) until the
 * final round has been applied and verified. 0 or a negative HOP_E*. */
int datadir_in_serve(const char *dir, int sock, struct datadir_stats *st);

#endif
