#!/usr/bin/env bats
# A real HAProxy (Debian package haproxy), run from a private config in the
# test's temp dir, in front of two preforkd instances: send-proxy-v2 to
# both, send-proxy (v1) to one.  The clients' own addresses must reach
# preforkd's access log, the load must spread over both instances, and
# stopping one gracefully (-s quit) must lose no client.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
	[ -x "$HAPROXY" ] ||
	    skip "haproxy not found: install the Debian package haproxy (make deps)"
	common_setup
	# Instance A is the helpers' daemon ($CONF, $LOG, $DPID); B is ours.
	B_CONF="$T/b.conf" B_LOG="$T/b.log" B_PIDFILE="$T/b.pid" B_PID=""
	B_PORT=$(free_port)
	FRONT2=$(free_port)
	FRONT1=$(free_port)
	HA_PID=""
}

teardown() {
	stop_haproxy
	stop_b
	common_teardown
}

# instance_config PORT: an echo service that wants PROXY headers.
instance_config() {
	cat <<CONF
log_level = "debug"
shutdown_timeout = 10
service svc {
	listen = {"127.0.0.1:$1"}
	protocol = "echo"
	workers = 4
	proxy_protocol = true
}
CONF
}

start_instances() {
	instance_config "$PORT" >"$CONF"
	start_daemon
	start_b
}

start_b() {
	instance_config "$B_PORT" >"$B_CONF"
	"$PREFORKD" -f -c "$B_CONF" -p "$B_PIDFILE" >>"$B_LOG" 2>&1 3>&- &
	B_PID=$!
	wait_until grep -q "master: notice: started" "$B_LOG"
}

stop_b() {
	[ -n "$B_PID" ] || return 0
	kill -TERM "$B_PID" 2>/dev/null || true
	local deadline=$((SECONDS + 5)) pid
	while kill -0 "$B_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.05
	done
	kill -KILL "$B_PID" 2>/dev/null || true
	wait "$B_PID" 2>/dev/null || true
	# Its workers die with it; any that did not is a bug.
	for pid in $(sed -nE 's/.*spawned worker ([0-9]+) .*/\1/p' "$B_LOG"); do
		if ! is_gone "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
			echo "instance B left worker $pid running" >&2
			return 1
		fi
	done
	B_PID=""
	# As common_teardown does for A's log.
	if grep -E "Sanitizer|runtime error:" "$B_LOG" >&2; then
		return 1
	fi
}

# The private HAProxy: TCP mode, round robin over A and B with
# send-proxy-v2 on one frontend, send-proxy to A alone on the other.
# Health checks every 200 ms (they send a PROXY v2 LOCAL header); a
# refused connection is retried on the other server.
start_haproxy() {
	cat >"$T/haproxy.cfg" <<CFG
global
	maxconn 256
defaults
	mode tcp
	timeout connect 2s
	timeout client 10s
	timeout server 10s
	retries 3
	option redispatch 1
frontend v2
	bind 127.0.0.1:$FRONT2
	default_backend pair
frontend v1
	bind 127.0.0.1:$FRONT1
	default_backend single
backend pair
	balance roundrobin
	server a 127.0.0.1:$PORT send-proxy-v2 check inter 200ms fall 1 rise 1
	server b 127.0.0.1:$B_PORT send-proxy-v2 check inter 200ms fall 1 rise 1
backend single
	server a 127.0.0.1:$PORT send-proxy
CFG
	"$HAPROXY" -c -q -f "$T/haproxy.cfg"
	"$HAPROXY" -db -f "$T/haproxy.cfg" >"$T/haproxy.out" 2>&1 3>&- &
	HA_PID=$!
	wait_until listening "$FRONT2"
	wait_until listening "$FRONT1"
	# Both servers answered a health check: HAProxy counts them up.
	wait_until grep -qE "access service=svc client=(127\.0\.0\.1:[0-9]+) proxy=\1 " "$LOG"
	wait_until grep -qE "access service=svc client=(127\.0\.0\.1:[0-9]+) proxy=\1 " "$B_LOG"
}

stop_haproxy() {
	[ -n "$HA_PID" ] || return 0
	kill -TERM "$HA_PID" 2>/dev/null || true
	wait_until_gone "$HA_PID" || kill -KILL "$HA_PID" 2>/dev/null || true
	wait "$HA_PID" 2>/dev/null || true
	HA_PID=""
}

listening() {
	[ -n "$(ss -ltnH "sport = :$1")" ]
}

not_listening() {
	! listening "$1"
}

# clients PORT OUT [options]: four clients, from 127.0.0.2 to 127.0.0.5.
clients() {
	local port="$1" out="$2"
	shift 2
	python3 "$ROOT/tests/helper/haclients.py" 127.0.0.1 "$port" \
	    127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 "$@" >"$out" 2>&1
}

# Access lines in log file $1 for the client "ADDR:PORT" $2, through the
# proxy on 127.0.0.1, its line echoed in full.
client_lines() {
	grep -cE "access service=svc client=${2//./\\.} proxy=127\.0\.0\.1:[0-9]+ in=([0-9]+) out=\1 .*end=closed" "$1" || true
}

# For wait_until, which runs its command again each time: the client
# "ADDR:PORT" $1 is in one access line of A or B / of A; $1 sessions held.
served_once() {
	[ $(($(client_lines "$LOG" "$1") + $(client_lines "$B_LOG" "$1"))) -eq 1 ]
}

served_by_a() {
	[ "$(client_lines "$LOG" "$1")" -eq 1 ]
}

held_count_is() {
	[ "$(grep -c "^held " "$T/held.out")" -eq "$1" ]
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
	run ! grep -E "warning|error" "$LOG" "$B_LOG"
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

# Access lines of the clients (not health checks) in log file $1.
client_count() {
	grep -cE "access service=svc client=127\.0\.0\.[2-5]:" "$1" || true
}

b_served_at_least() {
	[ "$(client_count "$B_LOG")" -ge "$1" ]
}

# Clients in B's listen queue at the quit, which HAProxy could not replay
# elsewhere if B reset them.  A steady stream of new clients, a few hundred a
# second, flows through HAProxy to both instances when B is told to quit:
# the clients B has queued are served before it closes its listening
# socket, and those whose SYN it leaves unanswered meanwhile are retried
# on A.  Whether B has a client queued at the very instant of the quit
# is up to the scheduler (supervisor.bats holds one there for certain):
# before B kept its socket open for them, this lost 2 clients in one run
# of six, and B said nothing.  B's log line proves the new way ran.
@test "HAProxy: -s quit under a steady stream of new clients loses none" {
	start_instances
	start_haproxy
	clients "$FRONT2" "$T/stream.out" --each 250 &
	local stream=$!
	BACKGROUND=$stream
	wait_until b_served_at_least 100
	"$PREFORKD" -s quit -w 30 -p "$B_PIDFILE" >"$T/quit.out" 2>&1
	local rc=0
	wait "$stream" || rc=$?
	BACKGROUND=""
	grep -v "^ok " "$T/stream.out" || true
	echo "A served $(client_count "$LOG"), B served $(client_count "$B_LOG")"
	[ "$rc" -eq 0 ]
	[ "$(grep -c "^ok " "$T/stream.out")" -eq 1000 ]
	# A served the stream on after B had gone.
	[ "$(client_count "$LOG")" -gt "$(client_count "$B_LOG")" ]
	wait_until is_gone "$B_PID"
	grep -q "graceful stop: no client queued after [0-9]* ms" "$B_LOG"
	grep -q "master: notice: stopped" "$B_LOG"
}
