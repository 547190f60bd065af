// hattn lm: Mamba-1 / Mamba-2 language models (docs/definitions.md §10): logits of a token sequence and greedy
// generation with the recurrent step. Models are folders in the state-spaces or Hugging Face layout.
#include <cstdio>
#include <string>
#include <vector>

#include "apps/common.h"
#include "models/lm_generate.h"
#include "models/load_lm.h"
#include "tensor/npy.h"

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
    HATTN_CHECK_INPUT(ids[i] < c.vocab, "--ids: token ", ids[i], " at position ", i, " is outside the model's ",
                      c.vocab, "-row vocabulary");
}

std::unique_ptr<MambaLM> load_lm_model(const Args& args) {
  std::string how;
  auto model = load_lm(args.get("model"), &how);
  std::fprintf(stderr, "%s\n", model->config().describe().c_str());
  if (!how.empty()) std::fprintf(stderr, "%s\n", how.c_str());
  return model;
}

void add_model_options(Args& args) {
  args.option("model", "", "model folder (config.json + model.safetensors, its shards, or pytorch_model.bin), or its "
                           "weights file", true)
      .option("ids", "", "comma-separated token ids, e.g. 510,4060,8576", true);
}

int run_logits(int argc, char** argv) {
  Args args("lm logits", "Logits of a Mamba language model at every position of a token sequence.");
  add_model_options(args);
  args.option("logits-npy", "", "write the logits as float32 [T, V] (V = the checkpoint's rows)")
      .option("topk", "5", "next-token candidates printed for the last position");
  if (!args.parse(argc, argv)) return 0;
  const std::vector<int64_t> ids = parse_ids(args.get("ids"));
  const int64_t k = args.get_int("topk");
  if (k < 1) throw UsageError("--topk must be >= 1");
  auto model = load_lm_model(args);
  check_ids(ids, model->config());
  NoGradGuard no_grad;
  const int64_t T = static_cast<int64_t>(ids.size()), V = model->config().vocab;
  const Tensor logits = model->forward(Tensor::from_vector(ids, {T})).logits.reshape({T, V});
  if (args.has("logits-npy")) save_npy(args.get("logits-npy"), logits);
  const std::vector<float> last = logits.select(0, T - 1).contiguous().to_vector<float>();
  std::vector<int64_t> order(V);
  for (int64_t i = 0; i < V; ++i) order[i] = i;
  std::partial_sort(order.begin(), order.begin() + std::min(k, V), order.end(),
                    [&](int64_t a, int64_t b) { return last[a] > last[b] || (last[a] == last[b] && a < b); });
  std::printf("rank  token      logit  (next token after position %lld)\n", static_cast<long long>(T - 1));
  for (int64_t i = 0; i < std::min(k, V); ++i)
    std::printf("%4lld  %5lld  %9.4f\n", static_cast<long long>(i + 1), static_cast<long long>(order[i]), last[order[i]]);
  return 0;
}

int run_generate(int argc, char** argv) {
  Args args("lm generate", "Greedy continuation of a token sequence, one recurrent step per new token.");
  add_model_options(args);
  args.option("max-new-tokens", "32", "tokens to generate")
      .option("stop", "", "stop after generating this token id (e.g. the end-of-text id)");
  if (!args.parse(argc, argv)) return 0;
  const std::vector<int64_t> ids = parse_ids(args.get("ids"));
  const int64_t n = args.get_int("max-new-tokens");
  if (n < 0) throw UsageError("--max-new-tokens must be >= 0");
  const int64_t stop = args.has("stop") ? args.get_int("stop") : -1;
  auto model = load_lm_model(args);
  check_ids(ids, model->config());
  bool first = true;
  generate_greedy(*model, ids, n, stop, [&](int64_t t) {
    std::printf("%s%lld", first ? "" : ",", static_cast<long long>(t));
    std::fflush(stdout);
    first = false;
  });
  std::printf("\n");
  return 0;
}

}  // namespace

int run_lm(int argc, char** argv) {
  const std::string usage =
      "usage: hattn lm <logits|generate> [options]   (hattn lm <command> --help)\n"
      "  logits     logits at every position of a token sequence (--logits-npy writes them)\n"
      "  generate   greedy continuation with the recurrent step (O(1) per new token)";
  if (argc < 1) throw UsageError(usage);
  const std::string sub = argv[0];
  if (sub == "--help" || sub == "-h") {
    std::printf("%s\n", usage.c_str());
    return 0;
  }
  if (sub == "logits") return run_logits(argc - 1, argv + 1);
  if (sub == "generate") return run_generate(argc - 1, argv + 1);
  throw UsageError("hattn lm: unknown command '" + sub + "'\n" + usage);
}

}  // namespace ha::app
