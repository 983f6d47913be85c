/* A config file's text before libconfuse reads it: comments blanked, and
 * its structure checked so that every error is found, on the right line. */
#ifndef PREFORKD_CONFIG_SCAN_H
#define PREFORKD_CONFIG_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Where a key may be written: the bits that schema->place returns. */
#define CONFIG_SCAN_TOP 1     /* a global setting */
#define CONFIG_SCAN_INSIDE 2  /* a setting inside a section */
#define CONFIG_SCAN_SECTION 4 /* opens a section: KEY TITLE { ... } */

/* What config_scan found. */
enum config_scan_result {
	CONFIG_SCAN_CLEAN,  /* nothing wrong */
	CONFIG_SCAN_KEYS,   /* only unknown or misplaced keys: a parser that
	                     * skips unknown keys can still read the rest */
	CONFIG_SCAN_BROKEN, /* quotes, braces or syntax: do not parse it */
};

/* The file's schema, and where problems go.  There is one kind of
 * section, and sections are only written at the top level. */
struct config_scan_schema {
	const char *section; /* the section's key, for messages: "service" */
	/* The CONFIG_SCAN_* bits of the key of len bytes, 0 if unknown. */
	unsigned (*place)(const char *key, size_t len);
	/* Called once per problem, in line order (line 0: no line). */
	void (*report)(void *arg, int line, const char *msg);
	void *arg;
	/* The keyword of a drop-in: include "PATTERN", or libconfuse's
	 * include("PATTERN"); NULL: no includes.  Each one, at the top level,
	 * is passed to included (as written, len bytes, on line) and blanked
	 * from the text. */
	const char *include;
	void (*included)(void *arg, const char *pattern, size_t len, int line);
	/* An included file: it may hold sections and includes, not global
	 * settings, which are the main file's. */
	bool drop_in;
	/* The known key nearest to an unknown one of len bytes that may be
	 * written at place (a CONFIG_SCAN_* bit), for "did you mean"; NULL
	 * if none is near enough.  NULL: no hints. */
	const char *(*closest)(const char *key, size_t len, unsigned place);
};

/* Check the structure of text, comments already blanked: strings, braces,
 * sections, escapes, the level of each key, keys set twice, ';' written as
 * a comment or after a value.  Reports every problem through
 * schema->report (stopping after 50) and says how bad it is.  What it
 * blanks from text (includes, a ';' and the comment after it) the parser
 * is not to see: it is reported, or handed to schema->included. */
enum config_scan_result config_scan(
    char *text, const struct config_scan_schema *schema);
/* The edit distance between a and b (an insertion, a deletion, a change
 * or two neighbours swapped count one each), for "did you mean". */
size_t config_scan_distance(
    const char *a, size_t alen, const char *b, size_t blen);

#endif
