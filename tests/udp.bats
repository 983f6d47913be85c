#!/usr/bin/env bats
# Services over UDP: "udp:" listen addresses, one datagram in and at most
# one out, the tutorials' UDP client, odd datagrams, logging, reload.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

udp() {
	python3 "$ROOT/tests/helper/udpclient.py" "$@"
}

tutorial_udp() {
	python3 "$ROOT/tests/helper/tutorial_client.py" --udp "$@"
}

# udp_config PROTOCOL [MORE KEYS]: one service on udp:127.0.0.1:$PORT and
# udp:[::1]:$PORT.
udp_config() {
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 5
service svc {
	listen = {"udp:127.0.0.1:$PORT", "udp:[::1]:$PORT"}
	protocol = "$1"
	${2:-}
}
CONF
}

@test "echo over UDP: each datagram comes back, IPv4 and IPv6" {
	udp_config echo
	start_daemon
	run tutorial_udp 127.0.0.1 "$PORT" <<<"$(printf 'hello\nsecond')"
	[ "$output" = "$(printf "reply: b'hello'\nreply: b'second'")" ]
	run tutorial_udp ::1 "$PORT" <<<"six"
	[ "$output" = "reply: b'six'" ]
	wait_log "datagram service=svc client=\[::1\]:[0-9]+ in=3 out=3"
}

@test "prefix and timestamp over UDP answer in one datagram" {
	local port2
	port2=$(free_port)
	cat >"$CONF" <<CONF
service p { listen = {"udp:127.0.0.1:$PORT"} protocol = "prefix" }
service t { listen = {"udp:127.0.0.1:$port2"} protocol = "timestamp" }
CONF
	start_daemon
	run tutorial_udp 127.0.0.1 "$PORT" <<<"hello"
	[ "$output" = "reply: b'You sent me: hello'" ]
	run tutorial_udp 127.0.0.1 "$port2" <<<"hello"
	[[ "$output" =~ ^reply:\ b\'\[[A-Z][a-z]{2}\ .*\ [0-9]{4}\]\ hello\'$ ]]
}

@test "discard over UDP answers nothing and logs the datagram with log_data" {
	udp_config discard 'log_data = true'
	start_daemon
	run udp 127.0.0.1 "$PORT" --size 5 --wait 0.5
	[ "${lines[0]}" = "no answer" ]
	wait_log 'data service=svc client=127\.0\.0\.1:[0-9]+ len=5 "xxxxx"'
}

@test "one service answers on TCP and UDP on the same port" {
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT", "udp:127.0.0.1:$PORT"}
	protocol = "prefix"
}
CONF
	start_daemon
	run tutorial_udp 127.0.0.1 "$PORT" <<<"by udp"
	[ "$output" = "reply: b'You sent me: by udp'" ]
	run python3 "$ROOT/tests/helper/tutorial_client.py" 127.0.0.1 "$PORT" <<<"by tcp"
	[ "$output" = "reply: b'You sent me: by tcp'" ]
}

@test "TCP clients holding every stream worker do not starve the service's UDP" {
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$PORT", "udp:127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 2
}
CONF
	start_daemon
	wait_log "spawned datagram worker [0-9]+ for service svc"
	# Two forgotten clients hold both stream workers for idle_timeout.
	local i
	for i in 1 2; do
		open_client "c$i"
		send_line "c$i" "held $i"
		wait_until client_saw "c$i" "held $i"
	done
	"$PREFORKD" -s status -p "$PIDFILE" | grep -E "^service name=svc idle=1 busy=2 starting=0 quitting=0 total=3 max=3$"
	run udp 127.0.0.1 "$PORT" --count 3 --wait 1
	[ "${lines[3]}" = "sent 3 answered 3" ]
	# A third TCP client waits for a stream worker: the datagram worker
	# does not take it.
	open_client c3
	send_line c3 "queued"
	sleep 0.3
	refute client_saw c3 "queued"
	close_client c1
	wait_until client_saw c3 "queued"
	close_client c2
	close_client c3
}

@test "udp_workers = 0: the stream workers answer datagrams too" {
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT", "udp:127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
	udp_workers = 0
}
CONF
	start_daemon
	run udp 127.0.0.1 "$PORT"
	[ "${lines[1]}" = "sent 1 answered 1" ]
	refute log_has "spawned datagram worker"
}

@test "a zero-length datagram is echoed as one, and the worker stays" {
	udp_config echo 'workers = 1'
	start_daemon
	local before
	before=$(worker_pids)
	run udp 127.0.0.1 "$PORT" --size 0
	[ "${lines[0]}" = "answer 0" ]
	run udp 127.0.0.1 "$PORT" --size 3
	[ "${lines[0]}" = "answer 3" ]
	[ "$(worker_pids)" = "$before" ]
}

@test "a datagram that fills buffer_size comes back whole; a longer one is cut and logged" {
	udp_config echo 'workers = 1
	buffer_size = 1000'
	start_daemon
	run udp 127.0.0.1 "$PORT" --size 1000
	[ "${lines[0]}" = "answer 1000" ]
	run udp 127.0.0.1 "$PORT" --size 1500
	[ "${lines[0]}" = "answer 1000" ]
	wait_log "datagram service=svc client=127\.0\.0\.1:[0-9]+ in=1500 out=1000 \(input cut to buffer_size\)"
}

@test "an answer longer than the largest datagram is cut to fit, not dropped" {
	udp_config prefix 'workers = 1
	buffer_size = 65536'
	start_daemon
	# 13 bytes of prefix + 65507 bytes: 13 over what IPv4 UDP can carry.
	run udp 127.0.0.1 "$PORT" --size 65507
	[ "${lines[0]}" = "answer 65507" ]
	wait_log "in=65507 out=65507 \(answer cut to fit a datagram\)"
}

@test "a sender that is gone (ICMP unreachable) does not take the worker down" {
	udp_config echo 'workers = 1'
	start_daemon
	local before
	before=$(worker_pids)
	for _ in 1 2 3 4 5; do
		udp 127.0.0.1 "$PORT" --gone >/dev/null
	done
	run udp 127.0.0.1 "$PORT" --size 7
	[ "${lines[0]}" = "answer 7" ]
	[ "$(worker_pids)" = "$before" ]
}

@test "below debug, datagrams are counted, not logged one by one" {
	udp_config echo 'workers = 1'
	sed -i 's/log_level = "debug"/log_level = "info"/' "$CONF"
	start_daemon
	run udp 127.0.0.1 "$PORT" --count 100 --quiet
	[ "$output" = "sent 100 answered 100" ]
	stop_daemon
	[ "$(log_count "datagram service=")" -eq 0 ]
	log_has "datagrams service=svc count=100 in=400 out=400 cut=0 failed=0 refused=0"
}

@test "udp_rate: past N answers a second to one source the rest are dropped, said once" {
	udp_config echo 'workers = 1
	udp_rate = 10'
	sed -i 's/log_level = "debug"/log_level = "info"/' "$CONF"
	start_daemon
	run udp 127.0.0.1 "$PORT" --count 40 --wait 0.05 --quiet
	echo "$output" >&2
	[[ "${lines[-1]}" =~ ^sent\ 40\ answered\ ([0-9]+)$ ]]
	# 10 a second, and 40 waits of at most 50 ms: two periods at most.
	[ "${BASH_REMATCH[1]}" -ge 10 ] && [ "${BASH_REMATCH[1]}" -le 30 ]
	local said
	said=$(log_count "udp_rate = 10 answers a second reached for 127\.0\.0\.1")
	[ "$said" -ge 1 ] && [ "$said" -le 3 ]
	stop_daemon
	log_has "datagrams service=svc count=${BASH_REMATCH[1]} .* limited=$((40 - BASH_REMATCH[1]))"
}

@test "a reload keeps the UDP socket: no datagram is lost across SIGHUPs" {
	# One client as fast as it can: no bound on answers to it.
	udp_config echo 'workers = 2
	udp_rate = 0'
	start_daemon
	udp 127.0.0.1 "$PORT" --for 3 --wait 2 --quiet >"$T/tally" &
	local client=$!
	BACKGROUND="$client"
	local i
	for i in 1 2 3 4 5; do
		sleep 0.4
		kill -HUP "$DPID"
	done
	wait "$client"
	cat "$T/tally"
	wait_log "reloaded .*generation 6"
	refute grep -q "no answer" "$T/tally"
	[[ "$(tail -n 1 "$T/tally")" =~ ^sent\ ([0-9]+)\ answered\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -gt 50 ]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	# The socket was kept, not bound again.
	[ "$(log_count "listening on udp:127\.0\.0\.1:$PORT")" -eq 1 ]
}
