#include "xai/line_chart.h"

#include <cstdio>
#include <sstream>

namespace ha::xai {
namespace {

std::string tick(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string line_chart_svg(const LineChart& c) {
  const int W = 640, H = 420, left = 60, right = 200, top = 40, bottom = 50;
  const int pw = W - left - right, ph = H - top - bottom;
  static const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << left << "\" y=\"22\" font-size=\"15\">" << c.title << "</text>\n";
  for (int i = 0; i <= 10; ++i) {  // grid and ticks
    const double x = left + pw * i / 10.0, y = top + ph - ph * i / 10.0;
    s << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << top + ph << "\" stroke=\"#eee\"/>\n";
    s << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + pw << "\" y2=\"" << y << "\" stroke=\"#eee\"/>\n";
    if (i < 10 || c.last_x_tick)
      s << "<text x=\"" << x - 8 << "\" y=\"" << top + ph + 16 << "\">" << i * 10 << "</text>\n";
    s << "<text x=\"" << left - 34 << "\" y=\"" << y + 4 << "\">"
      << (c.tick_digits == 0 && c.y_max == 1 && c.tick_scale == 100 ? std::to_string(i * 10)
                                                                     : tick(c.y_max * c.tick_scale * i / 10, c.tick_digits))
      << "</text>\n";
  }
  s << "<text x=\"" << left + pw / 2 - 60 << "\" y=\"" << H - 12 << "\">" << c.x_label << "</text>\n";
  s << "<text x=\"14\" y=\"" << top + ph / 2 << "\" transform=\"rotate(-90 14 " << top + ph / 2 << ")\">" << c.y_label
    << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  int k = 0;
  for (const LineSeries& line : c.series) {
    const size_t n = line.values.size();
    s << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << colours[k % 10] << "\" points=\"";
    for (size_t i = 0; i < n; ++i) {
      const double fx = c.tenths ? i / 10.0 : n > 1 ? double(i) / double(n - 1) : 0.0;
      s << left + pw * fx << "," << top + ph - ph * (c.y_max > 0 ? line.values[i] / c.y_max : 0.0) << " ";
    }
    s << "\"/>\n<text x=\"" << left + pw + 10 << "\" y=\"" << top + 14 + 18 * k << "\" fill=\"" << colours[k % 10]
      << "\">" << line.name << (line.note.empty() ? "" : " (" + line.note + ")") << "</text>\n";
    ++k;
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace ha::xai
