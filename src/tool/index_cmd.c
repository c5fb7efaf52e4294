/* index_cmd.c -- `hop index [--json] EXE`: show the index of an executable.
 *
 * The index normally comes from EXE's DWARF (dwarf.c). Two other sources
 * let tests and people look at what the runtime will see: a file that is
 * itself an encoded index (starts with the magic "HOPINDEX", e.g. written by
 * `--binary -o` or named by $HOP_INDEX), and with `--attached` the
 * .hop_index section that `hop cc` attached to EXE. Both go through the
 * runtime's own decoder, so a damaged index is reported exactly as the
 * program would report it.
 *
 * Output: text for people, or JSON with exactly the top-level keys target,
 * types, variables, functions, points (docs/index-format.md), or with the
 * hidden `--binary -o FILE` the encoded index itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "elf.h"
#include "tool.h"

static int index_usage(void)
{
	fprintf(stderr, "usage: hop index [--json] [--attached] EXE\n"
			"       hop index --binary -o FILE EXE\n");
	return 2;
}

/* ---- sources ------------------------------------------------------------------ */

static int is_index_file(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return n == sizeof(magic) && memcmp(magic, "HOPINDEX", 8) == 0;
}

static int load(const char *path, int attached, struct hop_index **idx)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (attached) {
		rc = hop__elf_section(path, ".hop_index", &buf, &len);
		if (rc == HOP_ENOENT)
			return hop__fail(HOP_ENOINDEX, "%s has no .hop_index section (not built with `hop cc`)", path);
	} else if (is_index_file(path)) {
		rc = hop__read_file(path, &buf, &len);
	} else {
		return hop__dwarf_index(path, idx);
	}
	if (rc < 0)
		return rc;
	rc = hop__index_decode(buf, len, idx);
	free(buf);
	return rc;
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f); /* UTF-8 passes through */
		}
	}
	fputc('"', f);
}

static const char *enc_name(int enc)
{
	switch (enc) {
	case HOP_ENC_SIGNED: return "signed";
	case HOP_ENC_UNSIGNED: return "unsigned";
	case HOP_ENC_BOOL: return "bool";
	case HOP_ENC_SIGNED_CHAR: return "signed_char";
	case HOP_ENC_UNSIGNED_CHAR: return "unsigned_char";
	case HOP_ENC_FLOAT: return "float";
	case HOP_ENC_COMPLEX: return "complex";
	}
	return "none";
}

static const char *type_name(const struct hop_index *idx, uint32_t t)
{
	return t < idx->ntypes ? idx->types[t].name : "void";
}

static void print_json(FILE *f, const struct hop_index *idx)
{
	fprintf(f, "{\n\"target\": {\"arch\": \"%s\", \"pointer_size\": %u, \"endian\": \"%s\", \"long_double\": \"%s\"},\n",
		hop__arch_name(idx->arch), idx->pointer_size, idx->big_endian ? "big" : "little",
		hop__ldfmt_name(idx->long_double));
	fputs("\"types\": [", f);
	for (uint32_t i = 0; i < idx->ntypes; i++) {
		const struct hop_type *t = &idx->types[i];
		fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
		json_str(f, t->name);
		fprintf(f, ", \"kind\": \"%s\", \"size\": %llu", hop__kind_name(t->kind), (unsigned long long)t->size);
		if (t->kind == HOP_KIND_BASE || t->kind == HOP_KIND_ENUM)
			fprintf(f, ", \"encoding\": \"%s\"", enc_name(t->enc));
		if (t->kind == HOP_KIND_POINTER || t->kind == HOP_KIND_ARRAY) {
			fputs(", \"target\": ", f);
			json_str(f, type_name(idx, t->target));
		}
		if (t->kind == HOP_KIND_ARRAY)
			fprintf(f, ", \"count\": %llu", (unsigned long long)t->count);
		if (t->flags & HOP_TF_DECLARATION)
			fputs(", \"declaration\": true", f);
		fputs(", \"members\": [", f);
		for (uint32_t k = 0; k < t->nmembers; k++) {
			const struct hop_member *m = &idx->members[t->first_member + k];
			fputs(k ? ", {\"name\": " : "{\"name\": ", f);
			json_str(f, m->name);
			fprintf(f, ", \"offset\": %llu, \"type\": ", (unsigned long long)m->offset);
			json_str(f, type_name(idx, m->type));
			if (m->bit_size)
				fprintf(f, ", \"bit_offset\": %u, \"bit_size\": %u", m->bit_offset, m->bit_size);
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputs("\n],\n\"variables\": [", f);
	for (uint32_t i = 0; i < idx->nvars; i++) {
		const struct hop_var *v = &idx->vars[i];
		fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
		json_str(f, v->name);
		fputs(", \"type\": ", f);
		json_str(f, type_name(idx, v->type));
		fprintf(f, ", \"size\": %llu, \"address\": %llu}", (unsigned long long)v->size,
			(unsigned long long)v->address);
	}
	fputs("\n],\n\"functions\": [", f);
	for (uint32_t i = 0; i < idx->nfuncs; i++) {
		fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
		json_str(f, idx->funcs[i].name);
		fprintf(f, ", \"address\": %llu}", (unsigned long long)idx->funcs[i].address);
	}
	fputs("\n],\n\"points\": [", f);
	for (uint32_t i = 0; i < idx->npoints; i++) {
		fputs(i ? ", {\"name\": " : "{\"name\": ", f);
		json_str(f, idx->points[i].name);
		fputc('}', f);
	}
	fputs("]\n}\n", f);
}

/* ---- text ------------------------------------------------------------------------- */

static int width_of_names(const struct hop_index *idx)
{
	size_t w = 8;
	for (uint32_t i = 0; i < idx->nvars; i++)
		if (strlen(idx->vars[i].name) > w)
			w = strlen(idx->vars[i].name);
	return w > 40 ? 40 : (int)w;
}

static void print_text(FILE *f, const struct hop_index *idx)
{
	int aw = idx->pointer_size * 2 + 2;

	fprintf(f, "target %s: %u-byte pointers, %s endian, long double %s\n", hop__arch_name(idx->arch),
		idx->pointer_size, idx->big_endian ? "big" : "little", hop__ldfmt_name(idx->long_double));

	fprintf(f, "\ntypes (%u)\n", idx->ntypes);
	for (uint32_t i = 0; i < idx->ntypes; i++) {
		const struct hop_type *t = &idx->types[i];
		fprintf(f, "  %-8s %6llu  %s", hop__kind_name(t->kind), (unsigned long long)t->size, t->name);
		if (t->kind == HOP_KIND_BASE || t->kind == HOP_KIND_ENUM)
			fprintf(f, "  (%s)", enc_name(t->enc));
		if (t->flags & HOP_TF_DECLARATION)
			fputs("  (declaration only)", f);
		fputc('\n', f);
		for (uint32_t k = 0; k < t->nmembers; k++) {
			const struct hop_member *m = &idx->members[t->first_member + k];
			if (m->bit_size)
				fprintf(f, "           %4llu  bits %u..%u  %s: %s\n", (unsigned long long)m->offset,
					m->bit_offset, m->bit_offset + m->bit_size - 1, m->name,
					type_name(idx, m->type));
			else
				fprintf(f, "           %4llu  %s: %s\n", (unsigned long long)m->offset, m->name,
					type_name(idx, m->type));
		}
	}

	int nw = width_of_names(idx);
	fprintf(f, "\nvariables (%u)\n", idx->nvars);
	for (uint32_t i = 0; i < idx->nvars; i++) {
		const struct hop_var *v = &idx->vars[i];
		fprintf(f, "  %#*llx %6llu  %-*s  %s\n", aw, (unsigned long long)v->address, (unsigned long long)v->size,
			nw, v->name, type_name(idx, v->type));
	}
	fprintf(f, "\nfunctions (%u)\n", idx->nfuncs);
	for (uint32_t i = 0; i < idx->nfuncs; i++)
		fprintf(f, "  %#*llx %6llu  %s\n", aw, (unsigned long long)idx->funcs[i].address,
			(unsigned long long)idx->funcs[i].size, idx->funcs[i].name);
	fprintf(f, "\npoints (%u)\n", idx->npoints);
	for (uint32_t i = 0; i < idx->npoints; i++)
		fprintf(f, "  %s\n", idx->points[i].name);
	fprintf(f, "\nsections (%u)\n", idx->nsections);
	for (uint32_t i = 0; i < idx->nsections; i++) {
		const struct hop_section *s = &idx->sections[i];
		fprintf(f, "  %#*llx %8llu  %-14s %s%s\n", aw, (unsigned long long)s->address,
			(unsigned long long)s->size, s->name, s->flags & HOP_SF_WRITE ? "w" : "-",
			s->flags & HOP_SF_EXEC ? "x" : "-");
	}
	fprintf(f, "\nhints (%u)\n", idx->nhints);
	for (uint32_t i = 0; i < idx->nhints; i++)
		fprintf(f, "  %s\n", idx->hints[i]);
}

/* ---- the verb ---------------------------------------------------------------------- */

int cmd_index(int argc, char **argv)
{
	int json = 0, binary = 0, attached = 0;
	const char *exe = NULL, *out = NULL;
	struct hop_index *idx;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--binary") == 0)
			binary = 1;
		else if (strcmp(argv[i], "--attached") == 0)
			attached = 1;
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-' || exe)
			return index_usage();
		else
			exe = argv[i];
	}
	if (!exe || (binary && !out) || (out && !binary) || (binary && json))
		return index_usage();

	rc = load(exe, attached, &idx);
	if (rc < 0)
		return tool_die(rc);
	if (binary) {
		uint8_t *buf;
		size_t len;
		rc = hop__index_encode(idx, &buf, &len);
		if (rc == 0) {
			rc = tool_write_file(out, buf, len);
			free(buf);
		}
	} else if (json) {
		print_json(stdout, idx);
	} else {
		print_text(stdout, idx);
	}
	hop__index_free(idx);
	if (rc < 0)
		return tool_die(rc);
	if (fflush(stdout) != 0 || ferror(stdout))
		return tool_die(hop__sysfail("writing the index to stdout"));
	return 0;
}
