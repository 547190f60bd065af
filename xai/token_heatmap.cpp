#include "xai/token_heatmap.h"

#include <algorithm>
#include <cstdio>

#include "tensor/error.h"
#include "xai/render.h"

namespace ha::xai {
namespace {

// white -> orange -> red as the relevance goes 0 -> 1
Rgb heat(double v) {
  v = std::clamp(v, 0.0, 1.0);
  const double r = 255 - v * 35, g = 255 - v * 205, b = 255 - v * 223;
  return {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
}

// The largest value before the query: methods built on rollout always rank the query itself first, and scaling by
// it would wash out the context a reader looks at (the query is then drawn at full strength, clamped).
double scale_of(const TokenHeat& h) {
  double before = 0, all = 0;
  for (int64_t j = 0; j <= h.query && j < static_cast<int64_t>(h.values.size()); ++j) {
    all = std::max(all, double(h.values[j]));
    if (j < h.query) before = std::max(before, double(h.values[j]));
  }
  return before > 0 ? before : all > 0 ? all : 1;
}

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

// The PNG font has ASCII only: other bytes become '?', control characters their escapes.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else if (c >= 0xc0 || c < 0x80) out += '?';  // one '?' per UTF-8 sequence (continuation bytes dropped)
  }
  return out;
}

}  // namespace

std::string token_heatmap_html(const TokenHeat& h) {
  HATTN_CHECK(h.tokens.size() == h.values.size(), "token heatmap: ", h.tokens.size(), " tokens, ", h.values.size(),
              " values");
  const double top = scale_of(h);
  std::string body;
  for (size_t j = 0; j < h.tokens.size(); ++j) {
    const bool after = static_cast<int64_t>(j) > h.query;
    const Rgb c = after ? Rgb{235, 235, 235} : heat(h.values[j] / top);
    char style[160];
    std::snprintf(style, sizeof style, "background:rgb(%d,%d,%d)%s%s", c.r, c.g, c.b,
                  static_cast<int64_t>(j) == h.query ? ";outline:2px solid #1f4e9c" : "", after ? ";color:#999" : "");
    char tip[96];
    std::snprintf(tip, sizeof tip, "position %zu: %.3g", j, static_cast<double>(h.values[j]));
    body += "<span class=\"t\" style=\"" + std::string(style) + "\" title=\"" + tip + "\">" +
            escape_html(h.tokens[j]) + "</span>";
  }
  return "<!doctype html><meta charset=\"utf-8\"><title>" + escape_html(h.title) + "</title>\n"
         "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto} .t{white-space:pre;font-family:monospace;"
         "padding:2px 2px;margin:0 1px;border-radius:3px;line-height:2.2em;font-size:1.3em}</style>\n<h3>" + escape_html(h.title) +
         "</h3>\n<p>" + body + "</p>\n<p style=\"color:#666\">Background: relevance scaled by its largest value before the "
         "query (the query itself may exceed it and is then drawn at full strength); the outlined token is the query; "
         "grey tokens come after it. Hover a token for its value.</p>\n";
}

Image8 token_heatmap_png(const TokenHeat& h) {
  HATTN_CHECK(h.tokens.size() == h.values.size(), "token heatmap: sizes differ");
  const double top = scale_of(h);
  const int64_t scale = 2, pad = 4, row_h = 12 * scale + 2 * pad, width = 900, margin = 10;
  // lay out first, then draw
  struct Box {
    int64_t x, y, w;
    std::string text;
  };
  std::vector<Box> boxes;
  int64_t x = margin, y = margin + 30;
  for (const std::string& t : h.tokens) {
    std::string text = printable(t);
    if (text.empty()) text = " ";
    const int64_t w = text_width(text, scale) + 2 * pad;
    if (x + w > width - margin && x > margin) {
      x = margin;
      y += row_h + 6;
    }
    boxes.push_back({x, y, w, text});
    x += w + 4;
  }
  Image8 img;
  img.width = width;
  img.height = y + row_h + margin;
  img.rgb.assign(img.width * img.height * 3, 255);
  draw_text(img, margin, margin, h.title, scale);
  for (size_t j = 0; j < boxes.size(); ++j) {
    const Box& b = boxes[j];
    const bool after = static_cast<int64_t>(j) > h.query, query = static_cast<int64_t>(j) == h.query;
    const Rgb c = after ? Rgb{235, 235, 235} : heat(h.values[j] / top);
    for (int64_t yy = b.y; yy < std::min(img.height, b.y + row_h); ++yy)
      for (int64_t xx = b.x; xx < std::min(img.width, b.x + b.w); ++xx) {
        const bool edge = query && (yy < b.y + 2 || yy >= b.y + row_h - 2 || xx < b.x + 2 || xx >= b.x + b.w - 2);
        const Rgb p = edge ? Rgb{31, 78, 156} : c;
        uint8_t* px = img.pixel(xx, yy);
        px[0] = p.r;
        px[1] = p.g;
        px[2] = p.b;
      }
  }
  for (size_t j = 0; j < boxes.size(); ++j)  // text after every box: a box never covers a neighbour's text
    draw_text(img, boxes[j].x + pad, boxes[j].y + pad, boxes[j].text, scale,
              static_cast<int64_t>(j) > h.query ? Rgb{150, 150, 150} : Rgb{0, 0, 0});
  return img;
}

}  // namespace ha::xai
