// The C API (include/hattn.h) over the explanation core: a model is the registry's Explainable plus a mutex;
// every call validates its options like the command line does and computes through the same code, so its numbers
// are the CLI's. Exceptions never cross the boundary: each entry point catches them into a status and this
// thread's last error.
#include "include/hattn.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <thread>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/cluttered.h"
#include "models/eval_data.h"
#include "models/io/image.h"
#include "models/io/isolated.h"
#include "models/load_lm.h"
#include "models/preprocess.h"
#include "models/text/tokenizer.h"
#include "ops/ops.h"
#include "tensor/cuda/cuda_memory.h"
#include "tensor/version.h"
#include "xai/evaluate.h"
#include "xai/explain.h"
#include "xai/registry.h"

struct hattn_model {
  std::string path;
  std::unique_ptr<ha::xai::Explainable> model;
  std::mutex mu;  // one call at a time on this model
  std::atomic<std::thread::id> owner{};  // the thread inside a call (a progress callback may not re-enter)
  std::string methods;  // hattn_model_info::methods
};

namespace {

using namespace ha;

thread_local std::string t_last_error;

// In a host program (python) the reader must be the hattn-reader program: forking a multi-threaded host to decode
// an image is unsafe.
const bool kNoForkInHosts = (allow_fork_fallback(false), true);

struct Cancelled : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs f, turning an exception into a status and this thread's message.
template <class F>
hattn_status guarded(F&& f) {
  try {
    t_last_error.clear();
    f();
    return HATTN_OK;
  } catch (const InputError& e) {
    t_last_error = e.what();
    return HATTN_INPUT_ERROR;
  } catch (const Cancelled& e) {
    t_last_error = e.what();
    return HATTN_CANCELLED;
  } catch (const std::bad_alloc&) {
    t_last_error = "out of memory";
    return HATTN_ERROR;
  } catch (const std::exception& e) {
    t_last_error = e.what();
    return HATTN_ERROR;
  } catch (...) {
    t_last_error = "unknown error";
    return HATTN_ERROR;
  }
}

// "a=1;b=two" -> {a: 1, b: two}, keys with '-' for '_'; only `allowed` keys.
std::map<std::string, std::string> parse_options(const char* text, const std::set<std::string>& allowed) {
  std::map<std::string, std::string> out;
  if (!text) return out;
  const std::string s = text;
  for (size_t at = 0; at < s.size();) {
    const size_t end = std::min(s.find(';', at), s.size());
    const std::string item = s.substr(at, end - at);
    at = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    HATTN_CHECK_INPUT(eq != std::string::npos && eq > 0, "option '", item, "' is not key=value");
    std::string key = item.substr(0, eq);
    for (char& c : key)
      if (c == '_') c = '-';
    if (!allowed.count(key)) {
      std::string names;
      for (const std::string& a : allowed) names += (names.empty() ? "" : ", ") + a;
      throw InputError(str("unknown option '", item.substr(0, eq), "' here (this call takes: ", names, ")"));
    }
    HATTN_CHECK_INPUT(!out.count(key), "option '", key, "' given twice");
    out[key] = item.substr(eq + 1);
  }
  return out;
}


// aggregate, discard, clamp: the paper's ablations of rollout and attr, where the family has hidden attention.
xai::Ablation ablation_of(const std::map<std::string, std::string>& o, const xai::FamilyInfo& f) {
  for (const char* name : {"aggregate", "discard", "clamp"})
    HATTN_CHECK_INPUT(!o.count(name) || f.takes(name), "option ", name, " does not apply to a ", f.name, " model");
  return xai::parse_ablation(o);
}

hattn_array* make_array(const Tensor& t) {
  const Tensor c = t.to(Device::cpu()).to(DType::F32).contiguous();
  HATTN_CHECK(c.dim() >= 1 && c.dim() <= 4, "a result of ", c.dim(), " dimensions");
  auto a = std::make_unique<hattn_array>();
  a->ndim = static_cast<int32_t>(c.dim());
  for (int64_t d = 0; d < c.dim(); ++d) a->shape[d] = c.size(d);
  a->data = new float[c.numel()];
  std::memcpy(a->data, c.data<float>(), sizeof(float) * c.numel());
  return a.release();
}

// One call at a time on a model, on its device (the thread's current CUDA device is per thread).
struct ModelCall {
  explicit ModelCall(hattn_model* m) : model(m), lock(enter(m)) {
    m->owner.store(std::this_thread::get_id());
    const Device d = m->model->device();
    if (d.is_cuda()) cuda::set_device(d.index);
  }
  ~ModelCall() { model->owner.store(std::thread::id()); }
  static std::mutex& enter(hattn_model* m) {
    HATTN_CHECK_INPUT(m->owner.load() != std::this_thread::get_id(),
                      "this model is in a call on this thread already (a progress callback may not use its model)");
    return m->mu;
  }
  hattn_model* model;
  std::lock_guard<std::mutex> lock;
};

const xai::FamilyInfo& image_family(const hattn_model* m) {
  const xai::FamilyInfo& f = m->model->info();
  HATTN_CHECK_INPUT(f.modality == xai::Modality::Image, "'", m->path, "' is a ", f.name,
                    ": use the language-model calls (hattn_lm_logits, hattn_lm_explain)");
  return f;
}

const xai::FamilyInfo& text_family(const hattn_model* m) {
  const xai::FamilyInfo& f = m->model->info();
  HATTN_CHECK_INPUT(f.modality == xai::Modality::Tokens, "'", m->path, "' is a ", f.name,
                    ": use the image calls (hattn_classify, hattn_explain, hattn_attention)");
  return f;
}

// The normalised input (1, 3, n, n) of an image, preprocessed as the command line does.
Tensor image_input(const xai::FamilyInfo& f, const hattn_image* image, const std::map<std::string, std::string>& o) {
  HATTN_CHECK_INPUT(image != nullptr, "no image");
  HATTN_CHECK_INPUT((image->path != nullptr) != (image->rgb != nullptr), "an image is a path or pixels, exactly one");
  Image8 raw;
  if (image->path) {
    raw = load_image(image->path);
  } else {
    HATTN_CHECK_INPUT(image->height > 0 && image->width > 0 && image->height <= 1 << 16 && image->width <= 1 << 16,
                      "image of ", image->height, "x", image->width, " pixels");
    raw.height = image->height;
    raw.width = image->width;
    raw.rgb.assign(image->rgb, image->rgb + image->height * image->width * 3);
  }
  const auto it = o.find("preprocess");
  const Preprocess mode = parse_preprocess(it == o.end() ? "crop" : it->second);
  return normalize_image(preprocess_image(raw, f.img_size, mode), f.normalization);
}

Tensor ids_input(const int64_t* ids, int64_t n) {
  HATTN_CHECK_INPUT(ids != nullptr && n > 0, "no token ids");
  return Tensor::from_vector(std::vector<int64_t>(ids, ids + n), {1, n});
}

}  // namespace

extern "C" {

const char* hattn_version(void) { return ha::version(); }
int hattn_api_version(void) { return HATTN_API_VERSION; }
const char* hattn_last_error(void) { return t_last_error.c_str(); }

hattn_status hattn_open(const char* path, const char* options, hattn_model** model) {
  return guarded([&] {
    HATTN_CHECK_INPUT(path != nullptr && model != nullptr, "hattn_open: no path or no place for the model");
    *model = nullptr;
    std::set<std::string> allowed = {"device"};
    for (const xai::FamilyEntry& f : xai::families())
      for (const xai::LoadOption& o : f.load_options) allowed.insert(o.name);
    std::map<std::string, std::string> o = parse_options(options, allowed);
    xai::LoadOptions lo;
    if (o.count("device")) lo.device = parse_device(o.at("device"));
    o.erase("device");
    lo.values = o;
    auto m = std::make_unique<hattn_model>();
    m->path = path;
    m->model = xai::load(path, lo);
    for (const xai::MethodSpec& s : m->model->info().methods) {
      if (s.variants.empty()) m->methods += (m->methods.empty() ? "" : ",") + std::string(xai::method_name(s.method));
      for (xai::Variant v : s.variants)
        m->methods += str(m->methods.empty() ? "" : ",", xai::method_name(s.method), ":", xai::variant_name(v));
    }
    *model = m.release();
  });
}

void hattn_close(hattn_model* model) { delete model; }

hattn_status hattn_model_get_info(const hattn_model* model, hattn_model_info* info) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && info != nullptr, "hattn_model_get_info: no model or no info");
    const xai::FamilyInfo& f = model->model->info();
    info->family = f.key.c_str();
    info->name = f.name.c_str();
    info->describe = f.describe.c_str();
    info->is_text = f.modality == xai::Modality::Tokens;
    info->layers = f.layers;
    info->tokens = f.tokens;
    info->img_size = f.img_size;
    info->num_classes = f.num_classes;
    info->vocab = f.vocab;
    info->methods = model->methods.c_str();
  });
}

void hattn_array_free(hattn_array* array) {
  if (!array) return;
  delete[] array->data;
  delete array;
}

void hattn_ids_free(int64_t* ids) { delete[] ids; }

hattn_status hattn_classify(hattn_model* model, const hattn_image* image, const char* options, hattn_array** logits) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && logits != nullptr, "hattn_classify: no model or no place for the result");
    *logits = nullptr;
    const ModelCall call(model);
    const xai::FamilyInfo& f = image_family(model);
    const auto o = parse_options(options, {"preprocess"});
    *logits = make_array(model->model->logits(image_input(f, image, o)).select(0, 0));
  });
}

hattn_status hattn_explain(hattn_model* model, const hattn_image* image, const char* options, hattn_array** map) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && map != nullptr, "hattn_explain: no model or no place for the result");
    *map = nullptr;
    const ModelCall call(model);
    const xai::FamilyInfo& f = image_family(model);
    const auto o = parse_options(options, {"method", "variant", "start-layer", "class", "query", "seed", "preprocess",
                                           "aggregate", "discard", "clamp"});
    HATTN_CHECK_INPUT(!f.methods.empty(), f.not_explainable);
    for (const char* name : {"variant", "query"})
      HATTN_CHECK_INPUT(!o.count(name) || f.takes(name), "option ", name, " does not apply to a ", f.name, " model");
    const xai::Method method = xai::parse_method(o.count("method") ? o.at("method") : "attr");
    xai::ExplainOptions eo;
    if (o.count("variant")) eo.variant = xai::parse_variant(o.at("variant"));
    xai::resolve_variant(f, method, eo.variant);
    eo.start_layer = xai::option_int(o, "start-layer", -1);
    HATTN_CHECK_INPUT(!o.count("start-layer") || (eo.start_layer >= 0 && eo.start_layer < f.layers), "start_layer ",
                      eo.start_layer, " is outside [0, ", f.layers, ")");
    eo.seed = static_cast<uint64_t>(xai::option_int(o, "seed", 0));
    eo.ablation = ablation_of(o, f);
    eo.query = xai::option_int(o, "query", -1);
    HATTN_CHECK_INPUT(!o.count("query") || (eo.query >= 0 && eo.query < f.tokens), "query ", eo.query,
                      " is outside the ", f.tokens, " tokens");
    const int64_t target = xai::option_int(o, "class", -1);
    HATTN_CHECK_INPUT(!o.count("class") || (target >= 0 && target < f.num_classes), "class ", target,
                      " is outside [0, ", f.num_classes, ")");
    xai::TraceOptions to = xai::trace_options(f, {method}, eo.variant);
    to.gradients = true;
    const xai::Trace t = std::move(model->model->trace(image_input(f, image, o), {{target}}, to)[0]);
    *map = make_array(xai::explain(t, f, method, eo));
  });
}

hattn_status hattn_attention(hattn_model* model, const hattn_image* image, int64_t layer, const char* options,
                             hattn_array** matrices) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && matrices != nullptr, "hattn_attention: no model or no place for the result");
    *matrices = nullptr;
    const ModelCall call(model);
    const xai::FamilyInfo& f = image_family(model);
    const auto o = parse_options(options, {"direction", "channels", "preprocess"});
    for (const char* name : {"direction", "channels"})
      HATTN_CHECK_INPUT(!o.count(name) || f.takes(name), "option ", name, " does not apply to a ", f.name, " model");
    HATTN_CHECK_INPUT(layer >= 0 && layer < f.layers, "layer ", layer, " is outside [0, ", f.layers, ")");
    const std::string part = o.count("direction") ? o.at("direction") : f.directions.empty() ? "" : f.directions.back();
    HATTN_CHECK_INPUT(part.empty() || std::find(f.directions.begin(), f.directions.end(), part) != f.directions.end(),
                      "unknown direction '", part, "'");
    int64_t c0 = 0, c1 = f.mixer_units;
    if (o.count("channels")) {
      const std::string& s = o.at("channels");
      const size_t colon = s.find(':');
      HATTN_CHECK_INPUT(colon != std::string::npos, "channels expects A:B, got '", s, "'");
      c0 = xai::option_int({{"channels", s.substr(0, colon)}}, "channels", 0);
      c1 = xai::option_int({{"channels", s.substr(colon + 1)}}, "channels", 0);
      HATTN_CHECK_INPUT(0 <= c0 && c0 < c1 && c1 <= f.mixer_units, "channels ", s, " must satisfy 0 <= A < B <= ",
                        f.mixer_units);
    }
    const xai::TraceOptions forward_only = xai::TraceOptions::forward_only();
    const xai::Trace t = std::move(model->model->trace(image_input(f, image, o), {}, forward_only)[0]);
    *matrices = make_array(t.mixers[layer]->matrices(c0, c1, part));
  });
}

hattn_status hattn_evaluate(hattn_model* model, const char* protocol, const char* options, hattn_progress progress,
                            void* user_data, char** results_json) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && protocol != nullptr && results_json != nullptr,
                      "hattn_evaluate: a model, a protocol and a place for the results are needed");
    *results_json = nullptr;
    const ModelCall call(model);
    const xai::FamilyInfo& f = image_family(model);
    const auto o = parse_options(options, {"data", "images", "labels", "synsets", "mat", "preprocess", "methods",
                                           "limit", "batch", "shard", "aggregate", "discard", "clamp", "perturb"});
    auto get = [&](const char* key, const std::string& fallback) { return o.count(key) ? o.at(key) : fallback; };
    const xai::Protocol p = xai::parse_protocol(protocol);
    std::vector<xai::EvalMethod> methods =
        p == xai::Protocol::Accuracy ? std::vector<xai::EvalMethod>{} : xai::parse_eval_methods(f, get("methods", "all"));
    const xai::Ablation ablation = ablation_of(o, f);
    for (xai::EvalMethod& m : methods) m.ablation = ablation;
    int64_t shard = 0, shards = 1;
    if (o.count("shard")) {
      const std::string& s = o.at("shard");
      const size_t slash = s.find('/');
      HATTN_CHECK_INPUT(slash != std::string::npos, "shard expects i/n, got '", s, "'");
      shard = xai::option_int({{"shard", s.substr(0, slash)}}, "shard", 0);
      shards = xai::option_int({{"shard", s.substr(slash + 1)}}, "shard", 0);
      HATTN_CHECK_INPUT(shards >= 1 && shard >= 0 && shard < shards, "shard expects i/n with 0 <= i < n, got '", s, "'");
    }
    EvalDataSpec spec;
    spec.cluttered_dir = get("data", ClutteredFashion::default_dir());
    spec.images = get("images", "");
    spec.labels = get("labels", "");
    spec.synsets = get("synsets", "");
    spec.mat = get("mat", "");
    spec.preprocess = parse_preprocess(get("preprocess", "squash"));
    spec.segmentation = p == xai::Protocol::Segmentation;
    spec.input_size = f.img_size;
    const EvalData data(spec);
    HATTN_CHECK_INPUT(data.size() > 0, "the data set holds no images");
    const int64_t limit = xai::option_int(o, "limit", data.is_cluttered() ? 1000 : data.size());
    const int64_t batch = xai::option_int(o, "batch", 1);
    HATTN_CHECK_INPUT(limit > 0 && batch > 0, "limit and batch must be positive");
    xai::EvalCounts counts;
    counts.progress.total = xai::shard_size(std::min(limit, data.size()), shard, shards);
    bool stopped = false;
    const xai::Fill fill = xai::parse_fill(get("perturb", "black"));
    HATTN_CHECK_INPUT(fill == xai::Fill::Black || p == xai::Protocol::Perturbation, "perturb applies to the ",
                      "perturbation protocol");
    xai::run_protocol(*model->model, data, p, methods, shard, shards, -1, batch, counts, [&] {
      stopped = progress && progress(counts.progress.done, counts.progress.total, user_data) != 0;
      return !stopped;
    }, fill);
    if (stopped)
      throw Cancelled(str("hattn_evaluate: cancelled after ", counts.progress.done, " of ", counts.progress.total,
                          " images"));
    const std::string js = xai::results_json(counts);
    *results_json = new char[js.size() + 1];
    std::memcpy(*results_json, js.c_str(), js.size() + 1);
  });
}

void hattn_string_free(char* text) { delete[] text; }

hattn_status hattn_lm_logits(hattn_model* model, const int64_t* ids, int64_t n, hattn_array** logits) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && logits != nullptr, "hattn_lm_logits: no model or no place for the result");
    *logits = nullptr;
    const ModelCall call(model);
    text_family(model);
    *logits = make_array(model->model->logits(ids_input(ids, n)));
  });
}

hattn_status hattn_lm_explain(hattn_model* model, const int64_t* ids, int64_t n, const char* options,
                              hattn_array** relevance) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && relevance != nullptr, "hattn_lm_explain: no model or no place for the result");
    *relevance = nullptr;
    const ModelCall call(model);
    const xai::FamilyInfo& f = text_family(model);
    const auto o = parse_options(options, {"method", "query", "target", "start-layer", "seed", "aggregate", "discard",
                                           "clamp"});
    const xai::Method method = xai::parse_method(o.count("method") ? o.at("method") : "attr");
    xai::resolve_variant(f, method, std::nullopt);
    const int64_t query = xai::option_int(o, "query", -1), target = xai::option_int(o, "target", -1);
    HATTN_CHECK_INPUT(!o.count("query") || (query >= 0 && query < n), "query ", query, " is outside [0, ", n, ")");
    HATTN_CHECK_INPUT(!o.count("target") || target >= 0, "target must be a token id >= 0");
    xai::ExplainOptions eo;
    eo.start_layer = xai::option_int(o, "start-layer", -1);
    HATTN_CHECK_INPUT(!o.count("start-layer") || (eo.start_layer >= 0 && eo.start_layer < f.layers), "start_layer ",
                      eo.start_layer, " is outside [0, ", f.layers, ")");
    eo.seed = static_cast<uint64_t>(xai::option_int(o, "seed", 0));
    eo.ablation = ablation_of(o, f);
    const xai::TraceOptions to = xai::trace_options(f, {method});  // each pass only where the method reads it
    const xai::Trace t = std::move(model->model->trace(ids_input(ids, n), {{target, query}}, to)[0]);
    *relevance = make_array(xai::explain(t, f, method, eo));
  });
}

hattn_status hattn_tokenize(hattn_model* model, const char* text, const char* options, int64_t** ids, int64_t* n) {
  return guarded([&] {
    HATTN_CHECK_INPUT(model != nullptr && text != nullptr && ids != nullptr && n != nullptr,
                      "hattn_tokenize: a model, a text and places for the ids are needed");
    *ids = nullptr;
    *n = 0;
    const ModelCall call(model);
    text_family(model);
    const auto o = parse_options(options, {"tokenizer"});
    const std::string folder = find_lm_files(model->path).folder;
    const std::string path = o.count("tokenizer") ? o.at("tokenizer") : text::tokenizer_in_folder(folder);
    std::error_code ec;
    HATTN_CHECK_INPUT(!path.empty() && std::filesystem::exists(path, ec), "text needs a tokenizer: ",
                      path.empty() ? "'" + folder + "' has no tokenizer.json or vocab.txt" : "'" + path + "' does not exist",
                      " (pass tokenizer=PATH)");
    const std::vector<int64_t> v = text::load_tokenizer(path)->encode(text);
    HATTN_CHECK_INPUT(!v.empty(), "the text gives no tokens");
    *ids = new int64_t[v.size()];
    std::copy(v.begin(), v.end(), *ids);
    *n = static_cast<int64_t>(v.size());
  });
}

}  // extern "C"
