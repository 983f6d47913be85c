#!/usr/bin/env bats
# Every command README.md prints, run as printed (tests/helper/readme.py):
# the tour's against the sample config, etc/preforkd.conf, started as
# `make run` starts it but on free ports (7001 to 7005 are the sample's,
# and another test may check that file with -t meanwhile), each command's
# port, pidfile and config rewritten to the same ones; the make lines as
# `make -n`; the man lines through man(1).  A command that no test can run
# does not belong in the README.

load helpers

bats_require_minimum_version 1.5.0

README="$ROOT/README.md"

setup() {
	common_setup
	SUBST=()
}
teardown() { common_teardown; }

# The sample config on free ports, started; SUBST: the rewrites that make
# the README's commands talk to it.
start_sample() {
	local p new
	cp "$ROOT/etc/preforkd.conf" "$CONF"
	for p in 7001 7002 7003 7004 7005; do
		new=$(free_port)
		sed -i "s/:$p\"/:$new\"/g" "$CONF"
		SUBST+=("$p=$new")
		eval "SAMPLE_$p=$new"
	done
	# start_daemon's pidfile and config are the test's own.
	SUBST+=("build/run/preforkd.pid=$PIDFILE" "etc/preforkd.conf=$CONF"
	    "./preforkd=$PREFORKD")
	start_daemon
	# echo's four stream workers and its datagram worker (udp_workers).
	wait_until has_workers 5 echo
}

readme() {
	(cd "$ROOT" && python3 "$ROOT/tests/helper/readme.py" "$1" "$README" \
	    "${SUBST[@]}")
}

@test "README: every tour command against the sample config prints what it shows" {
	need_tool nc netcat-openbsd
	need_tool ncat ncat
	need_tool socat socat
	start_sample
	# -s status shows a busy echo worker: one is.
	open_client busy "$SAMPLE_7001"
	send_line busy "hello"
	wait_until client_saw busy "hello"
	run readme daemon
	echo "$output"
	[ "$status" -eq 0 ]
	# It looked: the tour, the netcats, UDP, -s reload and -s status.
	[[ "${lines[-1]}" =~ ^([0-9]+)\ daemon ]]
	[ "${BASH_REMATCH[1]}" -ge 12 ]
}

@test "README: the exec tour runs as a script, as printed" {
	need_tool nc netcat-openbsd
	need_tool git git
	local hello git
	hello=$(free_port)
	git=$(free_port)
	# Run from the tree as printed; its directory, ports and binary are
	# the test's own.
	SUBST=("build/tour=$T/tour" "../../preforkd=$PREFORKD"
	    "7010=$hello" "9418=$git"
	    "git://127.0.0.1/repo.git=git://127.0.0.1:$git/repo.git")
	run readme script
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello world, from 127.0.0.1"* ]]
	[ -d "$T/tour/clone" ]
	[[ "${lines[-1]}" =~ ^1\ script ]]
}

@test "README: every make line resolves as printed (make -n)" {
	run readme make
	echo "$output"
	[ "$status" -eq 0 ]
	# deps, run, test, the developers' six, the install's four lines.
	[[ "${lines[-1]}" =~ ^([0-9]+)\ make ]]
	[ "${BASH_REMATCH[1]}" -ge 12 ]
}

@test "README: every man line shows its page" {
	need_tool man man-db
	run readme man
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^2\ man ]]
}

# systemctl needs systemd as PID 1 and an installed unit: not here.  What
# each line says of the unit is checked on the unit file instead.
@test "README: each systemctl line is what etc/preforkd.service does" {
	local unit="$ROOT/etc/preforkd.service" verbs
	run readme systemctl
	echo "$output"
	[ "$status" -eq 0 ]
	verbs=$(sed -nE 's/^listed: systemctl ([a-z-]+)( .*)?$/\1/p' <<<"$output" |
	    tr '\n' ' ')
	[ "$verbs" = "daemon-reload enable reload status stop " ]
	# enable: it has an [Install] target.
	grep -qx 'WantedBy=multi-user.target' "$unit"
	# reload: "preforkd -s reload: a new generation of workers".
	grep -qE '^ExecReload=.*preforkd -s reload ' "$unit"
	# status: the Status: line comes from sd_notify.
	grep -qx 'Type=notify' "$unit"
	# stop: "graceful: clients finish".
	grep -qx 'KillSignal=SIGQUIT' "$unit"
}

@test "README: no command hides from these tests in a block of another kind" {
	# A session ("$ ...") is a console block, a command list an sh block,
	# a script a bash block; every other block is a file or lines of a
	# log, which no test runs.
	local bad
	bad=$(awk '
	    /^```/ {
		if (open) { open = 0; next }
		open = 1; lang = substr($0, 4); first = 1; next
	    }
	    open && first {
		first = 0
		if (lang != "sh" && lang != "console" && lang != "bash" &&
		    $0 ~ /^\$ /)
			print NR ": " $0
	    }
	    open && lang ~ /^(shell|shell-session|zsh)$/ {
		print NR ": " lang
	    }
	' "$README")
	echo "${bad:-none}"
	[ -z "$bad" ]
	# It looked: the README has both kinds.
	[ "$(grep -c '^```console$' "$README")" -ge 8 ]
	[ "$(grep -c '^```sh$' "$README")" -ge 4 ]
}
