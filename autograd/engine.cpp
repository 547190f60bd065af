// The backward engine and the autograd half of Tensor (see node.h for the design in one paragraph).
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/record.h"

namespace ha {

namespace {
thread_local bool t_grad_enabled = true;
thread_local std::vector<std::pair<Tensor, uint64_t>> t_pending_saves;  // saved() since the last record()
}

Tensor saved(const Tensor& t) {
  if (!t.defined()) return Tensor();
  Tensor d = t.detach();
  t_pending_saves.emplace_back(d, t.version());
  return d;
}

Node::~Node() {
  // Children whose last owner is this node are parked and destroyed by the outermost ~Node in a loop.
  thread_local std::vector<std::shared_ptr<Node>> graveyard;
  thread_local bool draining = false;
  for (Edge& e : next_edges)
    if (e.fn && e.fn.use_count() == 1) graveyard.push_back(std::move(e.fn));
  if (draining) return;
  draining = true;
  while (!graveyard.empty()) {
    std::shared_ptr<Node> n = std::move(graveyard.back());
    graveyard.pop_back();
    n.reset();
  }
  draining = false;
}

bool GradMode::is_enabled() { return t_grad_enabled; }
void GradMode::set_enabled(bool on) { t_grad_enabled = on; }

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return {};
  TensorImpl& impl = t.impl();
  if (impl.grad_fn) return {impl.grad_fn, impl.output_nr};
  if (!impl.requires_grad) return {};
  std::shared_ptr<Node> acc = impl.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl.grad_accumulator = acc;
  }
  return {acc, 0};
}

void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
            const std::vector<Tensor>& outputs) {
  node->next_edges.clear();
  for (const Tensor& t : inputs) node->next_edges.push_back(gradient_edge(t));
  node->saved_versions = std::move(t_pending_saves);
  t_pending_saves.clear();
  node->num_outputs = static_cast<int>(outputs.size());
  node->output_hooks.assign(outputs.size(), {});
  node->retained_grads.assign(outputs.size(), {});
  for (size_t i = 0; i < outputs.size(); ++i) {
    outputs[i].impl().grad_fn = node;
    outputs[i].impl().output_nr = static_cast<int>(i);
  }
}

void check_not_differentiable(const char* op, std::initializer_list<Tensor> inputs) {
  HATTN_CHECK(!needs_grad(inputs), op, " is not differentiable, but an input requires grad; detach() it or ",
              "call it inside a NoGradGuard");
}

// Adds g into a leaf's or retained tensor's .grad (a fresh contiguous copy the first time).
static void accumulate_grad(TensorImpl& impl, const Tensor& g) {
  if (!impl.grad) {
    impl.grad = raw::clone(g).impl_ptr();  // always fresh storage: the caller may reuse g
  } else {
    raw::add_(Tensor(impl.grad), g);
  }
}

static Tensor run_hooks(const std::vector<GradHook>& hooks, Tensor g) {
  for (const GradHook& h : hooks) {
    Tensor r = h(g);
    if (r.defined()) {
      HATTN_CHECK(r.shape() == g.shape(), "register_hook: a hook returned a gradient of shape ", shape_str(r.shape()),
                  " for a tensor of shape ", shape_str(g.shape()));
      g = r;
    }
  }
  return g;
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>& grads) {
  Tensor g = run_hooks(leaf_->leaf_hooks, grads[0]);
  if (g.defined()) {
    HATTN_CHECK(g.shape() == leaf_->shape, "AccumulateGrad: gradient of shape ", shape_str(g.shape()),
                " for a leaf of shape ", shape_str(leaf_->shape));
    accumulate_grad(*leaf_, g);
  }
  return {};
}

namespace {

// Gradients waiting at a node's outputs; `owned` marks buffers we may add into in place.
struct Pending {
  std::vector<Tensor> grads;
  std::vector<bool> owned;
};

void add_to(Pending& p, int slot, int num_outputs, const Tensor& g) {
  if (p.grads.empty()) {
    p.grads.resize(num_outputs);
    p.owned.assign(num_outputs, false);
  }
  Tensor& dst = p.grads[slot];
  if (!dst.defined()) {
    dst = g;
  } else {
    if (!p.owned[slot]) {
      dst = raw::clone(dst);  // fresh storage we may add into
      p.owned[slot] = true;
    }
    raw::add_(dst, g);
  }
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads, bool retain_graph) {
  NoGradGuard no_grad;
  // 1. Discover the graph and count, for each node, the edges that feed gradients into it.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack;
  std::unordered_set<Node*> seen;
  for (const Tensor& r : roots) {
    Node* n = gradient_edge(r).fn.get();
    if (n && seen.insert(n).second) stack.push_back(n);
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.fn) continue;
      ++dependencies[e.fn.get()];
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
  // 2. Seed the roots' gradients, then run every node once all its consumers have run.
  std::unordered_map<Node*, Pending> pending;
  std::vector<std::shared_ptr<Node>> ready;
  std::vector<std::shared_ptr<Node>> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    Edge e = gradient_edge(roots[i]);
    add_to(pending[e.fn.get()], e.slot, e.fn->num_outputs, root_grads[i]);
    if (std::find(root_nodes.begin(), root_nodes.end(), e.fn) == root_nodes.end()) root_nodes.push_back(e.fn);
  }
  for (auto& n : root_nodes)
    if (dependencies[n.get()] == 0) ready.push_back(n);
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    HATTN_CHECK(!node->released, "backward: trying to go through the graph a second time (at ", node->name(),
                "); its saved tensors were freed. Pass retain_graph = true to the first backward.");
    Pending p = std::move(pending[node.get()]);
    pending.erase(node.get());
    std::vector<Tensor> grads = std::move(p.grads);
    grads.resize(node->num_outputs);
    for (int i = 0; i < static_cast<int>(node->output_hooks.size()); ++i) {
      if (!grads[i].defined()) continue;
      grads[i] = run_hooks(node->output_hooks[i], grads[i]);
      if (auto t = node->retained_grads[i].lock()) accumulate_grad(*t, grads[i]);
    }
    bool any = std::any_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.defined(); });
    if (any)  // only a node that runs reads what it saved
      for (const auto& [t, version] : node->saved_versions)
        HATTN_CHECK(t.version() == version, "backward of ", node->name(), ": a tensor it saved for its gradient (",
                    describe(t), ") was modified in place after the forward pass (version ", t.version(),
                    ", saved at ", version, "); write into a clone() instead, or run the forward again");
    std::vector<Tensor> input_grads = any ? node->apply(grads) : std::vector<Tensor>();
    if (!retain_graph && dynamic_cast<AccumulateGrad*>(node.get()) == nullptr) {
      node->release();
      node->saved_versions.clear();
      node->released = true;
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.fn) continue;
      if (i < input_grads.size() && input_grads[i].defined())
        add_to(pending[e.fn.get()], e.slot, e.fn->num_outputs, input_grads[i]);
      if (--dependencies[e.fn.get()] == 0) ready.push_back(e.fn);
    }
  }
}

}  // namespace

// ---- Tensor's autograd members

bool Tensor::requires_grad() const { return impl().requires_grad || impl().grad_fn != nullptr; }

Tensor& Tensor::requires_grad_(bool on) {
  HATTN_CHECK(is_leaf(), "requires_grad_: only leaf tensors can change requires_grad (use detach() first)");
  HATTN_CHECK(!on || is_floating(dtype()), "requires_grad_: only floating tensors can require grad, got ",
              dtype_name(dtype()));
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::zero_grad() { impl().grad.reset(); }

Tensor Tensor::detach() const { return raw::as_strided(*this, shape(), strides(), offset()); }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  HATTN_CHECK(requires_grad(), "backward: tensor ", describe(*this), " does not require grad (no graph was ",
              "recorded: no input called requires_grad_(), or it ran inside a NoGradGuard)");
  Tensor g = grad;
  if (!g.defined()) {
    HATTN_CHECK(numel() == 1, "backward: an implicit gradient needs a single-element tensor, got ",
                describe(*this), "; pass the gradient explicitly");
    g = Tensor::ones(shape(), dtype(), device());
  }
  HATTN_CHECK(g.shape() == shape() && g.dtype() == dtype(), "backward: gradient ", describe(g),
              " does not match tensor ", describe(*this));
  run_backward({*this}, {g}, retain_graph);
}

void Tensor::register_hook(GradHook hook) const {
  HATTN_CHECK(requires_grad(), "register_hook: tensor ", describe(*this), " does not require grad");
  if (is_leaf()) {
    impl().leaf_hooks.push_back(std::move(hook));
  } else {
    impl().grad_fn->output_hooks[impl().output_nr].push_back(std::move(hook));
  }
}

void Tensor::retain_grad() const {
  HATTN_CHECK(requires_grad(), "retain_grad: tensor ", describe(*this), " does not require grad");
  if (is_leaf()) return;  // leaves keep .grad anyway
  impl().grad_fn->retained_grads[impl().output_nr] = impl_ptr();
}

}  // namespace ha
