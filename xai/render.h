// Pictures (docs/definitions.md §6): the notebook's JET heat-map overlay, attention-matrix pictures (viridis of min-max |α|),
// labelled grids and panels. Text is drawn with stb_easy_font (no system fonts).
#pragma once
#include <string>
#include <vector>

#include "models/io/image.h"
#include "tensor/tensor.h"

namespace ha::xai {

struct Rgb {
  uint8_t r, g, b;
};
Rgb jet(uint8_t v);      // OpenCV's COLORMAP_JET, RGB
Rgb viridis(double v);   // matplotlib's viridis, v in [0, 1]

// map (G, G) -> bilinear to the image size (align_corners=False) -> min-max -> JET(uint8(255 m)) / 255,
// plus the model input min-maxed (input: (1, 3, H, W) normalised), divided by its max, as 8-bit RGB.
Image8 overlay(const Tensor& input, const Tensor& map);

// One L×L (or first_k × first_k) matrix: min-max of |α| through viridis, each entry a `cell`-pixel square.
Image8 matrix_picture(const Tensor& M, int64_t first_k, int64_t cell);

// Titled tiles in a grid: `columns` per row, a caption above each tile; white background.
struct Tile {
  Image8 image;
  std::string caption;
};
Image8 grid(const std::vector<Tile>& tiles, int64_t columns, const std::string& title = "");

// Text in black at (x, y), `scale` pixels per font unit.
void draw_text(Image8& img, int64_t x, int64_t y, const std::string& text, int64_t scale, Rgb colour = {0, 0, 0});
int64_t text_width(const std::string& text, int64_t scale);
Image8 upscale_nearest(const Image8& img, int64_t factor);

}  // namespace ha::xai
