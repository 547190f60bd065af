// hattn lm: Mamba-1 / Mamba-2 language models (docs/definitions.md §9): logits of a token sequence and greedy
// generation with the recurrent step. Models are folders in the state-spaces or Hugging Face layout.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "apps/common.h"
#include "models/lm_generate.h"
#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/gpt_neox_generate.h"
#include "models/load_bert.h"
#include "models/load_gpt_neox.h"
#include "models/load_lm.h"
#include "models/text/tokenizer.h"
#include "tensor/atomic_write.h"
#include "tensor/cuda/cuda_memory.h"
#include "tensor/npy.h"
#include "xai/explain.h"
#include "xai/render.h"
#include "xai/token_heatmap.h"

namespace ha::app {
namespace {

std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  for (const std::string& item : split_list(text)) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0) throw UsageError("--ids: '" + item + "' is not a token id");
    ids.push_back(v);
  }
  if (ids.empty()) throw UsageError("--ids: no token ids");
  return ids;
}

void check_ids(const std::vector<int64_t>& ids, const LmConfig& c) {
  for (size_t i = 0; i < ids.size(); ++i)
    HATTN_CHECK_INPUT(ids[i] < c.vocab, "input token ", ids[i], " at position ", i, " is outside the model's ",
                      c.vocab, "-row vocabulary");
}

}  // namespace

std::unique_ptr<MambaLM> load_lm_model(const Args& args) {
  const Device dev = args.has("device") ? requested_device(args) : Device::cpu();  // a bad device fails first
  std::string how;
  auto model = load_lm(args.get("model"), &how);
  std::fprintf(stderr, "%s\n", model->config().describe().c_str());
  if (!how.empty()) std::fprintf(stderr, "%s\n", how.c_str());
  if (dev.is_cuda()) nn::move_parameters(*model, dev);
  return model;
}

std::unique_ptr<xai::Explainable> load_language_model(const Args& args) {
  xai::LoadOptions o;
  o.device = args.has("device") ? requested_device(args) : Device::cpu();  // a bad device fails first
  auto model = xai::load(args.get("model"), o);
  const xai::FamilyInfo& f = model->info();
  if (f.modality != xai::Modality::Tokens)
    throw UsageError(str("'", args.get("model"), "' is a ", f.name, " checkpoint, not a language model: use hattn ",
                         "explain, attention, ... (hattn --help)"));
  std::fprintf(stderr, "%s\n", f.describe.c_str());
  return model;
}

namespace {

// --target: a token id for a language model; a class index or label for a classifier.
int64_t parse_target(const std::string& v, const xai::FamilyInfo& f) {
  if (f.classifies_tokens()) {
    for (size_t k = 0; k < f.class_names.size(); ++k)
      if (f.class_names[k] == v) return static_cast<int64_t>(k);
  }
  size_t used = 0;
  long long k = -1;
  try {
    k = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || k < 0)
    throw UsageError(str("--target '", v, "' is not ", f.classifies_tokens() ? "a class index or label" : "a token id"));
  if (f.classifies_tokens() && k >= f.num_classes)
    throw UsageError(str("--target ", k, " is outside the ", f.num_classes, " classes"));
  return k;
}

// What a text classifier cannot do (lm logits, generate): one line, exit 2.
void refuse_classifier(const std::string& path, const std::string& name, const char* command) {
  throw UsageError(str("'", path, "' is a ", name, ": it predicts classes, not next tokens, so it has no ", command,
                       " (use hattn lm classify, or lm explain --target CLASS)"));
}

std::unique_ptr<xai::Explainable> load_next_token_model(const Args& args, const char* command) {
  std::unique_ptr<xai::Explainable> model = load_language_model(args);
  if (model->info().classifies_tokens()) refuse_classifier(args.get("model"), model->info().name, command);
  return model;
}

// --tokenizer F, else tokenizer.json (or BERT's vocab.txt) beside the model (when there is a model); null when
// neither exists and `required` is false.
std::unique_ptr<text::Tokenizer> find_tokenizer(const Args& args, bool required) {
  std::string path;
  if (args.has("tokenizer")) {
    path = args.get("tokenizer");
  } else if (args.has("model")) {
    path = text::tokenizer_in_folder(find_lm_files(args.get("model")).folder);
  }
  if (path.empty()) {
    if (required)
      throw UsageError("text needs a tokenizer: pass --tokenizer tokenizer.json (none was found beside the model)");
    return nullptr;
  }
  return text::load_tokenizer(path);
}

std::string read_text_file(const std::string& path) {
  if (path != "-") return read_whole_file(path, size_t(1) << 30, "text file");
  std::ostringstream ss;
  ss << std::cin.rdbuf();
  return ss.str();
}

// The token ids from --ids, --text or --text-file (exactly one).
std::vector<int64_t> input_ids(const Args& args) {
  const int given = args.has("ids") + args.has("text") + args.has("text-file");
  if (given != 1) throw UsageError("give the input as exactly one of --ids, --text or --text-file");
  if (args.has("ids")) return parse_ids(args.get("ids"));
  const std::string t = args.has("text") ? args.get("text") : read_text_file(args.get("text-file"));
  const std::unique_ptr<text::Tokenizer> tk = find_tokenizer(args, true);
  std::vector<int64_t> pieces = tk->encode_pieces(t);
  if (args.has("max-tokens")) {  // the text's first tokens, inside the tokenizer's specials (BERT: [CLS] … [SEP])
    const int64_t max = args.get_int("max-tokens");
    const int64_t specials = static_cast<int64_t>(tk->with_special_tokens({}).size());
    if (max <= specials) throw UsageError(str("--max-tokens must be > ", specials, " (the special tokens)"));
    if (static_cast<int64_t>(pieces.size()) > max - specials) pieces.resize(max - specials);
  }
  const std::vector<int64_t> ids = tk->with_special_tokens(pieces);
  if (ids.empty()) throw UsageError("the text gives no tokens");
  return ids;
}

void add_input_options(Args& args) {
  args.option("ids", "", "comma-separated token ids, e.g. 510,4060,8576")
      .option("text", "", "input text (tokenized with --tokenizer)")
      .option("text-file", "", "input text from a file, or - for stdin")
      .option("tokenizer", "", "a Hugging Face tokenizer.json or BERT's vocab.txt (default: the one beside the model)")
      .option("max-tokens", "", "text: keep its first N tokens, special tokens included (default: all)");
}

void add_model_options(Args& args) {
  args.option("model", "", "model folder (config.json + model.safetensors, its shards, or pytorch_model.bin), or its "
                           "weights file", true);
  args.option("device", "cpu", "where the model runs: cpu | cuda | cuda:N");
  add_input_options(args);
}

// What a token looks like to a person: its decoded text, or its vocabulary string when it is a fragment of a
// character (the decoded text would be U+FFFD).
std::string display_token(const std::unique_ptr<text::Tokenizer>& tk, int64_t id) {
  if (!tk || id >= tk->vocab_size()) return std::to_string(id);
  const std::string s = tk->decode({id});
  return s.find("\xEF\xBF\xBD") == std::string::npos ? s : tk->token(id);
}

int run_lm_logits(int argc, char** argv) {
  Args args("lm logits", "Logits of a language model (Mamba-1, Mamba-2, GPT-NeoX) at every position of a token sequence.");
  add_model_options(args);
  args.option("logits-npy", "", "write the logits as float32 [T, V] (V = the checkpoint's rows)")
      .option("topk", "5", "next-token candidates printed for the last position");
  if (!args.parse(argc, argv)) return 0;
  const std::vector<int64_t> ids = input_ids(args);
  const int64_t k = args.get_int("topk");
  if (k < 1) throw UsageError("--topk must be >= 1");
  const std::unique_ptr<xai::Explainable> model = load_next_token_model(args, "next-token logits");
  const int64_t T = static_cast<int64_t>(ids.size()), V = model->info().vocab;
  const Tensor logits = model->logits(Tensor::from_vector(ids, {1, T}));  // (T, V); the family checks the ids
  if (args.has("logits-npy")) save_npy(args.get("logits-npy"), logits);
  const std::vector<float> last = logits.select(0, T - 1).contiguous().to_vector<float>();
  std::vector<int64_t> order(V);
  for (int64_t i = 0; i < V; ++i) order[i] = i;
  std::partial_sort(order.begin(), order.begin() + std::min(k, V), order.end(),
                    [&](int64_t a, int64_t b) { return last[a] > last[b] || (last[a] == last[b] && a < b); });
  const std::unique_ptr<text::Tokenizer> tk = find_tokenizer(args, false);
  std::printf("rank  token      logit  text   (next token after position %lld)\n", static_cast<long long>(T - 1));
  for (int64_t i = 0; i < std::min(k, V); ++i)
    std::printf("%4lld  %5lld  %9.4f  %s\n", static_cast<long long>(i + 1), static_cast<long long>(order[i]),
                last[order[i]], tk ? json::quote(display_token(tk, order[i])).c_str() : "");
  return 0;
}

int run_lm_generate(int argc, char** argv) {
  Args args("lm generate", "Continuation of a token sequence, greedy or sampled: the prompt in one parallel pass, "
            "then one step per new token (Mamba: the recurrent state, on a GPU as tensor ops, on the CPU as a host "
            "loop; GPT-NeoX: attention to the cached keys and values).");
  add_model_options(args);
  args.option("max-new-tokens", "32", "tokens to generate")
      .option("stop", "", "stop after generating this token id (e.g. the end-of-text id)")
      .option("temperature", "0", "0: greedy (the argmax); else sample from softmax(logits / temperature)")
      .option("top-k", "0", "sampling: only the K most likely tokens (0: all)")
      .option("top-p", "1", "sampling: only the most likely tokens whose probability reaches P (nucleus)")
      .option("seed", "0", "sampling: the seed (equal seeds, equal continuations)");
  if (!args.parse(argc, argv)) return 0;
  const std::vector<int64_t> ids = input_ids(args);
  const int64_t n = args.get_int("max-new-tokens");
  if (n < 0) throw UsageError("--max-new-tokens must be >= 0");
  const int64_t stop = args.has("stop") ? args.get_int("stop") : -1;
  Sampling sampling;
  auto number = [&](const char* name) {
    const std::string v = args.get(name);
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != v.size() || !std::isfinite(x)) throw UsageError(str("--", name, ": '", v, "' is not a number"));
    return x;
  };
  sampling.temperature = number("temperature");
  sampling.top_k = args.get_int("top-k");
  sampling.top_p = number("top-p");
  sampling.seed = static_cast<uint64_t>(args.get_int("seed"));
  if (sampling.temperature < 0) throw UsageError("--temperature must be >= 0");
  if (sampling.top_k < 0) throw UsageError("--top-k must be >= 0");
  if (!(sampling.top_p > 0 && sampling.top_p <= 1)) throw UsageError("--top-p must be in (0, 1]");
  // the family's stepper: Mamba's recurrent step, or GPT-NeoX's keys and values
  std::unique_ptr<MambaLM> mamba;
  std::unique_ptr<GptNeox> neox;
  std::unique_ptr<TokenStepper> stepper;
  if (looks_like_bert(args.get("model"))) refuse_classifier(args.get("model"), "BERT classifier", "generation");
  if (looks_like_gpt_neox(args.get("model"))) {
    const Device dev = args.has("device") ? requested_device(args) : Device::cpu();
    neox = load_gpt_neox(args.get("model"));
    std::fprintf(stderr, "%s\n", neox->config().describe().c_str());
    if (neox->config().labels > 0) refuse_classifier(args.get("model"), "GPT-NeoX classifier", "generation");
    if (dev.is_cuda()) nn::move_parameters(*neox, dev);
    for (size_t i = 0; i < ids.size(); ++i)
      HATTN_CHECK_INPUT(ids[i] < neox->config().vocab, "input token ", ids[i], " at position ", i,
                        " is outside the model's ", neox->config().vocab, "-row vocabulary");
    stepper = std::make_unique<GptNeoxStepper>(*neox);
  } else {
    mamba = load_lm_model(args);
    if (mamba->config().labels > 0) refuse_classifier(args.get("model"), "Mamba classifier", "generation");
    check_ids(ids, mamba->config());
    stepper = std::make_unique<LmStepper>(*mamba);
  }
  const std::unique_ptr<text::Tokenizer> tk = find_tokenizer(args, false);
  // Text is printed as it becomes whole characters (a token may end inside one); ids when there is no tokenizer.
  std::vector<int64_t> generated;
  size_t printed = 0;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  Clock::time_point first, last;
  generate(*stepper, ids, n, stop, sampling, [&](int64_t t) {
    last = Clock::now();
    if (generated.empty()) first = last;  // the prompt has been read: one step per prompt token
    generated.push_back(t);
    if (!tk) {
      std::printf("%s%lld", generated.size() == 1 ? "" : ",", static_cast<long long>(t));
    } else if (t < tk->vocab_size()) {
      const std::string s = tk->decode(generated);
      if (s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0) return;  // wait for the rest
      std::printf("%s", s.substr(std::min(printed, s.size())).c_str());
      printed = s.size();
    }
    std::fflush(stdout);
  });
  if (tk) {
    std::vector<int64_t> known;
    for (int64_t t : generated)
      if (t < tk->vocab_size()) known.push_back(t);
    const std::string s = tk->decode(known);
    if (printed < s.size()) std::printf("%s", s.substr(printed).c_str());
  }
  std::printf("\n");
  if (!generated.empty()) {
    const double prompt_s = std::chrono::duration<double>(first - t0).count();
    const double gen_s = std::chrono::duration<double>(last - first).count();
    const size_t steps = generated.size() - 1;  // the first new token comes from the prompt's last step
    std::fprintf(stderr, "lm generate: prompt of %zu tokens in %.3f s (%.1f tokens/s); %zu more tokens in %.3f s "
                 "(%.1f tokens/s)\n", ids.size(), prompt_s, ids.size() / std::max(prompt_s, 1e-9), steps, gen_s,
                 steps / std::max(gen_s, 1e-9));
  }
  return 0;
}

int run_lm_attention(int argc, char** argv) {
  Args args("lm attention", "One layer's attention matrices: hidden attention per channel (Mamba-1) or per head "
            "(Mamba-2), softmax attention per head (GPT-NeoX, BERT).");
  add_model_options(args);
  args.option("layer", "", "layer index, 0-based", true)
      .option("channels", "", "half-open range A:B of channels (Mamba-1) or heads (Mamba-2) (default: all)")
      .option("first-k", "0", "picture only: crop the matrices to the first K tokens (0: all)")
      .flag("mean", "write only the channels' (heads') mean, attn_l<l>[_<direction>]_mean.npy float32 [1, L, L]")
      .option("out", "out/lm_attention", "output folder");
  if (!args.parse(argc, argv)) return 0;
  const std::vector<int64_t> ids = input_ids(args);
  const int64_t first_k = args.get_int("first-k");
  if (first_k < 0) throw UsageError("--first-k must be >= 0");
  const std::unique_ptr<xai::Explainable> model = load_language_model(args);
  const xai::FamilyInfo& f = model->info();
  const int64_t layer = args.get_int("layer");
  if (layer < 0 || layer >= f.layers) throw UsageError(str("--layer ", layer, " is outside [0, ", f.layers, ")"));
  const int64_t T = static_cast<int64_t>(ids.size());
  const auto [a, b] = channel_range(args, f.mixer_units);
  const double gib = double(b - a) * T * T * 4 / (1 << 30);
  if (gib > 8 && !args.has("mean"))
    throw UsageError(str("--channels ", a, ":", b, " would write ", gib, " GiB; choose fewer, or --mean"));
  const xai::TraceOptions forward_only = xai::TraceOptions::forward_only();
  const xai::Trace trace = std::move(model->trace(Tensor::from_vector(ids, {1, T}), {}, forward_only)[0]);
  write_attention(*model, trace, layer, "", a, b, first_k, args.get("out"), args.has("mean"));
  return 0;
}

int run_lm_explain(int argc, char** argv) {
  Args args("lm explain", "Which tokens a prediction rests on, as per-token maps: a language model's next token at a "
            "query position, or a text classifier's class.");
  add_model_options(args);
  args.option("method", "all", "raw | rollout | attr | unified (Mamba-1) | lrp (MambaLRP) | gae (transformers) | "
                               "random | saliency | gradxinput | all, or a comma list")
      .option("query", "", "position whose next-token prediction is explained (default: the last; BERT: [CLS], fixed)")
      .option("target", "", "token id explained (default: the argmax at the query); a classifier: a class index or "
                            "label")
      .option("start-layer", "", "first layer aggregated (default: floor(15 * layers / 24))")
      .option("seed", "0", "seed of the random baseline")
      .option("out", "out/lm_explain", "output folder: <method>.npy float32 [T], <method>.html and .png");
  add_ablation_options(args);
  if (!args.parse(argc, argv)) return 0;
  const std::vector<int64_t> ids = input_ids(args);
  const int64_t T = static_cast<int64_t>(ids.size());
  const std::unique_ptr<xai::Explainable> model = load_language_model(args);
  const xai::FamilyInfo& f = model->info();
  const bool classifier = f.classifies_tokens();
  // a classifier's query is fixed where it has one (BERT: [CLS] = 0); a language model's defaults to the last token
  const int64_t fixed = classifier && f.default_query >= 0 && !f.takes("query") ? f.default_query : -1;
  const int64_t query = args.has("query") ? args.get_int("query") : fixed >= 0 ? fixed : T - 1;
  if (query < 0 || query >= T) throw UsageError(str("--query ", query, " is outside [0, ", T, ")"));
  if (fixed >= 0 && query != fixed)
    throw UsageError(str("--query: a ", f.name, " reads the row of token ", fixed, " (", fixed == 0 ? "[CLS]" : "fixed",
                         "), not ", query));
  const int64_t target = args.has("target") ? parse_target(args.get("target"), f) : -1;
  std::vector<xai::Method> methods;
  const std::string list = args.get("method");
  if (list == "all") {
    for (const xai::MethodSpec& spec : f.methods) methods.push_back(spec.method);
  } else {
    for (const std::string& m : split_list(list)) methods.push_back(xai::parse_method(m));
  }
  for (xai::Method m : methods) xai::resolve_variant(f, m, std::nullopt);  // refuses what the family lacks, up front
  xai::ExplainOptions opt;
  if (args.has("start-layer")) opt.start_layer = args.get_int("start-layer");
  opt.seed = static_cast<uint64_t>(args.get_int("seed"));
  check_family_options(args, f, {"aggregate", "discard", "clamp"});
  opt.ablation = ablation_options(args);
  const xai::TraceOptions to = xai::trace_options(f, methods);  // each pass only where a method reads it
  const xai::Trace ctx = std::move(model->trace(Tensor::from_vector(ids, {1, T}), {{target, query}}, to)[0]);
  const std::string folder = args.get("out");
  make_output_dir(folder);
  const std::unique_ptr<text::Tokenizer> tk = find_tokenizer(args, false);
  std::vector<std::string> tokens;
  for (int64_t id : ids) tokens.push_back(display_token(tk, id));
  for (xai::Method m : methods) {
    const Tensor v = xai::explain(ctx, f, m, opt);
    const std::string base = folder + "/" + xai::method_name(m);
    save_npy(base + ".npy", v);
    const std::string what =
        classifier ? str("class ", ctx.target, " ", json::quote(f.class_names.at(ctx.target)), " (read at position ",
                         ctx.query, ")")
                   : str("prediction of token ", ctx.target,
                         tk ? " " + json::quote(display_token(tk, ctx.target)) : std::string(), " after position ",
                         ctx.query);
    xai::TokenHeat heat{tokens, v.to_vector<float>(), ctx.query, str(xai::method_name(m), ": ", what)};
    write_file_atomically(base + ".html", [&](std::ostream& os) { os << xai::token_heatmap_html(heat); });
    save_png(base + ".png", xai::token_heatmap_png(heat));
  }
  std::fprintf(stderr, "lm explain: query %lld, target %lld, %zu method(s) -> %s/<method>.{npy,html,png}\n",
               static_cast<long long>(ctx.query), static_cast<long long>(ctx.target), methods.size(), folder.c_str());
  return 0;
}

int run_lm_classify(int argc, char** argv) {
  Args args("lm classify", "Class probabilities of a text classifier (BERT, or a decoder with a classification head).");
  add_model_options(args);
  args.option("topk", "", "how many classes to print (default: all)")
      .flag("json", "print JSON: {\"top\": [{class, label, logit, prob}], \"tokens\": T}");
  if (!args.parse(argc, argv)) return 0;
  const std::vector<int64_t> ids = input_ids(args);
  const std::unique_ptr<xai::Explainable> model = load_language_model(args);
  const xai::FamilyInfo& f = model->info();
  if (!f.classifies_tokens())
    throw UsageError(str("'", args.get("model"), "' is a ", f.name, ", not a classifier: use hattn lm logits"));
  const int64_t k = args.has("topk") ? args.get_int("topk") : f.num_classes;
  if (k < 1) throw UsageError("--topk must be >= 1");
  const int64_t T = static_cast<int64_t>(ids.size());
  const std::vector<float> z = model->logits(Tensor::from_vector(ids, {1, T})).to_vector<float>();
  if (args.has("json")) {
    std::printf("{\"top\": [%s], \"tokens\": %lld}\n", top_classes_json(z, f.class_names, k).c_str(),
                static_cast<long long>(T));
    return 0;
  }
  std::printf("%s, %lld tokens\n", f.describe.c_str(), static_cast<long long>(T));
  print_top_classes(z, f.class_names, k);
  return 0;
}

int run_lm_tokenize(int argc, char** argv) {
  Args args("lm tokenize",
            "Token ids of a text (a Hugging Face tokenizer.json, byte-level BPE or WordPiece, or BERT's vocab.txt), with "
            "the special tokens the file adds (BERT: [CLS] ... [SEP]).");
  args.option("tokenizer", "", "tokenizer.json or vocab.txt", true)
      .option("text", "", "the text")
      .option("text-file", "", "the text from a file, or - for stdin")
      .flag("json", "print {\"ids\": [...], \"tokens\": [...]} (tokens as vocabulary strings, e.g. \"Ġthe\")");
  if (!args.parse(argc, argv)) return 0;
  if (args.has("text") == args.has("text-file")) throw UsageError("give exactly one of --text or --text-file");
  const std::unique_ptr<text::Tokenizer> tk = text::load_tokenizer(args.get("tokenizer"));
  const std::vector<int64_t> ids =
      tk->encode(args.has("text") ? args.get("text") : read_text_file(args.get("text-file")));
  std::string ids_s, tokens_s;
  for (size_t i = 0; i < ids.size(); ++i) {
    ids_s += (i ? "," : "") + std::to_string(ids[i]);
    tokens_s += (i ? ", " : "") + json::quote(tk->token(ids[i]));
  }
  if (args.has("json")) std::printf("{\"ids\": [%s], \"tokens\": [%s]}\n", ids_s.c_str(), tokens_s.c_str());
  else std::printf("%s\n", ids_s.c_str());
  return 0;
}

int run_lm_detokenize(int argc, char** argv) {
  Args args("lm detokenize", "The text of token ids (invalid UTF-8 becomes U+FFFD; added tokens as their text).");
  args.option("tokenizer", "", "tokenizer.json or vocab.txt", true).option("ids", "", "comma-separated token ids", true);
  if (!args.parse(argc, argv)) return 0;
  const std::unique_ptr<text::Tokenizer> tk = text::load_tokenizer(args.get("tokenizer"));
  std::printf("%s\n", tk->decode(parse_ids(args.get("ids"))).c_str());
  return 0;
}

}  // namespace

int run_lm(int argc, char** argv) {
  const std::string usage =
      "usage: hattn lm <logits|generate|classify|attention|explain|tokenize|detokenize|train|eval> [options]   "
      "(hattn lm <command> --help)\n"
      "  logits     logits at every position of a token sequence (--logits-npy writes them)\n"
      "  generate   greedy continuation with the recurrent step (O(1) per new token)\n"
      "  classify   class probabilities of a text classifier (BERT)\n"
      "  attention  one layer's attention matrices (hidden attention per channel or head; softmax heads)\n"
      "  explain    per-token relevance of a prediction (next token, or a classifier's class), as .npy, HTML and PNG\n"
      "  tokenize   token ids of a text (a Hugging Face tokenizer.json or BERT's vocab.txt)\n"
      "  detokenize the text of token ids\n"
      "  train      train a small Mamba-1 or Mamba-2 LM on the associative-recall task\n"
      "  eval       faithfulness of the explanations on the recall task (top-1 hits, ROC-AUC)";
  if (argc < 1) throw UsageError(usage);
  const std::string sub = argv[0];
  if (sub == "--help" || sub == "-h") {
    std::printf("%s\n", usage.c_str());
    return 0;
  }
  if (sub == "logits") return run_lm_logits(argc - 1, argv + 1);
  if (sub == "generate") return run_lm_generate(argc - 1, argv + 1);
  if (sub == "classify") return run_lm_classify(argc - 1, argv + 1);
  if (sub == "attention") return run_lm_attention(argc - 1, argv + 1);
  if (sub == "explain") return run_lm_explain(argc - 1, argv + 1);
  if (sub == "tokenize") return run_lm_tokenize(argc - 1, argv + 1);
  if (sub == "train") return run_lm_train(argc - 1, argv + 1);
  if (sub == "eval") return run_lm_eval(argc - 1, argv + 1);
  if (sub == "detokenize") return run_lm_detokenize(argc - 1, argv + 1);
  throw UsageError("hattn lm: unknown command '" + sub + "'\n" + usage);
}

}  // namespace ha::app
