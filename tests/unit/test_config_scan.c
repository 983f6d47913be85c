/*
 * config_text.c and config_scan.c re-lex what libconfuse 3.3 lexes; this
 * proves the two agree, on a corpus that has every token kind and every
 * error the scanner exists for.  For each sample:
 *
 *  - the tokens config_text_next cuts from the text, comments blanked, are
 *    the tokens libconfuse's own lexer (cfg_yylex, which libconfuse.so
 *    exports though no header declares it) cuts from the same text: same
 *    kind, same bytes where no escape or ${VAR} changes them, same line;
 *  - blanking the comments removes exactly what libconfuse reads as
 *    comments, no more;
 *  - what config_scan says of it, and what libconfuse's parser says of it
 *    with the real schema, are pinned side by side: where the scanner
 *    refuses a text, the sample shows what libconfuse alone would have
 *    done with it (a later line, a wrong message, a dropped byte, a lexer
 *    left inside a string).
 *
 * When libconfuse changes, this fails first, and says where.
 */
#include <confuse.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_keys.h"
#include "config_scan.h"
#include "config_text.h"
#include "unit.h"

#define TOKENS_MAX 64

struct token {
	int kind; /* libconfuse's: CFGT_STR, '{', ..., '+' for +=, EOF */
	char text[128];
	int line;   /* where the token ends */
	bool exact; /* text is what libconfuse returns */
};

struct lexed {
	struct token t[TOKENS_MAX];
	size_t n;
	bool failed;   /* libconfuse: the lexer returned 0; ours: a complaint */
	char err[256]; /* the first error */
	int err_line;
};

/* libconfuse's lexer, found at run time: a test that skips is better than
 * a unit binary that does not link where the symbols are hidden. */
static struct {
	int (*lex)(cfg_t *);
	void (*begin)(FILE *);
	void (*end)(void);
	char **lval;
} confuse;

static struct lexed *capture; /* where the error function writes */

static void
capture_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	if (capture == NULL || capture->err[0] != '\0')
		return;
	vsnprintf(capture->err, sizeof(capture->err), fmt, ap);
	capture->err_line = cfg != NULL ? cfg->line : 0;
}

static bool
find_lexer(void)
{
	confuse.lex = (int (*)(cfg_t *))dlsym(RTLD_DEFAULT, "cfg_yylex");
	confuse.begin =
	    (void (*)(FILE *))dlsym(RTLD_DEFAULT, "cfg_scan_fp_begin");
	confuse.end = (void (*)(void))dlsym(RTLD_DEFAULT, "cfg_scan_fp_end");
	confuse.lval = dlsym(RTLD_DEFAULT, "cfg_yylval");
	return confuse.lex != NULL && confuse.begin != NULL &&
	       confuse.end != NULL && confuse.lval != NULL;
}

/*
 * text through libconfuse's lexer, as cfg_parse_buf feeds it.  Freeing a
 * cfg_t resets the lexer (cfg_free calls cfg_yylex_destroy); keep: do not,
 * yet, so that the next call starts where this one left the lexer.
 */
static void
lex_confuse(const char *text, struct lexed *out, bool keep)
{
	static cfg_opt_t none[] = { CFG_END() };
	static cfg_t *kept;
	cfg_t *cfg = cfg_init(none, CFGF_NONE);
	/* fmemopen of 0 bytes fails on older glibc, as libconfuse knows. */
	FILE *f = fmemopen((void *)(uintptr_t)(text[0] != '\0' ? text : " "),
	    text[0] != '\0' ? strlen(text) : 1, "r");

	memset(out, 0, sizeof(*out));
	if (cfg == NULL || f == NULL) {
		out->failed = true;
		snprintf(out->err, sizeof(out->err), "cannot set up");
		return;
	}
	cfg_set_error_function(cfg, capture_error);
	capture = out;
	cfg->line = 1;
	confuse.begin(f);
	while (out->n < TOKENS_MAX) {
		struct token *t = &out->t[out->n];
		int kind = confuse.lex(cfg);
		if (kind == 0) {
			out->failed = true;
			break;
		}
		t->kind = kind;
		t->line = cfg->line;
		t->exact = true;
		if (kind != EOF && *confuse.lval != NULL)
			snprintf(t->text, sizeof(t->text), "%s", *confuse.lval);
		out->n++;
		if (kind == EOF)
			break;
	}
	confuse.end();
	capture = NULL;
	fclose(f);
	if (kept != NULL)
		cfg_free(kept);
	kept = NULL;
	if (keep)
		kept = cfg;
	else
		cfg_free(cfg);
}

static void
our_complaint(void *arg, size_t pos, int line, const char *msg)
{
	struct lexed *out = arg;

	(void)pos;
	if (out->failed)
		return;
	out->failed = true;
	snprintf(out->err, sizeof(out->err), "%s", msg);
	out->err_line = line;
}

/* text, comments blanked, through config_text_next, in libconfuse's
 * kinds. */
static void
lex_ours(const char *text, struct lexed *out)
{
	struct config_lexer lx;
	struct config_token ct;

	memset(out, 0, sizeof(*out));
	config_text_lexer(&lx, text, our_complaint, out);
	while (out->n < TOKENS_MAX) {
		struct token *t = &out->t[out->n++];
		config_text_next(&lx, &ct);
		t->line = ct.line;
		switch (ct.kind) {
		case CONFIG_TOKEN_EOF:
			t->kind = EOF;
			return;
		case CONFIG_TOKEN_APPEND:
			t->kind = '+';
			break;
		case CONFIG_TOKEN_WORD:
		case CONFIG_TOKEN_STRING:
			t->kind = CFGT_STR;
			break;
		default:
			t->kind = ct.kind;
		}
		/* Escapes and ${VAR} are libconfuse's to expand. */
		t->exact = memchr(ct.text, '\\', ct.len) == NULL &&
		           memchr(ct.text, '$', ct.len) == NULL;
		snprintf(
		    t->text, sizeof(t->text), "%.*s", (int)ct.len, ct.text);
		for (size_t i = 0; i < ct.len; i++)
			t->line += ct.text[i] == '\n';
		if (t->kind != CFGT_STR)
			t->text[0] = t->kind == '+' ? '+' : (char)t->kind,
			t->text[1] = t->kind == '+' ? '=' : '\0';
	}
}

/* The first token where a and b differ, up to n of them; n if none. */
static size_t
first_difference(const struct lexed *a, const struct lexed *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct token *x = &a->t[i], *y = &b->t[i];
		if (x->kind != y->kind || x->line != y->line ||
		    (x->exact && y->exact && x->kind == CFGT_STR &&
		        strcmp(x->text, y->text) != 0))
			return i;
	}
	return n;
}

static void
show_difference(
    const char *what, const struct lexed *a, const struct lexed *b, size_t i)
{
	const struct token *x = &a->t[i], *y = &b->t[i];

	printf("# %s: token %zu: ours %d \"%s\" line %d, libconfuse's %d "
	       "\"%s\" line %d\n",
	    what, i, x->kind, x->text, x->line, y->kind, y->text, y->line);
}

/* The scanner's view, through the real key table. */
struct scan_view {
	enum config_scan_result result;
	int line;      /* of the first message */
	char msg[256]; /* the first message */
	char included[128];
};

static void
scan_report(void *arg, int line, const char *msg)
{
	struct scan_view *v = arg;

	if (v->msg[0] != '\0')
		return;
	v->line = line;
	snprintf(v->msg, sizeof(v->msg), "%s", msg);
}

static int
no_section_check(cfg_t *cfg, cfg_opt_t *opt)
{
	(void)cfg;
	(void)opt;
	return 0;
}

/* libconfuse's parser with the real schema: its first error, if any. */
static bool
parse_confuse(const char *text, struct lexed *err)
{
	cfg_t *cfg = cfg_init(config_keys_schema(no_section_check), CFGF_NONE);
	int rc;

	memset(err, 0, sizeof(*err));
	if (cfg == NULL)
		return false;
	cfg_set_error_function(cfg, capture_error);
	capture = err;
	rc = cfg_parse_buf(cfg, text);
	capture = NULL;
	cfg_free(cfg);
	config_keys_forget();
	return rc == CFG_SUCCESS && err->err[0] == '\0';
}

struct sample {
	const char *what;
	const char *text;
	/* The scanner: its verdict, and the line and start of its first
	 * message (NULL: none). */
	enum config_scan_result scan;
	int scan_line;
	const char *scan_msg;
	/* libconfuse alone, on the text with comments blanked: NULL if it
	 * parses, else the start of its first error and its line. */
	const char *confuse_msg;
	int confuse_line;
	/* The last include the scanner handed on, "LINE:PATTERN", or NULL. */
	const char *included;
	/* A ';' that starts a line, which the comment stripper blanks after
	 * (libconfuse has no such comment). */
	bool ini_comment;
	/* What the scanner blanked (a ';', an include) leaves text that
	 * libconfuse parses. */
	bool fixed;
};

#define SVC_OPEN "service s {\nlisten = {\"127.0.0.1:7000\"}\n"
#define CLEAN CONFIG_SCAN_CLEAN, 0, NULL
#define BROKEN CONFIG_SCAN_BROKEN

/* Most samples leave the last fields (included, ini_comment, fixed) at
 * their zero, which is what they mean. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct sample samples[] = {
	/* Every token kind, each where libconfuse agrees. */
	{ "words, = and a section", SVC_OPEN "protocol = echo\n}\n", CLEAN,
	    NULL, 0 },
	{ "double-quoted strings with every escape",
	    SVC_OPEN "protocol = \"echo\"\nbanner = \"a\\n\\t\\r\\b\\f\\a\\e"
	             "\\v\\x41\\101\\0\\\\\\\"\\q\"\n}\n",
	    CLEAN, NULL, 0 },
	{ "a string across lines, and one continued by a backslash",
	    SVC_OPEN "banner = \"one\ntwo\"\nprefix = \"a\\\nb\"\n"
	             "protocol = \"echo\"\n}\n",
	    CLEAN, NULL, 0 },
	{ "single-quoted strings, escapes kept but \\' and \\\\",
	    SVC_OPEN "protocol = 'echo'\nbanner = 'it\\'s \\\\ \\n \"q\"'\n}\n",
	    CLEAN, NULL, 0 },
	{ "lists, +=, an empty list and a bare value",
	    SVC_OPEN "allow = {\"10.0.0.0/8\", ::1, '127.0.0.1'}\n"
	             "allow += {\"10.1.0.0/16\"}\ndeny = {}\n"
	             "proxy_from = \"::1\"\nprotocol = echo\n}\n",
	    CLEAN, NULL, 0 },
	{ "negative and signed numbers, booleans of each spelling",
	    "shutdown_timeout = -0\n" SVC_OPEN "protocol = echo\n"
	    "log_data = yes\nproxy_protocol = off\nworkers = 0x2\n}\n",
	    CLEAN, NULL, 0 },
	{ "unquoted words of odd bytes: a path with //, colons, ${VAR}",
	    "pidfile = /tmp//x.pid\nlog = ${PREFORKD_UNIT_UNSET:-/tmp/l}\n"
	    "access_log = \"${PREFORKD_UNIT_UNSET:-/tmp/a}\"\n" SVC_OPEN
	    "protocol = ${PREFORKD_UNIT_UNSET:-echo}\n}\n",
	    CLEAN, NULL, 0 },
	{ "no blanks: = { } , cut words",
	    "service s{listen={\"127.0.0.1:7000\",\"[::1]:7000\"}"
	    "protocol=echo}\n",
	    CLEAN, NULL, 0 },
	{ "CRLF line ends and tabs",
	    "service s {\r\n\tlisten = "
	    "{\"127.0.0.1:7000\"}\r\n\tprotocol = "
	    "echo\r\n}\r\n",
	    CLEAN, NULL, 0 },
	{ "comments of each kind, and # or // inside quotes",
	    "# hash\n// slashes\n/* block\n   over lines */ " SVC_OPEN
	    "protocol = echo /* inline */ # tail\n"
	    "banner = \"# not /* a */ comment // here\"\n}\n",
	    CLEAN, NULL, 0 },
	{ "a comment inside a list, which libconfuse alone rejects",
	    "service s {\nlisten = { # the first\n\"127.0.0.1:7000\"\n}\n"
	    "protocol = echo\n}\n",
	    CLEAN, NULL, 0 },
	/* Drop-ins: handed on and blanked, never parsed by libconfuse. */
	{ "include and a pattern", "include \"conf.d/*.conf\"\n", CLEAN,
	    "no such option 'include'", 1, "1:conf.d/*.conf", false, true },
	{ "libconfuse's include(), a function call the schema does not have",
	    "include(\"other.conf\")\n", CLEAN, "no such option 'include'", 1,
	    "1:other.conf", false, true },
	{ "an include inside a section",
	    SVC_OPEN "include \"x.conf\"\nprotocol = echo\n}\n",
	    CONFIG_SCAN_KEYS, 3, "include belongs at the top of the file",
	    "no such option 'include'", 3, NULL, false, true },
	{ "an include with '='", "include = \"x.conf\"\n", CONFIG_SCAN_KEYS, 1,
	    "include takes no '='", "no such option 'include'", 1, "1:x.conf",
	    false, true },
	/* What other formats taught: ';' and keys given twice. */
	{ "a ';' comment, which libconfuse reads as keys",
	    SVC_OPEN "; the protocol: 'echo'\nprotocol = echo\n}\n",
	    CONFIG_SCAN_KEYS, 3, "';' is not a comment in preforkd.conf",
	    "no such option ';'", 3, NULL, true, true },
	{ "a ';' after a number, which libconfuse calls no integer",
	    SVC_OPEN "protocol = echo\nworkers = 2;\n}\n", CONFIG_SCAN_KEYS, 4,
	    "'workers = 2;': the ';' does not end a setting",
	    "invalid integer value for option 'workers'", 4, NULL, false,
	    true },
	{ "a ';' after a string, which libconfuse calls a key",
	    SVC_OPEN "protocol = \"echo\";\n}\n", CONFIG_SCAN_KEYS, 3,
	    "';' does not end a setting", "no such option ';'", 3, NULL, false,
	    true },
	{ "a ';' after a word, which libconfuse keeps in the value",
	    SVC_OPEN "protocol = echo\nbanner = hello;\n}\n", CONFIG_SCAN_KEYS,
	    4, "'banner = hello;': the ';' does not end a setting", NULL, 0,
	    NULL, false, true },
	{ "a key given twice, whose first value libconfuse forgets",
	    SVC_OPEN "protocol = echo\nworkers = 2\nworkers = 3\n}\n",
	    CONFIG_SCAN_KEYS, 5,
	    "'workers' is set twice in service s (first on line 4)", NULL, 0 },
	{ "a list given anew, but += adds to it",
	    SVC_OPEN "protocol = echo\nallow = {\"::1\"}\nallow += "
	             "{\"10.0.0.0/8\"}\nallow = {}\n}\n",
	    CONFIG_SCAN_KEYS, 6,
	    "'allow' is set twice in service s (first on line 4): keep one, "
	    "or add to it with +=",
	    NULL, 0 },
	{ "the same key in two services is no repetition",
	    SVC_OPEN "protocol = echo\n}\nservice t {\nprotocol = echo\n"
	             "listen = {\"127.0.0.1:7001\"}\n}\n",
	    CLEAN, NULL, 0 },
	{ "an unknown key, and the key it is a slip of",
	    SVC_OPEN "protocol = echo\nwokers = 2\n}\n", CONFIG_SCAN_KEYS, 4,
	    "no such option 'wokers': did you mean 'workers'?",
	    "no such option 'wokers'", 4 },
	/* The errors the scanner exists for. */
	{ "an unterminated double-quoted string",
	    SVC_OPEN "protocol = \"echo\n}\n", BROKEN, 3, "unterminated string",
	    "premature end of file", 5 },
	{ "an unterminated single-quoted string",
	    SVC_OPEN "protocol = 'echo\n}\n", BROKEN, 3, "unterminated string",
	    "unterminated string constant", 5 },
	{ "a bad escape", SVC_OPEN "protocol = \"echo\"\nbanner = \"\\8\"\n}\n",
	    BROKEN, 4, "bad escape '\\8'", "bad escape sequence '\\8'", 4 },
	{ "an octal escape over \\377",
	    SVC_OPEN "protocol = \"echo\"\nbanner = \"\\477\"\n}\n", BROKEN, 4,
	    "bad escape '\\477'", "invalid octal number '\\477'", 4 },
	{ "a lone * or +, which libconfuse drops without a word",
	    SVC_OPEN "protocol = echo\nbanner = * +\n}\n", BROKEN, 4,
	    "'*' outside quotes is dropped", "unexpected token '}'", 5 },
	/* libconfuse takes a file cut inside a section as complete. */
	{ "a section never closed, at the end", SVC_OPEN "protocol = echo\n",
	    BROKEN, 1, "service s is never closed", NULL, 0 },
	{ "a '}' missing before the next section",
	    SVC_OPEN "protocol = echo\n" SVC_OPEN "protocol = echo\n}\n",
	    BROKEN, 1, "service s is never closed", "no such option 'service'",
	    4 },
	{ "an extra '}'", SVC_OPEN "protocol = echo\n}\n}\n", BROKEN, 5,
	    "unexpected '}'", "unexpected closing brace", 5 },
	{ "a list never closed",
	    "service s {\nlisten = {\"127.0.0.1:7000\"\nprotocol = echo\n}\n",
	    BROKEN, 2, "the list of 'listen' opened here is never closed",
	    "unexpected token 'protocol'", 3 },
	{ "a missing '='", SVC_OPEN "protocol echo\n}\n", BROKEN, 3,
	    "missing '=' after 'protocol'",
	    "missing equal sign after option 'protocol'", 3 },
	{ "a missing ',' in a list",
	    "service s {\nlisten = {\"127.0.0.1:7000\" \"[::1]:7000\"}\n"
	    "protocol = echo\n}\n",
	    BROKEN, 2, "missing ',' between items",
	    "unexpected token '[::1]:7000'", 2 },
	{ "a key in the wrong place",
	    "workers = 2\n" SVC_OPEN "protocol = echo\n}\n", CONFIG_SCAN_KEYS,
	    1, "'workers' belongs inside a service section",
	    "no such option 'workers'", 1 },
};
#pragma GCC diagnostic pop

/* Both lexers on one sample; true if they agree as far as both read. */
static bool
tokens_agree(const struct sample *s, const char *blanked)
{
	struct lexed ours, theirs;
	size_t n, i;

	lex_ours(blanked, &ours);
	lex_confuse(blanked, &theirs, false);
	/* Up to where libconfuse's lexer gave up, or ours complained of a
	 * string, which ends our tokens. */
	n = ours.n < theirs.n ? ours.n : theirs.n;
	if (!theirs.failed && !ours.failed && ours.n != theirs.n) {
		printf("# %s: %zu tokens against libconfuse's %zu\n", s->what,
		    ours.n, theirs.n);
		return false;
	}
	if ((i = first_difference(&ours, &theirs, n)) < n) {
		/* Past an unterminated string, ours stops in step with it. */
		if (!(ours.failed && ours.t[i].kind == EOF)) {
			show_difference(s->what, &ours, &theirs, i);
			return false;
		}
	}
	/* libconfuse's lexer fails only where ours complains first. */
	if (theirs.failed && !ours.failed) {
		printf("# %s: libconfuse's lexer fails (%s), ours did not\n",
		    s->what, theirs.err);
		return false;
	}
	return true;
}

/* Blanking comments takes away exactly libconfuse's comment tokens. */
static bool
comments_agree(const struct sample *s, const char *blanked)
{
	struct lexed raw, clean;
	size_t j = 0;

	lex_confuse(s->text, &raw, false);
	lex_confuse(blanked, &clean, false);
	if (raw.failed || clean.failed)
		return raw.failed == clean.failed;
	for (size_t i = 0; i < raw.n; i++) {
		if (raw.t[i].kind == CFGT_COMMENT)
			continue;
		if (j >= clean.n || raw.t[i].kind != clean.t[j].kind ||
		    strcmp(raw.t[i].text, clean.t[j].text) != 0) {
			printf(
			    "# %s: blanking changed token %zu\n", s->what, j);
			return false;
		}
		j++;
	}
	return j == clean.n;
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An include the scanner found: "LINE:PATTERN" of the last. */
static void
scan_included(void *arg, const char *pattern, size_t len, int line)
{
	struct scan_view *v = arg;

	snprintf(v->included, sizeof(v->included), "%d:%.*s", line, (int)len,
	    pattern);
}

static bool
scan_as_pinned(const struct sample *s, char *blanked)
{
	struct scan_view v = { 0 };
	const struct config_scan_schema schema = { .section = CONFIG_SECTION,
		.place = config_keys_place,
		.report = scan_report,
		.arg = &v,
		.include = "include",
		.included = scan_included,
		.closest = config_keys_closest };

	v.result = config_scan(blanked, &schema);
	if (v.result == s->scan && v.line == s->scan_line &&
	    (s->scan_msg == NULL ? v.msg[0] == '\0'
	                         : starts(v.msg, s->scan_msg)) &&
	    strcmp(v.included, s->included != NULL ? s->included : "") == 0)
		return true;
	printf("# %s: config_scan %d, line %d: %s; included \"%s\"\n", s->what,
	    v.result, v.line, v.msg, v.included);
	return false;
}

/* The text after the scan: libconfuse reads it without an error. */
static bool
fixed_parses(const struct sample *s, const char *scanned)
{
	struct lexed err;

	if (parse_confuse(scanned, &err))
		return true;
	printf("# %s: after the scan, libconfuse fails on line %d: %s\n",
	    s->what, err.err_line, err.err);
	return false;
}

static bool
confuse_as_pinned(const struct sample *s, const char *blanked)
{
	struct lexed err;
	bool ok = parse_confuse(blanked, &err);

	if (s->confuse_msg == NULL ? ok
	                           : !ok && starts(err.err, s->confuse_msg) &&
	                                 err.err_line == s->confuse_line)
		return true;
	printf("# %s: libconfuse %s, line %d: %s\n", s->what,
	    ok ? "parses it" : "fails", err.err_line, err.err);
	return false;
}

static void
test_samples(void)
{
	size_t ntokens = 0, ncomments = 0, nscan = 0, nconfuse = 0, nfixed = 0;
	size_t n = sizeof(samples) / sizeof(samples[0]);

	for (size_t i = 0; i < n; i++) {
		const struct sample *s = &samples[i];
		char *blanked = strdup(s->text);
		if (blanked == NULL)
			return;
		config_text_strip_comments(blanked);
		ntokens += tokens_agree(s, blanked);
		ncomments += s->ini_comment || comments_agree(s, blanked);
		/* libconfuse alone, before the scanner blanks anything. */
		nconfuse += confuse_as_pinned(s, blanked);
		nscan += scan_as_pinned(s, blanked);
		nfixed += !s->fixed || fixed_parses(s, blanked);
		free(blanked);
	}
	CHECK(ntokens == n, "config_text cuts every sample's tokens as "
	                    "libconfuse's lexer does, on the same lines");
	CHECK(ncomments == n,
	    "blanking comments removes exactly libconfuse's comments");
	CHECK(nscan == n, "config_scan's verdict on every sample is pinned");
	CHECK(nconfuse == n,
	    "libconfuse's own verdict on every sample is pinned beside it");
	CHECK(nfixed == n, "what the scanner blanks (a ';', an include) "
	                   "leaves text libconfuse parses");
}

/* The libconfuse behaviours the text and scan rooms exist for, each
 * pinned on its own: if one goes away, so may the code for it. */
static void
test_pinned_behaviours(void)
{
	struct lexed raw, after;

	/* A comment's line is counted more than once: errors land late. */
	lex_confuse("# one\nx = 1\n", &raw, false);
	CHECK(raw.n >= 2 && raw.t[1].kind == CFGT_STR && raw.t[1].line > 2,
	    "libconfuse counts a comment's line more than once");
	/* An unterminated string vanishes without an error. */
	lex_confuse("x = \"open\n", &raw, false);
	CHECK(!raw.failed && raw.n == 3 && raw.t[2].kind == EOF,
	    "libconfuse drops an unterminated string without a word");
	/* A bad escape stops the lexer inside the string, where it stays
	 * until its parser is freed: the next text is read as a string. */
	lex_confuse("x = \"\\8\"\n", &raw, true);
	lex_confuse("y = \"ok\"\n", &after, false);
	CHECK(raw.failed && after.n >= 1 && after.t[0].kind == CFGT_STR &&
	          strcmp(after.t[0].text, "y = ") == 0,
	    "after a bad escape libconfuse reads on inside the string");
	/* A comment inside a list is a parse error. */
	CHECK(!parse_confuse(SVC_OPEN "allow = { # the first\n\"::1\"\n}\n"
	                              "protocol = echo\n}\n",
	          &raw),
	    "libconfuse rejects a comment inside a list");
	/* A lone '*' vanishes from a value. */
	lex_confuse("x = a * b\n", &raw, false);
	CHECK(raw.n == 5 && strcmp(raw.t[3].text, "b") == 0,
	    "libconfuse drops a lone '*' between words");
}

void
test_config_scan(void)
{
	if (!find_lexer()) {
		CHECK(true, "# SKIP libconfuse's lexer is not exported here");
		return;
	}
	CHECK(strcmp(confuse_version, "3.3") == 0,
	    "libconfuse is 3.3, the version these samples pin");
	test_samples();
	test_pinned_behaviours();
}
