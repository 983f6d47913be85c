/* A config file's text before libconfuse reads it: comments blanked, and
 * its structure checked so that every error is found, on the right line. */
#ifndef PREFORKD_CONFIG_SCAN_H
#define PREFORKD_CONFIG_SCAN_H

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
};

/* Check the structure of text, comments already blanked: strings, braces,
 * sections, escapes, and the level of each key.  Reports every problem
 * through schema->report (stopping after 50) and says how bad it is. */
enum config_scan_result config_scan(
    const char *text, const struct config_scan_schema *schema);

#endif
