/*
 * The workers' sandbox (sandbox.c): seccomp and landlock, one allow-list
 * per protocol family, in one place.  The modes are the sandbox key's
 * (preforkd.conf(5)).
 */
#ifndef PREFORKD_SANDBOX_H
#define PREFORKD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct service;

enum sandbox_mode {
	SANDBOX_AUTO, /* on where the kernel can, else run without */
	SANDBOX_ON,   /* on, or refuse to start */
	SANDBOX_LOG,  /* report what would be denied, deny nothing */
	SANDBOX_OFF,
};

/* Master, at start (and -t): can each service's mode be had here?  Says
 * once what the workers get, warns once when auto must run without; 0,
 * or -1 after logging when a service says on and cannot have it.
 * starting: also say that this build runs without one (-t does not), and
 * sandbox_prepare. */
int sandbox_check(const struct config *conf, bool starting);
/* Master, before its first fork (at start, and in an upgrade's new
 * image): build each filter conf's workers and programs will load, once,
 * and read the time zone for the workers; a filter that cannot be built
 * here is built by each worker or program's process.  A reload calls it
 * too, for a protocol or mode new to the master; what was built stays. */
void sandbox_prepare(const struct config *conf);
/* Worker, set up and with its privileges dropped: lock itself down as
 * svc->sandbox says, a kill recorded in scoreboard slot slot.  Returns
 * locked, or unlocked where the mode allows; exits WORKER_EXIT_FATAL
 * when on cannot be had. */
void sandbox_enter(const struct service *svc, int slot);
/* A program's process (protocol exec), just before execve: no new
 * privileges, and the calls no network service needs fail with EPERM
 * (mode log: are reported), with the master's filter where it built one.
 * 0, also when mode is off or the kernel has no seccomp and mode is auto;
 * -1 with errno when it could not. */
int sandbox_program_denylist(enum sandbox_mode mode);
/* Master: the call a worker's slot recorded, as text ("ptrace", or
 * "x32:getpid" for another architecture's), into buf. */
const char *sandbox_call_name(
    uint32_t arch, int32_t call, char *buf, size_t size);

#endif
