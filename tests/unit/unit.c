/* Runs every unit test and prints TAP; exits 1 if any failed. */
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
	test_access();
	test_addr();
	test_conn();
	test_daemon();
	test_log();
	test_config();
	test_peek();
	test_pool();
	test_proxy();
	test_source();
	test_moved();
	test_limit();
	printf("1..%d\n", run);
	return failed == 0 ? 0 : 1;
}
