// The jobs an isolated reader runs (models/io/isolated.h), by name. Each takes string arguments (it runs in
// another program) and writes its result into `out`; errors go through out.fail or an exception.
#pragma once
#include <string>
#include <vector>

#include "models/io/isolated.h"

namespace ha {

using ReaderJob = void (*)(const std::vector<std::string>& args, IsolatedOutput& out);

// nullptr when there is no job of that name.
ReaderJob find_reader_job(const std::string& name);

// image: PATH DECODER WIDTH HEIGHT, DECODER jpeg | stb | stb-grey16 -> width·height·3 bytes of RGB
void image_reader_job(const std::vector<std::string>& args, IsolatedOutput& out);
// gtsegs-index: PATH -> N, then (W, H) per item, as int64
void gtsegs_index_job(const std::vector<std::string>& args, IsolatedOutput& out);
// gtsegs-item: PATH I WIDTH HEIGHT -> the item's H×W×3 image, then its H×W 0/1 mask
void gtsegs_item_job(const std::vector<std::string>& args, IsolatedOutput& out);
// selftest: BEHAVIOUR, one of sleep (waits forever), crash (SIGSEGV), fail: what the caller must survive (tests)
void selftest_job(const std::vector<std::string>& args, IsolatedOutput& out);

}  // namespace ha
