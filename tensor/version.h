// The project's version (the VERSION file at the top of the tree), as hattn --version, the C API and the Python
// package report it.
#pragma once

namespace ha {
const char* version();
}  // namespace ha
