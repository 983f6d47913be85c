#!/usr/bin/env bats
# A real HAProxy (Debian package haproxy), run from a private config in the
# test's temp dir, in front of two preforkd instances: send-proxy-v2 to
# both, send-proxy (v1) to one.  The clients' own addresses must reach
# preforkd's access log, the load must spread over both instances, and
# stopping one gracefully (-s quit) must lose no client.  The same under a
# steady stream of new clients: tests/long/haproxy_load.bats.

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
