/*
 * The structure of a config file, checked before libconfuse reads it.
 *
 * Why this file is long: one state machine over one scanner, with a step
 * per libconfuse behaviour it exists for (the list below).
 *
 * libconfuse 3.3 stops at the first token it did not expect and names that
 * token, or takes a broken file as whole.  The behaviours this scanner
 * exists for, each pinned beside its verdict by tests/unit/test_config_scan.c
 * (which also proves that config_text.c cuts the tokens libconfuse cuts,
 * on the same lines):
 *  - a section never closed at the end of the file parses as complete;
 *  - a '}' missing before the next section surfaces as "no such option
 *    'service'" on that section's line, an extra '}' as "unexpected closing
 *    brace", a list never closed as "unexpected token" on the next key;
 *  - an unterminated string runs to the end of the file, and is reported
 *    there ("premature end of file"), lines after its quote;
 *  - a bad escape stops its lexer inside the string, where it stays until
 *    the parser is freed;
 *  - a lone '*' or '+' is dropped from a value without a word;
 *  - a key given twice keeps its last value, without a word;
 *  - a ';' is a byte of a word: "workers = 2;" is "invalid integer", and a
 *    ';' comment (INI's) is a key, its words more keys.
 * So the structure is checked here first, as a person reads it, every
 * problem on the line where it is fixed, and libconfuse only gets text
 * whose quotes, braces and sections are sound.  The tokens come from
 * config_text.c, read as libconfuse reads them.  The include statements
 * are found here too, handed on and blanked: libconfuse never sees them.
 *
 * Near 800 lines: one state machine, a table of steps over one scanner
 * state; split, every step would need that state in a header.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_scan.h"
#include "config_text.h"

#define MSGS_MAX 50 /* a person fixes these and runs -t again */
#define MSG_LEN 256
#define NAME_LEN 96 /* "service NAME" */
#define SHOWN 40    /* bytes of a key or a title put in a message */
#define DEPTH_MAX 8
#define SEEN_MAX 128 /* keys of one scope: more than the table has */

enum {
	T_EOF = CONFIG_TOKEN_EOF,
	T_WORD = CONFIG_TOKEN_WORD,
	T_STRING = CONFIG_TOKEN_STRING,
	T_APPEND = CONFIG_TOKEN_APPEND,
};

struct message {
	int line;
	size_t pos; /* where the scan was when it found it */
	char text[MSG_LEN];
};

struct open_section {
	char name[NAME_LEN]; /* "service a" */
	int line;
	char inner[NAME_LEN]; /* the first section opened inside it */
	int inner_line;       /* 0: none */
	bool known; /* a section of the schema: its keys are checked */
};

enum state {
	KEY,
	AFTER_KEY,
	VALUE,
	LIST_VALUE,
	LIST_NEXT,
	TITLE,
	OPEN,
	INCLUDE,       /* after the include keyword */
	INCLUDE_PAREN, /* after include( */
	INCLUDE_CLOSE, /* after include("PATTERN" */
	DONE
};

/* A key set in a scope, to tell one set twice. */
struct seen {
	const char *text;
	size_t len;
	int line;
};

struct scope {
	struct seen keys[SEEN_MAX];
	size_t n;
};

struct scanner {
	const struct config_scan_schema *schema;
	char *text; /* what the lexer reads, and where fixes are blanked */
	enum state state;
	struct config_lexer lexer;
	struct config_token ahead; /* the next token, once peeked at */
	bool peeked;
	size_t cut; /* after an unterminated string: forget what follows */
	bool stop;
	enum config_scan_result result;
	struct message msgs[MSGS_MAX];
	size_t nmsgs;
	struct open_section open[DEPTH_MAX];
	int depth;
	struct config_token key;     /* the key being read */
	unsigned key_place;          /* its CONFIG_SCAN_* bits */
	struct config_token title;   /* a section's title */
	struct config_token list;    /* the '{' of the list being read */
	struct config_token pattern; /* an include's */
	struct scope top, inside;    /* the keys set at the top, in a section */
};

static int
shown(size_t len)
{
	return len > SHOWN ? SHOWN : (int)len;
}

static void complain(struct scanner *s, bool broken, size_t pos, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Record a problem found at pos, to be reported on line.  broken: the
 * parser must not see this text. */
static void
complain(
    struct scanner *s, bool broken, size_t pos, int line, const char *fmt, ...)
{
	struct message *m;
	va_list ap;

	if (pos > s->cut || s->stop)
		return;
	if (s->lexer.cut < s->cut) {
		/* The text ended inside a string: what was found after the
		 * quotes stopped pairing up was read out of step. */
		size_t kept = 0;
		s->cut = s->lexer.cut;
		for (size_t i = 0; i < s->nmsgs; i++)
			if (s->msgs[i].pos <= s->cut)
				s->msgs[kept++] = s->msgs[i];
		s->nmsgs = kept;
	}
	if (broken || s->result == CONFIG_SCAN_CLEAN)
		s->result = broken ? CONFIG_SCAN_BROKEN : CONFIG_SCAN_KEYS;
	m = &s->msgs[s->nmsgs++];
	m->line = line;
	m->pos = pos;
	if (s->nmsgs == MSGS_MAX) {
		m->line = s->lexer.line;
		snprintf(m->text, sizeof(m->text),
		    "too many errors: stopped reading here");
		s->result = CONFIG_SCAN_BROKEN;
		s->stop = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
}

/* For config_text_next: a mistake in the text itself. */
static void
lexer_complaint(void *arg, size_t pos, int line, const char *msg)
{
	complain(arg, true, pos, line, "%s", msg);
}

/* Blank the bytes from start to end, newlines kept (and so lines). */
static void
blank(struct scanner *s, size_t start, size_t end)
{
	for (size_t i = start; i < end; i++)
		if (s->text[i] != '\n')
			s->text[i] = ' ';
}

/*
 * A ';' that starts or ends a word: another format's comment or end of a
 * setting, which libconfuse takes as bytes of a word.  One message, where
 * it is, and the ';' blanked so that the parser reads on past it.  A ';'
 * that starts a line kept it and only it from config_text_strip_comments,
 * which blanked the rest of its line.  True: t is gone, read the next.
 */
static bool
semicolon(struct scanner *s, struct config_token *t)
{
	size_t n, line_start = t->pos;

	if (t->kind != T_WORD || t->len == 0)
		return false;
	while (line_start > 0 && strchr(" \t\r", s->text[line_start - 1]))
		line_start--;
	if (t->text[0] == ';') {
		n = strspn(t->text, ";");
		if (line_start == 0 || s->text[line_start - 1] == '\n')
			complain(s, false, t->pos, t->line,
			    "';' is not a comment in preforkd.conf: use #");
		else
			complain(s, false, t->pos, t->line,
			    "';' does not end a setting in preforkd.conf: "
			    "remove it");
		blank(s, t->pos, t->pos + n);
		s->lexer.pos = t->pos;
		return true;
	}
	if (t->text[t->len - 1] != ';')
		return false;
	for (n = 0; n < t->len && t->text[t->len - 1 - n] == ';'; n++)
		;
	if (s->state == VALUE)
		complain(s, false, t->pos, t->line,
		    "'%.*s = %.*s': the ';' does not end a setting in "
		    "preforkd.conf: remove it, or quote the value",
		    shown(s->key.len), s->key.text, shown(t->len), t->text);
	else
		complain(s, false, t->pos, t->line,
		    "'%.*s': the ';' does not end a setting in preforkd.conf: "
		    "remove it, or quote the value",
		    shown(t->len), t->text);
	t->len -= n;
	blank(s, t->pos + t->len, t->pos + t->len + n);
	return false;
}

/* The next token, past a ';' that is reported. */
static void
next_token(struct scanner *s, struct config_token *t)
{
	do
		config_text_next(&s->lexer, t);
	while (semicolon(s, t));
}

static const struct config_token *
peek(struct scanner *s)
{
	if (!s->peeked) {
		enum state state = s->state;
		s->state = DONE; /* a token ahead: not the value awaited */
		next_token(s, &s->ahead);
		s->state = state;
		s->peeked = true;
	}
	return &s->ahead;
}

static void
take(struct scanner *s, struct config_token *t)
{
	if (s->peeked) {
		*t = s->ahead;
		s->peeked = false;
	} else {
		next_token(s, t);
	}
}

/* A word or string followed by '=': the start of the next setting, never a
 * value. */
static bool
starts_setting(struct scanner *s, const struct config_token *t)
{
	int next = peek(s)->kind;

	return (t->kind == T_WORD || t->kind == T_STRING) &&
	       (next == '=' || next == T_APPEND);
}

static bool
is_value(struct scanner *s, const struct config_token *t)
{
	return (t->kind == T_WORD || t->kind == T_STRING) &&
	       !starts_setting(s, t);
}

/* Where t may be written.  A key with an escape or ${VAR} in it is not
 * what its bytes say: libconfuse judges it. */
static unsigned
place_of(struct scanner *s, const struct config_token *t)
{
	for (size_t i = 0; i < t->len; i++)
		if (t->text[i] == '\\' ||
		    (t->text[i] == '$' && i + 1 < t->len &&
		        t->text[i + 1] == '{'))
			return CONFIG_SCAN_TOP | CONFIG_SCAN_INSIDE;
	return s->schema->place(t->text, t->len);
}

/* An unknown key, and the known one it is likely a slip of. */
static void
unknown_key(struct scanner *s, const struct config_token *t)
{
	unsigned want = s->depth == 0 ? CONFIG_SCAN_TOP : CONFIG_SCAN_INSIDE;
	const char *hint = s->schema->closest != NULL
	                       ? s->schema->closest(t->text, t->len, want)
	                       : NULL;

	if (hint != NULL)
		complain(s, false, t->pos, t->line,
		    "no such option '%.*s': did you mean '%s'?", shown(t->len),
		    t->text, hint);
	else
		complain(s, false, t->pos, t->line, "no such option '%.*s'",
		    shown(t->len), t->text);
}

size_t
config_scan_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	/* Three rows of the table: i - 2, i - 1 and i. */
	size_t rows[3][SHOWN + 1], *two, *one, *row;

	if (alen > SHOWN || blen > SHOWN)
		return SIZE_MAX; /* no key is that long */
	for (size_t j = 0; j <= blen; j++)
		rows[1][j] = j;
	two = rows[0], one = rows[1], row = rows[2];
	for (size_t i = 1; i <= alen; i++) {
		row[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t d = one[j - 1] + cost;
			if (one[j] + 1 < d)
				d = one[j] + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && two[j - 2] + 1 < d)
				d = two[j - 2] + 1;
			row[j] = d;
		}
		size_t *old = two;
		two = one, one = row, row = old;
	}
	return one[blen];
}

/* A key set with '=' where the same scope set it before: libconfuse would
 * keep the last value and say nothing.  Keys spelled with an escape or a
 * ${VAR} are libconfuse's to judge. */
static void
check_twice(struct scanner *s, const struct config_token *t)
{
	struct scope *scope = s->depth == 0 ? &s->top : &s->inside;
	const struct config_token *k = &s->key;

	if (s->key_place == 0 || memchr(k->text, '\\', k->len) != NULL ||
	    memchr(k->text, '$', k->len) != NULL || s->depth > 1 ||
	    (s->depth > 0 && !s->open[0].known))
		return; /* inside what is already reported */
	for (size_t i = 0; i < scope->n; i++) {
		const struct seen *seen = &scope->keys[i];
		if (seen->len != k->len || memcmp(seen->text, k->text, k->len))
			continue;
		if (t->kind == T_APPEND)
			return;
		if (s->depth > 0)
			complain(s, false, k->pos, k->line,
			    "'%.*s' is set twice in %s (first on line %d): "
			    "keep one%s",
			    shown(k->len), k->text, s->open[s->depth - 1].name,
			    seen->line,
			    peek(s)->kind == '{' ? ", or add to it with +="
			                         : "");
		else
			complain(s, false, k->pos, k->line,
			    "'%.*s' is set twice (first on line %d): keep one",
			    shown(k->len), k->text, seen->line);
		return;
	}
	if (scope->n < SEEN_MAX)
		scope->keys[scope->n++] =
		    (struct seen){ k->text, k->len, k->line };
}

/* The key t, at the current depth. */
static void
check_level(struct scanner *s, const struct config_token *t, unsigned place)
{
	const char *section = s->schema->section;

	if (s->depth > 0 && !s->open[s->depth - 1].known)
		return; /* inside what is already reported */
	if (place == 0)
		unknown_key(s, t);
	else if (s->depth == 0 && s->schema->drop_in &&
	         !(place & CONFIG_SCAN_SECTION))
		complain(s, false, t->pos, t->line,
		    "'%.*s' is a global setting: it belongs in the main file, "
		    "not in an included one",
		    shown(t->len), t->text);
	else if (s->depth == 0 && !(place & CONFIG_SCAN_TOP))
		complain(s, false, t->pos, t->line,
		    "'%.*s' belongs inside a %s section", shown(t->len),
		    t->text, section);
	else if (s->depth > 0 && !(place & CONFIG_SCAN_INSIDE))
		complain(s, false, t->pos, t->line,
		    "'%.*s' is a global setting, not a %s setting",
		    shown(t->len), t->text, section);
}

/*
 * Push the section whose key and title (if any: s->title.len) were just
 * read, or, at a stray '{', a nameless one, so that its '}' still pairs up.
 */
static void
open_section(struct scanner *s, const struct config_token *t, bool stray)
{
	struct open_section *o, *outer;

	if (s->depth == DEPTH_MAX) {
		complain(s, true, t->pos, t->line, "braces nested too deeply");
		s->stop = true;
		return;
	}
	o = &s->open[s->depth];
	outer = s->depth > 0 ? o - 1 : NULL;
	s->inside.n = 0;
	snprintf(o->name, sizeof(o->name), "%.*s%s%.*s",
	    stray ? 3 : shown(s->key.len), stray ? "'{'" : s->key.text,
	    s->title.len > 0 ? " " : "", shown(s->title.len), s->title.text);
	o->line = stray ? t->line : s->key.line;
	o->inner_line = 0;
	o->known = !stray && (s->key_place & CONFIG_SCAN_SECTION);
	if (!stray && outer != NULL && outer->inner_line == 0) {
		snprintf(outer->inner, sizeof(outer->inner), "%s", o->name);
		outer->inner_line = o->line;
	}
	s->depth++;
}

/*
 * A section's '}'.  A section opened inside it is only called nested now
 * that the braces pair up; if they do not, the likelier story is a '}'
 * missing before it (close_all).
 */
static void
close_section(struct scanner *s, const struct config_token *t)
{
	struct open_section *o;

	if (s->depth == 0) {
		complain(s, true, t->pos, t->line,
		    "unexpected '}': no section is open");
		return;
	}
	o = &s->open[--s->depth];
	if (o->inner_line != 0)
		complain(s, true, t->pos, o->inner_line,
		    "%s is inside %s: sections cannot be nested", o->inner,
		    o->name);
}

static void
close_all(struct scanner *s, const struct config_token *t)
{
	for (int i = 0; i < s->depth; i++) {
		struct open_section *o = &s->open[i];
		if (o->inner_line != 0)
			complain(s, true, t->pos, o->line,
			    "%s is never closed: '}' missing before %s on "
			    "line %d",
			    o->name, o->inner, o->inner_line);
		else
			complain(s, true, t->pos, o->line,
			    "%s is never closed: '}' missing at the end of "
			    "the file",
			    o->name);
	}
}

static void
no_value(struct scanner *s, const struct config_token *t)
{
	complain(s, true, t->pos, s->key.line, "'%.*s' has no value",
	    shown(s->key.len), s->key.text);
}

static void
unclosed_list(struct scanner *s, const struct config_token *t)
{
	complain(s, true, t->pos, s->list.line,
	    "the list of '%.*s' opened here is never closed: '}' missing",
	    shown(s->key.len), s->key.text);
}

static enum state on_key(struct scanner *, const struct config_token *);

/* Is t the include keyword? */
static bool
is_include(struct scanner *s, const struct config_token *t)
{
	const char *word = s->schema->include;

	return word != NULL && t->kind == T_WORD && t->len == strlen(word) &&
	       memcmp(t->text, word, t->len) == 0;
}

/* An include statement read whole, from its keyword to end: hand its
 * pattern on, at the top level, and blank it. */
static void
end_include(struct scanner *s, size_t end)
{
	const struct config_token *p = &s->pattern;

	if (s->depth > 0)
		complain(s, false, s->key.pos, s->key.line,
		    "include belongs at the top of the file, not inside %s",
		    s->open[s->depth - 1].name);
	else if (p->len == 0 || memchr(p->text, '\\', p->len) != NULL ||
	         memchr(p->text, '$', p->len) != NULL)
		complain(s, false, p->pos, p->line,
		    "include \"%.*s\": write the path as it is: no escape, "
		    "no ${VAR}, not empty",
		    shown(p->len), p->text);
	else if (s->schema->included != NULL && !s->stop)
		s->schema->included(s->schema->arg, p->text, p->len, p->line);
	blank(s, s->key.pos, end);
}

static void
no_pattern(struct scanner *s, const struct config_token *t)
{
	complain(s, false, t->pos, s->key.line,
	    "include needs a file: include \"PATTERN\"");
	blank(s, s->key.pos, t->pos);
}

/* Where a token ends in the text: a string's closing quote is past it. */
static size_t
end_of(const struct config_token *t)
{
	return t->pos + t->len + (t->kind == T_STRING ? 2 : 0);
}

/* After the include keyword: include "PATTERN" or include("PATTERN"). */
static enum state
on_include(struct scanner *s, const struct config_token *t)
{
	if (t->kind == '(')
		return INCLUDE_PAREN;
	if (t->kind == '=') {
		complain(s, false, t->pos, t->line,
		    "include takes no '=': include \"PATTERN\"");
		return INCLUDE;
	}
	if (t->kind == T_WORD || t->kind == T_STRING) {
		s->pattern = *t;
		end_include(s, end_of(t));
		return KEY;
	}
	no_pattern(s, t);
	return on_key(s, t);
}

static enum state
on_include_paren(struct scanner *s, const struct config_token *t)
{
	if (t->kind == T_WORD || t->kind == T_STRING) {
		s->pattern = *t;
		return INCLUDE_CLOSE;
	}
	no_pattern(s, t);
	return t->kind == ')' ? KEY : on_key(s, t);
}

static enum state
on_include_close(struct scanner *s, const struct config_token *t)
{
	if (t->kind == ')') {
		end_include(s, end_of(t));
		return KEY;
	}
	complain(s, true, t->pos, s->key.line, "include(\"%.*s\": missing ')'",
	    shown(s->pattern.len), s->pattern.text);
	return on_key(s, t);
}

/* Expecting a key, a '}' or the end. */
static enum state
on_key(struct scanner *s, const struct config_token *t)
{
	unsigned place;

	switch (t->kind) {
	case T_EOF:
		close_all(s, t);
		return DONE;
	case '}':
		close_section(s, t);
		return KEY;
	case '{':
		complain(s, true, t->pos, t->line, "unexpected '{'");
		s->title.len = 0;
		open_section(s, t, true);
		return KEY;
	case T_WORD:
	case T_STRING:
		break;
	default:
		complain(s, true, t->pos, t->line, "unexpected '%.*s'",
		    (int)t->len, t->text);
		return KEY;
	}
	s->key = *t;
	s->title = (struct config_token){ .text = "" };
	if (is_include(s, t))
		return INCLUDE;
	place = s->key_place = place_of(s, t);
	if (place & CONFIG_SCAN_SECTION)
		return TITLE;
	check_level(s, t, place);
	return AFTER_KEY;
}

static enum state
on_value(struct scanner *s, const struct config_token *t)
{
	if (t->kind == '{') {
		s->list = *t;
		return LIST_VALUE;
	}
	if (is_value(s, t))
		return KEY;
	no_value(s, t);
	return on_key(s, t);
}

static enum state
on_after_key(struct scanner *s, const struct config_token *t)
{
	/* libconfuse 3.3 skips an unknown section out of step, and an
	 * unknown key's "+=" to the end of the file: do not let it try. */
	if (s->key_place == 0 && (t->kind == '{' || t->kind == T_APPEND ||
	                             (is_value(s, t) && peek(s)->kind == '{')))
		s->result = CONFIG_SCAN_BROKEN;
	if (t->kind == '=' || t->kind == T_APPEND) {
		check_twice(s, t);
		return VALUE;
	}
	/* An unknown key, already reported, that opens a section: read it
	 * as one, so that its braces pair up. */
	if (s->key_place == 0 && t->kind == '{') {
		open_section(s, t, false);
		return KEY;
	}
	if (s->key_place == 0 && is_value(s, t) && peek(s)->kind == '{') {
		s->title = *t;
		return OPEN;
	}
	if (t->kind == '{' || is_value(s, t)) {
		complain(s, true, t->pos, t->line, "missing '=' after '%.*s'",
		    shown(s->key.len), s->key.text);
		return on_value(s, t);
	}
	no_value(s, t);
	return on_key(s, t);
}

/* An item of a list; not a setting or a section, which mean that the
 * list's '}' is missing. */
static bool
is_item(struct scanner *s, const struct config_token *t)
{
	return is_value(s, t) &&
	       !(t->kind == T_WORD && (place_of(s, t) & CONFIG_SCAN_SECTION));
}

static enum state
on_list_value(struct scanner *s, const struct config_token *t)
{
	if (t->kind == '}')
		return KEY;
	if (is_item(s, t))
		return LIST_NEXT;
	if (t->kind == ',') {
		complain(s, true, t->pos, t->line,
		    "unexpected ',' in the list of '%.*s'", shown(s->key.len),
		    s->key.text);
		return LIST_VALUE;
	}
	unclosed_list(s, t);
	return on_key(s, t);
}

static enum state
on_list_next(struct scanner *s, const struct config_token *t)
{
	if (t->kind == ',')
		return LIST_VALUE;
	if (t->kind == '}')
		return KEY;
	if (is_item(s, t)) {
		complain(s, true, t->pos, t->line,
		    "missing ',' between items in the list of '%.*s'",
		    shown(s->key.len), s->key.text);
		return LIST_NEXT;
	}
	unclosed_list(s, t);
	return on_key(s, t);
}

static enum state
on_title(struct scanner *s, const struct config_token *t)
{
	if (is_value(s, t)) {
		s->title = *t;
		return OPEN;
	}
	complain(s, true, t->pos, s->key.line,
	    "'%.*s' needs a name: %.*s NAME { ... }", shown(s->key.len),
	    s->key.text, shown(s->key.len), s->key.text);
	if (t->kind == '{') {
		open_section(s, t, false);
		return KEY;
	}
	return on_key(s, t);
}

static enum state
on_open(struct scanner *s, const struct config_token *t)
{
	if (t->kind != '{') {
		complain(s, true, t->pos, s->key.line, "%.*s %.*s: missing '{'",
		    shown(s->key.len), s->key.text, shown(s->title.len),
		    s->title.text);
		/* As if it were there, so that its '}' pairs up. */
		if (t->kind != T_EOF)
			open_section(s, t, false);
		return on_key(s, t);
	}
	open_section(s, t, false);
	return KEY;
}

/* What to do with a token, by what the last one led to expect. */
static enum state (*const steps[])(
    struct scanner *, const struct config_token *) = {
	[KEY] = on_key,
	[AFTER_KEY] = on_after_key,
	[VALUE] = on_value,
	[LIST_VALUE] = on_list_value,
	[LIST_NEXT] = on_list_next,
	[TITLE] = on_title,
	[OPEN] = on_open,
	[INCLUDE] = on_include,
	[INCLUDE_PAREN] = on_include_paren,
	[INCLUDE_CLOSE] = on_include_close,
};

/* In line order; a message found later stays after one on the same line. */
static void
report_all(struct scanner *s)
{
	for (size_t i = 1; i < s->nmsgs; i++) {
		struct message m = s->msgs[i];
		size_t j = i;
		for (; j > 0 && s->msgs[j - 1].line > m.line; j--)
			s->msgs[j] = s->msgs[j - 1];
		s->msgs[j] = m;
	}
	for (size_t i = 0; i < s->nmsgs; i++)
		s->schema->report(
		    s->schema->arg, s->msgs[i].line, s->msgs[i].text);
}

enum config_scan_result
config_scan(char *text, const struct config_scan_schema *schema)
{
	struct scanner scanner = { 0 }, *s = &scanner;
	struct config_token t;

	s->schema = schema;
	s->text = text;
	s->cut = SIZE_MAX;
	s->state = KEY;
	config_text_lexer(&s->lexer, text, lexer_complaint, s);
	while (s->state != DONE && !s->stop) {
		take(s, &t);
		s->state = steps[s->state](s, &t);
	}
	report_all(s);
	return s->result;
}
