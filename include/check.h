/* -t: what can be checked of a configuration without starting it. */
#ifndef PREFORKD_CHECK_H
#define PREFORKD_CHECK_H

#include <stdbool.h>

struct config;

/*
 * Check that conf can start with pidfile: the log's and the pidfile's
 * directories exist and are writable, the files there (if any) are files
 * start-up can open, and every listen address can be bound now, or is
 * held by the instance this check is for (a preforkd started with the
 * same file, or holding pidfile) or by the service manager that started
 * this process.  manager (-a): an address whose holder cannot be seen is
 * taken to be the service manager's.  0, or -1 after logging every
 * problem found.
 */
int check_environment(
    const struct config *conf, const char *pidfile, bool manager);

#endif
