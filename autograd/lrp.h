// Layer-wise relevance propagation as a modified backward (MambaLRP, Jafari et al., NeurIPS 2024;
// docs/definitions.md §5d). While an LrpScope is active on a thread, the ops that have a rule record the rule's
// backward instead of their gradient; their forward values are those of the plain op. A backward follows the
// rules its forward was recorded under, whenever it runs (autograd/checkpoint.h carries them into the
// recomputation). Gradient × input at the embeddings of such a graph is the relevance.
//
// The rules (each op's entry is in ops/lrp_rules.cpp; an op with a rule calls it from its first line):
//   constant_norms  rms_norm: r = 1/sqrt(mean(x²) + eps) a constant, dx = g·w·r
//   silu_ratio      silu: x·c with c = silu(x)/stabilize(x) a constant, dx = g·c; stabilize(x) = x ± 1e-6 (+ at 0)
//   constant_scan   selective_scan, ssd_chunked: exp(ΔA), ΔB and C constants (Δ gets no gradient), so the scan is
//                   linear in its input; the fused scan's gate becomes mul(y, silu(z)) under the two rules here
//   half_products   mul of two operands that both carry gradients: each gets half its gradient (o/2 + stopgrad(o/2))
#pragma once

namespace ha {

struct LrpRules {
  bool constant_norms = false;
  bool silu_ratio = false;
  bool constant_scan = false;
  bool half_products = false;
  bool any() const { return constant_norms || silu_ratio || constant_scan || half_products; }
  static LrpRules all() { return {true, true, true, true}; }
};

// This thread's rules: all off outside any scope.
const LrpRules& lrp_rules();

// Sets this thread's rules for a scope (a worker thread taking its caller's rules does the same).
class LrpScope {
 public:
  explicit LrpScope(const LrpRules& rules);
  ~LrpScope();
  LrpScope(const LrpScope&) = delete;
  LrpScope& operator=(const LrpScope&) = delete;

 private:
  LrpRules prev_;
};

}  // namespace ha
