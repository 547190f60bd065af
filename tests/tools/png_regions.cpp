// png_regions IMAGE X,Y,W,H...: for each region of the image, the standard deviation of its grey levels
// (0-255), one line per region. scripts/check_explorer.sh uses it to tell a drawn picture from an empty one in
// a browser screenshot. Exit status 2 on bad usage or an unreadable image.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "models/io/image.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: png_regions IMAGE X,Y,W,H...\n");
    return 2;
  }
  try {
    const ha::Image8 img = ha::load_image(argv[1]);
    for (int a = 2; a < argc; ++a) {
      long x, y, w, h;
      if (std::sscanf(argv[a], "%ld,%ld,%ld,%ld", &x, &y, &w, &h) != 4 || w <= 0 || h <= 0 || x < 0 || y < 0 ||
          x + w > img.width || y + h > img.height) {
        std::fprintf(stderr, "png_regions: region '%s' is malformed or outside the %lldx%lld image\n", argv[a],
                     static_cast<long long>(img.width), static_cast<long long>(img.height));
        return 2;
      }
      double sum = 0, sq = 0;
      for (long r = y; r < y + h; ++r)
        for (long c = x; c < x + w; ++c) {
          const uint8_t* p = img.pixel(c, r);
          const double g = (p[0] + p[1] + p[2]) / 3.0;
          sum += g;
          sq += g * g;
        }
      const double n = double(w) * h, mean = sum / n;
      std::printf("%.2f\n", std::sqrt(std::max(0.0, sq / n - mean * mean)));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "png_regions: %s\n", e.what());
    return 2;
  }
  return 0;
}
