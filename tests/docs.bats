#!/usr/bin/env bats
# The manual pages: docs move with the code (the install: install.bats).

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "man pages are clean under mandoc -Tlint" {
	need_tool mandoc
	run mandoc -Tlint -Wwarning "$ROOT/man/preforkd.8" "$ROOT/man/preforkd.conf.5"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# man_section FILE NAME: the lines of section .Sh NAME, up to the next .Sh.
man_section() {
	awk -v name="$2" '/^\.Sh / { on = ($0 == ".Sh " name); next } on' "$1"
}

# Every key and section name the program knows, from what -T prints for a
# config with one service: "key = value", "# key is not set", "name svc {".
# From the binary, not config.c's text, so it holds whatever shape the
# parser's source takes.
config_keys() {
	printf 'service svc {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "echo"\n}\n' \
	    "$PORT" >"$CONF"
	"$PREFORKD" -T -c "$CONF" | sed -nE \
	    -e 's/^[[:space:]]*(# )?([a-z][a-z0-9_]*)( =| is not set).*/\2/p' \
	    -e 's/^([a-z][a-z0-9_]*) [a-z0-9_]+ \{$/\1/p' | sort -u
}

@test "every config key the program has is an .It Ic entry of preforkd.conf(5)" {
	local key n=0 missing=""
	for key in $(config_keys); do
		n=$((n + 1))
		grep -q "^\.It Ic $key\( \|$\)" "$ROOT/man/preforkd.conf.5" ||
		    missing="$missing $key"
	done
	echo "$n keys; undocumented:${missing:- none}"
	# Today's program has 38 (service among them): a parse of -T that
	# finds none, or only a few, is broken, not clean.
	[ "$n" -ge 30 ]
	[ -z "$missing" ]
}

@test "every command-line flag is in preforkd(8) and the usage line" {
	local flags missing="" f n=0
	flags=$(grep -o 'getopt(argc, argv, "[^"]*")' "$ROOT/src/main.c" |
	    sed 's/.*"\(.*\)".*/\1/' | tr -d ':' | fold -w1)
	for f in $flags; do
		n=$((n + 1))
		grep -q "^\.It Fl $f\b" "$ROOT/man/preforkd.8" || missing="$missing -$f"
		"$PREFORKD" -h | grep -q -- "-$f" || missing="$missing usage:-$f"
	done
	echo "$n flags; undocumented:${missing:- none}"
	[ "$n" -ge 8 ]
	[ -z "$missing" ]
}

# The names -s takes, from the usage line: "-s stop|quit|reload|...".
control_names() {
	"$PREFORKD" -h | sed -nE 's/.*\[-s ([a-z|]+)\].*/\1/p' | tr '|' '\n'
}

@test "every -s name is in preforkd(8) OPTIONS, and each signal it sends in SIGNALS and the README" {
	local name sig n=0 nsig=0 missing="" options signals
	options=$(man_section "$ROOT/man/preforkd.8" OPTIONS)
	signals=$(man_section "$ROOT/man/preforkd.8" SIGNALS)
	for name in $(control_names); do
		n=$((n + 1))
		if ! grep -qx "\.It Cm $name" <<<"$options"; then
			missing="$missing OPTIONS:$name"
			continue
		fi
		# The entry says the signal it sends on its first line,
		# ".Dv SIGHUP :"; -s status sends none.
		sig=$(grep -A1 -x "\.It Cm $name" <<<"$options" |
		    sed -nE 's/^\.Dv (SIG[A-Z0-9]+) :$/\1/p')
		[ -n "$sig" ] || continue
		nsig=$((nsig + 1))
		grep -qE "^\.It Dv $sig( , SIG[A-Z0-9]+)* Ta Fl s Cm $name Ta" \
		    <<<"$signals" || missing="$missing SIGNALS:$sig/$name"
		grep -qF "| \`$sig\` | \`$name\` |" "$ROOT/README.md" ||
		    missing="$missing README:$sig/$name"
	done
	echo "$n names, $nsig signals; undocumented:${missing:- none}"
	[ "$n" -ge 5 ]
	[ "$nsig" -ge 4 ]
	[ -z "$missing" ]
}

@test "every exit status of include/exitcode.h is in preforkd(8) EXIT STATUS" {
	local n=0 code missing="" section
	section=$(man_section "$ROOT/man/preforkd.8" "EXIT STATUS")
	for code in $(sed -nE 's/^[[:space:]]*(WORKER_)?EXIT_[A-Z]+ = ([0-9]+),.*/\2/p' \
	    "$ROOT/include/exitcode.h"); do
		n=$((n + 1))
		grep -qx "\.It $code" <<<"$section" || missing="$missing $code"
	done
	echo "$n statuses; undocumented:${missing:- none}"
	# Eight for the daemon, three for a worker.
	[ "$n" -ge 11 ]
	[ -z "$missing" ]
}

@test "the sample config passes -t" {
	run "$PREFORKD" -t -c "$ROOT/etc/preforkd.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "$ROOT/etc/preforkd.conf: syntax ok" ]
}

@test "the README's source table lists exactly the files in src/" {
	local listed present extra missing
	# The table's rows: "| `src/NAME.c` | what it does |".
	# shellcheck disable=SC2016 # the backquotes are the README's
	listed=$(sed -nE 's/^\| `(src\/[^`]+)` \|.*/\1/p' "$ROOT/README.md" |
	    sort)
	present=$(cd "$ROOT" && printf '%s\n' src/*.c | sort)
	extra=$(comm -23 <(echo "$listed") <(echo "$present") | tr '\n' ' ')
	missing=$(comm -13 <(echo "$listed") <(echo "$present") | tr '\n' ' ')
	echo "$(wc -l <<<"$present") files; not in the README: ${missing:-none};" \
	    "in the README, not in src/: ${extra:-none}"
	[ "$(wc -l <<<"$listed")" -ge 20 ]
	[ -z "$missing" ]
	[ -z "$extra" ]
}

@test "the tally the README shows for make test is the tree's, and so is any count of tests" {
	# An ASan build skips unit checks it cannot run (out of memory):
	# the tally is the plain build's.
	skip_under_asan
	local unit bats n claims claim
	unit=$("${UNIT_BIN:-$ROOT/build/unit}" | grep -c '^ok ') || true
	bats=$(cat "$ROOT"/tests/*.bats | grep -c '^@test ')
	n=$((unit + bats))
	echo "make test runs $unit unit and $bats bats tests"
	[ "$unit" -gt 100 ]
	[ "$bats" -gt 100 ]
	# "a tally such as `600 passed, 0 failed`": every test of make test.
	# shellcheck disable=SC2016 # the backquotes are the README's
	claim=$(sed -nE 's/.*tally such as `([0-9]+) passed, 0 failed`.*/\1/p' \
	    "$ROOT/README.md")
	echo "the README shows: ${claim:-no tally}"
	[ "$claim" = "$n" ]
	# "612 tests", "266 bats tests": a number of tests said in prose.
	bats=$((bats + $(cat "$ROOT"/tests/long/*.bats | grep -c '^@test ')))
	claims=$(grep -oE '\b[0-9][0-9,]* (bats |integration )?tests\b' \
	    "$ROOT/README.md" | sed -E 's/,//g; s/[^0-9].*//' || true)
	for claim in $claims; do
		[ "$claim" -eq "$bats" ] || [ "$claim" -eq "$((unit + bats))" ]
	done
}
