#!/usr/bin/env bats
# Faults a long-running daemon meets, and survives.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "out of descriptors, accept backs off, logs once, and serving resumes" {
	# Root workers: prlimit --pid needs the worker's uid (or
	# CAP_SYS_RESOURCE, which a container's root may lack).
	write_config 'protocol = "echo"
	workers = 1' 'user = "root"'
	start_daemon
	wait_until has_workers 1
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

from() {
	python3 "$ROOT/tests/helper/from.py" "$@"
}

@test "allow and deny: a refused client is closed before any byte of service, and logged" {
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$PORT", "udp:127.0.0.1:$PORT"}
	protocol = "echo"
	banner = "WELCOME\n"
	allow = {"127.0.0.0/29"}
	deny = {"127.0.0.3"}
}
CONF
	start_daemon
	run from 127.0.0.2 127.0.0.1 "$PORT"
	[ "$output" = "$(printf 'WELCOME\nhello')" ]
	# Denied, though inside the allowed block: deny wins.
	run from 127.0.0.3 127.0.0.1 "$PORT"
	[ "$output" = "closed" ]
	# Outside every allowed block.
	run from 127.0.0.9 127.0.0.1 "$PORT"
	[ "$output" = "closed" ]
	wait_log "access service=svc client=127\.0\.0\.3:[0-9]+ in=0 out=0 .*end=refused"
	wait_log "access service=svc client=127\.0\.0\.9:[0-9]+ in=0 out=0 .*end=refused"
	# Over UDP, a refused datagram gets no answer.
	run from 127.0.0.2 127.0.0.1 "$PORT" --udp
	[ "$output" = "hello" ]
	run from 127.0.0.3 127.0.0.1 "$PORT" --udp
	[ "$output" = "no answer" ]
	wait_log "datagram service=svc client=127\.0\.0\.3:[0-9]+ refused"
}
