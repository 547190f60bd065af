// hattn explore: an interactive explorer for a few images, DIR/index.html + DIR/explorer_data.js, that works
// from file:// with no server and no network. Per image the data file holds the input (8-bit RGB), the
// prediction, every method's map, and each layer's scan inputs (Δ, A, B, C as float16); the page computes the
// hidden attention matrices and rows from those on demand (docs/definitions.md §4), so nothing L×L is shipped.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>

#include "apps/common.h"
#include "models/preprocess.h"
#include "ops/ops.h"
#include "tensor/atomic_write.h"
#include "xai/explain.h"
#include "xai/render.h"

namespace ha {
extern const char* const kExplorerHtml;  // xai/data/explorer.html, compiled in
}

namespace ha::app {
namespace {

std::string base64(const uint8_t* p, size_t n) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v = uint32_t(p[i]) << 16 | (i + 1 < n ? uint32_t(p[i + 1]) << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out += k[v >> 18 & 63];
    out += k[v >> 12 & 63];
    out += i + 1 < n ? k[v >> 6 & 63] : '=';
    out += i + 2 < n ? k[v & 63] : '=';
  }
  return out;
}

// IEEE half precision, round to nearest even (values here are far from the half range's limits; overflow
// saturates to infinity, underflow goes through the subnormals).
uint16_t to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int32_t exp = int32_t((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff) return uint16_t(sign | 0x7c00u | (mant ? 0x200u : 0));  // inf, NaN
  if (exp >= 31) return uint16_t(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return uint16_t(sign);
    mant |= 0x800000u;
    const int shift = 14 - exp;
    uint32_t h = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = uint32_t(exp) << 10 | mant >> 13;
  const uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: still correct
  return uint16_t(sign | h);
}

// A float tensor as base64 of little-endian float16 values (row-major).
std::string half_b64(const Tensor& t) {
  const std::vector<float> v = t.to(Device::cpu()).contiguous().to_vector<float>();
  std::vector<uint8_t> bytes(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = to_half(v[i]);
    bytes[2 * i] = uint8_t(h & 0xff);
    bytes[2 * i + 1] = uint8_t(h >> 8);
  }
  return "\"" + base64(bytes.data(), bytes.size()) + "\"";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c == '<' ? std::string("\\u003c") : std::string(1, c);  // never "</script>" inside a script
  }
  return out + "\"";
}

// Numbers for people and for size: 4 significant digits.
std::string numbers(const std::vector<float>& v) {
  std::string out = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.4g", i ? "," : "", std::isfinite(v[i]) ? v[i] : 0.f);
    out += buf;
  }
  return out + "]";
}

}  // namespace

namespace {

// The model's description for the page: what the page needs to lay out its tokens and controls.
std::string model_json(const xai::FamilyInfo& f, const std::string& path) {
  std::ostringstream js;
  js << "{\"family\": " << json_string(f.key) << ", \"path\": " << json_string(path) << ", \"describe\": "
     << json_string(f.describe) << ", \"depth\": " << f.layers << ", \"tokens\": " << f.tokens << ", \"cls\": "
     << f.default_query << ", \"prefix\": " << f.layout.prefix_tokens << ", \"grid\": " << f.layout.shape[0];
  for (const auto& [name, size] : f.mixer_shape) js << ", " << json_string(name) << ": " << size;
  js << ", \"img_size\": " << f.img_size << ", \"patch\": " << f.layout.patch << ", \"stride\": " << f.layout.stride
     << ", \"classes\": [";
  for (size_t k = 0; k < f.class_names.size(); ++k) js << (k ? "," : "") << json_string(f.class_names[k]);
  js << "]}";
  return js.str();
}

// The input as the overlay sees it: min-max of the normalised image (3, H, W), 8-bit RGB, row-major.
std::string input_json(const Tensor& input) {
  const std::vector<float> in = minmax_normalize(input.detach().to(DType::F32)).to_vector<float>();
  const int64_t H = input.size(1), W = input.size(2);
  std::vector<uint8_t> rgb(H * W * 3);
  for (int64_t p = 0; p < H * W; ++p)
    for (int ch = 0; ch < 3; ++ch) rgb[p * 3 + ch] = static_cast<uint8_t>(std::lround(255 * in[ch * H * W + p]));
  return str("\"width\": ", W, ", \"height\": ", H, ", \"rgb\": \"", base64(rgb.data(), rgb.size()), "\"");
}

// One model's results on one image: prediction, every method's map (each variant), and per layer what the page
// computes the attention from (the mixer's factors: Vim's Δ, A, B, C per direction; a ViT's probabilities).
std::string result_json(const xai::Explainable& model, const Image8& raw, Preprocess mode) {
  const xai::FamilyInfo& f = model.info();
  std::ostringstream js;
  const xai::Trace t =
      std::move(model.trace(normalize_image(preprocess_image(raw, f.img_size, mode), f.normalization))[0]);
  js << "{\"pred\": " << t.target << ", \"prob\": " << softmax(t.logits, 1).at({0, t.target}) << ", "
     << input_json(t.input) << ",\n  \"maps\": {";
  bool first = true;
  for (const xai::MethodSpec& spec : f.methods) {
    std::vector<std::optional<xai::Variant>> variants(spec.variants.begin(), spec.variants.end());
    if (variants.empty()) variants.push_back(std::nullopt);
    for (const std::optional<xai::Variant>& v : variants) {
      xai::ExplainOptions o;
      o.variant = v;
      const std::string key = v ? str(xai::method_name(spec.method), "/", xai::variant_name(*v)) : xai::method_name(spec.method);
      js << (first ? "" : ", ") << json_string(key) << ": " << numbers(xai::explain(t, f, spec.method, o).to_vector<float>());
      first = false;
    }
  }
  js << "},\n  \"layers\": [";
  for (size_t l = 0; l < t.mixers.size(); ++l) {
    // factors named "group.name" nest: {"fwd": {"delta": …, "A": …}, "bwd": {…}}; a plain name stands alone
    js << (l ? ",\n   " : "\n   ") << "{";
    std::string group;
    bool first_in_group = true;
    for (const auto& [name, x] : t.mixers[l]->factors()) {
      const size_t dot = name.find('.');
      const std::string g = dot == std::string::npos ? "" : name.substr(0, dot), leaf = name.substr(dot + 1);
      if (g != group) {
        if (!group.empty()) js << "}";
        if (!g.empty()) js << (group.empty() && first_in_group ? "" : ", ") << "\"" << g << "\": {";
        group = g;
        first_in_group = true;
      }
      js << (first_in_group ? "" : ", ") << "\"" << (g.empty() ? name : leaf) << "\": " << half_b64(x);
      first_in_group = false;
    }
    if (!group.empty()) js << "}";
    js << "}";
  }
  js << "]}";
  return js.str();
}

}  // namespace

int run_explore(int argc, char** argv) {
  Args args("explore", "Write an interactive explorer (index.html + explorer_data.js) for a few images: maps of "
                       "every method, hidden attention matrices per layer, direction and channel (a ViT: softmax "
                       "attention per block and head), and the attention row of any patch. Opens from file:// with "
                       "no server.");
  add_checkpoint_options(args);
  args.option("images", "", "comma-separated image files", true)
      .option("labels", "", "comma-separated true class indices of the images (optional)")
      .option("compare", "", "a second checkpoint to show beside the first (e.g. a ViT next to a Vim)")
      .option("preprocess", "crop", "crop | vim-eval | squash")
      .option("out", "out/explore", "output folder");
  if (!args.parse(argc, argv)) return 0;
  const std::vector<std::string> images = split_list(args.get("images"));
  const std::vector<std::string> labels = args.has("labels") ? split_list(args.get("labels")) : std::vector<std::string>{};
  if (!labels.empty() && labels.size() != images.size())
    throw UsageError(str("--labels has ", labels.size(), " entries for ", images.size(), " images"));
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  const std::string out = args.get("out");

  // Each checkpoint takes the options of its family: --heads and --normalize go to the ViT, --stride and
  // --img-size to the Vim, whichever of the two is --checkpoint and which --compare.
  // Each checkpoint takes the load options of its family (a ViT's --heads, a Vim's --stride), whichever of the
  // two is --checkpoint and which --compare.
  std::vector<std::unique_ptr<xai::Explainable>> models;
  std::vector<std::string> paths{args.get("checkpoint")};
  if (args.has("compare")) paths.push_back(args.get("compare"));
  for (const std::string& path : paths) {
    xai::LoadOptions own = load_options(args);
    const xai::ModelFile file(path);
    if (paths.size() > 1) {
      const xai::FamilyEntry& family = xai::family_of(file);
      for (auto it = own.values.begin(); it != own.values.end();)
        it = xai::takes_load_option(family, it->first) ? std::next(it) : own.values.erase(it);
    }
    models.push_back(xai::load(file, own));
    require_images(models.back()->info(), path);
    if (models.back()->info().methods.empty()) std::fprintf(stderr, "%s: %s\n", path.c_str(), models.back()->info().not_explainable.c_str());
  }
  make_output_dir(out);

  std::ostringstream js;
  js << "// Generated by `hattn explore`; read by index.html.\nwindow.HATTN_DATA = {\n\"models\": [";
  for (size_t k = 0; k < models.size(); ++k) js << (k ? ",\n " : "") << model_json(models[k]->info(), paths[k]);
  js << "],\n\"jet\": [";
  for (int v = 0; v < 256; ++v) {
    const xai::Rgb e = xai::jet(static_cast<uint8_t>(v));
    js << (v ? "," : "") << int(e.r) << "," << int(e.g) << "," << int(e.b);
  }
  js << "],\n\"viridis\": [";
  for (int v = 0; v < 256; ++v) {
    const xai::Rgb e = xai::viridis(v / 255.0);
    js << (v ? "," : "") << int(e.r) << "," << int(e.g) << "," << int(e.b);
  }
  js << "],\n\"images\": [\n";
  for (size_t i = 0; i < images.size(); ++i) {
    std::fprintf(stderr, "[%zu/%zu] %s\n", i + 1, images.size(), images[i].c_str());
    const Image8 raw = load_image(images[i]);
    const std::string name = images[i].substr(images[i].find_last_of('/') + 1);
    js << (i ? ",\n" : "") << "{\"name\": " << json_string(name) << ", \"label\": "
       << (labels.empty() ? std::string("null") : std::to_string(std::stoll(labels[i]))) << ", \"results\": [";
    for (size_t k = 0; k < models.size(); ++k) js << (k ? ",\n " : "\n ") << result_json(*models[k], raw, mode);
    js << "]}";
  }
  js << "\n]};\n";
  write_file_atomically(out + "/explorer_data.js", [&](std::ostream& f) { f << js.str(); });
  write_file_atomically(out + "/index.html", [&](std::ostream& f) { f << kExplorerHtml; });
  std::fprintf(stderr, "explorer -> %s/index.html (data: %s/explorer_data.js, %.1f MB)\n", out.c_str(), out.c_str(),
               js.str().size() / 1e6);
  return 0;
}

}  // namespace ha::app
