#include "xai/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "models/preprocess.h"
#include "ops/ops.h"
#include "tensor/atomic_write.h"
#include "xai/line_chart.h"

namespace ha::xai {

std::vector<EvalMethod> parse_eval_methods(const FamilyInfo& f, const std::string& spec) {
  std::vector<EvalMethod> out;
  if (f.methods.empty()) throw InputError(f.not_explainable);
  auto add = [&](Method m, Variant v) { out.push_back({m, v, method_label(f, m, v), method_token(f, m, v), {}}); };
  if (spec == "all") {
    for (const MethodSpec& s : f.methods) {
      if (s.variants.empty()) add(s.method, resolve_variant(f, s.method, std::nullopt));
      for (Variant v : s.variants) add(s.method, v);
    }
    return out;
  }
  for (size_t at = 0; at <= spec.size();) {  // e.g. attr:exact
    const size_t comma = std::min(spec.find(',', at), spec.size());
    const std::string one = spec.substr(at, comma - at);
    at = comma + 1;
    const size_t colon = one.find(':');
    const Method m = parse_method(one.substr(0, colon));
    std::optional<Variant> v;
    if (colon != std::string::npos) {
      v = parse_variant(one.substr(colon + 1));
      const MethodSpec* s = f.find(m);
      HATTN_CHECK_INPUT(!s || !s->variants.empty(), "'", one, "': ", method_name(m), " has one definition for ",
                        f.name, " (no variants)");
    }
    add(m, resolve_variant(f, m, v));
  }
  return out;
}

void EvalCounts::merge(const EvalCounts& o) {
  for (const auto& [k, v] : o.positive) positive[k].merge(v);
  for (const auto& [k, v] : o.negative) negative[k].merge(v);
  for (const auto& [k, v] : o.segmentation) segmentation[k].merge(v);
  images += o.images;
  correct += o.correct;
  labelled += o.labelled;
}

void EvalCounts::save_csv(const std::string& path) const {
  write_file_atomically(path, [&](std::ostream& f) {
    f << "kind,method,images,v0,v1,v2,v3,v4,v5,v6,v7,v8,v9\n";
    f << "clean,,"
      << images << "," << correct << "," << labelled << ",0,0,0,0,0,0,0,0\n";
    if (!progress.run.empty())  // the run's description is quoted like a method name; it holds no quote
      f << "progress,\"" << progress.run << "\"," << progress.done << "," << progress.total << ",0,0,0,0,0,0,0,0,0\n";
    for (const auto* table : {&positive, &negative}) {
      for (const auto& [k, c] : *table) {
        f << (table == &positive ? "positive" : "negative") << ",\"" << k << "\"," << c.images;
        for (int64_t v : c.correct) f << "," << v;
        f << "\n";
      }
    }
    for (const auto& [k, s] : segmentation) {
      char buf[256];
      std::snprintf(buf, sizeof buf, ",%lld,%lld,%lld,%lld,%lld,%lld,%.17g,%.17g,0,0", static_cast<long long>(s.correct),
                    static_cast<long long>(s.pixels), static_cast<long long>(s.intersection[0]),
                    static_cast<long long>(s.intersection[1]), static_cast<long long>(s.union_[0]),
                    static_cast<long long>(s.union_[1]), s.ap_sum, s.f1_sum);
      f << "segmentation,\"" << k << "\"," << s.images << buf << "\n";
    }
  });
}

EvalCounts EvalCounts::load_csv(const std::string& path) {
  std::ifstream f(path);
  HATTN_CHECK_INPUT(f.good(), "cannot open evaluation counts '", path, "'");
  EvalCounts c;
  std::string line;
  std::getline(f, line);
  HATTN_CHECK_INPUT(line.rfind("kind,method,images", 0) == 0, "'", path, "' is not an evaluation counts file");
  int64_t lineno = 1;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::string kind = line.substr(0, line.find(','));
    const size_t q1 = line.find('"'), q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
    std::string method = q1 == std::string::npos ? "" : line.substr(q1 + 1, q2 - q1 - 1);
    std::string rest = q1 == std::string::npos ? line.substr(line.find(',', kind.size() + 1) + 1) : line.substr(q2 + 2);
    std::vector<double> v;
    std::stringstream ss(rest);
    for (std::string cell; std::getline(ss, cell, ',');) v.push_back(std::stod(cell));
    HATTN_CHECK_INPUT(v.size() == 11, "'", path, "' line ", lineno, ": expected 11 numbers, got ", v.size());
    if (kind == "clean") {
      c.images += static_cast<int64_t>(v[0]);
      c.correct += static_cast<int64_t>(v[1]);
      // v[2]: the labelled images (files written before it existed hold 0 there and had every image labelled)
      c.labelled += v[2] > 0 || v[1] > 0 ? static_cast<int64_t>(v[2] > 0 ? v[2] : v[0]) : 0;
    } else if (kind == "progress") {
      c.progress = {method, static_cast<int64_t>(v[0]), static_cast<int64_t>(v[1])};
    } else if (kind == "positive" || kind == "negative") {
      PerturbationCounts p;
      p.images = static_cast<int64_t>(v[0]);
      for (int i = 0; i < kPerturbationSteps; ++i) p.correct[i] = static_cast<int64_t>(v[1 + i]);
      (kind == "positive" ? c.positive : c.negative)[method].merge(p);
    } else if (kind == "segmentation") {
      SegmentationCounts s;
      s.images = static_cast<int64_t>(v[0]);
      s.correct = static_cast<int64_t>(v[1]), s.pixels = static_cast<int64_t>(v[2]);
      s.intersection[0] = static_cast<int64_t>(v[3]), s.intersection[1] = static_cast<int64_t>(v[4]);
      s.union_[0] = static_cast<int64_t>(v[5]), s.union_[1] = static_cast<int64_t>(v[6]);
      s.ap_sum = v[7], s.f1_sum = v[8];
      c.segmentation[method].merge(s);
    } else {
      throw InputError(str("'", path, "' line ", lineno, ": unknown kind '", kind, "'"));
    }
  }
  return c;
}

Fill parse_fill(const std::string& s) {
  if (s == "black") return Fill::Black;
  if (s == "blur") return Fill::Blur;
  if (s == "mean") return Fill::Mean;
  throw InputError(str("unknown perturbation fill '", s, "' (black, blur or mean)"));
}

const char* fill_name(Fill f) { return f == Fill::Black ? "black" : f == Fill::Blur ? "blur" : "mean"; }

Image8 gaussian_blur(const Image8& image, double sigma) {
  HATTN_CHECK(sigma > 0, "gaussian_blur: sigma ", sigma);
  const int64_t H = image.height, W = image.width, r = static_cast<int64_t>(std::ceil(3 * sigma));
  std::vector<double> w(2 * r + 1);
  double total = 0;
  for (int64_t k = -r; k <= r; ++k) total += w[k + r] = std::exp(-double(k * k) / (2 * sigma * sigma));
  for (double& x : w) x /= total;
  // scipy.ndimage's 'reflect': (d c b a | a b c d | d c b a), repeated for kernels wider than the image
  auto reflect = [](int64_t i, int64_t n) {
    const int64_t period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - 1 - i;
  };
  std::vector<double> in(H * W * 3), mid(H * W * 3, 0.0), out(H * W * 3, 0.0);
  for (size_t i = 0; i < in.size(); ++i) in[i] = image.rgb[i] / 255.0;
  for (int64_t y = 0; y < H; ++y)  // along rows, then along columns
    for (int64_t x = 0; x < W; ++x)
      for (int64_t k = -r; k <= r; ++k)
        for (int c = 0; c < 3; ++c) mid[(y * W + x) * 3 + c] += w[k + r] * in[(y * W + reflect(x + k, W)) * 3 + c];
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      for (int64_t k = -r; k <= r; ++k)
        for (int c = 0; c < 3; ++c) out[(y * W + x) * 3 + c] += w[k + r] * mid[(reflect(y + k, H) * W + x) * 3 + c];
  Image8 b;
  b.height = H;
  b.width = W;
  b.rgb.resize(out.size());
  for (size_t i = 0; i < out.size(); ++i)
    b.rgb[i] = static_cast<uint8_t>(std::lround(std::clamp(out[i], 0.0, 1.0) * 255.0));
  return b;
}

namespace {

// Scores one image whose explanation pass has run for every method: `target` is the class it explained (the
// prediction), map_of gives a method's G×G map, logits_of classifies a normalised batch.
void score_image(const Image8& image, int64_t label, const std::vector<uint8_t>& mask, int64_t target,
                 const std::function<Tensor(const EvalMethod&)>& map_of,
                 const std::function<Tensor(const Tensor&)>& logits_of, Normalization normalization,
                 const std::vector<EvalMethod>& methods, bool perturbation, EvalCounts& counts, Fill fill, int64_t patch) {
  const int64_t H = image.height, W = image.width, HW = H * W;
  NoGradGuard ng;
  const bool clean_correct = label >= 0 && target == label;
  ++counts.images;
  counts.correct += clean_correct;
  counts.labelled += label >= 0;
  const float* mean = channel_stats(normalization).mean;
  const float* stdev = channel_stats(normalization).std;
  // what a removed pixel becomes, in [0, 1] space, per pixel and channel
  std::vector<float> filler(HW * 3, 0.0f);
  if (perturbation && fill == Fill::Mean)
    for (int64_t p = 0; p < HW; ++p)
      for (int c = 0; c < 3; ++c) filler[p * 3 + c] = mean[c];
  if (perturbation && fill == Fill::Blur) {
    const Image8 blurred = gaussian_blur(image, patch / 2.0);
    for (size_t i = 0; i < filler.size(); ++i) filler[i] = blurred.rgb[i] / 255.0f;
  }
  for (const EvalMethod& em : methods) {
    Tensor map = map_of(em);
    std::vector<float> pix =
        upsample_bilinear(map.reshape({1, 1, map.size(0), map.size(1)}), H, W).reshape({HW}).to_vector<float>();
    if (!mask.empty()) counts.segmentation[em.label].add(pix, mask);
    if (!perturbation) continue;
    // 2 × 9 perturbed copies (i = 1..9), classified in one batch; i = 0 is the clean image
    Tensor batch = Tensor::empty({2 * (kPerturbationSteps - 1), 3, H, W});
    float* out = batch.data<float>();
    for (int mode = 0; mode < 2; ++mode) {
      const std::vector<int64_t> order = removal_order(pix, mode == 0);
      for (int i = 1; i < kPerturbationSteps; ++i) {
        std::vector<uint8_t> removed(HW, 0);
        for (int64_t k = 0; k < HW * i / 10; ++k) removed[order[k]] = 1;
        float* img = out + (mode * (kPerturbationSteps - 1) + i - 1) * 3 * HW;
        for (int c = 0; c < 3; ++c)
          for (int64_t p = 0; p < HW; ++p) {
            const float v = removed[p] ? filler[p * 3 + c] : image.rgb[p * 3 + c] / 255.0f;
            img[c * HW + p] = (v - mean[c]) / stdev[c];
          }
      }
    }
    std::vector<int64_t> pred = argmax(logits_of(batch).to(Device::cpu()), 1).to_vector<int64_t>();
    for (int mode = 0; mode < 2; ++mode) {
      PerturbationCounts& pc = (mode == 0 ? counts.positive : counts.negative)[em.label];
      ++pc.images;
      pc.correct[0] += clean_correct;
      for (int i = 1; i < kPerturbationSteps; ++i) pc.correct[i] += pred[mode * (kPerturbationSteps - 1) + i - 1] == label;
    }
  }
}

}  // namespace

void evaluate_images(const Explainable& model, const std::vector<Image8>& images, const std::vector<int64_t>& labels,
                     const std::vector<std::vector<uint8_t>>& masks, const std::vector<EvalMethod>& methods,
                     bool perturbation, EvalCounts& counts, Fill fill) {
  HATTN_CHECK(!images.empty() && labels.size() == images.size() && masks.size() == images.size(),
              "evaluate_images: ", images.size(), " images, ", labels.size(), " labels, ", masks.size(), " masks");
  const FamilyInfo& f = model.info();
  std::vector<Tensor> inputs;
  for (const Image8& img : images) inputs.push_back(normalize_image(img, f.normalization));
  TraceOptions o;
  o.relevance = std::any_of(methods.begin(), methods.end(), [](const EvalMethod& em) { return em.method == Method::Attr; });
  o.lrp.clear();
  for (const EvalMethod& em : methods)  // MambaLRP's pass once per variant asked for
    if (em.method == Method::Lrp && std::find(o.lrp.begin(), o.lrp.end(), em.variant) == o.lrp.end())
      o.lrp.push_back(em.variant);
  const auto logits_of = [&](const Tensor& batch) { return model.logits(batch); };
  // Explaining each image's predicted class: one traced pass for the batch where the family batches its pass,
  // else one image at a time (so only one image's trace is held).
  const size_t step = f.batched_trace ? images.size() : 1;
  for (size_t b0 = 0; b0 < images.size(); b0 += step) {
    const std::vector<Tensor> chunk(inputs.begin() + b0, inputs.begin() + b0 + step);
    const std::vector<Trace> traces = model.trace(concat(chunk, 0), {}, o);
    for (size_t k = 0; k < step; ++k) {
      const size_t b = b0 + k;
      const auto map_of = [&](const EvalMethod& em) {
        ExplainOptions eo;
        eo.variant = em.variant;
        eo.ablation = em.ablation;
        return explain(traces[k], f, em.method, eo);
      };
      score_image(images[b], labels[b], masks[b], traces[k].target, map_of, logits_of, f.normalization, methods,
                  perturbation, counts, fill, f.layout.patch);
    }
  }
}

Protocol parse_protocol(const std::string& kind) {
  if (kind == "perturbation") return Protocol::Perturbation;
  if (kind == "segmentation") return Protocol::Segmentation;
  if (kind == "accuracy") return Protocol::Accuracy;
  throw InputError(str("unknown protocol '", kind, "' (perturbation, segmentation or accuracy)"));
}

int64_t shard_size(int64_t available, int64_t shard, int64_t shards) {
  return shard < available ? (available - shard - 1) / shards + 1 : 0;  // no overflow, whatever shards is
}

void run_protocol(const Explainable& model, const EvalData& data, Protocol protocol,
                  const std::vector<EvalMethod>& methods, int64_t shard, int64_t shards, int64_t stop, int64_t batch,
                  EvalCounts& counts, const std::function<bool()>& after_batch, Fill fill) {
  const FamilyInfo& f = model.info();
  const int64_t mine = counts.progress.total;
  HATTN_CHECK(batch >= 1 && shards >= 1 && shard >= 0 && shard < shards, "run_protocol: batch ", batch, ", shard ",
              shard, "/", shards);
  if (stop < 0 || stop > mine) stop = mine;
  for (int64_t k0 = counts.progress.done; k0 < stop; k0 += batch) {
    const int64_t k1 = std::min(stop, k0 + batch);
    std::vector<Image8> images;
    std::vector<int64_t> labels;
    std::vector<std::vector<uint8_t>> masks;
    for (int64_t k = k0; k < k1; ++k) {
      EvalItem it = data.item(shard + k * shards);
      images.push_back(std::move(it.image));
      labels.push_back(it.label);
      masks.push_back(protocol == Protocol::Segmentation ? std::move(it.mask) : std::vector<uint8_t>{});
    }
    if (protocol == Protocol::Accuracy) {
      NoGradGuard ng;
      std::vector<Tensor> inputs;
      for (const Image8& img : images) inputs.push_back(normalize_image(img, f.normalization));
      const std::vector<int64_t> pred = argmax(model.logits(concat(inputs, 0)), 1).to_vector<int64_t>();
      for (size_t b = 0; b < images.size(); ++b) {
        ++counts.images;
        counts.labelled += labels[b] >= 0;
        counts.correct += labels[b] >= 0 && pred[b] == labels[b];
      }
    } else {
      evaluate_images(model, images, labels, masks, methods, protocol == Protocol::Perturbation, counts, fill);
    }
    counts.progress.done = k1;
    if (after_batch && !after_batch()) return;
  }
}

namespace {

// Table rows in the canonical order (methods in their declared order, each variant, then the method without a
// variant), then any others.
template <class Map>
std::vector<std::string> row_order(const Map& m) {
  std::vector<std::string> canonical, names;
  for (Method x : {Method::Raw, Method::Rollout, Method::Attr, Method::Unified, Method::Random, Method::Saliency,
                   Method::GradXInput, Method::Gae, Method::Lrp}) {
    for (Variant v : {Variant::Official, Variant::Exact}) canonical.push_back(str(method_name(x), " (", variant_name(v), ")"));
    canonical.push_back(method_name(x));
  }
  for (const std::string& name : canonical)
    if (m.count(name)) names.push_back(name);
  for (const auto& kv : m)
    if (std::find(names.begin(), names.end(), kv.first) == names.end()) names.push_back(kv.first);
  return names;
}

std::string fmt(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void write_text(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& f) { f << text; });
}

std::string curves_svg(const std::map<std::string, PerturbationCounts>& table, const std::string& title) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "pixels removed (%)";
  chart.y_label = "accuracy (%)";
  chart.tenths = true;  // steps 0..9 of 10
  for (const auto& [name, c] : table) {
    const std::vector<double> acc = c.accuracy();
    chart.series.push_back({name, fmt(perturbation_auc(acc), 1), acc});
  }
  return line_chart_svg(chart);
}

}  // namespace

// "attr (official)" -> "attr:official": the results.json key of a method's row
std::string token_of(const std::string& name) {
  const size_t open = name.find(" (");
  if (open == std::string::npos || name.back() != ')') return name;
  return name.substr(0, open) + ":" + name.substr(open + 2, name.size() - open - 3);
}

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string results_json(const EvalCounts& c, const std::string& provenance) {
  std::map<std::string, std::string> json;  // key -> the object's members
  json["accuracy"] = "\"accuracy\": " + json_number(c.labelled ? double(c.correct) / c.labelled : 0) +
                     ", \"images\": " + std::to_string(c.labelled);
  for (const std::string& name : row_order(c.positive)) {
    const double p = perturbation_auc(c.positive.at(name).accuracy()), n = perturbation_auc(c.negative.at(name).accuracy());
    json[token_of(name)] = "\"positive_auc\": " + json_number(p) + ", \"negative_auc\": " + json_number(n) +
                           ", \"images\": " + std::to_string(c.positive.at(name).images);
  }
  for (const std::string& name : row_order(c.segmentation)) {
    const SegmentationCounts& s = c.segmentation.at(name);
    std::string& o = json[token_of(name)];
    o += (o.empty() ? "" : ", ") + std::string("\"pixel_accuracy\": ") + json_number(s.pixel_accuracy()) +
         ", \"miou\": " + json_number(s.miou()) + ", \"map\": " + json_number(s.map()) +
         ", \"mf1\": " + json_number(s.mf1()) + (o.find("\"images\"") == std::string::npos ? ", \"images\": " + std::to_string(s.images) : "");
  }
  std::string js = "{";
  for (const auto& [key, members] : json) js += (js.size() > 1 ? ",\n " : "") + std::string("\"") + key + "\": {" + members + "}";
  if (!provenance.empty()) js += ",\n \"provenance\": " + provenance;
  return js + "}\n";
}

std::string write_reports(const EvalCounts& c, const std::string& dir, const std::string& title,
                          const std::string& provenance) {
  std::string md = "## " + title + "\n\n";
  md += c.labelled ? "Clean accuracy: " + fmt(100.0 * c.correct / c.labelled, 1) + "% on " + std::to_string(c.labelled) +
                         " labelled images.\n\n"
                   : "No class labels: the predicted class is explained (" + std::to_string(c.images) + " images).\n\n";
  if (!c.positive.empty()) {
    md += "| method | positive AUC ↓ | negative AUC ↑ |\n|---|---|---|\n";
    std::string csv = "method,positive_auc,negative_auc,images\n";
    for (const std::string& name : row_order(c.positive)) {
      const PerturbationCounts& pos = c.positive.at(name);
      const double p = perturbation_auc(pos.accuracy()), n = perturbation_auc(c.negative.at(name).accuracy());
      md += "| " + name + " | " + fmt(p) + " | " + fmt(n) + " |\n";
      csv += "\"" + name + "\"," + fmt(p, 4) + "," + fmt(n, 4) + "," + std::to_string(pos.images) + "\n";
    }
    md += "\n";
    write_text(dir + "/perturbation.csv", csv);
    write_text(dir + "/perturbation_positive.svg", curves_svg(c.positive, "Positive perturbation (lower AUC is better)"));
    write_text(dir + "/perturbation_negative.svg", curves_svg(c.negative, "Negative perturbation (higher AUC is better)"));
  }
  if (!c.segmentation.empty()) {
    md += "| method | pixel accuracy | mIoU | mAP | mF1 |\n|---|---|---|---|---|\n";
    std::string csv = "method,pixel_accuracy,miou,map,mf1,images\n";
    for (const std::string& name : row_order(c.segmentation)) {
      const SegmentationCounts& s = c.segmentation.at(name);
      md += "| " + name + " | " + fmt(100 * s.pixel_accuracy()) + " | " + fmt(100 * s.miou()) + " | " +
            fmt(100 * s.map()) + " | " + fmt(100 * s.mf1()) + " |\n";
      csv += "\"" + name + "\"," + fmt(s.pixel_accuracy(), 6) + "," + fmt(s.miou(), 6) + "," + fmt(s.map(), 6) + "," +
             fmt(s.mf1(), 6) + "," + std::to_string(s.images) + "\n";
    }
    write_text(dir + "/segmentation.csv", csv);
  }
  write_text(dir + "/results.md", md);
  write_text(dir + "/results.json", results_json(c, provenance));
  return md;
}

}  // namespace ha::xai
