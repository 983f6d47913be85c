#!/usr/bin/env bats
# A real HAProxy (Debian package haproxy), run from a private config in the
# test's temp dir, in front of two preforkd instances: send-proxy-v2 to
# both, send-proxy (v1) to one.  The clients' own addresses must reach
# preforkd's access log, the load must spread over both instances, and
# stopping one gracefully (-s quit) must lose no client.  The same under a
# steady stream of new clients: tests/long/haproxy_load.bats.  Last, an
# exec service behind it (issue 17): the program sees the real client.

load helpers
load helper/haproxy

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	haproxy_setup
}

teardown() {
	haproxy_teardown
	common_teardown
}

@test "HAProxy send-proxy-v2: every client's own address reaches the access log, and the load spreads" {
	start_instances
	start_haproxy
	clients "$FRONT2" "$T/clients.out" --each 10
	cat "$T/clients.out"
	run ! grep "^lost" "$T/clients.out"
	[ "$(grep -c "^ok " "$T/clients.out")" -eq 40 ]
	# Each client, by its address and port, in exactly one access line
	# of one instance.
	local name a b in_a=0 in_b=0
	for name in $(sed -n 's/^ok //p' "$T/clients.out"); do
		wait_until served_once "$name"
		a=$(client_lines "$LOG" "$name")
		b=$(client_lines "$B_LOG" "$name")
		in_a=$((in_a + a)) in_b=$((in_b + b))
	done
	echo "A served $in_a, B served $in_b"
	[ $((in_a + in_b)) -eq 40 ]
	# Round robin: about half each; at least a quarter each.
	[ "$in_a" -ge 10 ] && [ "$in_b" -ge 10 ]
	# HAProxy's health checks are v2 LOCAL headers: no client named.
	grep -qE "PROXY v2 header from 127\.0\.0\.1:[0-9]+: client not named \(local\)" "$LOG"
	refute unexpected_warnings "$LOG" "$B_LOG"
}

@test "HAProxy send-proxy (v1): the clients' addresses reach the access log" {
	start_instances
	start_haproxy
	clients "$FRONT1" "$T/clients.out" --each 3
	cat "$T/clients.out"
	run ! grep "^lost" "$T/clients.out"
	[ "$(grep -c "^ok " "$T/clients.out")" -eq 12 ]
	local name
	for name in $(sed -n 's/^ok //p' "$T/clients.out"); do
		wait_until served_by_a "$name"
	done
	wait_log "debug: service svc: id=[0-9]+-[0-9]+: PROXY v1 header from 127\.0\.0\.1:[0-9]+: client 127\.0\.0\.2:[0-9]+"
	# The v1 frontend sends to A only.
	run ! grep -E "client=127\.0\.0\.[2-5]:" "$B_LOG"
}

# Clients connected to B when it is told to quit finish through it; the
# clients that come after are served by A, those that find B's address
# closed retried there by HAProxy.  (Clients in B's listen queue at the
# quit: the next test.)
@test "HAProxy: stopping one instance with -s quit loses no client" {
	start_instances
	start_haproxy
	# Four sessions, two on each instance (round robin), each held open
	# after its first line until $T/go exists.
	clients "$FRONT2" "$T/held.out" --each 1 --hold "$T/go" &
	local held=$!
	BACKGROUND=$held
	wait_until held_count_is 4
	[ "$(grep -cE "PROXY v2 header from .*: client 127\.0\.0\.[2-5]:" "$B_LOG")" -eq 2 ]
	# B is told to stop gracefully while it serves two of them; -s quit
	# waits for its end.
	"$PREFORKD" -s quit -w 30 -p "$B_PIDFILE" >"$T/quit.out" 2>&1 &
	local quit=$!
	BACKGROUND="$held $quit"
	wait_until grep -q "master: notice: received QUIT: graceful stop" "$B_LOG"
	wait_until not_listening "$B_PORT"
	# New clients meanwhile: all served, by A.
	clients "$FRONT2" "$T/new.out" --each 10
	grep -v "^ok " "$T/new.out" || true
	run ! grep "^lost" "$T/new.out"
	[ "$(grep -c "^ok " "$T/new.out")" -eq 40 ]
	local name
	for name in $(sed -n 's/^ok //p' "$T/new.out"); do
		[ "$(client_lines "$LOG" "$name")" -eq 1 ]
	done
	# B is still there, finishing its two clients.
	kill -0 "$B_PID"
	touch "$T/go"
	local rc=0
	wait "$held" || rc=$?
	cat "$T/held.out"
	[ "$rc" -eq 0 ]
	[ "$(grep -c "^ok " "$T/held.out")" -eq 4 ]
	wait "$quit"
	BACKGROUND=""
	wait_until is_gone "$B_PID"
	grep -q "master: notice: stopped" "$B_LOG"
	# Both of its clients, to the end: two lines each way.
	[ "$(grep -cE "access service=svc client=127\.0\.0\.[2-5]:[0-9]+ proxy=127\.0\.0\.1:[0-9]+ in=([0-9]+) out=\1 .*end=closed" "$B_LOG")" -eq 2 ]
}

# haproxy_exec: a private HAProxy whose frontend v1 sends PROXY v1
# (send-proxy) and v2 sends PROXY v2 (send-proxy-v2) to the exec service
# on $PORT; no health checks, so each connection is a client's.
haproxy_exec() {
	cat >"$T/haproxy.cfg" <<CFG
global
	maxconn 64
defaults
	mode tcp
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend v1
	bind 127.0.0.1:$FRONT1
	default_backend v1
frontend v2
	bind 127.0.0.1:$FRONT2
	default_backend v2
backend v1
	server a 127.0.0.1:$PORT send-proxy
backend v2
	server a 127.0.0.1:$PORT send-proxy-v2
CFG
	"$HAPROXY" -c -q -f "$T/haproxy.cfg"
	"$HAPROXY" -db -f "$T/haproxy.cfg" >"$T/haproxy.out" 2>&1 3>&- &
	HA_PID=$!
	wait_until listening "$FRONT1"
	wait_until listening "$FRONT2"
}

# from_127_0_0_2 PORT: connect to 127.0.0.1:PORT from 127.0.0.2, send two
# lines at once and shut down; print our source port, then the answer.
from_127_0_0_2() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2,
                             source_address=("127.0.0.2", 0))
print(s.getsockname()[1])
s.sendall(b"first bytes\nsecond line\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
sys.stdout.write(data.decode())
PY
}

@test "HAProxy send-proxy and send-proxy-v2 in front of an exec service: the program sees the real client and its first bytes intact" {
	chmod 711 "$T"
	# shellcheck disable=SC2016 # the program's variables
	printf '#!/bin/sh\nread -r line\necho "$TCPREMOTEIP $TCPREMOTEPORT $PREFORKD_PROXY_IP [$line]"\nexec cat\n' >"$T/who.sh"
	chmod 755 "$T/who.sh"
	write_config "protocol = \"exec\"
	command = {\"$T/who.sh\"}
	workers = 2
	proxy_protocol = true"
	start_daemon
	haproxy_exec
	local front port
	for front in "$FRONT1" "$FRONT2"; do
		run from_127_0_0_2 "$front"
		echo "$output"
		[ "$status" -eq 0 ]
		port=${lines[0]}
		[ "${lines[1]}" = "127.0.0.2 $port 127.0.0.1 [first bytes]" ]
		[ "${lines[2]}" = "second line" ]
		[ "${#lines[@]}" -eq 3 ]
		wait_log "access service=svc client=127\.0\.0\.2:$port proxy=127\.0\.0\.1:[0-9]+ .*exit=0"
	done
	wait_log "PROXY v1 header from 127\.0\.0\.1:[0-9]+: client 127\.0\.0\.2:"
	wait_log "PROXY v2 header from 127\.0\.0\.1:[0-9]+: client 127\.0\.0\.2:"
}
