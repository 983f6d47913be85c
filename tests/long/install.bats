#!/usr/bin/env bats
# make install: FHS paths for PREFIX=/usr, man pages that name the installed
# paths, the licence, and no rebuild behind the user's back.  Every build
# here is private (B= and BIN= in a temp dir); one /usr build is shared.
# In the long suite (tests/run --long): it builds the program twice.

load ../helpers

setup_file() {
	# One build for PREFIX=/usr, installed once into a staging root.
	export UB="$BATS_FILE_TMPDIR/build-usr"
	export STAGE="$BATS_FILE_TMPDIR/stage"
	make -s -C "$ROOT" install PREFIX=/usr DESTDIR="$STAGE" B="$UB" \
	    BIN="$UB/preforkd" >"$BATS_FILE_TMPDIR/install.out" 2>&1 ||
	    { cat "$BATS_FILE_TMPDIR/install.out" >&2; return 1; }
}

setup() { common_setup; }
teardown() { common_teardown; }

# make_usr ARGS...: make in the tree with the shared /usr build.
make_usr() {
	make -s -C "$ROOT" B="$UB" BIN="$UB/preforkd" "$@"
}

# A fingerprint of a file that a rebuild changes: mtime and hash.
fingerprint() {
	echo "$(stat -c %Y.%y "$1") $(sha256sum <"$1")"
}

@test "make install PREFIX=/usr puts every file in its FHS place" {
	local f
	for f in usr/sbin/preforkd usr/share/man/man8/preforkd.8 \
	    usr/share/man/man5/preforkd.conf.5 \
	    etc/preforkd/preforkd.conf etc/preforkd/preforkd.conf.sample \
	    usr/share/doc/preforkd/README.md usr/share/doc/preforkd/copyright \
	    usr/lib/systemd/system/preforkd.service \
	    usr/lib/systemd/system/preforkd.socket etc/logrotate.d/preforkd; do
		[ -f "$STAGE/$f" ] || { echo "missing: /$f"; false; }
	done
	[ -x "$STAGE/usr/sbin/preforkd" ]
	[ "$(stat -c %a "$STAGE/usr/share/man/man8/preforkd.8")" = 644 ]
	# Nothing outside /usr and /etc, nothing under /usr/etc.
	run find "$STAGE" -mindepth 1 -maxdepth 1
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "$STAGE/etc $STAGE/usr " ]
	[ ! -e "$STAGE/usr/etc" ]
}

@test "the installed binary reads /etc/preforkd/preforkd.conf by default" {
	run "$STAGE/usr/sbin/preforkd" -t
	[ "$status" -eq 1 ]
	[ "$output" = "/etc/preforkd/preforkd.conf: cannot read: No such file or directory" ]
}

@test "the installed man pages name the installed paths, never /usr/local" {
	local page
	for page in man8/preforkd.8 man5/preforkd.conf.5; do
		grep -q '^\.It Pa /etc/preforkd/preforkd.conf$' \
		    "$STAGE/usr/share/man/$page"
		# Every /usr/local of the tree's pages is an install path but the
		# PATH a program of protocol exec is given, which is a fact.
		run grep -n /usr/local "$STAGE/usr/share/man/$page"
		echo "$output"
		[ -z "$output" ] ||
		    refute grep -v 'Ev PATH Ns = Ns Pa /usr/local/bin:/usr/bin:/bin' \
		        <<<"$output"
	done
	grep -q '^\.It Pa /usr/share/doc/preforkd/copyright$' \
	    "$STAGE/usr/share/man/man8/preforkd.8"
	# The tree's pages show the /usr/local defaults, and both lint clean.
	grep -q '^\.It Pa /usr/local/etc/preforkd/preforkd.conf$' \
	    "$ROOT/man/preforkd.8"
	need_tool mandoc
	run mandoc -Tlint -Wwarning "$STAGE/usr/share/man/man8/preforkd.8" \
	    "$STAGE/usr/share/man/man5/preforkd.conf.5"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the installed unit files name the installed paths" {
	local unit="$STAGE/usr/lib/systemd/system/preforkd.service"
	grep -qx "ExecStart=/usr/sbin/preforkd -f -c /etc/preforkd/preforkd.conf -p /run/preforkd/preforkd.pid" "$unit"
	grep -qx "ExecStartPre=/usr/sbin/preforkd -t -a -c /etc/preforkd/preforkd.conf -p /run/preforkd/preforkd.pid" "$unit"
	grep -qx "Type=notify" "$unit"
	run grep -n '@\|/usr/local' "$unit" "$STAGE/usr/lib/systemd/system/preforkd.socket"
	echo "$output"
	[ "$status" -eq 1 ]
	# Everything else is the tree's unit, line for line.
	diff <(grep -v '^Exec' "$ROOT/etc/preforkd.service" | grep -v '^#') \
	    <(grep -v '^Exec' "$unit" | grep -v '^#')
	cmp "$ROOT/etc/preforkd.socket" "$STAGE/usr/lib/systemd/system/preforkd.socket"
}

@test "the installed logrotate file names the installed preforkd and parses" {
	local conf="$STAGE/etc/logrotate.d/preforkd"
	grep -qx "		/usr/sbin/preforkd -s reopen -p /run/preforkd/preforkd.pid 2>/dev/null ||" "$conf"
	run grep -n '@' "$conf"
	[ "$status" -eq 1 ]
	local logrotate
	need_tool logrotate
	logrotate=$(tool_path logrotate)
	# -d: parse and say what would be done, touching nothing.
	run "$logrotate" -d -s "$T/state" "$conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rotating pattern: /var/log/preforkd/*.log "* ]]
	run grep -i "error" <<<"$output"
	[ "$status" -eq 1 ]
}

@test "the installed copyright is the README's licence" {
	local copyright="$STAGE/usr/share/doc/preforkd/copyright"
	[ "$(head -n 1 "$copyright")" = "preforkd $("$STAGE/usr/sbin/preforkd" -V | cut -d' ' -f2)" ]
	grep -qx "MIT License" "$copyright"
	grep -qx "Copyright (c) 2026 the preforkd authors" "$copyright"
	run grep -c . "$copyright"
	[ "$output" -gt 15 ]
	run grep -q '^#' "$copyright"
	[ "$status" -eq 1 ]
	cmp "$ROOT/README.md" "$STAGE/usr/share/doc/preforkd/README.md"
}

@test "make install for other paths than the build refuses, rebuilds nothing" {
	local before flags_before
	before="$(fingerprint "$UB/preforkd")"
	flags_before="$(fingerprint "$UB/flags")"
	# Built for /usr; installing with the default PREFIX would need
	# /usr/local/etc compiled in.
	run make_usr install DESTDIR="$T/other"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"was built for config=/etc/preforkd/preforkd.conf pidfile=/run/preforkd.pid,"* ]]
	[[ "$output" == *"not for config=/usr/local/etc/preforkd/preforkd.conf pidfile=/run/preforkd.pid."* ]]
	[[ "$output" == *"make PREFIX=/usr/local SYSCONFDIR=/usr/local/etc RUNSTATEDIR=/run"* ]]
	[ ! -e "$T/other" ]
	[ "$(fingerprint "$UB/preforkd")" = "$before" ]
	[ "$(fingerprint "$UB/flags")" = "$flags_before" ]
}

@test "make install for the paths of the build installs it as it is" {
	local before
	before="$(fingerprint "$UB/preforkd")"
	run make_usr install PREFIX=/usr DESTDIR="$T/again"
	[ "$status" -eq 0 ]
	[ "$(fingerprint "$UB/preforkd")" = "$before" ]
	cmp "$UB/preforkd" "$T/again/usr/sbin/preforkd"
}

@test "make install with other paths leaves the tree's own binary alone" {
	# The binary this suite runs, and the build dir next to it.
	local bin="$PREFORKD" b before
	if [ "$bin" = "$ROOT/preforkd" ]; then b="$ROOT/build"; else b="$(dirname "$bin")"; fi
	[ -f "$b/paths" ] || skip "$b/paths: the tree's binary has no recorded paths"
	grep -q '^config=/usr/local/' "$b/paths" || skip "the tree is not built for /usr/local"
	before="$(fingerprint "$bin")"
	run make -s -C "$ROOT" install PREFIX=/usr DESTDIR="$T/stage" B="$b" BIN="$bin"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Build it for these paths first:"* ]]
	[ "$(fingerprint "$bin")" = "$before" ]
	[ ! -e "$T/stage" ]
}

@test "make install honours DESTDIR and PREFIX, and uninstall undoes it" {
	run make -s -C "$ROOT" install DESTDIR="$T/root" PREFIX=/opt/pf \
	    B="$T/build" BIN="$T/preforkd"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -x "$T/root/opt/pf/sbin/preforkd" ]
	[ -f "$T/root/opt/pf/share/man/man8/preforkd.8" ]
	[ -f "$T/root/opt/pf/share/man/man5/preforkd.conf.5" ]
	[ -f "$T/root/opt/pf/etc/preforkd/preforkd.conf" ]
	[ -f "$T/root/opt/pf/share/doc/preforkd/copyright" ]
	grep -q "^ExecStart=/opt/pf/sbin/preforkd -f -c /opt/pf/etc/preforkd/preforkd.conf " \
	    "$T/root/opt/pf/lib/systemd/system/preforkd.service"
	grep -q '^\.It Pa /opt/pf/etc/preforkd/preforkd.conf$' \
	    "$T/root/opt/pf/share/man/man8/preforkd.8"
	# The installed binary looks for its config where it was installed.
	run "$T/root/opt/pf/sbin/preforkd" -t
	[[ "$output" == "/opt/pf/etc/preforkd/preforkd.conf: "* ]]
	# uninstall keeps the config an operator may have edited.
	run make -s -C "$ROOT" uninstall DESTDIR="$T/root" PREFIX=/opt/pf
	[ "$status" -eq 0 ]
	run find "$T/root" -type f
	[ "$output" = "$T/root/opt/pf/etc/preforkd/preforkd.conf" ]
}
