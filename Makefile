# gridwall: build, test and run. `make run` and `make test` are the two
# commands a new machine needs; both install missing packages first.

CC       ?= gcc
BUILD    ?= build
PKGS      = libzmq libprotobuf-c libuv libpq inih jansson uuid libsodium libcurl
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -Ilib -I$(BUILD)/proto
LDLIBS   += -lhttp_parser -lcsv -lm

# FUZZ=1 (what make fuzz builds with, docs/testing.md): clang, libFuzzer's
# coverage, AddressSanitizer and UndefinedBehaviorSanitizer, in build-fuzz/.
FUZZ_CC  ?= $(firstword $(shell command -v clang-14 clang 2>/dev/null) clang)
ifeq ($(FUZZ),1)
CC       := $(FUZZ_CC)
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
BUILD    := build-fuzz
else ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
BUILD    := $(BUILD)-san
endif

# pkg-config is asked only once the packages are there (make deps).
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
override CFLAGS += $(PKG_CFLAGS)
override LDLIBS += $(PKG_LIBS)

PROTO     = proto/gridwall/v1/gridwall.proto
PROTO_C   = $(BUILD)/proto/gridwall/v1/gridwall.pb-c.c
PROTO_H   = $(PROTO_C:.c=.h)

LIB_SRC   = $(wildcard lib/*.c)
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/%.o) $(PROTO_C:.c=.o)
LIB_A     = $(BUILD)/libgridwall.a

DAEMONS   = ingestd rulesd reportd
TOOLS     = gridctl fieldsim
BINS      = $(DAEMONS:%=$(BUILD)/gridwall-%) $(TOOLS:%=$(BUILD)/%)

TEST_TOOLS = $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(wildcard tests/tools/*.c))
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

FUZZ_SECONDS ?= 60
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  = $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

.PHONY: all deps test unit integration run clean bench bench-cityday bench-ingest bench-rules bench-report fuzz fuzz-build chaos
.SECONDARY:

all: $(BINS) $(UNIT_BINS) $(TEST_TOOLS)

deps:
	@deploy/deps.sh

$(PROTO_C) $(PROTO_H): $(PROTO)
	@mkdir -p $(BUILD)/proto
	protoc-c --c_out=$(BUILD)/proto -Iproto $(PROTO)

# -MMD writes each object's header dependencies beside it, so a changed
# header rebuilds exactly the objects that include it.
$(BUILD)/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Generated code is not ours to warn about.
$(PROTO_C:.c=.o): $(PROTO_C)
	$(CC) $(filter-out -W%,$(CFLAGS)) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	$(AR) rcs $@ $^

define service_rule
$(BUILD)/gridwall-$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard services/$(1)/*.c)) $(LIB_A)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call service_rule,$(d))))

define tool_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/$(1)/*.c)) $(LIB_A)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# Small programs the integration tests drive (raw frames and the like).
$(TEST_TOOLS): $(BUILD)/tests/%: $(BUILD)/tests/tools/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# reportd's webhooks (services/reportd/webhook.c) are driven by a test tool
# and unit-tested on their own, linked in from reportd's object; that comes
# after the library in $^, so the library is named again after it.
WEBHOOK_OBJ = $(BUILD)/services/reportd/webhook.o
$(BUILD)/tests/webhook_drive $(BUILD)/tests/test_webhook: $(WEBHOOK_OBJ)
$(BUILD)/tests/webhook_drive $(BUILD)/tests/test_webhook: override LDLIBS := $(LIB_A) $(LDLIBS)
$(BUILD)/tests/tools/webhook_drive.o $(BUILD)/tests/unit/test_webhook.o: override CFLAGS += -Iservices/reportd

# The day tables of reportd likewise.
DAYTAB_OBJ = $(BUILD)/services/reportd/daytab.o
$(BUILD)/tests/test_daytab: $(DAYTAB_OBJ)
$(BUILD)/tests/test_daytab: override LDLIBS := $(LIB_A) $(LDLIBS)
$(BUILD)/tests/unit/test_daytab.o: override CFLAGS += -Iservices/reportd

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(BUILD)

# libFuzzer targets (tests/fuzz/, docs/testing.md), linked with FUZZ=1 only.
$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# The CSV target reads files through gridctl import's reader, linked in
# after the library like reportd's webhooks above.
$(BUILD)/fuzz/fuzz_csv: $(BUILD)/tools/gridctl/import_csv.o
$(BUILD)/fuzz/fuzz_csv: override LDLIBS := $(LIB_A) $(LDLIBS)
$(BUILD)/tests/fuzz/fuzz_csv.o: override CFLAGS += -Itools/gridctl
$(BUILD)/tests/fuzz/fuzz_config.o: override CFLAGS += -Iservices/ingestd

# make fuzz: each target for FUZZ_SECONDS (default 60), one after the other;
# fails on any crash, leak, timeout or out-of-memory input. fuzz-build only
# builds them, into build-fuzz/.
ifeq ($(FUZZ),1)
fuzz-build: $(FUZZ_BINS)
else
fuzz-build:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build
endif

fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build-fuzz

# The chaos test at length (a 20-second run is part of make test).
CHAOS_SECONDS ?= 300
chaos: $(BINS)
	CHAOS_SECONDS=$(CHAOS_SECONDS) CHAOS_PERSONS=$${CHAOS_PERSONS:-200000} \
	CHAOS_RATE=$${CHAOS_RATE:-1000} bash tests/integration/chaos.sh $(BUILD)

integration: $(BINS)
	@for s in tests/integration/*.sh; do bash $$s $(BUILD) || exit 1; done

# Benchmarks print figures (last line: RESULT ...); they pass or fail nothing.
# See docs/performance.md. One after the other, even under -j: they share the cores.
bench:
	@$(MAKE) --no-print-directory bench-cityday
	@$(MAKE) --no-print-directory bench-ingest
	@$(MAKE) --no-print-directory bench-rules
	@$(MAKE) --no-print-directory bench-report

bench-cityday: all
	@bash tests/bench/cityday.sh $(BUILD)

bench-ingest: all
	@bash tests/bench/ingest.sh $(BUILD)

bench-rules: all
	@bash tests/bench/rules.sh $(BUILD)

bench-report: all
	@bash tests/bench/report.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory all
	@SAN=$(SAN) tests/run-all.sh $(BUILD)

run: deps
	@$(MAKE) --no-print-directory all
	@deploy/run-demo.sh $(BUILD)

clean:
	rm -rf build build-san build-fuzz
