#include "models/load.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>

#include "nn/module.h"

namespace ha {
namespace {

const TensorRecord& require(const Checkpoint& c, const std::string& name) {
  const TensorRecord* r = c.find(name);
  HATTN_CHECK_INPUT(r != nullptr, "'", c.path(), "': cannot infer the Vim configuration: no tensor '", name, "'");
  return *r;
}

void require_rank(const Checkpoint& c, const TensorRecord& r, size_t rank) {
  HATTN_CHECK_INPUT(r.shape.size() == rank, "'", c.path(), "': tensor '", r.name, "' has shape ", shape_str(r.shape),
                    ", expected ", rank, " dims");
}

int64_t parse_int(const std::string& s) {
  // args.input_size is an int; tolerate "224" and "[224, 224]"-like renderings by taking the first number
  size_t b = s.find_first_of("0123456789");
  if (b == std::string::npos) return 0;
  return std::stoll(s.substr(b, std::min<size_t>(9, s.size() - b)));
}

}  // namespace

int64_t count_indexed(const Checkpoint& ckpt, const std::string& prefix) {
  int64_t n = 0;
  for (const TensorRecord& r : ckpt.records()) {
    if (r.name.rfind(prefix, 0) != 0) continue;
    const std::string idx = r.name.substr(prefix.size(), r.name.find('.', prefix.size()) - prefix.size());
    HATTN_CHECK_INPUT(!idx.empty() && idx.size() < 6 && std::all_of(idx.begin(), idx.end(), ::isdigit), "'", ckpt.path(),
                      "': malformed key '", r.name, "'");
    n = std::max<int64_t>(n, std::stoll(idx) + 1);
  }
  return n;
}

VimConfig infer_vim_config(const Checkpoint& ckpt, const ConfigOverrides& ov, std::string* how) {
  VimConfig c;
  const TensorRecord& pw = require(ckpt, "patch_embed.proj.weight");
  require_rank(ckpt, pw, 4);
  c.d_model = pw.shape[0];
  c.in_chans = pw.shape[1];
  c.patch = pw.shape[2];
  HATTN_CHECK_INPUT(pw.shape[2] == pw.shape[3], "'", ckpt.path(), "': non-square patches ", shape_str(pw.shape));
  const int64_t depth = count_indexed(ckpt, "layers.");
  HATTN_CHECK_INPUT(depth > 0, "'", ckpt.path(), "': no 'layers.*' tensors: not a Vision Mamba checkpoint");
  c.depth = depth;
  const TensorRecord& alog = require(ckpt, "layers.0.mixer.A_log");
  require_rank(ckpt, alog, 2);
  c.d_state = alog.shape[1];
  HATTN_CHECK_INPUT(alog.shape[0] % c.d_model == 0, "'", ckpt.path(), "': A_log ", shape_str(alog.shape),
                    " is not a multiple of D = ", c.d_model);
  c.expand = alog.shape[0] / c.d_model;
  const TensorRecord& dtw = require(ckpt, "layers.0.mixer.dt_proj.weight");
  require_rank(ckpt, dtw, 2);
  c.dt_rank = dtw.shape[1];
  const TensorRecord& cw = require(ckpt, "layers.0.mixer.conv1d.weight");
  require_rank(ckpt, cw, 3);
  c.d_conv = cw.shape[2];
  const TensorRecord& hw = require(ckpt, "head.weight");
  require_rank(ckpt, hw, 2);
  c.num_classes = hw.shape[0];
  const TensorRecord& pe = require(ckpt, "pos_embed");
  require_rank(ckpt, pe, 3);
  const bool has_cls = ckpt.find("cls_token") != nullptr;
  const int64_t M = pe.shape[1] - (has_cls ? 1 : 0);
  const int64_t G = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(M, 0)))));
  HATTN_CHECK_INPUT(G >= 1 && G * G == M, "'", ckpt.path(), "': pos_embed ", shape_str(pe.shape), " does not hold a square grid",
                    has_cls ? " plus a cls token" : "");
  c.cls_mode = has_cls ? ClsMode::Middle : ClsMode::None;
  auto meta = ckpt.metadata().find("config.cls_mode");
  if (has_cls && meta != ckpt.metadata().end() && meta->second == "first") c.cls_mode = ClsMode::First;

  // Stride and image size, in docs/definitions.md §1's order.
  std::string source;
  auto from_img = [&](int64_t img, const std::string& what) {
    if (G == 1) {
      c.stride = c.patch;
      c.img_size = img;
    } else {
      HATTN_CHECK_INPUT(img >= c.patch && (img - c.patch) % (G - 1) == 0, what, " ", img, " does not fit a ", G, "x", G,
                        " grid of ", c.patch, "-pixel patches");
      c.stride = (img - c.patch) / (G - 1);
      c.img_size = img;
    }
  };
  auto args = ckpt.metadata().find("args.input_size");
  if (ov.stride > 0 || ov.img_size > 0) {
    if (ov.stride > 0) {
      c.stride = ov.stride;
      c.img_size = c.patch + (G - 1) * ov.stride;
      HATTN_CHECK_INPUT(ov.img_size == 0 || ov.img_size == c.img_size, "--stride ", ov.stride, " gives image size ",
                        c.img_size, ", not --img-size ", ov.img_size);
      source = "from --stride";
    } else {
      from_img(ov.img_size, "--img-size");
      source = "from --img-size";
    }
  } else if (args != ckpt.metadata().end() && parse_int(args->second) > 0) {
    from_img(parse_int(args->second), "the checkpoint's args.input_size");
    source = "from the checkpoint's args.input_size";
  } else if (G > 1 && 224 >= c.patch && (224 - c.patch) % (G - 1) == 0) {
    from_img(224, "image size");
    source = "224 fits the grid";
  } else {
    c.stride = c.patch;
    c.img_size = c.patch * G;
    source = "stride = patch size";
  }
  if (how) *how = str("stride ", c.stride, ", image ", c.img_size, "x", c.img_size, " (", source, ")");
  return c;
}

void load_parameters(nn::Module& model, const Checkpoint& ckpt, const std::set<std::string>& ignored) {
  std::vector<std::string> missing, mismatched, wrong_type;
  std::set<std::string> used;
  auto params = model.named_parameters();
  for (auto& [name, t] : params) {
    const TensorRecord* r = ckpt.find(name);
    if (!r) {
      missing.push_back(name);
      continue;
    }
    used.insert(name);
    if (r->shape != t.shape()) {
      mismatched.push_back(str(name, " (file ", shape_str(r->shape), ", model ", shape_str(t.shape()), ")"));
      continue;
    }
    if (r->type != StoredType::F32 && r->type != StoredType::F64 && r->type != StoredType::F16 &&
        r->type != StoredType::BF16) {
      wrong_type.push_back(str(name, " (", stored_type_name(r->type), ")"));
    }
  }
  std::vector<std::string> unexpected;
  for (const TensorRecord& r : ckpt.records())
    if (!used.count(r.name) && !ignored.count(r.name)) unexpected.push_back(r.name);
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s;
  };
  std::string problems;
  if (!missing.empty()) problems += str("\n  missing (", missing.size(), "): ", list(missing));
  if (!unexpected.empty()) problems += str("\n  unexpected (", unexpected.size(), "): ", list(unexpected));
  if (!mismatched.empty()) problems += str("\n  shape mismatch (", mismatched.size(), "): ", list(mismatched));
  if (!wrong_type.empty()) problems += str("\n  not floating point (", wrong_type.size(), "): ", list(wrong_type));
  HATTN_CHECK_INPUT(problems.empty(), "'", ckpt.path(), "' does not match the model:", problems);
  for (auto& [name, t] : params) {
    ckpt.load_into(name, t);
    // Non-finite floats have every exponent bit set: an integer OR over the bits vectorises, and the index is
    // looked for only when something is wrong.
    const float* p = t.data<float>();
    uint32_t non_finite = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, p + i, 4);
      non_finite |= (~bits & 0x7f800000u) == 0;
    }
    if (!non_finite) continue;
    for (int64_t i = 0; i < t.numel(); ++i)
      HATTN_CHECK_INPUT(std::isfinite(p[i]), "'", ckpt.path(), "': tensor '", name, "' holds a non-finite value (",
                        p[i], ") at element ", i);
  }
}

std::unique_ptr<VisionMamba> load_vim(const std::string& path, const ConfigOverrides& overrides, std::string* how) {
  Checkpoint ckpt = Checkpoint::open(path);
  auto model = std::make_unique<VisionMamba>(infer_vim_config(ckpt, overrides, how));
  load_parameters(*model, ckpt);
  return model;
}

void add_config_metadata(const VimConfig& c, std::map<std::string, std::string>& metadata) {
  metadata["config.img_size"] = std::to_string(c.img_size);
  metadata["config.stride"] = std::to_string(c.stride);
  metadata["config.cls_mode"] = c.cls_mode == ClsMode::Middle ? "middle" : c.cls_mode == ClsMode::First ? "first" : "none";
  metadata["args.input_size"] = std::to_string(c.img_size);
}

void save_vim_safetensors(const VisionMamba& model, const std::string& path, std::map<std::string, std::string> metadata) {
  add_config_metadata(model.config(), metadata);
  save_safetensors(path, model.named_parameters(), metadata);
}

}  // namespace ha
