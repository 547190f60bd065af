#include "autograd/lrp.h"

namespace ha {
namespace {
thread_local LrpRules active_rules;
}

const LrpRules& lrp_rules() { return active_rules; }

LrpScope::LrpScope(const LrpRules& rules) : prev_(active_rules) { active_rules = rules; }
LrpScope::~LrpScope() { active_rules = prev_; }

}  // namespace ha
