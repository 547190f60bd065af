// The op samples (tests/op_samples.h): inputs with awkward shapes (odd sizes, L = 17 and 197, batch 1 and 3), kept
// away from kinks (abs/relu at 0, clamp bounds, max ties, softplus at 20), for every op with a backward.
#include "tests/op_samples.h"

#include <stdexcept>

#include "autograd/checkpoint.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

Tensor rn(Generator& g, const Shape& s) { return randn(s, DType::F64, g); }
Tensor un(Generator& g, const Shape& s, double lo, double hi) { return uniform(s, lo, hi, DType::F64, g); }
// Values with |x| >= margin: away from kinks at 0.
Tensor away(Generator& g, const Shape& s, double margin) {
  Tensor t = un(g, s, -1, 1);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = (p[i] >= 0 ? 1 : -1) * (margin + std::abs(p[i]));
  return t;
}
// A shuffled arithmetic progression: all entries distinct by `gap`, so max/min have no near-ties.
Tensor distinct(Generator& g, const Shape& s, double gap) {
  int64_t n = numel_of(s);
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = (i - n / 2) * gap;
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[g.next_u64() % (i + 1)]);
  return Tensor::from_vector(v, s);
}

}  // namespace

const std::vector<OpSample>& op_samples() {
  static const std::vector<OpSample> all = [] {
  std::vector<OpSample> c;
  auto unary = [&](const std::string& name, std::function<Tensor(Generator&)> make, std::function<Tensor(const Tensor&)> op) {
    c.push_back({name, [make](Generator& g) { return Inputs{make(g)}; }, [op](const Inputs& x) { return op(x[0]); }});
  };
  const Shape s = {3, 17, 5};
  unary("neg", [s](Generator& g) { return rn(g, s); }, [](const Tensor& x) { return neg(x); });
  unary("exp", [s](Generator& g) { return rn(g, s); }, [](const Tensor& x) { return exp(x); });
  unary("log", [s](Generator& g) { return un(g, s, 0.2, 3); }, [](const Tensor& x) { return log(x); });
  unary("sqrt", [s](Generator& g) { return un(g, s, 0.2, 3); }, [](const Tensor& x) { return sqrt(x); });
  unary("rsqrt", [s](Generator& g) { return un(g, s, 0.2, 3); }, [](const Tensor& x) { return rsqrt(x); });
  unary("abs", [s](Generator& g) { return away(g, s, 0.05); }, [](const Tensor& x) { return abs(x); });
  unary("sigmoid", [s](Generator& g) { return rn(g, s); }, [](const Tensor& x) { return sigmoid(x); });
  unary("silu", [s](Generator& g) { return rn(g, s); }, [](const Tensor& x) { return silu(x); });
  unary("softplus", [s](Generator& g) {  // both branches: below 19.9 and above 20.1
    Tensor t = un(g, s, -6, 26);
    double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i) if (std::abs(p[i] - 20) < 0.1) p[i] -= 0.5;
    return t; }, [](const Tensor& x) { return softplus(x); });
  unary("relu", [s](Generator& g) { return away(g, s, 0.05); }, [](const Tensor& x) { return relu(x); });
  unary("tanh", [s](Generator& g) { return rn(g, s); }, [](const Tensor& x) { return tanh(x); });
  unary("gelu", [s](Generator& g) { return mul(rn(g, s), 2.0); }, [](const Tensor& x) { return gelu(x); });
  unary("pow", [s](Generator& g) { return un(g, s, 0.3, 2); }, [](const Tensor& x) { return pow(x, 2.5); });
  unary("clamp", [s](Generator& g) {
    Tensor t = un(g, s, -2, 2);
    double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i) if (std::abs(p[i] + 0.5) < 0.05 || std::abs(p[i] - 1) < 0.05) p[i] += 0.2;
    return t; }, [](const Tensor& x) { return clamp(x, -0.5, 1.0); });

  auto binary = [&](const std::string& name, Shape sa, Shape sb, std::function<Tensor(const Tensor&, const Tensor&)> op,
                    bool positive_b = false) {
    c.push_back({name, [=](Generator& g) { return Inputs{rn(g, sa), positive_b ? un(g, sb, 0.5, 2) : rn(g, sb)}; },
                 [op](const Inputs& x) { return op(x[0], x[1]); }});
  };
  binary("add", {3, 1, 17}, {5, 1}, [](const Tensor& a, const Tensor& b) { return add(a, b); });
  binary("sub", {3, 5, 17}, {17}, [](const Tensor& a, const Tensor& b) { return sub(a, b); });
  binary("mul", {1, 5, 17}, {3, 5, 1}, [](const Tensor& a, const Tensor& b) { return mul(a, b); });
  binary("div", {3, 5, 17}, {5, 1}, [](const Tensor& a, const Tensor& b) { return div(a, b); }, true);
  c.push_back({"maximum", [](Generator& g) {
                 Tensor a = rn(g, {3, 5, 7});
                 return Inputs{a, add(a, away(g, {3, 5, 7}, 0.05))}; },
               [](const Inputs& x) { return maximum(x[0], x[1]); }});
  c.push_back({"minimum", [](Generator& g) {
                 Tensor a = rn(g, {3, 5, 7});
                 return Inputs{a, add(a, away(g, {3, 5, 7}, 0.05))}; },
               [](const Inputs& x) { return minimum(x[0], x[1]); }});

  c.push_back({"sum", [](Generator& g) { return Inputs{rn(g, {3, 17, 5})}; }, [](const Inputs& x) { return sum(x[0], {0, 2}); }});
  c.push_back({"sum_keepdim", [](Generator& g) { return Inputs{rn(g, {3, 17, 5})}; }, [](const Inputs& x) { return sum(x[0], {1}, true); }});
  c.push_back({"sum_all", [](Generator& g) { return Inputs{rn(g, {3, 17, 5})}; }, [](const Inputs& x) { return sum(x[0]); }});
  c.push_back({"mean", [](Generator& g) { return Inputs{rn(g, {3, 17, 5})}; }, [](const Inputs& x) { return mean(x[0], {-1}); }});
  c.push_back({"max", [](Generator& g) { return Inputs{distinct(g, {3, 17, 5}, 0.01)}; }, [](const Inputs& x) { return max(x[0], 1).values; }});
  c.push_back({"min", [](Generator& g) { return Inputs{distinct(g, {3, 17, 5}, 0.01)}; }, [](const Inputs& x) { return min(x[0], 2, true).values; }});
  // the first dim (a layout change whose inverse is not itself), then a gradient that arrives transposed
  c.push_back({"max_dim0", [](Generator& g) { return Inputs{distinct(g, {4, 3, 5}, 0.01)}; }, [](const Inputs& x) { return max(x[0], 0).values; }});
  c.push_back({"min_transposed_grad", [](Generator& g) { return Inputs{distinct(g, {4, 3, 5}, 0.01)}; },
               [](const Inputs& x) { return min(x[0], 1).values.transpose(0, 1); }});
  c.push_back({"amax", [](Generator& g) { return Inputs{distinct(g, {5, 7}, 0.01)}; }, [](const Inputs& x) { return amax(x[0]); }});
  c.push_back({"minmax_normalize", [](Generator& g) { return Inputs{distinct(g, {5, 7}, 0.01)}; }, [](const Inputs& x) { return minmax_normalize(x[0]); }});

  c.push_back({"matmul", [](Generator& g) { return Inputs{rn(g, {17, 9}), rn(g, {9, 5})}; }, [](const Inputs& x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_batched", [](Generator& g) { return Inputs{rn(g, {3, 1, 7, 9}), rn(g, {2, 9, 5})}; }, [](const Inputs& x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_transposed", [](Generator& g) { return Inputs{rn(g, {9, 17}), rn(g, {5, 9})}; }, [](const Inputs& x) { return matmul(x[0].transpose(0, 1), x[1].transpose(0, 1)); }});
  c.push_back({"linear", [](Generator& g) { return Inputs{rn(g, {3, 17, 9}), rn(g, {7, 9}), rn(g, {7})}; }, [](const Inputs& x) { return linear(x[0], x[1], x[2]); }});
  c.push_back({"conv2d", [](Generator& g) { return Inputs{rn(g, {3, 3, 11, 9}), rn(g, {5, 3, 3, 3}), rn(g, {5})}; },
               [](const Inputs& x) { return conv2d(x[0], x[1], x[2], {2, 2}, {1, 1}); }});
  c.push_back({"conv2d_patch", [](Generator& g) { return Inputs{rn(g, {1, 3, 12, 12}), rn(g, {7, 3, 4, 4}), rn(g, {7})}; },
               [](const Inputs& x) { return conv2d(x[0], x[1], x[2], {4, 4}); }});
  c.push_back({"causal_conv1d", [](Generator& g) { return Inputs{rn(g, {3, 5, 17}), rn(g, {5, 4}), rn(g, {5})}; },
               [](const Inputs& x) { return causal_conv1d(x[0], x[1], x[2]); }});
  c.push_back({"rms_norm", [](Generator& g) { return Inputs{rn(g, {3, 17, 7}), rn(g, {7})}; }, [](const Inputs& x) { return rms_norm(x[0], x[1], 1e-5); }});
  c.push_back({"layer_norm", [](Generator& g) { return Inputs{rn(g, {3, 17, 7}), rn(g, {7}), rn(g, {7})}; }, [](const Inputs& x) { return layer_norm(x[0], x[1], x[2], 1e-5); }});
  c.push_back({"softmax", [](Generator& g) { return Inputs{rn(g, {3, 17, 5})}; }, [](const Inputs& x) { return softmax(x[0], 1); }});
  c.push_back({"log_softmax", [](Generator& g) { return Inputs{rn(g, {3, 17, 5})}; }, [](const Inputs& x) { return log_softmax(x[0], -1); }});
  c.push_back({"cross_entropy", [](Generator& g) { return Inputs{rn(g, {3, 7})}; },
               [](const Inputs& x) { return cross_entropy(x[0], Tensor::from_vector<int64_t>({2, 0, 6}, {3}).to(x[0].device())); }});
  c.push_back({"cross_entropy_smoothed", [](Generator& g) { return Inputs{rn(g, {3, 7})}; },
               [](const Inputs& x) { return cross_entropy(x[0], Tensor::from_vector<int64_t>({2, 0, 6}, {3}).to(x[0].device()), 0.1); }});
  c.push_back({"concat", [](Generator& g) { return Inputs{rn(g, {3, 2, 5}), rn(g, {3, 7, 5})}; }, [](const Inputs& x) { return concat({x[0], x[1]}, 1); }});
  c.push_back({"stack", [](Generator& g) { return Inputs{rn(g, {3, 5}), rn(g, {3, 5})}; }, [](const Inputs& x) { return stack({x[0], x[1]}, 1); }});
  c.push_back({"index_select", [](Generator& g) { return Inputs{rn(g, {3, 7, 5})}; },
               [](const Inputs& x) { return index_select(x[0], 1, Tensor::from_vector<int64_t>({6, 0, 3, 3}, {4})); }});
  c.push_back({"gather", [](Generator& g) { return Inputs{rn(g, {3, 7})}; },
               [](const Inputs& x) { return gather(x[0], 1, Tensor::from_vector<int64_t>({1, 1, 6, 0, 2, 5}, {3, 2})); }});
  c.push_back({"scatter_add", [](Generator& g) { return Inputs{rn(g, {3, 2})}; },
               [](const Inputs& x) { return scatter_add({3, 7}, 1, Tensor::from_vector<int64_t>({1, 1, 6, 0, 2, 5}, {3, 2}), x[0]); }});
  c.push_back({"upsample_bilinear", [](Generator& g) { return Inputs{rn(g, {1, 2, 5, 7})}; }, [](const Inputs& x) { return upsample_bilinear(x[0], 11, 13); }});
  c.push_back({"upsample_bilinear_down", [](Generator& g) { return Inputs{rn(g, {3, 1, 9, 9})}; }, [](const Inputs& x) { return upsample_bilinear(x[0], 4, 5); }});

  c.push_back({"reshape", [](Generator& g) { return Inputs{rn(g, {3, 5, 7})}; }, [](const Inputs& x) { return mul(x[0].transpose(0, 2).reshape({7, -1}), x[0].reshape({7, 15})); }});
  c.push_back({"permute", [](Generator& g) { return Inputs{rn(g, {3, 5, 7})}; }, [](const Inputs& x) { return mul(x[0].permute({2, 0, 1}), 1.5); }});
  c.push_back({"narrow", [](Generator& g) { return Inputs{rn(g, {3, 17})}; }, [](const Inputs& x) { return add(x[0].narrow(1, 2, 9), x[0].slice(1, -9, 17)); }});
  c.push_back({"select", [](Generator& g) { return Inputs{rn(g, {3, 17})}; }, [](const Inputs& x) { return mul(x[0].select(0, 1), sum(x[0].select(1, -1))); }});
  c.push_back({"flip", [](Generator& g) { return Inputs{rn(g, {3, 17})}; }, [](const Inputs& x) { return mul(x[0].flip(1), x[0]); }});
  c.push_back({"expand", [](Generator& g) { return Inputs{rn(g, {3, 1})}; }, [](const Inputs& x) { return x[0].expand({2, 3, 5}); }});

  auto scan_case = [&](const std::string& name, int64_t B, int64_t E, int64_t L, int64_t N, bool full, bool reverse, bool composite, int probes) {
    c.push_back({name,
                 [=](Generator& g) {
                   Inputs in{rn(g, {B, E, L}), mul(rn(g, {B, E, L}), 0.5), mul(un(g, {E, N}, 0.5, 2), -1.0), rn(g, {B, N, L}), rn(g, {B, N, L})};
                   if (full) {
                     in.push_back(rn(g, {E}));
                     in.push_back(rn(g, {B, E, L}));
                     in.push_back(mul(rn(g, {E}), 0.3));
                   }
                   return in;
                 },
                 [=](const Inputs& x) {
                   ScanInputs s{x[0], x[1], x[2], x[3], x[4], full ? x[5] : Tensor(), full ? x[6] : Tensor(), full ? x[7] : Tensor(), full, reverse};
                   if (!full) s.delta = abs(x[1]);  // positive steps without softplus
                   return composite ? selective_scan_composite(s) : selective_scan(s);
                 },
                 probes});
  };
  scan_case("selective_scan", 1, 3, 197, 4, true, false, false, 40);
  scan_case("selective_scan_reverse", 1, 3, 197, 4, true, true, false, 40);
  scan_case("selective_scan_bare", 3, 5, 17, 3, false, false, false, 48);
  scan_case("selective_scan_composite", 3, 3, 17, 4, true, true, true, 24);
  // Mamba-2's chunked form: 2 groups of 2 heads, P 3, N 4; L 11 in chunks of 4 (padded last chunk, 3 chunks)
  c.push_back({"ssd_chunked",
               [](Generator& g) {
                 return Inputs{rn(g, {2, 12, 11}), un(g, {2, 4, 11}, 0.05, 1.0), mul(un(g, {4}, 0.5, 2), -1.0),
                               rn(g, {2, 8, 11}), rn(g, {2, 8, 11}), rn(g, {4})};
               },
               [](const Inputs& x) { return ssd_chunked({x[0], x[1], x[2], x[3], x[4], x[5], 2, 4}); }, 40});
  // the embedding lookup: rows of a matrix, a row read twice (its own node on CUDA; the CPU composes it)
  c.push_back({"index_select_rows", [](Generator& g) { return Inputs{rn(g, {7, 5})}; },
               [](const Inputs& x) { return index_select(x[0], 0, Tensor::from_vector<int64_t>({6, 0, 3, 3, 6}, {5})); }});
  c.push_back({"clone", [](Generator& g) { return Inputs{rn(g, {3, 5})}; }, [](const Inputs& x) { return mul(x[0].clone(), x[0]); }});
  c.push_back({"view", [](Generator& g) { return Inputs{rn(g, {3, 10})}; }, [](const Inputs& x) { return mul(x[0].view({5, 6}), 2.0); }});
  c.push_back({"checkpoint", [](Generator& g) { return Inputs{rn(g, {3, 17})}; },
               [](const Inputs& x) { return checkpoint([](const Tensor& v) { return mul(tanh(v), v); }, x[0]); }});

  // CUDA: sums in another order compare relative to the maximum; the scan kernels take float32 only. Every op
  // has a kernel.
  auto cuda = [&](const std::string& name, const char* kind, bool f64 = true) {
    for (OpSample& o : c)
      if (o.name == name) {
        o.cuda = kind;
        o.cuda_f64 = f64;
        return;
      }
    throw std::logic_error("op_samples: no sample " + name);
  };
  for (const char* n : {"sum", "sum_keepdim", "sum_all", "mean", "matmul", "matmul_batched", "matmul_transposed", "linear", "conv2d", "conv2d_patch", "causal_conv1d",
                        "rms_norm", "layer_norm", "softmax", "log_softmax", "cross_entropy", "cross_entropy_smoothed",
                        "upsample_bilinear", "upsample_bilinear_down", "ssd_chunked", "index_select_rows"})
    cuda(n, "gemm");
  for (const char* n : {"selective_scan", "selective_scan_reverse", "selective_scan_bare"}) cuda(n, "scan", false);
  cuda("selective_scan_composite", "gemm", false);
  return c;
  }();
  return all;
}


}  // namespace ha::test
