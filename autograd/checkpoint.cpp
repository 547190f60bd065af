#include "autograd/checkpoint.h"

#include "autograd/function_node.h"
#include "autograd/grad_mode.h"
#include "autograd/lrp.h"

namespace ha {

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  if (!needs_grad({x})) return f(x);
  Tensor y;
  {
    NoGradGuard no_grad;
    y = f(x);
  }
  Tensor xs = saved(x);
  std::function<Tensor(const Tensor&)> again = f;  // copied after the first call
  const LrpRules rules = lrp_rules();                // the recomputation records what the forward would have
  record_op(OpName::Checkpoint, {x}, y, [xs, again, rules](const Tensor& g) {
    Tensor input = xs.detach();
    input.requires_grad_();
    Tensor recomputed;
    {
      GradModeGuard grad_on(true);
      LrpScope lrp(rules);
      recomputed = again(input);
    }
    recomputed.backward(g);  // a separate graph: its own backward pass, inside this one
    return std::vector<Tensor>{input.grad()};
  });
  return y;
}

}  // namespace ha
