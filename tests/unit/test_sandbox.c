/* sandbox.c: the sandbox key and its inheritance, the names of trapped
 * calls, and the exec programs' deny-list, applied in a child process
 * (the protocol that will call it before execve is not here yet). */
#include <errno.h>
#include <seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "sandbox.h"
#include "unit.h"

static void
test_key(void)
{
	struct config *conf = config_load(unit_config_file(
	    "sandbox = \"log\"\n"
	    "service a { listen = {\"127.0.0.1:7001\"} protocol = \"echo\" }\n"
	    "service b { listen = {\"127.0.0.1:7002\"} protocol = \"echo\"\n"
	    "\tsandbox = \"off\" }\n"));

	CHECK(conf != NULL, "sandbox: a file with the key loads");
	if (conf == NULL)
		return;
	CHECK(conf->sandbox == SANDBOX_LOG, "sandbox: the global mode");
	CHECK(conf->services[0].sandbox == SANDBOX_LOG,
	    "sandbox: a service without its own has the global mode");
	CHECK(conf->services[1].sandbox == SANDBOX_OFF,
	    "sandbox: a service's own mode wins");
	config_free(conf);
	conf = config_load(
	    unit_config_file("service a { listen = {\"127.0.0.1:7001\"} "
	                     "protocol = \"echo\" }\n"));
	CHECK(conf != NULL && conf->services[0].sandbox == SANDBOX_AUTO,
	    "sandbox: auto by default");
	config_free(conf);
}

static void
test_names(void)
{
	char buf[64];
	uint32_t native = seccomp_arch_native();
	int nr = seccomp_syscall_resolve_name("ptrace");

	CHECK(strcmp(sandbox_call_name(native, nr, buf, sizeof(buf)),
	          "ptrace") == 0,
	    "sandbox: a native call by its name");
	CHECK(strcmp(sandbox_call_name(native, 1000000, buf, sizeof(buf)),
	          "unknown") == 0,
	    "sandbox: a number no call has");
	if (native == SCMP_ARCH_X86_64)
		CHECK(strcmp(sandbox_call_name(
		                 native, 0x40000027, buf, sizeof(buf)),
		          "x32:getpid") == 0,
		    "sandbox: an x32 call on x86_64");
}

/* In a child: the deny-list, then what a program would try.  The exit
 * status says what failed: 0 when all was refused as it should be. */
static int
denied_child(void)
{
	if (sandbox_program_denylist(SANDBOX_ON) == -1)
		return 10;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 11;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != -1 || errno != EPERM)
		return 12;
	if (unshare(CLONE_NEWNS) != -1 || errno != EPERM)
		return 13;
	if (syscall(SYS_bpf, 0, NULL, 0) != -1 || errno != EPERM)
		return 14;
	if (getpid() <= 0) /* what is not listed still works */
		return 15;
	return 0;
}

static void
test_program_denylist(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(denied_child());
	if (pid > 0)
		waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "sandbox: an exec program's process cannot ptrace, unshare or "
	    "bpf, and has no_new_privs");
	CHECK(sandbox_program_denylist(SANDBOX_OFF) == 0 &&
	          prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0,
	    "sandbox: off leaves the process alone");
}

void
test_sandbox(void)
{
	test_key();
	test_names();
	test_program_denylist();
}
