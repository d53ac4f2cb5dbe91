// SPDX-License-Identifier: GPL-2.0
/*
 * drvproxyctl.c - show what drvproxy has swapped where
 *
 *   drvproxyctl [OPTIONS] [status] [DRIVER...]
 *   drvproxyctl [OPTIONS] history [DRIVER...]
 *   drvproxyctl [OPTIONS] watch [-i SECONDS] [-n COUNT] [DRIVER...]
 *
 * Reads /sys/kernel/drvproxy/ and nothing else (the layout is documented in
 * Documentation/ABI/testing/sysfs-kernel-drvproxy), so it needs no private
 * interface and works against any tree of the same shape: --sysfs DIR or
 * DRVPROXYCTL_SYSFS select another root, which is how it is tested on a
 * fake tree.  Every command has a --json form.  The manual is
 * Documentation/drvproxyctl.rst; the exit codes are listed in print_help().
 *
 * A snapshot of the tree is read file by file, so it is not atomic: a
 * driver, endpoint or layer directory that vanishes while it is read
 * (rmmod, revert) is skipped, unless it was named on the command line.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

#define VERSION			"0.1.0"
#define DEFAULT_SYSFS		"/sys/kernel/drvproxy"

#define EXIT_OK			0
#define EXIT_USAGE		1
#define EXIT_NOT_LOADED		2
#define EXIT_PERM		3
#define EXIT_NO_DRIVER		4
#define EXIT_ERROR		5
/* Internal: a directory vanished while it was read (never an exit code). */
#define ST_GONE			(-1)

#define MAX_EVENTS		10	/* swaps listed under a watch screen */

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)		__attribute__((format(printf, a, b)))

struct endpoint {
	char *name;
	unsigned long long id;
	char *signature;
	char *kind;			/* "process redispatch" etc., "" when absent */
	char *original;			/* symbol, "" when unknown */
	char *original_mod;		/* module, "" when none */
	char *current;
	char *current_mod;
	unsigned long long calls;
	unsigned long long in_flight;
	unsigned long long swaps;
};

struct layer {
	char *module;
	char *mode;
	bool replace;
	unsigned long long order;
	unsigned long long generation;
	unsigned long long applied_at;
	unsigned long long nr_endpoints;
	bool enabled;
};

struct record {
	char *time;			/* "seconds.microseconds", as sysfs shows it */
	char *op;
	char *who;
	char *mode;
	unsigned long long generation;
	long result;
	unsigned long long duration_us;
	size_t driver;			/* index into snapshot.drivers */
};

struct driver {
	char *name;
	char *owner;
	unsigned long long text_size;
	bool has_layout;		/* state_layout exists (newer drvproxy) */
	unsigned long long state_layout;
	unsigned long long generation;
	char *transition;
	char **devices;
	size_t nr_devices;
	unsigned long long opens;
	char **stack;
	size_t nr_stack;
	struct layer *layers;
	size_t nr_layers;
	struct endpoint *eps;
	size_t nr_eps;
	struct record *history;
	size_t nr_history;
};

struct snapshot {
	bool enabled;
	unsigned long long generation;
	struct driver *drivers;
	size_t nr_drivers;
};

/* What the command line asked for. */
struct options {
	const char *root;
	bool json;
	bool color;
	bool history;			/* read drivers/<d>/history too */
	char **names;			/* drivers named on the command line */
	size_t nr_names;
	double interval;
	long count;			/* watch refreshes; < 0: until interrupted */
};

static const char *prog = "drvproxyctl";

static void __printf(1, 2) error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xzalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		error("out of memory");
		exit(EXIT_ERROR);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		error("out of memory");
		exit(EXIT_ERROR);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		error("out of memory");
		exit(EXIT_ERROR);
	}
	return d;
}

/* ---------------------------------------------------------------- sysfs --- */

/* @a/@b into @buf (PATH_MAX bytes); a longer path is a fatal error. */
static void join(char *buf, const char *a, const char *b)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", a, b) >= PATH_MAX) {
		error("path too long: %s/%s", a, b);
		exit(EXIT_ERROR);
	}
}

/* errno of a failed read -> exit status, with the message for the user. */
static int read_error(const char *path, int err, bool named)
{
	if (err == ENOENT || err == ENODEV) {
		if (!named)
			return ST_GONE;
		error("%s vanished while it was read", path);
		return EXIT_NO_DRIVER;
	}
	if (err == EACCES || err == EPERM) {
		error("cannot read %s: %s", path, strerror(err));
		error("drvproxy's files are world-readable: an LSM or the mount denies access");
		return EXIT_PERM;
	}
	error("cannot read %s: %s", path, strerror(err));
	return EXIT_ERROR;
}

/*
 * Read a whole sysfs file into a new string, without its final newline.
 * Return: 0, or -errno.
 */
static int read_text(const char *path, char **out)
{
	size_t len = 0, size = 4096;
	char *buf = xzalloc(size + 1);
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		free(buf);
		return -err;
	}
	for (;;) {
		ssize_t n;

		if (len == size) {
			size *= 2;
			buf = xrealloc(buf, size + 1);
		}
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			free(buf);
			return -err;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	*out = buf;
	return 0;
}

/* Read @dir/@name as text; a failure becomes an exit status (or ST_GONE). */
static int get_text(const char *dir, const char *name, bool named, char **out)
{
	char path[PATH_MAX];
	int ret;

	join(path, dir, name);
	ret = read_text(path, out);
	return ret ? read_error(path, -ret, named) : 0;
}

static bool parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

static int get_u64(const char *dir, const char *name, bool named, unsigned long long *v)
{
	char *s;
	int ret = get_text(dir, name, named, &s);

	if (ret)
		return ret;
	if (!parse_u64(s, v)) {
		error("%s/%s: \"%s\" is not a number", dir, name, s);
		ret = EXIT_ERROR;
	}
	free(s);
	return ret;
}

/* A file older versions of drvproxy do not have: absent is not an error. */
static int get_optional_u64(const char *dir, const char *name, bool *present,
			    unsigned long long *v)
{
	char path[PATH_MAX];
	struct stat st;

	join(path, dir, name);
	*present = !stat(path, &st);
	*v = 0;
	return *present ? get_u64(dir, name, false, v) : 0;
}

/* @name's text, or "" when @dir has no such file (an older drvproxy). */
static int get_optional_text(const char *dir, const char *name, char **out)
{
	char path[PATH_MAX];
	struct stat st;

	join(path, dir, name);
	if (stat(path, &st)) {
		*out = xstrdup("");
		return 0;
	}
	return get_text(dir, name, false, out);
}

static int get_bool(const char *dir, const char *name, bool named, bool *v)
{
	unsigned long long n;
	int ret = get_u64(dir, name, named, &n);

	*v = n != 0;
	return ret;
}

/* Split a space-separated list (consumes @s). */
static void split_words(char *s, char ***out, size_t *nr)
{
	char *save = NULL, *w;

	*out = NULL;
	*nr = 0;
	for (w = strtok_r(s, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		*out = xrealloc(*out, (*nr + 1) * sizeof(**out));
		(*out)[(*nr)++] = xstrdup(w);
	}
	free(s);
}

/* "symbol [module]" -> symbol, module ("" when there is no module part). */
static void split_symbol(const char *s, char **sym, char **mod)
{
	const char *open = strstr(s, " [");
	size_t len = strlen(s);

	if (open && len > 2 && s[len - 1] == ']') {
		*sym = strndup(s, open - s);
		*mod = strndup(open + 2, s + len - 1 - (open + 2));
	} else {
		*sym = strdup(s);
		*mod = strdup("");
	}
	if (!*sym || !*mod) {
		error("out of memory");
		exit(EXIT_ERROR);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in @dir, sorted.  A missing directory is an empty list when
 * @optional.  Return: 0 or an exit status (ST_GONE when @dir vanished).
 */
static int list_dir(const char *dir, bool optional, bool named, char ***out, size_t *nr)
{
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*nr = 0;
	d = opendir(dir);
	if (!d) {
		if (optional && errno == ENOENT)
			return 0;
		return read_error(dir, errno, named);
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		*out = xrealloc(*out, (*nr + 1) * sizeof(**out));
		(*out)[(*nr)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*nr)
		qsort(*out, *nr, sizeof(**out), cmp_str);
	return 0;
}

static void free_words(char **w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

static void endpoint_free(struct endpoint *ep)
{
	free(ep->name);
	free(ep->signature);
	free(ep->kind);
	free(ep->original);
	free(ep->original_mod);
	free(ep->current);
	free(ep->current_mod);
}

static void driver_free(struct driver *drv)
{
	size_t i;

	free(drv->name);
	free(drv->owner);
	free(drv->transition);
	free_words(drv->devices, drv->nr_devices);
	free_words(drv->stack, drv->nr_stack);
	for (i = 0; i < drv->nr_layers; i++) {
		free(drv->layers[i].module);
		free(drv->layers[i].mode);
	}
	free(drv->layers);
	for (i = 0; i < drv->nr_eps; i++)
		endpoint_free(&drv->eps[i]);
	free(drv->eps);
	for (i = 0; i < drv->nr_history; i++) {
		free(drv->history[i].time);
		free(drv->history[i].op);
		free(drv->history[i].who);
		free(drv->history[i].mode);
	}
	free(drv->history);
	memset(drv, 0, sizeof(*drv));
}

static void snapshot_free(struct snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nr_drivers; i++)
		driver_free(&s->drivers[i]);
	free(s->drivers);
	memset(s, 0, sizeof(*s));
}

static int read_endpoint(const char *dir, bool named, struct endpoint *ep)
{
	char *s;
	int ret;

	ret = get_u64(dir, "id", named, &ep->id);
	if (!ret)
		ret = get_text(dir, "signature", named, &ep->signature);
	if (!ret)
		ret = get_optional_text(dir, "kind", &ep->kind);
	if (!ret)
		ret = get_text(dir, "original", named, &s);
	if (!ret) {
		split_symbol(s, &ep->original, &ep->original_mod);
		free(s);
		ret = get_text(dir, "current", named, &s);
	}
	if (!ret) {
		split_symbol(s, &ep->current, &ep->current_mod);
		free(s);
		ret = get_u64(dir, "calls", named, &ep->calls);
	}
	if (!ret)
		ret = get_u64(dir, "in_flight", named, &ep->in_flight);
	if (!ret)
		ret = get_u64(dir, "swaps", named, &ep->swaps);
	return ret;
}

/* A layer's directory goes away when it is reverted: skip it then. */
static int read_layer(const char *dir, struct layer *l)
{
	int ret;

	ret = get_text(dir, "mode", false, &l->mode);
	if (!ret)
		ret = get_bool(dir, "replace", false, &l->replace);
	if (!ret)
		ret = get_u64(dir, "order", false, &l->order);
	if (!ret)
		ret = get_u64(dir, "generation", false, &l->generation);
	if (!ret)
		ret = get_u64(dir, "applied_at", false, &l->applied_at);
	if (!ret)
		ret = get_u64(dir, "nr_endpoints", false, &l->nr_endpoints);
	if (!ret)
		ret = get_bool(dir, "enabled", false, &l->enabled);
	return ret;
}

/*
 * One history line:
 * "<sec>.<usec> <op> <module> <mode> gen=<n> result=<errno> duration_us=<n>"
 */
static bool parse_record(char *line, struct record *r)
{
	char time[32], op[16], who[64], mode[16];
	long long result;

	if (sscanf(line, "%31s %15s %63s %15s gen=%llu result=%lld duration_us=%llu",
		   time, op, who, mode, &r->generation, &result, &r->duration_us) != 7)
		return false;
	r->time = xstrdup(time);
	r->op = xstrdup(op);
	r->who = xstrdup(who);
	r->mode = xstrdup(mode);
	r->result = result;
	return true;
}

static int read_history(const char *dir, bool named, struct driver *drv)
{
	char *text, *line, *save = NULL;
	int ret = get_text(dir, "history", named, &text);

	if (ret)
		return ret;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct record r = {};

		if (!parse_record(line, &r)) {
			error("%s/history: cannot parse \"%s\"", dir, line);
			ret = EXIT_ERROR;
			break;
		}
		drv->history = xrealloc(drv->history, (drv->nr_history + 1) * sizeof(r));
		drv->history[drv->nr_history++] = r;
	}
	free(text);
	return ret;
}

static int read_endpoints(const char *dir, bool named, struct driver *drv)
{
	char path[PATH_MAX], sub[PATH_MAX], **names;
	size_t nr, i;
	int ret;

	join(path, dir, "endpoints");
	ret = list_dir(path, true, named, &names, &nr);
	if (ret)
		return ret;
	drv->eps = xzalloc(nr * sizeof(*drv->eps));
	for (i = 0; i < nr && !ret; i++) {
		struct endpoint *ep = &drv->eps[drv->nr_eps++];

		ep->name = xstrdup(names[i]);
		join(sub, path, names[i]);
		/* Endpoints go only with their extension: the driver is going. */
		ret = read_endpoint(sub, named, ep);
	}
	free_words(names, nr);
	return ret;
}

static int read_layers(const char *dir, bool named, struct driver *drv)
{
	char path[PATH_MAX], sub[PATH_MAX], **names;
	size_t nr, i;
	int ret;

	join(path, dir, "layers");
	ret = list_dir(path, true, named, &names, &nr);
	if (ret)
		return ret;
	drv->layers = xzalloc(nr * sizeof(*drv->layers));
	for (i = 0; i < nr; i++) {
		struct layer *l = &drv->layers[drv->nr_layers];

		join(sub, path, names[i]);
		ret = read_layer(sub, l);
		if (ret == ST_GONE) {
			free(l->mode);
			memset(l, 0, sizeof(*l));
			ret = 0;
			continue;
		}
		if (ret)
			break;
		l->module = xstrdup(names[i]);
		drv->nr_layers++;
	}
	free_words(names, nr);
	return ret;
}

static int read_driver(const char *root, const char *name, const struct options *o,
		       bool named, struct driver *drv)
{
	char drivers[PATH_MAX], dir[PATH_MAX], *s;
	int ret;

	drv->name = xstrdup(name);
	join(drivers, root, "drivers");
	join(dir, drivers, name);
	ret = get_text(dir, "owner", named, &drv->owner);
	if (!ret)
		ret = get_u64(dir, "text_size", named, &drv->text_size);
	if (!ret)
		ret = get_optional_u64(dir, "state_layout", &drv->has_layout, &drv->state_layout);
	if (!ret)
		ret = get_u64(dir, "generation", named, &drv->generation);
	if (!ret)
		ret = get_text(dir, "transition", named, &drv->transition);
	if (!ret)
		ret = get_text(dir, "devices", named, &s);
	if (!ret) {
		split_words(s, &drv->devices, &drv->nr_devices);
		ret = get_u64(dir, "opens", named, &drv->opens);
	}
	if (!ret)
		ret = get_text(dir, "stack", named, &s);
	if (!ret) {
		split_words(s, &drv->stack, &drv->nr_stack);
		ret = read_endpoints(dir, named, drv);
	}
	if (!ret)
		ret = read_layers(dir, named, drv);
	if (!ret && o->history)
		ret = read_history(dir, named, drv);
	return ret;
}

static bool is_named(const struct options *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->nr_names; i++)
		if (!strcmp(o->names[i], name))
			return true;
	return false;
}

static int not_loaded(const char *root, const char *why)
{
	error("drvproxy is not loaded: %s %s", root, why);
	if (!strcmp(root, DEFAULT_SYSFS))
		error("load it first: insmod drvproxy.ko (or modprobe drvproxy)");
	return EXIT_NOT_LOADED;
}

/* The framework is loaded when its root directory exists. */
static int check_root(const char *root)
{
	struct stat st;

	if (stat(root, &st)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return not_loaded(root, "does not exist");
		return read_error(root, errno, true);
	}
	if (!S_ISDIR(st.st_mode))
		return not_loaded(root, "is not a directory");
	return 0;
}

/* Read a file of the root directory; its absence means "not loaded". */
static int get_root_u64(const char *root, const char *name, unsigned long long *v)
{
	char why[PATH_MAX];
	int ret = get_u64(root, name, false, v);

	if (ret != ST_GONE)
		return ret;
	snprintf(why, sizeof(why), "has no \"%s\" (unloaded while read?)", name);
	return not_loaded(root, why);
}

/*
 * Read the tree.  @strict: every driver named on the command line must
 * exist (status, history; not the later refreshes of watch).
 */
static int snapshot_read(const struct options *o, bool strict, struct snapshot *s)
{
	char path[PATH_MAX], **names;
	unsigned long long v = 0;
	size_t nr, i;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = check_root(o->root);
	if (ret)
		return ret;
	ret = get_root_u64(o->root, "enabled", &v);
	s->enabled = v != 0;
	if (!ret)
		ret = get_root_u64(o->root, "generation", &s->generation);
	if (ret)
		return ret;
	join(path, o->root, "drivers");
	ret = list_dir(path, false, false, &names, &nr);
	if (ret == ST_GONE)
		return not_loaded(o->root, "has no drivers/ directory (unloaded while read?)");
	if (ret)
		return ret;

	for (i = 0; strict && i < o->nr_names; i++) {
		if (!bsearch(&o->names[i], names, nr, sizeof(*names), cmp_str)) {
			error("no such driver: %s", o->names[i]);
			ret = EXIT_NO_DRIVER;
		}
	}
	if (ret) {
		fprintf(stderr, "%s: registered drivers:", prog);
		for (i = 0; i < nr; i++)
			fprintf(stderr, " %s", names[i]);
		fprintf(stderr, "%s\n", nr ? "" : " none");
		free_words(names, nr);
		return ret;
	}

	s->drivers = xzalloc(nr * sizeof(*s->drivers));
	for (i = 0; i < nr; i++) {
		struct driver *drv = &s->drivers[s->nr_drivers];
		bool named = strict && is_named(o, names[i]);

		if (o->nr_names && !is_named(o, names[i]))
			continue;
		ret = read_driver(o->root, names[i], o, named, drv);
		if (ret == ST_GONE) {
			driver_free(drv);
			ret = 0;
			continue;
		}
		s->nr_drivers++;
		if (ret)
			break;
	}
	free_words(names, nr);
	if (ret)
		snapshot_free(s);
	return ret;
}

/* ----------------------------------------------------------------- JSON --- */

struct json {
	FILE *f;
	bool pretty;
	int depth;
	bool after_key;
	bool first[32];			/* nothing written yet at this depth */
};

static void j_newline(struct json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Separator before a key or a value. */
static void j_sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->depth)
		return;
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	j_newline(j);
}

static void j_raw_str(struct json *j, const char *s)
{
	const unsigned char *p;

	fputc('"', j->f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(j->f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", j->f);
		else if (*p == '\t')
			fputs("\\t", j->f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(j->f, "\\u%04x", *p);
		else
			fputc(*p, j->f);
	}
	fputc('"', j->f);
}

static void j_open(struct json *j, char c)
{
	j_sep(j);
	fputc(c, j->f);
	j->depth++;
	j->first[j->depth] = true;
}

static void j_close(struct json *j, char c)
{
	bool empty = j->first[j->depth];

	j->depth--;
	if (!empty)
		j_newline(j);
	fputc(c, j->f);
}

static void j_key(struct json *j, const char *key)
{
	j_sep(j);
	j_raw_str(j, key);
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = true;
}

static void j_str(struct json *j, const char *key, const char *v)
{
	if (key)
		j_key(j, key);
	j_sep(j);
	j_raw_str(j, v);
}

/* A string, or null when empty. */
static void j_str_or_null(struct json *j, const char *key, const char *v)
{
	if (key)
		j_key(j, key);
	j_sep(j);
	if (*v)
		j_raw_str(j, v);
	else
		fputs("null", j->f);
}

static void j_u64(struct json *j, const char *key, unsigned long long v)
{
	if (key)
		j_key(j, key);
	j_sep(j);
	fprintf(j->f, "%llu", v);
}

static void j_long(struct json *j, const char *key, long v)
{
	if (key)
		j_key(j, key);
	j_sep(j);
	fprintf(j->f, "%ld", v);
}

static void j_null(struct json *j)
{
	j_sep(j);
	fputs("null", j->f);
}

static void j_bool(struct json *j, const char *key, bool v)
{
	if (key)
		j_key(j, key);
	j_sep(j);
	fputs(v ? "true" : "false", j->f);
}

/* A decimal fraction copied from sysfs ("123.000456"), a string otherwise. */
static void j_number_text(struct json *j, const char *key, const char *v)
{
	size_t digits = strspn(v, "0123456789");

	if (key)
		j_key(j, key);
	j_sep(j);
	if (digits && (!v[digits] || (v[digits] == '.' && v[digits + 1] &&
				      !v[digits + 1 + strspn(v + digits + 1, "0123456789")])))
		fputs(v, j->f);
	else
		j_raw_str(j, v);
}

static void j_words(struct json *j, const char *key, char **w, size_t n)
{
	size_t i;

	j_key(j, key);
	j_open(j, '[');
	for (i = 0; i < n; i++)
		j_str(j, NULL, w[i]);
	j_close(j, ']');
}

static void json_endpoint(struct json *j, const struct endpoint *ep)
{
	j_open(j, '{');
	j_str(j, "name", ep->name);
	j_u64(j, "id", ep->id);
	j_str(j, "signature", ep->signature);
	j_str_or_null(j, "kind", ep->kind);
	j_str_or_null(j, "original", ep->original);
	j_str_or_null(j, "original_module", ep->original_mod);
	j_str_or_null(j, "current", ep->current);
	j_str_or_null(j, "current_module", ep->current_mod);
	j_bool(j, "swapped", strcmp(ep->current, ep->original) ||
	       strcmp(ep->current_mod, ep->original_mod));
	j_u64(j, "calls", ep->calls);
	j_u64(j, "in_flight", ep->in_flight);
	j_u64(j, "swaps", ep->swaps);
	j_close(j, '}');
}

static void json_layer(struct json *j, const struct layer *l)
{
	j_open(j, '{');
	j_str(j, "module", l->module);
	j_str(j, "mode", l->mode);
	j_bool(j, "replace", l->replace);
	j_u64(j, "order", l->order);
	j_u64(j, "generation", l->generation);
	j_u64(j, "applied_at", l->applied_at);
	j_u64(j, "nr_endpoints", l->nr_endpoints);
	j_bool(j, "enabled", l->enabled);
	j_close(j, '}');
}

static void json_driver(struct json *j, const struct driver *drv)
{
	size_t i;

	j_open(j, '{');
	j_str(j, "name", drv->name);
	j_str(j, "owner", drv->owner);
	j_u64(j, "text_size", drv->text_size);
	j_key(j, "state_layout");
	if (drv->has_layout)
		j_u64(j, NULL, drv->state_layout);
	else
		j_null(j);
	j_u64(j, "generation", drv->generation);
	j_str(j, "transition", drv->transition);
	j_words(j, "devices", drv->devices, drv->nr_devices);
	j_u64(j, "opens", drv->opens);
	j_words(j, "stack", drv->stack, drv->nr_stack);
	j_key(j, "layers");
	j_open(j, '[');
	for (i = 0; i < drv->nr_layers; i++)
		json_layer(j, &drv->layers[i]);
	j_close(j, ']');
	j_key(j, "endpoints");
	j_open(j, '[');
	for (i = 0; i < drv->nr_eps; i++)
		json_endpoint(j, &drv->eps[i]);
	j_close(j, ']');
	j_close(j, '}');
}

static void json_status(struct json *j, const struct options *o, const struct snapshot *s)
{
	size_t i;

	j_open(j, '{');
	j_str(j, "sysfs", o->root);
	j_bool(j, "enabled", s->enabled);
	j_u64(j, "generation", s->generation);
	j_key(j, "drivers");
	j_open(j, '[');
	for (i = 0; i < s->nr_drivers; i++)
		json_driver(j, &s->drivers[i]);
	j_close(j, ']');
	j_close(j, '}');
}

/* ---------------------------------------------------------------- tables --- */

/* A growing string. */
struct buf {
	char *s;
	size_t len;
};

static void __printf(2, 3) bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	b->s = xrealloc(b->s, b->len + n + 1);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

#define MAX_COLS	10

struct table {
	size_t nr_cols;
	const char *head[MAX_COLS];
	bool right[MAX_COLS];		/* right-aligned (numbers) */
	size_t width[MAX_COLS];
	char ***rows;
	bool *hot;			/* highlighted rows */
	size_t nr_rows;
};

static void table_init(struct table *t, size_t nr_cols, const char *const *head,
		       const bool *right)
{
	size_t c;

	memset(t, 0, sizeof(*t));
	t->nr_cols = nr_cols;
	for (c = 0; c < nr_cols; c++) {
		t->head[c] = head[c];
		t->right[c] = right[c];
		t->width[c] = strlen(head[c]);
	}
}

/* Add a row; the cells are copied. */
static void table_row(struct table *t, bool hot, const char *const *cells)
{
	char **row = xzalloc(t->nr_cols * sizeof(*row));
	size_t c;

	for (c = 0; c < t->nr_cols; c++) {
		row[c] = xstrdup(cells[c]);
		if (strlen(row[c]) > t->width[c])
			t->width[c] = strlen(row[c]);
	}
	t->rows = xrealloc(t->rows, (t->nr_rows + 1) * sizeof(*t->rows));
	t->hot = xrealloc(t->hot, (t->nr_rows + 1) * sizeof(*t->hot));
	t->rows[t->nr_rows] = row;
	t->hot[t->nr_rows++] = hot;
}

/* One line of the table, without trailing blanks. */
static void table_line(const struct table *t, const char *indent, const char *const *cells)
{
	struct buf b = {};
	size_t c;

	bprintf(&b, "%s", indent);
	for (c = 0; c < t->nr_cols; c++) {
		int w = (int)t->width[c];

		if (t->right[c])
			bprintf(&b, "%*s", w, cells[c]);
		else
			bprintf(&b, "%-*s", w, cells[c]);
		if (c + 1 < t->nr_cols)
			bprintf(&b, "  ");
	}
	while (b.len && b.s[b.len - 1] == ' ')
		b.s[--b.len] = '\0';
	fputs(b.s, stdout);
	free(b.s);
}

static void table_print(struct table *t, const char *indent, bool color)
{
	size_t r;

	table_line(t, indent, t->head);
	putchar('\n');
	for (r = 0; r < t->nr_rows; r++) {
		if (t->hot[r] && color)
			fputs("\033[1;7m", stdout);
		table_line(t, indent, (const char *const *)t->rows[r]);
		if (t->hot[r] && color)
			fputs("\033[0m", stdout);
		putchar('\n');
	}
}

static void table_free(struct table *t)
{
	size_t r, c;

	for (r = 0; r < t->nr_rows; r++) {
		for (c = 0; c < t->nr_cols; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	free(t->rows);
	free(t->hot);
}

/* ---------------------------------------------------------------- status --- */

static bool ep_swapped(const struct endpoint *ep)
{
	return strcmp(ep->current, ep->original) || strcmp(ep->current_mod, ep->original_mod);
}

static const struct endpoint *find_ep(const struct driver *drv, const char *name)
{
	size_t i;

	for (i = 0; drv && i < drv->nr_eps; i++)
		if (!strcmp(drv->eps[i].name, name))
			return &drv->eps[i];
	return NULL;
}

static const struct driver *find_driver(const struct snapshot *s, const char *name)
{
	size_t i;

	for (i = 0; s && i < s->nr_drivers; i++)
		if (!strcmp(s->drivers[i].name, name))
			return &s->drivers[i];
	return NULL;
}

/*
 * The layer of @module: its directory is "<module>", or "<module>.<order>"
 * for a module's second layer on the same driver.
 */
static const struct layer *find_layer(const struct driver *drv, const char *module)
{
	size_t i, n = strlen(module);

	for (i = 0; i < drv->nr_layers; i++) {
		const char *name = drv->layers[i].module;

		if (!strncmp(name, module, n) && (!name[n] || name[n] == '.'))
			return &drv->layers[i];
	}
	return NULL;
}

static void print_words(char **w, size_t n, const char *none)
{
	size_t i;

	if (!n)
		fputs(none, stdout);
	for (i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", w[i]);
}

static void print_driver_header(const struct driver *drv)
{
	size_t i;

	printf("driver %s: owner %s, generation %llu, transition %s", drv->name,
	       drv->owner, drv->generation, drv->transition);
	if (drv->state_layout)
		printf(", state layout %llu", drv->state_layout);
	putchar('\n');
	fputs("  stack (bottom first): ", stdout);
	if (!drv->nr_stack)
		fputs("none", stdout);
	for (i = 0; i < drv->nr_stack; i++) {
		const struct layer *l = find_layer(drv, drv->stack[i]);

		printf("%s%s", i ? ", " : "", drv->stack[i]);
		if (l)
			printf(" (%s%s)", l->mode, l->replace ? ", replace" : "");
	}
	fputs("\n  devices: ", stdout);
	print_words(drv->devices, drv->nr_devices, "none");
	printf(" (%llu open)\n", drv->opens);
}

/*
 * The status screen.  @prev: the previous snapshot (watch), whose
 * endpoints that changed implementation since are highlighted.
 */
static void print_status(const struct options *o, const struct snapshot *s,
			 const struct snapshot *prev)
{
	static const char *const head[] = {
		"DRIVER", "ENDPOINT", "CURRENT", "MODULE", "CALLS", "IN-FLIGHT", "SWAPS", ""
	};
	static const bool right[] = { false, false, false, false, true, true, true, false };
	/* [swapped][changed since the previous screen] */
	static const char *const marker[2][2] = {
		{ "", "  <- changed" }, { "*", "* <- changed" }
	};
	bool starred = false, changed = false;
	size_t d, e;

	printf("drvproxy: %s, generation %llu, %zu driver%s\n",
	       s->enabled ? "enabled" : "DISABLED (parameter enabled=0)",
	       s->generation, s->nr_drivers, s->nr_drivers == 1 ? "" : "s");
	for (d = 0; d < s->nr_drivers; d++) {
		const struct driver *drv = &s->drivers[d];
		const struct driver *pd = find_driver(prev, drv->name);
		struct table t;

		putchar('\n');
		print_driver_header(drv);
		if (!drv->nr_eps) {
			printf("  no proxy extension: no endpoints\n");
			continue;
		}
		table_init(&t, ARRAY_SIZE(head), head, right);
		for (e = 0; e < drv->nr_eps; e++) {
			const struct endpoint *ep = &drv->eps[e];
			const struct endpoint *pep = find_ep(pd, ep->name);
			char calls[24], inf[24], swaps[24];
			bool hot = pep && (strcmp(pep->current, ep->current) ||
					   strcmp(pep->current_mod, ep->current_mod));
			const char *cells[ARRAY_SIZE(head)] = {
				drv->name, ep->name, *ep->current ? ep->current : "-",
				*ep->current_mod ? ep->current_mod : "-", calls, inf, swaps,
				marker[ep_swapped(ep)][hot]
			};

			snprintf(calls, sizeof(calls), "%llu", ep->calls);
			snprintf(inf, sizeof(inf), "%llu", ep->in_flight);
			snprintf(swaps, sizeof(swaps), "%llu", ep->swaps);
			starred |= ep_swapped(ep);
			changed |= hot;
			table_row(&t, hot, cells);
		}
		putchar('\n');
		table_print(&t, "", o->color);
		table_free(&t);
	}
	if (starred || changed)
		printf("\n%s%s%s\n", starred ? "* not the original implementation" : "",
		       starred && changed ? "; " : "",
		       changed ? "<- changed since the last refresh" : "");
}

static int cmd_status(const struct options *o)
{
	struct snapshot s;
	int ret = snapshot_read(o, true, &s);

	if (ret)
		return ret;
	if (o->json) {
		struct json j = { .f = stdout, .pretty = true };

		json_status(&j, o, &s);
		putchar('\n');
	} else {
		print_status(o, &s, NULL);
	}
	snapshot_free(&s);
	return EXIT_OK;
}

/* --------------------------------------------------------------- history --- */

static void record_time(const struct record *r, long long *sec, long *usec)
{
	if (sscanf(r->time, "%lld.%ld", sec, usec) != 2) {
		*sec = 0;
		*usec = 0;
	}
}

static int cmp_record(const void *a, const void *b)
{
	const struct record *x = a, *y = b;
	long long xs, ys;
	long xu, yu;

	record_time(x, &xs, &xu);
	record_time(y, &ys, &yu);
	if (xs != ys)
		return xs < ys ? -1 : 1;
	if (xu != yu)
		return xu < yu ? -1 : 1;
	if (x->driver != y->driver)
		return x->driver < y->driver ? -1 : 1;
	return 0;
}

static void format_time(const struct record *r, char *buf, size_t size)
{
	long long sec;
	long usec;
	time_t t;
	struct tm tm;

	record_time(r, &sec, &usec);
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "%s", r->time);
	else
		snprintf(buf + strlen(buf), size - strlen(buf), ".%06ld", usec);
}

static void format_result(long result, char *buf, size_t size)
{
	const char *name = NULL;

	if (!result) {
		snprintf(buf, size, "ok");
		return;
	}
#ifdef __GLIBC__
	if (result < 0)
		name = strerrorname_np((int)-result);
#endif
	if (name)
		snprintf(buf, size, "%ld %s", result, name);
	else
		snprintf(buf, size, "%ld", result);
}

/* All records of all drivers, oldest first (a stable merge of the rings). */
static struct record *merged_history(const struct snapshot *s, size_t *nr)
{
	struct record *all = NULL;
	size_t d, i, n = 0;

	for (d = 0; d < s->nr_drivers; d++) {
		const struct driver *drv = &s->drivers[d];

		all = xrealloc(all, (n + drv->nr_history) * sizeof(*all));
		for (i = 0; i < drv->nr_history; i++) {
			all[n] = drv->history[i];
			all[n++].driver = d;
		}
	}
	/* Records of one driver are in order already; qsort keeps it so. */
	if (n)
		qsort(all, n, sizeof(*all), cmp_record);
	*nr = n;
	return all;
}

static void json_history(struct json *j, const struct options *o, const struct snapshot *s)
{
	size_t d, i;

	j_open(j, '{');
	j_str(j, "sysfs", o->root);
	j_key(j, "drivers");
	j_open(j, '[');
	for (d = 0; d < s->nr_drivers; d++) {
		const struct driver *drv = &s->drivers[d];

		j_open(j, '{');
		j_str(j, "name", drv->name);
		j_key(j, "history");
		j_open(j, '[');
		for (i = 0; i < drv->nr_history; i++) {
			const struct record *r = &drv->history[i];

			j_open(j, '{');
			j_number_text(j, "time", r->time);
			j_str(j, "op", r->op);
			j_str(j, "module", r->who);
			j_str(j, "mode", r->mode);
			j_u64(j, "generation", r->generation);
			j_long(j, "result", r->result);
			j_u64(j, "duration_us", r->duration_us);
			j_close(j, '}');
		}
		j_close(j, ']');
		j_close(j, '}');
	}
	j_close(j, ']');
	j_close(j, '}');
}

static void print_history(const struct snapshot *s)
{
	static const char *const head[] = {
		"DRIVER", "TIME (UTC)", "OP", "MODULE", "MODE", "GEN", "DURATION", "RESULT"
	};
	static const bool right[] = { false, false, false, false, false, true, true, false };
	struct record *all;
	struct table t;
	size_t n, i;

	all = merged_history(s, &n);
	if (!n) {
		printf("no transitions recorded\n");
		free(all);
		return;
	}
	table_init(&t, ARRAY_SIZE(head), head, right);
	for (i = 0; i < n; i++) {
		const struct record *r = &all[i];
		char when[64], gen[24], dur[32], res[64];
		const char *cells[ARRAY_SIZE(head)] = {
			s->drivers[r->driver].name, when, r->op, r->who, r->mode, gen, dur, res
		};

		format_time(r, when, sizeof(when));
		snprintf(gen, sizeof(gen), "%llu", r->generation);
		snprintf(dur, sizeof(dur), "%llu us", r->duration_us);
		format_result(r->result, res, sizeof(res));
		table_row(&t, false, cells);
	}
	table_print(&t, "", false);
	table_free(&t);
	free(all);
}

static int cmd_history(struct options *o)
{
	struct snapshot s;
	int ret;

	o->history = true;
	ret = snapshot_read(o, true, &s);
	if (ret)
		return ret;
	if (o->json) {
		struct json j = { .f = stdout, .pretty = true };

		json_history(&j, o, &s);
		putchar('\n');
	} else {
		print_history(&s);
	}
	snapshot_free(&s);
	return EXIT_OK;
}

/* ----------------------------------------------------------------- watch --- */

/* One change watch noticed between two refreshes. */
struct event {
	char *text;			/* for the screen, may span lines */
};

struct events {
	struct event ev[MAX_EVENTS];
	size_t nr;
	size_t total;
};

static void events_add(struct events *evs, char *text)
{
	if (evs->nr == MAX_EVENTS) {
		free(evs->ev[0].text);
		memmove(evs->ev, evs->ev + 1, (MAX_EVENTS - 1) * sizeof(evs->ev[0]));
		evs->nr--;
	}
	evs->ev[evs->nr++].text = text;
	evs->total++;
}

static void events_free(struct events *evs)
{
	size_t i;

	for (i = 0; i < evs->nr; i++)
		free(evs->ev[i].text);
}

static void now_hms(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%H:%M:%S", &tm))
		snprintf(buf, size, "?");
}

static const char *sym_or_dash(const char *s)
{
	return *s ? s : "-";
}

/*
 * Compare two snapshots and describe what changed: drivers that came and
 * went, and every driver whose generation moved (a swap, a revert, or both
 * in between two refreshes), with the endpoints whose implementation
 * differs now.  Text for the screen goes to @evs; JSON objects to @j.
 */
static void diff_snapshots(const struct snapshot *old, const struct snapshot *cur,
			   struct events *evs, struct json *j)
{
	char hms[16];
	size_t d, e;

	now_hms(hms, sizeof(hms));
	for (d = 0; old && d < old->nr_drivers; d++) {
		const struct driver *od = &old->drivers[d];

		if (cur && find_driver(cur, od->name))
			continue;
		if (evs) {
			struct buf b = {};

			bprintf(&b, "%s  %s: driver unregistered", hms, od->name);
			events_add(evs, b.s);
		}
		if (j) {
			j_open(j, '{');
			j_str(j, "event", "unregistered");
			j_str(j, "driver", od->name);
			j_close(j, '}');
		}
	}
	for (d = 0; cur && d < cur->nr_drivers; d++) {
		const struct driver *nd = &cur->drivers[d];
		const struct driver *od = find_driver(old, nd->name);
		struct buf b = {};

		if (!od) {
			if (!old)
				continue;	/* the first screen: nothing is new */
			if (evs) {
				bprintf(&b, "%s  %s: driver registered (generation %llu)", hms,
					nd->name, nd->generation);
				events_add(evs, b.s);
			}
			if (j) {
				j_open(j, '{');
				j_str(j, "event", "registered");
				j_str(j, "driver", nd->name);
				j_u64(j, "generation", nd->generation);
				j_close(j, '}');
			}
			continue;
		}
		if (od->generation == nd->generation)
			continue;
		bprintf(&b, "%s  %s: generation %llu -> %llu, stack: ", hms, nd->name,
			od->generation, nd->generation);
		if (!nd->nr_stack)
			bprintf(&b, "none");
		for (e = 0; e < nd->nr_stack; e++)
			bprintf(&b, "%s%s", e ? " " : "", nd->stack[e]);
		if (j) {
			j_open(j, '{');
			j_str(j, "event", "swap");
			j_str(j, "driver", nd->name);
			j_u64(j, "from_generation", od->generation);
			j_u64(j, "to_generation", nd->generation);
			j_words(j, "stack", nd->stack, nd->nr_stack);
			j_key(j, "changes");
			j_open(j, '[');
		}
		for (e = 0; e < nd->nr_eps; e++) {
			const struct endpoint *ne = &nd->eps[e];
			const struct endpoint *oe = find_ep(od, ne->name);

			if (!oe || (!strcmp(oe->current, ne->current) &&
				    !strcmp(oe->current_mod, ne->current_mod)))
				continue;
			bprintf(&b, "\n            %s: %s [%s] -> %s [%s]", ne->name,
				sym_or_dash(oe->current), sym_or_dash(oe->current_mod),
				sym_or_dash(ne->current), sym_or_dash(ne->current_mod));
			if (j) {
				j_open(j, '{');
				j_str(j, "endpoint", ne->name);
				j_str_or_null(j, "from", oe->current);
				j_str_or_null(j, "from_module", oe->current_mod);
				j_str_or_null(j, "to", ne->current);
				j_str_or_null(j, "to_module", ne->current_mod);
				j_close(j, '}');
			}
		}
		if (j) {
			j_close(j, ']');
			j_close(j, '}');
		}
		if (evs)
			events_add(evs, b.s);
		else
			free(b.s);
	}
}

/* {"event": "loaded"} and the like: a change of drvproxy itself. */
static void json_event(struct json *j, const char *event)
{
	j_open(j, '{');
	j_str(j, "event", event);
	j_close(j, '}');
}

static void sleep_interval(double sec)
{
	struct timespec ts;

	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void watch_screen(const struct options *o, long n, const struct snapshot *cur,
			 const struct snapshot *prev, int status, const struct events *evs)
{
	char hms[16];
	size_t i;

	now_hms(hms, sizeof(hms));
	/* Home, then clear: the screen is redrawn in place. */
	fputs("\033[H\033[2J", stdout);
	printf("drvproxyctl watch: every %.1f s, refresh %ld", o->interval, n);
	if (o->count > 0)
		printf(" of %ld", o->count);
	printf(", %s UTC (Ctrl-C quits)\n\n", hms);
	if (status == EXIT_NOT_LOADED)
		printf("drvproxy is not loaded (%s does not exist); waiting\n", o->root);
	else
		print_status(o, cur, prev);
	printf("\nswaps seen: %zu%s\n", evs->total, evs->total ? " (newest last)" : "");
	for (i = 0; i < evs->nr; i++)
		printf("  %s\n", evs->ev[i].text);
	fflush(stdout);
}

static int cmd_watch(const struct options *o)
{
	struct snapshot snaps[2] = {}, *cur = &snaps[0], *prev = NULL;
	int status, prev_status = EXIT_OK;
	struct events evs = {};
	long n;

	/* The first refresh reports errors like status does. */
	status = snapshot_read(o, true, cur);
	if (status)
		return status;
	for (n = 1;; n++) {
		if (o->json) {
			struct json j = { .f = stdout };

			j_open(&j, '{');
			j_long(&j, "refresh", n);
			j_u64(&j, "time", (unsigned long long)time(NULL));
			j_bool(&j, "loaded", status == EXIT_OK);
			j_key(&j, "swaps");
			j_open(&j, '[');
			if (prev_status == EXIT_OK && status == EXIT_OK)
				diff_snapshots(prev, cur, NULL, &j);
			else if (status != prev_status)
				json_event(&j, status ? "unloaded" : "loaded");
			j_close(&j, ']');
			if (status == EXIT_OK) {
				j_key(&j, "status");
				json_status(&j, o, cur);
			}
			j_close(&j, '}');
			putchar('\n');
			fflush(stdout);
		} else {
			if (prev_status == EXIT_OK && status == EXIT_OK) {
				diff_snapshots(prev, cur, &evs, NULL);
			} else if (status != prev_status) {
				struct buf b = {};
				char hms[16];

				now_hms(hms, sizeof(hms));
				bprintf(&b, "%s  drvproxy %s", hms, status ? "unloaded" : "loaded");
				events_add(&evs, b.s);
			}
			watch_screen(o, n, cur, prev_status == EXIT_OK ? prev : NULL, status,
				     &evs);
		}
		if (o->count > 0 && n >= o->count)
			break;
		sleep_interval(o->interval);

		/* Rotate: the current snapshot becomes the previous one. */
		if (prev)
			snapshot_free(prev);
		prev = cur;
		prev_status = status;
		cur = cur == &snaps[0] ? &snaps[1] : &snaps[0];
		status = snapshot_read(o, false, cur);
		if (status == EXIT_NOT_LOADED) {
			continue;
		} else if (status) {
			/* Permission or parse errors do not fix themselves. */
			break;
		}
	}
	snapshot_free(&snaps[0]);
	snapshot_free(&snaps[1]);
	events_free(&evs);
	return status == EXIT_NOT_LOADED ? EXIT_OK : status;
}

/* ------------------------------------------------------------------ main --- */

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: %s [OPTIONS] [status] [DRIVER...]\n"
		"       %s [OPTIONS] history [DRIVER...]\n"
		"       %s [OPTIONS] watch [-i SECONDS] [-n COUNT] [DRIVER...]\n"
		"       %s load IMAGE.ko [PARAM=VALUE...]\n"
		"\n"
		"Show what drvproxy (Driver Hot-Swap) has swapped where, from %s.\n"
		"\n"
		"Commands:\n"
		"  status            per driver: owner, generation, transition, layer stack,\n"
		"                    devices; per endpoint: current implementation, its module,\n"
		"                    calls, calls in flight, swaps (the default command)\n"
		"  history           the recent transitions (register, apply, revert) of each\n"
		"                    driver, oldest first\n"
		"  watch             redraw status in place every interval and list the swaps\n"
		"                    seen between refreshes (a generation that moved)\n"
		"  load              load an image companion (make companion), linked first to\n"
		"                    the running driver's own symbols from /proc/kallsyms\n"
		"  help              this text\n"
		"\n"
		"Options:\n"
		"  -j, --json            machine-readable output (watch: one JSON object per\n"
		"                        refresh and line)\n"
		"  -s, --sysfs DIR       read DIR instead of %s\n"
		"                        (also: environment variable DRVPROXYCTL_SYSFS)\n"
		"  -i, --interval SEC    watch: seconds between refreshes (default 1)\n"
		"  -n, --count COUNT     watch: stop after COUNT refreshes (default: never)\n"
		"      --color WHEN      watch: highlight changed rows: auto, always, never\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version\n"
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  usage error\n"
		"  2  drvproxy is not loaded (the sysfs directory does not exist)\n"
		"  3  permission denied reading the sysfs files\n"
		"  4  no such driver (a DRIVER named on the command line is not registered)\n"
		"  5  any other error (unreadable or malformed files, out of memory)\n"
		"\n"
		"See Documentation/drvproxyctl.rst.\n",
		prog, prog, prog, prog, DEFAULT_SYSFS, DEFAULT_SYSFS);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EXIT_USAGE;
}

static bool color_auto(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sysfs", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "color", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct options o = { .interval = 1.0, .count = -1 };
	bool watch_opts = false;
	const char *cmd = "status";
	char *end;
	int c, ret;

	o.root = getenv("DRVPROXYCTL_SYSFS");
	if (!o.root || !*o.root)
		o.root = DEFAULT_SYSFS;
	o.color = color_auto();
	while ((c = getopt_long(argc, argv, "js:i:n:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 's':
			o.root = optarg;
			break;
		case 'i':
			errno = 0;
			o.interval = strtod(optarg, &end);
			if (errno || *end || !isfinite(o.interval) || o.interval < 0.01 ||
			    o.interval > 86400)
				return usage_error("bad interval '%s' (seconds, 0.01 to 86400)",
						   optarg);
			watch_opts = true;
			break;
		case 'n':
			errno = 0;
			o.count = strtol(optarg, &end, 10);
			if (errno || *end || o.count < 1)
				return usage_error("bad count '%s' (a positive number)", optarg);
			watch_opts = true;
			break;
		case 'C':
			if (!strcmp(optarg, "always"))
				o.color = true;
			else if (!strcmp(optarg, "never"))
				o.color = false;
			else if (!strcmp(optarg, "auto"))
				o.color = color_auto();
			else
				return usage_error("bad --color '%s' (auto, always, never)",
						   optarg);
			break;
		case 'h':
			print_help(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", prog, VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	o.names = argv + optind;
	o.nr_names = argc - optind;

	if (!strcmp(cmd, "help")) {
		print_help(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "load"))
		return cmd_load(o.nr_names, o.names);
	if (strcmp(cmd, "watch") && watch_opts)
		return usage_error("-i and -n are options of watch, not of '%s'", cmd);
	if (!strcmp(cmd, "status"))
		ret = cmd_status(&o);
	else if (!strcmp(cmd, "history"))
		ret = cmd_history(&o);
	else if (!strcmp(cmd, "watch"))
		ret = cmd_watch(&o);
	else
		return usage_error("unknown command '%s' (status, history, watch, load, help)",
				   cmd);

	if (fflush(stdout) || ferror(stdout)) {
		error("write error: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return ret;
}
