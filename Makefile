# preforkd — see README.md.  `make deps` installs what building and testing
# need (as root, with apt-get); `make run` and `make test` call it.  `make`
# and `make install` only check, and say which command to run.

VERSION    = 0.1.0
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
RUNSTATEDIR ?= /run
DESTDIR   ?=

CC        ?= cc
CFLAGS    ?= -O2 -g
WARNINGS   = -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
             -Wshadow -Wpointer-arith -Wcast-qual -Wformat-security
HARDENING  = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
DEFINES    = -D_GNU_SOURCE -DPREFORKD_VERSION='"$(VERSION)"' \
             -DCONFIG_DEFAULT='"$(SYSCONFDIR)/preforkd/preforkd.conf"' \
             -DPIDFILE_DEFAULT='"$(RUNSTATEDIR)/preforkd.pid"'
ALL_CFLAGS = -std=c11 $(WARNINGS) $(HARDENING) $(DEFINES) -Iinclude $(CFLAGS)
LDFLAGS   ?=
ALL_LDFLAGS = -pie -Wl,-z,relro -Wl,-z,now $(LDFLAGS)
LIBS       = -lconfuse

B         ?= build
BIN       ?= preforkd
SANITIZE   = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer
SRCS       = $(wildcard src/*.c)
OBJS       = $(SRCS:src/%.c=$(B)/%.o)
LIB_OBJS   = $(filter-out $(B)/main.o,$(OBJS))
UNIT_SRCS  = $(wildcard tests/unit/*.c)

.PHONY: FORCE all run test sanitize bench deps deps-build check-deps \
	install uninstall clean lint format

all: $(BIN)

$(BIN): $(OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(B)/%.o: src/%.c $(wildcard include/*.h) $(B)/flags | $(B) check-deps
	@echo "  CC $<"; $(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $(B)

# Rebuild when the flags change, e.g. `make install PREFIX=/usr` after a
# plain `make`: the default config path is compiled in.
$(B)/flags: FORCE | $(B)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' >$@

FORCE:

$(B)/unit: $(UNIT_SRCS) $(LIB_OBJS) $(wildcard tests/unit/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(UNIT_SRCS) $(LIB_OBJS) $(LIBS)

# The test client is a tool, not the product: built without the sanitizers
# of `make sanitize`, whose start-up cost would slow every test down.
TOOL_CFLAGS = -std=c11 $(WARNINGS) -D_GNU_SOURCE -O2

$(B)/pfclient: tests/helper/pfclient.c | $(B)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

run: deps-build $(BIN)
	./preforkd -f -c etc/preforkd.conf -p "$${TMPDIR:-/tmp}/preforkd-run.pid"

test: deps $(BIN) $(B)/unit $(B)/pfclient
	PREFORKD_BIN=$(abspath $(BIN)) PFCLIENT_BIN=$(abspath $(B)/pfclient) \
	    UNIT_BIN=$(B)/unit tests/run

# Figures, not a test: preforkd against a fork-per-client echo server.
bench: all $(B)/pfclient $(B)/loadgen $(B)/forkecho
	tests/bench/run

$(B)/loadgen $(B)/forkecho: $(B)/%: tests/bench/%.c | $(B)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# The whole suite again with AddressSanitizer and UBSan in every process.
sanitize:
	$(MAKE) --no-print-directory B=build/san BIN=build/san/preforkd \
	    CFLAGS="-O1 -g $(SANITIZE)" LDFLAGS="$(SANITIZE)" test

# Missing build or test tools: `make deps` installs them when root (the only
# target that may run apt-get); a build only checks and says how.
deps:
	@tests/deps.sh install test
deps-build:
	@tests/deps.sh install build
check-deps:
	@tests/deps.sh check build

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/preforkd
	install -m 755 $(BIN) $(DESTDIR)$(SBINDIR)/preforkd
	install -m 644 man/preforkd.8 $(DESTDIR)$(MANDIR)/man8/preforkd.8
	install -m 644 man/preforkd.conf.5 $(DESTDIR)$(MANDIR)/man5/preforkd.conf.5
	install -m 644 etc/preforkd.conf \
	    $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf.sample
	test -e $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf || \
	    install -m 644 etc/preforkd.conf $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/preforkd $(DESTDIR)$(MANDIR)/man8/preforkd.8 \
	    $(DESTDIR)$(MANDIR)/man5/preforkd.conf.5 \
	    $(DESTDIR)$(SYSCONFDIR)/preforkd/preforkd.conf.sample

lint:
	mandoc -Tlint -Wwarning man/preforkd.8 man/preforkd.conf.5

format:
	clang-format -i src/*.c include/*.h tests/unit/*.c tests/helper/*.c

clean:
	rm -rf $(B) preforkd
