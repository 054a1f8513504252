# The README's two commands, `make demo` and `make test`, do all their own set-up.
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
SOAK_MINUTES ?= 30
JOBS ?= $(shell nproc)

.PHONY: deps build test test-asan demo bench fuzz soak clean

deps:
	scripts/install-deps

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRENODE_SANITIZE=ON
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	cd $(ASAN_BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	scripts/demo $(BUILD_DIR)/bin

bench: build
	$(BUILD_DIR)/bin/trenode-bench
	$(BUILD_DIR)/bin/trenode-json-bench

# Not part of `make test`: SOAK_MINUTES of mixed load with kill -9 and restarts
# (tests/soak/soak_test.py).
soak: build
	/usr/bin/python3 tests/soak/soak_test.py --bin-dir $(BUILD_DIR)/bin --proto-dir proto --minutes $(SOAK_MINUTES)

# libFuzzer harnesses (clang, ASan + UBSan), each run for FUZZ_SECONDS on its
# corpus; new coverage is merged into tests/fuzz/corpus/ (tests/fuzz/README.md).
fuzz:
	scripts/install-deps --fuzz
	cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DTRENODE_FUZZ=ON -DTRENODE_SANITIZE=ON \
	  "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all"
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzzers
	tests/fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
