#!/usr/bin/env bats
# Drop-in files (preforkd.conf(5), INCLUDE): include "conf.d/*.conf" reads
# the files it matches in name order, as xinetd's includedir and nginx's
# include; errors name the included file and its line; -T prints the
# merged result; a reload reads the directory again.  And disable = true:
# a service kept in the file, checked, printed, not run.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	mkdir "$T/conf.d"
	P2="$(free_port)"
	P3="$(free_port)"
}

teardown() {
	common_teardown
}

# main_config [INCLUDE_LINE]: a main file with the include line (by
# default conf.d's *.conf, relative to the main file) and service svc.
main_config() {
	local include='include "conf.d/*.conf"'
	[ $# -eq 0 ] || include="$1"
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 5
$include
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
CONF
}

# drop_in FILE NAME PORT [KEYS]: a service NAME in conf.d/FILE.
drop_in() {
	cat >"$T/conf.d/$1" <<CONF
service $2 {
	listen = {"127.0.0.1:$3"}
	protocol = "prefix"
	prefix = "$2: "
	${4:-workers = 1}
}
CONF
}

# check_fails LINE...: -t exits 1 with exactly these lines on stderr.
check_fails() {
	local expected
	expected="$(printf '%s\n' "$@")"
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	echo "status $status, stderr:"
	echo "$stderr"
	echo "expected:"
	echo "$expected"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$expected" ]
}

@test "two drop-ins are read in name order, and both serve" {
	main_config
	# Written in the other order: the name decides, not the inode.
	drop_in 20-second.conf second "$P3"
	drop_in 10-first.conf first "$P2"
	run --separate-stderr "$PREFORKD" -T -c "$CONF"
	[ "$status" -eq 0 ]
	# Spliced where the include stands: before svc, first before second.
	[ "$(grep -E '^service ' <<<"$output" | tr '\n' ' ')" = \
	    "service first { service second { service svc { " ]
	start_daemon
	run talk "" "$P2" <<<"a"
	[ "$output" = "first: a" ]
	run talk "" "$P3" <<<"b"
	[ "$output" = "second: b" ]
	run talk <<<"c"
	[ "$output" = "c" ]
}

@test "-T prints the merged result, each drop-in's service under its file" {
	main_config
	drop_in 10-first.conf first "$P2"
	run --separate-stderr "$PREFORKD" -T -c "$CONF"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$stderr" = "$CONF: syntax ok" ]
	grep -qxF "# from $T/conf.d/10-first.conf" <<<"$output"
	# The comment stands right before its service; svc, from the main
	# file, has none.
	[ "$(grep -A1 '^# from ' <<<"$output" | tail -1)" = "service first {" ]
	[ "$(grep -c '^# from ' <<<"$output")" -eq 1 ]
	# What -T prints is a file that loads and prints the same.
	printf '%s\n' "$output" >"$T/printed.conf"
	run --separate-stderr "$PREFORKD" -T -c "$T/printed.conf"
	[ "$status" -eq 0 ]
	[ "$(grep -v '^#' <<<"$output")" = "$(grep -v '^#' "$T/printed.conf")" ]
}

@test "an error in a drop-in names the drop-in and its line" {
	main_config
	drop_in 10-first.conf first "$P2" "workers = 0"
	cat >"$T/conf.d/20-second.conf" <<CONF

service second {
	listen = {"127.0.0.1:$P3"}
	protocol = "echo"
	colour = "red"
}
CONF
	check_fails "$T/conf.d/20-second.conf:5: no such option 'colour'" \
	    "$T/conf.d/10-first.conf:5: workers = 0 is out of range (1 to 1024)"
}

@test "a line of the main file after a drop-in still names its own line" {
	main_config
	drop_in 10-first.conf first "$P2"
	sed -i 's/protocol = "echo"/protocol = "gopher"/' "$CONF"
	check_fails "$CONF:6: unknown protocol \"gopher\" (expected one of: echo, discard, prefix, timestamp, daytime, time, chargen, status, exec)"
}

@test "an include of a missing file is one error naming it" {
	main_config 'include "other.conf"'
	check_fails "$CONF:3: include \"other.conf\": $T/other.conf: No such file or directory"
	# libconfuse's own spelling means the same, and says the same.
	main_config 'include("other.conf")'
	check_fails "$CONF:3: include \"other.conf\": $T/other.conf: No such file or directory"
}

@test "an empty glob is fine; a glob in a missing directory is not" {
	main_config
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	main_config 'include "conf.e/*.conf"'
	check_fails "$CONF:3: include \"conf.e/*.conf\": $T/conf.e: No such file or directory"
}

@test "a directory means its *.conf files, and only those" {
	main_config "include \"$T/conf.d\""
	drop_in 10-first.conf first "$P2"
	drop_in 10-first.conf~ backup "$P3"
	drop_in README notes "$P3"
	run --separate-stderr "$PREFORKD" -T -c "$CONF"
	[ "$status" -eq 0 ]
	[ "$(grep -E '^service ' <<<"$output" | tr '\n' ' ')" = \
	    "service first { service svc { " ]
}

@test "an include loop is an error, not a hang" {
	main_config
	cat >"$T/conf.d/10-loop.conf" <<'CONF'
include "../preforkd.conf"
CONF
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$T/conf.d/10-loop.conf:1: include \"../preforkd.conf\": $T/conf.d/../preforkd.conf: an include loop: it is being read already" ]
}

@test "includes nest, but no deeper than 8" {
	main_config 'include "n1.conf"'
	local i
	for ((i = 1; i <= 9; i++)); do
		echo "include \"n$((i + 1)).conf\"" >"$T/n$i.conf"
	done
	: >"$T/n10.conf"
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$T/n8.conf:1: include \"n9.conf\": $T/n9.conf: includes nested too deep (at most 8)" ]
	echo "" >"$T/n8.conf"
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 0 ]
}

@test "a drop-in holds services: a global setting in one is refused" {
	main_config
	printf 'user = "root"\n' >"$T/conf.d/10-user.conf"
	check_fails "$T/conf.d/10-user.conf:1: 'user' is a global setting: it belongs in the main file, not in an included one"
}

@test "a service in two files is refused at the second" {
	main_config
	drop_in 10-first.conf svc "$P2"
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "$CONF:"*"svc"* ]]
}

@test "a drop-in others may write is warned of, as the main file is" {
	[ "$(id -u)" -eq 0 ] || chmod 755 "$T"
	main_config
	drop_in 10-first.conf first "$P2"
	chmod 664 "$T/conf.d/10-first.conf"
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"$T/conf.d/10-first.conf: writable by users other than root and preforkd's own"* ]]
}

@test "a reload reads the directory again: a new drop-in serves" {
	main_config
	start_daemon
	run --separate-stderr talk "" "$P2" <<<"a"
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	drop_in 10-first.conf first "$P2"
	reload
	log_has "reloaded .*: generation 2"
	run talk "" "$P2" <<<"a"
	[ "$output" = "first: a" ]
	# And a broken one changes nothing, naming the file.
	drop_in 20-bad.conf bad "$P3" "workers = 0"
	reload
	log_has "$T/conf.d/20-bad.conf:5: workers = 0 is out of range"
	log_has "reload failed: still running generation 2"
	run talk "" "$P2" <<<"b"
	[ "$output" = "first: b" ]
}

@test "disable = true: kept in the file and checked, printed by -T, not run" {
	main_config
	drop_in 10-first.conf first "$P2" "disable = true"
	run --separate-stderr "$PREFORKD" -T -c "$CONF"
	[ "$status" -eq 0 ]
	[ "$(sed -n '/^service first {/,/^}/p' <<<"$output" | grep -c 'disable = true')" -eq 1 ]
	start_daemon
	run --separate-stderr talk "" "$P2" <<<"a"
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	run talk <<<"c"
	[ "$output" = "c" ]
	refute log_has "service first"
	# -t still checks it.
	drop_in 10-first.conf first "$P2" "disable = true
	workers = 0"
	check_fails "$T/conf.d/10-first.conf:6: workers = 0 is out of range (1 to 1024)"
}

@test "disable = false again, and a reload starts the service" {
	main_config
	drop_in 10-first.conf first "$P2" "disable = true"
	start_daemon
	sed -i 's/disable = true/disable = false/' "$T/conf.d/10-first.conf"
	reload
	log_has "reloaded .*: generation 2"
	run talk "" "$P2" <<<"a"
	[ "$output" = "first: a" ]
}

@test "a disabled service's address clashes with nothing" {
	main_config
	# The old version of svc, kept for a switch back.
	drop_in 10-old.conf old "$PORT" "disable = true"
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	echo "$stderr"
	[ "$status" -eq 0 ]
}

@test "a file whose every service is disabled is refused" {
	cat >"$CONF" <<CONF
include "conf.d/*.conf"
CONF
	drop_in 10-first.conf first "$P2" "disable = true"
	check_fails "$CONF: every service has disable = true: nothing to run"
}

@test "past the most files, one error, not one per file left out" {
	main_config
	local i
	for ((i = 1; i <= 1100; i++)); do
		: >"$T/conf.d/f$i.conf"
	done
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	echo "${stderr_lines[0]}"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "$CONF:3: include \"conf.d/*.conf\": $T/conf.d/"*": too many files, it and every file after it left out (at most 1024)" ]]
}

@test "a drop-in whose name holds a newline or an escape is refused, its name escaped" {
	main_config
	printf 'bogus = 1\n' >"$T/conf.d/a"$'\n'"FORGED: syntax ok"$'\033'"[2J.conf"
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	echo "$stderr" | cat -v
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	refute grep -q '^FORGED' <<<"$stderr"
	refute grep -q $'\033' <<<"$stderr"
	[ "$stderr" = "$CONF:3: include \"conf.d/*.conf\": $T/conf.d/a\\nFORGED: syntax ok\\x1b[2J.conf: a control byte in its name: not read" ]
}
