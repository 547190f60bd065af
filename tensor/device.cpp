#include "tensor/device.h"

#include "tensor/cuda/cuda_memory.h"
#include "tensor/error.h"

namespace ha {

Device parse_device(const std::string& s) {
  Device d = Device::cpu();
  if (s == "cuda") {
    d = Device::cuda(0);
  } else if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() <= 8 &&
             s.find_first_not_of("0123456789", 5) == std::string::npos) {
    d = Device::cuda(std::stoi(s.substr(5)));
  } else {
    HATTN_CHECK_INPUT(s == "cpu", "unknown device '", s, "' (cpu, cuda or cuda:N)");
  }
  if (d.is_cuda())
    HATTN_CHECK_INPUT(cuda::device_count() > d.index, "device ", d.name(), ": this machine has ", cuda::device_count(),
                      " CUDA device(s)", cuda::device_count() == 0 ? " (or this build has no CUDA)" : "");
  return d;
}

}  // namespace ha
