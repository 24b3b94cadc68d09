// Fast number formatting for the large CSV outputs (bandwidth.csv has a row per 1,000 cycles:
// 282 k rows for vgg16). Byte-identical to the C library's formatting it replaces.
#pragma once

namespace fusesim {

// Writes `v` as printf("%.6g") (and so std::ostream's default format) writes it, into `out`
// (at least 32 bytes); returns the end. Values near a rounding tie of the sixth digit, and
// values outside [1e-17, 1e27], go through std::to_chars, which rounds exactly.
char* format_g6(char* out, double v);

}  // namespace fusesim
