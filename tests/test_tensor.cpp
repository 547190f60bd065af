// The tensor layer: views share storage and get strides right, broadcasting, dtype conversion,
// .npy round trips, seeded randomness, printing, and errors that name the op and the shapes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "ops/ops.h"
#include "tensor/atomic_write.h"
#include "tensor/cuda/cuda_memory.h"
#include "tensor/npy.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tensor/transpose.h"
#include "tests/test_util.h"

namespace ha {
namespace {

using test::error_of;

Tensor iota(const Shape& s, DType dt = DType::F32) { return raw::reshape(Tensor::arange(numel_of(s), dt), s); }

TEST(Tensor, FactoriesAndMetadata) {
  Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_TRUE(t.device().is_cpu());
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(Tensor::full({2}, 2.5, DType::F64).at({1}), 2.5);
  EXPECT_EQ(Tensor::scalar(3).item(), 3.0);
  EXPECT_EQ(t.size(-1), 4);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = iota({2, 3, 4});
  Tensor v = t.permute({2, 0, 1});
  EXPECT_TRUE(v.same_storage(t));
  EXPECT_EQ(v.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(v.strides(), (Shape{1, 12, 4}));
  EXPECT_FALSE(v.is_contiguous());
  EXPECT_EQ(v.at({3, 1, 2}), t.at({1, 2, 3}));
  Tensor n = t.narrow(2, 1, 2);
  EXPECT_EQ(n.offset(), 1);
  EXPECT_EQ(n.at({1, 2, 1}), t.at({1, 2, 2}));
  Tensor s = t.select(1, -1);
  EXPECT_EQ(s.shape(), (Shape{2, 4}));
  EXPECT_EQ(s.at({1, 0}), t.at({1, 2, 0}));
  // writing through a view is visible in the base
  raw::narrow(t, 0, 1, 1).fill_(-1);
  EXPECT_EQ(t.at({1, 0, 0}), -1);
  EXPECT_EQ(v.at({0, 1, 0}), -1);
}

TEST(Tensor, FlipIsANegativeStrideView) {
  Tensor t = iota({3, 5});
  Tensor f = t.flip(1);
  EXPECT_TRUE(f.same_storage(t));
  EXPECT_EQ(f.strides()[1], -1);
  for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(f.at({2, j}), t.at({2, 4 - j}));
  Tensor c = f.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector<float>()[0], 4.0f);
  EXPECT_EQ(f.flip(1).to_vector<float>(), t.to_vector<float>());
}

TEST(Tensor, ReshapeViewsWhenStridesAllowAndCopiesOtherwise) {
  Tensor t = iota({4, 6});
  Tensor r = t.reshape({2, 2, -1});
  EXPECT_TRUE(r.same_storage(t));
  EXPECT_EQ(r.shape(), (Shape{2, 2, 6}));
  Tensor tt = t.transpose(0, 1);  // (6, 4), not contiguous
  Tensor split = tt.view({3, 2, 4});  // splitting a dim is still a view
  EXPECT_TRUE(split.same_storage(t));
  EXPECT_EQ(split.at({2, 1, 3}), tt.at({5, 3}));
  EXPECT_NE(error_of([&] { tt.view({24}); }).find("view"), std::string::npos);
  Tensor flat = tt.reshape({24});  // needs a copy
  EXPECT_FALSE(flat.same_storage(t));
  EXPECT_EQ(flat.at({1}), tt.at({0, 1}));
  EXPECT_NE(error_of([&] { t.reshape({5, -1}); }).find("reshape"), std::string::npos);
  EXPECT_EQ(t.unsqueeze(1).shape(), (Shape{4, 1, 6}));
  EXPECT_EQ(t.unsqueeze(-1).squeeze(2).shape(), (Shape{4, 6}));
}

TEST(Tensor, ExpandAndBroadcasting) {
  Tensor a = iota({3, 1});
  Tensor e = a.expand({2, 3, 4});
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  EXPECT_EQ(e.at({1, 2, 3}), 2);
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 1}, "t"), (Shape{3, 4, 5}));
  std::string msg = error_of([] { broadcast_shapes({3, 2}, {4, 3}, "add"); });
  EXPECT_NE(msg.find("add"), std::string::npos);
  EXPECT_NE(msg.find("(3, 2)"), std::string::npos);
  EXPECT_NE(msg.find("(4, 3)"), std::string::npos);
  Tensor sum_ab = add(iota({2, 1, 3}), iota({4, 1}));
  EXPECT_EQ(sum_ab.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(sum_ab.at({1, 3, 2}), 5 + 3);
}

TEST(Tensor, OpsAcceptStridedInputs) {
  Tensor t = iota({4, 5}, DType::F64);
  Tensor tt = t.transpose(0, 1);
  Tensor e = exp(tt);
  EXPECT_EQ(e.shape(), (Shape{5, 4}));
  EXPECT_DOUBLE_EQ(e.at({3, 2}), std::exp(t.at({2, 3})));
  Tensor m = mul(tt, t.flip(0).transpose(0, 1));
  EXPECT_DOUBLE_EQ(m.at({1, 0}), t.at({0, 1}) * t.at({3, 1}));
}

// contiguous() of transposed, narrowed and flipped views takes the tiled transpose path (large enough,
// last two dims swapped in memory); every element must land where the element-wise definition says.
TEST(Tensor, TransposingCopiesMatchTheDefinition) {
  Tensor base = iota({2, 37, 300});  // (B, L, 2E)-like: narrow + transpose gives (B, E, L) with ld 300
  std::vector<Tensor> views = {
      base.narrow(2, 0, 150).transpose(1, 2),           // in_proj's x
      base.narrow(2, 150, 150).transpose(1, 2).flip(2),  // the backward direction's z
      base.select(0, 1).transpose(0, 1),                 // rank 2
      iota({37, 300}, DType::F64).transpose(0, 1),       // another dtype
  };
  for (const Tensor& v : views) {
    Tensor c = v.contiguous();
    ASSERT_TRUE(c.is_contiguous());
    ASSERT_EQ(c.shape(), v.shape());
    const Tensor f = c.to(DType::F64), vf = v.to(DType::F64);  // to() of a view: the element-wise path
    std::vector<double> got = f.to_vector<double>(), want;
    const int64_t n0 = v.dim() == 3 ? v.size(0) : 1, R = v.size(v.dim() - 2), C = v.size(v.dim() - 1);
    for (int64_t b = 0; b < n0; ++b)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < C; ++k) {
          const Tensor e = v.dim() == 3 ? v.select(0, b).select(0, r).select(0, k) : v.select(0, r).select(0, k);
          want.push_back(e.to(DType::F64).item());
        }
    EXPECT_EQ(got, want);
  }
}

// The block transpose behind copy_ and the GEMM's packing: full 16 x 16 tiles (AVX-512 shuffles) and edges.
TEST(Tensor, TransposeBlockMatchesTheDefinition) {
  for (auto [R, C] : {std::pair<int64_t, int64_t>{16, 16}, {37, 45}, {197, 384}, {1, 33}, {33, 1}}) {
    const int64_t ldi = R + 3, ldo = C + 5;
    std::vector<float> in(C * ldi), out(R * ldo, -1.f);
    std::vector<double> ind(C * ldi), outd(R * ldo, -1.0);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) * 0.25f, ind[i] = double(i) * 0.5;
    transpose_block(in.data(), ldi, out.data(), ldo, R, C);
    transpose_block(ind.data(), ldi, outd.data(), ldo, R, C);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c) {
        ASSERT_EQ(out[r * ldo + c], in[c * ldi + r]) << R << "x" << C << " at " << r << "," << c;
        ASSERT_EQ(outd[r * ldo + c], ind[c * ldi + r]) << R << "x" << C << " at " << r << "," << c;
      }
    for (int64_t r = 0; r < R; ++r)  // the padding between rows is untouched
      for (int64_t c = C; c < ldo; ++c) ASSERT_EQ(out[r * ldo + c], -1.f);
  }
}

TEST(Tensor, DtypeConversion) {
  Tensor f = Tensor::from_vector<float>({1.5f, -2.25f, 3.75f}, {3});
  Tensor d = f.to(DType::F64);
  EXPECT_EQ(d.dtype(), DType::F64);
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{1.5, -2.25, 3.75}));
  Tensor i = f.to(DType::I64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3}));  // truncation toward zero, like C++
  EXPECT_EQ(i.to(DType::F32).to_vector<float>(), (std::vector<float>{1, -2, 3}));
  EXPECT_NE(error_of([&] { f.data<double>(); }).find("float32"), std::string::npos);
}

TEST(Tensor, NpyRoundTrip) {
  const std::string path = ::testing::TempDir() + "hattn_roundtrip.npy";
  for (DType dt : {DType::F32, DType::F64, DType::I64, DType::I32, DType::U8}) {
    Tensor t = raw::to_dtype(iota({3, 1, 7}), dt).permute({2, 1, 0});  // strided on purpose
    save_npy(path, t);
    Tensor back = load_npy(path);
    EXPECT_EQ(back.dtype(), dt);
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.to_vector<double>(), t.to_vector<double>());
  }
  save_npy(path, Tensor::scalar(7, DType::F64));
  EXPECT_EQ(load_npy(path).dim(), 0);
  EXPECT_EQ(load_npy(path).item(), 7);
  save_npy(path, iota({5}));
  EXPECT_EQ(load_npy(path).shape(), (Shape{5}));
  std::remove(path.c_str());
}

TEST(Tensor, NpyErrorsNameTheFile) {
  const std::string path = ::testing::TempDir() + "hattn_bad.npy";
  { std::ofstream(path) << "not a numpy file"; }
  std::string msg = error_of([&] { load_npy(path); });
  EXPECT_NE(msg.find(path), std::string::npos);
  EXPECT_NE(msg.find("magic"), std::string::npos);
  save_npy(path, iota({100}));
  {  // truncate the data
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(path, std::ios::binary) << all.substr(0, all.size() - 10);
  }
  msg = error_of([&] { load_npy(path); });
  EXPECT_NE(msg.find("truncated"), std::string::npos);
  EXPECT_NE(error_of([] { load_npy("/nonexistent/x.npy"); }).find("/nonexistent/x.npy"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Tensor, SeededRandomIsReproducible) {
  Generator g1(7), g2(7), g3(8);
  Tensor a = randn({1000}, DType::F64, g1), b = randn({1000}, DType::F64, g2), c = randn({1000}, DType::F64, g3);
  EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>());
  EXPECT_NE(a.to_vector<double>(), c.to_vector<double>());
  std::vector<double> v = a.to_vector<double>();
  double m = 0, s2 = 0;
  for (double x : v) m += x;
  m /= v.size();
  for (double x : v) s2 += (x - m) * (x - m);
  EXPECT_NEAR(m, 0, 0.1);                           // 3 standard errors of the mean (1/sqrt(1000))
  EXPECT_NEAR(std::sqrt(s2 / v.size()), 1, 0.07);
  manual_seed(3);
  Tensor r1 = rand({5});
  manual_seed(3);
  EXPECT_EQ(rand({5}).to_vector<float>(), r1.to_vector<float>());
  Tensor ri = randint({100}, 2, 5);
  for (int64_t x : ri.to_vector<int64_t>()) EXPECT_TRUE(x >= 2 && x < 5);
}

TEST(Tensor, Printing) {
  std::ostringstream os;
  os << Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(os.str(), "Tensor([[1, 2],\n        [3, 4]], float32(2, 2))");
  std::ostringstream big;
  big << iota({100});
  EXPECT_NE(big.str().find("..."), std::string::npos);
}

// A writer that fails leaves neither the file nor its temporary; one that succeeds leaves only the file.
TEST(AtomicWrite, WholeOrNothing) {
  const std::string path = ::testing::TempDir() + "atomic.txt";
  std::remove(path.c_str());
  EXPECT_THROW(write_file_atomically(path, [](std::ostream& f) {
                 f << "half";
                 throw Error("the writer failed");
               }),
               Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  write_file_atomically(path, [](std::ostream& f) { f << "whole"; });
  std::ifstream in(path);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "whole");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const std::string msg = error_of([] { write_file_atomically("/proc/no/such/dir/x.txt", [](std::ostream&) {}); });
  EXPECT_NE(msg.find("cannot write '/proc/no/such/dir/x.txt'"), std::string::npos) << msg;
  std::remove(path.c_str());
}

// An array written slice by slice is the same file as written whole; slices that do not add up leave no file.
TEST(Npy, StreamedEqualsWhole) {
  Generator g(4);
  const Tensor x = uniform({5, 3, 4}, -1, 1, DType::F32, g);
  const std::string whole = ::testing::TempDir() + "npy_whole.npy", streamed = ::testing::TempDir() + "npy_streamed.npy";
  save_npy(whole, x);
  save_npy_streamed(streamed, {5, 3, 4}, DType::F32, [&](const std::function<void(const Tensor&)>& emit) {
    emit(x.narrow(0, 0, 2));
    emit(x.narrow(0, 2, 3));
  });
  std::ifstream a(whole, std::ios::binary), b(streamed, std::ios::binary);
  const std::string bytes_a((std::istreambuf_iterator<char>(a)), {}), bytes_b((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(bytes_a, bytes_b);
  const std::string bad = ::testing::TempDir() + "npy_bad.npy";
  EXPECT_NE(error_of([&] {
              save_npy_streamed(bad, {5, 3, 4}, DType::F32,
                                [&](const std::function<void(const Tensor&)>& emit) { emit(x.narrow(0, 0, 4)); });
            }).find("4 of 5 rows"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              save_npy_streamed(bad, {5, 3, 4}, DType::F32,
                                [&](const std::function<void(const Tensor&)>& emit) { emit(x.to(DType::F64)); });
            }).find("does not continue"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(bad));
  std::remove(whole.c_str());
  std::remove(streamed.c_str());
}

TEST(Tensor, CudaWithoutDeviceFailsClearly) {
  if (cuda::available()) GTEST_SKIP() << "a CUDA device is present; the CUDA suite covers it";
  std::string msg = error_of([] { Tensor::zeros({2}, DType::F32, Device::cuda()); });
#if HATTN_WITH_CUDA
  EXPECT_NE(msg.find("CUDA"), std::string::npos) << msg;  // the runtime's own error: no device
#else
  EXPECT_NE(msg.find("has no CUDA implementation: this build found no nvcc"), std::string::npos) << msg;
#endif
}

}  // namespace
// The pool: every index of every job runs exactly once, with nested parallel_fors inside chunks, jobs in quick
// succession (threads spinning between them) and after idle gaps (threads asleep), at 1, 2 and 4 threads; an
// exception in a chunk reaches the caller and the pool keeps working.
TEST(ParallelFor, EveryIndexOnceNestedAndAfterErrors) {
  const int before = num_threads();
  for (int threads : {1, 2, 4}) {
    set_num_threads(threads);
    for (int round = 0; round < 200; ++round) {
      const int64_t n = 1 + (round * 37) % 500;
      std::vector<std::atomic<int>> hits(n * 8);
      parallel_for(n, 3, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          parallel_for(8, 1, [&](int64_t jb, int64_t je) {
            for (int64_t j = jb; j < je; ++j) hits[i * 8 + j].fetch_add(1);
          });
      });
      for (int64_t k = 0; k < n * 8; ++k) ASSERT_EQ(hits[k].load(), 1) << threads << " threads, round " << round;
      if (round % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the workers sleep
    }
    EXPECT_THROW(parallel_for(100, 1, [](int64_t b, int64_t) {
                   if (b == 42) throw std::runtime_error("chunk 42");
                 }),
                 std::runtime_error);
    std::atomic<int64_t> total{0};
    parallel_for(1000, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    EXPECT_EQ(total.load(), 1000);
  }
  set_num_threads(before);
}

}  // namespace ha
