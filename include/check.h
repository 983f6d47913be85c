/* -t: what can be checked of a configuration without starting it. */
#ifndef PREFORKD_CHECK_H
#define PREFORKD_CHECK_H

struct config;

/*
 * Check that conf can start with pidfile: the log's and the pidfile's
 * directories exist and are writable, and every listen address can be
 * bound now, or is held by the preforkd that holds pidfile.  0, or -1
 * after logging every problem found.
 */
int check_environment(const struct config *conf, const char *pidfile);

#endif
