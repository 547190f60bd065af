#include "models/io/reader_jobs.h"

#include <signal.h>
#include <unistd.h>

#include <map>

#include "models/io/gtsegs.h"

namespace ha {

ReaderJob find_reader_job(const std::string& name) {
  static const std::map<std::string, ReaderJob> jobs = [] {
    std::map<std::string, ReaderJob> m{{"image", image_reader_job}, {"selftest", selftest_job}};
    if (GtSegsFile::available()) m.insert({{"gtsegs-index", gtsegs_index_job}, {"gtsegs-item", gtsegs_item_job}});
    return m;
  }();
  auto it = jobs.find(name);
  return it == jobs.end() ? nullptr : it->second;
}

void selftest_job(const std::vector<std::string>& args, IsolatedOutput& out) {
  const std::string& behaviour = args.at(0);
  if (behaviour == "crash") raise(SIGSEGV);
  if (behaviour == "sleep")
    for (;;) pause();
  out.fail("failed as asked");
}

}  // namespace ha
