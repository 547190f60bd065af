#include "xai/token_perturbation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tensor/atomic_write.h"
#include "tensor/error.h"
#include "xai/line_chart.h"

namespace ha::xai {

const char* token_test_name(TokenTest t) { return t == TokenTest::Activation ? "activation" : "pruning"; }
const char* token_metric_name(TokenTest t) { return t == TokenTest::Activation ? "auac" : "au_mse"; }

std::vector<int64_t> token_order(const std::vector<float>& r, const std::vector<int64_t>& positions, TokenTest test) {
  for (int64_t p : positions)
    HATTN_CHECK(p >= 0 && p < static_cast<int64_t>(r.size()), "token_order: position ", p, " outside the map");
  std::vector<int64_t> order(positions);
  std::sort(order.begin(), order.end());  // the lower position first among ties (the sort below is stable)
  if (test == TokenTest::Activation)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return r[a] > r[b]; });
  else
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return std::abs(r[a]) < std::abs(r[b]); });
  return order;
}

std::vector<std::vector<int64_t>> perturbed_inputs(const std::vector<int64_t>& ids, const std::vector<int64_t>& positions,
                                                   const std::vector<float>& relevance, TokenTest test, int64_t mask_id) {
  const std::vector<int64_t> order = token_order(relevance, positions, test);
  const int64_t n = static_cast<int64_t>(order.size());
  std::vector<std::vector<int64_t>> out;
  for (int k = 0; k <= kTokenSteps; ++k) {
    const int64_t nk = k * n / kTokenSteps;
    std::vector<int64_t> x = ids;
    if (test == TokenTest::Activation) {
      for (int64_t p : order) x[p] = mask_id;
      for (int64_t i = 0; i < nk; ++i) x[order[i]] = ids[order[i]];
    } else {
      for (int64_t i = 0; i < nk; ++i) x[order[i]] = mask_id;
    }
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<double> step_values(TokenTest test, const std::vector<std::vector<double>>& step_scores,
                                const std::vector<double>& clean, int64_t correct) {
  std::vector<double> v;
  for (const std::vector<double>& y : step_scores) {
    HATTN_CHECK(!y.empty() && y.size() == clean.size() && correct >= 0 && correct < static_cast<int64_t>(y.size()),
                "step_values: scores of ", y.size(), " entries for ", clean.size(), " (correct ", correct, ")");
    for (double s : y) HATTN_CHECK_INPUT(std::isfinite(s), "the model gave a non-finite score on a perturbed input");
    if (test == TokenTest::Activation) {
      const double top = *std::max_element(y.begin(), y.end());
      double z = 0;
      for (double s : y) z += std::exp(s - top);
      v.push_back(std::exp(y[correct] - top) / z);
    } else {
      double m = 0;
      for (size_t i = 0; i < y.size(); ++i) m += (clean[i] - y[i]) * (clean[i] - y[i]);
      v.push_back(m / double(y.size()));
    }
  }
  return v;
}

double token_area(const std::vector<double>& v) {
  HATTN_CHECK(v.size() == kTokenSteps + 1, "token_area: ", v.size(), " values");
  double a = 0;
  for (int k = 0; k < kTokenSteps; ++k) a += (v[k] + v[k + 1]) / 2 * (1.0 / kTokenSteps);
  return a;
}

void TokenCurve::add(const std::vector<double>& v) {
  for (int k = 0; k <= kTokenSteps; ++k) sum[k] += v.at(k);
  area += token_area(v);
  ++items;
}

void TokenCurve::merge(const TokenCurve& o) {
  for (int k = 0; k <= kTokenSteps; ++k) sum[k] += o.sum[k];
  area += o.area;
  items += o.items;
}

void TextEvalCounts::merge(const TextEvalCounts& o) {
  HATTN_CHECK_INPUT(test.empty() || o.test.empty() || test == o.test, "cannot merge a ", o.test, " run into a ", test,
                    " run");
  if (test.empty()) test = o.test;
  for (const auto& [k, c] : o.curves) curves[k].merge(c);
  items += o.items;
  correct += o.correct;
}

// One line per record: kind,"name",items,a,b,v0..v10. Quoted names hold no quote.
void TextEvalCounts::save_csv(const std::string& path) const {
  write_file_atomically(path, [&](std::ostream& f) {
    f << "kind,name,items,a,b,v0,v1,v2,v3,v4,v5,v6,v7,v8,v9,v10\n";
    char buf[64];
    auto zeros = [&] { for (int k = 0; k <= kTokenSteps; ++k) f << ",0"; };
    f << "test,\"" << test << "\"," << items << "," << correct << ",0";
    zeros();
    f << "\n";
    if (!progress.run.empty()) {
      f << "progress,\"" << progress.run << "\"," << progress.done << "," << progress.total << ",0";
      zeros();
      f << "\n";
    }
    for (const auto& [name, c] : curves) {
      std::snprintf(buf, sizeof buf, "%.17g", c.area);
      f << "curve,\"" << name << "\"," << c.items << "," << buf << ",0";
      for (double s : c.sum) {
        std::snprintf(buf, sizeof buf, ",%.17g", s);
        f << buf;
      }
      f << "\n";
    }
  });
}

TextEvalCounts TextEvalCounts::load_csv(const std::string& path) {
  std::ifstream f(path);
  HATTN_CHECK_INPUT(f.good(), "cannot open evaluation counts '", path, "'");
  std::string line;
  std::getline(f, line);
  HATTN_CHECK_INPUT(line.rfind("kind,name,items,a,b,v0", 0) == 0, "'", path, "' is not a text evaluation counts file");
  TextEvalCounts c;
  for (int64_t lineno = 2; std::getline(f, line); ++lineno) {
    if (line.empty()) continue;
    const size_t q1 = line.find(",\""), q2 = q1 == std::string::npos ? q1 : line.find("\",", q1 + 2);
    HATTN_CHECK_INPUT(q2 != std::string::npos, "'", path, "' line ", lineno, ": malformed");
    const std::string kind = line.substr(0, q1), name = line.substr(q1 + 2, q2 - q1 - 2);
    std::vector<double> v;
    std::stringstream ss(line.substr(q2 + 2));
    for (std::string cell; std::getline(ss, cell, ',');) {
      char* end = nullptr;
      v.push_back(std::strtod(cell.c_str(), &end));
      HATTN_CHECK_INPUT(end && *end == '\0' && !cell.empty(), "'", path, "' line ", lineno, ": '", cell,
                        "' is not a number");
    }
    HATTN_CHECK_INPUT(v.size() == 3 + kTokenSteps + 1, "'", path, "' line ", lineno, ": expected ", 3 + kTokenSteps + 1,
                      " numbers, got ", v.size());
    for (double x : v) HATTN_CHECK_INPUT(std::isfinite(x), "'", path, "' line ", lineno, ": a non-finite number");
    auto count = [&](double x) {  // a count: a non-negative integer that fits
      HATTN_CHECK_INPUT(x >= 0 && x < 9e15 && x == std::floor(x), "'", path, "' line ", lineno, ": '", x,
                        "' is not a count");
      return static_cast<int64_t>(x);
    };
    if (kind == "test") {
      c.test = name;
      c.items += count(v[0]);
      c.correct += count(v[1]);
    } else if (kind == "progress") {
      c.progress = {name, count(v[0]), count(v[1])};
      HATTN_CHECK_INPUT(c.progress.done <= c.progress.total, "'", path, "' line ", lineno, ": more done than planned");
    } else if (kind == "curve") {
      TokenCurve t;
      t.items = count(v[0]);
      t.area = v[1];
      for (int k = 0; k <= kTokenSteps; ++k) t.sum[k] = v[3 + k];
      c.curves[name].merge(t);
    } else {
      throw InputError(str("'", path, "' line ", lineno, ": unknown record '", kind, "'"));
    }
  }
  return c;
}

std::string write_text_reports(const TextEvalCounts& c, const std::string& dir, const std::string& title,
                               const std::string& provenance) {
  const bool activation = c.test == "activation";
  const char* metric = activation ? "auac" : "au_mse";
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf);
  };
  const double accuracy = c.items ? double(c.correct) / c.items : 0.0;
  std::string json = str("{\"accuracy\": {\"accuracy\": ", num(accuracy), ", \"items\": ", c.items, "}");
  std::string md = str("## ", title, "\n\nClean accuracy: ", num(100 * accuracy), "% of ", c.items, " items.\n");
  std::string csv = "method,step,fraction,value\n";
  LineChart chart;
  chart.title = activation ? "Token activation (AUAC, higher is better)" : "Token pruning (AU-MSE, lower is better)";
  chart.x_label = activation ? "tokens restored (%)" : "tokens masked (%)";
  chart.y_label = activation ? "probability of the correct answer" : "mean squared change of the scores";
  chart.last_x_tick = true;
  chart.tick_scale = 1;
  chart.tick_digits = 2;
  chart.y_max = activation ? 1.0 : 0.0;
  if (!c.curves.empty()) {
    md += str("\n| method | ", activation ? "AUAC ↑" : "AU-MSE ↓", " | items |\n|---|---|---|\n");
    for (const auto& [name, t] : c.curves) {
      json += str(",\n \"", name, "\": {\"", metric, "\": ", num(t.mean_area()), ", \"items\": ", t.items, "}");
      md += str("| ", name, " | ", num(t.mean_area()), " | ", t.items, " |\n");
      std::vector<double> mean(kTokenSteps + 1);
      for (int k = 0; k <= kTokenSteps; ++k) {
        mean[k] = t.items ? t.sum[k] / t.items : 0.0;
        csv += str(name, ",", k, ",", num(double(k) / kTokenSteps), ",", num(mean[k]), "\n");
        if (!activation) chart.y_max = std::max(chart.y_max, mean[k]);
      }
      char note[32];
      std::snprintf(note, sizeof note, "%.3f", t.mean_area());
      chart.series.push_back({name, note, mean});
    }
    if (chart.y_max <= 0) chart.y_max = 1;
    write_file_atomically(dir + "/curves.csv", [&](std::ostream& os) { os << csv; });
    write_file_atomically(dir + "/curves.svg", [&](std::ostream& os) { os << line_chart_svg(chart); });
  }
  if (!provenance.empty()) json += ",\n \"provenance\": " + provenance;
  json += "}\n";
  write_file_atomically(dir + "/results.json", [&](std::ostream& os) { os << json; });
  write_file_atomically(dir + "/results.md", [&](std::ostream& os) { os << md; });
  return md;
}

}  // namespace ha::xai
