#!/usr/bin/env python3
"""readme.py KIND README [FROM=TO ...]

Run the commands README.md prints, of one KIND, and say how each went:
"ok: COMMAND" or "FAIL: COMMAND: why"; exit 1 if any failed, 2 if the
README has none of that KIND.  Two kinds of block hold commands:

  ```sh        one command a line (a comment after # is the shell's);
               no output is promised, the exit status must be 0
  ```bash      a script, run whole by bash -e (KIND script): what it
               prints is shown, the exit status must be 0
  ```console   a session: "$ COMMAND", then what it prints; a line
               "> TEXT" is typed (TEXT and a newline go to its input), and
               "OUTPUT> TEXT" is typed after OUTPUT, which has no newline;
               "..." stands for any lines; the last line's newline may be
               missing.  Digits, the names of days and
               months and runs of spaces in the output may differ (a pid,
               a port, a time).

KIND "script" runs the bash blocks; any other KIND picks the commands of
the sh and console blocks by their first word: make (run as `make -n`,
a dry run: every target and variable must resolve), man (the page must
render), systemctl (only listed: see tests/readme.bats), and daemon (the
rest: run against a running preforkd on the sample config).  Each
FROM=TO replaces FROM in a command, and only there: the free ports of the
test for the sample's, its pidfile and config for build/run's and etc/'s.
A typed session (one with "> " lines) ends as Ctrl-C would, once its
output is all there or after 5 s.
"""
import os
import re
import signal
import subprocess
import sys
import time

MONTH_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|" \
    r"Sep|Oct|Nov|Dec|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"


def blocks(path):
    """(language, [lines]) for each fenced block of the file."""
    lang, body = None, []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if lang is None:
            m = re.match(r"^```(\S*)$", line)
            if m:
                lang, body = m.group(1), []
        elif line == "```":
            yield lang, body
            lang = None
        else:
            body.append(line)


def commands(path):
    """(command, typed input or None, expected output or None) for each
    command of the file's sh and console blocks."""
    for lang, body in blocks(path):
        if lang == "sh":
            for line in body:
                if line.strip() and not line.lstrip().startswith("#"):
                    yield line, None, None
        elif lang == "console":
            cmd = None
            for line in body + ["$ "]:
                if line.startswith("$ "):
                    if cmd is not None:
                        yield cmd, typed, expected
                    cmd, typed, expected = line[2:], None, []
                    continue
                if cmd is None:
                    raise SystemExit("%s: console block without $: %s"
                                     % (path, line))
                shown, sep, text = line.partition("> ")
                if sep:
                    typed = (typed or "") + text + "\n"
                    expected.append(("part", shown))
                elif line == "...":
                    expected.append(("any", ""))
                else:
                    expected.append(("line", line))


def scripts(path):
    """The text of each bash block of the file, one script each."""
    for lang, body in blocks(path):
        if lang == "bash":
            yield "\n".join(body) + "\n"


def substitute(text, subst):
    """text with each FROM replaced by TO where FROM stands as a word."""
    for old, new in subst:
        text = re.sub(r"(?<![\w./-])%s(?![\w./-])" % re.escape(old),
                      lambda _m, new=new: new, text)
    return text


def run_scripts(path, subst, env):
    """Run each bash block; the count run and failed."""
    n, failed = 0, 0
    for script in scripts(path):
        n += 1
        first = script.splitlines()[0]
        try:
            proc = subprocess.run(
                ["bash", "-e", "-c", substitute(script, subst)], env=env,
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=60)
            why = None if proc.returncode == 0 else \
                "exit %d: %s" % (proc.returncode, proc.stderr[-500:])
            sys.stdout.write(proc.stdout)
        except subprocess.TimeoutExpired:
            why = "still running after 60 s"
        if why is None:
            print("ok: script %s" % first)
        else:
            failed += 1
            print("FAIL: script %s: %s" % (first, why))
    return n, failed


def kind_of(cmd):
    first = cmd.split()[0]
    if first in ("make", "man", "systemctl"):
        return first
    return "daemon"


def pattern(expected):
    """The regular expression the whole output must match."""
    out = ""
    for what, text in expected:
        if what == "any":
            out += r"(?:.*\n)*"
            continue
        piece = ""
        for tok in re.split(r"(\d+| +|%s)" % MONTH_DAY, text):
            if tok is None or tok == "":
                continue
            if tok.isdigit():
                piece += r"\d+"
            elif tok.strip() == "":
                piece += " +"
            elif re.fullmatch(MONTH_DAY, tok):
                piece += "[A-Za-z]{3}"
            else:
                piece += re.escape(tok)
        out += piece + ("\n" if what == "line" else "")
    # The last line may end without a newline (a datagram's answer does),
    # as the shell's prompt then shows.
    if expected and expected[-1][0] == "line":
        out += "?"
    return re.compile(out)


def run(cmd, typed, expected, env):
    """(None when the command did what the README says, else why not;
    what it printed)."""
    proc = subprocess.Popen(
        ["bash", "-c", cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, start_new_session=True)
    if typed is None:
        try:
            out, err = proc.communicate(b"", timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return "still running after 30 s", ""
        text = out.decode(errors="replace")
        if proc.returncode != 0:
            return "exit %d: %s" % (proc.returncode,
                                    err.decode(errors="replace").strip()), text
        if expected is not None and not pattern(expected).fullmatch(text):
            return "printed %r" % text, text
        return None, text
    # Typed: the answers come; then it is ended, as by Ctrl-C.
    proc.stdin.write(typed.encode())
    proc.stdin.flush()
    want = pattern(expected)
    os.set_blocking(proc.stdout.fileno(), False)
    out, deadline = b"", time.time() + 5
    while time.time() < deadline:
        try:
            out += proc.stdout.read() or b""
        except BlockingIOError:
            pass
        if want.fullmatch(out.decode(errors="replace")):
            # Nothing more than that: a moment more.
            time.sleep(0.3)
            try:
                out += proc.stdout.read() or b""
            except BlockingIOError:
                pass
            break
        if proc.poll() is not None:
            out += proc.stdout.read() or b""
            break
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    proc.stdin.close()
    text = out.decode(errors="replace")
    if not want.fullmatch(text):
        return "printed %r" % text, text
    return None, text


def main():
    kind, path = sys.argv[1], sys.argv[2]
    subst = [a.split("=", 1) for a in sys.argv[3:]]
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
        env.pop(name, None)
    env["MANPAGER"] = "cat"
    env["MANWIDTH"] = "80"
    env["PAGER"] = "cat"
    n, failed = 0, 0
    if kind == "script":
        n, failed = run_scripts(path, subst, env)
    for cmd, typed, expected in [] if kind == "script" else commands(path):
        if kind_of(cmd) != kind:
            continue
        n += 1
        line = substitute(cmd, subst)
        if kind == "systemctl":
            print("listed: %s" % cmd)
            continue
        if kind == "make":
            # A function, so that "make a && make b" runs both dry.
            line = 'make() { command make -n "$@"; }; ' + line
        why, out = run(line, typed, expected, env)
        if kind == "man" and why is None and "DESCRIPTION" not in out:
            why = "no page: %r" % out[:200]
        if why is None:
            print("ok: %s" % cmd)
        else:
            failed += 1
            print("FAIL: %s: %s" % (cmd, why))
    print("%d %s command(s), %d failed" % (n, kind, failed))
    if n == 0:
        sys.exit(2)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
