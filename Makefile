# mint - top-level Makefile.
#   make                 build build/mint (the binary; mint/ is the MINT-models folder), build/libmint.a (public header include/mint.h)
#   make test            build and run the cmocka tests
#   make bench           kernel + end-to-end benchmarks (needs tools, see README)
# Knobs: OMP=0 (no OpenMP), DEBUG=1, SAN=address,undefined, STATIC=1,
#        CROSS=aarch64-linux-gnu- (cross build; `make CROSS=... test-kernels`
#        runs the kernel tests under qemu-aarch64), CC=clang, EXTRA_CFLAGS.
#        Changing a knob rebuilds what it affects (flag stamps in $(BUILD)).

CROSS ?=
ifneq ($(CROSS),)
CC := $(CROSS)gcc
AR := $(CROSS)ar
endif
CC ?= cc
AR ?= ar
OMP ?= 1
DEBUG ?= 0
STATIC ?= 0
SAN ?=

ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)
ifeq ($(CROSS),)
BUILD ?= build
else
BUILD ?= build-$(ARCH)
endif

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Ikernels -I.
ifeq ($(DEBUG),1)
OPT := -O0 -g
else
OPT := -O2 -g
endif
CFLAGS := $(CFLAGS_BASE) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
ifeq ($(OMP),1)
CFLAGS += -fopenmp
LDFLAGS += -fopenmp
else
CFLAGS += -Wno-unknown-pragmas
endif
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif
# STATIC=1 links build/mint only: the tests and benchmarks stay dynamic
# (Debian ships no libcmocka.a), so `make STATIC=1 test` works.
MINT_LDFLAGS = $(LDFLAGS)
ifeq ($(STATIC),1)
MINT_LDFLAGS += -static
endif
# Tests link like the binary, except in cross builds (below).
TEST_LDFLAGS := $(LDFLAGS)
ifneq ($(CROSS),)
LDFLAGS += -static
endif

LIBS := -lpng -ljpeg -lz -lsodium -lm -lpthread
TEST_LIBS := -lcmocka
# Cross builds: `mint` and the kernel tests are static. The kernel tests use
# their built-in minimal runner (no cmocka, no target libraries needed:
# `make CROSS=... test-kernels`); the other tests link cmocka and the
# target's libraries dynamically (Debian has no static cmocka) and run under
# qemu with the multiarch libraries (`make CROSS=... test-cross`, set up by
# tools/setup-debian.sh --cross).
ifneq ($(CROSS),)
KERN_TEST_LIBS :=
KERN_TEST_LDFLAGS := $(LDFLAGS)
$(BUILD)/tests/test_kernels $(BUILD)/tests/test_conv_bwd: CFLAGS += -DMINT_NO_CMOCKA
else
KERN_TEST_LIBS := $(TEST_LIBS)
KERN_TEST_LDFLAGS := $(LDFLAGS)
TEST_LDFLAGS := $(LDFLAGS)
endif

# Knob changes rebuild (STATIC, OMP, SAN, DEBUG, CC, EXTRA_CFLAGS, ...): the
# compile and link lines are recorded in two stamps under $(BUILD), rewritten
# only when they change; objects depend on the first, programs on the second.
# (Separate folders per knob set also work: make STATIC=1 BUILD=build-static.)
CFLAGS_STAMP := $(BUILD)/cflags.stamp
LDFLAGS_STAMP := $(BUILD)/ldflags.stamp
CFLAGS_NOW := $(CC) $(CFLAGS) -MMD -MP
LDFLAGS_NOW := $(CC) $(CFLAGS) -MMD -MP $(MINT_LDFLAGS) $(TEST_LDFLAGS) $(KERN_TEST_LDFLAGS) $(LIBS)
ifneq ($(file <$(CFLAGS_STAMP)),$(CFLAGS_NOW))
$(shell mkdir -p $(BUILD))
$(file >$(CFLAGS_STAMP),$(CFLAGS_NOW))
endif
ifneq ($(file <$(LDFLAGS_STAMP)),$(LDFLAGS_NOW))
$(shell mkdir -p $(BUILD))
$(file >$(LDFLAGS_STAMP),$(LDFLAGS_NOW))
endif

# ---- sources ----
# One folder per layer; a folder includes headers only from its own layer
# and those below it (tools/check_layers.sh, run by `make test`):
#   base -> kernels -> weights -> net -> convert -> io -> mint -> cli
# base: status codes, SHA-256, fp16, dtypes, text/JSON, atomic files, RNG.
# weights sits below net because the container is a plain tensor file (also
# used by MINT models and checkpoints) that knows nothing of graphs, while
# net stores its graphs in it (net/graph_io.c) and opens them (model_api.c).
# convert (ONNX import) produces net graphs; io (images, landmarks, .npy) and
# mint (MINT models, extraction, reports) build on everything below.
BASE_SRC := $(wildcard base/*.c)
ifeq ($(ARCH),x86_64)
BASE_SRC += base/x86/sha256_shani.c
$(BUILD)/obj/base/sha256.o: CFLAGS += -DMINT_SHA_NI
$(BUILD)/obj/base/x86/sha256_shani.o: CFLAGS += -msha -mssse3 -msse4.1
endif
KERN_SRC := $(BASE_SRC) $(wildcard kernels/*.c kernels/ref/*.c)
ifeq ($(ARCH),x86_64)
KERN_SRC += $(wildcard kernels/x86/*.c)
endif
ifeq ($(ARCH),aarch64)
KERN_SRC += $(wildcard kernels/arm/*.c)
endif
LIB_SRC := $(wildcard weights/*.c net/*.c convert/*.c io/*.c mint/*.c)
CLI_SRC := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

KERN_OBJ := $(KERN_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

DEMO_ARGS ?=
.PHONY: all mint demo test test-kernels test-cross bench clean fixtures install experiment-audit experiment-fmnist experiment-lfw fuzz check-fn-length FORCE
all: $(BUILD)/mint $(BUILD)/libmint.a
mint: $(BUILD)/mint

# Per-ISA flags: each ISA file is compiled for its own instruction set only.
$(BUILD)/obj/kernels/x86/%_avx2.o: CFLAGS += -mavx2 -mfma
$(BUILD)/obj/kernels/x86/%_avx512.o: CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma

# Header dependencies come from the compiler (-MMD -MP: one .d file beside
# each object and program, included below), so every header counts,
# cli/*.h and tests/testutil.h included, and a removed header breaks nothing.
DEPFLAGS = -MMD -MP -MF $@.d -MT $@

$(BUILD)/obj/%.o: %.c $(CFLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libmintkern.a: $(KERN_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libmint.a: $(LIB_OBJ) $(KERN_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/mint: $(CLI_OBJ) $(BUILD)/libmint.a $(LDFLAGS_STAMP)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libmint.a $(MINT_LDFLAGS) $(LIBS)

# Kernel tests link only the kernels (so they cross-build without libpng etc.).
KERN_TESTS := $(BUILD)/tests/test_kernels $(BUILD)/tests/test_conv_bwd
$(KERN_TESTS): $(BUILD)/tests/%: tests/%.c $(BUILD)/libmintkern.a $(LDFLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(BUILD)/libmintkern.a $(KERN_TEST_LDFLAGS) $(KERN_TEST_LIBS) -lm

$(BUILD)/tests/%: tests/%.c $(BUILD)/libmint.a $(LDFLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(BUILD)/libmint.a $(TEST_LDFLAGS) $(TEST_LIBS) $(LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libmint.a $(LDFLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(BUILD)/libmint.a $(LDFLAGS) $(LIBS)

# No library function over 120 lines (issue 9): run by `make test` and .ci/run.
check-fn-length:
	sh tools/check_fn_length.sh

# `make test`: every test binary, kernel tests under each ISA the CPU has
# (the benchmarks are built too, so they cannot rot unnoticed).
test: $(BUILD)/mint $(TESTS) $(BENCHES)
	@sh tools/check_layers.sh
	@sh tools/check_fn_length.sh
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done
	@echo "== all tests passed"

ifneq ($(CROSS),)
QEMU ?= qemu-$(ARCH)
test-kernels: $(KERN_TESTS)
	$(QEMU) $(BUILD)/tests/test_kernels
	$(QEMU) $(BUILD)/tests/test_conv_bwd
	@set -e; for i in scalar neon; do echo "== MINT_ISA=$$i"; \
	    MINT_ISA=$$i $(QEMU) $(BUILD)/tests/test_kernels > $(BUILD)/tests/test_kernels.log || { cat $(BUILD)/tests/test_kernels.log; exit 1; }; \
	    grep -E 'MINT_ISA=|PASSED' $(BUILD)/tests/test_kernels.log; done
# Every test under qemu, and the static binary's demo; the tests that run
# `mint` itself prefix it with MINT_TEST_EXEC.
test-cross: $(BUILD)/mint $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $(QEMU) $$t"; MINT_TEST_EXEC=$(QEMU) $(QEMU) $$t; done
	$(QEMU) $(BUILD)/mint demo --depth 18 --batch 1 --runs 1
	@echo "== all $(ARCH) tests passed under $(QEMU)"
else
# Then once per forced path (MINT_ISA; one this CPU cannot run falls back).
test-kernels: $(KERN_TESTS)
	$(BUILD)/tests/test_kernels
	$(BUILD)/tests/test_conv_bwd
	@set -e; for i in scalar avx2 avx512; do echo "== MINT_ISA=$$i"; \
	    MINT_ISA=$$i $(BUILD)/tests/test_kernels > $(BUILD)/tests/test_kernels.log || { cat $(BUILD)/tests/test_kernels.log; exit 1; }; \
	    grep -E 'MINT_ISA=|PASSED' $(BUILD)/tests/test_kernels.log; done
endif

# The main job on its embedded default (IResNet-100, random weights).
demo: $(BUILD)/mint
	$(BUILD)/mint demo $(DEMO_ARGS)

bench: $(BUILD)/mint $(BENCHES)
	@sh bench/run.sh $(BUILD)

# Issue 8's audit-validity experiment on LFW (docs/audit-statistics.md);
# EXP_NET=net.mint EXP_TRAIN_LIST=list.csv adds a network with known members.
experiment-audit: $(BUILD)/mint $(BUILD)/bench/exp_audit
	@sh bench/exp_audit.sh $(BUILD)

# Issue 10's passive-vs-Active MINT experiment on Fashion-MNIST (needs
# dataset-fashion-mnist; about 15 minutes on 2 cores): FMNIST_OUT/results.json.
FMNIST_OUT ?= $(BUILD)/fmnist-amint
experiment-fmnist: $(BUILD)/mint
	@MINT=$(BUILD)/mint sh experiments/fmnist_amint.sh $(FMNIST_OUT)

# Issue 10's LFW face experiment (docs/experiments.md): a network trained by
# mint on LFW identities, passive and Active MINT, identity audits; ~1 h on
# 2 cores. LFW_OUT is its output folder (steps already done there are kept).
LFW_OUT ?= $(BUILD)/experiment-lfw
experiment-lfw: $(BUILD)/mint
	@MINT=$(BUILD)/mint sh experiments/lfw_mint.sh $(LFW_OUT)

# Regenerate the committed reference fixtures (needs tools/README.md's set-up).
fixtures:
	/usr/bin/python3 tools/make_fixtures.py
	/usr/bin/python3 tools/make_align_fixtures.py
	/usr/bin/python3 tools/make_train_golden.py
	/usr/bin/python3 tools/gen_loss_optim_golden.py
	/usr/bin/python3 tools/gen_train_graph_golden.py
	/usr/bin/python3 tools/gen_tmodel_golden.py

# `make install` (PREFIX, DESTDIR): the binary, the library, its one public
# header and a pkg-config file, so a program builds with
# `cc prog.c $$(pkg-config --cflags --libs mint)` (docs/example_embed.c).
# libmint.a is static: mint.pc's Libs list what it needs (OpenMP, libpng, ...).
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
# the version mint.h declares (one place)
MINT_VERSION ?= $(shell sed -n 's/^#define MINT_VERSION "\(.*\)"/\1/p' include/mint.h)
ifeq ($(OMP),1)
PC_OMP := -fopenmp
endif
ifneq ($(SAN),)
PC_SAN := -fsanitize=$(SAN)
endif
$(BUILD)/mint.pc: FORCE
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	    'Name: mint' 'Description: Membership Inference Test engine (IResNet inference, MINT models)' \
	    'Version: $(MINT_VERSION)' 'Cflags: -I$${includedir}' \
	    'Libs: -L$${libdir} -lmint $(PC_OMP) $(PC_SAN) $(LIBS)' >$@

install: $(BUILD)/mint $(BUILD)/libmint.a $(BUILD)/mint.pc
	install -D -m 755 $(BUILD)/mint $(DESTDIR)$(PREFIX)/bin/mint
	install -D -m 644 $(BUILD)/libmint.a $(DESTDIR)$(LIBDIR)/libmint.a
	install -D -m 644 include/mint.h $(DESTDIR)$(INCLUDEDIR)/mint.h
	install -D -m 644 $(BUILD)/mint.pc $(DESTDIR)$(LIBDIR)/pkgconfig/mint.pc

# `make fuzz`: every tests/fuzz/fuzz_<name>.c as a libFuzzer program
# $(BUILD)-fuzz/fuzz_<name> (clang, ASan+UBSan, whole library, no OpenMP);
# tests/fuzz/run.sh runs each for FUZZ_SECONDS with tests/fuzz/corpus/<name>/.
FUZZ_CC ?= clang
FUZZ_BUILD ?= $(BUILD)-fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
fuzz: $(FUZZERS)
$(FUZZ_BUILD)/libmint.a: FORCE
	$(MAKE) --no-print-directory CC=$(FUZZ_CC) OMP=0 SAN=address,undefined \
	    EXTRA_CFLAGS='-fsanitize=fuzzer-no-link -O1' BUILD=$(FUZZ_BUILD) $(FUZZ_BUILD)/libmint.a
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libmint.a
	$(FUZZ_CC) $(CFLAGS_BASE) -Wno-unknown-pragmas -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP -MF $@.d -MT $@ \
	    -o $@ $< $(FUZZ_BUILD)/libmint.a $(LIBS)
-include $(FUZZERS:=.d)
FORCE:

clean:
	rm -rf build build-*

-include $(addsuffix .d,$(KERN_OBJ) $(LIB_OBJ) $(CLI_OBJ) $(TESTS) $(BENCHES))
