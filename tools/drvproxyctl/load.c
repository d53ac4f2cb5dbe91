// SPDX-License-Identifier: GPL-2.0
/*
 * load.c - drvproxyctl load: link an image companion to the running driver
 * and load it.
 *
 * make companion leaves an image's references to the running driver's own
 * symbols (its data, const tables, unchanged helpers, THIS_MODULE) as weak
 * undefined symbols named "__dpx_bind.<name>.<pos>": the module loader
 * resolves only exported symbols, and would resolve these to 0.  Before
 * init_module(2), this writes into each the address of the <pos>-th symbol
 * <name> of the running driver (the module the image's "drvproxy_host"
 * modinfo names), as /proc/kallsyms lists it, and makes it absolute, which
 * the loader takes as it is.  drvproxy then checks every address against
 * the driver's symbols before it installs anything.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "load.h"

#define BIND_PREFIX	"__dpx_bind."

/* <elf.h>'s types, under names checkpatch takes. */
#define elf_ehdr	Elf64_Ehdr
#define elf_shdr	Elf64_Shdr
#define elf_sym		Elf64_Sym

struct binding {
	elf_sym *sym;
	char name[256];
	unsigned long pos;
	unsigned long seen;
	unsigned long long addr;
	bool found;
};

struct image {
	const char *path;
	unsigned char *buf;
	size_t len;
	elf_shdr *sh;
	unsigned int shnum;
	const char *host;
};

static int fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "drvproxyctl load: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return LOAD_ERROR;
}

static int read_image(struct image *im)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = open(im->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return fail("%s: %s", im->path, strerror(errno));
	}
	im->len = st.st_size;
	im->buf = malloc(im->len ? im->len : 1);
	if (!im->buf) {
		close(fd);
		return fail("%s: %s", im->path, strerror(ENOMEM));
	}
	while (got < im->len && (n = read(fd, im->buf + got, im->len - got)) > 0)
		got += n;
	close(fd);
	if (got != im->len)
		return fail("%s: short read%s", im->path, "");
	return 0;
}

/* A section's bytes, or NULL when the header points outside the file. */
static void *section(const struct image *im, unsigned int i, size_t entsize)
{
	const elf_shdr *s = &im->sh[i];

	if (i >= im->shnum || s->sh_offset > im->len || s->sh_size > im->len - s->sh_offset)
		return NULL;
	if (entsize && s->sh_size % entsize)
		return NULL;
	return im->buf + s->sh_offset;
}

static int parse_elf(struct image *im)
{
	const elf_ehdr *eh = (const elf_ehdr *)im->buf;

	if (im->len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_type != ET_REL ||
	    eh->e_shentsize != sizeof(elf_shdr) || eh->e_shoff > im->len ||
	    (size_t)eh->e_shnum * sizeof(elf_shdr) > im->len - eh->e_shoff)
		return fail("%s: not a 64-bit kernel module%s", im->path, "");
	im->sh = (elf_shdr *)(im->buf + eh->e_shoff);
	im->shnum = eh->e_shnum;
	return 0;
}

/* The value of modinfo @key ("key=value" strings in .modinfo). */
static const char *modinfo_value(const struct image *im, const char *key)
{
	const elf_ehdr *eh = (const elf_ehdr *)im->buf;
	const char *names = section(im, eh->e_shstrndx, 0);
	size_t klen = strlen(key);
	unsigned int i;

	for (i = 0; names && i < im->shnum; i++) {
		const char *p = section(im, i, 0), *end;

		if (im->sh[i].sh_name >= im->sh[eh->e_shstrndx].sh_size ||
		    strcmp(names + im->sh[i].sh_name, ".modinfo") || !p)
			continue;
		end = p + im->sh[i].sh_size;
		for (; p < end; p += strnlen(p, end - p) + 1)
			if (!strncmp(p, key, klen) && p[klen] == '=' &&
			    memchr(p, 0, end - p))
				return p + klen + 1;
	}
	return NULL;
}

/* Collect the binding symbols; *@nr of them into *@out. */
static int find_bindings(struct image *im, struct binding **out, size_t *nr)
{
	struct binding *b = NULL;
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < im->shnum; i++) {
		elf_sym *syms;
		const char *strs;
		size_t k, count;

		if (im->sh[i].sh_type != SHT_SYMTAB)
			continue;
		syms = section(im, i, sizeof(elf_sym));
		strs = section(im, im->sh[i].sh_link, 0);
		if (!syms || !strs)
			return fail("%s: malformed symbol table%s", im->path, "");
		count = im->sh[i].sh_size / sizeof(elf_sym);
		for (k = 0; k < count; k++) {
			const char *name, *dot;
			char *end;

			if (syms[k].st_name >= im->sh[im->sh[i].sh_link].sh_size)
				continue;
			name = strs + syms[k].st_name;
			if (strncmp(name, BIND_PREFIX, strlen(BIND_PREFIX)))
				continue;
			name += strlen(BIND_PREFIX);
			dot = strrchr(name, '.');
			b = realloc(b, (n + 1) * sizeof(*b));
			if (!b)
				return fail("%s: %s", im->path, strerror(ENOMEM));
			memset(&b[n], 0, sizeof(*b));
			b[n].sym = &syms[k];
			if (!dot || dot == name || (size_t)(dot - name) >= sizeof(b[n].name))
				return fail("%s: malformed binding symbol %s", im->path, name);
			memcpy(b[n].name, name, dot - name);
			b[n].pos = strtoul(dot + 1, &end, 10);
			if (*end)
				return fail("%s: malformed binding symbol %s", im->path, name);
			n++;
		}
	}
	*out = b;
	*nr = n;
	return 0;
}

/* Find each binding's address among the running @host's symbols. */
static int resolve(const struct image *im, struct binding *b, size_t nr)
{
	char line[512], want[96];
	FILE *f = fopen("/proc/kallsyms", "re");
	bool any_addr = false;
	size_t k;

	if (!f)
		return fail("/proc/kallsyms: %s%s", strerror(errno), "");
	snprintf(want, sizeof(want), "[%s]", im->host);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256], mod[96];

		if (sscanf(line, "%llx %c %255s %95s", &addr, &type, name, mod) != 4 ||
		    strcmp(mod, want))
			continue;
		any_addr |= addr != 0;
		for (k = 0; k < nr; k++) {
			if (strcmp(b[k].name, name))
				continue;
			if (b[k].seen++ == b[k].pos) {
				b[k].addr = addr;
				b[k].found = true;
			}
		}
	}
	fclose(f);
	for (k = 0; k < nr; k++) {
		if (!b[k].found)
			return fail("the running %s has no symbol %s: not the image's build?",
				    im->host, b[k].name);
	}
	if (nr && !any_addr)
		return fail("/proc/kallsyms hides addresses: run as root, kptr_restrict <= 1%s%s",
			    "", "");
	return 0;
}

static int init_module_params(struct image *im, int argc, char **argv)
{
	size_t len = 1;
	char *params;
	int i, ret;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	params = calloc(1, len);
	if (!params)
		return fail("%s: %s", im->path, strerror(ENOMEM));
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(params, " ");
		strcat(params, argv[i]);
	}
	ret = syscall(SYS_init_module, im->buf, im->len, params);
	free(params);
	if (ret)
		return fail("%s: %s (the kernel log says why)", im->path, strerror(errno));
	return 0;
}

/**
 * cmd_load() - drvproxyctl load IMAGE.ko [PARAM=VALUE...]
 * @argc: number of arguments after "load"
 * @argv: the image's path, then its module parameters
 *
 * Return: 0, or LOAD_USAGE / LOAD_ERROR after a one-line message.
 */
int cmd_load(int argc, char **argv)
{
	struct image im = { 0 };
	struct binding *b = NULL;
	size_t nr = 0, k;
	int ret;

	if (argc < 1) {
		fputs("drvproxyctl load: which image? (load IMAGE.ko [PARAM=VALUE...])\n", stderr);
		return LOAD_USAGE;
	}
	im.path = argv[0];
	ret = read_image(&im);
	if (!ret)
		ret = parse_elf(&im);
	if (!ret)
		ret = find_bindings(&im, &b, &nr);
	if (!ret && nr) {
		im.host = modinfo_value(&im, "drvproxy_host");
		if (!im.host)
			ret = fail("%s: binds %s symbols but names no drvproxy_host", im.path,
				   "driver");
	}
	if (!ret && nr)
		ret = resolve(&im, b, nr);
	if (!ret) {
		for (k = 0; k < nr; k++) {
			b[k].sym->st_shndx = SHN_ABS;
			b[k].sym->st_value = b[k].addr;
			b[k].sym->st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
		}
		ret = init_module_params(&im, argc - 1, argv + 1);
	}
	if (!ret && nr)
		printf("%s: linked %zu symbols to the running %s, loaded\n", im.path, nr, im.host);
	else if (!ret)
		printf("%s: loaded\n", im.path);
	free(b);
	free(im.buf);
	return ret;
}
