#!/usr/bin/env bats
# proxy_protocol: PROXY v1 and v2 headers from hand-made clients, valid and
# malformed, trusted and not; and what the access line says of a
# connection (start, id, client, proxy).  HAProxy itself: haproxy.bats.

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

# proxyclient KIND [options]: see tests/helper/proxyclient.py.
proxyclient() {
	local kind="$1"
	shift
	python3 "$ROOT/tests/helper/proxyclient.py" "$@" 127.0.0.1 "$PORT" "$kind"
}

# log_count_is N REGEX: for wait_until, which runs it again each time.
log_count_is() {
	[ "$(log_count "$2")" -eq "$1" ]
}

# An echo service that wants a PROXY header, with more keys in $1.
write_proxy_config() {
	write_config "protocol = \"echo\"
	workers = 2
	proxy_protocol = true
	$1"
}

@test "proxy_protocol is per service: to a service without it a header is data" {
	local other
	other=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
service plain {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
service proxied {
	listen = {"127.0.0.1:$other"}
	protocol = "echo"
	proxy_protocol = true
}
CONF
	start_daemon
	run proxyclient v1-tcp4
	[ "$output" = "got=b'PROXY TCP4 203.0.113.7 192.0.2.10 40001 80\\r\\nhello\\n' end=closed" ]
	wait_log "access service=plain client=127\.0\.0\.1:[0-9]+ in=50 "
	PORT=$other run proxyclient v1-tcp4
	[ "$output" = "got=b'hello\\n' end=closed" ]
	wait_log "access service=proxied client=203\.0\.113\.7:40001 proxy=127\.0\.0\.1:[0-9]+ in=6 "
	run ! log_has "service=plain .*proxy="
}

@test "per address: proxy:ADDRESS wants a header, the service's other address does not" {
	local other
	other=$(free_port)
	write_config 'protocol = "echo"'
	# The template's listen, given once: a key set twice is refused.
	sed -i "s|^\tlisten = .*|\tlisten = {\"127.0.0.1:$PORT\", \"proxy:127.0.0.1:$other\"}|" "$CONF"
	start_daemon
	wait_log "listening on proxy:127\.0\.0\.1:$other"
	# Direct clients on the first address: a header is their data.
	run proxyclient v1-tcp4
	[ "$output" = "got=b'PROXY TCP4 203.0.113.7 192.0.2.10 40001 80\\r\\nhello\\n' end=closed" ]
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=50 .* local=127\.0\.0\.1:$PORT "
	# The proxy on the second.
	PORT=$other run proxyclient v2-tcp4
	[ "$output" = "got=b'hello\\n' end=closed" ]
	wait_log "access service=svc client=203\.0\.113\.7:40001 proxy=127\.0\.0\.1:[0-9]+ in=6 .* local=127\.0\.0\.1:$other "
	PORT=$other run proxyclient no-header
	[[ "$output" =~ ^got=b\'\'\ end=(closed|reset)$ ]]
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=0 .*end=proxy_bad local=127\.0\.0\.1:$other "
}

@test "v1 TCP4 and TCP6: the real client in the access line, next to the proxy" {
	write_proxy_config
	start_daemon
	# The data rides in the same segment as the header: none of it lost.
	run proxyclient v1-tcp4
	[ "$output" = "got=b'hello\\n' end=closed" ]
	wait_log "access service=svc client=203\.0\.113\.7:40001 proxy=127\.0\.0\.1:[0-9]+ in=6 out=6 .*end=closed local=127\.0\.0\.1:$PORT "
	run proxyclient v1-tcp6
	[ "$output" = "got=b'hello\\n' end=closed" ]
	wait_log "access service=svc client=\[2001:db8::7\]:40002 proxy=127\.0\.0\.1:[0-9]+ in=6 out=6 .*end=closed"
	wait_log "debug: service svc: id=[0-9]+-[0-9]+: PROXY v1 header from 127\.0\.0\.1:[0-9]+: client 203\.0\.113\.7:40001"
}

@test "v2 TCP4, TCP6 and TLVs: the real client, the data after the header intact" {
	write_proxy_config
	start_daemon
	run proxyclient v2-tcp4 --data 'after the header'
	[ "$output" = "got=b'after the header' end=closed" ]
	wait_log "access service=svc client=203\.0\.113\.7:40001 proxy=127\.0\.0\.1:[0-9]+ in=16 out=16 "
	run proxyclient v2-tcp6
	[ "$output" = "got=b'hello\\n' end=closed" ]
	wait_log "access service=svc client=\[2001:db8::7\]:40002 proxy=127\.0\.0\.1:[0-9]+ in=6 "
	# 316 bytes of header: longer than any v1 line, read past 107 bytes.
	run proxyclient v2-tcp4-tlv
	[ "$output" = "got=b'hello\\n' end=closed" ]
	[ "$(log_count "client=203\.0\.113\.7:40001 proxy=127\.0\.0\.1:[0-9]+ in=(16|6) ")" -eq 2 ]
}

@test "a header cut across segments is waited for, and line framing sees the data whole" {
	write_config 'protocol = "prefix"
	framing = "line"
	proxy_protocol = true'
	start_daemon
	run proxyclient v1-tcp4 --split 9 --data $'one\ntwo\n'
	[ "$output" = "got=b'You sent me: one\\nYou sent me: two\\n' end=closed" ]
	run proxyclient v2-tcp6 --split 14 --data $'three\n'
	[ "$output" = "got=b'You sent me: three\\n' end=closed" ]
	wait_log "client=\[2001:db8::7\]:40002 proxy=127\.0\.0\.1:[0-9]+ in=6 out=19 .*end=closed"
}

@test "v2 LOCAL, v2 UNSPEC and v1 UNKNOWN: served as the proxy's own connection" {
	write_proxy_config
	start_daemon
	local kind
	for kind in v2-local v2-unspec v1-unknown; do
		run proxyclient "$kind"
		[ "$output" = "got=b'hello\\n' end=closed" ]
	done
	wait_until log_count_is 3 "access service=svc client=(127\.0\.0\.1:[0-9]+) proxy=\1 in=6 out=6 "
	[ "$(log_count "client not named \(local\)")" -eq 3 ]
}

@test "each malformed header closes the connection unanswered, and is logged" {
	write_proxy_config
	start_daemon
	local kind reason n=0
	while IFS='|' read -r kind reason; do
		run proxyclient "$kind"
		echo "$kind: $output"
		[[ "$output" =~ ^got=b\'\'\ end=(closed|reset)$ ]]
		wait_log "warning: service svc: id=[0-9]+-[0-9]+ from 127\.0\.0\.1:[0-9]+: $reason"
		n=$((n + 1))
	done <<'CASES'
bad-v2-sig|bad PROXY header: v2 header: wrong signature
bad-v1-long|bad PROXY header: v1 header longer than 107 bytes
bad-v1-proto|bad PROXY header: v1 header: unknown protocol
bad-v2-family|bad PROXY header: v2 header: unknown family 0x40
bad-v2-len|bad PROXY header: v2 header: length 8 is shorter
no-header|bad PROXY header: not a PROXY protocol header \(first byte 0x68\)
cut-v1|PROXY header cut short: closed after 19 bytes
cut-v2|PROXY header cut short: closed after 20 bytes
CASES
	[ "$n" -eq 8 ]
	wait_until log_count_is 8 "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=0 .*end=proxy_bad "
	# Nothing of any of them reached the protocol.
	run ! log_has "in=[1-9]"
}

@test "a proxy that connects and closes without a byte is no warning (health checks)" {
	write_proxy_config
	start_daemon
	"$PFCLIENT" -t 5 127.0.0.1 "$PORT" </dev/null
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=0 .*end=closed"
	refute unexpected_warnings
}

@test "only proxy_from may send a header: others are closed and logged" {
	write_proxy_config 'proxy_from = {"127.0.0.2/32", "2001:db8::/32"}'
	start_daemon
	run proxyclient v1-tcp4 --source 127.0.0.1
	[[ "$output" =~ ^got=b\'\'\ end=(closed|reset)$ ]]
	wait_log "warning: service svc: id=[0-9]+-[0-9]+ from 127\.0\.0\.1:[0-9]+: not in proxy_from, closed before reading a PROXY header"
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=0 .*end=proxy_untrusted"
	run proxyclient v1-tcp4 --source 127.0.0.2
	[ "$output" = "got=b'hello\\n' end=closed" ]
	wait_log "client=203\.0\.113\.7:40001 proxy=127\.0\.0\.2:[0-9]+ in=6 "
}

@test "the header has proxy_timeout seconds of its own, apart from idle_timeout" {
	write_proxy_config 'proxy_timeout = 1
	idle_timeout = 300'
	start_daemon
	local t0=$SECONDS
	run proxyclient v1-tcp4 --stall
	[[ "$output" =~ ^got=b\'\'\ end=(closed|reset)$ ]]
	# Bounded by proxy_timeout, not by idle_timeout (300 s).
	[ $((SECONDS - t0)) -le 8 ]
	wait_log "warning: service svc: id=[0-9]+-[0-9]+ from 127\.0\.0\.1:[0-9]+: no complete PROXY header within proxy_timeout \(1 s, 22 bytes came\)"
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=0 time=[0-9.]+s end=proxy_timeout"
	# The timeout ran from the accept, whatever the header's pieces.
	local took
	took=$(sed -nE 's/.* time=([0-9]+)\.[0-9]+s end=proxy_timeout.*/\1/p' "$LOG")
	[ "$took" -ge 1 ] && [ "$took" -le 5 ]
}

@test "allow and deny judge the real client, not the proxy" {
	write_proxy_config 'allow = {"203.0.113.0/24"}'
	start_daemon
	# 127.0.0.1, the proxy, is in no allow block: the client is.
	run proxyclient v1-tcp4
	[ "$output" = "got=b'hello\\n' end=closed" ]
	run proxyclient v1-tcp6
	[[ "$output" =~ ^got=b\'\'\ end=(closed|reset)$ ]]
	wait_log "access service=svc client=\[2001:db8::7\]:40002 proxy=127\.0\.0\.1:[0-9]+ in=0 out=0 .*end=refused"
	# An IPv4 client a dual-stack proxy names as ::ffff:203.0.113.8 is
	# the IPv4 client it is.
	run proxyclient v2-mapped
	[ "$output" = "got=b'hello\\n' end=closed" ]
	wait_log "access service=svc client=203\.0\.113\.8:40003 proxy=127\.0\.0\.1:[0-9]+ in=6 out=6 "
}

# busy_with TITLE: a worker of svc has that process title.
busy_with() {
	local pid
	for pid in $(worker_pids); do
		[ "$(title_of "$pid")" = "$1" ] && return 0
	done
	return 1
}

@test "the scoreboard and the process title show the real client" {
	write_proxy_config
	start_daemon
	python3 "$ROOT/tests/helper/proxyclient.py" --hold 30 --timeout 40 \
	    127.0.0.1 "$PORT" v1-tcp4 >/dev/null 2>&1 &
	BACKGROUND=$!
	wait_until busy_with "preforkd: worker svc [busy 203.0.113.7:40001]"
	run "$PREFORKD" -s status -p "$PIDFILE"
	echo "$output"
	[[ "$output" =~ state=busy\ client=203\.0\.113\.7:40001\  ]]
}

@test "the access line: start in ISO 8601 with the UTC offset, and an id on every line of the connection" {
	write_config 'protocol = "discard"
	workers = 1
	log_data = true
	proxy_protocol = true'
	# India: +05:30, a zone whose offset is not whole hours (POSIX TZ,
	# no zoneinfo needed).
	TZ=IST-5:30 start_daemon
	local w before after
	w=$(worker_pids)
	before=$(TZ=IST-5:30 date +%Y-%m-%dT%H:%M:%S)
	run proxyclient v1-tcp4 --data 'first'
	run proxyclient v1-tcp4 --data 'second'
	after=$(TZ=IST-5:30 date +%Y-%m-%dT%H:%M:%S)
	wait_until log_count_is 2 " access service=svc "
	local line id start n=0
	while read -r line; do
		[[ "$line" =~ \ start=([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\.[0-9]{3}\+05:30\ id=($w-[0-9]+)$ ]]
		start=${BASH_REMATCH[1]} id=${BASH_REMATCH[2]}
		[[ ! "$start" < "$before" ]] && [[ ! "$start" > "$after" ]]
		# Its data lines carry its id, and no other connection's.
		grep -q "data service=svc client=203\.0\.113\.7:40001 id=$id len=" "$LOG"
		grep -q "data service=svc client=203\.0\.113\.7:40001 id=$id closed after" "$LOG"
		# Its PROXY header's debug line, two data lines, the access line.
		[ "$(grep -cE "id=$id( |:|$)" "$LOG")" -eq 4 ]
		n=$((n + 1))
	done < <(grep " access service=svc " "$LOG")
	[ "$n" -eq 2 ]
	[ "$(grep -oE " id=$w-[0-9]+$" "$LOG" | sort -u | wc -l)" -eq 2 ]
}

@test "proxy_protocol and proxy:ADDRESS: refused over UDP, and with no proxy_from" {
	cat >"$CONF" <<CONF
service a {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "echo"
	proxy_protocol = true
}
service b {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	proxy_protocol = true
	proxy_from = {}
	proxy_timeout = 0
}
service c {
	listen = {"127.0.0.2:$PORT", "proxy:udp:127.0.0.3:$PORT", "proxy:127.0.0.4:$PORT"}
	protocol = "echo"
	proxy_from = {}
}
service d {
	listen = {"proxy:127.0.0.5:$PORT"}
	protocol = "echo"
	idle_timeout = 10
	proxy_timeout = 20
	worker_timeout = 15
}
CONF
	run "$PREFORKD" -t -c "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *":5: service a: proxy_protocol works over TCP only (listen \"udp:127.0.0.1:$PORT\")"* ]]
	[[ "$output" == *"proxy_timeout = 0 is out of range (1 to 3600)"* ]]
	[[ "$output" == *"service b: proxy_protocol is on but proxy_from is empty: no peer could connect"* ]]
	[[ "$output" == *"listen \"proxy:udp:127.0.0.3:$PORT\": proxy: is TCP already: write proxy:ADDRESS (no PROXY header comes over UDP)"* ]]
	[[ "$output" == *"service c: a listen address is proxy: but proxy_from is empty: no peer could connect"* ]]
	[[ "$output" == *"service d: worker_timeout = 15 must be longer than proxy_timeout = 20, or a worker waiting for a PROXY header would be killed"* ]]
}

@test "max_per_source counts the real client a PROXY header names, not the proxy" {
	write_proxy_config 'max_per_source = 1'
	start_daemon
	# One session of 203.0.113.7 held open ...
	python3 "$ROOT/tests/helper/proxyclient.py" --hold 30 --timeout 40 \
	    127.0.0.1 "$PORT" v1-tcp4 >/dev/null 2>&1 &
	BACKGROUND=$!
	wait_until busy_with "preforkd: worker svc [busy 203.0.113.7:40001]"
	# ... a second one from it is refused, though through the same proxy
	# as a client from elsewhere, which is served.
	run proxyclient v2-tcp4
	[ "$output" = "got=b'error: too many connections from your address\\n' end=closed" ]
	wait_log "access service=svc client=203\.0\.113\.7:40001 proxy=127\.0\.0\.1:[0-9]+ .*end=per_source"
	run proxyclient v1-tcp6
	[ "$output" = "got=b'hello\\n' end=closed" ]
}
