// BERT sequence classifiers against the float64 PyTorch transcription of scripts/make_bert_reference.py (itself
// checked against Hugging Face transformers 4.44.2): the configuration and class names from the files, the
// tokenizer that ships as vocab.txt, logits and every layer's attention, a padded batch, the maps of the explanation
// core for every class (attr: Transformer-Attribution as Chefer's released BERT code runs it), and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "models/init.h"
#include "models/load_bert.h"
#include "models/save_lm.h"
#include "models/text/tokenizer.h"
#include "tensor/npy.h"
#include "tests/test_util.h"
#include "xai/explain.h"
#include "xai/registry.h"

namespace ha::test {
namespace {

const std::string kRef = std::string(HATTN_TEST_DATA) + "/bert_ref/";

TEST(Bert, ConfigurationFromTheFiles) {
  const BertConfig c = load_bert(kRef + "tiny")->config();
  EXPECT_EQ(c.d_model, 32);
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.heads, 4);
  EXPECT_EQ(c.d_ff, 48);
  EXPECT_EQ(c.max_positions, 160);
  EXPECT_EQ(c.labels, 3);
  EXPECT_DOUBLE_EQ(c.eps, 1e-12);
  EXPECT_TRUE(looks_like_bert(kRef + "tiny"));
  EXPECT_FALSE(looks_like_bert(std::string(HATTN_TEST_DATA) + "/neox_ref/parallel"));
  const auto model = xai::load(kRef + "tiny");
  EXPECT_EQ(model->info().key, "bert");
  EXPECT_TRUE(model->info().classifies_tokens());
  EXPECT_EQ(model->info().class_names, (std::vector<std::string>{"negative", "neutral", "positive"}));
}

// The checkpoint ships vocab.txt + tokenizer_config.json only; its [CLS] and [SEP] wrap the text.
TEST(Bert, TokenizerFromVocabTxt) {
  const auto tk = text::load_tokenizer(kRef + "tiny/vocab.txt");
  const std::vector<int64_t> ids = tk->encode("Hello, world!");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(tk->token(ids.front()), "[CLS]");
  EXPECT_EQ(tk->token(ids.back()), "[SEP]");
  EXPECT_EQ(tk->decode(ids), "[CLS] hello, world! [SEP]");
}

TEST(Bert, LogitsAttentionAndPaddedBatchMatchPyTorch) {
  const auto model = load_bert(kRef + "tiny");
  const std::vector<int64_t> ids = load_npy(kRef + "ids.npy").to_vector<int64_t>();
  const int64_t T = static_cast<int64_t>(ids.size());
  BertForwardOptions o;
  o.attentions = true;
  const BertOutput out = model->forward(Tensor::from_vector(ids, {T}), {}, o);
  expect_close_scaled(out.logits.select(0, 0), load_npy(kRef + "logits.npy"), "lm.forward", "logits");
  std::vector<Tensor> layers;
  for (const Tensor& a : out.attentions) layers.push_back(a.select(0, 0));
  expect_close_scaled(stack(layers, 0), load_npy(kRef + "attn.npy"), "xai.attention", "attention");
  // two sequences padded to one length: the mask keeps the padding out of the short one
  const BertOutput batch = model->forward(load_npy(kRef + "batch_ids.npy"), load_npy(kRef + "batch_mask.npy"));
  expect_close_scaled(batch.logits, load_npy(kRef + "batch_logits.npy"), "lm.forward", "padded batch");
}

TEST(Bert, MapsMatchTheReleasedCode) {
  const auto model = xai::load(kRef + "tiny");
  const xai::FamilyInfo& f = model->info();
  const std::vector<int64_t> ids = load_npy(kRef + "ids.npy").to_vector<int64_t>();
  const int64_t T = static_cast<int64_t>(ids.size());
  for (int64_t k = 0; k < f.num_classes; ++k) {
    const xai::Trace t = std::move(model->trace(Tensor::from_vector(ids, {1, T}), {{k, -1}})[0]);
    EXPECT_EQ(t.target, k);
    EXPECT_EQ(t.query, 0);
    for (const xai::MethodSpec& spec : f.methods) {
      if (spec.method == xai::Method::Random) continue;
      const std::string m = xai::method_name(spec.method);
      const Tensor ref = clamp(load_npy(kRef + "map_" + m + "_" + std::to_string(k) + ".npy"), 0, INFINITY);
      expect_close_scaled(xai::explain(t, f, spec.method), ref, "xai.map", str(m, " class ", k));
    }
  }
  // the released code's [CLS] entries: 0 for raw and rollout, the row's minimum for attr
  const xai::Trace t = std::move(model->trace(Tensor::from_vector(ids, {1, T}))[0]);
  EXPECT_EQ(xai::explain(t, f, xai::Method::Raw).to_vector<float>()[0], 0.0f);
  EXPECT_EQ(xai::explain(t, f, xai::Method::Rollout).to_vector<float>()[0], 0.0f);
  const std::vector<float> attr = xai::explain(t, f, xai::Method::Attr).to_vector<float>();
  EXPECT_EQ(attr[0], *std::min_element(attr.begin(), attr.end()));
}

// What save_bert_folder writes (hattn init --config bert-base, lm train) loads back: the same configuration, class
// names and logits.
TEST(Bert, SavedFolderLoadsBack) {
  BertConfig c;
  c.vocab = 40, c.d_model = 16, c.n_layer = 2, c.heads = 2, c.d_ff = 24, c.max_positions = 20, c.labels = 2;
  BertClassifier model(c);
  initialize_parameters(model, 3);
  const std::string dir = ::testing::TempDir() + "/bert_saved";
  std::filesystem::create_directories(dir);
  save_bert_folder(model, dir, {{"note", "test"}}, {"neg", "pos"});
  const auto back = xai::load(dir);
  EXPECT_EQ(back->info().class_names, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(back->info().describe, c.describe());
  const Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 5, 7, 2}, {1, 4});
  EXPECT_EQ(back->logits(ids).to_vector<float>(), model.forward(ids).logits.to_vector<float>());
}

TEST(Bert, RefusesWhatItCannotRead) {
  const auto model = xai::load(kRef + "tiny");
  EXPECT_NE(error_of([&] { model->trace(Tensor::from_vector(std::vector<int64_t>(161, 1), {1, 161})); })
                .find("at most 160"),
            std::string::npos);
  EXPECT_NE(error_of([&] { model->trace(Tensor::from_vector(std::vector<int64_t>{1, 2, 900}, {1, 3})); }).find("900"),
            std::string::npos);
  EXPECT_NE(error_of([&] { model->trace(Tensor::from_vector(std::vector<int64_t>{1, 2}, {1, 2}), {{5, -1}}); })
                .find("class"),
            std::string::npos);
  EXPECT_NE(error_of([&] { xai::explain(model->trace(Tensor::from_vector(std::vector<int64_t>{1, 2}, {1, 2}))[0],
                                        model->info(), xai::Method::Lrp); })
                .find("MambaLRP"),
            std::string::npos);
  const std::string dir = ::testing::TempDir() + "/bert_bad";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kRef + "tiny/model.safetensors", dir + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  std::ifstream in(kRef + "tiny/config.json");
  const std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = cfg;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    std::ofstream(dir + "/config.json") << s;
  };
  with("\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
  EXPECT_NE(error_of([&] { load_bert(dir); }).find("num_attention_heads"), std::string::npos);
  with("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"");
  EXPECT_NE(error_of([&] { load_bert(dir); }).find("hidden_act"), std::string::npos);
  with("\"position_embedding_type\": \"absolute\"", "\"position_embedding_type\": \"relative_key\"");
  EXPECT_NE(error_of([&] { load_bert(dir); }).find("position_embedding_type"), std::string::npos);
  with("\"id2label\": {", "\"id2label\": {\"7\": \"x\", ");
  EXPECT_EQ(xai::load(dir)->info().class_names, (std::vector<std::string>{"0", "1", "2"}));  // not all named: numbers
  std::filesystem::remove(dir + "/config.json");
  EXPECT_FALSE(looks_like_bert(dir));
}

}  // namespace
}  // namespace ha::test
