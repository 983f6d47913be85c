/* The text of a config file: read safely, comments blanked, and cut into
 * tokens as libconfuse would cut it. */
#ifndef PREFORKD_CONFIG_TEXT_H
#define PREFORKD_CONFIG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The largest config file read. */
#define CONFIG_TEXT_MAX (1024 * 1024)

/* The whole of path as a string, a UTF-8 byte-order mark blanked out; or
 * NULL after logging "FILE: why" (not a regular file, too large, binary,
 * UTF-16, unreadable), errno ENOMEM if it was out of memory, else EINVAL.
 * Never blocks, even on a FIFO. */
char *config_text_read(const char *path);
/* Blank out the comments of a config file's text (# anywhere outside
 * quotes, // and C-style where a word starts), keeping its newlines (and
 * so its line numbers) and its quoted strings.  A line that starts with
 * ';' keeps the ';' alone, for config_scan to report. */
void config_text_strip_comments(char *text);

/* Token kinds of config_text_next; { } = , ( ) are their own character. */
enum {
	CONFIG_TOKEN_EOF = -1,
	CONFIG_TOKEN_WORD = -2,   /* unquoted, or ${VAR} */
	CONFIG_TOKEN_STRING = -3, /* in double or single quotes */
	CONFIG_TOKEN_APPEND = -4, /* += */
};

struct config_token {
	int kind;
	const char *text; /* a word's or a string's bytes, without quotes */
	size_t len;
	int line;
	size_t pos; /* offset in the text */
};

/* Where config_text_next is in a text, comments blanked. */
struct config_lexer {
	const char *text;
	size_t pos;
	int line;
	/* Told of a mistake in the text: a bad escape, a '*' or '+' that
	 * libconfuse would drop, a string the text ends in. */
	void (*complain)(void *arg, size_t pos, int line, const char *msg);
	void *arg;
	/* SIZE_MAX, or where an unterminated string most likely began: what
	 * was read after that was read out of step. */
	size_t cut;
	int multiline; /* the line of the first string with a newline */
	size_t multiline_pos;
	bool no_brace; /* no '}' is left for a ${ */
};

/* Start reading text with lx. */
void config_text_lexer(struct config_lexer *lx, const char *text,
    void (*complain)(void *arg, size_t pos, int line, const char *msg),
    void *arg);
/* The next token of lx's text; CONFIG_TOKEN_EOF at its end, which is also
 * where an unterminated string ends. */
void config_text_next(struct config_lexer *lx, struct config_token *t);

#endif
