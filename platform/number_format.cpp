// %.6g without the C library: the six significant digits from one multiplication by an exact
// power of ten, then printf's layout rules for %g.
#include "number_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace fusesim {

namespace {

// 10^0 .. 10^22: every one an exact double, so scaling by one rounds once.
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

char* exact(char* out, double v) {
  return std::to_chars(out, out + 32, v, std::chars_format::general, 6).ptr;
}

// a * 10^(5 - e), correctly rounded; |5 - e| <= 22.
double scaled(double a, int e) { return e <= 5 ? a * kPow10[5 - e] : a / kPow10[e - 5]; }

}  // namespace

char* format_g6(char* out, double v) {
  if (v == 0) {  // common: a window without writes
    if (std::signbit(v)) *out++ = '-';
    *out++ = '0';
    return out;
  }
  if (!std::isfinite(v)) return exact(out, v);
  const double a = std::fabs(v);
  if (a < 1e-17 || a > 1e27) return exact(out, v);
  // Decimal exponent e with 10^e <= a < 10^(e+1): from the binary exponent b, floor(b log10 2) is
  // e or e - 1 (for a >= 1; e or e + 1 below), and the scaled value settles it. Then
  // x = a * 10^(5-e) lies in [1e5, 1e6), within one rounding (<= 1.2e-10) of the exact product.
  uint64_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  const int b = static_cast<int>((bits >> 52) & 0x7ff) - 1023;  // normal: a is >= 1e-17
  // e stays in [-17, 27] (the range of a), where 10^|5 - e| is in the table.
  int e = std::clamp(b >= 0 ? (b * 78913) >> 18 : -((-b * 78913 + (1 << 18) - 1) >> 18), -17, 27);
  double x = scaled(a, e);
  if (x < 1e5) {
    if (e == -17) return exact(out, v);
    x = scaled(a, --e);
  } else if (x >= 1e6) {
    if (e == 27) return exact(out, v);
    x = scaled(a, ++e);
  }
  if (x < 1e5 || x >= 1e6) return exact(out, v);
  const double whole = std::floor(x), frac = x - whole;  // exact: x < 2^53
  // printf rounds the exact binary value; only a fraction this close to one half could round
  // the other way than x does.
  if (std::fabs(frac - 0.5) < 1e-6) return exact(out, v);
  uint32_t digits = static_cast<uint32_t>(whole) + (frac > 0.5 ? 1 : 0);
  if (digits == 1000000) digits = 100000, ++e;
  char d[6];
  for (int i = 5; i >= 0; --i, digits /= 10) d[i] = static_cast<char>('0' + digits % 10);
  int last = 5;  // the last significant digit kept: %g drops trailing zeros
  while (last > 0 && d[last] == '0') --last;
  char* p = out;
  if (v < 0) *p++ = '-';
  if (e >= -4 && e < 6) {  // %f layout with 5 - e decimals
    if (e < 0) {
      *p++ = '0';
      *p++ = '.';
      for (int i = -1; i > e; --i) *p++ = '0';
      for (int i = 0; i <= last; ++i) *p++ = d[i];
    } else {
      for (int i = 0; i <= e; ++i) *p++ = d[i];
      if (last > e) {
        *p++ = '.';
        for (int i = e + 1; i <= last; ++i) *p++ = d[i];
      }
    }
    return p;
  }
  *p++ = d[0];  // %e layout: d.ddddde+XX, at least two exponent digits
  if (last > 0) {
    *p++ = '.';
    for (int i = 1; i <= last; ++i) *p++ = d[i];
  }
  *p++ = 'e';
  *p++ = e < 0 ? '-' : '+';
  const int ae = e < 0 ? -e : e;
  if (ae >= 100) *p++ = static_cast<char>('0' + ae / 100);
  *p++ = static_cast<char>('0' + ae / 10 % 10);
  *p++ = static_cast<char>('0' + ae % 10);
  return p;
}

}  // namespace fusesim
