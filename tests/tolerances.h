// Every tolerance the tests use, in one table keyed by name:  pass iff |a - b| <= atol + rtol * |ref|.
// Gradient checks compare float64 analytic gradients to central differences with step 1e-6, whose
// truncation + rounding error measured at <= 5e-8 absolute: (1e-6, 1e-5) leaves 20x headroom and still
// catches a 0.1% error in a single gradient term (checked by mutating the scan's dA).
// float32 comparisons (fused vs composite scan, GEMM vs naive) scale with sqrt(reduction length) * 6e-8.
#pragma once
#include <map>
#include <string>

namespace ha::test {

struct Tolerance {
  double atol, rtol;
};

inline Tolerance tolerance(const std::string& name) {
  static const std::map<std::string, Tolerance> table = {
      {"gradcheck", {1e-6, 1e-5}},
      {"scan.fused_vs_composite.f64", {1e-12, 1e-10}},
      {"scan.fused_vs_composite.f32", {2e-5, 1e-4}},
      // Mamba-2's chunked form vs the recurrence: the same sums in another order and grouping (float64), and
      // float32 rounding of the GEMMs and the cumulative sums relative to the largest output (scaled)
      {"ssd.vs_recurrence.f64", {1e-12, 1e-10}},
      {"ssd.vs_recurrence.f32", {2e-5, 0}},
      {"gemm.vs_naive.f32", {1e-4, 1e-4}},
      {"gemm.vs_naive.f64", {1e-12, 1e-12}},
      {"conv2d.vs_naive.f64", {1e-12, 1e-12}},
      {"upsample.vs_formula", {1e-12, 0}},
      // Vim parity against the float64 PyTorch reference, relative to the tensor's largest magnitude
      // (scaled: atol is a fraction of max|ref|): fp32 rounding over 4 blocks stays near 1e-6.
      {"vim.forward", {1e-5, 0}},
      {"vim.gradient", {1e-4, 0}},
      // ViT/DeiT against the float64 PyTorch transcription (scaled, like vim.forward): measured ~1e-6.
      {"vit.forward", {1e-5, 0}},
      // Mamba LMs against the float64 transcription (scaled): fp32 rounding through 2 blocks and the head
      {"lm.forward", {1e-5, 0}},
      // the recurrent step vs the parallel forward, both float32: different summation orders only
      {"lm.step", {1e-5, 0}},
      // ToTensor + Normalize in float32 on both sides; only division rounding can differ
      {"preprocess.normalize", {1e-6, 0}},
      // float64 identities: the running product vs the sequential scan differ only by rounding
      {"attention.identity", {1e-11, 1e-9}},
      // maps and attention of fp32 models vs the float64 reference, as a fraction of max|ref| (issue 4: <= 1e-4)
      {"xai.map", {1e-4, 0}},
      // The exact rollout is compared by its conditioning (tests/rollout_bound.h), from how far its inputs X_l (the
      // channel means of the two-direction matrices) may move: entry-wise rtol · mean over channels of |F_l|
      // (+ atol · max |F_l|, 0 here). The
      // per-channel matrices measure <= 1.1e-6 of max|ref| against float64, and the maps stay at <= 0.22 of the
      // bound that rtol 1e-6 gives (L = 17, 197, 730): 1e-5 leaves 10x headroom over that.
      {"xai.rollout_input", {0, 1e-5}},
      {"xai.attention", {1e-4, 0}},
      // MambaLRP's relevance of fp32 models vs the float64 transcription (a gradient × input, like gradxinput), as a
      // fraction of max|ref|; and the forward under the rules vs the plain one (only the gate's rounding differs)
      {"lrp.golden", {1e-4, 0}},
      {"lrp.forward", {1e-6, 0}},
      // one fp32 mixer seen two ways (a row by its running product vs the whole matrix; the channel statistics
      // by the family's sweep vs the mean of the matrices): rounding only, as a fraction of max|ref|
      {"xai.operator", {2e-6, 0}},  // measured <= 2.3e-7 (rows at L = 197), element-wise <= 0.014 of its 1% bound
      // CUDA vs CPU float32 scan: different exp implementations (~2 ulp) accumulated over L steps
      {"cuda.scan", {2e-5, 0}},
      // CUDA vs CPU elementwise and sums: libdevice vs our vexp/glibc (a few ulp), double-accumulated sums
      // (float32 rtol 1e-5 covers 100 ulp; float64 1e-12)
      {"cuda.elementwise.f32", {1e-6, 1e-5}},
      {"cuda.elementwise.f64", {1e-14, 1e-12}},
      // CUDA vs CPU GEMM: different blocking, so different summation orders (relative to max|ref|)
      {"cuda.gemm.f32", {1e-5, 0}},
      {"cuda.gemm.f64", {1e-13, 0}},
      // whole model on the GPU vs the CPU, float32: the per-op differences above through 24 layers, a
      // backward and the maps' normalisations (the CPU-vs-PyTorch tolerances are of the same order)
      {"cuda.model", {1e-4, 0}},
      // the exact rollout's inputs on the GPU vs the CPU (different exp implementations and summation orders):
      // entry-wise rtol · mean_c |F| + atol · max |F|, checked before the map is held to its conditioning bound.
      // Small entries differ by about an ulp of the largest (measured worst 0.15 of this bound under emulation,
      // L = 197); a larger atol summed over 197 entries would leave first order where a row sum nearly cancels.
      {"cuda.rollout_input", {3e-7, 1e-5}},
      {"exact", {0, 0}},
  };
  // the most specific entry: "a.b.c", then "a.b", then "a"
  for (std::string key = name;;) {
    auto it = table.find(key);
    if (it != table.end()) return it->second;
    auto dot = key.rfind('.');
    if (dot == std::string::npos) break;
    key.resize(dot);
  }
  return table.at("exact");
}

}  // namespace ha::test
