# Thin wrapper around CMake.  `make run` and `make test` install missing
# Debian packages first (as root), then build and run.
BUILD      ?= build
TEST_BUILD ?= build-test
FUZZ_BUILD ?= build-fuzz
# make fuzz: seconds per target, which targets (default all of tests/fuzz).
FUZZ_TIME  ?= 60
FUZZ       ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test-build fuzz-build run test fuzz bench clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test-build: deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMYNAHIL_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

# libFuzzer needs clang; the project's libraries are built again there,
# instrumented (tests/fuzz/README.md).
fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMYNAHIL_SANITIZE=ON \
		-DMYNAHIL_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz

# mynahil run's exit status (0 passed, 1 a scenario failed, 2 usage or a
# target that does not answer, 128+N stopped by signal N) is kept in
# $(BUILD)/reports/exit-status and in make's "Error N" line: GNU make
# itself exits 2 whatever its recipe's status was.
run: build
	@st=0; $(BUILD)/mynahil run scenarios --out $(BUILD)/reports || st=$$?; \
	mkdir -p $(BUILD)/reports && echo $$st >$(BUILD)/reports/exit-status; \
	[ $$st = 0 ] || echo "make run: mynahil run exited $$st (exit-status in $(BUILD)/reports)" >&2; \
	exit $$st

# The fuzz regression too: each target a few seconds over its corpus.
test: test-build fuzz-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS) -R '^fuzz/'

# Each target FUZZ_TIME seconds, its corpus growing in $(FUZZ_BUILD)/fuzz-work.
fuzz: fuzz-build
	@for t in $${FUZZ:-$$(sed -n 's/^set(FUZZ_TARGETS \(.*\))$$/\1/p' CMakeLists.txt)}; do \
		echo "== fuzz_$$t ($(FUZZ_TIME) s)"; \
		sh tests/fuzz/run.sh $(FUZZ_BUILD)/fuzz_$$t $$t $(FUZZ_TIME) $(FUZZ_BUILD)/fuzz-work || exit 1; \
	done

bench: build
	@sh tests/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD)
