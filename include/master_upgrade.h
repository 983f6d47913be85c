/* An upgrade in place (-s upgrade, SIGUSR2): what start-up (main.c) needs
 * of it; the rest is the master's (master_state.h). */
#ifndef PREFORKD_MASTER_UPGRADE_H
#define PREFORKD_MASTER_UPGRADE_H

#include <stdbool.h>

struct config;
struct listener_set;

/* What the master this image replaced handed over; opaque. */
struct upgrade_state;

/*
 * First thing at start: remember the command line, the environment and
 * the binary's path (argv[0] made absolute against the current directory,
 * or found on PATH) for an upgrade to run again, before anything changes
 * them (the process title overwrites argv; notify.c takes variables out
 * of the environment).  Exits EXIT_RESOURCE when out of memory.
 */
void upgrade_remember(int argc, char **argv);
/*
 * The state handed over in $PREFORKD_UPGRADE_FD, taken out of the
 * environment: 0 with *up NULL when there is none (a plain start), 0 with
 * *up set when this image is an upgrade's, -1 after logging when it
 * cannot be read.
 */
int upgrade_inherited(struct upgrade_state **up);
/* Close every descriptor from 3 on but those the state names. */
void upgrade_close_others(const struct upgrade_state *up);
/* The pidfile the old image held, absolute. */
const char *upgrade_pidfile(const struct upgrade_state *up);
/* The version of preforkd that handed over. */
const char *upgrade_old_version(const struct upgrade_state *up);
/* Take over the pidfile (lock included), the listening sockets (through
 * listener_adopt, as socket activation's) and the scoreboard; 0, or -1
 * after logging. */
int upgrade_take_over(struct upgrade_state *up, struct listener_set *set,
    const struct config *conf);
/*
 * The new image could not do what (a noun: "the workers' user") as a
 * start would: said in the log already, and said again in the answer to
 * -s upgrade -- a failure when fatal (no worker of this image can
 * start: the old ones keep serving), a warning else.
 */
void upgrade_trouble(struct upgrade_state *up, bool fatal, const char *what);
/* The log (or access_log) of conf could not be opened (errno says why):
 * log to syslog instead (to stderr in the foreground, or when syslog
 * fails), and say so in the answer. */
void upgrade_log_fallback(
    struct upgrade_state *up, const struct config *conf, bool foreground);
/*
 * -t under an upgrade's pre-flight ($PREFORKD_UPGRADE_CHECK names the
 * hand-over format and the scoreboard layout of the old image): say on
 * stdout whether this build reads them.  1 when not asked, 0 when it
 * does, -1 (said why) when it does not.
 */
int upgrade_check_answer(void);

#endif
