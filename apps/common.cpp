#include "apps/common.h"

#include <filesystem>

#include "tensor/cuda/cuda_memory.h"

namespace ha::app {

void add_checkpoint_options(Args& args) {
  args.option("checkpoint", "", "Vim checkpoint: official .pth or .safetensors", true)
      .option("stride", "", "patch stride; overrides the inferred one and fixes the image size")
      .option("img-size", "", "input image size; overrides the inferred one and fixes the stride")
      .option("device", "cpu", "where the model runs: cpu | cuda | cuda:N");
}

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.find_first_not_of("0123456789", 5) == std::string::npos)
    return Device::cuda(std::stoi(s.substr(5)));
  throw UsageError("unknown --device '" + s + "' (cpu, cuda or cuda:N)");
}

ConfigOverrides config_overrides(const Args& args) {
  ConfigOverrides o;
  if (args.has("stride")) o.stride = args.get_int("stride");
  if (args.has("img-size")) o.img_size = args.get_int("img-size");
  if (args.has("stride") && o.stride <= 0) throw UsageError("--stride must be positive");
  if (args.has("img-size") && o.img_size <= 0) throw UsageError("--img-size must be positive");
  return o;
}

void make_output_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  HATTN_CHECK_INPUT(!ec && std::filesystem::is_directory(dir), "cannot create output folder '", dir, "': ",
                    ec ? ec.message() : "a file of that name exists");
}

LoadedModel load_model(const Args& args) {
  LoadedModel m{Checkpoint::open(args.get("checkpoint")), nullptr, ""};
  m.model = std::make_unique<VisionMamba>(infer_vim_config(m.ckpt, config_overrides(args), &m.how));
  load_parameters(*m.model, m.ckpt);
  const Device dev = parse_device(args.get("device"));
  if (dev.is_cuda()) {
    HATTN_CHECK_INPUT(cuda::device_count() > dev.index, "--device ", dev.name(), ": this machine has ", cuda::device_count(),
                      " CUDA device(s)", cuda::device_count() == 0 ? " (or this build has no CUDA)" : "");
    nn::move_parameters(*m.model, dev);
  }
  return m;
}

}  // namespace ha::app
