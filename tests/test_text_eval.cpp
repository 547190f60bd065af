// The text protocols (docs/definitions.md §11): the data sets' items (IMDb's order and specials, ARC-Easy's prompt,
// choices and stem positions), the token-perturbation arithmetic against a hand computation, and one item scored
// end to end against a second, naive computation from the model's logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>

#include "models/io/sha256.h"
#include "models/text/tokenizer.h"
#include "models/sentiment_task.h"
#include "models/text_tasks.h"
#include "tests/test_util.h"
#include "xai/registry.h"
#include "xai/text_evaluate.h"
#include "xai/token_ranking.h"

namespace ha::test {
namespace {

const std::string kData = std::string(HATTN_TEST_DATA) + "/";
const std::string kTasks = kData + "text_tasks/";

TEST(TextTasks, ImdbItemsAlternateInByteOrderWithinTheSpecials) {
  const auto tk = text::load_tokenizer(kData + "bert_ref/tiny/vocab.txt");
  const std::vector<TextItem> items = load_text_items(kTasks + "aclImdb", *tk, -1, 512);
  std::vector<std::string> names;
  for (const TextItem& it : items) names.push_back(it.name);
  // byte order: "10_3" sorts before "1_1"; neg, pos, neg, pos, then the rest of neg; notes.md is no review
  EXPECT_EQ(names, (std::vector<std::string>{"neg/0_2.txt", "pos/0_9.txt", "neg/10_3.txt", "pos/1_10.txt", "neg/1_1.txt"}));
  EXPECT_EQ(items[1].correct, 1);
  EXPECT_EQ(items[1].target, 1);
  EXPECT_EQ(items[0].correct, 0);
  for (const TextItem& it : items) {
    EXPECT_EQ(tk->token(it.ids.front()), "[CLS]");
    EXPECT_EQ(tk->token(it.ids.back()), "[SEP]");
    std::vector<int64_t> inner(it.ids.size() - 2);
    std::iota(inner.begin(), inner.end(), 1);
    EXPECT_EQ(it.perturbable, inner) << it.name;  // every token but the specials
  }
  const std::vector<TextItem> cut = load_text_items(kTasks + "aclImdb", *tk, 2, 5);
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_EQ(cut[0].ids.size(), 5u);  // [CLS] + 3 + [SEP]
  EXPECT_EQ(tk->token(cut[0].ids.back()), "[SEP]");
  EXPECT_NE(error_of([&] { load_text_items(kTasks + "missing", *tk, -1, 512); }).find("no such file or folder"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_text_items(kTasks, *tk, -1, 512); }).find("test/neg"), std::string::npos);
}

TEST(TextTasks, ArcPromptChoicesAndStemPositions) {
  const auto tk = text::load_tokenizer(kData + "../../models/weights/recall_mamba1/tokenizer.json");
  const std::vector<TextItem> items = load_text_items(kTasks + "arc_easy.jsonl", *tk, -1, 512);
  ASSERT_EQ(items.size(), 3u);  // the blank line is skipped
  EXPECT_EQ(items[1].name, "Q2");
  EXPECT_EQ(items[1].correct, 1);  // answerKey "2" is the second choice
  EXPECT_EQ(items[1].continuations.size(), 4u);
  EXPECT_EQ(tk->decode(items[1].continuations[1]), " ice");
  EXPECT_EQ(items[1].target, items[1].continuations[1][0]);
  for (const TextItem& it : items) {
    const std::string prompt = tk->decode(it.ids);
    ASSERT_EQ(prompt.rfind("Question: ", 0), 0u);
    // the perturbable tokens are exactly those starting (leading spaces trimmed) inside the stem
    std::vector<int64_t> want;
    size_t at = 0;
    for (size_t i = 0; i < it.ids.size(); ++i) {
      const std::string b = tk->token_bytes(it.ids[i]);
      const size_t start = at + std::min(b.find_first_not_of(' '), b.size());
      if (start >= 10 && start < prompt.size() - 8) want.push_back(static_cast<int64_t>(i));
      at += b.size();
    }
    EXPECT_EQ(it.perturbable, want) << it.name;
    std::vector<int64_t> stem;
    for (int64_t p : it.perturbable) stem.push_back(it.ids[p]);
    auto trimmed = [](const std::string& s) { return s.substr(std::min(s.find_first_not_of(' '), s.size())); };
    EXPECT_EQ(trimmed(tk->decode(stem)), trimmed(prompt.substr(10, prompt.size() - 18))) << it.name;
  }
}

TEST(TokenPerturbation, OrderStepsAndAreasByHand) {
  // relevance over 6 tokens, P = {1, 2, 3, 4} with a tie between 2 and 4
  const std::vector<float> r = {9, 0.5f, 2, -3, 2, 7};
  const std::vector<int64_t> P = {4, 1, 3, 2};
  EXPECT_EQ(xai::token_order(r, P, xai::TokenTest::Activation), (std::vector<int64_t>{2, 4, 1, 3}));
  EXPECT_EQ(xai::token_order(r, P, xai::TokenTest::Pruning), (std::vector<int64_t>{1, 2, 4, 3}));
  const std::vector<int64_t> ids = {10, 11, 12, 13, 14, 15};
  const auto act = xai::perturbed_inputs(ids, P, r, xai::TokenTest::Activation, 0);
  ASSERT_EQ(act.size(), 11u);
  EXPECT_EQ(act[0], (std::vector<int64_t>{10, 0, 0, 0, 0, 15}));
  EXPECT_EQ(act[3], (std::vector<int64_t>{10, 0, 12, 0, 0, 15}));   // n_3 = floor(12/10) = 1
  EXPECT_EQ(act[5], (std::vector<int64_t>{10, 0, 12, 0, 14, 15}));  // n_5 = 2
  EXPECT_EQ(act[10], ids);
  const auto pr = xai::perturbed_inputs(ids, P, r, xai::TokenTest::Pruning, 0);
  EXPECT_EQ(pr[0], ids);
  EXPECT_EQ(pr[8], (std::vector<int64_t>{10, 0, 0, 13, 0, 15}));  // n_8 = 3: positions 1, 2, 4
  EXPECT_EQ(pr[10], (std::vector<int64_t>{10, 0, 0, 0, 0, 15}));
  // v_k and the trapezoid
  std::vector<std::vector<double>> y(11, {0.0, std::log(3.0)});  // softmax [1/4, 3/4]
  const std::vector<double> clean = {1.0, 1.0};
  const std::vector<double> p = xai::step_values(xai::TokenTest::Activation, y, clean, 1);
  EXPECT_NEAR(p[4], 0.75, 1e-15);
  EXPECT_NEAR(xai::token_area(p), 0.75, 1e-15);
  const std::vector<double> m = xai::step_values(xai::TokenTest::Pruning, y, clean, 1);
  EXPECT_NEAR(m[0], (1.0 + std::pow(1.0 - std::log(3.0), 2)) / 2, 1e-15);
  std::vector<double> ramp(11);
  for (int k = 0; k <= 10; ++k) ramp[k] = k / 10.0;
  EXPECT_NEAR(xai::token_area(ramp), 0.5, 1e-15);
}

// One IMDb item through BERT, and one ARC question through a Mamba LM, against the definitions computed here from
// the model's logits alone.
TEST(TokenPerturbation, AnItemEndToEndEqualsANaiveComputation) {
  struct Case {
    std::string model, tokenizer, data;
    xai::TokenTest test;
  };
  const std::vector<Case> cases = {
      {kData + "bert_ref/tiny", kData + "bert_ref/tiny/vocab.txt", kTasks + "aclImdb", xai::TokenTest::Activation},
      {kData + "../../models/weights/recall_mamba1", kData + "../../models/weights/recall_mamba1/tokenizer.json",
       kTasks + "arc_easy.jsonl", xai::TokenTest::Pruning}};
  for (const Case& c : cases) {
    const auto model = xai::load(c.model);
    const xai::FamilyInfo& f = model->info();
    const auto tk = text::load_tokenizer(c.tokenizer);
    const TextItem item = load_text_items(c.data, *tk, 1, 512)[0];
    const std::vector<xai::EvalMethod> methods = xai::parse_eval_methods(f, "rollout,saliency");
    xai::TextEvalCounts counts;
    xai::evaluate_text_item(*model, item, methods, c.test, 0, 7, counts);
    // naive: the scores from logits, the order by sorting (value, position) pairs, the trapezoid by hand
    auto scores = [&](const std::vector<int64_t>& x) {
      std::vector<double> y;
      if (f.classifies_tokens()) {
        for (float v : model->logits(Tensor::from_vector(x, {1, static_cast<int64_t>(x.size())})).to_vector<float>())
          y.push_back(v);
        return y;
      }
      for (const auto& cont : item.continuations) {
        std::vector<int64_t> s = x;
        s.insert(s.end(), cont.begin(), cont.end());
        const Tensor lg = model->logits(Tensor::from_vector(s, {1, static_cast<int64_t>(s.size())}));
        double lp = 0;
        for (size_t j = 0; j < cont.size(); ++j) {
          const std::vector<float> row = lg.select(0, static_cast<int64_t>(x.size() + j) - 1).to_vector<float>();
          double z = 0;
          for (float v : row) z += std::exp(double(v));
          lp += double(row[cont[j]]) - std::log(z);
        }
        y.push_back(lp);
      }
      return y;
    };
    const std::vector<double> clean = scores(item.ids);
    const int64_t T = static_cast<int64_t>(item.ids.size());
    const xai::Target target{item.target, f.classifies_tokens() ? -1 : T - 1};
    const xai::Trace t = std::move(model->trace(Tensor::from_vector(item.ids, {1, T}), {target})[0]);
    for (const xai::EvalMethod& m : methods) {
      const std::vector<float> r = xai::explain(t, f, m.method).to_vector<float>();
      std::vector<std::pair<double, int64_t>> keyed;
      for (int64_t p : item.perturbable)
        keyed.push_back({c.test == xai::TokenTest::Activation ? -double(r[p]) : std::abs(double(r[p])), p});
      std::sort(keyed.begin(), keyed.end());
      const int64_t n = static_cast<int64_t>(keyed.size());
      double area = 0, prev = 0;
      for (int k = 0; k <= 10; ++k) {
        std::vector<int64_t> x = item.ids;
        const int64_t nk = k * n / 10;
        for (int64_t i = 0; i < n; ++i) {
          const bool restored = i < nk;
          if (c.test == xai::TokenTest::Activation ? !restored : restored) x[keyed[i].second] = 0;
        }
        const std::vector<double> y = scores(x);
        double v = 0;
        if (c.test == xai::TokenTest::Activation) {
          double z = 0;
          for (double s : y) z += std::exp(s);
          v = std::exp(y[item.correct]) / z;
        } else {
          for (size_t j = 0; j < y.size(); ++j) v += (clean[j] - y[j]) * (clean[j] - y[j]) / double(y.size());
        }
        if (k > 0) area += (prev + v) / 2 / 10;
        prev = v;
      }
      const double got = counts.curves.at(m.label).mean_area();
      EXPECT_NEAR(got, area, 1e-9 * std::max(1.0, std::abs(area))) << c.model << " " << m.label;
    }
    EXPECT_EQ(counts.items, 1);
    // the perturbed copies in batches: the same areas up to float32 rounding
    xai::TextEvalCounts batched;
    xai::evaluate_text_item(*model, item, methods, c.test, 0, 7, batched, 11);
    for (const xai::EvalMethod& m : methods) {
      const double a = counts.curves.at(m.label).mean_area(), b = batched.curves.at(m.label).mean_area();
      EXPECT_NEAR(b, a, 1e-4 * std::max(1.0, std::abs(a))) << c.model << " " << m.label << " batched";
    }
  }
}

// Every token family's batched logits equal its logits of each sequence alone (one forward over the batch), with
// every row as long as the batch and with rows of different lengths right-padded (BERT masks the padding; the
// decoders' classifiers read each row where it ends).
TEST(TokenPerturbation, BatchLogitsEqualOneByOne) {
  for (const std::string& path : {kData + "bert_ref/tiny", kData + "classifier_ref/neox", kData + "classifier_ref/mamba2",
                                  kData + "classifier_ref/mamba1", kData + "neox_ref/parallel", kData + "lm_ref/mamba1_hf"}) {
    const auto model = xai::load(path);
    const int64_t V = model->info().vocab;
    std::vector<int64_t> flat;
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t t = 0; t < 7; ++t) flat.push_back((b * 11 + t * 5 + 1) % V);
    const Tensor ids = Tensor::from_vector(flat, {3, 7});
    for (const std::vector<int64_t>& lengths : {std::vector<int64_t>{}, std::vector<int64_t>{7, 2, 5}}) {
      const Tensor all = model->batch_logits(ids, lengths);
      for (int64_t b = 0; b < 3; ++b) {
        const int64_t L = lengths.empty() ? 7 : lengths[b];
        const Tensor one = model->logits(ids.narrow(0, b, 1).narrow(1, 0, L).contiguous());
        const Tensor got = model->info().classifies_tokens() ? all.select(0, b) : all.select(0, b).narrow(0, 0, L);
        expect_close_scaled(got.reshape(one.shape()), one, "lm.forward",
                            path + " row " + std::to_string(b) + " of " + std::to_string(L) + " tokens");
      }
    }
    EXPECT_NE(error_of([&] { model->batch_logits(ids, {7, 0, 5}); }).find("a sequence of 0 tokens"), std::string::npos);
    EXPECT_NE(error_of([&] { model->batch_logits(ids, {7, 5}); }).find("2 lengths for 3"), std::string::npos);
  }
}

// Scoring in padded batches across items, choices and methods gives the counts of scoring item by item.
TEST(TokenPerturbation, ItemsInPaddedBatchesEqualOneByOne) {
  struct Case {
    std::string model, data;
  };
  for (const Case& c : {Case{"models/weights/recall_mamba1", "recall"}, Case{"models/weights/sentiment_bert", "sentiment"}}) {
    const auto model = xai::load(kData + "../../" + c.model);
    const auto tk = text::load_tokenizer(text::tokenizer_in_folder(kData + "../../" + c.model));
    const std::vector<TextItem> items = load_text_items(c.data, *tk, 5, 512);
    const std::vector<xai::EvalMethod> methods = xai::parse_eval_methods(model->info(), "rollout,random");
    for (const std::optional<xai::TokenTest> test :
         {std::optional<xai::TokenTest>(xai::TokenTest::Pruning), std::optional<xai::TokenTest>()}) {
      xai::TextEvalCounts one, grouped;
      std::vector<xai::SeededItem> group;
      for (size_t i = 0; i < items.size(); ++i) {
        xai::evaluate_text_item(*model, items[i], methods, test, 0, i, one, 1);
        group.push_back({&items[i], i});
      }
      xai::evaluate_text_items(*model, group, methods, test, 0, grouped, 16);
      EXPECT_EQ(grouped.items, one.items) << c.model;
      EXPECT_EQ(grouped.correct, one.correct) << c.model;
      ASSERT_EQ(grouped.curves.size(), one.curves.size()) << c.model;
      for (const auto& [label, curve] : one.curves) {
        const xai::TokenCurve& g = grouped.curves.at(label);
        EXPECT_EQ(g.items, curve.items);
        // float32 logits of the same sequences in other batches: their rounding, relative to the areas' scale
        EXPECT_NEAR(g.area, curve.area, 1e-4 * std::max(1.0, std::abs(curve.area))) << c.model << " " << label;
      }
    }
  }
}

// The synthetic sentiment set: a pure function of (seed, index); the majority of its polar words decides the label;
// evidence and distractors point at words of each polarity; the vocabulary's WordPiece tokenizer reads the text back
// to the sample's ids.
TEST(SentimentTask, SamplesFollowTheirDefinition) {
  const std::string dir = ::testing::TempDir() + "/sentiment_vocab";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/vocab.txt") << sentiment_vocab_txt();
  std::ofstream(dir + "/tokenizer_config.json") << sentiment_tokenizer_config();
  const auto tk = text::load_tokenizer(dir + "/vocab.txt");
  EXPECT_EQ(tk->vocab_size(), sentiment_vocab_size());
  int64_t positives = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const SentimentSample s = sentiment_sample(5, i);
    EXPECT_EQ(s.ids, sentiment_sample(5, i).ids);
    EXPECT_EQ(tk->encode(s.text), s.ids) << s.text;
    const int64_t words = static_cast<int64_t>(s.ids.size()) - 2;
    EXPECT_GE(words, 10);
    EXPECT_LE(words, 30);
    EXPECT_GE(s.evidence.size(), 1u);
    EXPECT_LE(s.evidence.size(), 3u);
    EXPECT_LT(s.distractors.size(), s.evidence.size());
    positives += s.label;
    // evidence words are of the label's polarity: the set's vocabulary lists negative words, then positive ones
    const int64_t first_polar = sentiment_vocab_size() - 20, first_positive = sentiment_vocab_size() - 10;
    for (int64_t p : s.evidence) EXPECT_EQ(s.ids[p] >= first_positive, s.label == 1) << s.text;
    for (int64_t p : s.distractors) EXPECT_EQ(s.ids[p] >= first_positive, s.label == 0) << s.text;
    int64_t polar = 0;
    for (int64_t id : s.ids) polar += id >= first_polar;
    EXPECT_EQ(polar, static_cast<int64_t>(s.evidence.size() + s.distractors.size()));
  }
  EXPECT_GT(positives, 100);
  EXPECT_LT(positives, 200);
  EXPECT_EQ(static_cast<int64_t>(sentiment_sample(5, 0, 12).ids.size()), 14);
  EXPECT_NE(sentiment_sample(5, 0).ids, sentiment_sample(6, 0).ids);
}

TEST(TokenRanking, SetsOfPositives) {
  const std::vector<float> r = {9, 1, 5, 5, 2, 0};
  EXPECT_EQ(xai::score_token_set(r, {1, 2, 3, 4}, {2, 3}).top1, 1.0);  // positives tied at the top: a hit
  EXPECT_EQ(xai::score_token_set(r, {1, 2, 3, 4}, {2, 3}).auc, 1.0);
  EXPECT_EQ(xai::score_token_set(r, {1, 2, 3, 4}, {2, 4}).top1, 0.0);   // 3 (not a positive) ties 2
  EXPECT_DOUBLE_EQ(xai::score_token_set(r, {1, 2, 3, 4}, {2, 4}).auc, (1.5 + 1.0) / 4);
  const xai::TokenRankScore one = xai::score_token_relevance({0.1f, 0.2f, 0.9f, 0.3f, 5.0f}, 4, 2);
  EXPECT_EQ(one.top1, 1.0);
  EXPECT_EQ(one.auc, 1.0);
}

// FIPS 180-4's examples, a message crossing the block boundary at every offset against a one-shot digest, and a file.
TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  const std::string msg(200, 'x');
  for (size_t cut = 0; cut <= msg.size(); cut += 7) {
    Sha256 s;
    s.update(msg.data(), cut);
    s.update(msg.data() + cut, msg.size() - cut);
    EXPECT_EQ(s.hex(), sha256_hex(msg)) << cut;
  }
  const std::string path = ::testing::TempDir() + "/sha_probe.bin";
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_EQ(sha256_file(path), sha256_hex("abc"));
  EXPECT_NE(error_of([] { sha256_file("/nonexistent/file"); }).find("/nonexistent/file"), std::string::npos);
}

}  // namespace
}  // namespace ha::test
