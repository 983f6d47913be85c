#!/usr/bin/env bats
# Each protocol as a client meets it, over real loopback sockets.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "echo returns every byte, text as sent" {
	write_config 'protocol = "echo"'
	start_daemon
	run talk <<<"hello, world"
	[ "$status" -eq 0 ]
	[ "$output" = "hello, world" ]
}

@test "echo returns 1 MiB of binary data intact (checksum)" {
	write_config 'protocol = "echo"'
	start_daemon
	head -c 1048576 /dev/urandom >"$T/in.bin"
	# NUL bytes included, whatever urandom gave.
	printf '\0\0\0' >>"$T/in.bin"
	talk <"$T/in.bin" >"$T/out.bin"
	[ "$(stat -c %s "$T/out.bin")" -eq 1048579 ]
	[ "$(sha256sum <"$T/in.bin")" = "$(sha256sum <"$T/out.bin")" ]
	wait_log "access service=svc .* in=1048579 out=1048579 .*end=closed"
}

@test "echo over IPv6 loopback" {
	cat >"$CONF" <<CONF
service v6 {
	listen = {"[::1]:$PORT"}
	protocol = "echo"
}
CONF
	start_daemon
	HOST=::1 run talk <<<"six"
	[ "$output" = "six" ]
	wait_log "client=\[::1\]:[0-9]+ "
}

@test "prefix with line framing answers each line with the prefix and the line" {
	write_config 'protocol = "prefix"
	framing = "line"'
	start_daemon
	run talk < <(printf 'one\ntwo\r\nlast')
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'You sent me: one\nYou sent me: two\r\nYou sent me: last')" ]
}

@test "prefix uses the configured prefix" {
	write_config 'protocol = "prefix"
	prefix = ">> "'
	start_daemon
	run talk <<<"x"
	[ "$output" = ">> x" ]
}

@test "timestamp answers each line with the formatted time and the line" {
	write_config 'protocol = "timestamp"'
	start_daemon
	run talk <<<"hi there"
	[ "$status" -eq 0 ]
	# ctime-like: [Sat Nov 21 23:42:40 2026] hi there
	[[ "$output" =~ ^\[[A-Z][a-z]{2}\ [A-Z][a-z]{2}\ [\ 0-9][0-9]\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ [0-9]{4}\]\ hi\ there$ ]]
}

@test "timestamp uses time_format" {
	write_config 'protocol = "timestamp"
	time_format = "%Y|"'
	start_daemon
	run talk <<<"y"
	[ "$output" = "$(date +%Y)|y" ]
}

@test "banner is sent once on connect" {
	write_config 'protocol = "echo"
	banner = "TEST\n"'
	start_daemon
	run talk <<<"after"
	[ "$output" = "$(printf 'TEST\nafter')" ]
}

@test "discard drops input and logs each chunk escaped" {
	write_config 'protocol = "discard"
	log_data = true'
	start_daemon
	run talk < <(printf 'ab\\c"\x01\x00\n')
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_log 'data service=svc client=127\.0\.0\.1:[0-9]+ id=[0-9]+-1 len=8 "ab\\\\c\\"\\x01\\x00\\n"'
	wait_log "data service=svc client=127\.0\.0\.1:[0-9]+ id=[0-9]+-1 closed after 8 bytes"
}

@test "discard without log_data logs only the access line" {
	write_config 'protocol = "discard"'
	start_daemon
	run talk <<<"secret"
	wait_log "access service=svc .* in=7 out=0 .*end=closed"
	refute log_has "secret"
}

@test "an overlong line gets one error line and the connection is closed" {
	write_config 'protocol = "prefix"
	framing = "line"
	max_line = 16'
	start_daemon
	run talk < <(printf 'short\n%040d\nnever answered\n' 0)
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'You sent me: short\nerror: line longer than 16 bytes, closing')" ]
	wait_log "end=overlong"
	# The worker goes on serving others.
	run talk <<<"again"
	[ "$output" = "You sent me: again" ]
}

@test "a line of exactly max_line bytes is accepted" {
	write_config 'protocol = "prefix"
	framing = "line"
	prefix = ""
	max_line = 16'
	start_daemon
	run talk <<<"0123456789abcdef"
	[ "$output" = "0123456789abcdef" ]
}

@test "a client reset does not take the worker down" {
	write_config 'protocol = "echo"
	workers = 1'
	start_daemon
	local before
	before="$(worker_pids)"
	# Reset while the worker is still sending the echo back.
	head -c 200000 /dev/zero | "$PFCLIENT" -r 127.0.0.1 "$PORT" >/dev/null
	wait_log "access service=svc .*end=(reset|closed)"
	run talk <<<"still here"
	[ "$output" = "still here" ]
	[ "$(worker_pids)" = "$before" ]
}

@test "garbage and a half-close mid-line are served, not fatal" {
	write_config 'protocol = "timestamp"
	workers = 1'
	start_daemon
	local before
	before="$(worker_pids)"
	run talk < <(head -c 3000 /dev/urandom | tr -d '\n')
	[ "$status" -eq 0 ]
	wait_log "end=closed"
	run talk <<<"ok"
	[[ "$output" == *"] ok" ]]
	[ "$(worker_pids)" = "$before" ]
}

@test "idle_timeout closes a silent client" {
	write_config 'protocol = "echo"
	idle_timeout = 1'
	start_daemon
	open_client quiet
	send_line quiet "ping"
	wait_until client_saw quiet "ping"
	wait_log "access service=svc .*end=timeout"
	wait_until_gone "$CLIENT_PID_quiet"
}

@test "N clients are served at once by N workers" {
	write_config 'protocol = "echo"
	workers = 3'
	start_daemon
	wait_until has_workers 3
	run "$PFCLIENT" -m 3 -t 5 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "served 3 of 3" ]
	# A fourth client waits for a free worker: one worker per client.
	run "$PFCLIENT" -m 4 -t 1 127.0.0.1 "$PORT"
	[ "$output" = "served 3 of 4" ]
}

# No answer may wait for the client's delayed ACK (Nagle: 40 ms a line).
# Generous bounds: 50 answers in 2.2 s is the stall this catches.
@test "50 round trips on one connection take well under a second, each line protocol" {
	local port2 port3 proto ms
	port2=$(free_port)
	port3=$(free_port)
	cat >"$CONF" <<CONF
service echo { listen = {"127.0.0.1:$PORT"} protocol = "echo" }
service prefix { listen = {"127.0.0.1:$port2"} protocol = "prefix" }
service timestamp { listen = {"127.0.0.1:$port3"} protocol = "timestamp" }
CONF
	start_daemon
	for port in "$PORT" "$port2" "$port3"; do
		ms=$(python3 "$ROOT/tests/helper/roundtrips.py" 127.0.0.1 "$port" 50)
		echo "port $port: 50 round trips in $ms ms"
		[ "$ms" -lt 1000 ]
		ms=$(python3 "$ROOT/tests/helper/roundtrips.py" 127.0.0.1 "$port" 50 --pipelined)
		echo "port $port: 50 pipelined lines in $ms ms"
		[ "$ms" -lt 1000 ]
	done
}

@test "log_data logs at most log_data_limit bytes of a connection, then says how much more came" {
	write_config 'protocol = "discard"
	log_data = true
	log_data_limit = 100'
	start_daemon
	head -c 10000 /dev/zero | tr '\0' 'a' | talk >/dev/null
	wait_log "closed after 10000 bytes, 9900 not logged \(log_data_limit 100\)"
	# Exactly 100 bytes of data lines, however the reads fell.
	[ "$(grep -oE 'data service=svc client=[^ ]+ id=[^ ]+ len=[0-9]+' "$LOG" |
	    sed 's/.*len=//' | awk '{ s += $1 } END { print s }')" -eq 100 ]
	wait_log "access service=svc .* in=10000 out=0 .*end=closed"
}
