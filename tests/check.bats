#!/usr/bin/env bats
# -t checks what start-up would trip over: directories and addresses.

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

@test "-t: a log or pidfile directory that does not exist fails" {
	write_config 'protocol = "echo"' "log = \"$T/no/dir/x.log\""
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$T/none/p.pid"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	echo "$stderr"
	[ "${stderr_lines[0]}" = "$CONF: log $T/no/dir/x.log: directory $T/no/dir: No such file or directory" ]
	[ "${stderr_lines[1]}" = "$CONF: pidfile $T/none/p.pid: directory $T/none: No such file or directory" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
}

@test "-t: an address another process holds fails, naming it" {
	local other="$T/other.conf"
	printf 'service o {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "echo"\n}\n' \
	    "$PORT" >"$other"
	"$PREFORKD" -f -c "$other" -p "$T/other.pid" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	write_config 'protocol = "echo"'
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$CONF: service svc: listen 127.0.0.1:$PORT: Address already in use (and no preforkd holds the pidfile)" ]
}

@test "-t: an address the running instance holds is fine" {
	write_config 'protocol = "echo"'
	start_daemon
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[ "$output" = "$CONF: syntax ok" ]
	[ -z "$stderr" ]
}
