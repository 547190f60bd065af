#include "apps/common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <filesystem>
#include <set>

#include "models/io/json.h"
#include "ops/ops.h"
#include "tensor/npy.h"
#include "xai/render.h"

namespace ha::app {

void add_checkpoint_options(Args& args) {
  args.option("checkpoint", "", "the model: a .pth or .safetensors checkpoint (Vision Mamba, ViT/DeiT)", true);
  // each family's load options (a Vim's stride, a ViT's heads), declared once; a family refuses those it lacks
  std::set<std::string> declared;
  for (const xai::FamilyEntry& f : xai::families())
    for (const xai::LoadOption& o : f.load_options)
      if (declared.insert(o.name).second) args.option(o.name, "", o.help);
  args.option("device", "cpu", "where the model runs: cpu | cuda | cuda:N");
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
  try {
    return parse_device(args.get("device"));
  } catch (const InputError& e) {
    throw UsageError(str("--device ", args.get("device"), ": ", e.what()));
  }
}

xai::LoadOptions load_options(const Args& args) {
  xai::LoadOptions o;
  o.device = requested_device(args);
  for (const xai::FamilyEntry& f : xai::families())
    for (const xai::LoadOption& option : f.load_options)
      if (args.has(option.name)) o.values[option.name] = args.get(option.name);
  return o;
}

std::unique_ptr<xai::Explainable> load_model(const Args& args) {
  return xai::load(args.get("checkpoint"), load_options(args));
}

void add_ablation_options(Args& args) {
  args.option("aggregate", "mean", "ablation of rollout and attr: how each layer's channels combine: mean | max | min | prod")
      .option("discard", "0", "ablation: in each channel's matrix, entries below this quantile become 0 first (0 <= f < 1)")
      .option("clamp", "relu", "ablation of attr: relu (the definition's (.)+) | none | abs");
}

xai::Ablation ablation_options(const Args& args) {
  return xai::parse_ablation({{"aggregate", args.get("aggregate")}, {"discard", args.get("discard")},
                              {"clamp", args.get("clamp")}});
}

void require_images(const xai::FamilyInfo& f, const std::string& path) {
  if (f.modality != xai::Modality::Image)
    throw UsageError(str("'", path, "' is a ", f.name, ", not an image model: use hattn lm (hattn lm --help)"));
}

void check_family_options(const Args& args, const xai::FamilyInfo& f, const std::vector<std::string>& names) {
  for (const std::string& name : names)
    if (args.has(name) && !f.takes(name)) throw UsageError(str("--", name, " does not apply to a ", f.name, " model"));
}

void write_attention(const xai::Explainable& model, const xai::Trace& trace, int64_t layer, const std::string& part,
                     int64_t c0, int64_t c1, int64_t first_k, const std::string& folder, bool mean_only) {
  const xai::FamilyInfo& f = model.info();
  const xai::MixerOperator& m = *trace.mixers[layer];
  const int64_t T = trace.tokens();
  make_output_dir(folder);
  const std::string base = str(folder, "/attn_l", layer, part.empty() ? "" : "_" + part, mean_only ? "_mean" : "");
  // channels in blocks of at most ~2^24 entries: the file is written as they come, never held whole; the
  // picture keeps their mean and the first 15
  const int64_t block = std::clamp<int64_t>((int64_t(1) << 24) / std::max<int64_t>(T * T, 1), 1, 64);
  std::vector<double> sum(T * T, 0.0);
  std::vector<Tensor> first;
  auto sweep = [&](const std::function<void(const Tensor&)>& emit) {
    for (int64_t a = c0; a < c1; a += block) {
      const Tensor M = m.matrices(a, std::min(c1, a + block), part).to(Device::cpu()).to(DType::F32).contiguous();
      const std::vector<double> v = M.to_vector<double>();
      for (size_t k = 0; k < v.size(); ++k) sum[k % (T * T)] += v[k];
      for (int64_t k = 0; k < M.size(0) && static_cast<int64_t>(first.size()) < 15; ++k) first.push_back(M.select(0, k));
      if (emit) emit(M);
    }
  };
  if (mean_only) {
    sweep(nullptr);
  } else {
    save_npy_streamed(base + ".npy", {c1 - c0, T, T}, DType::F32, sweep);
  }
  for (double& x : sum) x /= double(c1 - c0);
  const Tensor mean_matrix = Tensor::from_vector(sum, {T, T}).to(DType::F32);
  if (mean_only) save_npy(base + ".npy", mean_matrix.reshape({1, T, T}));
  // picture: the mean, then up to 15 channels or heads, min-max each
  const int64_t shown = first_k > 0 ? std::min(first_k, T) : T;
  const int64_t cell = std::max<int64_t>(1, 200 / shown);
  std::vector<xai::Tile> tiles{{xai::matrix_picture(mean_matrix, first_k, cell), str("mean of ", c0, ":", c1)}};
  if (!mean_only)
    for (size_t k = 0; k < first.size(); ++k)
      tiles.push_back({xai::matrix_picture(first[k], first_k, cell), str(f.mixer_unit, " ", c0 + int64_t(k))});
  const std::string what = f.form == xai::MixerForm::Softmax ? "softmax attention" : "abs(alpha)";
  save_png(base + ".png", xai::grid(tiles, 4, str("layer ", layer, part.empty() ? "" : ", " + part, ", ", what,
                                                  " min-max, viridis")));
  std::fprintf(stderr, "attention: layer %lld%s %ss %lld:%lld%s, %lld tokens -> %s.npy, .png\n",
               static_cast<long long>(layer), part.empty() ? "" : (" " + part).c_str(), f.mixer_unit.c_str(),
               static_cast<long long>(c0), static_cast<long long>(c1), mean_only ? " (their mean)" : "",
               static_cast<long long>(T), base.c_str());
}

namespace {

// Softmax probabilities and the order of the classes, most probable first (ties: the lower class).
std::pair<std::vector<double>, std::vector<int64_t>> ranked(const std::vector<float>& z) {
  for (float v : z)
    HATTN_CHECK_INPUT(std::isfinite(v), "the model produced a non-finite logit (", v, "); the checkpoint is damaged");
  const float zmax = *std::max_element(z.begin(), z.end());
  double denom = 0;
  for (float v : z) denom += std::exp(double(v) - zmax);
  std::vector<double> p(z.size());
  for (size_t i = 0; i < z.size(); ++i) p[i] = std::exp(double(z[i]) - zmax) / denom;
  std::vector<int64_t> order(z.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return z[a] > z[b]; });
  return {p, order};
}

}  // namespace

std::string top_classes_json(const std::vector<float>& z, const std::vector<std::string>& names, int64_t k) {
  const auto [p, order] = ranked(z);
  std::string out;
  for (int64_t i = 0; i < std::min<int64_t>(k, static_cast<int64_t>(z.size())); ++i) {
    const int64_t cls = order[i];
    char nums[96];
    std::snprintf(nums, sizeof nums, "\"logit\": %.9g, \"prob\": %.9g", z[cls], p[cls]);
    out += str(i ? ", " : "", "{\"class\": ", cls, ", \"label\": ", json::quote(names.at(cls)), ", ", nums, "}");
  }
  return out;
}

void print_top_classes(const std::vector<float>& z, const std::vector<std::string>& names, int64_t k) {
  const auto [p, order] = ranked(z);
  std::printf("%4s  %6s  %10s  %8s  %s\n", "rank", "class", "logit", "prob", "label");
  for (int64_t i = 0; i < std::min<int64_t>(k, static_cast<int64_t>(z.size())); ++i) {
    const int64_t cls = order[i];
    std::printf("%4lld  %6lld  %10.4f  %8.4f  %s\n", static_cast<long long>(i + 1), static_cast<long long>(cls),
                z[cls], p[cls], names.at(cls).c_str());
  }
}

}  // namespace ha::app
