#include "xai/vit_explain.h"

#include <cmath>

#include "ops/ops.h"
#include "tensor/random.h"
#include "xai/vit_lrp.h"

namespace ha::xai {

VitExplainContext run_vit_explain_pass(const VisionTransformer& model, const Tensor& input, int64_t target,
                                       bool with_relevance) {
  HATTN_CHECK(input.dim() == 4 && input.size(0) == 1, "explain: expects one image, shape (1, 3, H, W); got ",
              describe(input));
  VitExplainContext ctx;
  ctx.cfg = model.config();
  const Device dev = model.patch_embed.weight.device();
  Tensor x = input.detach().to(DType::F32).contiguous().to(dev).requires_grad_();
  const nn::FrozenParameters frozen(model);  // only input-side gradients are needed
  VitOutput out = model.forward(x, /*trace=*/with_relevance);
  for (Tensor& a : out.attentions) a.retain_grad();
  ctx.logits = out.logits.detach().to(Device::cpu());
  for (float v : ctx.logits.to_vector<float>())
    HATTN_CHECK_INPUT(std::isfinite(v), "explain: the model produced a non-finite logit; the checkpoint or image is damaged");
  const int64_t classes = ctx.logits.size(1);
  ctx.target = target < 0 ? static_cast<int64_t>(argmax(ctx.logits, 1).item()) : target;
  HATTN_CHECK_INPUT(ctx.target >= 0 && ctx.target < classes, "explain: class ", ctx.target, " out of range [0, ", classes, ")");
  out.logits.select(0, 0).select(0, ctx.target).backward();
  for (const Tensor& a : out.attentions) {
    HATTN_CHECK(a.grad().defined(), "explain: an attention map received no gradient");
    ctx.attn.push_back(a.detach().select(0, 0).to(Device::cpu()).contiguous());
    ctx.attn_grads.push_back(a.grad().select(0, 0).to(Device::cpu()).contiguous());
  }
  ctx.input_grad = x.grad().select(0, 0).to(Device::cpu()).contiguous();
  if (with_relevance && !ctx.cfg.distilled) ctx.attn_relevance = attention_relevance(model, out, ctx.target);
  ctx.input = x.detach().to(Device::cpu());
  return ctx;
}

std::vector<Method> vit_methods() {
  return {Method::Raw, Method::Rollout, Method::Attr, Method::Gae, Method::Random, Method::Saliency, Method::GradXInput};
}

int64_t vit_default_start_layer() { return 1; }

namespace {

// Row 0 over the patch tokens (after cls and, when distilled, the distillation token), as a G×G map.
Tensor row0_to_grid(const VitConfig& c, const Tensor& row) {
  const int64_t G = c.grid();
  return clamp(row.to(DType::F32).contiguous().narrow(0, c.prefix_tokens(), G * G).reshape({G, G}), 0, INFINITY);
}

}  // namespace

Tensor explain_vit(const VitExplainContext& ctx, Method method, int64_t start_layer, uint64_t seed) {
  NoGradGuard ng;
  const VitConfig& c = ctx.cfg;
  const int64_t start = start_layer < 0 ? vit_default_start_layer() : start_layer;
  HATTN_CHECK_INPUT(start >= 0 && start < c.depth, "explain: start layer ", start, " out of range [0, ", c.depth, ")");
  const int64_t T = c.num_tokens();
  Tensor map;
  switch (method) {
    case Method::Random: {
      Generator g(seed);
      map = uniform({c.grid(), c.grid()}, 0, 1, DType::F32, g);
      break;
    }
    case Method::Saliency:
      map = patch_mean(max(abs(ctx.input_grad), 0).values, c.grid(), c.patch, c.patch);
      break;
    case Method::GradXInput:
      map = patch_mean(abs(sum(mul(ctx.input.select(0, 0), ctx.input_grad), {0})), c.grid(), c.patch, c.patch);
      break;
    case Method::Raw:
      map = row0_to_grid(c, mean(ctx.attn.back(), {0}).select(0, 0));
      break;
    case Method::Rollout: {
      std::vector<Tensor> X;
      for (int64_t l = start; l < c.depth; ++l) X.push_back(mean(ctx.attn[l], {0}));
      map = row0_to_grid(c, rollout(X, 0));
      break;
    }
    case Method::Gae: {  // R starts as the identity; R += Ā_l R per block, first to last
      Tensor R = Tensor::zeros({T, T}, DType::F64);
      for (int64_t i = 0; i < T; ++i) R.data<double>()[i * T + i] = 1.0;
      for (int64_t l = 0; l < c.depth; ++l) {
        Tensor cam = mean(relu(mul(ctx.attn_grads[l], ctx.attn[l])), {0}).to(DType::F64);
        R = add(R, matmul(cam, R));
      }
      map = row0_to_grid(c, R.select(0, 0));
      break;
    }
    case Method::Attr: {
      HATTN_CHECK_INPUT(!c.distilled, "attr (Transformer-Attribution) is not defined for distilled DeiT");
      HATTN_CHECK(!ctx.attn_relevance.empty(), "explain_vit: attr needs the pass run with_relevance");
      std::vector<Tensor> cams;
      for (int64_t l = start; l < c.depth; ++l)
        cams.push_back(mean(relu(mul(ctx.attn_grads[l].to(DType::F64), ctx.attn_relevance[l])), {0}));
      map = row0_to_grid(c, rollout(cams, 0));
      break;
    }
    case Method::Unified:
      throw InputError("unified is Vision Mamba's implicit attention; a ViT has raw, rollout, gae and the baselines");
  }
  map = map.to(DType::F32).contiguous();
  for (float v : map.to_vector<float>())
    HATTN_CHECK_INPUT(std::isfinite(v), "explain: the ", method_name(method), " map is not finite");
  return map;
}

}  // namespace ha::xai
