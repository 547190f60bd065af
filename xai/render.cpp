#include "xai/render.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "ops/ops.h"

#define STB_EASY_FONT_IMPLEMENTATION
#include <stb/stb_easy_font.h>

namespace ha {
extern const char* const kJetText;
extern const char* const kViridisText;
}  // namespace ha

namespace ha::xai {
namespace {

template <class T>
std::vector<std::array<T, 3>> parse_table(const char* text, const char* name) {
  std::vector<std::array<T, 3>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    double a, b, c;
    ls >> a >> b >> c;
    rows.push_back({static_cast<T>(a), static_cast<T>(b), static_cast<T>(c)});
  }
  HATTN_CHECK(rows.size() == 256, name, " colour table has ", rows.size(), " entries, expected 256");
  return rows;
}

}  // namespace

Rgb jet(uint8_t v) {
  static const auto table = parse_table<int>(kJetText, "jet");
  const auto& e = table[v];
  return {static_cast<uint8_t>(e[0]), static_cast<uint8_t>(e[1]), static_cast<uint8_t>(e[2])};
}

Rgb viridis(double v) {
  static const auto table = parse_table<double>(kViridisText, "viridis");
  const int i = static_cast<int>(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5);
  const auto& e = table[i];
  auto q = [](double x) { return static_cast<uint8_t>(std::lround(std::clamp(x, 0.0, 1.0) * 255)); };
  return {q(e[0]), q(e[1]), q(e[2])};
}

Image8 overlay(const Tensor& input, const Tensor& map) {
  NoGradGuard ng;
  const int64_t H = input.size(2), W = input.size(3);
  Tensor up = upsample_bilinear(map.to(DType::F32).reshape({1, 1, map.size(0), map.size(1)}), H, W);
  std::vector<float> m = minmax_normalize(up).to_vector<float>();
  std::vector<float> img = minmax_normalize(input.detach().to(DType::F32)).to_vector<float>();  // (1, 3, H, W)
  std::vector<float> cam(H * W * 3);
  float peak = 0;
  for (int64_t i = 0; i < H * W; ++i) {
    const Rgb h = jet(static_cast<uint8_t>(255.0f * m[i]));  // uint8 cast truncates, as numpy's
    const float heat[3] = {h.r / 255.0f, h.g / 255.0f, h.b / 255.0f};
    for (int c = 0; c < 3; ++c) {
      cam[i * 3 + c] = heat[c] + img[c * H * W + i];
      peak = std::max(peak, cam[i * 3 + c]);
    }
  }
  Image8 out;
  out.width = W;
  out.height = H;
  out.rgb.resize(H * W * 3);
  for (size_t k = 0; k < cam.size(); ++k) out.rgb[k] = static_cast<uint8_t>(255.0f * (peak > 0 ? cam[k] / peak : 0.0f));
  return out;
}

Image8 matrix_picture(const Tensor& M_in, int64_t first_k, int64_t cell) {
  NoGradGuard ng;
  HATTN_CHECK(M_in.dim() == 2 && M_in.size(0) == M_in.size(1), "matrix_picture: expects a square matrix, got ",
              describe(M_in));
  const int64_t k = first_k > 0 ? std::min(first_k, M_in.size(0)) : M_in.size(0);
  std::vector<double> m = minmax_normalize(abs(M_in.narrow(0, 0, k).narrow(1, 0, k).to(DType::F64))).to_vector<double>();
  Image8 out;
  out.width = out.height = k * cell;
  out.rgb.resize(out.width * out.height * 3);
  for (int64_t i = 0; i < k * cell; ++i)
    for (int64_t j = 0; j < k * cell; ++j) {
      const Rgb c = viridis(m[(i / cell) * k + j / cell]);
      uint8_t* p = out.pixel(j, i);
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
  return out;
}

Image8 upscale_nearest(const Image8& img, int64_t f) {
  Image8 out;
  out.width = img.width * f;
  out.height = img.height * f;
  out.rgb.resize(out.width * out.height * 3);
  for (int64_t y = 0; y < out.height; ++y)
    for (int64_t x = 0; x < out.width; ++x) std::copy_n(img.pixel(x / f, y / f), 3, out.pixel(x, y));
  return out;
}

int64_t text_width(const std::string& text, int64_t scale) {
  return static_cast<int64_t>(stb_easy_font_width(const_cast<char*>(text.c_str()))) * scale;
}

void draw_text(Image8& img, int64_t x0, int64_t y0, const std::string& text, int64_t scale, Rgb colour) {
  // stb_easy_font needs up to 64 bytes per quad and a glyph has up to ~10 quads; an average-based estimate
  // (~270 bytes per character) drops strokes of short strings
  std::vector<char> buf((text.size() + 1) * 768);
  const int quads = stb_easy_font_print(0, 0, const_cast<char*>(text.c_str()), nullptr, buf.data(),
                                        static_cast<int>(buf.size()));
  const float* v = reinterpret_cast<const float*>(buf.data());
  for (int q = 0; q < quads; ++q) {
    const float* quad = v + q * 4 * 4;  // 4 vertices of (x, y, z, colour) = 16 bytes each
    float xmin = quad[0], xmax = quad[0], ymin = quad[1], ymax = quad[1];
    for (int k = 1; k < 4; ++k) {
      xmin = std::min(xmin, quad[k * 4]), xmax = std::max(xmax, quad[k * 4]);
      ymin = std::min(ymin, quad[k * 4 + 1]), ymax = std::max(ymax, quad[k * 4 + 1]);
    }
    for (int64_t y = y0 + static_cast<int64_t>(ymin * scale); y < y0 + static_cast<int64_t>(ymax * scale); ++y)
      for (int64_t x = x0 + static_cast<int64_t>(xmin * scale); x < x0 + static_cast<int64_t>(xmax * scale); ++x)
        if (x >= 0 && y >= 0 && x < img.width && y < img.height) {
          uint8_t* p = img.pixel(x, y);
          p[0] = colour.r, p[1] = colour.g, p[2] = colour.b;
        }
  }
}

Image8 grid(const std::vector<Tile>& tiles, int64_t columns, const std::string& title) {
  HATTN_CHECK(!tiles.empty() && columns > 0, "grid: nothing to draw");
  const int64_t scale = 2, line = 12 * scale, pad = 8;
  int64_t tw = 0, th = 0;
  for (const Tile& t : tiles) tw = std::max(tw, t.image.width), th = std::max(th, t.image.height);
  for (const Tile& t : tiles) tw = std::max(tw, text_width(t.caption, scale));
  const int64_t rows = (static_cast<int64_t>(tiles.size()) + columns - 1) / columns;
  const int64_t top = title.empty() ? 0 : line + pad;
  Image8 out;
  out.width = columns * (tw + pad) + pad;
  out.height = top + rows * (th + line + pad) + pad;
  out.rgb.assign(out.width * out.height * 3, 255);
  if (!title.empty()) draw_text(out, pad, pad, title, scale);
  for (size_t i = 0; i < tiles.size(); ++i) {
    const int64_t cx = pad + (i % columns) * (tw + pad), cy = top + pad + (i / columns) * (th + line + pad);
    draw_text(out, cx, cy, tiles[i].caption, scale);
    const Image8& im = tiles[i].image;
    for (int64_t y = 0; y < im.height; ++y) std::copy_n(im.pixel(0, y), im.width * 3, out.pixel(cx, cy + line + y));
  }
  return out;
}

}  // namespace ha::xai
