#!/usr/bin/env bats
# Binding listening sockets: an address another instance holds is refused,
# for UDP as for TCP (no SO_REUSEADDR on a datagram socket, which would let
# two daemons share a port and split its datagrams between them).

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

tutorial_udp() {
	python3 "$ROOT/tests/helper/tutorial_client.py" --udp "$@"
}

# listen_config FILE ADDRESS...: one echo service "svc" on each ADDRESS,
# logging to FILE's log when FILE is not $CONF.
listen_config() {
	local file="$1" list="" log="" a
	shift
	for a in "$@"; do
		list="$list${list:+, }\"$a\""
	done
	[ "$file" = "$CONF" ] || log="log = \"$file.log\""
	printf '%s\nservice svc {\n\tlisten = {%s}\n\tprotocol = "echo"\n}\n' \
	    "$log" "$list" >"$file"
}

# second_refused ADDRESS: a second preforkd on ADDRESS, which the test's
# daemon holds, exits 3 naming it; the first still answers over UDP.
second_refused() {
	listen_config "$T/second.conf" "$1"
	run --separate-stderr timeout -k 1 10 "$PREFORKD" -f \
	    -c "$T/second.conf" -p "$T/second.pid" 3>&-
	[ "$status" -eq 3 ]
	[[ "$stderr" == *" master: error: bind $1: Address already in use" ]]
	[ ! -e "$T/second.pid" ]
	run tutorial_udp 127.0.0.1 "$PORT" <<<"still mine"
	[ "$output" = "reply: b'still mine'" ]
}

@test "a second instance on a UDP IPv4 address the first holds fails to start" {
	listen_config "$CONF" "udp:127.0.0.1:$PORT"
	start_daemon
	second_refused "udp:127.0.0.1:$PORT"
}

@test "a second instance on a UDP IPv6 address the first holds fails to start" {
	listen_config "$CONF" "udp:127.0.0.1:$PORT" "udp:[::1]:$PORT"
	start_daemon
	second_refused "udp:[::1]:$PORT"
}

@test "a second instance on a TCP address the first holds fails to start" {
	listen_config "$CONF" "127.0.0.1:$PORT" "udp:127.0.0.1:$PORT"
	start_daemon
	second_refused "127.0.0.1:$PORT"
}
