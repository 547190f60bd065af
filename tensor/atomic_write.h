// Writes a file whole or not at all, for every writer in the project (.npy, .safetensors, PNG, CSV, text).
#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace ha {

// `write` fills a stream opened on `path + ".tmp"`; only when the stream reports every byte written is the
// temporary renamed to `path` (atomic on one file system). On any failure, an exception from `write` included,
// the temporary is removed and the error (an InputError naming `path`, or the exception) propagates.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace ha
