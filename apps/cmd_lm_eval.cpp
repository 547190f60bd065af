// hattn lm eval: how faithful each explanation method is on the associative-recall task, where the token that
// holds the answer is known: per method, how often it ranks that token first among the tokens before the query,
// and the ROC-AUC of that ranking (xai/token_ranking.h). The prediction explained is the model's own (the
// argmax at the query); the task accuracy is reported beside. Writes results.json and results.md.
#include <chrono>
#include <cstdio>
#include <map>

#include "apps/common.h"
#include "models/load_lm.h"
#include "models/recall_task.h"
#include "tensor/atomic_write.h"
#include "xai/explain.h"
#include "xai/token_ranking.h"

namespace ha::app {

double recall_accuracy(const MambaLM& model, uint64_t seed, int64_t count, int64_t pairs_min, int64_t pairs_max);

int run_lm_eval(int argc, char** argv) {
  Args args("lm eval", "Faithfulness of the explanation methods on the associative-recall task: top-1 hits and "
                       "ROC-AUC of the answer's token.");
  args.option("task", "recall", "the task (recall)")
      .option("model", "", "model folder (a recall model: `hattn lm train` writes one)", true)
      .option("count", "500", "held-out samples")
      .option("pairs", "8", "key-value pairs per sample")
      .option("seed", "0", "seed of the evaluation samples (disjoint from training's for the same seed)")
      .option("methods", "all", "all, or a comma list of raw, rollout, attr, unified, lrp, random, saliency, gradxinput")
      .option("device", "cpu", "where the model runs: cpu | cuda | cuda:N")
      .option("out", "out/lm_eval", "output folder: results.json, results.md");
  if (!args.parse(argc, argv)) return 0;
  if (args.get("task") != "recall") throw UsageError("--task: only 'recall' is defined");
  const int64_t count = args.get_int("count"), pairs = args.get_int("pairs");
  if (count <= 0 || pairs < 2 || pairs > 26) throw UsageError("--count must be > 0 and --pairs in [2, 26]");
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed"));
  const std::unique_ptr<xai::Explainable> model = load_language_model(args);
  const xai::FamilyInfo& f = model->info();
  if (f.classifies_tokens())
    throw UsageError(str("'", args.get("model"), "' is a ", f.name, ": the recall task needs a language model"));
  HATTN_CHECK_INPUT(f.vocab >= 128, "'", args.get("model"), "': the recall task needs byte tokens (vocabulary >= 128)");
  std::vector<xai::Method> methods;
  if (args.get("methods") == "all") {
    for (const xai::MethodSpec& spec : f.methods) methods.push_back(spec.method);
  } else {
    for (const std::string& m : split_list(args.get("methods"))) methods.push_back(xai::parse_method(m));
  }
  for (xai::Method m : methods) xai::resolve_variant(f, m, std::nullopt);  // refuses what the family lacks, up front
  const std::string out = args.get("out");
  make_output_dir(out);
  const xai::TraceOptions passes = xai::trace_options(f, methods);
  std::map<xai::Method, xai::TokenRankScore> sums;
  int64_t correct = 0;
  const auto t0 = std::chrono::steady_clock::now();
  constexpr uint64_t kEvalSeedOffset = 1000003;  // the evaluation stream of `hattn lm train`
  for (int64_t i = 0; i < count; ++i) {
    const RecallSample s = recall_sample(seed + kEvalSeedOffset, 1000000 + i, pairs);
    const int64_t T = static_cast<int64_t>(s.ids.size());
    const xai::Trace ctx = std::move(model->trace(Tensor::from_vector(s.ids, {1, T}), {}, passes)[0]);
    correct += ctx.target == s.answer;
    xai::ExplainOptions opt;
    opt.seed = static_cast<uint64_t>(i);
    for (xai::Method m : methods) {
      const xai::TokenRankScore r =
          xai::score_token_relevance(xai::explain(ctx, f, m, opt).to_vector<float>(), ctx.query, s.answer_position);
      sums[m].top1 += r.top1;
      sums[m].auc += r.auc;
    }
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\rlm eval recall: %lld/%lld samples  %.1f ms/sample  ETA %.0f s   ",
                 static_cast<long long>(i + 1), static_cast<long long>(count), 1000 * el / (i + 1),
                 el / (i + 1) * (count - i - 1));
  }
  std::fprintf(stderr, "\n");
  const double acc = double(correct) / count;
  std::string json = str("{\"accuracy\": {\"accuracy\": ", acc, ", \"samples\": ", count, "}");
  std::string md = str("## Recall faithfulness: ", count, " samples of ", pairs, " pairs (", args.get("model"),
                       ")\n\nTask accuracy: ", acc * 100, "%. Candidates: the ", 2 * pairs + 1,
                       " tokens before the query; positive: the value token of the queried key.\n\n"
                       "| method | top-1 hit ↑ | ROC-AUC ↑ |\n|---|---|---|\n");
  for (xai::Method m : methods) {
    const double top1 = sums[m].top1 / count, auc = sums[m].auc / count;
    json += str(",\n \"", xai::method_name(m), "\": {\"top1\": ", top1, ", \"auc\": ", auc, ", \"samples\": ", count, "}");
    char row[128];
    std::snprintf(row, sizeof row, "| %s | %.3f | %.3f |\n", xai::method_name(m), top1, auc);
    md += row;
  }
  json += "}\n";
  write_file_atomically(out + "/results.json", [&](std::ostream& os) { os << json; });
  write_file_atomically(out + "/results.md", [&](std::ostream& os) { os << md; });
  std::printf("%s", md.c_str());
  return 0;
}

}  // namespace ha::app
