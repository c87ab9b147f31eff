# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
# ccache: CI clones into a new folder each time; make paths relative to the tree so hits carry over.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
WERROR := $(if $(CI),ON,OFF)
CTEST_ARGS ?=

.PHONY: deps build build-dev run test test-release test-slow bench format format-check lint fuzz clean

deps:
	scripts/install-deps

# The release binary alone (make run, make bench); test-release builds the tests too.
build: deps
	cmake --preset release -DSOCLE_WERROR=$(WERROR) >/dev/null
	cmake --build --preset release -j $(JOBS) --target socle

build-dev: deps
	cmake --preset dev -DSOCLE_WERROR=$(WERROR) >/dev/null
	cmake --build --preset dev -j $(JOBS)

# Starts the server on the embedded default: 127.0.0.1:8080, data in ./data.
run: build
	./build/release/src/cli/socle serve

# Every default test, under AddressSanitizer and UndefinedBehaviorSanitizer, after checking
# the formatting (clang-format 14, as Debian 12 ships it).
test: build-dev
	clang-format --dry-run --Werror $(SOURCES)
	ctest --preset dev -j $(JOBS) $(CTEST_ARGS)

test-release: build
	cmake --build --preset release -j $(JOBS)
	ctest --preset release -j $(JOBS) $(CTEST_ARGS)

# Long tests, kept out of the default run.
test-slow: build
	cmake --build --preset release -j $(JOBS)
	ctest --test-dir build/release -L slow --output-on-failure $(CTEST_ARGS)

bench: build
	scripts/install-deps --bench
	cmake --build --preset release -j $(JOBS) --target tokenizer_bench rag_bench engine_bench train_bench
	bench/http/run build/release/src/cli/socle
	bench/gateway/run build/release/src/cli/socle
	bench/tokenizer/run build/release/bench/tokenizer_bench
	bench/rag/run build/release/bench/rag_bench
	bench/engine/run build/release/bench/engine_bench
	bench/serving/run build/release/src/cli/socle build/release/bench/engine_bench
	bench/train/run build/release/bench/train_bench

SOURCES = $(shell git ls-files '*.cc' '*.h')

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

lint: build
	run-clang-tidy -quiet -p build/release $(filter %.cc,$(filter src/%,$(SOURCES))) >build/lint.log 2>&1 \
	  || (grep -E "(error|warning): " build/lint.log | sort -u; false)

# libFuzzer targets (clang), kept out of the default run. FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors hf_config multipart gguf gguf_tokenizer
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DSOCLE_SANITIZE=ON -DSOCLE_FUZZ=ON -DSOCLE_BUILD_TESTS=OFF -DSOCLE_BUILD_BENCH=OFF \
	  -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_COMPILER_LAUNCHER= >/dev/null
	cmake --build build/fuzz -j $(JOBS) --target $(FUZZ_TARGETS:%=fuzz_%)
	for t in $(FUZZ_TARGETS); do mkdir -p build/fuzz/corpus/$$t; \
	  $$(find build/fuzz/tests/fuzz -name fuzz_$$t -type f) -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz/corpus/$$t || exit 1; done

clean:
	rm -rf build
