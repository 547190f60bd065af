#include "apps/common.h"

#include <filesystem>

#include "tensor/cuda/cuda_memory.h"

namespace ha::app {

void add_checkpoint_options(Args& args) {
  args.option("checkpoint", "", "Vim checkpoint: official .pth or .safetensors", true)
      .option("stride", "", "patch stride; overrides the inferred one and fixes the image size (Vim only)")
      .option("img-size", "", "input image size; overrides the inferred one and fixes the stride (Vim only)")
      .option("heads", "", "attention heads of a ViT/DeiT checkpoint (default: width / 64)")
      .option("normalize", "imagenet", "input normalisation: imagenet (Vim, DeiT) | half (mean = std = 0.5, Google's ViT)")
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

std::pair<int64_t, int64_t> channel_range(const Args& args, int64_t total) {
  if (!args.has("channels")) return {0, total};
  const std::string s = args.get("channels");
  const size_t colon = s.find(':');
  int64_t a = 0, b = 0;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    size_t used_a = 0, used_b = 0;
    a = std::stoll(s.substr(0, colon), &used_a);
    b = std::stoll(s.substr(colon + 1), &used_b);
    if (used_a != colon || used_b != s.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw UsageError("--channels expects A:B, got '" + s + "'");
  }
  if (!(0 <= a && a < b && b <= total)) throw UsageError(str("--channels ", s, " must satisfy 0 <= A < B <= ", total));
  return {a, b};
}

std::string hms(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::unique_ptr<nn::AdamW> start_training(nn::Module& model, const Args& args, const std::string& checkpoint,
                                          TrainState& st) {
  const Device device = requested_device(args);
  if (device.is_cuda()) nn::move_parameters(model, device);  // before AdamW, which packs them where they are
  nn::AdamWConfig oc;
  oc.weight_decay = std::stod(args.get("weight-decay"));
  auto opt = std::make_unique<nn::AdamW>(model, oc);
  if (args.has("resume")) st = load_training_checkpoint(checkpoint, model, *opt);
  return opt;
}

void make_output_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  HATTN_CHECK_INPUT(!ec && std::filesystem::is_directory(dir), "cannot create output folder '", dir, "': ",
                    ec ? ec.message() : "a file of that name exists");
}

Device requested_device(const Args& args) {
  const Device dev = parse_device(args.get("device"));
  if (dev.is_cuda())
    HATTN_CHECK_INPUT(cuda::device_count() > dev.index, "--device ", dev.name(), ": this machine has ", cuda::device_count(),
                      " CUDA device(s)", cuda::device_count() == 0 ? " (or this build has no CUDA)" : "");
  return dev;
}

LoadedModel load_model(const Args& args, bool allow_vit) {
  LoadedModel m;
  m.ckpt = Checkpoint::open(args.get("checkpoint"));
  m.family = detect_family(m.ckpt);
  m.normalization = parse_normalization(args.get("normalize"));
  const Device dev = requested_device(args);
  if (m.family == ModelFamily::Vit) {
    if (!allow_vit)
      throw UsageError(str("'", args.get("checkpoint"), "' is a ViT/DeiT checkpoint; this command handles Vision Mamba only "
                           "so far (hattn classify takes both)"));
    if (args.has("stride") || args.has("img-size"))
      throw UsageError("--stride and --img-size apply to Vision Mamba only; a ViT's input size comes from its checkpoint");
    int64_t heads = 0;
    if (args.has("heads")) {
      heads = args.get_int("heads");
      if (heads <= 0) throw UsageError("--heads must be positive");
    }
    m.vit = load_vit(m.ckpt, heads);
    if (dev.is_cuda()) nn::move_parameters(*m.vit, dev);
    return m;
  }
  if (args.has("heads")) throw UsageError("--heads applies to ViT/DeiT checkpoints only");
  if (m.normalization != Normalization::ImageNet)
    throw UsageError("--normalize applies to ViT/DeiT checkpoints; Vision Mamba takes ImageNet's normalisation");
  m.model = std::make_unique<VisionMamba>(infer_vim_config(m.ckpt, config_overrides(args), &m.how));
  load_parameters(*m.model, m.ckpt);
  if (dev.is_cuda()) nn::move_parameters(*m.model, dev);
  return m;
}

}  // namespace ha::app
