# HAProxy in front of two preforkd instances, for tests/haproxy.bats and
# tests/long/haproxy_load.bats: instance A is the helpers' daemon ($CONF,
# $LOG, $DPID), B is started here; a private HAProxy config in the test's
# temp dir.  Load after helpers.bash.

# After common_setup: skip unless haproxy is here; ports and B's files.
haproxy_setup() {
	need_tool haproxy
	HAPROXY=$(tool_path haproxy)
	B_CONF="$T/b.conf" B_LOG="$T/b.log" B_PIDFILE="$T/b.pid" B_PID=""
	B_PORT=$(free_port)
	FRONT2=$(free_port)
	FRONT1=$(free_port)
	HA_PID=""
}

# Before common_teardown.
haproxy_teardown() {
	stop_haproxy
	stop_b
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
	[ -n "${B_PID:-}" ] || return 0
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
	log_is_clean "$B_LOG" || return 1
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
	[ -n "${HA_PID:-}" ] || return 0
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
