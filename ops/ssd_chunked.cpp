// Mamba-2's scan in the state-space-duality form (Dao & Gu 2024, §6): the sequence is cut into chunks of Q
// tokens; inside a chunk the recurrence is a masked matrix (attention-like) product, across chunks a short
// recurrence over the chunk-end states. Per head h (scalar a_t = Δ_t A_h), channel p and state n:
//   y_t = Σ_{s≤t} (C_t·B_s) exp(a_{s+1} + … + a_t) Δ_s x_s  +  D_h x_t
// Chunk c, positions t, s in [0, Q), cum_t = a_0 + … + a_t within the chunk:
//   Y_diag = (C Bᵀ ⊙ exp(cum_t − cum_s)[s ≤ t] ⊙ Δ_s) X                  (Q×Q per head; C Bᵀ per group)
//   S_c    = Σ_s exp(cum_{Q−1} − cum_s) Δ_s X_sᵀ B_s                    (P×N: the chunk's own end state)
//   S_in_c = Σ_{c' < c} exp(Σ_{c'<c''<c} cum_{Q−1}(c'')) S_c'           (nc×nc decay matrix times the states)
//   Y_off  = exp(cum_t) C_t S_in_cᵀ
// Every piece is a batched GEMM or an elementwise op of the autograd ops, so the gradient is theirs and the
// whole runs on any device those ops run on. Every exponent is ≤ 0 (A < 0, Δ ≥ 0), so nothing overflows.
// The selective scan (the recurrence itself) is the oracle: tests/test_ssd.cpp.
#include "autograd/lrp.h"
#include "autograd/record.h"
#include "ops/dispatch.h"
#include "ops/lrp_rules.h"
#include "ops/ops.h"

namespace ha {
namespace {

// (Q, Q) float mask: 1 where row ≥ col (inclusive) or row > col (strict).
Tensor lower_mask(int64_t n, bool strict, DType dt, Device dev) {
  std::vector<double> m(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) m[i * n + j] = (strict ? j < i : j <= i) ? 1.0 : 0.0;
  return Tensor::from_vector(m, {n, n}).to(dt).to(dev);
}

// Inclusive cumulative sum over the last dim, as a product with an upper-triangular ones matrix.
Tensor cumsum_last(const Tensor& v) {  // (..., n) -> (..., n)
  const int64_t n = v.shape().back();
  Tensor upper = lower_mask(n, false, v.dtype(), v.device()).transpose(0, 1);  // [k, t] = 1 for k ≤ t
  return matmul(v.unsqueeze(-2), upper).squeeze(-2);
}

// exp(v_i − w_j) where mask[i, j], else 0; (..., n) and (..., n) -> (..., n, n). The masked exponents are
// zeroed before exp so an excluded entry can neither overflow nor turn its zero gradient into NaN.
Tensor masked_decay(const Tensor& v, const Tensor& w, const Tensor& mask) {
  return mul(exp(mul(sub(v.unsqueeze(-1), w.unsqueeze(-2)), mask)), mask);
}

Tensor pad_last(const Tensor& t, int64_t extra) {  // zeros appended along the last dim
  if (extra == 0) return t;
  Shape s = t.shape();
  s.back() = extra;
  return concat({t, Tensor::zeros(s, t.dtype(), t.device())}, -1);
}

}  // namespace

Tensor ssd_chunked(const SsdInputs& in) {
  if (lrp_rules().constant_scan && needs_grad({in.delta, in.A, in.Bm, in.Cm})) return lrp_rule::ssd_chunked(in);
  const char* op = "ssd_chunked";
  check_defined(op, {in.x, in.delta, in.A, in.Bm, in.Cm});
  check_dim(op, "x (B, H·P, L)", in.x, 3);
  check_dim(op, "delta (B, H, L)", in.delta, 3);
  check_dim(op, "A (H)", in.A, 1);
  check_dim(op, "B (B, G·N, L)", in.Bm, 3);
  const int64_t Bsz = in.x.size(0), E = in.x.size(1), L = in.x.size(2), H = in.A.size(0), G = in.groups;
  HATTN_CHECK(H > 0 && E % H == 0 && G > 0 && H % G == 0 && in.Bm.size(1) % G == 0, op, ": ", E, " channels, ", H,
              " heads and ", G, " groups do not divide (x ", describe(in.x), ", B ", describe(in.Bm), ")");
  const int64_t P = E / H, N = in.Bm.size(1) / G, Hg = H / G;
  check_shape(op, "delta", in.delta, {Bsz, H, L});
  check_shape(op, "B", in.Bm, {Bsz, G * N, L});
  check_shape(op, "C", in.Cm, {Bsz, G * N, L});
  if (in.D.defined()) check_shape(op, "D", in.D, {H});
  HATTN_CHECK(in.chunk > 0, op, ": chunk must be positive, got ", in.chunk);
  for (const Tensor& t : {in.delta, in.A, in.Bm, in.Cm, in.D}) {
    if (!t.defined()) continue;
    check_same_dtype(op, in.x, t);
    HATTN_CHECK(t.device() == in.x.device(), op, ": inputs on different devices: ", describe(in.x), " and ", describe(t));
  }
  const int64_t Q = std::min(in.chunk, L), nc = (L + Q - 1) / Q, Lp = nc * Q;
  const DType dt = in.x.dtype();
  const Device dev = in.x.device();
  // Padding: Δ = 0 and x = B = C = 0 leave the states untouched and produce outputs that are cut off.
  // (B, G, Hg, nc, Q, P) / (B, G, Hg, nc, Q) / (B, G, 1, nc, Q, N): heads of one group share B and C.
  // Elementwise work happens in the inputs' (B, H, P, L) layout, where it is contiguous; the GEMMs read
  // strided views: (B, G, Hg, nc, Q, P) per head, (B, G, 1, nc, Q, N) per group (heads of a group share B, C).
  Tensor x = pad_last(in.x, Lp - L).reshape({Bsz, H, P, Lp});
  Tensor delta = pad_last(in.delta, Lp - L);                                        // (B, H, Lp)
  auto per_head = [&](const Tensor& t) {  // (B, H, P, Lp) -> (B, G, Hg, nc, Q, P), a view
    return t.reshape({Bsz, G, Hg, P, nc, Q}).permute({0, 1, 2, 4, 5, 3});
  };
  auto per_group = [&](const Tensor& t) {  // (B, G·N, L) -> (B, G, 1, nc, Q, N), a view of the padded copy
    return pad_last(t, Lp - L).reshape({Bsz, G, 1, N, nc, Q}).permute({0, 1, 2, 4, 5, 3});
  };
  Tensor Bc = per_group(in.Bm), Cc = per_group(in.Cm);
  Tensor cum = cumsum_last(mul(delta.reshape({Bsz, G, Hg, nc, Q}), in.A.reshape({1, G, Hg, 1, 1})));  // ≤ 0, falling
  Tensor chunk_end = cum.narrow(-1, Q - 1, 1);                                      // (B, G, Hg, nc, 1)

  // ---- within chunks
  Tensor decay = masked_decay(cum, cum, lower_mask(Q, false, dt, dev));           // (B, G, Hg, nc, Q, Q)
  Tensor scores = mul(matmul(Cc, Bc.transpose(-1, -2)), decay);                   // (C Bᵀ)[t, s] ⊙ decay
  Tensor Xd = per_head(mul(x, delta.reshape({Bsz, H, 1, Lp})));                   // Δ_s x_s
  Tensor Y = matmul(scores, Xd);                                                  // (B, G, Hg, nc, Q, P)

  // ---- across chunks
  if (nc > 1) {
    Tensor to_end = exp(sub(chunk_end, cum)).reshape({Bsz, H, 1, Lp});            // decay to the chunk's end
    Tensor Xw = per_head(mul(x, mul(delta.reshape({Bsz, H, 1, Lp}), to_end)));   // (B, G, Hg, nc, Q, P)
    Tensor states = matmul(Xw.transpose(-1, -2), Bc);                              // (B, G, Hg, nc, P, N)
    Tensor ends = chunk_end.squeeze(-1);                                           // (B, G, Hg, nc)
    Tensor inclusive = cumsum_last(ends);
    // carried into chunk c from chunk c' < c: exp(ends[c'+1] + … + ends[c−1]) = exp(exclusive_c − inclusive_c')
    Tensor carry = masked_decay(sub(inclusive, ends), inclusive, lower_mask(nc, true, dt, dev));  // (.., nc, nc)
    Tensor S_in = matmul(carry, states.reshape({Bsz, G, Hg, nc, P * N})).reshape({Bsz, G, Hg, nc, P, N});
    Y = add(Y, mul(matmul(Cc, S_in.transpose(-1, -2)), exp(cum).unsqueeze(-1)));  // exp(cum_t) C_t S_inᵀ
  }
  Tensor y = Y.permute({0, 1, 2, 5, 3, 4}).reshape({Bsz, E, Lp});
  if (Lp != L) y = y.narrow(2, 0, L);
  if (in.D.defined()) y = add(y, mul(in.x, in.D.reshape({H, 1}).expand({H, P}).reshape({E, 1})));
  return y;
}

}  // namespace ha
