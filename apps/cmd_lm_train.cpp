// hattn lm train: trains a small text model from scratch with AdamW, warm-up + cosine, periodic evaluation and
// resumable checkpoints, on one of the synthetic tasks whose deciding tokens are known:
//   recall     next-token prediction on associative recall (models/recall_task.h): a language model over bytes
//              (mamba1 | mamba2 | gpt_neox), with a byte-level tokenizer.json;
//   sentiment  the synthetic reviews of models/sentiment_task.h: a classifier (mamba1 | mamba2 with Hugging Face's
//              score head, or bert), with the set's vocab.txt.
// Writes a model folder that every `hattn lm` command reads.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "apps/common.h"
#include "models/builders.h"
#include "models/init.h"
#include "models/recall_task.h"
#include "models/save_lm.h"
#include "models/sentiment_task.h"
#include "models/train.h"
#include "ops/ops.h"
#include "tensor/atomic_write.h"
#include "tensor/cuda/cuda_memory.h"
#include "tensor/random.h"

namespace ha::app {
namespace {

// Seeds of the training and evaluation streams: disjoint sample sets (the recall task's offset, for both tasks).
constexpr uint64_t kEvalSeedOffset = kRecallEvalSeed;

struct Batch {
  Tensor ids, targets;  // (B, T) of one length, (B): the next token or the class
};

Batch recall_batch(uint64_t seed, int64_t first, int64_t batch, int64_t pairs) {
  std::vector<int64_t> ids, answers;
  for (int64_t b = 0; b < batch; ++b) {
    const RecallSample s = recall_sample(seed, first + b, pairs);
    ids.insert(ids.end(), s.ids.begin(), s.ids.end());
    answers.push_back(s.answer);
  }
  return {Tensor::from_vector(ids, {batch, 2 * pairs + 2}), Tensor::from_vector(answers, {batch})};
}

Batch sentiment_batch(uint64_t seed, int64_t first, int64_t batch, int64_t words) {
  std::vector<int64_t> ids, labels;
  for (int64_t b = 0; b < batch; ++b) {
    const SentimentSample s = sentiment_sample(seed, first + b, words);
    ids.insert(ids.end(), s.ids.begin(), s.ids.end());
    labels.push_back(s.label);
  }
  return {Tensor::from_vector(ids, {batch, words + 2}), Tensor::from_vector(labels, {batch})};
}

// A task: its batches (one length per batch, drawn from [min, max]) and what its folder carries besides the model.
struct TrainTask {
  int64_t vocab = 0, classes = 0, min_len = 0, max_len = 0;
  std::vector<std::string> class_names;
  std::function<Batch(uint64_t seed, int64_t first, int64_t batch, int64_t length)> make;
  std::function<void(const std::string& folder)> write_tokenizer;
};

// Top-1 accuracy on `count` held-out samples, every length in turn.
double task_accuracy(const TrainTask& task, const std::function<Tensor(const Tensor&)>& logits, uint64_t seed,
                     int64_t count) {
  NoGradGuard no_grad;
  int64_t correct = 0;
  const int64_t batch = 100;
  for (int64_t at = 0; at < count; at += batch) {
    const int64_t n = std::min(batch, count - at);
    const int64_t len = task.min_len + (at / batch) % (task.max_len - task.min_len + 1);
    const Batch b = task.make(seed + kEvalSeedOffset, at, n, len);
    const Tensor pred = argmax(logits(b.ids), 1).to(Device::cpu());
    for (int64_t i = 0; i < n; ++i) correct += pred.data<int64_t>()[i] == b.targets.data<int64_t>()[i];
  }
  return count ? double(correct) / double(count) : 0.0;
}

}  // namespace

int run_lm_train(int argc, char** argv) {
  Args args("lm train", "Train a small text model on a synthetic task whose deciding tokens are known: associative "
                        "recall (\"a3k7q1m9|k\" -> \"7\"; a language model) or sentiment (a classifier).");
  args.option("task", "recall", "recall | sentiment")
      .option("arch", "mamba1", "mamba1 | mamba2 | gpt_neox (recall) | bert (sentiment)")
      .option("out", "out/lm_train", "model folder: config.json, model.safetensors, its tokenizer, last.safetensors")
      .option("width", "64", "model width D (Mamba's inner width is 2D; the transformers' MLP 4D)")
      .option("layers", "2", "number of layers")
      .option("d-state", "16", "Mamba: state size N")
      .option("headdim", "16", "mamba2: channels per head")
      .option("heads", "4", "gpt_neox, bert: attention heads")
      .option("pairs", "4:10", "recall: key-value pairs per sample, MIN:MAX (each batch draws one length)")
      .option("words", "10:30", "sentiment: words per review, MIN:MAX (each batch draws one length)")
      .option("steps", "3000", "optimisation steps")
      .option("batch", "64", "sequences per step")
      .option("lr", "0.003", "peak learning rate")
      .option("min-lr", "0.00001", "final learning rate of the cosine schedule")
      .option("weight-decay", "0.1", "AdamW decoupled weight decay")
      .option("warmup", "200", "warm-up steps")
      .option("seed", "0", "seed of initialisation and data")
      .option("eval-every", "500", "evaluate every N steps")
      .option("eval-count", "1000", "held-out samples per evaluation")
      .option("max-steps", "0", "stop after N steps in this run (0: run to the end); resume later with --resume")
      .option("device", "cpu", "where training runs: cpu | cuda | cuda:N")
      .flag("resume", "continue from OUT/last.safetensors");
  if (!args.parse(argc, argv)) return 0;
  const std::string task_name = args.get("task"), arch = args.get("arch");
  const bool recall = task_name == "recall";
  if (!recall && task_name != "sentiment") throw UsageError("--task must be recall or sentiment");
  if (recall && arch == "bert") throw UsageError("--arch bert is a classifier: train it with --task sentiment");
  if (!recall && arch == "gpt_neox")
    throw UsageError("--arch gpt_neox trains on --task recall (a language model); sentiment takes mamba1, mamba2, bert");
  auto range = [&](const char* name, int64_t lo, int64_t hi) {
    const std::string v = args.get(name);
    const size_t colon = v.find(':');
    int64_t a = 0, b = 0;
    try {
      a = std::stoll(v.substr(0, colon));
      b = colon == std::string::npos ? a : std::stoll(v.substr(colon + 1));
    } catch (const std::exception&) {
      throw UsageError(str("--", name, " expects MIN:MAX, got '", v, "'"));
    }
    if (a < lo || b < a || b > hi) throw UsageError(str("--", name, " must satisfy ", lo, " <= MIN <= MAX <= ", hi));
    return std::pair<int64_t, int64_t>{a, b};
  };
  TrainTask task;
  if (recall) {
    std::tie(task.min_len, task.max_len) = range("pairs", 1, 26);
    task.vocab = 256;  // byte tokens
    task.make = recall_batch;
    task.write_tokenizer = [](const std::string& folder) {
      const std::string t = byte_tokenizer_json();
      write_file_atomically(folder + "/tokenizer.json", [&](std::ostream& os) { os << t; });
      for (const char* other : {"/vocab.txt", "/tokenizer_config.json"})  // another task's, which would be read first
        std::filesystem::remove(folder + other);
    };
  } else {
    std::tie(task.min_len, task.max_len) = range("words", 6, 500);
    task.vocab = sentiment_vocab_size();
    task.classes = 2;
    task.class_names = {"negative", "positive"};
    task.make = sentiment_batch;
    task.write_tokenizer = [](const std::string& folder) {
      std::filesystem::remove(folder + "/tokenizer.json");  // a recall run's, which the commands would read first
      const std::string v = sentiment_vocab_txt(), c = sentiment_tokenizer_config();
      write_file_atomically(folder + "/vocab.txt", [&](std::ostream& os) { os << v; });
      write_file_atomically(folder + "/tokenizer_config.json", [&](std::ostream& os) { os << c; });
    };
  }
  TextModelShape shape;
  shape.arch = arch;
  shape.vocab = task.vocab;
  shape.width = args.get_int("width");
  shape.layers = args.get_int("layers");
  shape.d_state = args.get_int("d-state");
  shape.headdim = args.get_int("headdim");
  shape.heads = args.get_int("heads");
  shape.max_positions = recall ? 2 * task.max_len + 2 : task.max_len + 2;
  shape.classes = task.classes;
  shape.class_names = task.class_names;
  if (shape.width <= 0 || shape.layers <= 0 || shape.d_state <= 0) throw UsageError("--width, --layers, --d-state must be > 0");
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed"));
  const BuiltModel built = build_text_model(shape, seed);
  nn::Module& model = *built.module;
  const std::string out = args.get("out");
  make_output_dir(out);
  TrainState st;
  const std::unique_ptr<nn::AdamW> optimizer = start_training(model, args, out + "/last.safetensors", st);
  nn::AdamW& opt = *optimizer;
  if (args.has("resume")) std::fprintf(stderr, "resumed at step %lld\n", static_cast<long long>(st.step));
  const int64_t total = args.get_int("steps"), batch = args.get_int("batch"), warmup = args.get_int("warmup");
  const int64_t eval_every = args.get_int("eval-every"), eval_count = args.get_int("eval-count");
  const int64_t max_steps = args.get_int("max-steps");
  if (total <= 0 || batch <= 0 || eval_every <= 0 || eval_count <= 0) throw UsageError("counts must be > 0");
  const double lr = std::stod(args.get("lr")), min_lr = std::stod(args.get("min-lr"));
  std::map<std::string, std::string> meta = {{"train.command", "hattn lm train"}};
  if (arch == "mamba1" || arch == "mamba2") meta["family"] = arch;
  for (const char* k : {"task", "arch", "width", "layers", "d-state", "headdim", "heads", "pairs", "words", "steps",
                        "batch", "lr", "min-lr", "weight-decay", "warmup", "seed"})
    meta[std::string("train.") + k] = args.get(k);
  if (const std::string h = training_history(st, meta); !h.empty()) meta["train.history"] = h;
  int64_t params = 0;
  for (const auto& [name, p] : model.named_parameters()) params += p.numel();
  std::fprintf(stderr, "%s; %lld parameters; %lld steps of %lld sequences\n", built.describe.c_str(),
               static_cast<long long>(params), static_cast<long long>(total), static_cast<long long>(batch));
  task.write_tokenizer(out);
  auto save = [&](std::map<std::string, std::string> extra) {
    save_training_checkpoint(out + "/last.safetensors", model, opt, st, meta);
    extra.insert(meta.begin(), meta.end());
    built.save(out, extra);
  };
  const auto t0 = std::chrono::steady_clock::now();
  double loss_avg = 0, acc_avg = 0;
  int64_t run_steps = 0;
  while (st.step < total) {
    Generator length_rng(seed * 7919 + static_cast<uint64_t>(st.step));
    const int64_t len = task.min_len + static_cast<int64_t>(length_rng.next_u64() % (task.max_len - task.min_len + 1));
    const Batch b = task.make(seed, st.step * batch, batch, len);
    opt.zero_grad();
    const Tensor logits = built.logits(b.ids);
    const Tensor loss = cross_entropy(logits, b.targets.to(logits.device()));
    loss.backward();
    const double rate = nn::warmup_cosine(st.step, warmup, total, lr, min_lr);
    opt.step(rate);
    ++st.step;
    ++run_steps;
    const double l = loss.item();
    HATTN_CHECK_INPUT(std::isfinite(l), "lm train: the loss became ", l, " at step ", st.step, "; lower --lr");
    const Tensor pred = argmax(logits.detach(), 1).to(Device::cpu());
    int64_t correct = 0;
    for (int64_t i = 0; i < batch; ++i) correct += pred.data<int64_t>()[i] == b.targets.data<int64_t>()[i];
    loss_avg = run_steps == 1 ? l : 0.95 * loss_avg + 0.05 * l;
    acc_avg = run_steps == 1 ? double(correct) / batch : 0.95 * acc_avg + 0.05 * double(correct) / batch;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double per_step = elapsed / run_steps;
    const int width = 24, filled = static_cast<int>(width * double(st.step) / total);
    std::fprintf(stderr, "\r[%s%s] step %lld/%lld  loss %.3f  acc %5.1f%%  %.0f seq/s  lr %.2e  ETA %s   ",
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 static_cast<long long>(st.step), static_cast<long long>(total), loss_avg, 100 * acc_avg,
                 batch / per_step, rate, hms((total - st.step) * per_step).c_str());
    const bool stop = max_steps > 0 && run_steps >= max_steps;
    if (st.step % eval_every == 0 || stop || st.step == total) {
      const double acc = task_accuracy(task, built.logits, seed, eval_count);
      std::fprintf(stderr, "\nstep %lld: task accuracy %.2f%% on %lld held-out samples (elapsed %s)\n",
                   static_cast<long long>(st.step), 100 * acc, static_cast<long long>(eval_count), hms(elapsed).c_str());
      save({{"task_accuracy", str(acc)}, {"task_accuracy_samples", std::to_string(eval_count)}});
      if (st.step == total) std::printf("Task accuracy: %.1f%%\n", 100 * acc);
    }
    if (stop && st.step < total) {
      std::fprintf(stderr, "stopped after %lld steps; continue with --resume\n", static_cast<long long>(run_steps));
      return 0;
    }
  }
  std::fprintf(stderr, "finished: %s/{config.json, model.safetensors, its tokenizer}\n", out.c_str());
  return 0;
}

}  // namespace ha::app
