#!/usr/bin/env bats
# What the man pages, the unit and the README state that a test can
# measure or read: the scoreboard's size, what one name says the daemon
# is, what `make run` runs, what the client of a worker killed by
# worker_timeout sees, and mdoc quoting macros that swallow the words
# after them.  (The keys, flags and signals are docs.bats's.)

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

MAN8="$ROOT/man/preforkd.8"
MAN5="$ROOT/man/preforkd.conf.5"

# board_size SLOTS: the size in bytes of the scoreboard of a daemon
# started with max_slots = SLOTS (then stopped).
board_size() {
	write_config 'protocol = "echo"
	workers = 1' "max_slots = $1"
	start_daemon
	stat -c %s "$T/preforkd.scoreboard"
	stop_daemon
}

@test "the scoreboard's size in preforkd.conf(5) is the size of the file" {
	local s8 s16 slot head stated_head stated_slot stated_kib
	s8=$(board_size 8)
	s16=$(board_size 16)
	slot=$(((s16 - s8) / 8))
	head=$((s8 - 8 * slot))
	# "The scoreboard takes H bytes and S bytes a slot: about K KiB for
	# the default."
	read -r stated_head stated_slot stated_kib < <(tr '\n' ' ' <"$MAN5" |
	    sed -nE 's/.*The scoreboard takes ([0-9]+) bytes and ([0-9]+) bytes a slot: about ([0-9]+) KiB for the default.*/\1 \2 \3/p') ||
	    true
	echo "measured: $head bytes and $slot a slot;" \
	    "stated: ${stated_head:-?} and ${stated_slot:-?}, ${stated_kib:-?} KiB"
	[ -n "$stated_kib" ]
	[ "$stated_head" -eq "$head" ]
	[ "$stated_slot" -eq "$slot" ]
	# Rounded to the nearest KiB, for the default of 1024 slots.
	[ "$stated_kib" -eq $(((head + 1024 * slot + 512) / 1024)) ]
}

@test "preforkd.conf(5), the unit and preforkd(8) call the daemon the same" {
	local nd unit
	nd=$(sed -n 's/^\.Nd //p' "$MAN8")
	echo "preforkd(8): $nd"
	[[ "$nd" == pre-forked* ]]
	# "a pre-forked ... daemon." after .Xr preforkd 8 , in DESCRIPTION.
	grep -qxF "a $nd." "$MAN5"
	unit=$(sed -n 's/^Description=//p' "$ROOT/etc/preforkd.service")
	echo "unit: $unit"
	[ "$unit" = "preforkd, a $nd" ]
}

@test "make run runs what the README says, and installs nothing" {
	local recipe
	# shellcheck disable=SC2016 # the backquotes are the README's
	grep -qF '`make run` starts `./preforkd -f -c etc/preforkd.conf` with its pidfile in
`build/run/preforkd.pid`' <(sed -n '/^`make run` starts/,+1p' "$ROOT/README.md")
	recipe=$(cd "$ROOT" && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -n run B=build)
	echo "$recipe"
	grep -qE "^\./preforkd -f -c etc/preforkd\.conf -p \"?$ROOT/build/run/preforkd\.pid\"?$" <<<"$recipe"
	# Only checks: the one target that installs is make deps.
	grep -qx 'tests/deps.sh check build' <<<"$recipe"
	refute grep -q 'deps.sh install' <<<"$recipe"
}

@test "worker_timeout: the client of the killed worker sees the close preforkd(8) says" {
	write_config 'protocol = "echo"
	workers = 2
	idle_timeout = 1
	send_timeout = 1
	worker_timeout = 3'
	start_daemon
	wait_until has_workers 2
	# A client that has had its answer and waits: what does it see?
	python3 - "$PORT" >"$T/client.out" 2>&1 3>&- <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"hi\n")
assert s.recv(100) == b"hi\n"
print("answered", flush=True)
try:
    print("closed" if s.recv(100) == b"" else "data")
except ConnectionResetError:
    print("reset")
PY
	BACKGROUND="${BACKGROUND:-} $!"
	wait_until grep -qx answered "$T/client.out"
	local busy
	busy=$("$PREFORKD" -s status -p "$PIDFILE" |
	    sed -nE 's/^worker pid=([0-9]+) .*state=busy.*/\1/p')
	[ -n "$busy" ]
	kill -STOP "$busy"
	wait_log "worker $busy \(service svc\) killed by signal KILL"
	wait_until grep -qxE 'closed|reset|data' "$T/client.out"
	cat "$T/client.out"
	[ "$(tail -n 1 "$T/client.out")" = closed ]
	# And preforkd(8) says so.
	tr '\n' ' ' <"$MAN8" | grep -qF 'its client sees the connection closed, as at its end'
}

# The lines of a man page where a quoting macro (Dq, Qq, Sq, Ql: each
# quotes the rest of its line) goes on past what it should quote: a ","
# followed by prose, prose after "No" that ends no macro of the quote, or
# a key (Ic) inside it; or a word "No" of a message read as the macro.
# The messages quoted with Ar placeholders, such as
# ".Dq service Ar name No reached ...", are what "No" is for.
quote_slips() {
	python3 - "$1" <<'PY'
import re, sys
MACRO = re.compile(r"^[A-Z][a-z]$")
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    words = line.split()
    if not words or not words[0].startswith("."):
        continue
    words[0] = words[0][1:]
    for i, w in enumerate(words):
        if w not in ("Dq", "Qq", "Sq", "Ql"):
            continue
        rest = words[i + 1:]
        opened = False
        for j, r in enumerate(rest):
            nxt = rest[j + 1] if j + 1 < len(rest) else ""
            prose = re.match(r"^[a-z]", nxt) is not None
            if r == "," and prose:
                print("%d: ',' then prose: %s" % (n, line.strip()))
            elif r == "Ic":
                print("%d: a key inside the quote: %s" % (n, line.strip()))
            elif r == "No" and prose and not opened:
                print("%d: 'No' after plain words: %s" % (n, line.strip()))
            # "No" ends the macro opened since the quote or the last No.
            if r == "No":
                opened = False
            elif MACRO.match(r) and r != "Ns":
                opened = True
        break
PY
}

@test "no quoting macro of the man pages quotes the words after it" {
	local page slips all=""
	for page in "$MAN8" "$MAN5"; do
		slips=$(quote_slips "$page")
		[ -z "$slips" ] || all="$all$page:"$'\n'"$slips"$'\n'
	done
	echo "$all"
	[ -z "$all" ]
	# It looks: each page quotes with these macros many times.
	[ "$(grep -cE '^\.(Dq|Qq|Sq|Ql|Pq (Dq|Qq|Ql)) ' "$MAN8")" -gt 50 ]
	[ "$(grep -cE '^\.(Dq|Qq|Sq|Ql|Pq (Dq|Qq|Ql)) ' "$MAN5")" -gt 50 ]
}
