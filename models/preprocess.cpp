#include "models/preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/error.h"

namespace ha {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

double bilinear(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic(double x) {  // a = -0.5, as Pillow
  const double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Per output pixel: the first input index, the tap count, and fixed-point weights (Pillow's
// precompute_coeffs + normalize_coeffs_8bpc).
struct Coeffs {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> k;  // out_size * ksize
};

Coeffs precompute(int64_t in_size, int64_t out_size, ResampleFilter f) {
  const double support_base = f == ResampleFilter::Bilinear ? 1.0 : 2.0;
  double (*filter)(double) = f == ResampleFilter::Bilinear ? bilinear : bicubic;
  const double scale = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = support_base * filterscale;
  Coeffs c;
  c.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.k.assign(out_size * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = 0.0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      w[x] = filter((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (int64_t x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      c.k[xx * c.ksize + x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.first.push_back(xmin);
    c.count.push_back(xmax);
  }
  return c;
}

inline uint8_t clip8(int64_t v) {
  if (v >= (int64_t(1) << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

}  // namespace

Preprocess parse_preprocess(const std::string& name) {
  if (name == "crop") return Preprocess::Crop;
  if (name == "vim-eval") return Preprocess::VimEval;
  if (name == "squash") return Preprocess::Squash;
  throw InputError(str("unknown preprocessing '", name, "' (choose crop, vim-eval or squash)"));
}

const char* preprocess_name(Preprocess p) {
  return p == Preprocess::Crop ? "crop" : p == Preprocess::VimEval ? "vim-eval" : "squash";
}

Image8 resize_like_pil(const Image8& in, int64_t width, int64_t height, ResampleFilter filter) {
  HATTN_CHECK(width > 0 && height > 0, "resize: target size ", width, "x", height, " must be positive");
  if (width == in.width && height == in.height) return in;
  const Coeffs ch = precompute(in.width, width, filter);
  const Coeffs cv = precompute(in.height, height, filter);
  const bool need_h = width != in.width, need_v = height != in.height;
  Image8 cur = in;
  int64_t row0 = 0;
  if (need_h) {
    // only the rows the vertical pass reads
    const int64_t first = cv.first[0], last = cv.first[height - 1] + cv.count[height - 1];
    row0 = first;
    Image8 tmp;
    tmp.width = width;
    tmp.height = need_v ? last - first : in.height;
    if (!need_v) row0 = 0;
    tmp.rgb.resize(tmp.width * tmp.height * 3);
    for (int64_t y = 0; y < tmp.height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        const int32_t* k = &ch.k[x * ch.ksize];
        int64_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
        for (int64_t t = 0; t < ch.count[x]; ++t) {
          const uint8_t* p = in.pixel(ch.first[x] + t, y + row0);
          s0 += int64_t(p[0]) * k[t];
          s1 += int64_t(p[1]) * k[t];
          s2 += int64_t(p[2]) * k[t];
        }
        uint8_t* o = tmp.pixel(x, y);
        o[0] = clip8(s0), o[1] = clip8(s1), o[2] = clip8(s2);
      }
    cur = std::move(tmp);
  }
  if (!need_v) return cur;
  Image8 out;
  out.width = cur.width;
  out.height = height;
  out.rgb.resize(out.width * height * 3);
  for (int64_t y = 0; y < height; ++y) {
    const int32_t* k = &cv.k[y * cv.ksize];
    const int64_t y0 = cv.first[y] - (need_h ? row0 : 0);
    for (int64_t x = 0; x < cur.width; ++x) {
      int64_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int64_t t = 0; t < cv.count[y]; ++t) {
        const uint8_t* p = cur.pixel(x, y0 + t);
        s0 += int64_t(p[0]) * k[t];
        s1 += int64_t(p[1]) * k[t];
        s2 += int64_t(p[2]) * k[t];
      }
      uint8_t* o = out.pixel(x, y);
      o[0] = clip8(s0), o[1] = clip8(s1), o[2] = clip8(s2);
    }
  }
  return out;
}

Image8 resize_shorter_side(const Image8& img, int64_t shorter, ResampleFilter filter) {
  const int64_t w = img.width, h = img.height;
  if ((w <= h && w == shorter) || (h <= w && h == shorter)) return img;
  const int64_t s = std::min(w, h), l = std::max(w, h);
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(shorter) * l / s);
  return w <= h ? resize_like_pil(img, shorter, new_long, filter) : resize_like_pil(img, new_long, shorter, filter);
}

Image8 center_crop(const Image8& img, int64_t size) {
  HATTN_CHECK(img.width >= size && img.height >= size, "center_crop: image ", img.width, "x", img.height,
              " is smaller than ", size);
  const int64_t top = static_cast<int64_t>(std::nearbyint((img.height - size) / 2.0));  // round half to even
  const int64_t left = static_cast<int64_t>(std::nearbyint((img.width - size) / 2.0));
  Image8 out;
  out.width = out.height = size;
  out.rgb.resize(size * size * 3);
  for (int64_t y = 0; y < size; ++y)
    std::copy(img.pixel(left, top + y), img.pixel(left, top + y) + size * 3, out.pixel(0, y));
  return out;
}

Image8 preprocess_image(const Image8& img, int64_t n, Preprocess mode) {
  switch (mode) {
    case Preprocess::Crop: return center_crop(resize_shorter_side(img, n, ResampleFilter::Bilinear), n);
    case Preprocess::VimEval:
      return center_crop(resize_shorter_side(img, static_cast<int64_t>(n / 0.875), ResampleFilter::Bicubic), n);
    case Preprocess::Squash: return resize_like_pil(img, n, n, ResampleFilter::Bilinear);
  }
  return img;
}

Tensor normalize_image(const Image8& img) { return normalize_image(img, Normalization::ImageNet); }

Normalization parse_normalization(const std::string& name) {
  if (name == "imagenet") return Normalization::ImageNet;
  if (name == "half") return Normalization::Half;
  throw InputError(str("unknown normalisation '", name, "' (choose imagenet or half)"));
}

const ChannelStats& channel_stats(Normalization n) {
  static const ChannelStats imagenet{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  static const ChannelStats half{{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
  return n == Normalization::ImageNet ? imagenet : half;
}

Tensor normalize_image(const Image8& img, Normalization n) {
  const float* mean = channel_stats(n).mean;
  const float* stdev = channel_stats(n).std;
  Tensor t = Tensor::empty({1, 3, img.height, img.width}, DType::F32);
  float* p = t.data<float>();
  const int64_t hw = img.height * img.width;
  for (int64_t i = 0; i < hw; ++i)
    for (int c = 0; c < 3; ++c) p[c * hw + i] = (img.rgb[i * 3 + c] / 255.0f - mean[c]) / stdev[c];
  return t;
}

std::vector<uint8_t> resize_nearest_like_pil(const std::vector<uint8_t>& plane, int64_t w, int64_t h, int64_t out_w,
                                             int64_t out_h) {
  HATTN_CHECK(w > 0 && h > 0 && out_w > 0 && out_h > 0 && plane.size() == size_t(w * h),
              "resize_nearest_like_pil: a ", w, "x", h, " plane of ", plane.size(), " bytes to ", out_w, "x", out_h);
  // the source index of every output index: the running sum, not s * (x + 0.5), decides exact ties as Pillow does
  auto sources = [](int64_t in, int64_t out) {
    std::vector<int64_t> idx(out);
    const double step = double(in) / double(out);
    double at = step * 0.5;
    for (int64_t o = 0; o < out; ++o, at += step) idx[o] = std::min<int64_t>(in - 1, static_cast<int64_t>(at));
    return idx;
  };
  const std::vector<int64_t> xs = sources(w, out_w), ys = sources(h, out_h);
  std::vector<uint8_t> out(out_w * out_h);
  for (int64_t y = 0; y < out_h; ++y)
    for (int64_t x = 0; x < out_w; ++x) out[y * out_w + x] = plane[ys[y] * w + xs[x]];
  return out;
}

}  // namespace ha
