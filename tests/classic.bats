#!/usr/bin/env bats
# The classic small services -- daytime (RFC 867), time (RFC 868) and
# chargen (RFC 864) -- over TCP and UDP, as a client meets them.  The
# expected answers are computed by tests/helper/classic_check.py from the
# RFCs, not from preforkd's code; tests/xinetd.bats compares them with
# xinetd's.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

raw() {
	python3 "$ROOT/tests/helper/rawclient.py" "$@"
}

check() {
	python3 "$ROOT/tests/helper/classic_check.py" "$@"
}

# one_service PROTOCOL [MORE KEYS]: service svc on port $PORT over TCP and
# UDP, IPv4 and IPv6.
one_service() {
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 5
service svc {
	listen = {"127.0.0.1:$PORT", "[::1]:$PORT",
	          "udp:127.0.0.1:$PORT", "udp:[::1]:$PORT"}
	protocol = "$1"
	${2:-}
}
CONF
}

# The RDATE binary, which lives in /usr/sbin, off a user's PATH.
find_rdate() {
	need_tool rdate
	RDATE=$(tool_path rdate)
}

@test "daytime over TCP: one line in the daemon's local time, then the server closes" {
	# A zone of our own, so the line must name it and count from it.
	export TZ=XYZ-5:30
	one_service daytime
	start_daemon
	local before
	before=$(date +%s)
	raw 127.0.0.1 "$PORT" >"$T/answer"
	run check daytime "$T/answer" --after "$before" --zone XYZ
	echo "$output"
	[ "$status" -eq 0 ]
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=26 .*end=closed"
}

@test "daytime answers a client that sent data first, rather than reset it" {
	one_service daytime
	start_daemon
	local before
	before=$(date +%s)
	# The client sends and then only reads, never closing its side: unread
	# bytes at close would make the kernel answer with a reset.
	head -c 100000 /dev/zero >"$T/input"
	raw 127.0.0.1 "$PORT" --send-file "$T/input" >"$T/answer"
	run check daytime "$T/answer" --after "$before"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_log "access service=svc .* in=100000 out=26 .*end=closed"
}

@test "daytime over UDP, IPv4 and IPv6: any datagram, empty too, gets the line" {
	export TZ=UTC0
	one_service daytime
	start_daemon
	local before
	before=$(date +%s)
	printf 'what time is it?' >"$T/question"
	raw 127.0.0.1 "$PORT" --udp --send-file "$T/question" >"$T/answer4"
	raw ::1 "$PORT" --udp >"$T/answer6"
	run check daytime "$T/answer4" --after "$before" --zone UTC
	echo "$output"
	[ "$status" -eq 0 ]
	run check daytime "$T/answer6" --after "$before" --zone UTC
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "time over TCP and UDP: 4 bytes, seconds since 1900 in network byte order" {
	one_service time
	start_daemon
	local before
	before=$(date +%s)
	raw 127.0.0.1 "$PORT" >"$T/tcp"
	raw 127.0.0.1 "$PORT" --udp >"$T/udp4"
	printf 'x' >"$T/x"
	raw ::1 "$PORT" --udp --send-file "$T/x" >"$T/udp6"
	for answer in tcp udp4 udp6; do
		run check time "$T/$answer" --after "$before"
		echo "$answer: $output"
		[ "$status" -eq 0 ]
	done
	wait_log "access service=svc .* in=0 out=4 .*end=closed"
}

@test "rdate reads the time service over TCP and, with -u, over UDP" {
	find_rdate
	one_service time
	start_daemon
	local before after flag t
	for flag in "" -u; do
		before=$(date +%s)
		# shellcheck disable=SC2086
		run env TZ=UTC LC_ALL=C "$RDATE" -p $flag -o "$PORT" 127.0.0.1
		after=$(date +%s)
		echo "rdate -p $flag: $output"
		[ "$status" -eq 0 ]
		t=$(date -d "$output" +%s)
		[ "$t" -ge "$before" ]
		[ "$t" -le "$after" ]
	done
	wait_log "access service=svc .* out=4 .*end=closed"
	wait_log "datagram service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=4"
}

@test "chargen over TCP: the RFC 864 pattern, 200 lines from line 1" {
	one_service chargen
	start_daemon
	raw 127.0.0.1 "$PORT" --max $((200 * 74)) >"$T/answer"
	run check chargen "$T/answer" --first 1 --min-lines 200
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "14800 bytes, 200 whole lines" ]
	# The client left while the worker was sending.
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 .*end=reset"
}

@test "chargen: a client that reads 1 MiB and leaves does not take the worker down" {
	one_service chargen 'workers = 1'
	start_daemon
	local before
	before=$(worker_pids)
	raw ::1 "$PORT" --max 1048576 >"$T/answer"
	run check chargen "$T/answer" --min-lines 14000
	echo "$output"
	[ "$output" = "1048576 bytes, 14169 whole lines" ]
	wait_log "access service=svc client=\[::1\]:[0-9]+ .*end=reset"
	raw 127.0.0.1 "$PORT" --max 740 >"$T/again"
	run check chargen "$T/again" --min-lines 10
	[ "$status" -eq 0 ]
	[ "$(worker_pids)" = "$before" ]
}

@test "chargen goes on after the client half-closes, as xinetd's does" {
	one_service chargen
	start_daemon
	raw 127.0.0.1 "$PORT" --half-close --max 200000 >"$T/answer"
	run check chargen "$T/answer"
	echo "$output"
	[ "$output" = "200000 bytes, 2702 whole lines" ]
}

@test "chargen drops a client that reads nothing after send_timeout" {
	one_service chargen 'workers = 1
	send_timeout = 1'
	start_daemon
	raw 127.0.0.1 "$PORT" --no-read 5 &
	BACKGROUND="$!"
	wait_log "access service=svc .*end=send_timeout"
	# And serves the next one.
	raw 127.0.0.1 "$PORT" --max 740 >"$T/answer"
	run check chargen "$T/answer" --min-lines 10
	[ "$status" -eq 0 ]
}

@test "chargen over UDP: 0 to 512 bytes of the pattern from line 1, of varying length" {
	one_service chargen
	start_daemon
	local i lengths=""
	for i in $(seq 8); do
		raw 127.0.0.1 "$PORT" --udp >"$T/answer"
		run check chargen "$T/answer" --max-bytes 512
		echo "$output"
		[ "$status" -eq 0 ]
		lengths="$lengths $(stat -c %s "$T/answer")"
	done
	echo "lengths:$lengths"
	# Eight draws from 513 lengths: all equal would mean no draw at all.
	[ "$(echo "$lengths" | tr ' ' '\n' | sed '/^$/d' | sort -u | wc -l)" -gt 1 ]
	raw ::1 "$PORT" --udp >"$T/answer6"
	run check chargen "$T/answer6" --max-bytes 512
	[ "$status" -eq 0 ]
}

@test "every protocol is listed by the error for an unknown one and in preforkd.conf(5)" {
	local man="$ROOT/man/preforkd.conf.5" names name checked=0
	write_config 'protocol = "gopher"'
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	names=$(sed -nE 's/.*\(expected one of: (.*)\)$/\1/p' <<<"$output" | tr -d ,)
	[ -n "$names" ]
	for name in $names; do
		# A section of its own under PROTOCOLS, and a name in the list
		# of the protocol key.
		grep -qx "\.It Cm $name" "$man"
		sed -n '/^\.It Ic protocol/,/^\.It Ic/p' "$man" | grep -q "^\.Qq $name\b"
		checked=$((checked + 1))
	done
	[ "$checked" -ge 7 ]
}

@test "the sample config's classic services, uncommented, pass -t" {
	local n
	# Uncomment the three commented-out sections, nothing else.
	sed -E '/^#service (daytime|time|chargen) \{/,/^#\}/s/^#//' \
	    "$ROOT/etc/preforkd.conf" >"$CONF"
	n=$(grep -cE '^service (daytime|time|chargen) \{' "$CONF")
	[ "$n" -eq 3 ]
	run "$PREFORKD" -t -c "$CONF"
	echo "$output"
	[ "$status" -eq 0 ]
}
