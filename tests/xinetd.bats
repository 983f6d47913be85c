#!/usr/bin/env bats
# preforkd against xinetd's internal services: echo, discard, chargen,
# daytime and time, over TCP and UDP, from a private xinetd config, each
# answer compared byte for byte where the protocol is deterministic.
#
# Known differences, by design: xinetd's chargen ring lacks ' ' and '~'
# (so only its first 22 lines are the RFC's) and its datagrams are always
# 1024 bytes (RFC 864 asks for 0 to 512); xinetd drops a datagram that
# comes while it is still busy with the last one, so UDP questions to
# xinetd are paced and retried.

load helpers

SERVICES="echo discard chargen daytime time"
XPID=""

setup() {
	common_setup
	[ -n "${XINETD_BIN:-}" ] || need_tool xinetd
	XINETD="${XINETD_BIN:-$(tool_path xinetd)}"
	# One zone for both daemons, which daytime names.
	export TZ=XYZ-5:30
	pick_ports
	start_xinetd
	start_preforkd
}

teardown() {
	stop_xinetd
	common_teardown
}

raw() {
	python3 "$ROOT/tests/helper/rawclient.py" "$@"
}

check() {
	python3 "$ROOT/tests/helper/classic_check.py" "$@"
}

# Ten distinct free ports: XPORT_name for xinetd, PPORT_name for preforkd;
# the TCP and UDP service of a name share its port, as in /etc/services.
pick_ports() {
	local name side port taken=" "
	for name in $SERVICES; do
		for side in X P; do
			port=$(free_port)
			while [[ "$taken" == *" $port "* ]]; do
				port=$(free_port)
			done
			taken="$taken$port "
			eval "${side}PORT_$name=$port"
		done
	done
}

xport() { eval "echo \$XPORT_$1"; }
pport() { eval "echo \$PPORT_$1"; }

# One xinetd service section: NAME stream|dgram.
xinetd_service() {
	local name="$1" type="$2" proto=tcp wait=no
	if [ "$type" = dgram ]; then
		proto=udp
		wait=yes
	fi
	cat <<CONF
service $name
{
	type = INTERNAL UNLISTED
	id = $name-$type
	socket_type = $type
	protocol = $proto
	port = $(xport "$name")
	bind = 127.0.0.1
	wait = $wait
	user = $(id -un)
	flags = REUSE
}
CONF
}

start_xinetd() {
	local name type deadline=$((SECONDS + WAIT_LIMIT))
	{
		printf 'defaults\n{\n}\n'
		for name in $SERVICES; do
			for type in stream dgram; do
				xinetd_service "$name" "$type"
			done
		done
	} >"$T/xinetd.conf"
	"$XINETD" -dontfork -f "$T/xinetd.conf" -pidfile "$T/xinetd.pid" \
	    -filelog "$T/xinetd.log" >"$T/xinetd.out" 2>&1 3>&- &
	XPID=$!
	until grep -q "Started working: 10 available services" \
	    "$T/xinetd.log" 2>/dev/null; do
		if ! kill -0 "$XPID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			echo "xinetd did not start all 10 services:" >&2
			cat "$T/xinetd.log" "$T/xinetd.out" >&2 2>/dev/null
			return 1
		fi
		sleep 0.05
	done
}

# TERM, then KILL after a deadline; xinetd forks a child per chargen
# connection, which must not outlive the test either.
stop_xinetd() {
	[ -n "$XPID" ] || return 0
	local children pid deadline=$((SECONDS + 5))
	children=$(pgrep -P "$XPID" || true)
	kill -TERM "$XPID" 2>/dev/null || true
	while kill -0 "$XPID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.05
	done
	# shellcheck disable=SC2086 # one pid per word
	kill -KILL "$XPID" $children 2>/dev/null || true
	wait "$XPID" 2>/dev/null || true
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$T/xinetd.log" ]; then
		echo "--- xinetd log ---" >&2
		tail -n 20 "$T/xinetd.log" >&2
	fi
	XPID=""
}

start_preforkd() {
	local name
	{
		echo 'log_level = "debug"'
		echo 'shutdown_timeout = 5'
		for name in $SERVICES; do
			cat <<CONF
service $name {
	listen = {"127.0.0.1:$(pport "$name")", "udp:127.0.0.1:$(pport "$name")"}
	protocol = "$name"
	workers = 2
}
CONF
		done
	} >"$CONF"
	start_daemon
}

# ask SIDE NAME OUT [rawclient options]: one exchange with xinetd (X) or
# preforkd (P).  Questions to xinetd over UDP are paced and retried.
ask() {
	local side="$1" name="$2" out="$3" port
	shift 3
	if [ "$side" = X ]; then
		port=$(xport "$name")
		if [[ " $* " == *" --udp "* ]]; then
			sleep 0.2
			set -- "$@" --tries 5 --wait 1
		fi
	else
		port=$(pport "$name")
	fi
	raw 127.0.0.1 "$port" "$@" >"$out"
}

@test "echo: the same bytes back as from xinetd, over TCP and UDP" {
	local side msg n=0
	printf 'hello, world\n' >"$T/msg1"
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4)' >"$T/msg2"
	: >"$T/msg3"
	for msg in msg1 msg2 msg3; do
		for side in X P; do
			ask "$side" echo "$T/$side.tcp" --send-file "$T/$msg" --half-close
			ask "$side" echo "$T/$side.udp" --udp --send-file "$T/$msg"
		done
		cmp "$T/X.tcp" "$T/P.tcp"
		cmp "$T/X.udp" "$T/P.udp"
		cmp "$T/$msg" "$T/P.tcp"
		cmp "$T/$msg" "$T/P.udp"
		n=$((n + 1))
	done
	[ "$n" -eq 3 ]
}

@test "discard: no answer, and the connection stays open until the client closes, as from xinetd" {
	local side
	printf 'into the void\n' >"$T/msg"
	for side in X P; do
		ask "$side" discard "$T/$side.tcp" --send-file "$T/msg" --silent 0.5
		echo "$side: $(cat "$T/$side.tcp")"
		[ "$(cat "$T/$side.tcp")" = "silent, open" ]
		run ask "$side" discard "$T/$side.udp" --udp --send-file "$T/msg" --wait 0.5
		[ "$status" -eq 2 ]
		[ ! -s "$T/$side.udp" ]
	done
}

@test "chargen over TCP: the first 22 lines are xinetd's, byte for byte" {
	local side
	for side in X P; do
		ask "$side" chargen "$T/$side.tcp" --max $((22 * 74))
	done
	cmp "$T/X.tcp" "$T/P.tcp"
	run check chargen "$T/P.tcp" --min-lines 22
	echo "$output"
	[ "$output" = "1628 bytes, 22 whole lines" ]
}

@test "chargen over UDP: every answer is the start of xinetd's first datagram" {
	local i
	# A fresh xinetd's first datagram starts at its ring's first line.
	ask X chargen "$T/X.udp" --udp
	[ "$(stat -c %s "$T/X.udp")" -eq 1024 ]
	for i in $(seq 10); do
		ask P chargen "$T/P.udp" --udp
		[ "$(stat -c %s "$T/P.udp")" -le 512 ]
		cmp -n "$(stat -c %s "$T/P.udp")" "$T/P.udp" "$T/X.udp"
	done
}

# ask_and_check SIDE NAME OUT KIND [rawclient options]: ask, then check
# that the answer tells the time of the moment it was asked.
ask_and_check() {
	local side="$1" name="$2" out="$3" kind="$4" before
	shift 4
	before=$(date +%s)
	ask "$side" "$name" "$out" "$@"
	run check "$kind" "$out" --after "$before"
	echo "$side $name $*: $output"
	[ "$status" -eq 0 ]
}

@test "daytime: xinetd's line, in the same zone, over TCP and UDP" {
	local how opts checked=""
	for how in tcp udp; do
		opts=()
		if [ "$how" = udp ]; then
			opts=(--udp)
		fi
		ask_and_check X daytime "$T/X.$how" daytime "${opts[@]}"
		ask_and_check P daytime "$T/P.$how" daytime "${opts[@]}"
		# The same shape, digit for digit, zone and all: only the time
		# may differ.
		[ "$(tr 0-9 9 <"$T/X.$how")" = "$(tr 0-9 9 <"$T/P.$how")" ]
		grep -q " XYZ" "$T/P.$how"
		checked="$checked$how "
	done
	[ "$checked" = "tcp udp " ]
}

@test "time: xinetd's 4 bytes, over TCP and UDP" {
	local how opts checked=""
	for how in tcp udp; do
		opts=()
		if [ "$how" = udp ]; then
			opts=(--udp)
		fi
		ask_and_check X time "$T/X.$how" time "${opts[@]}"
		ask_and_check P time "$T/P.$how" time "${opts[@]}"
		checked="$checked$how "
	done
	[ "$checked" = "tcp udp " ]
}
