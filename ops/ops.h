// The public op API. Every op validates its arguments, runs the CPU kernel (CUDA where one exists) and,
// when an input requires grad, records its backward node. One op family per .cpp file in this folder.
#pragma once
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/tensor.h"

namespace ha {

// ---- elementwise unary (elementwise_unary.cpp)
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);
Tensor softplus(const Tensor& x);  // log(1 + e^x); x itself above 20, as PyTorch and Mamba do
Tensor relu(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact (erf) form
Tensor pow(const Tensor& x, double exponent);
Tensor clamp(const Tensor& x, double lo, double hi);

// ---- elementwise binary with broadcasting (elementwise_binary.cpp)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // ties split the gradient evenly
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
// Comparisons give 0/1 masks in a's dtype; they are not differentiable (graph-build error if grad is needed).
Tensor greater(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor equal(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);

// ---- reductions (reduce.cpp). Empty `dims` means every dim.
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
struct ValuesIndices {
  Tensor values;
  Tensor indices;  // int64
};
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);  // first index on ties
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor amax(const Tensor& x);  // over every entry, 0-d
Tensor amin(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // int64, not differentiable
Tensor minmax_normalize(const Tensor& x);  // (x - min)/(max - min) over all entries; zeros when max == min
Tensor sum_to(const Tensor& x, const Shape& shape);  // sums broadcast dims away (broadcasting's adjoint)

// ---- linear algebra (matmul.cpp; kernel in cpu/gemm.cpp)
Tensor matmul(const Tensor& a, const Tensor& b);  // (..., M, K) x (..., K, N), batch dims broadcast
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());  // x w^T + b, w (out, in)

// ---- convolutions (conv2d.cpp, causal_conv1d.cpp)
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::pair<int64_t, int64_t> stride,
              std::pair<int64_t, int64_t> padding = {0, 0});  // x (N,C,H,W), w (O,C,kh,kw), b (O) or undefined
Tensor causal_conv1d(const Tensor& x, const Tensor& w, const Tensor& b);  // x (B,E,L), w (E,K), b (E)/undefined

// ---- normalisation (rms_norm.cpp, layer_norm.cpp, softmax.cpp)
Tensor rms_norm(const Tensor& x, const Tensor& w, double eps);  // over the last dim
Tensor layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// (B,C) logits and int64 (B) targets; mean over B. `smoothing` ε mixes in the uniform target:
// (1-ε)·(-log p[y]) + ε·mean_c(-log p[c]).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double smoothing = 0.0);

// ---- joining and indexing (join.cpp, index.cpp)
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index: int64 1-d
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);        // index: int64, x's ndim
// The adjoint of gather: zeros(shape), then out[..., index[i], ...] += src[i] along dim.
Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src);

// ---- resampling (upsample_bilinear.cpp)
Tensor upsample_bilinear(const Tensor& x, int64_t out_h, int64_t out_w);  // (N,C,H,W), align_corners=False

// ---- selective scan (selective_scan.cpp; kernel in cpu/selective_scan_cpu.cpp)
// Mamba's selective_scan_ref semantics: u, delta, z (B,E,L); A (E,N); Bm, Cm (B,N,L); D, delta_bias (E).
// D, z and delta_bias may be undefined. `reverse` runs the recurrence from t = L-1 down to 0.
struct ScanInputs {
  Tensor u, delta, A, Bm, Cm, D, z, delta_bias;
  bool delta_softplus = true;
  bool reverse = false;
};
Tensor selective_scan(const ScanInputs& in);
Tensor selective_scan_composite(const ScanInputs& in);  // built from the ops above: the fused scan's oracle

// ---- Mamba-2's scan in the chunked state-space-duality form (ssd_chunked.cpp), composed of the ops above:
// x (B, H·P, L) channel e = h·P + p; delta (B, H, L) Δ itself (softplus and bias already applied); A, D (H);
// Bm, Cm (B, G·N, L), head h reading group h·G/H. Returns y (B, H·P, L) = the selective scan of each channel with
// its head's Δ, A, D and its group's B, C. chunk: tokens per chunk (the last one padded).
struct SsdInputs {
  Tensor x, delta, A, Bm, Cm, D;
  int64_t groups = 1;
  int64_t chunk = 64;
};
Tensor ssd_chunked(const SsdInputs& in);

}  // namespace ha
