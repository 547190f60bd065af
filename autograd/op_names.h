// Every op that records a backward node, by the name its node carries. record_op takes an OpName, so an op can
// join the graph only through this list, and tests/test_op_coverage.cpp fails for a listed op that no sample of
// tests/op_samples.cpp takes through its backward (or that its short list of exemptions does not name, with the
// test that checks it instead).
#pragma once
#include <cstdint>

namespace ha {

#define HATTN_BACKWARD_OPS(X)                                                                                  \
  /* elementwise unary (ops/elementwise_math.h) */                                                             \
  X(Neg, "neg") X(Exp, "exp") X(Log, "log") X(Sqrt, "sqrt") X(Rsqrt, "rsqrt") X(Abs, "abs")                    \
  X(Sigmoid, "sigmoid") X(Silu, "silu") X(Softplus, "softplus") X(Relu, "relu") X(Tanh, "tanh")                \
  X(Gelu, "gelu") X(Pow, "pow") X(Clamp, "clamp")                                                              \
  /* elementwise binary */                                                                                     \
  X(Add, "add") X(Sub, "sub") X(Mul, "mul") X(Div, "div") X(Maximum, "maximum") X(Minimum, "minimum")          \
  /* reductions, normalisations, products */                                                                   \
  X(Sum, "sum") X(Max, "max") X(Min, "min") X(Softmax, "softmax") X(LogSoftmax, "log_softmax")                 \
  X(RmsNorm, "rms_norm") X(LayerNorm, "layer_norm") X(Matmul, "matmul") X(Conv2d, "conv2d")                    \
  X(CausalConv1d, "causal_conv1d") X(SelectiveScan, "selective_scan") X(UpsampleBilinear, "upsample_bilinear") \
  /* indexing and joining */                                                                                   \
  X(Concat, "concat") X(Gather, "gather") X(ScatterAdd, "scatter_add") X(IndexSelect, "index_select")          \
  /* views and conversions */                                                                                  \
  X(Reshape, "ReshapeBackward") X(View, "ViewBackward") X(Permute, "PermuteBackward")                          \
  X(Narrow, "NarrowBackward") X(Flip, "FlipBackward") X(Expand, "ExpandBackward") X(Clone, "CloneBackward")    \
  X(ToDtype, "ToDtypeBackward") X(ToDevice, "ToDeviceBackward")                                                \
  /* activation checkpointing (autograd/checkpoint.h) */                                                       \
  X(Checkpoint, "CheckpointBackward")                                                                          \
  /* MambaLRP's modified backward rules (ops/lrp_rules.h) */                                                   \
  X(RmsNormLrp, "rms_norm_lrp") X(SiluLrp, "silu_lrp") X(MulLrpHalf, "mul_lrp_half")

enum class OpName : uint8_t {
#define HATTN_OP_ENUM(id, name) id,
  HATTN_BACKWARD_OPS(HATTN_OP_ENUM)
#undef HATTN_OP_ENUM
};

constexpr const char* kOpNameStrings[] = {
#define HATTN_OP_STRING(id, name) name,
    HATTN_BACKWARD_OPS(HATTN_OP_STRING)
#undef HATTN_OP_STRING
};
constexpr int kOpNameCount = int(sizeof(kOpNameStrings) / sizeof(kOpNameStrings[0]));

constexpr const char* op_name(OpName op) { return kOpNameStrings[static_cast<int>(op)]; }

}  // namespace ha
