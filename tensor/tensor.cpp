#include "tensor/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "tensor/cuda/cuda_memory.h"
#include "tensor/parallel.h"
#include "tensor/strided_loop.h"
#include "tensor/transpose.h"

namespace ha {

void require_readable_file(const std::string& path, const char* what) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  HATTN_CHECK_INPUT(!ec && std::filesystem::exists(st), "cannot open ", what, " '", path, "': no such file");
  HATTN_CHECK_INPUT(!std::filesystem::is_directory(st), "cannot open ", what, " '", path, "': it is a directory, not a file");
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ")";
  return os.str();
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  HATTN_CHECK(d >= 0 && d < ndim, op, ": dim ", dim, " is out of range for a tensor with ", ndim, " dims");
  return d;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    HATTN_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

static Tensor make(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) HATTN_CHECK(d >= 0, "Tensor::empty: negative size in shape ", shape_str(shape));
  HATTN_CHECK(shape_fits(shape), "Tensor::empty: shape ", shape_str(shape), " is too large to allocate");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel_of(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) { return make(shape, dtype, device); }

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = make(shape, dtype, device);
  if (device.is_cpu()) {
    std::memset(t.raw_data(), 0, t.numel() * dtype_size(dtype));
  } else {
    cuda::memset_zero(t.raw_data(), t.numel() * dtype_size(dtype), device.index);
  }
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  if (device.is_cpu()) return make(shape, dtype, device).fill_(value);
  return raw::to_device(full(shape, value, dtype, Device::cpu()), device);
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = make({n}, dtype, Device::cpu());
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(i);
  });
  return t;
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "Tensor::size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

double Tensor::at(const std::vector<int64_t>& idx) const {
  HATTN_CHECK(device().is_cpu(), "Tensor::at: tensor is on ", device().name(), "; move it to cpu first");
  HATTN_CHECK(static_cast<int64_t>(idx.size()) == dim(), "Tensor::at: ", idx.size(), " indices for shape ",
              shape_str(shape()));
  int64_t off = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    int64_t j = idx[i] < 0 ? idx[i] + shape()[i] : idx[i];
    HATTN_CHECK(j >= 0 && j < shape()[i], "Tensor::at: index ", idx[i], " out of range for dim ", i,
                " of shape ", shape_str(shape()));
    off += j * strides()[i];
  }
  return dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(data<T>()[off]);
  });
}

double Tensor::item() const {
  HATTN_CHECK(numel() == 1, "Tensor::item: tensor of shape ", shape_str(shape()), " has ", numel(),
              " elements, not 1");
  Tensor c = raw::to_device(*this, Device::cpu());
  return c.at(std::vector<int64_t>(c.dim(), 0));
}

Tensor& Tensor::fill_(double value) {
  bump_version();
  if (device().is_cuda()) {
    if (value == 0 && is_contiguous()) {
      cuda::memset_zero(raw_data(), numel() * dtype_size(dtype()), device().index);
      return *this;
    }
    return copy_(Tensor::full(shape(), value, dtype(), device()));  // through any strides
  }
  dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = data<T>();
    const T v = static_cast<T>(value);
    strided_loop<1>(shape(), {&strides()}, {0}, [&](auto off, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i) p[off[0] + i * st[0]] = v;
    });
  });
  return *this;
}

namespace {

// A transposing copy: dst contiguous (batch, R, C), src element (b, r, c) at src + b·sb + r + c·ld (the
// source's last two dims swapped in memory; |ld| ≥ R, ld < 0 for flips), in 16-row bands across threads.
template <class T>
void transpose_copy(T* dst, const T* src, int64_t batch, int64_t sb, int64_t R, int64_t C, int64_t ld) {
  constexpr int64_t kBand = 16;
  const int64_t bands = (R + kBand - 1) / kBand;
  parallel_for(batch * bands, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / bands, r0 = t % bands * kBand;
      transpose_block(src + b * sb + r0, ld, dst + b * R * C + r0 * C, C, std::min(kBand, R - r0), C);
    }
  });
}

}  // namespace

Tensor& Tensor::copy_(const Tensor& src) {
  Tensor s = raw::expand(src, shape(), "copy_");
  bump_version();
  if (device().is_cuda() && s.device() == device() && s.dtype() == dtype()) {  // on the device, any strides
    cuda::strided_copy(static_cast<int>(dtype_size(dtype())), s.raw_data(), raw_data(),
                       cuda::strided_of(shape(), {&strides(), &s.strides()}), device().index);
    return *this;
  }
  if (!device().is_cpu() || !s.device().is_cpu()) {
    // Cross-device copies need contiguous same-dtype buffers.
    HATTN_CHECK(is_contiguous(), "copy_: a CUDA destination must be contiguous");
    Tensor c = raw::contiguous(raw::to_dtype(raw::to_device(s, Device::cpu()), dtype()));
    size_t nbytes = numel() * dtype_size(dtype());
    if (device().is_cpu()) {
      std::memcpy(raw_data(), c.raw_data(), nbytes);
    } else {
      cuda::copy_host_to_device(raw_data(), c.raw_data(), nbytes, device().index);
    }
    return *this;
  }
  const int64_t nd = dim();
  const Shape& ss = s.strides();
  if (nd >= 2 && nd <= 3 && s.dtype() == dtype() && is_contiguous() && ss[nd - 2] == 1 &&
      std::abs(ss[nd - 1]) >= size(nd - 2) && size(nd - 2) > 1 && size(nd - 1) > 1 && numel() >= 4096) {
    dispatch_all(dtype(), [&](auto tag) {
      using T = decltype(tag);
      transpose_copy<T>(data<T>(), s.data<T>(), nd == 3 ? size(0) : 1, nd == 3 ? ss[0] : 0, size(nd - 2),
                        size(nd - 1), ss[nd - 1]);
    });
    return *this;
  }
  dispatch_all(dtype(), [&](auto dtag) {
    using D = decltype(dtag);
    dispatch_all(s.dtype(), [&](auto stag) {
      using S = decltype(stag);
      D* d = data<D>();
      const S* p = s.data<S>();
      strided_loop<2>(shape(), {&strides(), &s.strides()}, {0, 0}, [&](auto off, int64_t n, auto st) {
        D* dd = d + off[0];
        const S* pp = p + off[1];
        if (st[0] == 1 && st[1] == 1) {
          for (int64_t i = 0; i < n; ++i) dd[i] = static_cast<D>(pp[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) dd[i * st[0]] = static_cast<D>(pp[i * st[1]]);
        }
      });
    });
  });
  return *this;
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return str(dtype_name(t.dtype()), shape_str(t.shape()), t.device().is_cpu() ? "" : " " + t.device().name());
}

}  // namespace ha
