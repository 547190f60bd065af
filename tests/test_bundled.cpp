// The bundled weights (models/weights/): a training state is committed once, as the final state of a bundled
// model (for --resume), never mid-schedule: a state must sit beside its model, have finished its schedule and
// carry the model's test accuracy. (Intermediate states made .git grow by 110 MB; they live in out/ now.)
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "models/io/checkpoint.h"
#include "models/recall_task.h"
#include "models/sentiment_task.h"
#include "models/text/tokenizer.h"
#include "xai/registry.h"

namespace ha::test {
namespace {

TEST(Bundled, TrainingStatesAreFinal) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(HATTN_TEST_DATA) / ".." / ".." / "models" / "weights";
  const std::string suffix = "_train_state.safetensors";
  int states = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    ++states;
    const fs::path model = dir / (name.substr(0, name.size() - suffix.size()) + ".safetensors");
    ASSERT_TRUE(fs::exists(model)) << name << ": a training state without its bundled model " << model.filename();
    const auto state = open_safetensors(entry.path().string()).metadata();
    const auto bundled = open_safetensors(model.string()).metadata();
    auto get = [&](const std::map<std::string, std::string>& m, const std::string& key) {
      auto it = m.find(key);
      return it == m.end() ? std::string("(missing)") : it->second;
    };
    EXPECT_EQ(get(state, "train.epoch"), get(state, "train.epochs")) << name << ": stopped mid-schedule";
    EXPECT_EQ(get(state, "train.next_index"), "0") << name << ": stopped inside an epoch";
    EXPECT_EQ(get(state, "test_accuracy"), get(bundled, "test_accuracy"))
        << name << ": not the state the bundled model " << model.filename() << " was saved from";
  }
  std::cout << "  " << states << " training states checked\n";
  EXPECT_GT(states, 0) << "no training state found in " << dir;
}

// The bundled sentiment classifiers (their cards: models/weights/sentiment_*/README.md) read the held-out reviews
// with their own vocab.txt and classify them as their cards say (100% of 1,000; here at least 99% of the first 200,
// a margin no float rounding between machines crosses on a model that sure of itself).
TEST(Bundled, SentimentClassifiersKeepTheirAccuracy) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(HATTN_TEST_DATA) / ".." / ".." / "models" / "weights";
  for (const char* name : {"sentiment_bert", "sentiment_mamba1", "sentiment_mamba2"}) {
    const auto model = xai::load((dir / name).string());
    EXPECT_TRUE(model->info().classifies_tokens()) << name;
    EXPECT_EQ(model->info().class_names, (std::vector<std::string>{"negative", "positive"})) << name;
    const auto tk = text::load_tokenizer((dir / name / "vocab.txt").string());
    int64_t correct = 0;
    for (int64_t i = 0; i < 200; ++i) {
      const SentimentSample s = sentiment_sample(kSentimentEvalSeedOffset, i);
      ASSERT_EQ(tk->encode(s.text), s.ids) << name;
      const std::vector<float> z =
          model->logits(Tensor::from_vector(s.ids, {1, static_cast<int64_t>(s.ids.size())})).to_vector<float>();
      correct += (z[1] > z[0]) == (s.label == 1);
    }
    EXPECT_GE(correct, 198) << name;
  }
}

// The bundled recall language models (cards: models/weights/recall_*/README.md) read the held-out questions of
// 8 pairs (hattn lm eval's) with their own tokenizer.json and answer them about as often as their cards say. The
// bound sits a few questions under each model's count on these 200 (printed): only questions the model is unsure
// of can flip with float rounding between machines, and a model that lost its recall falls far below it.
TEST(Bundled, RecallModelsKeepTheirAccuracy) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(HATTN_TEST_DATA) / ".." / ".." / "models" / "weights";
  struct Case {
    const char* name;
    int64_t at_least;  // of 200
  };
  for (const Case& c : {Case{"recall_mamba1", 175}, Case{"recall_mamba2", 190}, Case{"recall_gpt_neox", 195}}) {
    const auto model = xai::load((dir / c.name).string());
    EXPECT_FALSE(model->info().classifies_tokens()) << c.name;
    const auto tk = text::load_tokenizer((dir / c.name / "tokenizer.json").string());
    int64_t correct = 0;
    for (int64_t i = 0; i < 200; ++i) {
      const RecallSample s = recall_sample(kRecallEvalSeed, 1000000 + i, 8);
      ASSERT_EQ(tk->encode(s.text()), s.ids) << c.name;
      const int64_t T = static_cast<int64_t>(s.ids.size());
      const std::vector<float> z = model->logits(Tensor::from_vector(s.ids, {1, T})).select(0, T - 1).to_vector<float>();
      correct += std::max_element(z.begin(), z.end()) - z.begin() == s.answer;
    }
    std::cout << "  " << c.name << ": " << correct << " of 200\n";
    EXPECT_GE(correct, c.at_least) << c.name;
  }
}

}  // namespace
}  // namespace ha::test
