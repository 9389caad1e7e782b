# Front door: every target installs what is missing, configures CMake (Ninja, ccache) and builds.
BUILD     ?= build
TYPE      ?= Release
ARGS      ?=
CMAKE     := cmake -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
# Fresh clones elsewhere on disk still hit the cache (see TOOLCHAIN.md).
export CCACHE_BASEDIR   := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps test-deps build docs run test check unit bench bench-bin bench-check bench-check-time bench-baseline peers bench-serve wan asan tsan fuzz format clean

all: build

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

build: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE) >/dev/null
	@cmake --build $(BUILD)

# The man page's OPTIONS section and the bash completion, rewritten from the option table of
# cli/options.cpp (cli_tests fails while the committed ones differ from it).
docs: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE) >/dev/null
	@cmake --build $(BUILD) --target urlprobe_docgen
	@./$(BUILD)/cli/urlprobe_docgen man packaging/urlprobe.1 >packaging/urlprobe.1.new
	@./$(BUILD)/cli/urlprobe_docgen bash-completion >packaging/urlprobe.bash-completion.new
	@mv packaging/urlprobe.1.new packaging/urlprobe.1
	@mv packaging/urlprobe.bash-completion.new packaging/urlprobe.bash-completion

# The main job: probe the built-in sheet. Exit 1 (some probe failed) is an answer, not a
# build failure; bad usage (2) still fails.
run: build
	@./$(BUILD)/urlprobe --format text $(ARGS) || [ $$? -eq 1 ]

# The proxy tests use this password; it must never reach any test's output (it is masked in
# the fixture's own logs and failure messages too). $(call no_leak,BUILD_DIR) checks one suite.
TEST_PASSWORD := s3cr3t-Pa55
no_leak = ! grep -l '$(TEST_PASSWORD)' $(1)/Testing/Temporary/LastTest.log || { echo "the test proxy password leaked into the test output of $(1)" >&2; exit 1; }

# The README's test command, and CI (.ci/run): the whole suite; the whole suite again under
# ASan+UBSan and under TSan; every fuzz target for CI_FUZZ_SECONDS; the benchmark guard.
CI_FUZZ_SECONDS ?= 5
test: check
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CI_FUZZ_SECONDS)
	@$(MAKE) --no-print-directory bench-check

# The whole suite once, optimised and hardened (unit, hostile, fault, integration).
check: test-deps build
	@ctest --test-dir $(BUILD) --output-on-failure --timeout 300 -j 2
	@$(call no_leak,$(BUILD))

unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -L unit -j 2

bench: build
	@./$(BUILD)/urlprobe_bench $(ARGS)

# Benchmarks as ratios to the in-binary crypto floor, against bench/baseline.json (bench/README.md).
# bench-check (CI): instructions per iteration counted under callgrind, which the machine's load
# cannot move. bench-check-time: best-of-3 CPU and wall time, for a quiet machine.
# bench-baseline rewrites both; take it on an idle machine, since the time ratios need one.
# These build only what they run, so a half-edited test elsewhere in the tree does not stop them.
BENCH_MIN_TIME ?= 0.2
bench-bin: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE) >/dev/null
	@cmake --build $(BUILD) --target urlprobe_bench urlprobe

bench-check: bench-bin
	@/usr/bin/python3 bench/check.py --binary $(BUILD)/urlprobe_bench --metric instructions

bench-check-time: bench-bin
	@/usr/bin/python3 bench/check.py --binary $(BUILD)/urlprobe_bench --metric time --min-time $(BENCH_MIN_TIME)

bench-baseline: bench-bin
	@/usr/bin/python3 bench/check.py --binary $(BUILD)/urlprobe_bench --metric instructions --update
	@/usr/bin/python3 bench/check.py --binary $(BUILD)/urlprobe_bench --metric time --min-time $(BENCH_MIN_TIME) --update

# urlprobe against curl, blackbox_exporter and h2load on one loopback workload (root; bench/peers.sh).
peers: bench-bin
	@scripts/install-deps bench
	@BUILD=$(BUILD) bench/peers.sh $(ARGS)

# What `urlprobe serve` costs against one-shot runs of the same sweep: CPU and RSS per sweep, idle
# CPU, CPU per scrape (root; its own network namespace; bench/serve_overhead.py, about 1.5 min).
bench-serve: bench-bin
	@scripts/install-deps bench
	@BUILD=$(BUILD) /usr/bin/python3 bench/serve_overhead.py $(ARGS)

# urlprobe, curl and blackbox_exporter at 50 and 200 ms round trips, C up to 10k, direct and via
# squid, then 100 URLs x 1,000 proxies with one black-holed (root; two network namespaces joined by
# the WAN emulator; bench/wan.py, bench/README.md "Wide-area latency"; --quick for fewer points).
wan: bench-bin
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE) >/dev/null
	@cmake --build $(BUILD) --target urlprobe_wan_emulator urlprobe_tls_session_memory
	@scripts/install-deps bench
	@BUILD=$(BUILD) /usr/bin/python3 bench/wan.py $(ARGS)

asan: test-deps
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DURLPROBE_SANITIZE=address,undefined -DURLPROBE_BENCH=OFF >/dev/null
	@cmake --build build-asan
	@UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --test-dir build-asan --output-on-failure --timeout 300 -j 2
	@$(call no_leak,build-asan)

tsan: test-deps
	@$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DURLPROBE_SANITIZE=thread -DURLPROBE_BENCH=OFF >/dev/null
	@cmake --build build-tsan
	@TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" ctest --test-dir build-tsan --output-on-failure --timeout 300 -j 2
	@$(call no_leak,build-tsan)

# libFuzzer targets (tests/fuzz): each runs FUZZ_SECONDS from its seed corpus; crashes go to
# build-fuzz/fuzz/artifacts/. Debian's clang-16 and its libFuzzer runtime are installed first.
FUZZ_SECONDS ?= 20
FUZZ_CXX     ?= clang++-16
fuzz:
	@scripts/install-deps fuzz
	@$(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DURLPROBE_FUZZ=ON -DURLPROBE_TESTS=OFF -DURLPROBE_BENCH=OFF >/dev/null
	@cmake --build build-fuzz --target fuzz_all
	@BUILD_DIR=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_TARGETS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) build-asan build-tsan build-fuzz
