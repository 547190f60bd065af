// The bundled weights (models/weights/): a training state is committed once, as the final state of a bundled
// model (for --resume), never mid-schedule: a state must sit beside its model, have finished its schedule and
// carry the model's test accuracy. (Intermediate states made .git grow by 110 MB; they live in out/ now.)
#include <gtest/gtest.h>

#include <filesystem>

#include "models/io/checkpoint.h"

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

}  // namespace
}  // namespace ha::test
