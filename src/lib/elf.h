/* elf.h -- find one section of an ELF file, without libelf.
 *
 * libhop must find the index attached to its own executable on every target
 * (32/64-bit, either byte order) with libc only; this is the small ELF
 * reader that does it. The host tool uses it too, to read the hints section.
 */
#ifndef HOP_ELF_H
#define HOP_ELF_H

#include <stddef.h>
#include <stdint.h>

/* Read section `name` of the ELF file at `path` into a malloc'ed buffer.
 * 0, HOP_ENOENT (no such section), HOP_EFORMAT (not an ELF / damaged),
 * HOP_ESYS or HOP_ENOMEM. */
int hop__elf_section(const char *path, const char *name, uint8_t **buf, size_t *len);

/* Class and machine of an ELF file: *bits 32|64, *big_endian, *machine (EM_*). */
int hop__elf_ident(const char *path, int *bits, int *big_endian, int *machine);

/* The whole file at `path` in a malloc'ed buffer (at most 1 GiB).
 * 0, HOP_ESYS (message names the file) or HOP_ENOMEM. */
int hop__read_file(const char *path, uint8_t **buf, size_t *len);

#endif
