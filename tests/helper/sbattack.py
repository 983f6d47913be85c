#!/usr/bin/env python3
"""A compromised worker writes the scoreboard (issue 15, findings 1, 7, 8).

Usage:
  sbattack.py WORKER_PID ASSIGNMENT...    write into that worker's mapping
  sbattack.py WORKER_PID --dump           print the slots it can see
  sbattack.py WORKER_PID --scribble SEED [N]
                                          N (default 64) 32-bit stores of
                                          hostile values (0, -1, 2^31-1,
                                          small numbers, the generation,
                                          random) into the fields the
                                          master reads, and anywhere past
                                          the magic
  sbattack.py --layout                    print the offsets used

An ASSIGNMENT is WHERE.FIELD=VALUE:
  WHERE   header | self (the slot whose pid is WORKER_PID) | free (every
          free slot below the table's nslots) | N (slot number N) |
          svcN (service N of the current generation's table)
  VALUE   an integer (0x... allowed); "ip:A.B.C.D" for a struct
          addr_source (AF_INET, prefix 32); "str:TEXT" for a char array,
          TEXT with Python escapes (\\x1b, \\n), NUL-terminated and cut to
          the field; "gen" for the header's current generation

Environment: SBATTACK_NSLOTS, the table's real slot count (max_slots),
for a mapping whose header an earlier attack has already changed.

Whose view this is.  The master creates the scoreboard 0600 root, next to
the pidfile (in the tests, in a 0700 temp dir), so the worker user, nobody,
cannot open it by its path: `setpriv --reuid=nobody` gets EACCES.  But every
worker has the table mapped MAP_SHARED and PROT_WRITE, because it writes
its own slot with plain stores: code running in a compromised worker can
store anywhere in that mapping.  This helper does exactly that and no more:
as root it writes the worker's own pages through /proc/PID/mem, and only a
mapping the worker has writable and shared ("rw-s" in /proc/PID/maps) whose
first bytes are the scoreboard's magic "preforkd-sb".  A fix that maps the
master's part read-only (or not at all) into workers makes the write fail
or land where the master no longer looks -- which is the point.

The layout is computed, not guessed: the helper compiles a few lines of C
with offsetof() against include/scoreboard.h (cc, -I include); without a
compiler it falls back to the table below, measured on the tree of issue
15 (x86-64, gcc 12):

  struct scoreboard_header (576 bytes)      struct scoreboard_service (56)
     0 magic[16]        16 nslots              0 name[40]
    20 nservices        24 master             40 workers   44 max_workers
    28 generation       32 high_water         48 idle_hint
    40 started (i64)    48 seq                52 wake_when_full
    52 reloads          56 reload_result
    60 reload_message[512]

  struct scoreboard_slot (224 bytes)
     0 seq   4 pid   8 service   12 generation   16 state
    20 service_name[40]   60 client[72]   132 source (struct addr_source,
    24: family u32, prefix u32, bytes[16])   160 conn_started ...

  The mapping (scoreboard.c, lay_out): header, then nslots services, then
  nslots slots: slot i at 576 + nslots * 56 + i * 224.
"""
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile

MAGIC = b"preforkd-sb"
HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(HERE, "..", "..", "include")

FALLBACK = {
    "header.size": 576, "service.size": 56, "slot.size": 224,
    "header.nslots": (16, 4), "header.nservices": (20, 4),
    "header.master": (24, 4), "header.generation": (28, 4),
    "header.high_water": (32, 4), "header.seq": (48, 4),
    "header.reloads": (52, 4), "header.reload_result": (56, 4),
    "header.reload_message": (60, 512),
    "slot.seq": (0, 4), "slot.pid": (4, 4), "slot.service": (8, 4),
    "slot.generation": (12, 4), "slot.state": (16, 4),
    "slot.service_name": (20, 40), "slot.client": (60, 72),
    "slot.source": (132, 24),
    "service.name": (0, 40), "service.workers": (40, 4),
    "service.max_workers": (44, 4), "service.idle_hint": (48, 4),
    "service.wake_when_full": (52, 4),
}

FIELDS = {
    "header": ("scoreboard_header", ["nslots", "nservices", "master",
        "generation", "high_water", "seq", "reloads", "reload_result",
        "reload_message"]),
    "service": ("scoreboard_service", ["name", "workers", "max_workers",
        "idle_hint", "wake_when_full", "failed_starts", "restarts",
        "last_failure"]),
    "slot": ("scoreboard_slot", ["seq", "pid", "service", "generation",
        "state", "service_name", "client", "source", "program_index",
        "program_status"]),
}

STATES = {"free": 0, "starting": 1, "idle": 2, "busy": 3, "quitting": 4}


def compute_layout():
    """offsetof() and sizeof() from the real header, or the fallback."""
    lines = ['#include <stdio.h>', '#include <stddef.h>',
             '#include "scoreboard.h"', 'int main(void) {']
    for kind, (tag, fields) in FIELDS.items():
        lines.append('printf("%s.size %%zu\\n", sizeof(struct %s));'
                     % (kind, tag))
        for f in fields:
            lines.append('printf("%s.%s %%zu %%zu\\n", offsetof(struct %s,'
                         ' %s), sizeof(((struct %s *)0)->%s));'
                         % (kind, f, tag, f, tag, f))
    lines.append('return 0; }')
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "l.c"), os.path.join(d, "l")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        try:
            subprocess.run([os.environ.get("CC", "cc"), "-I", INCLUDE,
                            "-o", exe, src], check=True,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
            out = subprocess.run([exe], check=True, capture_output=True,
                                 text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            print("sbattack: layout from the fallback table (%s)" % e,
                  file=sys.stderr)
            return dict(FALLBACK)
    layout = {}
    for line in out.split("\n"):
        parts = line.split()
        if len(parts) == 2:
            layout[parts[0]] = int(parts[1])
        elif len(parts) == 3:
            layout[parts[0]] = (int(parts[1]), int(parts[2]))
    return layout


def find_mapping(pid):
    """(start, length) of the worker's writable shared scoreboard."""
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb") as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if parts[1] != "rw-s":
                continue
            try:
                head = os.pread(mem.fileno(), len(MAGIC), lo)
            except OSError:
                continue
            if head == MAGIC:
                return lo, hi - lo
    sys.exit("sbattack: worker %d has no writable shared mapping starting "
             "with %r" % (pid, MAGIC))


class Board:
    def __init__(self, pid, layout):
        self.pid = pid
        self.L = layout
        self.base, self.length = find_mapping(pid)
        self.fd = os.open("/proc/%d/mem" % pid, os.O_RDWR)
        # The slot array's place is fixed by the nslots the master laid
        # the table out with: read it before any assignment changes it,
        # or take it from SBATTACK_NSLOTS (max_slots) when an earlier
        # attack may have changed it.
        self.nslots = int(os.environ.get("SBATTACK_NSLOTS", "0")) or \
            self.get("header", 0, "nslots")
        self.slots = (self.L["header.size"] +
                      self.nslots * self.L["service.size"])

    def addr(self, kind, index, field):
        off, size = self.L["%s.%s" % (kind, field)]
        if kind == "header":
            return self.base + off, size
        if kind == "service":
            return self.base + self.L["header.size"] + \
                index * self.L["service.size"] + off, size
        return self.base + self.slots + index * self.L["slot.size"] + off, \
            size

    def get(self, kind, index, field):
        a, size = self.addr(kind, index, field)
        raw = os.pread(self.fd, size, a)
        return int.from_bytes(raw[:4], "little") if size == 4 else raw

    def put(self, kind, index, field, value):
        a, size = self.addr(kind, index, field)
        if a + size > self.base + self.length:
            sys.exit("sbattack: %s[%d].%s lies past the mapping"
                     % (kind, index, field))
        if isinstance(value, int):
            raw = (value & 0xffffffff).to_bytes(4, "little")
            if size != 4:
                sys.exit("sbattack: %s.%s is not a 32-bit field" %
                         (kind, field))
        else:
            raw = value[:size - 1] + b"\0" if field != "source" else value
        os.pwrite(self.fd, raw, a)

    def slot_of_pid(self):
        fit = (self.length - self.slots) // self.L["slot.size"]
        for i in range(min(self.nslots, fit)):
            if self.get("slot", i, "pid") == self.pid:
                return i
        sys.exit("sbattack: no slot holds pid %d" % self.pid)


def parse_value(board, text):
    if text.startswith("ip:"):
        return struct.pack("<II", socket.AF_INET, 32) + \
            socket.inet_aton(text[3:]) + bytes(12)
    if text.startswith("str:"):
        return text[4:].encode().decode("unicode_escape").encode("latin-1")
    if text == "gen":
        return board.get("header", 0, "generation")
    if text in STATES:
        return STATES[text]
    return int(text, 0)


def scribble(board, seed, n):
    """What a fuzzer in a compromised worker would store: hostile values
    into the fields the master reads (the header's counts and generation,
    its own slot's service, state and generation), and anything anywhere
    else in the mapping but its magic (so the next round finds it)."""
    rng = random.Random(seed)
    gen = board.get("header", 0, "generation")
    values = [0, 0xffffffff, 0x7fffffff, 0x80000000, 1, 2, 3, 4, 5, 64,
              1024, 0xfffffff0, 0x10000, gen, gen + 1]
    me = board.slot_of_pid()
    header = ["nslots", "nservices", "generation", "high_water"]
    slot = ["service", "state", "generation"]
    for _ in range(n):
        v = rng.choice(values) if rng.random() < 0.8 else \
            rng.getrandbits(32)
        r = rng.random()
        if r < 0.3:
            board.put("header", 0, rng.choice(header), v)
        elif r < 0.7:
            board.put("slot", me, rng.choice(slot), v)
        else:
            off = rng.randrange(16, board.length - 4) & ~3
            os.pwrite(board.fd, v.to_bytes(4, "little"), board.base + off)
    return 0


def main(argv):
    layout = compute_layout()
    if argv[1:] == ["--layout"]:
        for k in sorted(layout):
            print(k, layout[k])
        return 0
    board = Board(int(argv[1]), layout)
    if argv[2:] == ["--dump"]:
        end = (board.base + board.length - board.base - board.slots) // \
            board.L["slot.size"]
        for i in range(min(board.nslots, end)):
            print(i, board.get("slot", i, "pid"),
                  board.get("slot", i, "state"),
                  board.get("slot", i, "service"))
        return 0
    if argv[2:3] == ["--scribble"]:
        return scribble(board, int(argv[3]),
                        int(argv[4]) if len(argv) > 4 else 64)
    # Resolve every target first: a write to the header or to self's pid
    # must not change which slots the later assignments mean.
    todo = []
    for arg in argv[2:]:
        where, rest = arg.split(".", 1)
        field, text = rest.split("=", 1)
        value = parse_value(board, text)
        if where == "header":
            targets = [("header", 0)]
        elif where == "self":
            targets = [("slot", board.slot_of_pid())]
        elif where.startswith("svc"):
            targets = [("service", int(where[3:]))]
        elif where == "free":
            fit = (board.length - board.slots) // board.L["slot.size"]
            targets = [("slot", i) for i in range(min(board.nslots, fit))
                       if board.get("slot", i, "state") == 0]
        else:
            targets = [("slot", int(where))]
        todo += [(k, i, field, value) for k, i in targets]
    for kind, index, field, value in todo:
        board.put(kind, index, field, value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
