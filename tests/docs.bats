#!/usr/bin/env bats
# The manual pages: docs move with the code (the install: install.bats).

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "man pages are clean under mandoc -Tlint" {
	run mandoc -Tlint -Wwarning "$ROOT/man/preforkd.8" "$ROOT/man/preforkd.conf.5"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "every config key the parser accepts is in preforkd.conf(5)" {
	local key missing=""
	for key in $(grep -ho 'CFG_[A-Z_]*("[a-z_]*"' "$ROOT/src/config.c" |
	    sed 's/.*"\(.*\)"/\1/' | sort -u); do
		grep -q "^\.It Ic $key\b" "$ROOT/man/preforkd.conf.5" ||
		    missing="$missing $key"
	done
	echo "undocumented:$missing"
	[ -z "$missing" ]
}

@test "every command-line flag is in preforkd(8) and the usage line" {
	local flags missing="" f
	flags=$(grep -o 'getopt(argc, argv, "[^"]*")' "$ROOT/src/main.c" |
	    sed 's/.*"\(.*\)".*/\1/' | tr -d ':' | fold -w1)
	[ -n "$flags" ]
	for f in $flags; do
		grep -q "^\.It Fl $f\b" "$ROOT/man/preforkd.8" || missing="$missing -$f"
		"$PREFORKD" -h | grep -q -- "-$f" || missing="$missing usage:-$f"
	done
	echo "undocumented:$missing"
	[ -z "$missing" ]
}

@test "every -s signal name is in preforkd(8) and the README" {
	local name
	for name in stop quit reload reopen status; do
		grep -qw "$name" "$ROOT/man/preforkd.8"
		grep -qw "$name" "$ROOT/README.md"
	done
}

@test "every exit status in main.c is listed in preforkd(8)" {
	local n
	for n in $(sed -nE 's/^\tEXIT_[A-Z]+ = ([0-9]+),.*/\1/p' "$ROOT/src/main.c"); do
		grep -qE "^\.It $n\b|^\.It Li $n\b|^\.It Sy $n\b" "$ROOT/man/preforkd.8"
	done
}

@test "the sample config passes -t" {
	run "$PREFORKD" -t -c "$ROOT/etc/preforkd.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "$ROOT/etc/preforkd.conf: syntax ok" ]
}
