// Whether ops record the graph. Off inside a NoGradGuard (per thread), e.g. in inference and in backward.
#pragma once

namespace ha {

struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool on);
};

// Sets this thread's grad mode for a scope (e.g. a worker thread taking its caller's mode).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(GradMode::is_enabled()) { GradMode::set_enabled(on); }
  ~GradModeGuard() { GradMode::set_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace ha
