// Curves as an SVG line chart (the evaluation reports' pictures): named series of values at evenly spaced x, a
// grid of 10 divisions, tick labels, a legend with each series' note.
#pragma once
#include <string>
#include <vector>

namespace ha::xai {

struct LineSeries {
  std::string name, note;     // legend: "name (note)", or "name" when note is empty
  std::vector<double> values;  // at x = 0, 1/(n−1), ..., 1 of the axis (n ≥ 2), or i/10 when `tenths`
};

struct LineChart {
  std::string title, x_label, y_label;
  double y_max = 1;               // the top of the y axis (the bottom is 0)
  double tick_scale = 100;        // tick labels: the axis fraction times this (100: percent)
  int tick_digits = 0;            // decimals of the tick labels
  bool last_x_tick = false;       // label the x axis's right end too
  bool tenths = false;            // values at x = i/10 (i = 0..n−1) instead of spanning the axis
  std::vector<LineSeries> series;
};

std::string line_chart_svg(const LineChart& chart);

}  // namespace ha::xai
