// A whole (small) file as a string, with the errors every reader wants: the file named, a size limit so that a
// wrong path to a huge file fails fast instead of filling memory.
#pragma once
#include <cstddef>
#include <string>

namespace ha {

// `what` says what the file was meant to be, e.g. "tokenizer file" (in the messages).
std::string read_whole_file(const std::string& path, size_t limit, const std::string& what);

}  // namespace ha
