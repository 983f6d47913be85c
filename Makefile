# preforkd — see README.md.
#
# A packager's build: `make CPPFLAGS=... CFLAGS=... LDFLAGS=...` honours all
# three (LDLIBS too), defines _FORTIFY_SOURCE only when they do not, and
# finds libconfuse with pkg-config (plain -lconfuse without it).  -Werror is
# for development and CI: on when the caller brings no CFLAGS of its own (a
# plain `make`), off when it does, as a distribution's build does, so a new
# compiler's new warning never breaks it; WERROR=1 or WERROR=0 decides
# either way (.ci/run sets WERROR=1).  V=1 shows every compile line.
#
# `make deps` is the only target that installs anything (as root, with
# apt-get: tests/deps.sh holds the one list of packages).  Every other
# target only checks for what it needs, and says which command to run.

VERSION    = 0.1.0
PREFIX    ?= /usr/local
# FHS: a /usr install keeps its configuration in /etc, not in /usr/etc.
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/preforkd
# /usr/lib/systemd/system for PREFIX=/usr: found there by every systemd,
# Debian 12's too; /usr/local/lib/systemd/system is read as well.
UNITDIR   ?= $(PREFIX)/lib/systemd/system
RUNSTATEDIR ?= /run
DESTDIR   ?=

CC        ?= cc
# Decided before CFLAGS gets its default: did the caller bring CFLAGS?
ifeq ($(origin CFLAGS),undefined)
WERROR    ?= 1
else
WERROR    ?= 0
endif
CFLAGS    ?= -O2 -g
CPPFLAGS  ?=
WARNINGS   = -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) \
             -Wstrict-prototypes -Wmissing-prototypes \
             -Wshadow -Wpointer-arith -Wcast-qual -Wformat-security
# A distribution's own -D_FORTIFY_SOURCE=3 (alone, or after a -U) wins: a
# second definition would be "redefined".  Ours undefines first, since some
# compilers define it already.
ifeq ($(findstring -D_FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),)
FORTIFY    = -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif
HARDENING  = $(FORTIFY) -fstack-protector-strong -fPIE
DEFINES    = -D_GNU_SOURCE -DPREFORKD_VERSION='"$(VERSION)"' \
             -DCONFIG_DEFAULT='"$(SYSCONFDIR)/preforkd/preforkd.conf"' \
             -DPIDFILE_DEFAULT='"$(RUNSTATEDIR)/preforkd.pid"'
PKG_CONFIG ?= pkg-config
CONFUSE_CFLAGS := $(shell $(PKG_CONFIG) --cflags libconfuse 2>/dev/null)
CONFUSE_LIBS := $(or $(shell $(PKG_CONFIG) --libs libconfuse 2>/dev/null),-lconfuse)
# libseccomp, for the workers' sandbox (sandbox.c), found the same way.
SECCOMP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libseccomp 2>/dev/null)
SECCOMP_LIBS := $(or $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null),-lseccomp)
# The caller's flags come last, so that they win.
ALL_CFLAGS = -std=c11 $(WARNINGS) $(HARDENING) $(DEFINES) -Iinclude \
             $(CONFUSE_CFLAGS) $(SECCOMP_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDFLAGS   ?=
LDLIBS    ?=
# The statics a worker writes on a page of their own (src/worker_data.ld).
WORKER_LD  = src/worker_data.ld
ALL_LDFLAGS = -pie -Wl,-z,relro -Wl,-z,now -Wl,-T,$(WORKER_LD) $(LDFLAGS)
LIBS       = $(CONFUSE_LIBS) $(SECCOMP_LIBS) $(LDLIBS)

# V=1: every command as it runs, not "  CC file".
ifneq ($(V),1)
QUIET_CC   = @echo "  CC $<";
endif

B         ?= build
BIN       ?= preforkd
SANITIZE   = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer
SRCS       = $(wildcard src/*.c)
OBJS       = $(SRCS:src/%.c=$(B)/%.o)
LIB_OBJS   = $(filter-out $(B)/main.o,$(OBJS))
UNIT_SRCS  = $(wildcard tests/unit/*.c)
# Every tests/unit/test_X.c defines void test_X(void): the unit runner calls
# each one the build finds, so a file cannot be forgotten, and a file
# without its function fails the link.
UNIT_TESTS = $(sort $(basename $(notdir $(wildcard tests/unit/test_*.c))))

.PHONY: FORCE all run test check-long sanitize fuzz bench deps check-deps \
	check-test-deps install install-refused uninstall clean lint format \
	format-check

all: $(BIN)

# The paths compiled into the program, recorded next to its objects so that
# `make install` can tell whether the binary fits the paths it installs to.
BUILT_FOR = config=$(SYSCONFDIR)/preforkd/preforkd.conf \
	pidfile=$(RUNSTATEDIR)/preforkd.pid

# CFLAGS at the link too, as make's own rule has it: -flto must reach it.
$(BIN): $(OBJS) $(WORKER_LD) | $(B)/paths
	$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

# The same program with the test hooks of sandbox.c compiled in (a worker
# that makes a forbidden call on SIGUSR2), for tests/sandbox.bats alone:
# never the binary that is installed or that the other tests run.  Called
# preforkd, as -s looks for a master by that name.
$(B)/testhooks/preforkd: $(SRCS) $(wildcard include/*.h) | $(B)
	@mkdir -p $(B)/testhooks
	$(CC) $(ALL_CFLAGS) -DPREFORKD_TEST_HOOKS $(ALL_LDFLAGS) -o $@ \
	    $(SRCS) $(LIBS)

$(B)/paths: $(B)/flags
	@echo '$(strip $(BUILT_FOR))' >$@

$(B)/%.o: src/%.c $(wildcard include/*.h) $(B)/flags | $(B) check-deps
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $(B)

# Rebuild when the flags change, e.g. `make PREFIX=/usr` after a plain
# `make`: the default config path is compiled in.
$(B)/flags: FORCE | $(B)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' >$@

FORCE:

# The list of unit tests as UNIT(test_X) lines, rewritten only when the set
# of files changes.
$(B)/unit_tests.h: FORCE | $(B)
	@printf 'UNIT(%s)\n' $(UNIT_TESTS) | cmp -s - $@ || \
	    printf 'UNIT(%s)\n' $(UNIT_TESTS) >$@

$(B)/unit: $(UNIT_SRCS) $(LIB_OBJS) $(wildcard tests/unit/*.h) \
    $(B)/unit_tests.h
	$(CC) $(ALL_CFLAGS) -I$(B) $(ALL_LDFLAGS) -o $@ $(UNIT_SRCS) \
	    $(LIB_OBJS) $(LIBS)

# The test client is a tool, not the product: built without the sanitizers
# of `make sanitize`, whose start-up cost would slow every test down.
TOOL_CFLAGS = -std=c11 $(WARNINGS) -D_GNU_SOURCE -O2

$(B)/pfclient: tests/helper/pfclient.c | $(B)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

# The pidfile and the scoreboard in a directory of our own, not in /tmp:
# in a directory every user may write, another user's file could be
# there first (preforkd refuses her pidfile, and warns about the directory).
run: check-deps $(BIN)
	install -d -m 0700 $(B)/run
	./preforkd -f -c etc/preforkd.conf -p "$(abspath $(B))/run/preforkd.pid"

# `make test` installs nothing: it stops, naming the packages, if what it
# cannot run without is missing; a test that needs an optional tool skips.
TEST_ENV = PREFORKD_BIN=$(abspath $(BIN)) PFCLIENT_BIN=$(abspath $(B)/pfclient) \
	UNIT_BIN=$(B)/unit PREFORKD_TESTHOOKS_BIN=$(abspath $(B)/testhooks/preforkd)

test: check-test-deps $(BIN) $(B)/unit $(B)/pfclient $(B)/testhooks/preforkd
	$(TEST_ENV) tests/run

# The soaks and storms that `make test` leaves out (tests/long/), as CI runs.
check-long: check-test-deps $(BIN) $(B)/unit $(B)/pfclient \
    $(B)/testhooks/preforkd
	$(TEST_ENV) tests/run --long

# Figures, not a test: preforkd against an epoll echo server, a naive
# pre-forked one, fork-per-client, and Apache and xinetd when installed.
# Then the exec, program-pool and upgrade benches (issues 17, 18, 19).
# `make bench RESULTS=tests/bench/RESULTS.md` also writes each script's
# section there, in place; the sections written by hand stay as they are.
bench: all $(B)/pfclient $(B)/loadgen $(B)/forkecho $(B)/epollecho \
    $(B)/preforkecho $(B)/conntime $(B)/execref
	PREFORKD_BIN=$(abspath $(BIN)) B=$(B) tests/bench/run
	PREFORKD_BIN=$(abspath $(BIN)) B=$(B) tests/bench/exec
	PREFORKD_BIN=$(abspath $(BIN)) B=$(B) tests/bench/programs
	PREFORKD_BIN=$(abspath $(BIN)) B=$(B) tests/bench/upgrade

# The bench's own tables of issues 17, 18 and 19, one at a time: make
# bench-exec, bench-programs, bench-upgrade (each takes RESULTS=FILE too).
BENCH_PARTS = exec programs upgrade
.PHONY: $(addprefix bench-,$(BENCH_PARTS))
$(addprefix bench-,$(BENCH_PARTS)): bench-%: all $(B)/pfclient $(B)/loadgen \
    $(B)/conntime $(B)/execref
	PREFORKD_BIN=$(abspath $(BIN)) B=$(B) tests/bench/$*

$(B)/conntime $(B)/execref: $(B)/%: tests/bench/%.c | $(B)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

$(B)/loadgen $(B)/forkecho $(B)/epollecho $(B)/preforkecho: $(B)/%: \
    tests/bench/%.c | $(B)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# The whole suite again with AddressSanitizer and UBSan in every process.
# Its own CFLAGS would turn -Werror off: WERROR is passed on as it is here.
sanitize:
	$(MAKE) --no-print-directory B=build/san BIN=build/san/preforkd \
	    CFLAGS="-O1 -g $(SANITIZE)" LDFLAGS="$(SANITIZE)" \
	    WERROR=$(WERROR) test

# Fuzzing, for developers and not part of `make test`: `make fuzz` builds a
# libFuzzer target per parser (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan, and runs each for at most FUZZ_TIME seconds and FUZZ_RUNS inputs on
# its corpus in $(B)/fuzz/, seeded from tests/fuzz/corpus/ and kept between
# runs (`make clean` resets it).  Any crash, leak or sanitizer report stops
# it with the input saved as $(B)/fuzz/<target>-crash-*.
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 30
FUZZ_RUNS  ?= 50000000
FUZZ_SAN   = address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 $(WARNINGS) -D_GNU_SOURCE -Iinclude -g -O1
FUZZ_TARGETS = proxy log addr config line scoreboard
FB         = $(B)/fuzz
# The config target reads a whole file as preforkd -t does: the config
# rooms, which know the protocols as data (proto_info.c), the addresses,
# the log, and libconfuse; no socket layer, protocol or scoreboard.
FUZZ_CONFIG = $(patsubst src/%.c,$(FB)/%.o,$(wildcard src/config*.c)) \
             $(FB)/proto_info.o $(FB)/addr.o $(FB)/log.o $(FB)/log_file.o \
             $(FB)/clock.o $(FB)/pool.o $(FB)/limit.o
# The scoreboard target plays a hostile worker against the table's readers:
# the table itself, its text (status.c), and what they use.
FUZZ_SCOREBOARD = $(FB)/scoreboard.o $(FB)/status.o $(FB)/log.o \
             $(FB)/log_file.o $(FB)/clock.o $(FB)/addr.o $(FB)/unforked.o
# Every object a target links, below.
FUZZ_OBJS  = $(FB)/proxy.o $(FB)/log.o $(FB)/log_file.o $(FB)/addr.o \
             $(FB)/conn.o $(FB)/limit.o $(FUZZ_CONFIG) $(FUZZ_SCOREBOARD)

$(FB):
	mkdir -p $(FB)

# Keep the objects: make would delete them as intermediate after each link.
.SECONDARY: $(FUZZ_OBJS)

$(FB)/%.o: src/%.c $(wildcard include/*.h) | $(FB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c \
	    -o $@ $<

# What each target links besides its own source.
$(FB)/fuzz_proxy: $(FB)/proxy.o
# log.c writes its files through log_file.c, its dates with clock.c.
$(FB)/fuzz_log: $(FB)/log.o $(FB)/log_file.o $(FB)/clock.o
$(FB)/fuzz_addr: $(FB)/addr.o
# conn.c works out its deadlines with limit.c, which keys its per-source
# budgets by address (addr.c).
$(FB)/fuzz_line: $(FB)/conn.o $(FB)/limit.o $(FB)/addr.o
$(FB)/fuzz_config: $(FUZZ_CONFIG)
$(FB)/fuzz_config: FUZZ_LIBS = -lconfuse
$(FB)/fuzz_scoreboard: $(FUZZ_SCOREBOARD)

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ \
	    $(FUZZ_LIBS)

fuzz: $(FUZZ_TARGETS:%=$(FB)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FB)/corpus/$$t && \
	    cp -n tests/fuzz/corpus/$$t/* $(FB)/corpus/$$t/ && \
	    echo "  FUZZ $$t" && \
	    $(FB)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -runs=$(FUZZ_RUNS) \
	        -print_final_stats=1 -artifact_prefix=$(FB)/$$t- \
	        $(FB)/corpus/$$t || exit 1; \
	done

# Missing build or test tools: `make deps` installs them when root, every
# package any target uses (the only target that may run apt-get); a build
# or a test run only checks and says how.
deps:
	@tests/deps.sh install ci
check-deps:
	@tests/deps.sh check build
check-test-deps:
	@tests/deps.sh check test

# `make install` builds a tree that was never built, or brings a build up to
# date for the same paths; it never rebuilds the program for other compiled-in
# paths behind the user's back (`make && make install PREFIX=/usr`): it stops
# and says which `make` to run first.
BUILT_PATHS := $(if $(wildcard $(BIN)),$(shell cat $(B)/paths 2>/dev/null))
ifeq ($(BUILT_PATHS),$(strip $(if $(BUILT_PATHS),$(BUILT_FOR))))
INSTALL_NEEDS = $(BIN)
else
INSTALL_NEEDS = install-refused
endif

install-refused:
	@echo "make install: $(BIN) was built for $(BUILT_PATHS)," >&2
	@echo "  not for $(strip $(BUILT_FOR))." >&2
	@echo "  Build it for these paths first:" >&2
	@echo "    make PREFIX=$(PREFIX) SYSCONFDIR=$(SYSCONFDIR) RUNSTATEDIR=$(RUNSTATEDIR)" >&2
	@exit 1

# The man pages in the tree name the default /usr/local paths; the installed
# ones name the paths this install compiled in.  The unit files have
# @PLACEHOLDERS@ instead.  The licence, installed as copyright, is the last
# section of the README.
INSTALL_SED = sed -e 's|/usr/local/etc/|$(SYSCONFDIR)/|g' \
	-e 's|/run/preforkd|$(RUNSTATEDIR)/preforkd|g' \
	-e 's|/usr/local/share/doc/preforkd|$(DOCDIR)|g' \
	-e 's|/usr/local/lib/systemd/system|$(UNITDIR)|g' \
	-e 's|/usr/local/sbin|$(SBINDIR)|g' \
	-e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@RUNSTATEDIR@|$(RUNSTATEDIR)|g'
UNITS = preforkd.service preforkd.socket

install: $(INSTALL_NEEDS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/preforkd \
	    $(DESTDIR)$(SYSCONFDIR)/preforkd/conf.d \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 755 $(BIN) $(DESTDIR)$(SBINDIR)/preforkd
	$(INSTALL_SED) man/preforkd.8 >$(DESTDIR)$(MANDIR)/man8/preforkd.8
	$(INSTALL_SED) man/preforkd.conf.5 >$(DESTDIR)$(MANDIR)/man5/preforkd.conf.5
	chmod 644 $(DESTDIR)$(MANDIR)/man8/preforkd.8 \
	    $(DESTDIR)$(MANDIR)/man5/preforkd.conf.5
	install -m 644 etc/preforkd.conf \
	    $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf.sample
	test -e $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf || \
	    install -m 644 etc/preforkd.conf $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	{ echo "preforkd $(VERSION)"; echo; \
	  sed -n '/^## Licence$$/,$$p' README.md | tail -n +3; } \
	    >$(DESTDIR)$(DOCDIR)/copyright
	chmod 644 $(DESTDIR)$(DOCDIR)/copyright
	$(INSTALL_SED) etc/logrotate.d/preforkd \
	    >$(DESTDIR)$(SYSCONFDIR)/logrotate.d/preforkd
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/preforkd
	for unit in $(UNITS); do \
	    $(INSTALL_SED) etc/$$unit >$(DESTDIR)$(UNITDIR)/$$unit && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$unit || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/preforkd $(DESTDIR)$(MANDIR)/man8/preforkd.8 \
	    $(DESTDIR)$(MANDIR)/man5/preforkd.conf.5 \
	    $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf.sample \
	    $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/copyright \
	    $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/preforkd
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# `make lint`: the man pages (mandoc), every C file through GCC's static
# analyzer and cppcheck, the shell scripts and bats files through
# shellcheck, the C layout through clang-format (format-check), and
# tests/lint.sh's checks of the tree when it exists; each must be clean.  Findings are fixed in the code; a false
# positive is suppressed where it occurs (cppcheck-suppress, shellcheck
# disable) with the reason.
LINT_C      = $(SRCS) $(wildcard tests/helper/*.c)
CPPCHECK    = cppcheck -q --std=c11 -D_GNU_SOURCE -Iinclude \
              --enable=warning,style,performance,portability \
              --error-exitcode=1 --inline-suppr
SHELL_SCRIPTS = tests/run tests/deps.sh tests/bench/run tests/bench/sandbox .ci/run \
              tests/bench/common.bash tests/bench/exec tests/bench/programs \
              tests/bench/upgrade \
              $(wildcard tests/lint.sh)
# In bats files, checks that misread bats itself: each @test runs in a
# process of its own, not a subshell that loses what it sets (SC2030,
# SC2031); helpers.bash and bats's `run` set and read variables that
# shellcheck cannot see across files (SC2034, SC2153, SC2154, SC2119,
# SC2120); word-splitting a command's output is the intent (SC2013).
BATS_SHELLCHECK = -e SC2030,SC2031,SC2034,SC2153,SC2154,SC2119,SC2120,SC2013

lint:
	mandoc -Tlint -Wwarning man/preforkd.8 man/preforkd.conf.5
	@for f in $(LINT_C); do \
	    echo "  ANALYZE $$f"; \
	    $(CC) $(ALL_CFLAGS) -fanalyzer -c -o /dev/null $$f || exit 1; \
	done
	$(CPPCHECK) src tests/unit tests/fuzz tests/helper tests/bench
	shellcheck $(SHELL_SCRIPTS)
	shellcheck $(BATS_SHELLCHECK) tests/*.bats tests/long/*.bats \
	    tests/helpers.bash tests/helper/*.bash
	@$(MAKE) --no-print-directory format-check
	tests/lint.sh

# The layout is .clang-format's (KNF: see its top): `make format` applies it,
# `make format-check` fails, naming each line, where it would change one.
CLANG_FORMAT ?= clang-format
FORMAT_C    = $(wildcard src/*.c include/*.h tests/unit/*.c tests/unit/*.h \
              tests/helper/*.c tests/fuzz/*.c tests/bench/*.c)

format:
	$(CLANG_FORMAT) -i $(FORMAT_C)

format-check:
	@echo "  FORMAT-CHECK $(words $(FORMAT_C)) files"
	@$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_C)

clean:
	rm -rf $(B) preforkd
