#!/usr/bin/env bats
# defer_accept: where the client speaks first, the kernel holds a new
# connection until its first bytes arrive, so a worker wakes once per
# client; a silent client still reaches a worker, and its idle_timeout.
# And what else a worker spends per connection.

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

busy_is() {
	"$PREFORKD" -s status -p "$PIDFILE" | grep -qE "^service name=svc .*busy=$1 "
}

# For 0.4 s, no worker is busy.
stays_idle() {
	for _ in 1 2 3 4; do
		busy_is 0 || return 1
		sleep 0.1
	done
}

@test "defer_accept: an echo client that has not spoken yet holds no worker" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until busy_is 0
	open_client a
	stays_idle
	send_line a "hello"
	wait_until client_saw a "hello"
	busy_is 1
}

@test "defer_accept = no: the worker takes the client at once" {
	write_config 'protocol = "echo"
	workers = 2
	defer_accept = "no"'
	start_daemon
	wait_until busy_is 0
	open_client a
	wait_until busy_is 1
}

@test "defer_accept: a silent client reaches a worker and its idle_timeout" {
	write_config 'protocol = "echo"
	workers = 1
	idle_timeout = 1'
	start_daemon
	open_client a
	wait_log "access service=svc .* in=0 out=0 .*end=timeout "
}

@test "defer_accept: daytime speaks first and is not deferred" {
	write_config 'protocol = "daytime"'
	start_daemon
	local start=$SECONDS
	"$PFCLIENT" -t 5 127.0.0.1 "$PORT" </dev/null >"$T/answer"
	# Deferred, the answer would wait for the kernel's timer (1 s).
	[ "$((SECONDS - start))" -lt 2 ]
	[ -s "$T/answer" ]
	run "$PREFORKD" -T -c "$CONF"
	[[ "$output" == *'defer_accept = "auto"'* ]]
}

@test "defer_accept: a reload that turns it on sets it on the kept socket" {
	write_config 'protocol = "echo"
	workers = 2
	defer_accept = "no"'
	start_daemon
	open_client a
	wait_until busy_is 1
	close_client a
	wait_until busy_is 0
	write_config 'protocol = "echo"
	workers = 2'
	"$PREFORKD" -s reload -p "$PIDFILE"
	wait_until busy_is 0
	open_client b
	stays_idle
}

# A worker knows which listener took the client: it asks the socket for
# its local address only on a wildcard listener, where the client chose it.
@test "local=: the listener's address, asked of the socket only on a wildcard" {
	need_tool strace
	local other worker
	other=$(free_port)
	write_config 'protocol = "echo"
	workers = 1'
	sed -i "s|listen = .*|listen = {\"*:$PORT\", \"127.0.0.1:$other\"}|" "$CONF"
	start_daemon
	wait_until busy_is 0
	worker=$(pgrep -P "$DPID" | head -n 1)
	strace -f -qq -e trace=getsockname -p "$worker" -o "$T/strace" &
	BACKGROUND="${BACKGROUND:-} $!"
	sleep 0.3 # strace attached
	echo one | "$PFCLIENT" -t 5 127.0.0.1 "$other" | grep -qx one
	wait_log "access service=svc .* local=127\.0\.0\.1:$other "
	refute grep -q getsockname "$T/strace"
	echo two | "$PFCLIENT" -t 5 127.0.0.2 "$PORT" | grep -qx two
	wait_log "access service=svc .* local=127\.0\.0\.2:$PORT "
	wait_until grep -q getsockname "$T/strace"
}
