// The LRP rules of the ops that have one (autograd/lrp.h): the op's forward, computed by the plain op without a
// graph, recorded with the rule's backward. Each op calls its entry while lrp_rules() asks for its rule.
#pragma once
#include "ops/ops.h"

namespace ha::lrp_rule {

Tensor rms_norm(const Tensor& x, const Tensor& w, double eps);  // constant_norms
Tensor silu(const Tensor& x);                                   // silu_ratio
Tensor half_product(const Tensor& a, const Tensor& b);          // half_products
Tensor selective_scan(const ScanInputs& in);                    // constant_scan
Tensor ssd_chunked(const SsdInputs& in);                        // constant_scan

// stabilize(x) = x + (sign(x) + [x = 0])·1e-6, the released code's guard against dividing by 0
Tensor stabilize(const Tensor& x);

}  // namespace ha::lrp_rule
