# The user's vocabulary. Everything real lives in CMake; this file only names the jobs.
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build test demo bench debug asan fuzz setup clean
FUZZ_SECONDS ?= 60

all: build

# A fresh machine needs no manual step: set-up runs when a dependency is missing.
setup:
	@if [ ! -f /usr/include/gtest/gtest.h ] || [ ! -f /usr/include/benchmark/benchmark.h ] || \
	    [ ! -f /usr/include/stb/stb_image.h ] || [ ! -f /usr/include/zlib.h ] || [ ! -d /usr/share/datasets/fashion-mnist ] || \
	    ! command -v cmake >/dev/null; then \
	  bash scripts/setup.sh; fi

build: setup
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS)

test: build
	cd build && ctest --output-on-failure -j $(JOBS)

demo: build
	bash scripts/demo.sh

bench: build
	./build/bench/bench_gemm --benchmark_counters_tabular=true
	./build/bench/bench_scan --benchmark_counters_tabular=true
	./build/bench/bench_attention --benchmark_counters_tabular=true
	./build/bench/bench_end_to_end --benchmark_counters_tabular=true

debug: setup
	cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O0 -g" $(CMAKE_FLAGS)
	cmake --build build-debug -j $(JOBS)

asan: setup
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1 -g" \
	  -DHATTN_SANITIZE=ON -DHATTN_CUDA=OFF -DHATTN_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# libFuzzer + ASan + UBSan on every file reader; FUZZ_SECONDS per target (findings land in out/fuzz/<target>/).
fuzz: setup
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHATTN_FUZZ=ON -DHATTN_CUDA=OFF \
	  -DHATTN_TESTS=OFF -DHATTN_BENCH=OFF -DHATTN_NATIVE=OFF $(CMAKE_FLAGS)
	cmake --build build-fuzz -j $(JOBS)
	bash scripts/run_fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-debug build-asan build-fuzz build-vg
