// The project's version (the VERSION file at the top of the tree), as hattn --version, the C API and the Python
// package report it.
#pragma once

namespace ha {
const char* version();
// The git commit the library was built from ("<sha>+local changes" when the tree differed; "unknown" outside git).
const char* build_commit();
}  // namespace ha
