/*
 * -T: a parsed configuration printed back in its own syntax, from
 * libconfuse's option tables, so a new key is printed without a change
 * here.  Part of the config room: with config.c, the only code that sees
 * libconfuse.
 */
#include <confuse.h>
#include <stdio.h>
#include <string.h>

#include "config_print.h"
#include "log.h"

/* A string as the parser reads it back: quoted, with every byte that is
 * special to it escaped (libconfuse expands "${NAME}", so '$' is too). */
static void
print_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\' || c == '$')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void
print_value(FILE *out, cfg_opt_t *opt, unsigned i)
{
	switch (opt->type) {
	case CFGT_INT:
		fprintf(out, "%ld", cfg_opt_getnint(opt, i));
		break;
	case CFGT_BOOL:
		fputs(cfg_opt_getnbool(opt, i) ? "true" : "false", out);
		break;
	case CFGT_STR:
		print_string(out, cfg_opt_getnstr(opt, i));
		break;
	default:
		log_bug(
		    "config_print: option %s has an unprinted type", opt->name);
	}
}

/* Where the services came from, by index: NULL (or past nfrom) for the
 * main file. */
struct origins {
	const char *const *from;
	size_t nfrom;
	const char *main;
};

static void print_options(
    FILE *out, cfg_t *cfg, int depth, const struct origins *o);

static void
indent(FILE *out, int depth)
{
	for (int i = 0; i < depth; i++)
		fputc('\t', out);
}

/* "# from FILE" before a section from an included file; a control byte
 * of the name is a '?', so that the comment stays one line. */
static void
print_origin(FILE *out, const struct origins *o, unsigned i)
{
	const char *path;

	if (o == NULL || i >= o->nfrom || o->from[i] == NULL ||
	    strcmp(o->from[i], o->main) == 0)
		return;
	fputs("# from ", out);
	for (path = o->from[i]; *path != '\0'; path++)
		fputc(
		    (unsigned char)*path < 0x20 || *path == 0x7f ? '?' : *path,
		    out);
	fputc('\n', out);
}

/* One option: "name = value", "name = {a, b}", a section, or a comment
 * for an optional one that is not set. */
static void
print_option(FILE *out, cfg_opt_t *opt, int depth, const struct origins *o)
{
	unsigned n = cfg_opt_size(opt);

	if (opt->type == CFGT_SEC) {
		for (unsigned i = 0; i < n; i++) {
			cfg_t *sec = cfg_opt_getnsec(opt, i);
			fputc('\n', out);
			print_origin(out, o, i);
			indent(out, depth);
			fprintf(out, "%s %s {\n", opt->name, cfg_title(sec));
			print_options(out, sec, depth + 1, NULL);
			indent(out, depth);
			fputs("}\n", out);
		}
		return;
	}
	indent(out, depth);
	if (n == 0) {
		fprintf(out, "# %s is not set\n", opt->name);
		return;
	}
	fprintf(out, "%s = ", opt->name);
	if (opt->flags & CFGF_LIST)
		fputs("{", out);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", out);
		print_value(out, opt, i);
	}
	fputs(opt->flags & CFGF_LIST ? "}\n" : "\n", out);
}

static void
print_options(FILE *out, cfg_t *cfg, int depth, const struct origins *o)
{
	for (cfg_opt_t *opt = cfg->opts; opt->name != NULL; opt++)
		print_option(out, opt, depth, o);
}

void
config_print_tree(cfg_t *cfg, FILE *out, const char *const *from, size_t nfrom,
    const char *main)
{
	const struct origins o = { from, nfrom, main };

	fputs("# preforkd -T: the configuration as it runs, every default "
	      "filled in\n",
	    out);
	print_options(out, cfg, 0, &o);
}
