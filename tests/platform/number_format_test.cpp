// format_g6 against the C library's %.6g, which bandwidth.csv was written with before: random
// doubles over the whole range it handles itself, the ties and decade boundaries where rounding
// is delicate, and the values bandwidth.csv really holds (bytes over cycles, times the clock).
#include "platform/number_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

namespace {

std::string libc(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string ours(double v) {
  char buf[64];
  return std::string(buf, fusesim::format_g6(buf, v));
}

TEST(NumberFormat, MatchesPrintfOnRandomDoubles) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-20, 30), mantissa(1, 10);
  for (int i = 0; i < 2000000; ++i) {
    const double v = (i % 7 == 0 ? -1 : 1) * mantissa(rng) * std::pow(10.0, std::floor(exponent(rng)));
    ASSERT_EQ(libc(v), ours(v)) << "v = " << v;
  }
  for (int i = 0; i < 500000; ++i) {  // arbitrary bit patterns
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    ASSERT_EQ(libc(v), ours(v)) << "bits = " << bits;
  }
}

TEST(NumberFormat, MatchesPrintfAtTiesAndBoundaries) {
  // Six-digit values with a trailing 5 (exact ties in binary where the scale allows), values one
  // ulp either side, and the decades' edges 9.999995 -> 10, 0.0001, 1e6 and their neighbours.
  for (double scale : {1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7}) {
    for (uint32_t d = 100000; d < 1000000; d += 37) {
      const double v = (d * 10 + 5) * scale / 1e6;
      for (double w : {v, std::nextafter(v, 0.0), std::nextafter(v, 1e300)}) ASSERT_EQ(libc(w), ours(w)) << w;
    }
  }
  for (double v : {0.0, -0.0, 1.0, 0.5, 0.25, 0.125, 2.5, 1e-4, 9.99995e-5, 9.999995, 99999.95, 999999.5, 1e6,
                   999999.0, 1000000.0, 1e-5, 1e21, 1e22, 1e23, 1e-17, 1.5e-17, 1e27, 5e27, 1e300, 4.9e-324,
                   double{INFINITY}, -double{INFINITY}, 123456789.0, 0.000123456789})
    EXPECT_EQ(libc(v), ours(v)) << v;
}

TEST(NumberFormat, MatchesPrintfOnBandwidthFigures) {
  // gbps(bytes, cycles, clock) = bytes * clock / cycles, as bandwidth.csv computes them.
  for (double clock : {0.98, 1.0, 0.7, 1.5}) {
    for (uint64_t cycles : {1000u, 999u, 7u, 1u, 4096u}) {
      for (uint64_t bytes = 0; bytes < 70000; bytes += 3) {
        const double g = static_cast<double>(bytes) * clock / static_cast<double>(cycles);
        ASSERT_EQ(libc(g), ours(g)) << bytes << " " << cycles << " " << clock;
        ASSERT_EQ(libc(g / 12.8), ours(g / 12.8)) << bytes << " " << cycles << " " << clock;
      }
    }
  }
}

}  // namespace
