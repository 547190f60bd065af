// What a results.json records of the run that wrote it (its "provenance"): the program's version and the commit it
// was built from, the command line, and the model's files with their SHA-256, so a number can be traced to the
// code, the options and the weights that gave it. Shards merged: each shard's record.
#pragma once
#include <string>
#include <vector>

namespace ha::app {

void set_command_line(int argc, char** argv);  // main() records it
// {"hattn", "commit", "command", "model": {"path", "sha256": {file: hex, ...}}}: the model's weights and config.json
// (a folder), or the file itself.
std::string provenance_json(const std::string& model_path);
// Writes DIR/provenance.json and returns its text.
std::string record_provenance(const std::string& dir, const std::string& model_path);
// The merge's record: {"hattn", "commit", "command", "shards": [each input's provenance.json, or null]}.
std::string merged_provenance(const std::vector<std::string>& dirs);

}  // namespace ha::app
