#!/bin/sh
# Checks on the bats files that shellcheck cannot make, for `make lint`:
# tests that cannot fail or cannot wait.  Prints each finding as
# FILE:LINE: why, and exits 1 if there was one.  Runs from anywhere:
#   tests/lint.sh [FILE...]     (default: every bats file and helpers.bash)
#
#   - `wait_until [ "$(...)" ... ]` or `wait_until test "$(...)"`: the shell
#     expands $(...) once, before wait_until runs, so the wait polls a
#     constant.  Pass a function that computes the value each time.
#   - a bare `! command` that is not the last command of its test or
#     function: `set -e` ignores a negated command, so it can never fail
#     the test.  Use `refute command` (helpers.bash) or `run !`.
set -u

if [ "$#" -eq 0 ]; then
	cd "$(dirname "$0")/.." || exit 2
	set -- tests/*.bats tests/long/*.bats tests/helpers.bash tests/helper/*.bash
fi

status=0
for f in "$@"; do
	[ -f "$f" ] || continue
	awk -v file="$f" '
	function report(line, why) {
		printf "%s:%d: %s\n", file, line, why
		found = 1
	}
	# A line that ends a test or a function: "}" at the start of a line.
	function flush_bang(next_line) {
		if (bang && next_line !~ /^}[ \t]*$/)
			report(bang, "a bare \"!\" mid-test never fails it; use refute")
		bang = 0
	}
	{
		line = $0
		# A here-document is data, not code: skip to its end marker.
		if (heredoc != "") {
			if (line ~ ("^\t*" heredoc "$"))
				heredoc = ""
			next
		}
		# <<WORD, <<-WORD, <<"WORD" or <<\047WORD\047 (not a here-string, <<<).
		if (match(line, /(^|[^<])<<-?[ \t]*["\047]?[A-Za-z_][A-Za-z_0-9]*/)) {
			heredoc = substr(line, RSTART, RLENGTH)
			sub(/^[^<]?<<-?[ \t]*["\047]?/, "", heredoc)
		}
		# Comments and blank lines do not end a statement.
		if (line ~ /^[ \t]*(#.*)?$/)
			next
		# This line starts a statement unless the last went on (\, |,
		# &&, ||).
		if (!cont)
			flush_bang(line)
		cont = (line ~ /(\\|\||&&)[ \t]*$/)
		if (line ~ /wait_until[ \t]+(\[|test[ \t])/ &&
		    (index(line, "$(") || index(line, "`")))
			report(NR, "wait_until evaluates $(...) once; pass a function")
		if (line ~ /^[ \t]*![ \t]/)
			bang = NR
	}
	END {
		flush_bang("")
		exit found
	}' "$f" || status=1
done
exit "$status"
