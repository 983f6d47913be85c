/*
 * The bytes of a config file, before anything parses them.  Only a regular
 * file of at most 1 MiB of text is read, the same at start-up, with -t and
 * on reload, and the comments are blanked out, because libconfuse 3.3
 * counts a comment's line more than once (every later error would name a
 * later line) and rejects a comment inside a list.  Then its tokens, for
 * config_scan.c, are cut as libconfuse's lexer.l cuts them: words of any
 * bytes but blanks and = { } ( ) + , * # " ', strings in double or single
 * quotes, ${VAR}, and the punctuation.  tests/unit/test_config_scan.c runs
 * a corpus through both lexers and checks that the tokens, their lines and
 * the comments blanked agree, and pins each of those libconfuse habits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_text.h"
#include "log.h"

/* What ends an unquoted word for libconfuse, which drops a lone '*' or
 * '+'. */
static const char separators[] = " \t\r\n\"'={}()+,*#";

static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "of an unknown kind";
}

/* Up to CONFIG_TEXT_MAX + 1 bytes of fd, or -1 with errno set. */
static ssize_t
read_all(int fd, char *buf)
{
	size_t len = 0;

	while (len < CONFIG_TEXT_MAX + 1) {
		ssize_t n = read(fd, buf + len, CONFIG_TEXT_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* 0 if the len bytes of text can be a config file, else -1 after saying
 * why.  A NUL would end the text early: the file is binary, or UTF-16. */
static int
check_text(const char *path, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);
	int line = 1;

	if (len > CONFIG_TEXT_MAX) {
		log_errorx("%s: larger than %d bytes: not a config file", path,
		    CONFIG_TEXT_MAX);
		return -1;
	}
	if (len >= 2 && (memcmp(text, "\xff\xfe", 2) == 0 ||
	                    memcmp(text, "\xfe\xff", 2) == 0)) {
		log_errorx("%s: UTF-16 text: save the file as UTF-8", path);
		return -1;
	}
	if (nul == NULL)
		return 0;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	log_errorx(
	    "%s:%d: a NUL byte: binary data, not a config file", path, line);
	return -1;
}

/*
 * Only a regular file is read: opening a FIFO blocks until a writer comes
 * (for ever, in a master reloading), and a directory or a device is a
 * mistake.  O_NONBLOCK makes the open return, so that fstat can tell.
 */
char *
config_text_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	char *text = NULL;
	bool nomem = false;
	struct stat st;
	ssize_t len;

	if (fd == -1 || fstat(fd, &st) == -1) {
		log_errorx("%s: cannot read: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		log_errorx(
		    "%s: not a regular file (%s)", path, file_kind(st.st_mode));
	} else if ((text = malloc(CONFIG_TEXT_MAX + 1)) == NULL) {
		log_errorx("%s: out of memory", path);
		nomem = true;
	} else if ((len = read_all(fd, text)) == -1) {
		log_errorx("%s: cannot read: %s", path, strerror(errno));
	} else if (check_text(path, text, (size_t)len) == 0) {
		text[len] = '\0';
		/* A UTF-8 byte-order mark is no part of the text. */
		if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
			memset(text, ' ', 3);
		close(fd);
		return text;
	}
	free(text);
	if (fd != -1)
		close(fd);
	errno = nomem ? ENOMEM : EINVAL;
	return NULL;
}

/*
 * Like libconfuse, // and slash-star start a comment only where a word
 * starts (after a blank, a quote or one of = { } ( ) + ,): an unquoted
 * /tmp//x.pid is a path, not "/tmp".  # starts one anywhere outside quotes.
 * Unlike libconfuse, a ';' that starts a line (INI's comment) is read as
 * one too: its ';' is kept for config_scan to report, the rest blanked, so
 * that a quote in it ("; don't") does not pair with one lines later.
 */
void
config_text_strip_comments(char *text)
{
	enum { CODE, QUOTED, LINE_COMMENT, BLOCK_COMMENT } state = CODE;
	bool in_word = false;   /* the last byte of CODE was part of a word */
	bool line_start = true; /* only blanks since the last newline */
	char quote = '"';

	for (char *p = text; *p != '\0'; p++) {
		switch (state) {
		case CODE:
			if (*p == ';' && line_start) {
				state = LINE_COMMENT;
				in_word = false;
				break;
			}
			if (*p == '\n')
				line_start = true;
			else if (strchr(" \t\r", *p) == NULL)
				line_start = false;
			if (*p == '"' || *p == '\'') {
				quote = *p;
				state = QUOTED;
			} else if (*p == '#' ||
			           (!in_word && p[0] == '/' && p[1] == '/')) {
				state = LINE_COMMENT;
				*p = ' ';
			} else if (!in_word && p[0] == '/' && p[1] == '*') {
				state = BLOCK_COMMENT;
				*p++ = ' ';
				*p = ' ';
			}
			/* A quote or a comment ends a word, as a blank does. */
			in_word =
			    state == CODE && strchr(separators, *p) == NULL;
			break;
		case QUOTED:
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == quote)
				state = CODE;
			break;
		case LINE_COMMENT:
			if (*p == '\n') {
				state = CODE;
				line_start = true;
			} else
				*p = ' ';
			break;
		case BLOCK_COMMENT:
			if (p[0] == '*' && p[1] == '/') {
				*p++ = ' ';
				*p = ' ';
				state = CODE;
			} else if (*p != '\n') {
				*p = ' ';
			} else {
				line_start = true;
			}
			break;
		}
	}
}

void
config_text_lexer(struct config_lexer *lx, const char *text,
    void (*complain)(void *arg, size_t pos, int line, const char *msg),
    void *arg)
{
	*lx = (struct config_lexer){ .text = text,
		.line = 1,
		.complain = complain,
		.arg = arg,
		.cut = SIZE_MAX };
}

/* Backslash and digits in a double-quoted string: libconfuse takes at most
 * three octal digits up to \377 and fails on anything else, in a way that
 * leaves its lexer inside the string for the next file it reads. */
static void
check_escape(struct config_lexer *lx)
{
	const char *p = lx->text + lx->pos + 1;
	size_t digits = strspn(p, "0123456789");
	size_t octal = strspn(p, "01234567");
	unsigned value = 0;
	char msg[128];

	if (octal > 3)
		octal = 3;
	for (size_t i = 0; i < octal; i++)
		value = value * 8 + (unsigned)(p[i] - '0');
	if (digits == 0 || (digits == octal && value <= 0377))
		return;
	snprintf(msg, sizeof(msg),
	    "bad escape '\\%.*s' in a string: octal escapes are \\0 to \\377",
	    digits > 8 ? 8 : (int)digits, p);
	lx->complain(lx->arg, lx->pos, lx->line, msg);
}

/* The text ends inside the string that began at start, on line: blame the
 * first string with a newline in it, where quotes that do not pair up most
 * likely went wrong, or else this one. */
static void
unterminated(struct config_lexer *lx, size_t start, int line)
{
	const char *msg = "unterminated string: the quote opened here is "
	                  "never closed";

	if (lx->multiline != 0) {
		start = lx->multiline_pos;
		line = lx->multiline;
		msg = "unterminated string: the quote opened here is not "
		      "closed on its line";
	}
	lx->cut = start;
	lx->complain(lx->arg, start, line, msg);
}

/* A string from its opening quote; false when the text ends inside it. */
static bool
read_string(struct config_lexer *lx, struct config_token *t)
{
	char quote = lx->text[lx->pos];
	size_t start = lx->pos++;

	for (; lx->text[lx->pos] != quote; lx->pos++) {
		char c = lx->text[lx->pos];
		if (c == '\0') {
			unterminated(lx, start, t->line);
			return false;
		}
		if (c == '\n') {
			lx->line++;
			if (lx->multiline == 0) {
				lx->multiline = t->line;
				lx->multiline_pos = start;
			}
		} else if (c == '\\') {
			if (quote == '"')
				check_escape(lx);
			/* An escaped newline continues the string: no slip. */
			if (lx->text[lx->pos + 1] == '\n')
				lx->line++;
			if (lx->text[lx->pos + 1] != '\0')
				lx->pos++;
		}
	}
	lx->pos++;
	t->kind = CONFIG_TOKEN_STRING;
	t->text = lx->text + start + 1;
	t->len = lx->pos - start - 2;
	return true;
}

/* ${VAR}, which libconfuse replaces with the environment's VAR. */
static bool
read_variable(struct config_lexer *lx, struct config_token *t)
{
	const char *p = lx->text + lx->pos;
	const char *end;

	if (p[1] != '{')
		return false;
	/* Once no '}' follows, none will: do not look again. */
	if (lx->no_brace || (end = strchr(p, '}')) == NULL) {
		lx->no_brace = true;
		return false;
	}
	for (const char *q = p; q < end; q++)
		if (*q == '\n')
			lx->line++;
	t->kind = CONFIG_TOKEN_WORD;
	t->len = (size_t)(end + 1 - p);
	lx->pos += t->len;
	return true;
}

static void
skip_blanks(struct config_lexer *lx)
{
	for (char c; (c = lx->text[lx->pos]) == ' ' || c == '\t' || c == '\r' ||
	             c == '\n';
	     lx->pos++)
		if (c == '\n')
			lx->line++;
}

/* A lone '*' or '+': libconfuse drops it without a word. */
static void
dropped(struct config_lexer *lx)
{
	char msg[64];

	snprintf(msg, sizeof(msg),
	    "'%c' outside quotes is dropped: put the value in quotes",
	    lx->text[lx->pos]);
	lx->complain(lx->arg, lx->pos, lx->line, msg);
	lx->pos++;
}

void
config_text_next(struct config_lexer *lx, struct config_token *t)
{
	const char *p;

	skip_blanks(lx);
	while (lx->text[lx->pos] == '*' ||
	       (lx->text[lx->pos] == '+' && lx->text[lx->pos + 1] != '=')) {
		dropped(lx);
		skip_blanks(lx);
	}
	p = lx->text + lx->pos;
	*t = (struct config_token){ *p, p, 1, lx->line, lx->pos };
	if (*p == '\0') {
		t->kind = CONFIG_TOKEN_EOF;
	} else if (*p == '"' || *p == '\'') {
		if (!read_string(lx, t)) {
			/* The end, beyond any cut. */
			t->kind = CONFIG_TOKEN_EOF;
			t->pos = lx->pos;
		}
	} else if (*p == '+') {
		t->kind = CONFIG_TOKEN_APPEND;
		t->len = 2;
		lx->pos += 2;
	} else if (strchr("{}=,()", *p) != NULL) {
		lx->pos++;
	} else if (*p != '$' || !read_variable(lx, t)) {
		t->kind = CONFIG_TOKEN_WORD;
		t->len = strcspn(p, separators);
		lx->pos += t->len;
	}
}
