#!/usr/bin/env bats
# Faults a long-running daemon meets, and survives.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "out of descriptors, accept backs off, logs once, and serving resumes" {
	write_config 'protocol = "echo"
	workers = 1'
	start_daemon
	local w n=0
	w=$(worker_pids)
	# Leave the worker no descriptor to accept into: the limit is the
	# lowest descriptor number it has free.
	while [ -e "/proc/$w/fd/$n" ]; do
		n=$((n + 1))
	done
	prlimit --pid "$w" --nofile="$n:"
	# A worker blocked in accept() took its descriptor before it slept:
	# this first client still gets in; the next accept() cannot.
	run talk <<<"first"
	[ "$output" = "first" ]
	echo "late" | "$PFCLIENT" -t 10 127.0.0.1 "$PORT" >"$T/out" 2>&1 &
	local client=$!
	BACKGROUND="$client"
	wait_log "service svc: accept \(retrying every 100 ms, logged once until it works again\): Too many open files"
	sleep 1
	[ "$(log_count "service svc: accept")" -eq 1 ]
	prlimit --pid "$w" --nofile=1024:
	wait "$client"
	[ "$(cat "$T/out")" = "late" ]
	wait_log "service svc: accept works again after [0-9]+ failures"
	# The same worker: it never exited for it.
	[ "$(worker_pids)" = "$w" ]
}

@test "the listen queue holds 511 clients by default, as nginx's and Apache's" {
	write_config 'protocol = "echo"'
	start_daemon
	# ss shows a listening socket's backlog as its Send-Q.
	run ss -ltnH "sport = :$PORT"
	echo "$output"
	[ "$(awk '{ print $3 }' <<<"$output")" = 511 ]
}
