/* The text of a config file: read safely, comments blanked. */
#ifndef PREFORKD_CONFIG_TEXT_H
#define PREFORKD_CONFIG_TEXT_H

/* The largest config file read. */
#define CONFIG_TEXT_MAX (1024 * 1024)

/* The whole of path as a string, a UTF-8 byte-order mark blanked out; or
 * NULL after logging "FILE: why" (not a regular file, too large, binary,
 * UTF-16, unreadable).  Never blocks, even on a FIFO. */
char *config_text_read(const char *path);
/* Blank out the comments of a config file's text (# anywhere outside
 * quotes, // and C-style where a word starts), keeping its newlines (and
 * so its line numbers) and its quoted strings. */
void config_text_strip_comments(char *text);

#endif
