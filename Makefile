# Thin wrapper around CMake.  `make run` and `make test` install missing
# Debian packages first (as root), then build and run.
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test-build run test bench clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test-build: deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMYNAHIL_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

run: build
	./$(BUILD)/mynahil run scenarios --out $(BUILD)/reports

test: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@sh tests/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
