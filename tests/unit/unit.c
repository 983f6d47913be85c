/* Runs every unit test (the list the build makes, unit_tests.h) and prints
 * TAP; exits 1 if any failed. */
#include <stdio.h>

#include "log.h"
#include "unit.h"

static int run, failed;

void
unit_check(bool ok, const char *file, int line, const char *what)
{
	run++;
	if (ok) {
		printf("ok %d - %s\n", run, what);
		return;
	}
	failed++;
	printf("not ok %d - %s\n# at %s:%d\n", run, what, file, line);
}

int
main(void)
{
	log_init();
	/* Every test_X of tests/unit/test_X.c, in the order of the names. */
#define UNIT(name) name();
#include "unit_tests.h"
#undef UNIT
	printf("1..%d\n", run);
	return failed == 0 ? 0 : 1;
}
