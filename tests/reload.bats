#!/usr/bin/env bats
# SIGHUP: a new generation of workers with the new config, listeners kept
# by address, and a bad file that changes nothing.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "SIGHUP: new connections see the new prefix, an open one keeps working" {
	write_config 'protocol = "prefix"
	prefix = "old: "'
	start_daemon
	open_client early
	send_line early "one"
	wait_until client_saw early "old: one"
	write_config 'protocol = "prefix"
	prefix = "new: "'
	reload
	log_has "reloaded .*: generation 2"
	run talk <<<"two"
	[ "$output" = "new: two" ]
	# The connection from before the reload is served to its end.
	send_line early "three"
	wait_until client_saw early "old: three"
	close_client early
	wait_log "access service=svc .* in=10 out=20 .*end=closed"
}

@test "SIGHUP: old workers finish and exit, new ones take their place" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until has_workers 2
	local old
	old=$(worker_pids)
	write_config 'protocol = "echo"
	workers = 3'
	reload
	wait_until has_workers 3
	local pid
	for pid in $old; do
		wait_log "worker $pid \(service svc\) exited$"
		refute is_worker "$pid"
	done
	[ "$(log_count "spawned worker .*generation 2")" -eq 3 ]
}

@test "SIGHUP with a broken file keeps serving and logs FILE:LINE" {
	write_config 'protocol = "prefix"
	prefix = "kept: "'
	start_daemon
	wait_until has_workers 4
	local before
	before=$(worker_pids | sort)
	printf 'service svc {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "chat"\n}\n' \
	    "$PORT" >"$CONF"
	reload
	log_has "error: $CONF:3: unknown protocol \"chat\""
	log_has "reload failed: still running generation 1"
	run talk <<<"x"
	[ "$output" = "kept: x" ]
	[ "$(worker_pids | sort)" = "$before" ]
}

@test "SIGHUP keeps an unchanged listener open and binds added addresses" {
	local port2
	port2=$(free_port)
	write_config 'protocol = "echo"'
	start_daemon
	[ "$(log_count "listening on 127\.0\.0\.1:$PORT$")" -eq 1 ]
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT", "[::1]:$port2"}
	protocol = "echo"
}
CONF
	reload
	log_has "reloaded"
	# Never re-bound: still one "listening on" line for the old address.
	[ "$(log_count "listening on 127\.0\.0\.1:$PORT$")" -eq 1 ]
	log_has "listening on \[::1\]:$port2$"
	run talk <<<"v4"
	[ "$output" = "v4" ]
	HOST=::1 run talk "" "$port2" <<<"v6"
	[ "$output" = "v6" ]
}

@test "SIGHUP closes a removed address" {
	local port2
	port2=$(free_port)
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT", "127.0.0.1:$port2"}
	protocol = "echo"
}
CONF
	start_daemon
	write_config 'protocol = "echo"'
	reload
	wait_log "closed listener 127\.0\.0\.1:$port2"
	# Old workers let go of it too once they exit.
	wait_until "$PFCLIENT" -b 127.0.0.1 "$port2"
	run talk <<<"still"
	[ "$output" = "still" ]
}

@test "no connection is refused while reloading" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	# Clients in a loop, in the background, while the master reloads.
	(
		for i in $(seq 1 150); do
			out=$(echo "c$i" | "$PFCLIENT" -t 5 127.0.0.1 "$PORT" 2>&1)
			[ "$out" = "c$i" ] || echo "client $i got: $out"
		done >"$T/failures"
		echo "done" >>"$T/failures"
	) 3>&- &
	local loop=$!
	local i
	for i in 1 2 3 4 5; do
		reload
	done
	# 150 clients one after another: slow on a busy machine, and not
	# what this test measures.
	WAIT_LIMIT=60 wait_until grep -q "done" "$T/failures"
	wait "$loop"
	cat "$T/failures"
	[ "$(cat "$T/failures")" = "done" ]
	[ "$(log_count "reloaded .*generation 6")" -eq 1 ]
}

@test "a reload that cannot bind keeps the running config" {
	local port2
	port2=$(free_port)
	write_config 'protocol = "prefix"
	prefix = "a: "'
	start_daemon
	# Hold port2 with a second daemon so the reload's bind fails.
	local conf2="$T/other.conf" other
	printf 'service o {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "echo"\n}\n' \
	    "$port2" >"$conf2"
	"$PREFORKD" -f -c "$conf2" -p "$T/other.pid" >"$T/other.log" 2>&1 3>&- &
	other=$!
	wait_until grep -q "started" "$T/other.log"
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT", "127.0.0.1:$port2"}
	protocol = "prefix"
	prefix = "b: "
}
CONF
	reload
	kill -TERM "$other"
	wait "$other" || true
	log_has "bind 127\.0\.0\.1:$port2: Address already in use"
	log_has "reload failed: still running generation 1"
	run talk <<<"x"
	[ "$output" = "a: x" ]
}

@test "SIGHUP changes the log level" {
	write_config 'protocol = "echo"'
	start_daemon
	sed -i 's/log_level = "debug"/log_level = "notice"/' "$CONF"
	reload
	log_has "reloaded"
	local before
	before=$(log_count "access service")
	run talk <<<"quiet"
	[ "$output" = "quiet" ]
	# In the foreground the log stays on stderr, but the level applies.
	sleep 0.2
	[ "$(log_count "access service")" -eq "$before" ]
}

@test "sandbox = on where this build or kernel has no sandbox: refused at start, and by a reload" {
	write_config 'protocol = "echo"
	sandbox = "on"'
	if "$PREFORKD" -t -c "$CONF" >/dev/null 2>&1; then
		skip "this build and kernel have a sandbox (make sanitize's has none)"
	fi
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"service svc: sandbox = on, but "*": not starting"* ]]
	# A daemon started without it is not turned into one that claims it.
	write_config 'protocol = "echo"'
	start_daemon
	write_config 'protocol = "echo"
	sandbox = "on"'
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s reload
	[ "$status" -eq 6 ]
	[[ "$output" == *"sandbox = on, but "* ]]
	log_has "reload failed: still running generation 1"
	[ "$(printf 'hi\n' | talk)" = hi ]
}
