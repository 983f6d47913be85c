/* The text libconfuse reads: the main config file and the files it
 * includes, spliced into one, and the map from a line of it back to the
 * FILE:LINE a person edits.  For the config rooms only. */
#ifndef PREFORKD_CONFIG_SOURCE_H
#define PREFORKD_CONFIG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "config_scan.h"

/* The deepest include (the main file is 0): a loop stops long before. */
#define CONFIG_INCLUDE_DEPTH 8
/* The most files, and bytes of text, that the main file and its includes
 * may add up to. */
#define CONFIG_INCLUDE_FILES 1024
#define CONFIG_SOURCE_MAX (16 * 1024 * 1024)

/* What a source needs from its reader. */
struct config_source_hooks {
	/* The schema's: where a key may be written, and "did you mean". */
	unsigned (*place)(const char *key, size_t len);
	const char *(*closest)(const char *key, size_t len, unsigned place);
	/* Every problem found, as "path:line: msg" (line 0: "path: msg");
	 * the reader counts them. */
	void (*report)(const char *path, int line, const char *msg);
	bool trust; /* warn of a file that others than root may write */
};

struct source_file;
struct source_span;

struct config_source {
	char *text; /* every file in include order, comments blanked */
	/* The worst of what config_scan said of each file. */
	enum config_scan_result scan;
	int unread; /* included files config_text_read refused (it logged) */
	bool nomem; /* one of the problems was running out of memory */
	size_t len, cap;
	int lines; /* newlines in text so far */
	struct source_file *files;
	size_t nfiles;
	struct source_span *spans;
	size_t nspans, capspans;
	const struct config_source_hooks *hooks;
	bool too_many; /* CONFIG_INCLUDE_FILES was reached, and said */
};

/* Read path and every file it includes into src.  -1 when path itself
 * cannot be read (config_text_read logged why, and set errno), else 0,
 * whatever was reported on the way (see src->scan, src->unread). */
int config_source_read(struct config_source *src, const char *path,
    const struct config_source_hooks *hooks);
/* The file and its line that line of src->text came from; line 0 (no
 * line) is the main file's. */
void config_source_where(
    const struct config_source *src, int line, const char **path, int *at);
/* Release what config_source_read kept; a zeroed src is fine. */
void config_source_free(struct config_source *src);

#endif
