# Team inbox: build, run and test.
#
#   make run    install what is missing, build, start PostgreSQL under var/
#               and the server on 127.0.0.1:$(PORT)
#   make test   the same set-up against a throwaway cluster, then every suite
#   make bench  the webhook ingestion benchmark on a cluster of its own
#               (docs/performance.md; BENCH_SOAK=seconds, 300 by default)
#
# Everything the project needs comes from Debian's packages (installed here
# when run as root) and, for the web UI, the npm registry through a lockfile.

SHELL		:= /bin/bash
.DEFAULT_GOAL	:= all

PORT		?= 8888
VAR		:= $(CURDIR)/var

DEBS := kore postgresql-15 postgresql-contrib libsodium-dev libjansson-dev \
	libcurl4-openssl-dev libpq-dev libcmocka-dev pkg-config gcc make \
	python3-pytest python3-requests python3-psycopg2 python3-selenium \
	python3-websocket \
	chromium chromium-driver wrk clang libclang-rt-14-dev

KORE_FEATURES	:= $(shell cat /usr/share/kore/features 2>/dev/null)
PKGS		:= jansson libsodium libcurl libpq
PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC		?= cc
OPT		?= -O2 -g
HARDEN		:= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC \
		   -Wformat -Wformat-security -fno-plt
WARN		:= -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
		   -Wmissing-prototypes -Wstrict-prototypes
BASE_CFLAGS	:= -std=gnu11 $(OPT) $(WARN) $(HARDEN) -D_GNU_SOURCE \
		   -Iapp/core -Iplugins $(PKG_CFLAGS)
LDHARDEN	:= -Wl,-z,relro,-z,now,-z,noexecstack

# app/core: plain C with no kore dependency, shared by the kore module, the
# command-line tool, the dispatcher, the plugin conformance runner and tests.
CORE_SRCS	:= $(wildcard app/core/*.c)
CORE_OBJS	:= $(CORE_SRCS:.c=.o)
# app/*.c: the kore module itself.
APP_SRCS	:= $(wildcard app/*.c)
APP_OBJS	:= $(APP_SRCS:.c=.o)
CTL_SRCS	:= $(wildcard app/ctl/*.c)
CHECK_SRCS	:= $(wildcard app/plugincheck/*.c)
DISPATCH_SRCS	:= $(wildcard app/dispatcher/*.c)

# Every directory under plugins/ with C sources is one plugin, built as
# plugins/<name>.so.
PLUGIN_NAMES	:= $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))))
PLUGIN_SOS	:= $(foreach p,$(PLUGIN_NAMES),plugins/$(p).so)

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(patsubst tests/unit/%.c,tests/unit/bin/%,$(UNIT_SRCS))

# Deliberately broken plugins the ABI tests load: tests/plugins/<name>/*.c.
TEST_PLUGIN_NAMES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tests/plugins/*/*.c)))))
TEST_PLUGIN_SOS	:= $(foreach p,$(TEST_PLUGIN_NAMES),tests/plugins/$(p).so)

BINS		:= app/app.so app/inboxctl $(PLUGIN_SOS) \
		   assets/dist/index.html
ifneq ($(CHECK_SRCS),)
BINS		+= app/inbox-plugin-check
endif
ifneq ($(DISPATCH_SRCS),)
BINS		+= app/inbox-dispatcher
endif

all: $(BINS)

app/core/%.o: app/core/%.c $(wildcard app/core/*.h) $(wildcard plugins/*.h)
	$(CC) $(BASE_CFLAGS) -c $< -o $@

app/%.o: app/%.c $(wildcard app/*.h) $(wildcard app/core/*.h) $(wildcard plugins/*.h)
	$(CC) $(BASE_CFLAGS) $(KORE_FEATURES) -c $< -o $@

# Kore's symbols stay undefined: they resolve from the kore binary.
app/app.so: $(APP_OBJS) $(CORE_OBJS)
	$(CC) -shared $(LDHARDEN) -o $@ $^ $(PKG_LIBS) -ldl

app/inboxctl: $(CTL_SRCS) $(wildcard app/ctl/*.h) $(CORE_OBJS)
	$(CC) $(BASE_CFLAGS) -fPIE -pie $(LDHARDEN) -o $@ $(filter-out %.h,$^) \
	    $(PKG_LIBS) -ldl

app/inbox-plugin-check: $(CHECK_SRCS) $(CORE_OBJS)
	$(CC) $(BASE_CFLAGS) -fPIE -pie $(LDHARDEN) -o $@ $^ $(PKG_LIBS) -ldl

app/inbox-dispatcher: $(DISPATCH_SRCS) $(wildcard app/dispatcher/*.h) $(CORE_OBJS)
	$(CC) $(BASE_CFLAGS) -fPIE -pie $(LDHARDEN) -o $@ $(filter-out %.h,$^) \
	    $(PKG_LIBS) -ldl

# The web UI, served by kore from assets/dist: npm ci whenever the
# lockfile is newer than the installed node_modules, then esbuild bundles
# assets/src into dist/ (index.html, app.js, app.css); see docs/ui.md.
assets/node_modules/.package-lock.json: assets/package.json assets/package-lock.json
	cd assets && npm ci --no-audit --no-fund
	touch $@

assets/dist/index.html: assets/node_modules/.package-lock.json assets/build.mjs \
    assets/index.html $(shell find assets/src -type f 2>/dev/null)
	cd assets && node build.mjs

# Plugins need no library: their JSON is plugins/common/pjson's.
.SECONDEXPANSION:
plugins/%.so: $$(wildcard plugins/%/*.c) $$(wildcard plugins/%/*.h) \
    $(wildcard plugins/common/*) plugins/inbox_plugin.h
	$(CC) $(BASE_CFLAGS) -shared $(LDHARDEN) -o $@ $(filter %.c,$^)

tests/plugins/%.so: $$(wildcard tests/plugins/%/*.c) plugins/inbox_plugin.h
	$(CC) $(BASE_CFLAGS) -shared -o $@ $(filter %.c,$^)

tests/unit/bin/%: tests/unit/%.c $(CORE_OBJS) | tests/unit/bin
	$(CC) $(BASE_CFLAGS) -fPIE -pie -o $@ $^ $(PKG_LIBS) -lcmocka -ldl

tests/unit/bin:
	mkdir -p $@

# The plugins' JSON model is compiled into its test (test_pjson.c
# includes plugins/common/pjson.inc).
tests/unit/bin/test_pjson: tests/unit/test_pjson.c plugins/common/pjson.h \
    plugins/common/pjson.inc $(CORE_OBJS) | tests/unit/bin
	$(CC) $(BASE_CFLAGS) -fPIE -pie -o $@ $(filter-out %.h %.inc,$^) \
	    $(PKG_LIBS) -lcmocka -ldl

# Not part of test: microseconds per webhook_parse of each adapter on a
# realistic delivery, beside jansson's strict load of the same bytes.
tests/unit/bin/bench_parse: tests/bench/bench_parse.c $(CORE_OBJS) | tests/unit/bin
	$(CC) $(BASE_CFLAGS) -fPIE -pie -o $@ $^ $(PKG_LIBS) -ldl

bench-parse: tests/unit/bin/bench_parse $(PLUGIN_SOS)
	@tests/unit/bin/bench_parse

# --- set-up -----------------------------------------------------------------

deps:
	@missing=$$(for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing: $$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y -qq --no-install-recommends $$missing; \
	    else \
	        echo "missing Debian packages; as root run:"; \
	        echo "  apt-get install -y $$missing"; exit 1; \
	    fi; \
	fi

build: deps
	@$(MAKE) --no-print-directory all

run: build
	@PORT=$(PORT) conf/run.sh

test: build
	@tests/run.sh

# Not part of test: about 15 minutes, and numbers rather than pass/fail.
BENCH_SOAK	?= 300
bench: build
	@BENCH_SOAK=$(BENCH_SOAK) tests/bench/run.sh

# Rewrap every key under a new master key (docs/deploy.md):
#   make rotate-master-key NEW_KEY=/path/to/new.key
# with MASTER_KEY_FILE and MIGRATE_DATABASE_URL set, or against the local
# development cluster when they are not.
rotate-master-key: app/inboxctl
	@test -n "$(NEW_KEY)" || { echo "usage: make rotate-master-key NEW_KEY=FILE"; exit 2; }
	@set -e; if [ -z "$$MIGRATE_DATABASE_URL" ]; then . conf/env.sh >/dev/null; fi; \
	    app/inboxctl rotate-master-key "$(NEW_KEY)"

test-unit: $(UNIT_BINS) $(TEST_PLUGIN_SOS) $(PLUGIN_SOS)
	@rc=0; for t in $(UNIT_BINS); do $$t || rc=1; done; exit $$rc

# Short libFuzzer runs under ASan/UBSan for every target in tests/fuzz.
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_CFLAGS	:= -g -O1 -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE \
		   -Iapp/core -Iplugins $(PKG_CFLAGS)
FUZZ_SECONDS	?= 10

tests/fuzz/bin/fuzz_signature: tests/fuzz/fuzz_signature.c app/core/signature.c
	@mkdir -p tests/fuzz/bin
	clang $(FUZZ_CFLAGS) $^ -o $@ -lsodium

# The top-level member scanner, checked against jansson's strict parse.
tests/fuzz/bin/fuzz_jsonscan: tests/fuzz/fuzz_jsonscan.c tests/fuzz/fuzz_seed.inc \
    app/core/jsonscan.c
	@mkdir -p tests/fuzz/bin
	clang $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@ -ljansson

# The plugins' JSON model, checked against jansson's strict parse and
# compact dump.
tests/fuzz/bin/fuzz_pjson: tests/fuzz/fuzz_pjson.c tests/fuzz/fuzz_seed.inc \
    plugins/common/pjson.h plugins/common/pjson.inc app/core/plugin_host.c \
    app/core/arena.c
	@mkdir -p tests/fuzz/bin
	clang $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@ -ljansson -lsodium -ldl

# Each adapter's webhook_parse, linked with that plugin's own sources.
tests/fuzz/bin/fuzz_parse_%: tests/fuzz/fuzz_parse_%.c tests/fuzz/fuzz_parse.inc \
    tests/fuzz/fuzz_golden.inc \
    $$(wildcard plugins/%/*.c) $(wildcard plugins/common/*) \
    app/core/plugin_host.c app/core/arena.c
	@mkdir -p tests/fuzz/bin
	clang $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@ -ljansson -lsodium -ldl

# Each WhatsApp adapter's templates_parse (ABI 1.1), linked the same way.
tests/fuzz/bin/fuzz_templates_%: tests/fuzz/fuzz_templates_%.c \
    tests/fuzz/fuzz_templates.inc tests/fuzz/fuzz_golden.inc \
    $$(wildcard plugins/%/*.c) $(wildcard plugins/common/*) \
    app/core/plugin_host.c app/core/arena.c
	@mkdir -p tests/fuzz/bin
	clang $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@ -ljansson -lsodium -ldl

fuzz-smoke: $(patsubst tests/fuzz/%.c,tests/fuzz/bin/%,$(FUZZ_SRCS))
	@for f in $^; do echo "fuzz: $$f ($(FUZZ_SECONDS) s)"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    -artifact_prefix=tests/fuzz/bin/ \
	    >tests/fuzz/bin/$$(basename $$f).log 2>&1 || \
	    { tail -30 tests/fuzz/bin/$$(basename $$f).log; exit 1; }; done

clean:
	rm -f app/*.o app/core/*.o app/app.so app/inboxctl app/inbox-dispatcher \
	    app/inbox-plugin-check plugins/*.so tests/plugins/*.so
	rm -rf tests/unit/bin

.PHONY: all deps build run test bench bench-parse test-unit fuzz-smoke rotate-master-key clean
