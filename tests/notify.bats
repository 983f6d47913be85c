#!/usr/bin/env bats
# ready = "notify" (issue 18): a program of accept = false is ready when it
# sends READY=1 on the NOTIFY_SOCKET the master owns, as systemd's
# Type=notify; STATUS= shows in -s status, WATCHDOG=1 puts it under
# worker_timeout, ready_timeout bounds its start, and a datagram from any
# other process is ignored.

load helpers

setup() {
	common_setup
	# As root the programs run as nobody: they must reach their files.
	chmod 711 "$T"
}
teardown() { common_teardown; }

HELPER="$BATS_TEST_DIRNAME/helper"
NOTIFYSERVER="$HELPER/notifyserver.py"

# notify_config ARGS [KEYS]: a pool of notifyserver.py ARGS (each quoted,
# comma-separated) with ready = "notify".
notify_config() {
	write_config "protocol = \"exec\"
	accept = false
	ready = \"notify\"
	command = {\"$NOTIFYSERVER\"${1:+, $1}}
	${2:-workers = 1}"
}

status_text() {
	"$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status
}

# status_says TEXT: -s status has TEXT.
status_says() {
	status_text | grep -qF -- "$1"
}

# programs_in STATE [N]: N programs (1) say STATE in -s status.
programs_in() {
	[ "$(status_text | grep -c "^program .*state=$1")" -eq "${2:-1}" ]
}

# The pid of the program of index 0.
program_pid() {
	status_text | sed -nE 's/^program pid=([0-9]+) .*index=0 .*/\1/p'
}

# holds PID LINK: process PID has a descriptor open on LINK (as
# /proc/PID/fd shows it: socket:[INODE], pipe:[INODE]).
holds() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = "$2" ] && return 0
	done
	return 1
}

# The NOTIFY_SOCKET in the environment of process $1, as a stranger who
# may read it finds it.
notify_socket_of() {
	tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^NOTIFY_SOCKET=//p'
}

@test "ready = \"notify\" -t: only with accept = false, FILE:LINE; ready_timeout from 1" {
	cat >"$CONF" <<CONF
service a {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	ready = "notify"
}
service b {
	listen = {"127.0.0.1:$((PORT + 1))"}
	protocol = "exec"
	command = {"/bin/cat"}
	accept = false
	ready = "notify"
	ready_timeout = 0
}
CONF
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"preforkd.conf:5: service a: ready = \"notify\" needs accept = false"* ]]
	[[ "$output" == *"ready_timeout"* ]]
	refute grep -q "service b: ready" <<<"$output"
	# What -T prints, ready = "started" everywhere, loads.
	write_config 'protocol = "echo"'
	"$PREFORKD" -T -c "$CONF" >"$T/printed.conf"
	grep -q 'ready = "started"' "$T/printed.conf"
	"$PREFORKD" -t -c "$T/printed.conf"
}

@test "a program is starting until READY=1, then ready, with its STATUS= in -s status" {
	notify_config "\"--wait\", \"$T/go\", \"--status\", \"serving \\\"all\\\" of it\""
	start_daemon
	wait_until programs_in starting
	# It accepts already, but is not ready for the pool until it says so.
	sleep 0.3
	programs_in starting
	refute log_has "ready after"
	pid=$(program_pid)
	[[ "$(notify_socket_of "$pid")" == @preforkd-notify-* ]]
	touch "$T/go"
	wait_until programs_in ready
	status_says "index=0 state=ready time="
	status_says 'status="serving \"all\" of it"'
	log_has "program $pid \(index 0\) of service svc ready after 0\.[3-9]"
	talk </dev/null | grep -qx "pid=$pid"
}

@test "a program that never sends READY=1 is a failed start after ready_timeout, and the log says why" {
	notify_config '"--never"' 'workers = 1
	ready_timeout = 1'
	start_daemon
	wait_until programs_in starting
	pid=$(program_pid)
	wait_log "program $pid \(index 0\) did not send READY=1 within 1s: killing its process group, a failed start"
	wait_log "program $pid \(index 0\) was killed for sending no READY=1 within 1s, 1\.[0-9]*s after its start: failed start 1 in a row"
	status_text | grep -qE '^service name=svc .* degraded failed_starts=1'
	# Backed off, then started again, starting again.
	wait_until test_log_count_above "started program" 1
}

@test "a forged READY=1 and STATUS= from a process preforkd did not start are ignored" {
	notify_config "\"--wait\", \"$T/go\", \"--status\", \"mine\""
	start_daemon
	wait_until programs_in starting
	sock=$(notify_socket_of "$(program_pid)")
	[ -n "$sock" ]
	/usr/bin/python3 -c '
import socket, sys
addr = sys.argv[1]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1\nSTATUS=pwned", addr)
print("sent")' "$sock" | grep -qx sent
	wait_log "notify socket: ignored a datagram from pid [0-9]+ \(uid [0-9]+\): not the pid of a program"
	programs_in starting
	refute status_says pwned
	# The program's own word still counts.
	touch "$T/go"
	wait_until programs_in ready
	status_says 'status="mine"'
}

@test "READY=1 from a child of the program is not the program's: ignored" {
	notify_config '"--from-child"'
	start_daemon
	wait_until programs_in starting
	wait_log "notify socket: ignored a datagram from pid [0-9]+ \(uid [0-9]+\): not the pid of a program"
	programs_in starting
	refute log_has "ready after"
}

@test "STOPPING=1: quitting, replaced at once, its exit no failed start" {
	notify_config "\"--stop\", \"$T/stop\""
	start_daemon
	wait_until programs_in ready
	pid=$(program_pid)
	touch "$T/stop"
	wait_log "program $pid \(index 0\) sent STOPPING=1; replacing it"
	wait_log "worker $pid \(service svc\) exited"
	# Its replacement took index 0 and is ready in turn; the service is
	# not degraded.
	wait_until test_log_count_above "ready after" 1
	[ "$(program_pid)" != "$pid" ]
	refute log_has "failed start"
	refute status_says degraded
}

@test "ready = \"started\", the default: no NOTIFY_SOCKET, ready at its exec" {
	write_config "protocol = \"exec\"
	accept = false
	command = {\"$HELPER/pidserver.py\"}
	workers = 1"
	NOTIFY_SOCKET=@not-for-programs start_daemon
	wait_until programs_in ready
	pid=$(program_pid)
	log_has "program $pid \(index 0\) of service svc ready after 0\.0"
	refute grep -qa NOTIFY_SOCKET "/proc/$pid/environ"
	refute log_has "notify socket @"
}

@test "the notify socket and a program's output pipe are the master's: a worker forked after them holds neither" {
	local port2
	port2=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
service prog {
	listen = {"127.0.0.1:$PORT"}
	protocol = "exec"
	accept = false
	ready = "notify"
	command = {"$NOTIFYSERVER"}
	workers = 1
}
service echo {
	listen = {"127.0.0.1:$port2"}
	protocol = "echo"
	workers = 2
}
CONF
	start_daemon
	wait_until programs_in ready
	wait_until has_workers 2 echo
	name=$(sed -nE 's/.*notify socket (@preforkd-notify-[0-9]+-[0-9a-f]+): .*/\1/p' "$LOG")
	[ -n "$name" ]
	inode=$(awk -v n="$name" '$8 == n { print $7 }' /proc/net/unix)
	[ -n "$inode" ]
	pipe=$(readlink "/proc/$(program_pid)/fd/1")
	[[ "$pipe" == pipe:* ]]
	# The master holds both ...
	holds "$DPID" "socket:[$inode]"
	holds "$DPID" "$pipe"
	# ... and none of its workers either.
	checked=0
	for w in $(worker_pids echo); do
		refute holds "$w" "socket:[$inode]"
		refute holds "$w" "$pipe"
		checked=$((checked + 1))
	done
	[ "$checked" -eq 2 ]
}

@test "WATCHDOG=1 once, then silence: killed after worker_timeout and replaced" {
	notify_config '"--watchdog"' 'workers = 1
	worker_timeout = 1'
	start_daemon
	wait_until programs_in ready
	pid=$(program_pid)
	log_has "program $pid: notifyserver $pid up, .* WATCHDOG_USEC=1000000 WATCHDOG_PID=$pid\$"
	wait_log "program $pid \(index 0\) sent no WATCHDOG=1 for 1\.[0-9]*s \(worker_timeout 1s\): killing its process group"
	wait_log "program $pid \(index 0\) was killed for sending no WATCHDOG=1 within 1s,"
	# Its replacement, with the same index, is ready in turn.
	wait_until test_log_count_above "ready after" 1
	refute log_has "program .* sent no WATCHDOG=1 for 0\."
}

@test "gunicorn with ready = \"notify\": ready by its own READY=1, its STATUS= in -s status" {
	need_tool gunicorn
	need_tool curl
	write_config "protocol = \"exec\"
	accept = false
	ready = \"notify\"
	command = {\"$(tool_path gunicorn)\", \"--chdir\", \"$HELPER\", \"-w\", \"1\", \"hello_app:app\"}
	workers = 1"
	start_daemon
	wait_until programs_in ready
	status_says 'status="Gunicorn arbiter booted"'
	curl_ok() { [ "$(curl -sf -m 2 "http://127.0.0.1:$PORT/")" = "hello from gunicorn" ]; }
	wait_until curl_ok
}

@test "a reload to a program that never sends READY=1: the old ones keep serving, -s reload fails with the reason" {
	notify_config '' 'workers = 2
	ready_timeout = 1'
	start_daemon
	wait_until programs_in ready 2
	old=$(status_text | sed -nE 's/^program pid=([0-9]+) .*/\1/p' | sort -n)
	notify_config '"--never"' 'workers = 2
	ready_timeout = 1'
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s reload
	[ "$status" -eq 9 ]
	[[ "$output" == *"reload failed: service svc: program "*"was killed for sending no READY=1 within 1s, 1."*"the old programs keep serving"* ]]
	# Clients are answered (a starting program accepts too: the
	# sockets are the pool's), and the same two old programs are ready.
	for _ in 1 2 3 4; do
		talk </dev/null | grep -q "^pid="
	done
	[ "$(status_text | sed -nE 's/^program pid=([0-9]+) .* generation=1 .*state=ready.*/\1/p' | sort -n)" = "$old" ]
}

@test "gunicorn, ready = \"notify\": a reload with a changed argument under a curl loop fails no request, and every old gunicorn is gone" {
	need_tool gunicorn
	need_tool curl
	gunicorn_config() {
		write_config "protocol = \"exec\"
		accept = false
		ready = \"notify\"
		env = {\"TAG=$1\"}
		command = {\"$(tool_path gunicorn)\", \"--chdir\", \"$HELPER\", \"-w\", \"1\", \"--graceful-timeout\", \"5\", \"hello_app:app\"}
		workers = 2"
	}
	gunicorn_config a
	start_daemon
	wait_until programs_in ready 2
	# Every process of the old arbiters' groups: arbiter and worker.
	old=$(status_text | sed -nE 's/^program pid=([0-9]+) .*/\1/p')
	old_tree=$(for p in $old; do pgrep -g "$p"; done | sort -n)
	[ "$(wc -w <<<"$old_tree")" -ge 4 ]
	gunicorn_config b
	("$PREFORKD" -c "$CONF" -p "$PIDFILE" -s reload; echo "$?" >"$T/rc") &
	BACKGROUND="$!"
	asked=0 failed=0
	while [ ! -s "$T/rc" ]; do
		curl -sf -m 3 "http://127.0.0.1:$PORT/" >>"$T/answers" || failed=$((failed + 1))
		asked=$((asked + 1))
	done
	[ "$(cat "$T/rc")" -eq 0 ]
	[ "$failed" -eq 0 ]
	[ "$asked" -gt 5 ]
	grep -qx "hello a" "$T/answers"
	[ "$(curl -sf -m 3 "http://127.0.0.1:$PORT/")" = "hello b" ]
	for p in $old_tree; do wait_until is_gone "$p"; done
}
