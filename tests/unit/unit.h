/* A tiny TAP producer for the C unit tests: CHECK(cond, "what"). */
#ifndef PREFORKD_UNIT_H
#define PREFORKD_UNIT_H

#include <stdbool.h>

/* Record one result; prints "ok N - what" or "not ok N - what". */
void unit_check(bool ok, const char *file, int line, const char *what);

#define CHECK(cond, what) unit_check((cond), __FILE__, __LINE__, (what))

void test_access(void);
void test_addr(void);
void test_conn(void);
void test_daemon(void);
void test_log(void);
void test_config(void);
void test_peek(void);
void test_pool(void);
void test_proxy(void);
void test_source(void);
void test_moved(void);
void test_limit(void);

#endif
