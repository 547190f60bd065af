// Untrusted input, table-driven: each malformed file gets a clear error naming the file and the problem
// (never a crash, a hang, or a huge allocation), and each unusual-but-valid file loads and works.
// The files come from scripts/make_hostile_inputs.py.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>

#include "apps/exit_status.h"
#include "models/io/checkpoint.h"
#include "models/io/gtsegs.h"
#include "models/io/idx.h"
#include "models/io/isolated.h"
#include "models/load.h"
#include "models/preprocess.h"
#include "tensor/npy.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kDir = std::string(HATTN_TEST_DATA) + "/hostile/";

struct Hostile {
  const char* file;
  const char* expected;  // a fragment of the error message
};

class HostileCheckpoint : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostileCheckpoint, RefusedClearly) {
  const Hostile& h = GetParam();
  std::string msg = error_of([&] { Checkpoint::open(kDir + h.file); });
  std::cout << "  " << h.file << ": " << msg << "\n";
  EXPECT_NE(msg.find(h.file), std::string::npos) << "the error must name the file: " << msg;
  EXPECT_NE(msg.find(h.expected), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Files, HostileCheckpoint,
    ::testing::Values(Hostile{"pickle_deep_nesting.pth", "nesting deeper"},
                      Hostile{"pickle_memo_get_unset.pth", "never stored"},
                      Hostile{"pickle_memo_put_huge.pth", "too large"},
                      Hostile{"pickle_string_beyond_file.pth", "truncated pickle"},
                      Hostile{"pickle_binbytes.pth", "protocol 3"},
                      Hostile{"pickle_stack_underflow.pth", "stack underflow"},
                      Hostile{"pickle_no_stop.pth", "truncated pickle"},
                      Hostile{"pickle_reduce_os.pth", "refused global 'os.system'"},
                      Hostile{"pickle_list_cycle.pth", "reference cycle"},
                      Hostile{"pickle_dict_grown_after_placed.pth", "reference cycle"},
                      Hostile{"zip_compressed_entry.pth", "compressed"},
                      Hostile{"zip_offset_outside.pth", "truncated zip"},
                      Hostile{"zip_size_outside.pth", "past the end of the file"},
                      Hostile{"zip_cd_overlaps.pth", "corrupt central directory"},
                      Hostile{"empty.pth", "too short"}),
    [](const ::testing::TestParamInfo<Hostile>& i) {
      std::string n = i.param.file;
      return n.substr(0, n.find('.'));
    });

TEST(HostileFiles, ImagesNpyAndIdx) {
  for (auto [file, expected] : {std::pair{"image_truncated.png", "could not be decoded"},
                                {"image_empty.png", "not a readable image"},
                                {"image_100mp_header.png", "megapixel"}}) {
    std::string msg = error_of([&] { load_image(kDir + file); });
    std::cout << "  " << file << ": " << msg << "\n";
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
  std::string msg = error_of([] { load_npy(kDir + "npy_huge_shape.npy"); });
  EXPECT_NE(msg.find("npy_huge_shape.npy"), std::string::npos) << msg;
  msg = error_of([] { load_idx(kDir + "idx_lying_shape.idx"); });
  EXPECT_NE(msg.find("idx_lying_shape.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs"), std::string::npos) << msg;
  // fuzzing findings, kept as regression tests (make fuzz, 2026-11-28)
  for (const char* f : {"fuzz_idx_shape_overflow.idx", "fuzz_idx_shape_overflow_message.idx"}) {
    msg = error_of([&] { load_idx(kDir + f); });
    EXPECT_NE(msg.find(f), std::string::npos) << msg;
  }
  // an empty tensor whose other dims overflow stride arithmetic: refused, naming the file
  msg = error_of([] { load_idx(kDir + "fuzz_idx_empty_huge_dims.idx"); });
  EXPECT_NE(msg.find("fuzz_idx_empty_huge_dims.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("too large for a tensor"), std::string::npos) << msg;
  // found against stb_image when it decoded JPEG (libjpeg does now): an image or an error naming the file, no crash
  // (stb read one byte past a table on the first, and crashed on the second)
  Image8 huffman;
  msg = error_of([&] { huffman = load_image(kDir + "fuzz_image_huffman.jpg"); });
  if (msg.empty())
    EXPECT_GT(huffman.width * huffman.height, 0);
  else
    EXPECT_NE(msg.find("fuzz_image_huffman.jpg"), std::string::npos) << msg;
  msg = error_of([] { load_image(kDir + "fuzz_image_huffman_segv.jpg"); });
  std::cout << "  fuzz_image_huffman_segv.jpg: " << msg << "\n";
  EXPECT_NE(msg.find("fuzz_image_huffman_segv.jpg"), std::string::npos) << msg;  // must not crash; an error or an image are both fine
  // 2026-11-29: a zero stride expanded a 1-element storage into 1.5 billion elements (out of memory)
  msg = error_of([] {
    const Checkpoint c = Checkpoint::open(kDir + "fuzz_pth_stride_expansion.pth");
    for (const TensorRecord& r : c.records()) c.load(r.name);
  });
  std::cout << "  fuzz_pth_stride_expansion.pth: " << msg << "\n";
  EXPECT_NE(msg.find("fuzz_pth_stride_expansion.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("refusing to expand"), std::string::npos) << msg;
  msg = error_of([] { Checkpoint::open(kDir); });  // a directory
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
}

// ImageNet-Segmentation .mat files that are not what they claim (scripts/make_gtsegs_fixture.py writes them):
// refused by the reader child with the file's name and the problem.
TEST(HostileFiles, MatFiles) {
  if (!GtSegsFile::available()) GTEST_SKIP() << "this build has no HDF5";
  for (auto [file, expected] : {std::pair{"mat_truncated.mat", "could not be read"},
                                std::pair{"mat_no_value.mat", "no dataset /value/img"},
                                std::pair{"mat_wrong_shape.mat", "not a (3, W, H) array"}}) {
    const std::string msg = error_of([&] {
      GtSegsFile f(kDir + file);
      for (int64_t i = 0; i < f.size(); ++i) f.item(i);
    });
    std::cout << "  " << file << ": " << msg << "\n";
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
}

// A signal during decoding (a profiler's or libFuzzer's timer) interrupts the wait for the decoder child: the
// image must still load, and no child may be left behind. (Found as zombie decoders under make fuzz.)
TEST(UnusualButValid, ImagesLoadWhileSignalsArrive) {
  struct sigaction sa {}, old {};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: waitpid returns EINTR
  ASSERT_EQ(sigaction(SIGALRM, &sa, &old), 0);
  itimerval every{{0, 200}, {0, 200}}, off{};
  setitimer(ITIMER_REAL, &every, nullptr);
  std::string failure;
  for (int i = 0; i < 20 && failure.empty(); ++i) {
    try {
      EXPECT_EQ(load_image(kDir + "image_cmyk.jpg").width, load_image(kDir + "image_cmyk.jpg").width);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
  EXPECT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << "a decoder child was left unreaped";
}

// A reader that never finishes (a decoder caught in a loop on a crafted file) is killed at the time limit and
// reported; the tool goes on, and no child is left behind: in the spawned reader program and in a forked child.
TEST(HostileFiles, HungReaderIsStoppedAtTheTimeLimit) {
  ASSERT_NE(reader_program(), "") << "hattn-reader was not built beside the tests";
  for (const char* program : {static_cast<const char*>(nullptr), ""}) {  // the search (hattn-reader), then fork
    set_reader_program(program);
    set_isolated_time_limit(0.3);
    const auto start = std::chrono::steady_clock::now();
    const std::string msg = error_of([] { run_isolated("looping.png", "decoded", 16, "selftest", {"sleep"}); });
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    set_isolated_time_limit(0);
    EXPECT_NE(msg.find("'looping.png' could not be decoded: the reader did not finish within 0.3 s"), std::string::npos)
        << msg;
    EXPECT_LT(took, 30.0) << "the wait outlived the limit by far";
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << "the stopped reader was left unreaped";
    EXPECT_EQ(load_image(kDir + "image_1x1.png").width, 1);  // and reading goes on
  }
  set_reader_program(nullptr);
}

// A host that ignores SIGCHLD (children reaped by the kernel) still gets its images: the reader's exit status is
// then unknown, and a whole result is enough.
TEST(HostileFiles, ReadersWorkWhenTheHostIgnoresSigchld) {
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ASSERT_EQ(sigaction(SIGCHLD, &ignore, &old), 0);
  std::string failure;
  for (const char* program : {static_cast<const char*>(nullptr), ""}) {
    set_reader_program(program);
    try {
      EXPECT_EQ(load_image(kDir + "image_1x1.png").width, 1);
    } catch (const std::exception& e) {
      failure += e.what();
    }
    EXPECT_NE(error_of([] { load_image(kDir + "image_truncated.png"); }).find("image_truncated.png"), std::string::npos);
  }
  set_reader_program(nullptr);
  sigaction(SIGCHLD, &old, nullptr);
  EXPECT_TRUE(failure.empty()) << failure;
}

// The reader program and the fork fallback give the same pixels and the same refusals.
TEST(HostileFiles, ReaderProgramAndForkAgree) {
  const std::string images = std::string(HATTN_TEST_DATA) + "/images/src_wide.png";
  set_reader_program("");
  const Image8 forked = load_image(images);
  const std::string forked_error = error_of([] { load_image(kDir + "image_truncated.png"); });
  set_reader_program(nullptr);
  EXPECT_EQ(load_image(images).rgb, forked.rgb);
  EXPECT_EQ(error_of([] { load_image(kDir + "image_truncated.png"); }), forked_error);
  EXPECT_NE(forked_error.find("image_truncated.png"), std::string::npos) << forked_error;
  for (const char* program : {static_cast<const char*>(nullptr), ""}) {  // a crash and a failure, both ways
    set_reader_program(program);
    const std::string crash = error_of([] { run_isolated("bad.png", "decoded", 16, "selftest", {"crash"}); });
    EXPECT_NE(crash.find("'bad.png' could not be decoded: the reader "), std::string::npos) << crash;
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer turns the SIGSEGV into its report and exit status 1
    EXPECT_NE(crash.find("crashed (signal 11)"), std::string::npos) << crash;
#endif
    EXPECT_NE(error_of([] { run_isolated("bad.png", "decoded", 16, "selftest", {"fail"}); })
                  .find("'bad.png' could not be decoded (failed as asked)"),
              std::string::npos);
  }
  set_reader_program("/nonexistent/hattn-reader");
  EXPECT_NE(error_of([&] { load_image(images); }).find("cannot start the reader program"), std::string::npos);
  set_reader_program(nullptr);
}

TEST(UnusualButValid, Images) {
  Image8 one = load_image(kDir + "image_1x1.png");
  EXPECT_EQ(one.width, 1);
  EXPECT_EQ(one.rgb, (std::vector<uint8_t>{200, 10, 30}));
  Image8 up = preprocess_image(one, 32, Preprocess::Crop);  // a 1×1 image still becomes a 32×32 input
  EXPECT_EQ(up.width, 32);
  EXPECT_EQ(up.rgb[0], 200);
  for (const char* f : {"image_16bit.png", "image_gray_alpha.png", "image_cmyk.jpg"}) {
    Image8 img = load_image(kDir + f);
    EXPECT_GT(img.width, 0) << f;
    EXPECT_EQ(img.rgb.size(), size_t(img.width * img.height * 3)) << f;
    Tensor t = normalize_image(preprocess_image(img, 16, Preprocess::Squash));
    for (float v : t.to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << f;
  }
  Image8 g = load_image(kDir + "image_gray_alpha.png");
  EXPECT_EQ(g.rgb[0], g.rgb[1]);  // grey replicated, alpha dropped
}

TEST(UnusualButValid, CheckpointWithByteorderEntry) {
  Checkpoint c = Checkpoint::open(kDir + "byteorder_entry.pth");
  EXPECT_EQ(c.load("w").to_vector<float>(), (std::vector<float>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace ha::test

namespace ha::test {
namespace {

// The command line's exit statuses: 2 for bad usage and bad input, 1 (a bug) for anything else, even an
// ha::Error from a library check that the command line should have made impossible.
TEST(ExitStatus, BadInputIsTwoAndBrokenInvariantsAreOne) {
  auto of = [](auto e) { return app::failure_of(std::make_exception_ptr(e)); };
  EXPECT_EQ(of(app::UsageError("unknown option --colour")).status, 2);
  const app::Failure input = of(InputError("'x.pth': truncated"));
  EXPECT_EQ(input.status, 2);
  EXPECT_EQ(input.line, "error: 'x.pth': truncated");
  const app::Failure bug = of(Error("matmul: shapes (2, 3) and (4, 5) do not match"));
  EXPECT_EQ(bug.status, 1);
  EXPECT_EQ(bug.line.rfind("internal error", 0), 0u) << bug.line;
  EXPECT_EQ(of(std::bad_alloc()).status, 1);
  // what the loaders throw on hostile files is input
  std::string status;
  try {
    Checkpoint::open(kDir + "pickle_deep_nesting.pth");
  } catch (...) {
    EXPECT_EQ(app::failure_of(std::current_exception()).status, 2);
    status = "thrown";
  }
  EXPECT_EQ(status, "thrown");
}

}  // namespace
}  // namespace ha::test
