#!/usr/bin/env bats
# The workers' sandbox (sandbox.c, issue 20): every built-in protocol's
# workers, TCP and UDP, run under a seccomp filter with no_new_privs; the
# time protocols answer the same with and without it; a forbidden call
# kills the worker, is named in the log, counted, and the worker replaced.
# The rest of the suite runs with the default sandbox = auto: a call
# missing from an allow-list kills a worker and fails the test that made
# it (log_is_clean).

load helpers

setup() {
	common_setup
	# The sanitized build runs without a sandbox (it says so).
	skip_under_asan "the sanitized build runs with the sandbox off"
	grep -q '^Seccomp:' /proc/self/status || skip "no seccomp in this kernel"
}
teardown() { common_teardown; }

# seccomp_of PID: "Seccomp NoNewPrivs" of a process, "2 1" when locked.
seccomp_of() {
	awk '/^Seccomp:/ { s = $2 } /^NoNewPrivs:/ { n = $2 }
	    END { print s, n }' "/proc/$1/status"
}

# every_worker_locked SERVICE: it has workers, each of them ready (idle:
# it locks down before it says so) and filtered.
every_worker_locked() {
	local pid n=0
	for pid in $(worker_pids "$1"); do
		[[ "$(title_of "$pid")" == *"[idle]"* ]] || return 1
		[ "$(seccomp_of "$pid")" = "2 1" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

@test "every built-in protocol's workers, TCP and UDP, run with Seccomp 2 and NoNewPrivs" {
	local p port udp services="" name
	: >"$CONF"
	echo 'log_level = "debug"' >>"$CONF"
	for p in echo discard prefix timestamp daytime time chargen status; do
		port=$(free_port)
		udp=", \"udp:127.0.0.1:$port\""
		[ "$p" = status ] && udp=""
		cat >>"$CONF" <<CONF
service $p {
	listen = {"127.0.0.1:$port"$udp}
	protocol = "$p"
	workers = 1
}
CONF
		services="$services $p"
		# A UDP-only service too: one listener, so the worker waits in
		# recvmsg() itself.
		[ "$p" = status ] && continue
		port=$(free_port)
		cat >>"$CONF" <<CONF
service ${p}_udp {
	listen = {"udp:127.0.0.1:$port"}
	protocol = "$p"
	workers = 1
}
CONF
		services="$services ${p}_udp"
	done
	start_daemon
	for name in $services; do
		wait_until every_worker_locked "$name"
	done
	log_has "worker echo#1: debug: sandbox on: seccomp, landlock ABI"
}

@test "sandbox = off and log, set globally or per service; -T prints each service's mode" {
	local off_port
	off_port=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
sandbox = "log"
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
}
service plain {
	listen = {"127.0.0.1:$off_port"}
	protocol = "echo"
	workers = 1
	sandbox = "off"
}
CONF
	run "$PREFORKD" -T -c "$CONF"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^sandbox = "log"$' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^	sandbox = "log"$' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^	sandbox = "off"$' <<<"$output")" -eq 1 ]
	start_daemon
	wait_until every_worker_locked svc
	wait_until has_workers 1 plain
	[ "$(seccomp_of "$(worker_pids plain)")" = "0 0" ]
	log_has "worker svc#1: debug: sandbox log: seccomp"
	[ "$(talk <<<"hello")" = hello ]
	[ "$(talk "" "$off_port" <<<"hello")" = hello ]
	sed -i 's/^sandbox = "log"$/sandbox = "maybe"/' "$CONF"
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown sandbox "maybe" (expected auto, on, log or off)'* ]]
}

# same_answers INPUT: the answers to INPUT of port $PORT (sandbox on) and
# $OFF (sandbox off) agree, byte for byte, in hex; a second may turn
# between the two, so a few tries.
same_answers() {
	local on off
	for _ in 1 2 3 4 5; do
		on=$(printf '%s' "$1" | talk | od -An -tx1)
		off=$(printf '%s' "$1" | talk "" "$OFF" | od -An -tx1)
		[ -n "$on" ] && [ "$on" = "$off" ] && return 0
	done
	echo "sandbox on: $on" >&2
	echo "sandbox off: $off" >&2
	return 1
}

@test "daytime, time and timestamp answer byte for byte the same with the sandbox on and off" {
	local p
	[ -e /usr/share/zoneinfo/Europe/Paris ] || skip "no tzdata"
	for p in daytime time timestamp; do
		OFF=$(free_port)
		cat >"$CONF" <<CONF
service on {
	listen = {"127.0.0.1:$PORT"}
	protocol = "$p"
	time_format = "[%a %b %e %H:%M:%S %Y %Z] "
	sandbox = "on"
}
service off {
	listen = {"127.0.0.1:$OFF"}
	protocol = "$p"
	time_format = "[%a %b %e %H:%M:%S %Y %Z] "
	sandbox = "off"
}
CONF
		# A time zone from a file: read before the lock, or the
		# sandboxed worker would answer in UTC.
		TZ=Europe/Paris start_daemon
		wait_until every_worker_locked on
		if [ "$p" = timestamp ]; then
			same_answers "x"
			[[ "$(printf 'x' | talk)" == *" CE"*"T] x" ]]
		else
			same_answers ""
		fi
		stop_daemon
	done
}

# The test build: its workers make a forbidden call on SIGUSR2.
hooked() {
	NORMAL="$PREFORKD"
	PREFORKD="${PREFORKD_TESTHOOKS_BIN:-$ROOT/build/testhooks/preforkd}"
	[ -x "$PREFORKD" ] ||
	    skip "no $PREFORKD (make build/testhooks/preforkd)"
}

@test "a forbidden call kills the worker: the log names it, -s status counts it, a replacement serves" {
	local pid
	hooked
	allow_worker_crash
	write_config 'protocol = "echo"
	workers = 1'
	PREFORKD_TEST_SYSCALL=ptrace start_daemon
	wait_until every_worker_locked svc
	pid=$(worker_pids svc)
	"$NORMAL" -s status -p "$PIDFILE" | grep -q ' sandbox_kills=0$'
	kill -USR2 "$pid"
	wait_log "worker $pid \(service svc\) killed by the sandbox: system call ptrace \([0-9]+\)$"
	"$NORMAL" -s status -p "$PIDFILE" | grep -q ' sandbox_kills=1$'
	wait_until every_worker_locked svc
	[ "$(worker_pids svc)" != "$pid" ]
	[ "$(talk <<<"still here")" = "still here" ]
	# A crash as the pool counts them.
	log_has "service svc: worker died [0-9.]+s after start"
}

@test "a worker may signal itself: the filter the master built names each worker's own pid" {
	local pid pids
	hooked
	write_config 'protocol = "echo"
	workers = 2'
	PREFORKD_TEST_SYSCALL=self start_daemon
	wait_until every_worker_locked svc
	pids=$(worker_pids svc)
	[ "$(wc -w <<<"$pids")" -eq 2 ]
	for pid in $pids; do
		kill -USR2 "$pid"
	done
	[ "$(talk <<<"hello")" = hello ]
	[ "$(talk <<<"again")" = again ]
	for pid in $pids; do
		is_worker "$pid"
	done
	refute log_has "killed by"
}

@test "another architecture's call (x32 on x86_64) kills the worker too" {
	local pid
	[ "$(uname -m)" = x86_64 ] || skip "not x86_64"
	hooked
	allow_worker_crash
	write_config 'protocol = "echo"
	workers = 1'
	PREFORKD_TEST_SYSCALL=x32 start_daemon
	wait_until every_worker_locked svc
	pid=$(worker_pids svc)
	kill -USR2 "$pid"
	wait_log "worker $pid \(service svc\) killed by the sandbox: system call x32:getpid \(1073741863\)$"
}

@test "an i386 call (int 0x80 on x86_64) kills the worker too" {
	local pid
	[ "$(uname -m)" = x86_64 ] || skip "not x86_64"
	hooked
	allow_worker_crash
	write_config 'protocol = "echo"
	workers = 1'
	PREFORKD_TEST_SYSCALL=i386 start_daemon
	wait_until every_worker_locked svc
	pid=$(worker_pids svc)
	kill -USR2 "$pid"
	wait_log "worker $pid \(service svc\) killed by (the sandbox|signal)"
	log_has "worker $pid \(service svc\) killed by signal SEGV" &&
	    skip "this kernel has no i386 emulation (int 0x80 faults)"
	log_has "worker $pid \(service svc\) killed by the sandbox: system call i386:getpid \(20\)$"
}

@test "sandbox = log denies nothing: the call goes through and the worker lives" {
	local pid
	hooked
	write_config 'protocol = "echo"
	workers = 1
	sandbox = "log"'
	PREFORKD_TEST_SYSCALL=getppid start_daemon
	wait_until every_worker_locked svc
	pid=$(worker_pids svc)
	kill -USR2 "$pid"
	[ "$(talk <<<"hello")" = hello ]
	is_worker "$pid"
	refute log_has "killed by"
}
