// hattn lm train: trains a small Mamba-1 or Mamba-2 language model on the synthetic associative-recall task
// (models/recall_task.h) with AdamW, warm-up + cosine, periodic evaluation and resumable checkpoints. Writes a
// model folder (config.json, model.safetensors, tokenizer.json) that every `hattn lm` command reads.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "apps/common.h"
#include "models/init.h"
#include "models/recall_task.h"
#include "models/save_lm.h"
#include "models/train.h"
#include "ops/ops.h"
#include "tensor/atomic_write.h"
#include "tensor/cuda/cuda_memory.h"
#include "tensor/random.h"

namespace ha::app {
namespace {

// Seeds of the training and evaluation streams: disjoint sample sets.
constexpr uint64_t kEvalSeedOffset = 1000003;

struct RecallBatch {
  Tensor ids, answers;
};

RecallBatch recall_batch(uint64_t seed, int64_t first, int64_t batch, int64_t pairs) {
  std::vector<int64_t> ids, answers;
  for (int64_t b = 0; b < batch; ++b) {
    const RecallSample s = recall_sample(seed, first + b, pairs);
    ids.insert(ids.end(), s.ids.begin(), s.ids.end());
    answers.push_back(s.answer);
  }
  return {Tensor::from_vector(ids, {batch, 2 * pairs + 2}), Tensor::from_vector(answers, {batch})};
}

// The logits of the next token after the last position: (B, V).
Tensor answer_logits(const MambaLM& model, const Tensor& ids) {
  return model.forward(ids).logits.select(1, ids.size(1) - 1);
}

}  // namespace

double recall_accuracy(const MambaLM& model, uint64_t seed, int64_t count, int64_t pairs_min, int64_t pairs_max) {
  NoGradGuard no_grad;
  int64_t correct = 0;
  const int64_t batch = 100;
  for (int64_t at = 0; at < count; at += batch) {
    const int64_t n = std::min(batch, count - at);
    const int64_t pairs = pairs_min + (at / batch) % (pairs_max - pairs_min + 1);  // every length in turn
    const RecallBatch rb = recall_batch(seed + kEvalSeedOffset, at, n, pairs);
    const Tensor pred = argmax(answer_logits(model, rb.ids), 1).to(Device::cpu());
    for (int64_t b = 0; b < n; ++b) correct += pred.data<int64_t>()[b] == rb.answers.data<int64_t>()[b];
  }
  return count ? double(correct) / double(count) : 0.0;
}

int run_lm_train(int argc, char** argv) {
  Args args("lm train", "Train a small Mamba-1 or Mamba-2 language model on the associative-recall task "
                        "(\"a3k7q1m9|k\" -> \"7\").");
  args.option("task", "recall", "the task (recall)")
      .option("arch", "mamba1", "mamba1 | mamba2")
      .option("out", "out/lm_train", "model folder: config.json, model.safetensors, tokenizer.json, last.safetensors")
      .option("width", "64", "model width D (the inner width is 2D)")
      .option("layers", "2", "number of layers")
      .option("d-state", "16", "state size N")
      .option("headdim", "16", "mamba2: channels per head")
      .option("pairs", "4:10", "key-value pairs per sample, MIN:MAX (each batch draws one length)")
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
  if (args.get("task") != "recall") throw UsageError("--task: only 'recall' is defined");
  const std::string arch = args.get("arch");
  if (arch != "mamba1" && arch != "mamba2") throw UsageError("--arch must be mamba1 or mamba2");
  const std::string pairs_s = args.get("pairs");
  const size_t colon = pairs_s.find(':');
  int64_t pmin = 0, pmax = 0;
  try {
    pmin = std::stoll(pairs_s.substr(0, colon));
    pmax = colon == std::string::npos ? pmin : std::stoll(pairs_s.substr(colon + 1));
  } catch (const std::exception&) {
    throw UsageError("--pairs expects MIN:MAX, got '" + pairs_s + "'");
  }
  if (pmin < 1 || pmax < pmin || pmax > 26) throw UsageError("--pairs must satisfy 1 <= MIN <= MAX <= 26");
  LmConfig c;
  c.family = arch == "mamba1" ? LmFamily::Mamba1 : LmFamily::Mamba2;
  c.d_model = args.get_int("width");
  c.n_layer = args.get_int("layers");
  c.d_state = args.get_int("d-state");
  if (c.d_model <= 0 || c.n_layer <= 0 || c.d_state <= 0) throw UsageError("--width, --layers, --d-state must be > 0");
  c.vocab = 256;  // byte tokens
  c.d_inner = 2 * c.d_model;
  c.d_conv = 4;
  c.dt_rank = (c.d_model + 15) / 16;
  const int64_t headdim = args.get_int("headdim");
  if (c.family == LmFamily::Mamba2) {
    if (headdim <= 0 || c.d_inner % headdim) throw UsageError(str("--headdim must divide the inner width ", c.d_inner));
    c.nheads = c.d_inner / headdim;
    c.ngroups = 1;
  }
  c.tied = true;
  const std::string out = args.get("out");
  make_output_dir(out);
  MambaLM model(c);
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed"));
  initialize_parameters(model, seed);
  TrainState st;
  const std::unique_ptr<nn::AdamW> optimizer = start_training(model, args, out + "/last.safetensors", st);
  nn::AdamW& opt = *optimizer;
  if (args.has("resume")) std::fprintf(stderr, "resumed at step %lld\n", static_cast<long long>(st.step));
  const int64_t total = args.get_int("steps"), batch = args.get_int("batch"), warmup = args.get_int("warmup");
  const int64_t eval_every = args.get_int("eval-every"), eval_count = args.get_int("eval-count");
  const int64_t max_steps = args.get_int("max-steps");
  if (total <= 0 || batch <= 0 || eval_every <= 0 || eval_count <= 0) throw UsageError("counts must be > 0");
  const double lr = std::stod(args.get("lr")), min_lr = std::stod(args.get("min-lr"));
  std::map<std::string, std::string> meta = {{"train.command", "hattn lm train"}, {"family", lm_family_name(c.family)}};
  for (const char* k : {"task", "arch", "width", "layers", "d-state", "headdim", "pairs", "steps", "batch", "lr",
                        "min-lr", "weight-decay", "warmup", "seed"})
    meta[std::string("train.") + k] = args.get(k);
  std::fprintf(stderr, "%s; %lld parameters; %lld steps of %lld sequences\n", c.describe().c_str(),
               static_cast<long long>(model.parameter_count()), static_cast<long long>(total),
               static_cast<long long>(batch));
  const std::string tokenizer = byte_tokenizer_json();
  write_file_atomically(out + "/tokenizer.json", [&](std::ostream& os) { os << tokenizer; });
  auto save = [&](std::map<std::string, std::string> extra) {
    save_training_checkpoint(out + "/last.safetensors", model, opt, st, meta);
    extra.insert(meta.begin(), meta.end());
    save_lm_folder(model, out, extra);
  };
  const auto t0 = std::chrono::steady_clock::now();
  double loss_avg = 0, acc_avg = 0;
  int64_t run_steps = 0;
  while (st.step < total) {
    Generator length_rng(seed * 7919 + static_cast<uint64_t>(st.step));
    const int64_t pairs = pmin + static_cast<int64_t>(length_rng.next_u64() % (pmax - pmin + 1));
    const RecallBatch rb = recall_batch(seed, st.step * batch, batch, pairs);
    opt.zero_grad();
    const Tensor logits = answer_logits(model, rb.ids);
    const Tensor loss = cross_entropy(logits, rb.answers.to(logits.device()));
    loss.backward();
    const double rate = nn::warmup_cosine(st.step, warmup, total, lr, min_lr);
    opt.step(rate);
    ++st.step;
    ++run_steps;
    const double l = loss.item();
    HATTN_CHECK_INPUT(std::isfinite(l), "lm train: the loss became ", l, " at step ", st.step, "; lower --lr");
    const Tensor pred = argmax(logits.detach(), 1).to(Device::cpu());
    int64_t correct = 0;
    for (int64_t b = 0; b < batch; ++b) correct += pred.data<int64_t>()[b] == rb.answers.data<int64_t>()[b];
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
      const double acc = recall_accuracy(model, seed, eval_count, pmin, pmax);
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
  std::fprintf(stderr, "finished: %s/{config.json, model.safetensors, tokenizer.json}\n", out.c_str());
  return 0;
}

}  // namespace ha::app
