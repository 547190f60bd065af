// libFuzzer helpers: the loaders take paths, so each input is written to a per-process temporary file.
// Every target accepts any ha::Error (a clear refusal) and nothing else: a crash, a sanitizer report, an
// uncaught exception of another type or a timeout is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "tensor/error.h"

namespace ha::fuzz {

inline std::string write_input(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = "/tmp/hattn_fuzz_" + std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

template <class F>
void expect_clean(F f) {
  try {
    f();
  } catch (const ha::Error&) {
  }
}

}  // namespace ha::fuzz
