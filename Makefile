# hop -- plain Makefile (see ../shared/STYLE.md).
#
#   make            bin/hop (host tool) and libhop for every target
#   make check      install what is missing, build, run the whole suite
#   make demo       install what is missing, build, run the demo
#   make TARGET=s390x lib   libhop for one target
#   make asan       libhop + unit tests with AddressSanitizer/UBSan
#   make bench      benchmarks (print figures; not tests)
#   make fuzz       long fuzzing runs
#   make soak       100 migrations around the five targets (scripts/soak.sh)
#   make reliability  fault/hostile tests + soak -> docs/reliability.md

TARGETS := x86_64 i686 aarch64 s390x powerpc

CROSS_x86_64  := x86_64-linux-gnu-
CROSS_i686    := i686-linux-gnu-
CROSS_aarch64 := aarch64-linux-gnu-
CROSS_s390x   := s390x-linux-gnu-
CROSS_powerpc := powerpc-linux-gnu-

WARN   := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CSTD   := -std=gnu11 -D_GNU_SOURCE
CFLAGS ?= -O2 -g
INC    := -Iinclude -Isrc/lib

# libhop's compilation units appear in a program's DWARF as /hop/libhop/*.c,
# so the index tool can tell the runtime's own variables from the program's.
LIB_PREFIX_MAP := -fdebug-prefix-map=$(CURDIR)/src/lib=/hop/libhop

LIB_SRC  := $(sort $(wildcard src/lib/*.c))
TOOL_SRC := $(sort $(wildcard src/tool/*.c))
TOOL_LIBS := -ldw -lelf -lsodium

all: bin/hop libs

libs: $(foreach t,$(TARGETS),build/$(t)/libhop.a)

ifdef TARGET
lib: build/$(TARGET)/libhop.a
endif

# ---- libhop, one per target ----------------------------------------------
define LIB_RULES
build/$(1)/obj/%.o: src/lib/%.c $$(wildcard src/lib/*.h) include/hop.h
	@mkdir -p $$(@D)
	$$(CROSS_$(1))gcc $$(CSTD) $$(CFLAGS) $$(WARN) $$(INC) -fPIC $$(LIB_PREFIX_MAP) -c $$(CURDIR)/$$< -o $$@

build/$(1)/libhop.a: $$(patsubst src/lib/%.c,build/$(1)/obj/%.o,$$(LIB_SRC))
	@rm -f $$@
	$$(CROSS_$(1))ar rcs $$@ $$^
endef
$(foreach t,$(TARGETS),$(eval $(call LIB_RULES,$(t))))

# ---- the sanitizer build of libhop (native) ------------------------------
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
build/asan/obj/%.o: src/lib/%.c $(wildcard src/lib/*.h) include/hop.h
	@mkdir -p $(@D)
	gcc $(CSTD) -O1 -g $(WARN) $(INC) $(SAN) -c $< -o $@
build/asan/libhop.a: $(patsubst src/lib/%.c,build/asan/obj/%.o,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

# ---- the host tool ---------------------------------------------------------
build/tool/%.o: src/tool/%.c $(wildcard src/tool/*.h) $(wildcard src/lib/*.h) src/lib/wrapped.def include/hop.h
	@mkdir -p $(@D)
	gcc $(CSTD) $(CFLAGS) $(WARN) -Iinclude -iquote src/lib -Isrc/tool -c $< -o $@

bin/hop: $(patsubst src/tool/%.c,build/tool/%.o,$(TOOL_SRC)) build/x86_64/libhop.a
	@mkdir -p $(@D)
	gcc -o $@ $(filter %.o,$^) build/x86_64/libhop.a $(TOOL_LIBS) -lpthread

# ---- unit tests: each tests/unit/test_*.c is a program; built plain and with
# sanitizers, run by tests/run.sh ---------------------------------------------
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRC)) \
	    $(patsubst tests/unit/%.c,build/tests/asan/%,$(UNIT_SRC))
build/tests/%: tests/unit/%.c tests/unit/task.h build/x86_64/libhop.a
	@mkdir -p $(@D)
	gcc $(CSTD) -O1 -g $(WARN) $(INC) -Itests/unit $< build/x86_64/libhop.a -lpthread -o $@
build/tests/asan/%: tests/unit/%.c tests/unit/task.h build/asan/libhop.a
	@mkdir -p $(@D)
	gcc $(CSTD) -O1 -g $(WARN) $(INC) -Itests/unit $(SAN) $< build/asan/libhop.a -lpthread -o $@

unit: $(UNIT_BIN)
asan: build/asan/libhop.a $(filter build/tests/asan/%,$(UNIT_BIN))

# ---- entry points --------------------------------------------------------------
deps:
	@bash scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory -j2 all unit
	@bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory -j2 all
	@bash scripts/demo.sh

bench: all
	@bash bench/run.sh

fuzz: all
	@bash tests/fuzz/run.sh long

soak: all
	@bash scripts/soak.sh 100

reliability: all
	@bash scripts/reliability.sh

clean:
	rm -rf build bin

.PHONY: all libs lib unit asan deps check demo bench fuzz soak reliability clean
