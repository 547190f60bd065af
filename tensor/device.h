// Where a tensor's storage lives. CPU always; CUDA when the build found nvcc (see tensor/cuda/).
#pragma once
#include <ostream>
#include <string>

namespace ha {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string name() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.name(); }

// "cpu" | "cuda" | "cuda:N", checked against the devices this machine and build have (an InputError naming them).
Device parse_device(const std::string& name);

}  // namespace ha
