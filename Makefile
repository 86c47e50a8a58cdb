# calpae — one non-recursive Makefile.
#
#   make            build bin/calpae-ingest, bin/calpae-consolidate, bin/calpae-render,
#                   bin/calpae-nightly
#   make run        whole pipeline on data/sample/, reports in reports/
#   make check      every test, built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      benchmarks (bench/)
#   make fuzz       libFuzzer harnesses (FUZZ_SECONDS=60 each)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Missing Debian packages are installed by scripts/deps.sh the first time.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
# Keep intermediate objects (main.o) so that a second make does nothing.
.SECONDARY:

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
DATADIR  = $(PREFIX)/share/calpae
MANDIR   = $(PREFIX)/share/man
VERSION := 0.1.0

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
V ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif

# pkg-config is evaluated lazily (=), after the dependency stamp has run.
PKGS     := sqlite3 libcrypto libzip expat cairo pangocairo poppler-glib xlsxwriter libpng libisal
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lcsv -lm

WARN    := -std=c17 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
DEFS    := -D_GNU_SOURCE -DCALPAE_VERSION='"$(VERSION)"' -DCALPAE_DATADIR='"$(DATADIR)"'
INC     := -I.
REL_FLAGS := -O2 -g
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
# The FreeType face functions render/ftlock.c defines again must be seen by
# the libraries (cairo, poppler): exported from the executables.
LDFLAGS_EXTRA := -Wl,--as-needed '-Wl,--export-dynamic-symbol=FT_*'

STAGES  := ingest consolidate render nightly
COMMON_SRC := $(sort $(wildcard common/*.c))
STAGE_SRC   = $(sort $(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
TEST_SRC   := $(sort $(wildcard tests/unit/*.c tests/e2e/*.c))

# --- dependency stamp -------------------------------------------------------
DEPS_STAMP := build/.deps-ok
$(DEPS_STAMP): scripts/deps.sh
	$(Q)mkdir -p build
	$(Q)sh scripts/deps.sh
	$(Q)touch $@

# The data folder is compiled into common/ref.c (CALPAE_DATADIR): rebuild it
# when PREFIX changes, so that `make install PREFIX=…` installs binaries that
# find their installed data files.
PREFIX_STAMP := build/.prefix
$(PREFIX_STAMP): FORCE
	@mkdir -p build
	@if [ "$$(cat $@ 2>/dev/null)" != "$(DATADIR)" ]; then echo "$(DATADIR)" > $@; fi
build/rel/common/ref.o build/san/common/ref.o: $(PREFIX_STAMP)
FORCE:

# --- object rules, one tree per flavour ---------------------------------------
build/rel/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(WARN) $(DEFS) $(INC) $(REL_FLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

build/san/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-SAN  $<")
	$(Q)$(CC) $(WARN) $(DEFS) $(INC) $(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Static libraries: common, and each stage without its main.c (for tests).
define flavour_libs
build/$(1)/libcommon.a: $(COMMON_SRC:%.c=build/$(1)/%.o)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
$(foreach s,$(STAGES),
build/$(1)/lib$(s).a: $(patsubst %.c,build/$(1)/%.o,$(call STAGE_SRC,$(s)))
	@mkdir -p build/$(1)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
)
endef
$(eval $(call flavour_libs,rel))
$(eval $(call flavour_libs,san))

# --- executables -------------------------------------------------------------
# A stage is built once it has a main.c.
BUILT_STAGES := $(filter $(STAGES),$(patsubst %/main.c,%,$(wildcard */main.c)))
BINS := $(BUILT_STAGES:%=bin/calpae-%)
SAN_BINS := $(BUILT_STAGES:%=build/san/bin/calpae-%)

bin/calpae-%: build/rel/%/main.o build/rel/lib%.a build/rel/libcommon.a
	@mkdir -p bin
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(REL_FLAGS) $(LDFLAGS_EXTRA) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

build/san/bin/calpae-%: build/san/%/main.o build/san/lib%.a build/san/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD-SAN  $@")
	$(Q)$(CC) $(SAN_FLAGS) $(LDFLAGS_EXTRA) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

# The nightly job runs the three stages in-process.
NIGHTLY_LIBS = $(foreach s,nightly ingest consolidate render,build/$(1)/lib$(s).a) build/$(1)/libcommon.a
bin/calpae-nightly: build/rel/nightly/main.o $(call NIGHTLY_LIBS,rel)
	@mkdir -p bin
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(REL_FLAGS) $(LDFLAGS_EXTRA) -o $@ $< -Wl,--start-group $(call NIGHTLY_LIBS,rel) \
	    -Wl,--end-group $(PKG_LIBS) $(LDFLAGS)

build/san/bin/calpae-nightly: build/san/nightly/main.o $(call NIGHTLY_LIBS,san)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD-SAN  $@")
	$(Q)$(CC) $(SAN_FLAGS) $(LDFLAGS_EXTRA) -o $@ $< -Wl,--start-group $(call NIGHTLY_LIBS,san) \
	    -Wl,--end-group $(PKG_LIBS) $(LDFLAGS)

all: $(BINS)

# --- tests -------------------------------------------------------------------
STAGE_LIBS_SAN := $(STAGES:%=build/san/lib%.a) build/san/libcommon.a
TEST_BIN := build/san/tests/calpae-tests

$(TEST_BIN): $(TEST_SRC:%.c=build/san/%.o) $(STAGE_LIBS_SAN)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD-SAN  $@")
	$(Q)$(CC) $(SAN_FLAGS) $(LDFLAGS_EXTRA) -o $@ $(TEST_SRC:%.c=build/san/%.o) \
	    -Wl,--start-group $(STAGE_LIBS_SAN) -Wl,--end-group -lcriterion $(PKG_LIBS) $(LDFLAGS)

# Tests find the tree, the data and the sanitized executables through these.
TEST_ENV := CALPAE_SRCDIR=$(CURDIR) CALPAE_BINDIR=$(CURDIR)/build/san/bin \
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

check: $(TEST_BIN) $(SAN_BINS) all
	@echo "  TEST    pipeline under LeakSanitizer"
	$(Q)sh tests/cases/pipeline-leaks.sh $(CURDIR)/build/san/bin
	@echo "  TEST    $(TEST_BIN)"
	$(Q)$(TEST_ENV) $(TEST_BIN) $(CHECK_ARGS)

# --- the pipeline on the sample inbox ---------------------------------------------
RUN_OUT := reports
RUN_DB  := $(RUN_OUT)/calpae.db
run: all
	@mkdir -p $(RUN_OUT)
	@rm -f $(RUN_DB) $(RUN_DB)-wal $(RUN_DB)-shm
	$(Q)sh scripts/run-sample.sh $(RUN_DB) $(RUN_OUT)

# --- benchmarks and fuzzing ----------------------------------------------------
bench: all
	$(Q)sh bench/run.sh

FUZZ_SECONDS ?= 60
fuzz: | $(DEPS_STAMP)
	$(Q)sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# --- installation ---------------------------------------------------------------
# The binaries find the data files through CALPAE_DATADIR = $(DATADIR), so
# build and install with the same PREFIX.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(wildcard data/*.csv) $(DESTDIR)$(DATADIR)/
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1/
	sed 's|@BINDIR@|$(BINDIR)|g' scripts/calpae.cron > $(DESTDIR)$(DATADIR)/calpae.cron
	chmod 644 $(DESTDIR)$(DATADIR)/calpae.cron

clean:
	rm -rf build bin

.PHONY: all run check bench fuzz install clean FORCE

-include $(shell find build -name '*.d' 2>/dev/null)
