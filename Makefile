# asgswap: blue/green releases of Docker services on EC2 Auto Scaling Groups.
# `make` builds, `make check` tests, `make help` lists the rest.

VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DESTDIR ?=

# A sanitized build lives apart so that it never mixes with the plain one.
ifdef SANITIZE
BUILD ?= build-san
else
BUILD ?= build
endif

CC ?= cc
PKGS := libcurl openssl libxml-2.0 libcjson libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
TEST_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Werror
override CFLAGS += -std=c11 -D_GNU_SOURCE $(WARNINGS) -MMD -MP -Icommon \
	-DASGSWAP_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
ifdef SANITIZE
override CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=$(SANITIZE)
endif

COMMON_SRC := $(sort $(wildcard common/*.c))
CTL_SRC := $(sort $(wildcard controller/*.c))
AGENT_SRC := $(sort $(wildcard agent/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ := $(CTL_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)
# Each fuzz target also builds with gcc as a replay of its kept inputs, run by `make check`.
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/test_fuzz_%)
LIB := $(BUILD)/libcommon.a

PYTHON ?= python3

# `make V=1` shows the commands.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-5s %s\n'
endif

.SECONDARY:
.PHONY: check-long
.PHONY: all deps check unit integration valgrind fuzz format format-check install clean help
all: $(LIB) $(BUILD)/asgswap $(BUILD)/asgswap-agent

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests see a file's UNITTEST (static) helpers.
$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) $(CFLAGS) -DUNITTESTS -c -o $@ $<

$(LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(quiet) AR $@
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/asgswap: $(CTL_OBJ) $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/asgswap-agent: $(AGENT_OBJ) $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(AGENT_OBJ) $(LIB) $(PKG_LIBS)

# Unit tests of a program's own files see its headers and link its objects (all but main).
$(BUILD)/tests/unit/test_agent_%.o: override CFLAGS += -Iagent
$(BUILD)/tests/unit/test_ctl_%.o: override CFLAGS += -Icontroller
AGENT_LIB_OBJ := $(filter-out $(BUILD)/agent/agent_main.o,$(AGENT_OBJ))
CTL_LIB_OBJ := $(filter-out $(BUILD)/controller/ctl_main.o,$(CTL_OBJ))

$(BUILD)/tests/test_agent_%: $(BUILD)/tests/unit/test_agent_%.o $(AGENT_LIB_OBJ) $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(AGENT_LIB_OBJ) $(LIB) $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/tests/test_ctl_%: $(BUILD)/tests/unit/test_ctl_%.o $(CTL_LIB_OBJ) $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(CTL_LIB_OBJ) $(LIB) $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(quiet) LINK $@
	$(Q)$(CC) $(CFLAGS) -DFUZZ_NAME='"$*"' $(LDFLAGS) -o $@ tests/fuzz/fuzz_$*.c \
		tests/fuzz/replay.c $(LIB) $(PKG_LIBS)

# Fuzz targets of the agent's own files (fuzz_agent_*), like its unit tests, see its headers
# and link its objects.
$(BUILD)/tests/test_fuzz_agent_% $(BUILD)/fuzz_agent_%: override CFLAGS += -Iagent
$(BUILD)/tests/test_fuzz_agent_%: tests/fuzz/fuzz_agent_%.c tests/fuzz/replay.c $(AGENT_LIB_OBJ) \
		$(LIB)
	@mkdir -p $(dir $@)
	$(quiet) LINK $@
	$(Q)$(CC) $(CFLAGS) -DFUZZ_NAME='"agent_$*"' $(LDFLAGS) -o $@ tests/fuzz/fuzz_agent_$*.c \
		tests/fuzz/replay.c $(AGENT_LIB_OBJ) $(LIB) $(PKG_LIBS)

# The controller's (fuzz_ctl_*) likewise.
$(BUILD)/tests/test_fuzz_ctl_% $(BUILD)/fuzz_ctl_%: override CFLAGS += -Icontroller
$(BUILD)/tests/test_fuzz_ctl_%: tests/fuzz/fuzz_ctl_%.c tests/fuzz/replay.c $(CTL_LIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(quiet) LINK $@
	$(Q)$(CC) $(CFLAGS) -DFUZZ_NAME='"ctl_$*"' $(LDFLAGS) -o $@ tests/fuzz/fuzz_ctl_$*.c \
		tests/fuzz/replay.c $(CTL_LIB_OBJ) $(LIB) $(PKG_LIBS)

# The libFuzzer binaries themselves, built by `make fuzz` (CC=clang, SANITIZE=fuzzer-no-link,...).
$(BUILD)/fuzz_ctl_%: tests/fuzz/fuzz_ctl_%.c $(CTL_LIB_OBJ) $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(CTL_LIB_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/fuzz_agent_%: tests/fuzz/fuzz_agent_%.c $(AGENT_LIB_OBJ) $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(AGENT_LIB_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/tools/%.o $(LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

# `make deps` installs what building and testing need (Debian packages, and moto/boto3
# with pip where the machine lacks them); it only prints the commands when not root.
deps:
	@tests/deps.sh

# Integration test files run this many at a time (each starts its own peers on free ports);
# most of their time is spent waiting on the peers, not on the CPU.
TEST_JOBS ?= 2
check: deps all $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)
	@BUILD=$(BUILD) $(PYTHON) tests/run.py --build $(BUILD) --jobs $(TEST_JOBS)

# A whole blue/green release of a tiny web service on this machine: moto, dockerd, the real
# asgswap and asgswap-agents, a simulated load balancer with traffic (tests/demo/demo.py).
.PHONY: demo
demo: deps all
	@$(PYTHON) tests/demo/demo.py --build $(BUILD)

unit: all $(UNIT_BIN) $(REPLAY_BIN)
	@$(PYTHON) tests/run.py --build $(BUILD) --only unit

integration: all $(TOOL_BIN)
	@$(PYTHON) tests/run.py --build $(BUILD) --only integration --jobs $(TEST_JOBS)

# The crash matrix (SIGKILL after every mutating call, then re-run) on three group pairs.
check-long: deps all $(UNIT_BIN) $(TOOL_BIN)
	@ASGSWAP_CRASH_PAIRS=3 $(PYTHON) tests/run.py --build $(BUILD) --only integration \
		-k test_ctl_crash

valgrind: deps all $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)
	@$(PYTHON) tests/run.py --build $(BUILD) --valgrind

# libFuzzer targets under ASan and UBSan (clang); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
fuzz: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
		SANITIZE=fuzzer-no-link,address,undefined \
		$(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
	$(Q)tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

FORMAT_SRC = $(wildcard common/*.[ch] controller/*.[ch] agent/*.[ch] tests/unit/*.[ch] \
	tests/tools/*.[ch] tests/fuzz/*.[ch] tests/bench/*.[ch])
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: clean"

# Where `make install` puts the unit, the agent's config, man pages, completion and IAM policies.
SYSCONFDIR ?= /etc
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSTEMDUNITDIR ?= /lib/systemd/system
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/asgswap $(DESTDIR)$(BINDIR)/asgswap
	install -m 0755 $(BUILD)/asgswap-agent $(DESTDIR)$(SBINDIR)/asgswap-agent
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/asgswap $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(DATADIR)/asgswap/iam
	sed 's|^ExecStart=/usr/sbin/asgswap-agent|ExecStart=$(SBINDIR)/asgswap-agent|' \
		packaging/asgswap-agent.service >$(DESTDIR)$(SYSTEMDUNITDIR)/asgswap-agent.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/asgswap-agent.service
	test -e $(DESTDIR)$(SYSCONFDIR)/asgswap/agent.conf || \
		install -m 0644 packaging/agent.conf $(DESTDIR)$(SYSCONFDIR)/asgswap/agent.conf
	install -m 0644 packaging/man/asgswap.1 $(DESTDIR)$(MANDIR)/man1/asgswap.1
	install -m 0644 packaging/man/asgswap-agent.conf.5 $(DESTDIR)$(MANDIR)/man5/asgswap-agent.conf.5
	install -m 0644 packaging/man/asgswap-agent.8 $(DESTDIR)$(MANDIR)/man8/asgswap-agent.8
	install -m 0644 packaging/asgswap.bash-completion $(DESTDIR)$(BASHCOMPDIR)/asgswap
	install -m 0644 packaging/iam/agent-policy.json packaging/iam/controller-policy.json \
		$(DESTDIR)$(DATADIR)/asgswap/iam/

clean:
	rm -rf build build-*

help:
	@echo "make               build $(BUILD)/libcommon.a, $(BUILD)/asgswap, $(BUILD)/asgswap-agent"
	@echo "make deps          install build and test dependencies (Debian 12)"
	@echo "make demo          a blue/green release simulated on this machine, with traffic"
	@echo "make check         build and run every test (unit, then integration)"
	@echo "make SANITIZE=address,undefined check   the same under ASan/UBSan"
	@echo "make valgrind      the same with the C programs under valgrind"
	@echo "make check-long    the crash matrix on a three-pair service"
	@echo "make check-packaging   packages, lintian, systemd, cloud-init and IAM checks"
	@echo "make deb | rpm     build the packages into $(BUILD)"
	@echo "make bench         benchmarks: API calls, wall time, agent memory and start time"
	@echo "make fuzz [FUZZ_SECONDS=60]   run every libFuzzer target (clang, ASan, UBSan)"
	@echo "make format-check  clang-format in check mode"
	@echo "make install PREFIX=/usr DESTDIR=..."

-include $(REPLAY_BIN:=.d) $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%.d) $(COMMON_OBJ:.o=.d) \
	$(CTL_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) \
	$(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d) $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%.d)

# Packages (packaging/README.md). `make deb` and `make rpm` build from the work tree into
# $(BUILD); `make check-packaging` also runs the slow packaging checks; `make
# deps-packaging` installs debhelper, lintian, rpm, cloud-init and systemd's tools.
.PHONY: deb rpm check-packaging deps-packaging
deb:
	$(Q)packaging/build-deb.sh $(VERSION) $(BUILD)

rpm:
	$(Q)packaging/build-rpm.sh $(VERSION) $(BUILD)

deps-packaging:
	@tests/deps.sh --packaging

check-packaging: deps deps-packaging all
	@ASGSWAP_PACKAGING_SLOW=1 $(PYTHON) tests/run.py --build $(BUILD) --only integration \
		-k 'test_packaging\.'

# `make bench` runs every benchmark script under tests/bench/ (not timed tests; they print
# tables). Agent and controller benchmarks both live there.
.PHONY: bench
bench: all
	@rc=0; for s in $(sort $(wildcard tests/bench/*.py tests/bench/*.sh)); do \
		echo "== $$s"; \
		case $$s in *.py) run="$(PYTHON) $$s";; *) run="sh $$s";; esac; \
		ASGSWAP_BUILD=$(abspath $(BUILD)) ASGSWAP_TOP=$(CURDIR) $$run || rc=1; \
	done; exit $$rc
