/*
 * Drop-in files: the main config file and those it includes, as one text.
 *
 * include "PATTERN" (or libconfuse's spelling, include("PATTERN")) at
 * the top of a file, PATTERN such as conf.d's *.conf, reads every file
 * the pattern matches, in byte order of their names, as if its text stood on
 * the line after the include; a pattern without a wildcard names one file,
 * which must exist, or a directory, which means its *.conf.  A relative pattern
 * is relative to the directory of the file it is written in.  Each file is
 * read, checked for trust and scanned on its own (config_text.c,
 * config_scan.c), so its structure errors name it; then the texts are spliced
 * into one for libconfuse, and a span table maps each line of the splice back
 * to the FILE:LINE it came from, for the errors found later.  libconfuse's own
 * include() is not used: it would read a file past the scanner, with its
 * comments, and name lines libconfuse counted.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_keys.h"
#include "config_source.h"
#include "config_text.h"
#include "log.h"

struct source_file {
	char *path;
	dev_t dev;
	ino_t ino;
};

/* From line first of the splice on, lines come from file, from line. */
struct source_span {
	int first;
	size_t file;
	int line;
};

/* An include statement of the file being read. */
struct pending {
	char *pattern;
	int line;
};

/* One file being scanned: where its includes go. */
struct scanning {
	struct config_source *src;
	const char *path;
	struct pending *inc;
	size_t ninc, cap;
};

/* The files on the way from the main file to the one being read. */
struct chain {
	size_t file[CONFIG_INCLUDE_DEPTH + 1];
	int depth;
};

/* Where an include statement is: its file, line and pattern. */
struct at {
	const char *from;
	int line;
	const char *pattern;
};

static void include_file(struct config_source *src, const char *path,
    struct chain *chain, const struct at *at);

static void report(struct config_source *src, const char *path, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
report(
    struct config_source *src, const char *path, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	src->hooks->report(path, line, msg);
}

static void
nomem(struct config_source *src, const char *path, int line)
{
	if (!src->nomem)
		report(src, path, line, "out of memory");
	src->nomem = true;
}

/* May another user than root and us write what st describes?  Its owner,
 * or (bits) its group or everyone. */
static bool
others_may_write(const struct stat *st, mode_t bits)
{
	return (st->st_uid != 0 && st->st_uid != geteuid()) ||
	       (st->st_mode & bits) != 0;
}

/*
 * As OpenSSH's StrictModes: a file that someone else may write, or that
 * lies in a directory where someone else may replace it, is no config for
 * a master that forks programs as it says -- the main file or a drop-in
 * alike.  A warning, not a refusal: group-writable configs do exist, and
 * the operator decides.  A sticky directory (/tmp) keeps others from
 * replacing our file.
 */
static void
check_trust(const char *path)
{
	char *copy = strdup(path);
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    others_may_write(&st, S_IWGRP | S_IWOTH))
		log_warnx("%s: writable by users other than root and "
		          "preforkd's own (owner uid %ld, mode %04o)",
		    path, (long)st.st_uid, (unsigned)(st.st_mode & 07777));
	if (copy != NULL && stat(dirname(copy), &st) == 0 &&
	    (st.st_mode & S_ISVTX) == 0 &&
	    others_may_write(&st, S_IWGRP | S_IWOTH))
		log_warnx("%s: its directory %s is writable by users other "
		          "than root and preforkd's own (owner uid %ld, mode "
		          "%04o): they can replace the file",
		    path, copy, (long)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	free(copy);
}

/* n bytes of p onto the splice; -1 when out of memory. */
static int
append(struct config_source *src, const char *p, size_t n)
{
	if (src->len + n + 1 > src->cap) {
		size_t cap = (src->len + n + 1) * 2;
		char *text = realloc(src->text, cap);
		if (text == NULL)
			return -1;
		src->text = text;
		src->cap = cap;
	}
	memcpy(src->text + src->len, p, n);
	src->len += n;
	src->text[src->len] = '\0';
	for (size_t i = 0; i < n; i++)
		src->lines += p[i] == '\n';
	return 0;
}

/* The next line of the splice is line of file; -1 out of memory. */
static int
add_span(struct config_source *src, size_t file, int line)
{
	if (src->nspans == src->capspans) {
		size_t cap = src->capspans * 2 + 16;
		struct source_span *spans =
		    realloc(src->spans, cap * sizeof(*spans));
		if (spans == NULL)
			return -1;
		src->spans = spans;
		src->capspans = cap;
	}
	src->spans[src->nspans++] =
	    (struct source_span){ src->lines + 1, file, line };
	return 0;
}

/* For config_scan: where the file's problems go. */
static void
scan_report(void *arg, int line, const char *msg)
{
	struct scanning *sc = arg;

	sc->src->hooks->report(sc->path, line, msg);
}

/* For config_scan: an include statement, kept until the file is read. */
static void
scan_included(void *arg, const char *pattern, size_t len, int line)
{
	struct scanning *sc = arg;
	struct pending *inc;
	char *copy;

	if (sc->ninc == sc->cap) {
		size_t cap = sc->cap * 2 + 4;
		if ((inc = realloc(sc->inc, cap * sizeof(*inc))) == NULL) {
			nomem(sc->src, sc->path, line);
			return;
		}
		sc->inc = inc;
		sc->cap = cap;
	}
	if ((copy = strndup(pattern, len)) == NULL) {
		nomem(sc->src, sc->path, line);
		return;
	}
	sc->inc[sc->ninc++] = (struct pending){ copy, line };
}

static bool
has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* pattern as written in from, on line, resolved: relative to from's
 * directory.  NULL when out of memory. */
static char *
resolve(const char *from, const char *pattern)
{
	char *dir, *copy, *path;

	if (pattern[0] == '/')
		return strdup(pattern);
	if ((copy = strdup(from)) == NULL)
		return NULL;
	dir = dirname(copy);
	if (asprintf(&path, "%s/%s", dir, pattern) == -1)
		path = NULL;
	free(copy);
	return path;
}

/* A wildcard matched nothing: fine, unless its directory is missing or
 * unreadable (a slip in the path would otherwise go unseen). */
static void
matched_none(struct config_source *src, const struct at *at, const char *path)
{
	char *copy = strdup(path), *dir;

	if (copy == NULL) {
		nomem(src, at->from, at->line);
		return;
	}
	dir = dirname(copy);
	if (!has_wildcard(dir)) {
		DIR *d = opendir(dir);
		if (d != NULL)
			closedir(d);
		else
			report(src, at->from, at->line,
			    "include \"%s\": %s: %s", at->pattern, dir,
			    strerror(errno));
	}
	free(copy);
}

/*
 * A name a glob matched that holds a control byte (a newline, an escape)
 * is refused, escaped: every message about the file starts with its name,
 * which would forge lines and reach the terminal raw.  No one names a
 * drop-in so but to do that (run-parts skips such names too).
 */
static bool
odd_name(struct config_source *src, const char *path, const struct at *at)
{
	char shown[4 * 256 + 1];

	for (const char *p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			log_escape(path, strlen(path), shown, sizeof(shown));
			report(src, at->from, at->line,
			    "include \"%s\": %s: a control byte in its "
			    "name: not read",
			    at->pattern, shown);
			return true;
		}
	return false;
}

/* The files of a pattern with a wildcard, in name order. */
static void
include_glob(struct config_source *src, const char *path, struct chain *chain,
    const struct at *at)
{
	glob_t g;
	int rc = glob(path, GLOB_NOSORT, NULL, &g);

	if (rc == GLOB_NOMATCH) {
		matched_none(src, at, path);
	} else if (rc != 0) {
		nomem(src, at->from, at->line); /* no GLOB_ABORTED without
		                                 * GLOB_ERR */
	} else {
		qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), by_name);
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (!odd_name(src, g.gl_pathv[i], at))
				include_file(src, g.gl_pathv[i], chain, at);
	}
	if (rc != GLOB_NOMATCH)
		globfree(&g);
}

/* One include statement. */
static void
expand(struct config_source *src, struct chain *chain, const struct at *at)
{
	char *path = resolve(at->from, at->pattern), *all;
	struct stat st;

	if (path == NULL) {
		nomem(src, at->from, at->line);
		return;
	}
	if (has_wildcard(path)) {
		include_glob(src, path, chain, at);
	} else if (stat(path, &st) == -1) {
		if (strcmp(path, at->pattern) == 0)
			report(src, at->from, at->line, "include \"%s\": %s",
			    at->pattern, strerror(errno));
		else
			report(src, at->from, at->line,
			    "include \"%s\": %s: %s", at->pattern, path,
			    strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		if (asprintf(&all, "%s%s*.conf", path,
		        path[strlen(path) - 1] == '/' ? "" : "/") == -1) {
			nomem(src, at->from, at->line);
		} else {
			include_glob(src, all, chain, at);
			free(all);
		}
	} else {
		include_file(src, path, chain, at);
	}
	free(path);
}

/*
 * text of file onto the splice, each of its includes expanded after the
 * line it is on.  A text that does not end its last line gets a newline,
 * or its last word would run into the next file's first.
 */
static void
splice(struct config_source *src, const char *text, struct scanning *sc,
    size_t file, struct chain *chain)
{
	const char *p = text, *nl;
	int line = 1;
	bool failed = add_span(src, file, 1) == -1;

	for (size_t i = 0; !failed && i < sc->ninc; i++) {
		for (; line <= sc->inc[i].line && *p != '\0'; line++) {
			nl = strchr(p, '\n');
			size_t n =
			    nl != NULL ? (size_t)(nl + 1 - p) : strlen(p);
			failed |= append(src, p, n) == -1 ||
			          (nl == NULL && append(src, "\n", 1) == -1);
			p += n;
		}
		if (failed)
			break;
		expand(src, chain,
		    &(struct at){
		        sc->path, sc->inc[i].line, sc->inc[i].pattern });
		failed = add_span(src, file, line) == -1;
	}
	if (!failed && *p != '\0')
		failed =
		    append(src, p, strlen(p)) == -1 ||
		    (p[strlen(p) - 1] != '\n' && append(src, "\n", 1) == -1);
	if (failed)
		nomem(src, sc->path, 0);
}

/* The file is already on the chain of includes that leads to it? */
static bool
on_chain(const struct config_source *src, const struct chain *chain,
    const struct stat *st)
{
	for (int i = 0; i < chain->depth; i++) {
		const struct source_file *f = &src->files[chain->file[i]];
		if (f->dev == st->st_dev && f->ino == st->st_ino)
			return true;
	}
	return false;
}

/* May path be read, for the include at (NULL: it is the main file)?
 * Said if not. */
static bool
may_include(struct config_source *src, const char *path,
    const struct chain *chain, const struct at *at, const struct stat *st)
{
	const char *why = NULL;

	if (at == NULL)
		return true;
	if (chain->depth > CONFIG_INCLUDE_DEPTH)
		why = "includes nested too deep";
	else if (on_chain(src, chain, st))
		why = "an include loop: it is being read already";
	else if (src->nfiles == CONFIG_INCLUDE_FILES && src->too_many)
		return false; /* said once: ten thousand files are one
		               * mistake, not ten thousand lines of it */
	else if (src->nfiles == CONFIG_INCLUDE_FILES) {
		src->too_many = true;
		why = "too many files, it and every file after it left out";
	}
	if (why == NULL)
		return true;
	if (chain->depth > CONFIG_INCLUDE_DEPTH ||
	    src->nfiles == CONFIG_INCLUDE_FILES)
		report(src, at->from, at->line,
		    "include \"%s\": %s: %s (at most %d)", at->pattern, path,
		    why,
		    chain->depth > CONFIG_INCLUDE_DEPTH ? CONFIG_INCLUDE_DEPTH
		                                        : CONFIG_INCLUDE_FILES);
	else
		report(src, at->from, at->line, "include \"%s\": %s: %s",
		    at->pattern, path, why);
	return false;
}

/* Scan text, the file path's, comments blanked: its problems reported
 * under its name, its includes into sc. */
static void
scan(struct config_source *src, char *text, struct scanning *sc, bool drop_in)
{
	const struct config_scan_schema schema = { .section = CONFIG_SECTION,
		.place = src->hooks->place,
		.report = scan_report,
		.arg = sc,
		.include = "include",
		.included = scan_included,
		.drop_in = drop_in,
		.closest = src->hooks->closest };
	enum config_scan_result r;

	config_text_strip_comments(text);
	if ((r = config_scan(text, &schema)) > src->scan)
		src->scan = r;
}

/* Add path, for the include at (NULL: it is the main file), and what it
 * includes. */
static void
include_file(struct config_source *src, const char *path, struct chain *chain,
    const struct at *at)
{
	struct scanning sc = { .src = src, .path = path };
	struct source_file *files;
	struct stat st = { 0 };
	char *text, *copy = NULL;

	/* The main file's failure is config_text_read's to tell. */
	if (stat(path, &st) == -1 && at != NULL) {
		report(src, at->from, at->line, "include \"%s\": %s: %s",
		    at->pattern, path, strerror(errno));
		return;
	}
	if (!may_include(src, path, chain, at, &st))
		return;
	if (src->hooks->trust)
		check_trust(path);
	if ((text = config_text_read(path)) == NULL) {
		src->unread++;
		src->nomem |= errno == ENOMEM;
		return;
	}
	if (src->len + strlen(text) > CONFIG_SOURCE_MAX) {
		report(src, path, 0,
		    "the files included add up to more than %d bytes",
		    CONFIG_SOURCE_MAX);
		free(text);
		return;
	}
	files = realloc(src->files, (src->nfiles + 1) * sizeof(*files));
	if (files == NULL || (copy = strdup(path)) == NULL) {
		if (files != NULL)
			src->files = files;
		nomem(src, path, 0);
		free(text);
		return;
	}
	src->files = files;
	src->files[src->nfiles] =
	    (struct source_file){ copy, st.st_dev, st.st_ino };
	sc.path = copy;
	chain->file[chain->depth++] = src->nfiles++;
	scan(src, text, &sc, at != NULL);
	splice(src, text, &sc, chain->file[chain->depth - 1], chain);
	chain->depth--;
	for (size_t i = 0; i < sc.ninc; i++)
		free(sc.inc[i].pattern);
	free(sc.inc);
	free(text);
}

int
config_source_read(struct config_source *src, const char *path,
    const struct config_source_hooks *hooks)
{
	struct chain chain = { .depth = 0 };

	memset(src, 0, sizeof(*src));
	src->hooks = hooks;
	include_file(src, path, &chain, NULL);
	if (src->nfiles == 0) {
		/* The main file: config_text_read said why. */
		errno = src->nomem ? ENOMEM : EINVAL;
		config_source_free(src);
		return -1;
	}
	if (src->text == NULL && append(src, "", 0) == -1)
		nomem(src, path, 0);
	return 0;
}

void
config_source_where(
    const struct config_source *src, int line, const char **path, int *at)
{
	const struct source_span *span = NULL;

	*path = src->nfiles > 0 ? src->files[0].path : "";
	*at = line;
	if (line <= 0)
		return;
	for (size_t i = 0; i < src->nspans && src->spans[i].first <= line; i++)
		span = &src->spans[i];
	if (span != NULL) {
		*path = src->files[span->file].path;
		*at = span->line + (line - span->first);
	}
}

void
config_source_free(struct config_source *src)
{
	for (size_t i = 0; i < src->nfiles; i++)
		free(src->files[i].path);
	free(src->files);
	free(src->spans);
	free(src->text);
	memset(src, 0, sizeof(*src));
}
