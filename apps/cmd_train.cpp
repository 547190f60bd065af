// hattn train: trains a small Vim on the cluttered Fashion-MNIST set (models/cluttered.h) with AdamW,
// warm-up + cosine, label smoothing, a fresh clutter arrangement every epoch, periodic evaluation and
// resumable safetensors checkpoints.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "apps/common.h"
#include "models/io/json.h"
#include "models/builders.h"
#include "models/train.h"
#include "ops/ops.h"
#include "tensor/cuda/cuda_memory.h"
#include "tensor/random.h"

namespace ha::app {

namespace {

std::string class_names_json() {
  std::string s = "[";
  const auto& names = ClutteredFashion::class_names();
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + json::quote(names[i]);
  return s + "]";
}

}  // namespace

int run_train(int argc, char** argv) {
  Args args("train", "Train a small Vision Mamba, or a DeiT-style ViT, (patch 4, 56x56, 197 tokens) on cluttered "
                     "Fashion-MNIST.");
  args.option("data", ClutteredFashion::default_dir(), "folder with Fashion-MNIST's IDX files")
      .option("out", "out/train", "output folder: last.safetensors (resumable) and model.safetensors")
      .option("arch", "vim", "vim (Vision Mamba, middle cls token) | vit (DeiT-style ViT, cls first, MLP 4D)")
      .option("heads", "", "vit: attention heads (default: width / 32)")
      .option("width", "64", "model width D")
      .option("depth", "6", "number of blocks")
      .option("epochs", "4", "epochs over the 60,000 training items (a new clutter arrangement each epoch)")
      .option("batch", "32", "minibatch size")
      .option("lr", "0.001", "peak learning rate")
      .option("min-lr", "0.00001", "final learning rate of the cosine schedule")
      .option("weight-decay", "0.05", "AdamW decoupled weight decay")
      .option("smoothing", "0.1", "label smoothing")
      .option("warmup", "300", "warm-up steps")
      .option("seed", "0", "seed of initialisation and shuffling")
      .option("limit", "0", "use only the first N training items (0: all)")
      .option("eval-every", "500", "evaluate every N steps")
      .option("eval-limit", "1000", "test items per evaluation")
      .option("max-steps", "0", "stop after N steps in this run (0: run to the end); resume later with --resume")
      .option("device", "cpu", "where training runs: cpu | cuda | cuda:N")
      .flag("resume", "continue from OUT/last.safetensors");
  if (!args.parse(argc, argv)) return 0;
  const std::string out = args.get("out");
  make_output_dir(out);
  ClutteredFashion train(args.get("data"), "train", 0), test(args.get("data"), "test", 1);

  const std::string arch = args.get("arch");
  if (!is_cluttered_architecture(arch))
    throw UsageError("--arch must be one of " + join(cluttered_architectures(), ", ") + ", got '" + arch + "'");
  if (args.get_int("width") <= 0 || args.get_int("depth") <= 0) throw UsageError("--width and --depth must be positive");
  const int64_t heads = args.has("heads") ? args.get_int("heads") : 0;
  if (args.has("heads") && heads <= 0) throw UsageError("--heads must be positive");
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed"));
  const int64_t classes = static_cast<int64_t>(ClutteredFashion::class_names().size());
  // the model: a module to optimise, its forward, its configuration entries for the files we write
  const BuiltModel built = build_cluttered_model(arch, args.get_int("width"), args.get_int("depth"), heads,
                                                 classes, seed);
  nn::Module& model = *built.module;
  const LogitsFn logits_of = built.logits;
  const std::map<std::string, std::string>& config_meta = built.metadata;
  const std::string& describe = built.describe;
  TrainState st;
  const std::unique_ptr<nn::AdamW> optimizer = start_training(model, args, out + "/last.safetensors", st);
  nn::AdamW& opt = *optimizer;
  if (args.has("resume"))
    std::fprintf(stderr, "resumed at step %lld (epoch %lld)\n", static_cast<long long>(st.step),
                 static_cast<long long>(st.epoch));
  const int64_t n_train = args.get_int("limit") > 0 ? std::min(args.get_int("limit"), train.size()) : train.size();
  const int64_t batch = args.get_int("batch"), epochs = args.get_int("epochs");
  const int64_t steps_per_epoch = (n_train + batch - 1) / batch, total = steps_per_epoch * epochs;
  const double lr = std::stod(args.get("lr")), min_lr = std::stod(args.get("min-lr")),
               smoothing = std::stod(args.get("smoothing"));
  const int64_t warmup = args.get_int("warmup"), eval_every = args.get_int("eval-every"),
                eval_limit = args.get_int("eval-limit"), max_steps = args.get_int("max-steps");
  std::map<std::string, std::string> meta = {{"class_names", class_names_json()},
                                             {"data", "cluttered Fashion-MNIST 56x56 (models/cluttered.h)"},
                                             {"train.command", "hattn train"}};
  for (const char* k : {"arch", "width", "depth", "epochs", "batch", "lr", "min-lr", "weight-decay", "smoothing", "warmup",
                        "seed", "limit"})
    meta[std::string("train.") + k] = args.get(k);
  meta.insert(config_meta.begin(), config_meta.end());
  if (const std::string h = training_history(st, meta); !h.empty()) meta["train.history"] = h;
  std::fprintf(stderr, "%s; %lld parameters; %lld steps of %lld (%lld epochs)\n", describe.c_str(),
               static_cast<long long>(model.parameter_count()), static_cast<long long>(total), static_cast<long long>(batch),
               static_cast<long long>(epochs));

  auto t0 = std::chrono::steady_clock::now();
  double loss_avg = 0, acc_avg = 0;
  int64_t run_steps = 0;
  auto save = [&] {
    save_training_checkpoint(out + "/last.safetensors", model, opt, st, meta);
    save_safetensors(out + "/model.safetensors", model.named_parameters(), meta);
  };
  while (st.epoch < epochs) {
    // seeded shuffle of this epoch
    std::vector<int64_t> order(n_train);
    std::iota(order.begin(), order.end(), 0);
    Generator shuffle(seed * 1000003 + st.epoch);
    for (int64_t i = n_train - 1; i > 0; --i) std::swap(order[i], order[shuffle.next_u64() % (i + 1)]);
    for (; st.next_index < n_train; st.next_index += batch) {
      std::vector<ClutteredSample> samples;
      for (int64_t i = st.next_index; i < std::min(n_train, st.next_index + batch); ++i)
        samples.push_back(train.get(order[i], st.epoch + 1));
      Tensor images, labels;
      make_batch(samples, images, labels);
      opt.zero_grad();
      Tensor logits = logits_of(images);
      Tensor loss = cross_entropy(logits, labels, smoothing);
      loss.backward();
      const double rate = nn::warmup_cosine(st.step, warmup, total, lr, min_lr);
      opt.step(rate);
      ++st.step;
      ++run_steps;
      const double l = loss.item();
      HATTN_CHECK_INPUT(std::isfinite(l), "train: the loss became ", l, " at step ", st.step, "; lower --lr");
      Tensor pred = argmax(logits.detach().to(Device::cpu()), 1);
      int64_t correct = 0;
      for (int64_t b = 0; b < labels.numel(); ++b) correct += pred.data<int64_t>()[b] == labels.data<int64_t>()[b];
      loss_avg = run_steps == 1 ? l : 0.98 * loss_avg + 0.02 * l;
      acc_avg = run_steps == 1 ? double(correct) / labels.numel() : 0.98 * acc_avg + 0.02 * double(correct) / labels.numel();
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double per_step = elapsed / run_steps;
      const int64_t left = (max_steps > 0 ? std::min(total, st.step - run_steps + max_steps) : total) - st.step;
      const int width = 24, filled = static_cast<int>(width * double(st.step) / total);
      std::fprintf(stderr, "\r[%s%s] step %lld/%lld epoch %lld  loss %.3f  acc %5.1f%%  %.0f img/s  lr %.2e  ETA %s   ",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   static_cast<long long>(st.step), static_cast<long long>(total), static_cast<long long>(st.epoch + 1),
                   loss_avg, 100 * acc_avg, batch / per_step, rate, hms(left * per_step).c_str());
      const bool stop = max_steps > 0 && run_steps >= max_steps;
      if (st.step % eval_every == 0 || stop) {
        st.next_index += batch;  // the saved position is after this batch
        const double acc = evaluate_accuracy(logits_of, test, eval_limit, 64);
        std::fprintf(stderr, "\nstep %lld: test accuracy %.2f%% on %lld items (elapsed %s)\n",
                     static_cast<long long>(st.step), 100 * acc, static_cast<long long>(std::min(eval_limit, test.size())),
                     hms(elapsed).c_str());
        save();
        st.next_index -= batch;
      }
      if (stop) {
        std::fprintf(stderr, "stopped after %lld steps; continue with --resume\n", static_cast<long long>(run_steps));
        return 0;
      }
    }
    st.next_index = 0;
    ++st.epoch;
  }
  const double acc = evaluate_accuracy(logits_of, test, test.size(), 64, [](int64_t d, int64_t n) {
    std::fprintf(stderr, "\rfinal evaluation %lld/%lld", static_cast<long long>(d), static_cast<long long>(n));
  });
  meta["test_accuracy"] = str(acc);
  save();
  std::fprintf(stderr, "\nfinished: test accuracy %.2f%% on %lld items; weights in %s/model.safetensors\n", 100 * acc,
               static_cast<long long>(test.size()), out.c_str());
  std::printf("Test accuracy: %.1f%%\n", 100 * acc);
  return 0;
}

}  // namespace ha::app
