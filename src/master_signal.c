/*
 * The master's signals: one table {signo, name, action} drives the
 * handlers, -s NAME and the names in log lines.  A handler only records
 * which action was asked for, by which signal; the loop (master.c) takes
 * the requests and acts.  The flags are the master's only file-static
 * state: a handler has nothing else to reach them by.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "master.h"
#include "master_state.h"

static const struct {
	int signo;
	const char *name; /* for -s; NULL: not sent that way */
	enum master_action action;
} signals[] = {
	{ SIGCHLD, NULL, ACT_REAP },
	{ SIGTERM, "stop", ACT_STOP },
	{ SIGINT, NULL, ACT_STOP },
	{ SIGQUIT, "quit", ACT_QUIT },
	{ SIGHUP, "reload", ACT_RELOAD },
	{ SIGUSR1, "reopen", ACT_REOPEN },
	{ SIGUSR2, "upgrade", ACT_UPGRADE },
	{ SIGTTIN, NULL, ACT_GROW },
	{ SIGTTOU, NULL, ACT_SHRINK },
};

#define NSIGNALS (sizeof(signals) / sizeof(signals[0]))

/* The signal number that asked for each action, 0 when none is pending. */
static volatile sig_atomic_t requested[ACT_N];

static void
on_signal(int signo)
{
	int saved_errno = errno;

	for (size_t i = 0; i < NSIGNALS; i++)
		if (signals[i].signo == signo)
			requested[signals[i].action] = signo;
	errno = saved_errno;
}

int
master_signal_by_name(const char *name)
{
	for (size_t i = 0; i < NSIGNALS; i++)
		if (signals[i].name != NULL &&
		    strcmp(signals[i].name, name) == 0)
			return signals[i].signo;
	return 0;
}

const char *
master_signal_names(void)
{
	static char names[64];

	if (names[0] == '\0')
		for (size_t i = 0; i < NSIGNALS; i++)
			if (signals[i].name != NULL)
				snprintf(names + strlen(names),
				    sizeof(names) - strlen(names), "%s%s",
				    names[0] != '\0' ? "|" : "",
				    signals[i].name);
	return names;
}

void
master_signals_init(void)
{
	struct sigaction sa;
	sigset_t blocked;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	sigemptyset(&blocked);
	for (size_t i = 0; i < NSIGNALS; i++) {
		sigaction(signals[i].signo, &sa, NULL);
		sigaddset(&blocked, signals[i].signo);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
}

int
master_signal_take(enum master_action action)
{
	int signo = requested[action];

	requested[action] = 0;
	return signo;
}

const char *
master_signal_name(int signo)
{
	const char *abbrev = sigabbrev_np(signo);

	return abbrev != NULL ? abbrev : "?";
}
