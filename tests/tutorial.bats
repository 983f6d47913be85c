#!/usr/bin/env bats
# The socket tutorials' own clients against `make run`'s configuration
# (etc/preforkd.conf, on free ports): a message without a newline, one
# recv() for the answer, several messages on one connection -- answered
# byte for byte as the tutorial servers answer them.

load helpers

setup() {
	common_setup
	local n
	for n in 1 2 3 4 5; do
		eval "PORT$n=$(free_port)"
	done
	# The sample file as it is, but on free ports and logging to stderr.
	sed -e "s/:7001\"/:$PORT1\"/g" -e "s/:7002\"/:$PORT2\"/g" \
	    -e "s/:7003\"/:$PORT3\"/g" -e "s/:7004\"/:$PORT4\"/g" \
	    -e "s/:7005\"/:$PORT5\"/g" -e '/^log = /d' \
	    "$ROOT/etc/preforkd.conf" >"$CONF"
	start_daemon
}
teardown() { common_teardown; }

client() {
	python3 "$ROOT/tests/helper/tutorial_client.py" "$@"
}

@test "tutorial client and echo: every message comes back as sent" {
	run client 127.0.0.1 "$PORT1" <<<"$(printf 'hello\nsecond message\nx')"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf "reply: b'hello'\nreply: b'second message'\nreply: b'x'")" ]
}

@test "tutorial client and prefix: \"You sent me: \" and the message, without a newline" {
	run client 127.0.0.1 "$PORT2" <<<"$(printf 'hello\nsecond message\nx')"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf "reply: b'You sent me: hello'\nreply: b'You sent me: second message'\nreply: b'You sent me: x'")" ]
}

@test "tutorial client and prefix over IPv6" {
	run client ::1 "$PORT2" <<<"six"
	[ "$output" = "reply: b'You sent me: six'" ]
}

@test "tutorial client and timestamp: [ctime] and the message" {
	run client 127.0.0.1 "$PORT3" <<<"$(printf 'hello\nagain')"
	[ "$status" -eq 0 ]
	echo "$output"
	local stamp='\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\]'
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^reply:\ b\'$stamp\ hello\'$ ]]
	[[ "${lines[1]}" =~ ^reply:\ b\'$stamp\ again\'$ ]]
}

@test "tutorial client and greeting: the four bytes TEST on connect, then the echo" {
	run client --greeting 127.0.0.1 "$PORT4" <<<"hi"
	[ "$status" -eq 0 ]
	# The tutorial's client compares the greeting with b"TEST": byte for
	# byte, no newline.
	[ "$output" = "$(printf "greeting: b'TEST'\nreply: b'hi'")" ]
}

@test "tutorial client and discard: no answer, the log shows the message" {
	run client 127.0.0.1 "$PORT5" <<<"into the sink"
	[ "$output" = "reply: TIMEOUT" ]
	wait_log 'data service=discard client=127\.0\.0\.1:[0-9]+ id=[0-9]+-[0-9]+ len=13 "into the sink"'
}

@test "tutorial UDP client: echo, prefix and timestamp answer each datagram" {
	run client --udp 127.0.0.1 "$PORT1" <<<"$(printf 'hello\nagain')"
	[ "$output" = "$(printf "reply: b'hello'\nreply: b'again'")" ]
	run client --udp ::1 "$PORT2" <<<"hello"
	[ "$output" = "reply: b'You sent me: hello'" ]
	run client --udp 127.0.0.1 "$PORT3" <<<"hello"
	[[ "$output" =~ ^reply:\ b\'\[[A-Z][a-z]{2}\ .*\ [0-9]{4}\]\ hello\'$ ]]
}
