/*
 * execref: the two shapes of a pre-forked inetd that issue 17 asks to
 * measure, as plain reference servers for tests/bench/exec: no config, no
 * log, no limits, nothing but the shape.
 *
 *   execref become PORT WORKERS PROGRAM [ARG...]
 *       WORKERS processes wait in accept(); the one that takes a client
 *       puts the socket on fd 0 and 1 and execs PROGRAM: the worker
 *       *becomes* the program.  It tells the parent first (a byte on a
 *       pipe), so that the parent forks its replacement at once, ahead of
 *       the next client, while the program serves.
 *   execref fork PORT WORKERS PROGRAM [ARG...]
 *       WORKERS processes wait in accept(); the one that takes a client
 *       forks, the child execs PROGRAM on the socket, and the worker waits
 *       for it to end before it accepts again: what preforkd's exec workers
 *       do (src/worker_exec.c), without the rest of preforkd.
 *
 * Listens on 127.0.0.1:PORT.  Every child has the parent-death signal; on
 * SIGTERM or SIGINT the parent signals its process group (its own) and
 * exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int lfd = -1;
static int tell[2] = { -1, -1 }; /* become: worker -> parent, a byte */
static char **program;
static volatile sig_atomic_t stop;

static void
on_stop(int signo)
{
	(void)signo;
	stop = 1;
}

/* In the child, the client on fd 0 and 1: run the program, or die. */
static void
run_program(int cfd)
{
	if (dup2(cfd, 0) == -1 || dup2(cfd, 1) == -1)
		_exit(111);
	if (cfd > 1)
		close(cfd);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	execv(program[0], program);
	_exit(127);
}

/* accept(), retried on a signal; -1 when told to stop or on an error. */
static int
take_client(void)
{
	int cfd;

	while ((cfd = accept(lfd, NULL, NULL)) == -1) {
		if (errno != EINTR && errno != ECONNABORTED)
			return -1;
	}
	return cfd;
}

static void
worker_become(void)
{
	int cfd = take_client();

	if (cfd == -1)
		_exit(1);
	/* The replacement first, then the exec. */
	if (write(tell[1], "a", 1) != 1)
		_exit(1);
	close(lfd);
	close(tell[1]);
	run_program(cfd);
}

static void
worker_fork(void)
{
	for (;;) {
		int cfd = take_client(), status;
		pid_t pid;

		if (cfd == -1)
			_exit(1);
		if ((pid = fork()) == 0) {
			close(lfd);
			run_program(cfd);
		}
		close(cfd);
		if (pid > 0)
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
	}
}

static pid_t
spawn(int become)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (become) {
		close(tell[0]);
		worker_become();
	} else
		worker_fork();
	_exit(1);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sigaction sa = { .sa_handler = on_stop };
	int on = 1, workers, become;
	char byte;

	if (argc < 5 ||
	    (strcmp(argv[1], "become") != 0 && strcmp(argv[1], "fork") != 0) ||
	    (workers = atoi(argv[3])) < 1 || argv[4][0] != '/') {
		fprintf(stderr, "usage: execref become|fork PORT WORKERS "
		                "/PROGRAM [ARG...]\n");
		return 2;
	}
	become = strcmp(argv[1], "become") == 0;
	program = argv + 4;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 511) == -1 || pipe2(tell, O_CLOEXEC) == -1) {
		perror("execref: listen");
		return 1;
	}
	/* A group of our own, so that the kill(0, ...) at the end reaches
	 * what we forked and nothing of whoever started us (a session
	 * leader, under setsid, has one already and gets EPERM). */
	setpgid(0, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* The programs end by themselves: the kernel reaps what we fork. */
	signal(SIGCHLD, become ? SIG_IGN : SIG_DFL);
	for (int i = 0; i < workers; i++)
		spawn(become);
	if (become) {
		/* A byte per client taken: fork its replacement at once. */
		while (!stop && read(tell[0], &byte, 1) == 1)
			spawn(become);
	} else {
		while (!stop && (wait(NULL) > 0 || errno == EINTR))
			if (!stop)
				spawn(become);
	}
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM);
	return 0;
}
