/*
 * The key table: every key of the config file, spelled once, with its type,
 * default, range and the field its value goes to.  The libconfuse schema,
 * the defaults, the checks of each value, the conversion into struct config
 * and struct service, their release, where config_scan lets a key be
 * written, and -T (which prints the schema) all come from it.  For the
 * config rooms only: it speaks libconfuse.
 */
#ifndef PREFORKD_CONFIG_KEYS_H
#define PREFORKD_CONFIG_KEYS_H

#include <confuse.h>
#include <stddef.h>

/* The one kind of section, and the key that opens it. */
#define CONFIG_SECTION "service"

enum config_key_type {
	CONFIG_KEY_INT,  /* a number from min to max */
	CONFIG_KEY_BOOL, /* true or false */
	CONFIG_KEY_STR,  /* a string of at most max bytes (max 0: any) */
	CONFIG_KEY_LIST, /* a list of strings: {"a", "b"} */
};

/* Where a key is written, and so whose field it fills.  A key allowed in
 * both places is two rows, one for each. */
enum config_key_scope {
	CONFIG_KEY_GLOBAL,  /* at the top: a field of struct config */
	CONFIG_KEY_SERVICE, /* in a service section: of struct service */
};

/* What a value becomes in its field. */
enum config_key_store {
	CONFIG_STORE_NUMBER,   /* an integer (or bool) of the field's size */
	CONFIG_STORE_STRING,   /* a copy; NULL when unset */
	CONFIG_STORE_CHOICE,   /* the int that choice->parse returns */
	CONFIG_STORE_PROTOCOL, /* the const struct proto_info * it names */
	CONFIG_STORE_CIDRS,    /* a struct cidr array; its length at count */
	CONFIG_STORE_LISTEN,   /* struct service's addrs, listen, naddrs */
	/* A NULL-terminated array of copies (a program's argv, its env);
	 * NULL when unset; its length at count. */
	CONFIG_STORE_STRINGS,
};

/* A string that names one of a few things. */
struct config_choice {
	int (*parse)(const char *name); /* its number, or -1 */
	const char *(*expected)(void);  /* for messages: "chunk or line" */
};

struct config_key {
	const char *name;
	enum config_key_type type;
	enum config_key_scope scope;
	long def;            /* an INT's or a BOOL's default */
	const char *def_str; /* a STR's default; NULL: unset if not written */
	char *def_list;      /* a LIST's default, as libconfuse reads one */
	long min, max;
	const struct config_choice *choice; /* a STR naming one of a few */
	/* A further check of the value just read: reports with cfg_error
	 * and returns 0, never stopping the parse. */
	int (*check)(cfg_t *cfg, cfg_opt_t *opt);
	enum config_key_store store;
	size_t offset, size; /* the field, in struct config or service */
	size_t count; /* CONFIG_STORE_CIDRS, _STRINGS: where its length goes */
};

/* The table, in the order -T prints it: the global keys, then a
 * service's. */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;

/* The schema for cfg_init, built from the table: the global keys and the
 * service section, whose closing brace calls check_service. */
cfg_opt_t *config_keys_schema(cfg_validate_callback_t check_service);
/* For config_scan: the CONFIG_SCAN_* bits of the key of len bytes, 0 if
 * no row has it. */
unsigned config_keys_place(const char *key, size_t len);
/* For config_scan: the key of the table that may be written at place
 * (CONFIG_SCAN_TOP or CONFIG_SCAN_INSIDE, "service" included at the top)
 * nearest to the unknown key of len bytes, if it is a likely slip of it:
 * a few edits away (one for 4 bytes, two for 8, else three); else NULL. */
const char *config_keys_closest(const char *key, size_t len, unsigned place);
/* Fill the fields of base (a struct config for CONFIG_KEY_GLOBAL, a struct
 * service for CONFIG_KEY_SERVICE) from sec, already checked.  0, or -1
 * when out of memory (what was filled is released by config_keys_free). */
int config_keys_convert(cfg_t *sec, enum config_key_scope scope, void *base);
/* Release what config_keys_convert allocated in base; zeroed base is fine. */
void config_keys_free(enum config_key_scope scope, void *base);
/* Give each service the global value of a key it may override (a row
 * in both places) where it does not set it; after the parse. */
void config_keys_inherit(cfg_t *cfg);
/* Forget what the checks kept during a parse; call when one is done. */
void config_keys_forget(void);

#endif
