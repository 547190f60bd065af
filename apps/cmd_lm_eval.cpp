// hattn lm eval: the faithfulness of the explanation methods on text.
//   --task recall: the associative-recall task, where the token that holds the answer is known: per method, how
//     often it ranks that token first among the tokens before the query, and the ROC-AUC of that ranking
//     (xai/token_ranking.h); the prediction explained is the model's own (the argmax at the query).
//   --task activation | pruning | accuracy: the paper's token perturbation (AUAC, AU-MSE) and zero-shot accuracy on
//     IMDb (a classifier) or ARC-Easy (a language model), docs/definitions.md §11 (xai/token_perturbation.h);
//     shards (--shard i/n) merge with `hattn lm eval merge`; a stopped run continues where it stopped.
// Writes results.json and results.md (and for the perturbation tests the curves as CSV and SVG).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "apps/common.h"
#include "apps/provenance.h"
#include "models/load_lm.h"
#include "models/recall_task.h"
#include "models/sentiment_task.h"
#include "models/text/tokenizer.h"
#include "models/text_tasks.h"
#include "tensor/atomic_write.h"
#include "xai/explain.h"
#include "xai/text_evaluate.h"
#include "xai/token_ranking.h"

namespace ha::app {

namespace {

// One sample of a synthetic task with known evidence: the ids, what is explained (a class, or the model's own next
// token at the last position), and the candidate and positive positions a map is scored on.
struct EvidenceSample {
  std::vector<int64_t> ids;
  int64_t target = -1, correct = 0;  // target < 0: the model's argmax
  std::vector<int64_t> candidates, positives;
};

// The synthetic tasks' faithfulness: per method, how often the map's largest candidate is a positive (top-1) and
// the ROC-AUC of positives against the other candidates (xai/token_ranking.h), over `count` held-out samples.
int run_lm_eval_evidence(const std::string& task, int argc, char** argv) {
  const bool recall = task == "recall";
  Args args("lm eval", recall ? "Faithfulness of the explanation methods on the associative-recall task: top-1 hits "
                                "and ROC-AUC of the answer's token."
                              : "Faithfulness of the explanation methods on the synthetic sentiment set: top-1 hits "
                                "and ROC-AUC of the words that decide the label.");
  args.option("task", "recall", "recall | sentiment (the other tasks: hattn lm eval --task activation --help)")
      .option("model", "", str("model folder (a ", recall ? "recall language model" : "sentiment classifier",
                               ": `hattn lm train` writes one)"), true)
      .option("count", "500", "held-out samples")
      .option("pairs", "8", "recall: key-value pairs per sample")
      .option("seed", "0", "seed of the evaluation samples (disjoint from training's for the same seed)")
      .option("methods", "all", "all, or a comma list of raw, rollout, attr, unified, lrp, gae, random, saliency, "
                                "gradxinput")
      .option("device", "cpu", "where the model runs: cpu | cuda | cuda:N")
      .option("out", "out/lm_eval", "output folder: results.json, results.md");
  if (!args.parse(argc, argv)) return 0;
  const int64_t count = args.get_int("count"), pairs = args.get_int("pairs");
  if (count <= 0 || pairs < 2 || pairs > 26) throw UsageError("--count must be > 0 and --pairs in [2, 26]");
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed"));
  const std::unique_ptr<xai::Explainable> model = load_language_model(args);
  const xai::FamilyInfo& f = model->info();
  if (recall && f.classifies_tokens())
    throw UsageError(str("'", args.get("model"), "' is a ", f.name, ": the recall task needs a language model"));
  if (!recall && !f.classifies_tokens())
    throw UsageError(str("'", args.get("model"), "' is a ", f.name, ": the sentiment task needs a classifier"));
  if (recall) {
    HATTN_CHECK_INPUT(f.vocab >= 128, "'", args.get("model"), "': the recall task needs byte tokens (vocabulary >= 128)");
  } else {
    HATTN_CHECK_INPUT(f.vocab == sentiment_vocab_size() && f.num_classes == 2, "'", args.get("model"),
                      "': not a sentiment classifier of the synthetic set (its vocabulary of ", sentiment_vocab_size(),
                      " words, two classes)");
  }
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
  for (int64_t i = 0; i < count; ++i) {
    EvidenceSample e;
    if (recall) {
      const RecallSample s = recall_sample(seed + kRecallEvalSeed, 1000000 + i, pairs);
      e.ids = s.ids;
      e.correct = s.answer;
      for (int64_t j = 0; j + 1 < static_cast<int64_t>(s.ids.size()); ++j) e.candidates.push_back(j);
      e.positives = {s.answer_position};
    } else {  // the true label is explained; candidates: the words, [CLS] and [SEP] left out
      const SentimentSample s = sentiment_sample(seed + kSentimentEvalSeedOffset, i);
      e.ids = s.ids;
      e.correct = e.target = s.label;
      for (int64_t j = 1; j + 1 < static_cast<int64_t>(s.ids.size()); ++j) e.candidates.push_back(j);
      e.positives = s.evidence;
    }
    const int64_t T = static_cast<int64_t>(e.ids.size());
    const xai::Trace ctx = std::move(model->trace(Tensor::from_vector(e.ids, {1, T}), {{e.target, -1}}, passes)[0]);
    const std::vector<float> row = ctx.logits.select(0, recall ? ctx.query : 0).to_vector<float>();
    correct += std::max_element(row.begin(), row.end()) - row.begin() == e.correct;
    xai::ExplainOptions opt;
    opt.seed = static_cast<uint64_t>(i);
    for (xai::Method m : methods) {
      const xai::TokenRankScore r =
          xai::score_token_set(xai::explain(ctx, f, m, opt).to_vector<float>(), e.candidates, e.positives);
      sums[m].top1 += r.top1;
      sums[m].auc += r.auc;
    }
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\rlm eval %s: %lld/%lld samples  %.1f ms/sample  ETA %.0f s   ", task.c_str(),
                 static_cast<long long>(i + 1), static_cast<long long>(count), 1000 * el / (i + 1),
                 el / (i + 1) * (count - i - 1));
  }
  std::fprintf(stderr, "\n");
  const double acc = double(correct) / count;
  std::string json = str("{\"accuracy\": {\"accuracy\": ", acc, ", \"samples\": ", count, "}");
  std::string md =
      recall ? str("## Recall faithfulness: ", count, " samples of ", pairs, " pairs (", args.get("model"),
                   ")\n\nTask accuracy: ", acc * 100, "%. Candidates: the ", 2 * pairs + 1,
                   " tokens before the query; positive: the value token of the queried key.\n\n")
             : str("## Sentiment faithfulness: ", count, " reviews (", args.get("model"), ")\n\nTask accuracy: ",
                   acc * 100, "%. Candidates: the review's words; positives: the words of the label's polarity (the ",
                   "majority); the true label is explained.\n\n");
  md += "| method | top-1 hit ↑ | ROC-AUC ↑ |\n|---|---|---|\n";
  for (xai::Method m : methods) {
    const double top1 = sums[m].top1 / count, auc = sums[m].auc / count;
    json += str(",\n \"", xai::method_name(m), "\": {\"top1\": ", top1, ", \"auc\": ", auc, ", \"samples\": ", count, "}");
    char row[128];
    std::snprintf(row, sizeof row, "| %s | %.3f | %.3f |\n", xai::method_name(m), top1, auc);
    md += row;
  }
  json += ",\n \"provenance\": " + record_provenance(out, args.get("model")) + "}\n";
  write_file_atomically(out + "/results.json", [&](std::ostream& os) { os << json; });
  write_file_atomically(out + "/results.md", [&](std::ostream& os) { os << md; });
  std::printf("%s", md.c_str());
  return 0;
}

// --mask-token: a vocabulary entry, or id:N; by default [UNK] where the vocabulary has it, else <|endoftext|>.
int64_t mask_token_id(const Args& args, const text::Tokenizer& tk) {
  if (args.has("mask-token")) {
    const std::string t = args.get("mask-token");
    if (t.rfind("id:", 0) == 0) {
      char* end = nullptr;
      const long long id = std::strtoll(t.c_str() + 3, &end, 10);
      if (t.size() > 3 && *end == '\0' && id >= 0 && id < tk.vocab_size()) return id;
      throw UsageError(str("--mask-token '", t, "': not a token id of the ", tk.vocab_size(), "-token vocabulary"));
    }
    if (const int64_t id = tk.id_of(t); id >= 0) return id;
    throw UsageError(str("--mask-token '", t, "' is not in the vocabulary (an id is written id:N)"));
  }
  for (const char* t : {"[UNK]", "<|endoftext|>"})
    if (const int64_t id = tk.id_of(t); id >= 0) return id;
  throw UsageError("the vocabulary has neither [UNK] nor <|endoftext|>: name the mask token with --mask-token");
}

// A shard's run key without its "shard=i/n"; i and n through the pointers.
std::string run_without_shard(const std::string& run, long long* i, long long* n) {
  const size_t at = run.find(" shard=");
  const size_t end = at == std::string::npos ? at : run.find(' ', at + 1);
  if (at == std::string::npos || std::sscanf(run.c_str() + at, " shard=%lld/%lld", i, n) != 2) return run;
  return run.substr(0, at) + (end == std::string::npos ? "" : run.substr(end));
}

int run_lm_eval_merge(int argc, char** argv) {
  Args args("lm eval merge", "Sum the counts.csv of several shards of a text evaluation and write the reports.");
  args.option("inputs", "", "comma list of shard output folders", true).option("out", "out/lm_eval", "output folder");
  if (!args.parse(argc, argv)) return 0;
  xai::TextEvalCounts total;
  std::string common;  // every shard's run key without its shard: one run, split
  long long shards = -1;
  std::vector<bool> seen;
  for (const std::string& dir : split_list(args.get("inputs"))) {
    const xai::TextEvalCounts shard = xai::TextEvalCounts::load_csv(dir + "/counts.csv");
    HATTN_CHECK_INPUT(shard.progress.done == shard.progress.total, "'", dir, "' is an unfinished shard (",
                      shard.progress.done, " of ", shard.progress.total, " items): run its command again to finish it, ",
                      "then merge");
    long long i = -1, n = -1;
    const std::string key = run_without_shard(shard.progress.run, &i, &n);
    HATTN_CHECK_INPUT(n >= 1 && i >= 0 && i < n, "'", dir, "': its counts name no shard");
    if (shards < 0) common = key, shards = n, seen.assign(n, false);
    HATTN_CHECK_INPUT(key == common && n == shards, "'", dir, "' is a shard of another run (", shard.progress.run, ")");
    HATTN_CHECK_INPUT(!seen[i], "'", dir, "': shard ", i, "/", n, " is given twice");
    seen[i] = true;
    total.merge(shard);
  }
  for (long long i = 0; i < shards; ++i)
    HATTN_CHECK_INPUT(seen[i], "shard ", i, "/", shards, " is missing from --inputs");
  make_output_dir(args.get("out"));
  total.save_csv(args.get("out") + "/counts.csv");
  std::cout << xai::write_text_reports(total, args.get("out"), str("Merged ", total.test, " evaluation"),
                                       merged_provenance(split_list(args.get("inputs"))));
  return 0;
}

int run_lm_eval_text(const std::string& task, int argc, char** argv) {
  Args args("lm eval", "Token perturbation (activation: AUAC, pruning: AU-MSE) and accuracy on IMDb (a text classifier) "
                       "or zero-shot ARC-Easy (a language model), as docs/definitions.md §11 defines them.");
  args.option("task", "", "activation | pruning | accuracy", true)
      .option("model", "", "model folder: a text classifier for IMDb, a language model for ARC-Easy", true)
      .option("data", "", "the aclImdb folder (test/neg, test/pos), ARC-Easy's jsonl (e.g. ARC-Easy-Test.jsonl), "
                          "'sentiment' (the synthetic set's held-out reviews) or 'recall' (the recall task as "
                          "ten-choice questions)", true)
      .option("tokenizer", "", "tokenizer.json or vocab.txt (default: the one beside the model)")
      .option("methods", "all", "all, or a comma list of the model's methods (raw, rollout, attr, gae, lrp, ...)")
      .option("limit", "", "the first N items (default: all)")
      .option("mask-token", "", "what a perturbed token becomes (default: [UNK], else <|endoftext|>)")
      .option("max-tokens", "512", "IMDb: keep each review's first N tokens, special tokens included")
      .option("shard", "0/1", "i/n: evaluate items i, i+n, i+2n, ...")
      .option("max-items", "0", "stop after N items in this run (0: run to the end); the same command continues")
      .option("batch", "11", "sequences per forward, right-padded: an item's perturbed copies for every method and "
                             "choice, and several items' when one item has fewer; the same results up to float32 "
                             "rounding")
      .option("device", "cpu", "where the model runs: cpu | cuda | cuda:N")
      .option("out", "", "output folder (default: out/lm_eval/<task>)");
  add_ablation_options(args);  // the paper's Table 9: Mamba-Attribution's aggregation and clamp on ARC-Easy
  if (!args.parse(argc, argv)) return 0;
  const std::optional<xai::TokenTest> test =
      task == "activation" ? std::optional<xai::TokenTest>(xai::TokenTest::Activation)
      : task == "pruning"  ? std::optional<xai::TokenTest>(xai::TokenTest::Pruning)
                           : std::nullopt;
  long long shard = 0, shards = 1;
  if (std::sscanf(args.get("shard").c_str(), "%lld/%lld", &shard, &shards) != 2 || shards < 1 || shard < 0 ||
      shard >= shards)
    throw UsageError("--shard expects i/n with 0 <= i < n, got '" + args.get("shard") + "'");
  const int64_t limit = args.has("limit") ? args.get_int("limit") : -1, max_items = args.get_int("max-items");
  if (args.has("limit") && limit <= 0) throw UsageError("--limit must be positive");
  if (max_items < 0) throw UsageError("--max-items must be >= 0");
  const int64_t batch = args.get_int("batch");
  if (batch < 1) throw UsageError("--batch must be >= 1");
  const std::unique_ptr<xai::Explainable> model = load_language_model(args);
  const xai::FamilyInfo& f = model->info();
  const std::string data = args.get("data");
  if (data != "sentiment" && data != "recall" && !std::filesystem::exists(data))
    throw UsageError(str("--data '", data, "': no such file or folder (an aclImdb folder, ARC-Easy's jsonl, sentiment ",
                         "or recall)"));
  const bool arc = is_arc_data(data);
  if (arc && f.classifies_tokens())
    throw UsageError(str("'", args.get("model"), "' is a ", f.name, ": ARC-Easy and recall need a language model (they ",
                         "score each choice's continuation)"));
  if (!arc && !f.classifies_tokens())
    throw UsageError(str("'", args.get("model"), "' is a ", f.name, ": IMDb and the sentiment set need a text classifier"));
  std::vector<xai::EvalMethod> methods =
      test ? xai::parse_eval_methods(f, args.get("methods")) : std::vector<xai::EvalMethod>{};
  check_family_options(args, f, {"aggregate", "discard", "clamp"});
  const xai::Ablation ablation = ablation_options(args);
  for (xai::EvalMethod& m : methods) m.ablation = ablation;
  // the tokenizer: --tokenizer, else the one beside the model
  const std::string tk_path =
      args.has("tokenizer") ? args.get("tokenizer") : text::tokenizer_in_folder(find_lm_files(args.get("model")).folder);
  if (tk_path.empty()) throw UsageError("text needs a tokenizer: pass --tokenizer (none was found beside the model)");
  const std::unique_ptr<text::Tokenizer> tk = text::load_tokenizer(tk_path);
  const int64_t mask_id = test ? mask_token_id(args, *tk) : -1;  // accuracy perturbs nothing
  const std::vector<TextItem> items = load_text_items(data, *tk, limit, args.get_int("max-tokens"));
  const std::string out = args.has("out") ? args.get("out") : "out/lm_eval/" + task;
  make_output_dir(out);
  std::string run = str(task, " ", args.get("model"), " tokenizer=", tk_path, " methods=", args.get("methods"),
                        " data=", data, " n=", items.size(), " shard=", shard, "/", shards, " mask=", mask_id,
                        " max_tokens=", args.get("max-tokens"));
  if (!ablation.is_default())
    run += str(" ablation=", xai::aggregate_name(ablation.aggregate), "/", ablation.discard, "/",
               xai::clamp_name(ablation.clamp));
  std::replace(run.begin(), run.end(), '"', '\'');  // stored quoted
  xai::TextEvalCounts counts;
  const std::string saved = out + "/counts.csv";
  if (std::filesystem::exists(saved)) {
    xai::TextEvalCounts before = xai::TextEvalCounts::load_csv(saved);
    if (before.progress.run == run) {
      counts = before;
      std::fprintf(stderr, "resuming: %lld of this shard's %lld items are done\n",
                   static_cast<long long>(counts.progress.done), static_cast<long long>(counts.progress.total));
    } else {
      std::fprintf(stderr, "'%s' held the counts of another run; starting over\n", out.c_str());
    }
  }
  counts.test = task;
  counts.progress.run = run;
  std::vector<int64_t> mine;
  for (int64_t i = shard; i < static_cast<int64_t>(items.size()); i += shards) mine.push_back(i);
  HATTN_CHECK_INPUT(counts.progress.done <= static_cast<int64_t>(mine.size()), "'", saved, "' says ",
                    counts.progress.done, " of ", mine.size(), " items are done: a damaged counts file");
  counts.progress.total = static_cast<int64_t>(mine.size());
  const int64_t resumed = counts.progress.done;
  const int64_t stop = max_items > 0 ? std::min<int64_t>(mine.size(), resumed + max_items) : mine.size();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = resumed; k < stop;) {
    // a group of items whose sequences fill at least one forward of --batch (one item when its own do)
    std::vector<xai::SeededItem> group;
    for (int64_t sequences = 0; k < stop && sequences < batch; ++k) {
      group.push_back({&items[mine[k]], static_cast<uint64_t>(mine[k])});
      sequences += xai::text_sequences(items[mine[k]], methods.size(), test.has_value());
    }
    xai::evaluate_text_items(*model, group, methods, test, mask_id, counts, batch);
    counts.progress.done = k;
    counts.save_csv(saved);  // every group: a stopped run loses at most the group in flight
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int64_t now = k - resumed;
    std::fprintf(stderr, "\rlm eval %s: %lld/%lld items  %.2f s/item  ETA %.0f s   ", task.c_str(),
                 static_cast<long long>(k), static_cast<long long>(mine.size()), el / now,
                 el / now * (static_cast<double>(mine.size()) - k));
  }
  std::fprintf(stderr, "\n");
  counts.save_csv(saved);
  if (counts.progress.done < counts.progress.total)
    std::fprintf(stderr, "stopped after --max-items: %lld of %lld items done; run the same command to continue\n",
                 static_cast<long long>(counts.progress.done), static_cast<long long>(counts.progress.total));
  const std::string what = data == "recall" ? "recall questions" : data == "sentiment" ? "synthetic reviews"
                           : arc ? "ARC-Easy questions" : "IMDb reviews";
  const std::string title = str(task, " on ", counts.items, " ", what, " (", args.get("model"), ")");
  std::cout << xai::write_text_reports(counts, out, title, record_provenance(out, args.get("model")));
  return 0;
}

}  // namespace

int run_lm_eval(int argc, char** argv) {
  if (argc >= 1 && std::string(argv[0]) == "merge") return run_lm_eval_merge(argc - 1, argv + 1);
  std::string task = "recall";
  for (int i = 0; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--task") task = argv[i + 1];
  if (task == "recall" || task == "sentiment") return run_lm_eval_evidence(task, argc, argv);
  if (task == "activation" || task == "pruning" || task == "accuracy") return run_lm_eval_text(task, argc, argv);
  throw UsageError("--task: recall, sentiment, activation, pruning or accuracy, not '" + task + "'");
}

}  // namespace ha::app
