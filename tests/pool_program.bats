#!/usr/bin/env bats
# accept = false: a pool whose workers are the service's program itself,
# started with the listening sockets as systemd passes them (issue 18),
# against real programs: a Python socket server, gunicorn, lighttpd and
# in.tftpd.

load helpers

setup() {
	common_setup
	# As root the programs run as nobody: they must reach their files.
	chmod 711 "$T"
}
teardown() { common_teardown; }

HELPER="$BATS_TEST_DIRNAME/helper"

# program_config COMMAND [KEYS] [GLOBALS]: a pool of programs.
program_config() {
	write_config "protocol = \"exec\"
	accept = false
	command = {$1}
	${2:-workers = 3}" "${3:-}"
}

ask() {
	talk </dev/null
}

# The distinct pids that answer n asks.
pids_seen() {
	for _ in $(seq "$1"); do ask; done | sed -E 's/^pid=([0-9]+) .*/\1/' | sort -u
}

ready_programs() {
	[ "$("$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status | grep -c '^program .*state=ready')" -eq "${1:-3}" ]
}

@test "accept = false -t: only with protocol exec, a fixed pool, stdin = socket with one listener" {
	cat >"$CONF" <<CONF
service a {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	accept = false
}
service b {
	listen = {"127.0.0.1:$((PORT + 1))", "127.0.0.1:$((PORT + 2))"}
	protocol = "exec"
	command = {"/bin/cat"}
	accept = false
	stdin = "socket"
	max_spare = 2
}
service c {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "exec"
	command = {"/bin/cat"}
	accept = false
	quit_signal = "KILLME"
}
CONF
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"preforkd.conf:5: service a: accept = false is for protocol \"exec\" only"* ]]
	[[ "$output" == *"preforkd.conf:13: service b: with accept = false the pool is fixed"* ]]
	[[ "$output" == *"preforkd.conf:13: service b: stdin = \"socket\" needs accept = false and exactly one listen address"* ]]
	[[ "$output" == *"quit_signal"*"TERM, QUIT, INT"* ]]
	# A UDP address is fine for a program.
	refute grep -q "service c: protocol \"exec\" does not work over UDP" <<<"$output"
}

@test "workers = 3 are three programs on fd 3, each with LISTEN_PID its own pid and a stable index" {
	program_config "\"$HELPER/pidserver.py\""
	start_daemon
	wait_until ready_programs 3
	[ "$(pids_seen 12 | wc -l)" -eq 3 ]
	for _ in $(seq 6); do
		line=$(ask)
		[[ "$line" =~ ^pid=([0-9]+)\ listen_pid=([0-9]+)\ index=([0-2])\ fds=1$ ]]
		[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	done
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status
	[ "$(grep -c '^program pid=[0-9]* service=svc generation=1 index=[0-2] state=ready' <<<"$output")" -eq 3 ]
	# Its stdout is in the log, named by service and pid.
	grep -Eq "service svc: program [0-9]+: pidserver [0-9]+ up, names svc$" "$LOG"
}

@test "a killed program is replaced at once, with its index, and no client of a loop is lost" {
	program_config "\"$HELPER/pidserver.py\""
	start_daemon
	wait_until ready_programs 3
	victim=$(ask | sed -E 's/^pid=([0-9]+) .* index=([0-9]).*/\1 \2/')
	read -r vpid vindex <<<"$victim"
	fails=0
	kill -KILL "$vpid"
	for _ in $(seq 60); do
		ask | grep -q '^pid=' || fails=$((fails + 1))
	done
	[ "$fails" -eq 0 ]
	wait_until ready_programs 3
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status
	newpid=$(grep "index=$vindex state=ready" <<<"$output" | sed -E 's/^program pid=([0-9]+) .*/\1/')
	[ -n "$newpid" ] && [ "$newpid" != "$vpid" ]
	pids_seen 12 | grep -qx "$newpid"
	grep -q "program $vpid (index $vindex) was killed by signal KILL" "$LOG"
}

@test "a program that exits at once backs off, bounded, and the service says degraded" {
	printf '#!/bin/sh\necho "no database here" >&2\nexit 1\n' >"$T/bad"
	chmod 755 "$T/bad"
	program_config "\"$T/bad\"" "workers = 1"
	start_daemon
	sleep 1.5
	starts=$(grep -c "started program" "$LOG")
	# 100 ms doubling: about 5 starts in 1.5 s, never a spin.
	[ "$starts" -ge 3 ] && [ "$starts" -le 8 ]
	grep -q "failed start 3 in a row, next in 0\.[3-5]" "$LOG"
	grep -q "its last line: no database here" "$LOG"
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status
	echo "$output"
	# With why the last start failed: its exit status and its last line.
	grep -Eqx 'service name=svc .* degraded failed_starts=[0-9]+ last="program [0-9]+ \(index 0\) exited with status 1 [0-9.]+s after its start; its last line: no database here"' <<<"$output"
	# Fixing the file and reloading brings the pool back.
	cp "$HELPER/pidserver.py" "$T/bad"
	kill -HUP "$DPID"
	wait_until ready_programs 1
	ask | grep -q '^pid='
}

# start_manager SOCKET: listen where NOTIFY_SOCKET will point, as
# systemd.bats's manager does; every datagram a line of $NOTES.
start_manager() {
	NOTES="$T/notes"
	python3 "$HELPER/dgram_sink.py" "$1" "$NOTES" 3>&- &
	BACKGROUND="${BACKGROUND:-} $!"
	wait_until grep -qsx bound "$NOTES"
}

# The STATUS= of every datagram so far, one a line.
statuses() {
	sed -n '2,$p' "$NOTES" | tr '\t' '\n' | sed -n 's/^STATUS=//p'
}

@test "the service manager hears STATUS= when a program service becomes degraded, and when it recovers" {
	cat >"$T/flaky" <<SH
#!/bin/sh
if [ -e "$T/broken" ]; then echo "no database here" >&2; exit 1; fi
exec "$HELPER/pidserver.py"
SH
	chmod 755 "$T/flaky"
	touch "$T/broken"
	start_manager "$T/notify.sock"
	program_config "\"$T/flaky\"" "workers = 1"
	NOTIFY_SOCKET="$T/notify.sock" start_daemon
	wait_until grep -qs "STATUS=degraded: " "$NOTES"
	rm "$T/broken"
	statuses
	statuses | grep -Eqx 'degraded: service svc: program [0-9]+ \(index 0\) exited with status 1 [0-9.]+s after its start; its last line: no database here; generation 1, [01] worker\(s\) in 1 service\(s\)'
	# A status line alone: the state (READY=1) does not change.
	grep -Eq $'^[0-9]+\t[0-9]+\tSTATUS=degraded: ' "$NOTES"
	# Once a program has settled, the normal status again.
	recovered() { statuses | tail -n 1 | grep -qx 'generation 1, 1 worker(s) in 1 service(s)'; }
	wait_until recovered
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status
	refute grep -q degraded <<<"$output"
	ask | grep -q '^pid='
}

@test "SIGKILL of the master leaves no program after a second" {
	program_config "\"$HELPER/pidserver.py\""
	start_daemon
	wait_until ready_programs 3
	pids=$("$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status | sed -nE 's/^program pid=([0-9]+) .*/\1/p')
	[ "$(wc -w <<<"$pids")" -eq 3 ]
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=""
	sleep 1
	for p in $pids; do is_gone "$p"; done
}

@test "graceful stop sends quit_signal to each program's group" {
	cat >"$T/slowquit" <<'PY'
#!/usr/bin/python3
import os, signal, socket, sys
def bye(signo, frame):
    print("got signal %d" % signo, flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, bye)
signal.signal(signal.SIGTERM, bye)
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept(); c.sendall(b"pid=%d\n" % os.getpid()); c.close()
PY
	chmod 755 "$T/slowquit"
	program_config "\"$T/slowquit\"" "workers = 2
	quit_signal = \"INT\""
	start_daemon
	wait_until ready_programs 2
	kill -QUIT "$DPID"
	wait_log "master: notice: stopped"
	[ "$(grep -c 'got signal 2$' "$LOG")" -eq 2 ]
}

@test "in.tftpd over UDP with stdin = socket: tftp gets a 100 kB file byte-exact" {
	need_tool in.tftpd tftpd-hpa
	need_tool tftp tftp-hpa
	mkdir "$T/root"
	head -c 100000 /dev/urandom >"$T/root/file.bin"
	chmod -R a+rX "$T/root"
	cat >"$CONF" <<CONF
user = "root"
service tftp {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "exec"
	accept = false
	stdin = "socket"
	command = {"$(tool_path in.tftpd)", "-s", "$T/root"}
	workers = 1
}
CONF
	start_daemon
	(cd "$T" && timeout 10 tftp -m binary 127.0.0.1 "$PORT" -c get file.bin got.bin)
	cmp "$T/root/file.bin" "$T/got.bin"
}

@test "lighttpd with systemd socket activation: four processes serve one port" {
	need_tool lighttpd
	need_tool curl
	mkdir "$T/www"
	echo "hello from lighttpd" >"$T/www/index.html"
	chmod -R a+rX "$T/www"
	cat >"$T/lighttpd.conf" <<LC
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.systemd-socket-activation = "enable"
LC
	chmod 644 "$T/lighttpd.conf"
	program_config "\"$(tool_path lighttpd)\", \"-D\", \"-f\", \"$T/lighttpd.conf\"" "workers = 4
	quit_signal = \"INT\""
	start_daemon
	wait_until ready_programs 4
	for _ in $(seq 8); do
		[ "$(curl -sf -m 2 "http://127.0.0.1:$PORT/index.html")" = "hello from lighttpd" ]
	done
	[ "$(pgrep -c -f "lighttpd -D -f $T/lighttpd.conf")" -eq 4 ]
}

@test "lighttpd: -s quit loses no request in flight, then the port refuses" {
	need_tool lighttpd
	need_tool curl
	mkdir "$T/www"
	# 16 MB at 16 MB/s: each request is still in flight at -s quit,
	# with more left to send than the socket buffers of both ends hold
	# (about 12 MB here): quit_signal = "TERM", lighttpd's fast stop,
	# cuts them short.
	head -c 16000000 /dev/zero >"$T/www/big.bin"
	chmod -R a+rX "$T/www"
	cat >"$T/lighttpd.conf" <<LC
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.systemd-socket-activation = "enable"
LC
	chmod 644 "$T/lighttpd.conf"
	program_config "\"$(tool_path lighttpd)\", \"-D\", \"-f\", \"$T/lighttpd.conf\"" "workers = 4
	quit_signal = \"INT\""
	start_daemon
	wait_until ready_programs 4
	local i
	for i in 1 2 3 4; do
		curl -s -m 10 --limit-rate 16M -o "$T/got.$i" -w '%{http_code}' \
		    "http://127.0.0.1:$PORT/big.bin" >"$T/code.$i" 2>&1 3>&- &
		BACKGROUND="${BACKGROUND:-} $!"
	done
	# Every request has its first bytes: in flight.
	begun() { for i in 1 2 3 4; do [ -s "$T/got.$i" ] || return 1; done; }
	wait_until begun
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s quit
	[ "$status" -eq 0 ]
	wait "$DPID" 2>/dev/null || true
	DPID=""
	for i in 1 2 3 4; do
		wait_until test -s "$T/code.$i"
		echo "request $i: $(cat "$T/code.$i"), $(stat -c %s "$T/got.$i") bytes"
		[ "$(cat "$T/code.$i")" = 200 ]
		cmp "$T/www/big.bin" "$T/got.$i"
	done
	# The port is closed with the last program.
	run curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/big.bin"
	[ "$status" -eq 7 ]
	[ "$(pgrep -c -f "lighttpd -D -f $T/lighttpd.conf")" -eq 0 ]
}

@test "gunicorn takes its socket from LISTEN_FDS and answers" {
	need_tool gunicorn
	need_tool curl
	program_config "\"$(tool_path gunicorn)\", \"--chdir\", \"$HELPER\", \"-w\", \"1\", \"hello_app:app\"" "workers = 2"
	start_daemon
	curl_ok() { [ "$(curl -sf -m 2 "http://127.0.0.1:$PORT/")" = "hello from gunicorn" ]; }
	wait_until curl_ok
	grep -q "service svc: program [0-9]*: .*Listening at: " "$LOG"
}
