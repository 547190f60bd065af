// Storage: one owned allocation on one device, shared by every tensor that views it (via shared_ptr).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/device.h"

namespace ha {

class Storage {
 public:
  Storage(size_t nbytes, Device device);  // uninitialised memory
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Counts in-place writes through the tensor API (copy_, fill_, add_, optimiser steps); every view shares it.
  // Backward compares it with its value when a node saved the tensor (autograd/record.h: saved()).
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> version_{0};
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

}  // namespace ha
