# The user's vocabulary. Everything real lives in CMake; this file only names the jobs.
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build test demo bench debug asan fuzz setup clean cuda-emu cuda-emu-tsan cuda-resources
FUZZ_SECONDS ?= 60

all: build

# A fresh machine needs no manual step: set-up runs when a dependency is missing.
setup:
	@if [ ! -f /usr/include/gtest/gtest.h ] || [ ! -f /usr/include/benchmark/benchmark.h ] || \
	    [ ! -f /usr/include/stb/stb_image.h ] || [ ! -f /usr/include/zlib.h ] || [ ! -d /usr/share/datasets/fashion-mnist ] || \
	    [ ! -f /usr/include/jpeglib.h ] || [ ! -x /usr/bin/jupyter-nbconvert ] || [ ! -x /usr/bin/pytest-3 ] || \
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

# Every .cu file compiled as host C++ against our CUDA emulation (tensor/cuda/emu/), then the CUDA tests:
# kernels, device plumbing and `hattn --device cuda` run and are checked without a GPU.
CUDA_EMU_TARGETS = test_cuda test_cuda_emulation hattn cuda_scan_bench
cuda-emu: setup
	cmake -S . -B build-cuda-emu -DCMAKE_BUILD_TYPE=Release -DHATTN_CUDA_EMU=ON $(CMAKE_FLAGS)
	cmake --build build-cuda-emu -j $(JOBS) --target $(CUDA_EMU_TARGETS)
	./build-cuda-emu/tests/test_cuda_emulation
	./build-cuda-emu/tests/test_cuda
	./build-cuda-emu/bench/cuda_scan_bench --quick > /dev/null

# ptxas's registers, spills and shared memory of every kernel for sm_90 (needs nvcc): fails on an unlisted spill.
cuda-resources:
	bash scripts/cuda_resources.sh out/cuda_resources

# The same under ThreadSanitizer: each CUDA thread is a TSan fiber, ordered only by the barriers.
cuda-emu-tsan: setup
	cmake -S . -B build-cuda-emu-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHATTN_CUDA_EMU=ON -DHATTN_TSAN=ON \
	  -DHATTN_NATIVE=OFF -DHATTN_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build build-cuda-emu-tsan -j $(JOBS) --target test_cuda test_cuda_emulation hattn
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ./build-cuda-emu-tsan/tests/test_cuda_emulation
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ./build-cuda-emu-tsan/tests/test_cuda

# libFuzzer + ASan + UBSan on every file reader; FUZZ_SECONDS per target (findings land in out/fuzz/<target>/).
fuzz: setup
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHATTN_FUZZ=ON -DHATTN_CUDA=OFF \
	  -DHATTN_TESTS=OFF -DHATTN_BENCH=OFF -DHATTN_NATIVE=OFF $(CMAKE_FLAGS)
	cmake --build build-fuzz -j $(JOBS)
	bash scripts/run_fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-debug build-asan build-fuzz build-vg build-cuda-emu build-cuda-emu-tsan build-tune
