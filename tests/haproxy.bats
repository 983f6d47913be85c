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
		wait_until test "$(($(client_lines "$LOG" "$name") + $(client_lines "$B_LOG" "$name")))" -eq 1
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
		wait_until test "$(client_lines "$LOG" "$name")" -eq 1
	done
	wait_log "debug: service svc: id=[0-9]+-[0-9]+: PROXY v1 header from 127\.0\.0\.1:[0-9]+: client 127\.0\.0\.2:[0-9]+"
	# The v1 frontend sends to A only.
	run ! grep -E "client=127\.0\.0\.[2-5]:" "$B_LOG"
}

@test "HAProxy: stopping one instance with -s quit loses no client" {
	start_instances
	start_haproxy
	clients "$FRONT2" "$T/clients.out" --each 15 --until "$T/stop" &
	local runner=$!
	BACKGROUND=$runner
	# Both instances are serving clients ...
	wait_until grep -qE "client=127\.0\.0\.[2-5]:[0-9]+ proxy=" "$B_LOG"
	wait_until grep -qE "client=127\.0\.0\.[2-5]:[0-9]+ proxy=" "$LOG"
	# ... when B is told to stop gracefully; -s quit returns once it
	# has exited.
	run "$PREFORKD" -s quit -p "$B_PIDFILE"
	[ "$status" -eq 0 ]
	wait_until is_gone "$B_PID"
	wait "$B_PID" || true
	local before
	before=$(grep -c "^ok " "$T/clients.out")
	# The clients go on, through A alone.
	wait_until test "$(grep -c "^ok " "$T/clients.out")" -ge $((before + 20))
	touch "$T/stop"
	local rc=0
	wait "$runner" || rc=$?
	BACKGROUND=""
	cat "$T/clients.out"
	echo "after the quit: $(($(grep -c "^ok " "$T/clients.out") - before)) more"
	run ! grep "^lost" "$T/clients.out"
	[ "$rc" -eq 0 ]
	grep -q "master: notice: received QUIT: graceful stop" "$B_LOG"
	grep -q "master: notice: stopped" "$B_LOG"
	# Every client B took, it served to the end.
	run ! grep -E "client=127\.0\.0\.[2-5]:[0-9]+ .*end=(shutdown|reset)" "$B_LOG"
}
