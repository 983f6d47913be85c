#!/usr/bin/env bats
# How -t reports a broken config file: one "FILE:LINE: message" (or "FILE:
# message") per error, every error the parser can go on past, exit 1, and
# never "syntax ok" (preforkd.conf(5), VALIDATION).  -t binds nothing, so the
# addresses here need no free port.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# rejects LINE...: -t on $CONF (or $1 of -c, with REJECTS_PATH) exits 1,
# prints nothing on stdout and exactly the lines given on stderr.
rejects() {
	local expected
	expected="$(printf '%s\n' "$@")"
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "${REJECTS_PATH:-$CONF}"
	if [ "$status" -ne 1 ] || [ -n "$output" ] ||
	    [ "$stderr" != "$expected" ]; then
		echo "status: $status"
		echo "stdout: $output"
		echo "stderr:"
		echo "$stderr"
		echo "expected:"
		echo "$expected"
		[ -f "$CONF" ] && cat -n "$CONF"
		return 1
	fi
}

# accepts: -t on $CONF says "syntax ok" and nothing else.
accepts() {
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	echo "status $status, stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "$CONF: syntax ok" ]
	[ -z "$stderr" ]
}

# ---------------------------------------------------------- structure

@test "a file cut before its last '}' names the line the section opened" {
	cat >"$CONF" <<'CONF'
log_level = "debug"
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
CONF
	rejects "$CONF:2: service svc is never closed: '}' missing at the end of the file"
}

@test "a '}' missing before the next section is named, not 'no such option'" {
	cat >"$CONF" <<'CONF'
service a {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"

service b {
	listen = {"127.0.0.1:7001"}
	protocol = "echo"
}
CONF
	rejects "$CONF:1: service a is never closed: '}' missing before service b on line 5"
}

@test "an extra '}' is named on its own line" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
}
CONF
	rejects "$CONF:5: unexpected '}': no section is open"
}

@test "an unterminated string names the line where it started" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000}
	protocol = "echo"
}
CONF
	rejects "$CONF:2: unterminated string: the quote opened here is not closed on its line"
}

@test "a string cut by the end of the file names its line" {
	printf 'service svc {\n\tlisten = {"127.0.0.1:7000"}\n\tprotocol = "echo' >"$CONF"
	rejects "$CONF:3: unterminated string: the quote opened here is never closed"
}

@test "a nested section is named as such" {
	cat >"$CONF" <<'CONF'
service a {
	service b {
		listen = {"127.0.0.1:7000"}
		protocol = "echo"
	}
}
CONF
	rejects "$CONF:2: service b is inside service a: sections cannot be nested"
}

@test "a list without its '}' names the line it opened" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000", "[::1]:7000"
	protocol = "echo"
}
CONF
	rejects "$CONF:2: the list of 'listen' opened here is never closed: '}' missing"
}

@test "a bad escape is refused before libconfuse can choke on it" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
	banner = "\8"
}
CONF
	rejects "$CONF:4: bad escape '\\8' in a string: octal escapes are \\0 to \\377"
}

@test "a UTF-8 byte-order mark is skipped" {
	printf '\xef\xbb\xbfservice svc {\n\tlisten = {"127.0.0.1:7000"}\n\tprotocol = "echo"\n}\n' >"$CONF"
	accepts
}

# --------------------------------------------------------------- keys

@test "a global key inside a service says it is global" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
	log = "stderr"
}
CONF
	rejects "$CONF:4: 'log' is a global setting, not a service setting"
}

@test "a service key at the top says it belongs in a service" {
	cat >"$CONF" <<'CONF'
workers = 8
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
CONF
	rejects "$CONF:1: 'workers' belongs inside a service section"
}

@test "// inside an unquoted value is part of it, not a comment" {
	cat >"$CONF" <<'CONF'
pidfile = run//preforkd.pid
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
CONF
	# Read as "run" before: the whole value is in the message now.
	rejects "$CONF:1: pidfile \"run//preforkd.pid\" must be an absolute path"
	sed -i 's|^pidfile = .*|pidfile = /tmp//preforkd.pid // a comment|' "$CONF"
	accepts
}

# ------------------------------------------- habits of other formats

@test "an unknown key a slip away from a known one says which" {
	cat >"$CONF" <<'CONF'
servce svc {
	listen = {"127.0.0.1:7000"}
}
service a {
	listen = {"127.0.0.1:7001"}
	protocol = "echo"
	wokers = 2
	colour = "red"
}
CONF
	rejects "$CONF:1: no such option 'servce': did you mean 'service'?" \
	    "$CONF:7: no such option 'wokers': did you mean 'workers'?" \
	    "$CONF:8: no such option 'colour'"
}

@test "a ';' comment is one error that names it" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000"}
	; the echo service, as the tutorial's
	protocol = "echo"
}
CONF
	rejects "$CONF:3: ';' is not a comment in preforkd.conf: use #"
}

@test "a ';' after a value points at the ';', and the rest is still checked" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000"};
	protocol = "echo";
	workers = 2;
	backlog = 0
}
CONF
	rejects "$CONF:2: ';' does not end a setting in preforkd.conf: remove it" \
	    "$CONF:3: ';' does not end a setting in preforkd.conf: remove it" \
	    "$CONF:4: 'workers = 2;': the ';' does not end a setting in preforkd.conf: remove it, or quote the value" \
	    "$CONF:5: backlog = 0 is out of range (1 to 65535)"
}

@test "libconfuse's include() of a missing file is one error naming it" {
	cat >"$CONF" <<'CONF'
include("other.conf")
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
CONF
	rejects "$CONF:1: include \"other.conf\": $T/other.conf: No such file or directory"
}

@test "a key set twice is refused, naming both lines" {
	cat >"$CONF" <<'CONF'
log_level = "debug"
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
	workers = 2
	allow = {"127.0.0.1"}
	allow += {"::1"}
	workers = 3
	allow = {"10.0.0.0/8"}
}
log_level = "info"
CONF
	rejects "$CONF:8: 'workers' is set twice in service svc (first on line 5): keep one" \
	    "$CONF:9: 'allow' is set twice in service svc (first on line 6): keep one, or add to it with +=" \
	    "$CONF:11: 'log_level' is set twice (first on line 1): keep one"
}

# ------------------------------------------------------- every error

@test "every misplaced key and every bad value is reported, in one run" {
	cat >"$CONF" <<'CONF'
colour = "red"
service a {
	listen = {"127.0.0.1:99999"}
	protocol = "echo"
	log_level = "debug"
}
service b {
	listen = {"127.0.0.1:0", "[::1]:x"}
	protocol = "gopher"
	workers = 0
}
CONF
	rejects "$CONF:1: no such option 'colour'" \
	    "$CONF:5: 'log_level' is a global setting, not a service setting" \
	    "$CONF:3: listen \"127.0.0.1:99999\": port must be a number from 1 to 65535" \
	    "$CONF:8: listen \"127.0.0.1:0\": port must be a number from 1 to 65535" \
	    "$CONF:8: listen \"[::1]:x\": missing port number" \
	    "$CONF:9: unknown protocol \"gopher\" (expected one of: echo, discard, prefix, timestamp, daytime, time, chargen, status, exec)" \
	    "$CONF:10: workers = 0 is out of range (1 to 1024)"
}

@test "an unknown framing does not hide the errors after it" {
	cat >"$CONF" <<'CONF'
service a {
	listen = {"127.0.0.1:7000"}
	protocol = "prefix"
	framing = "lines"
	workers = 0
}
service b {
	listen = {"127.0.0.1:7001"}
	protocol = "echo"
	backlog = 0
}
CONF
	rejects "$CONF:4: unknown framing \"lines\" (expected chunk or line)" \
	    "$CONF:5: workers = 0 is out of range (1 to 1024)" \
	    "$CONF:10: backlog = 0 is out of range (1 to 65535)"
}

@test "both bounds of a pool that cannot be are reported" {
	cat >"$CONF" <<'CONF'
service a {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
	workers = 5
	max_workers = 3
	min_spare = 4
	max_spare = 2
}
CONF
	rejects "$CONF:8: service a: max_workers = 3 is less than workers = 5" \
	    "$CONF:8: service a: max_spare = 2 is less than min_spare = 4"
}

@test "out of memory while loading exits 7 (a restart may cure it), not 1" {
	grep -q __asan_init "$PREFORKD" &&
	    skip "AddressSanitizer reserves more address space than any cap"
	cat >"$CONF" <<'CONF'
service a {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
CONF
	local kb err rc hits=0
	# From too little to start at all, up to enough: each cap in between
	# that runs out of memory must say so and exit 7.
	for ((kb = 1024; kb <= 65536; kb += 256)); do
		if err=$(ulimit -v "$kb"; "$PREFORKD" -t -c "$CONF" 2>&1 >/dev/null)
		then
			break
		else
			rc=$?
		fi
		case "$err" in *"out of memory"*)
			echo "$kb KiB: status $rc: $err"
			[ "$rc" -eq 7 ]
			hits=$((hits + 1)) ;;
		esac
	done
	[ "$hits" -gt 0 ]
}

@test "every structural error is reported, in line order" {
	cat >"$CONF" <<'CONF'
workers = 2
service a {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
}
service b {
	listen = {"127.0.0.1:7001"}
	protocol "echo"
}
CONF
	rejects "$CONF:1: 'workers' belongs inside a service section" \
	    "$CONF:6: unexpected '}': no section is open" \
	    "$CONF:9: missing '=' after 'protocol'"
}

@test "every clash is reported, each on the later service" {
	cat >"$CONF" <<'CONF'
service a {
	listen = {"127.0.0.1:7000", "127.0.0.1:7000"}
	protocol = "echo"
}
service b {
	listen = {"*:7000", "[::1]:7000"}
	protocol = "echo"
}
CONF
	rejects "$CONF:4: service a: listen \"127.0.0.1:7000\" clashes with \"127.0.0.1:7000\" of service a" \
	    "$CONF:8: service b: listen \"*:7000\" clashes with \"127.0.0.1:7000\" of service a"
}

# --------------------------------------------------------- the file

@test "an unreadable file is named with the reason" {
	cat >"$CONF" <<'CONF'
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
CONF
	chmod 000 "$CONF"
	if [ "$(id -u)" -eq 0 ]; then
		# Root reads it anyway: be someone else.
		need_tool setpriv util-linux
		chmod 711 "$T"
		run --separate-stderr timeout 10 setpriv --reuid=nobody \
		    --regid=nogroup --clear-groups "$PREFORKD" -t -c "$CONF"
	else
		run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	fi
	echo "status $status, stderr: $stderr"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "$CONF: cannot read: Permission denied" ]
}

@test "a directory is not a regular file" {
	mkdir "$T/conf.d"
	REJECTS_PATH="$T/conf.d" rejects "$T/conf.d: not a regular file (a directory)"
}

@test "a FIFO is refused at once, not waited on" {
	mkfifo "$T/fifo"
	# Nobody writes to it: an open that waits would hit the timeout (124).
	REJECTS_PATH="$T/fifo" rejects "$T/fifo: not a regular file (a FIFO)"
}

@test "a device is not a regular file" {
	REJECTS_PATH=/dev/null rejects "/dev/null: not a regular file (a character device)"
}

@test "binary content names the line of its first NUL byte" {
	printf 'service svc {\n\tlisten = {"127.0.0.1:7000"}\n\0\n}\n' >"$CONF"
	rejects "$CONF:3: a NUL byte: binary data, not a config file"
}

@test "a file over 1 MiB is refused unread" {
	head -c 1048577 /dev/zero | tr '\0' '\n' >"$CONF"
	rejects "$CONF: larger than 1048576 bytes: not a config file"
}

@test "the sample config still says syntax ok" {
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$ROOT/etc/preforkd.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "$ROOT/etc/preforkd.conf: syntax ok" ]
	[ -z "$stderr" ]
}

@test "-t names the file when its user does not exist" {
	cat >"$CONF" <<'CONF'
user = "no-such-user-pf"
service svc {
	listen = {"127.0.0.1:7000"}
	protocol = "echo"
}
CONF
	rejects "$CONF: user \"no-such-user-pf\": no such user"
}

# -------------------------------------------------------------- scale

# 100 services of 200 addresses each, all distinct, all on one port.
many_addresses() {
	awk 'BEGIN {
		for (s = 0; s < 100; s++) {
			printf "service s%d {\n\tlisten = {", s
			for (i = 1; i <= 200; i++)
				printf "%s\"127.0.%d.%d:7000\"", (i > 1 ? ", " : ""), s, i
			printf "}\n\tprotocol = \"echo\"\n}\n"
		}
	}' >"$CONF"
}

@test "20,000 listen addresses are checked for clashes in well under 10 s" {
	many_addresses
	# A bound on correctness, not a benchmark: comparing every address
	# with every other took 15 s here.
	accepts
	# A wildcard after them all clashes with each: said once, for it.
	printf 'service w {\n\tlisten = {"*:7000"}\n\tprotocol = "echo"\n}\n' >>"$CONF"
	rejects "$CONF:404: service w: listen \"*:7000\" clashes with \"127.0.0.1:7000\" of service s0"
}

# ------------------------------------------------------------- reload

@test "a reload from a FIFO fails at once; the master stays responsive" {
	write_config 'protocol = "echo"'
	start_daemon
	rm "$CONF"
	mkfifo "$CONF"
	kill -HUP "$DPID"
	wait_log "master: error: $CONF: not a regular file \(a FIFO\)"
	wait_log "reload failed: still running generation 1"
	run talk <<<"still here"
	[ "$output" = "still here" ]
	# It still hears TERM: bounded, not wait_until, which fails as soon
	# as the daemon exits.
	kill -TERM "$DPID"
	local deadline=$((SECONDS + 10))
	until is_gone "$DPID"; do
		[ "$SECONDS" -lt "$deadline" ]
		sleep 0.05
	done
}
