/* A tiny TAP producer for the C unit tests: CHECK(cond, "what"). */
#ifndef PREFORKD_UNIT_H
#define PREFORKD_UNIT_H

#include <stdbool.h>

/* Record one result; prints "ok N - what" or "not ok N - what". */
void unit_check(bool ok, const char *file, int line, const char *what);

#define CHECK(cond, what) unit_check((cond), __FILE__, __LINE__, (what))

/*
 * Each tests/unit/test_X.c defines void test_X(void), which runs that
 * file's checks.  The build lists every such file in unit_tests.h, one
 * UNIT(test_X) a line, so no list is kept by hand: a new file is run, and
 * a file without its function fails the link.
 */
/* For the config tests: a file holding text, the same path each time
 * (removed at exit), or NULL. */
const char *unit_config_file(const char *text);

#define UNIT(name) void name(void);
#include "unit_tests.h"
#undef UNIT

#endif
