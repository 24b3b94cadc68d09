// Map descriptors (ISA v4): how a LOAD/STORE pattern or a COMPUTE operand is laid out in a
// buffer when it is not dense. A descriptor register holds { base, cpitch, gpitch, group, ring }:
//  - channel plane c of the map starts cpitch elements after plane c-1;
//  - inside a plane, rows come in groups of `group` rows interleaved by column: element (y, x)
//    of a plane is at position ((y / group) * gpitch + x) * group + y % group (group 1: a row
//    pitch of gpitch);
//  - with ring > 0 the position wraps modulo ring inside each plane: a line buffer whose oldest
//    rows are overwritten by the newest.
// An operand starting at byte address S names plane c0 = p0 / cpitch and position q0 = p0 %
// cpitch, p0 = (S - base) / esize; its element (c, y, x) is then plane c0 + c at position
// (q0 + delta(y, x)) mod ring, where delta walks rows from the row-in-group q0 % group.
// Plain C++ shared by hw/ (the address generators) and compiler/ (which lays maps out).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

namespace fusesim::isa {

struct MapDesc {
  bool on = false;  // false: register 0, the dense layout of ISA v3
  uint32_t base = 0, cpitch = 0, gpitch = 0, group = 1, ring = 0;

  // A register as DESC writes it (check() says whether the values are usable).
  static MapDesc of(uint32_t base, uint32_t cpitch, uint32_t gpitch, uint32_t group, uint32_t ring) {
    MapDesc d;
    d.on = true;
    d.base = base;
    d.cpitch = cpitch;
    d.gpitch = gpitch;
    d.group = group;
    d.ring = ring;
    return d;
  }

  // Why the register values are unusable ("" when they are fine).
  std::string check() const {
    if (group == 0) return "group is 0";
    if (cpitch == 0) return "cpitch is 0";
    if (ring && ring % group) return "ring is not a multiple of group";
    if (ring > cpitch) return "ring exceeds cpitch";
    return "";
  }
  // For messages: "{base 512, cpitch 64, gpitch 8, group 2, ring 32}".
  std::string describe() const {
    return "{base " + std::to_string(base) + ", cpitch " + std::to_string(cpitch) + ", gpitch " +
           std::to_string(gpitch) + ", group " + std::to_string(group) + ", ring " + std::to_string(ring) +
           "}";
  }
};

// An operand resolved against its descriptor: the byte address of element (c, y, x).
class MapView {
 public:
  MapView() = default;  // a dense operand at address 0
  // `start`: the operand's byte address; `esize`: bytes per element in that buffer.
  MapView(const MapDesc& d, uint64_t start, uint64_t esize) : d_(d), start_(start), esize_(esize) {
    if (!d.on || d.cpitch == 0 || d.group == 0) return;  // unusable values: start_ok() says so
    const uint64_t p0 = (start - d.base) / esize;
    c0_ = p0 / d.cpitch;
    q0_ = p0 % d.cpitch;
    yr0_ = q0_ % d.group;
  }
  // Whether the operand start is inside its descriptor's region (base at or before it, on an
  // element boundary, and inside the ring when there is one).
  // (The same conditions as start_error(), without building its message: checked per instruction.)
  bool start_ok() const {
    if (!d_.on) return true;
    if (d_.group == 0 || d_.cpitch == 0 || (d_.ring && d_.ring % d_.group) || d_.ring > d_.cpitch) return false;
    return start_ >= d_.base && (start_ - d_.base) % esize_ == 0 && !(d_.ring && q0_ >= d_.ring);
  }
  // Why the start is not inside the descriptor's region ("" when it is), for fault messages.
  std::string start_error() const {
    if (!d_.on) return "";
    if (const std::string why = d_.check(); !why.empty()) return "the descriptor is unusable (" + why + ")";
    if (start_ < d_.base) return "it lies below the descriptor's base";
    if ((start_ - d_.base) % esize_) return "it is not on an element boundary from the descriptor's base";
    if (d_.ring && q0_ >= d_.ring)
      return "it lies at position " + std::to_string(q0_) + " of its plane, past the ring of " +
             std::to_string(d_.ring) + " elements";
    return "";
  }
  uint64_t addr(uint64_t c, uint64_t y, uint64_t x, uint64_t rows_dense, uint64_t cols_dense) const {
    if (!d_.on) return start_ + ((c * rows_dense + y) * cols_dense + x) * esize_;
    return d_.base + ((c0_ + c) * d_.cpitch + pos(y, x)) * esize_;
  }
  // Position inside the plane (after the wrap).
  uint64_t pos(uint64_t y, uint64_t x) const {
    const uint64_t g = d_.group, yy = yr0_ + y;
    const uint64_t p = q0_ + (yy / g) * d_.gpitch * g + x * g + (yy % g) - yr0_;
    return d_.ring ? p % d_.ring : p;
  }
  // Elements between consecutive x of one row (1 when a row is contiguous).
  uint64_t x_step() const { return d_.on ? d_.group : 1; }
  // How many of the `n` elements from (y, x) along x lie back to back in the buffer: all of them
  // when dense, up to the ring's wrap with group 1, one with group > 1 (columns interleave rows).
  uint64_t contiguous(uint64_t y, uint64_t x, uint64_t n) const {
    if (!d_.on) return n;
    if (d_.group != 1) return std::min<uint64_t>(n, 1);
    return d_.ring ? std::min<uint64_t>(n, d_.ring - pos(y, x)) : n;
  }
  // Visits the elements (c, y, x0 .. x0 + n - 1) as pieces contiguous in the buffer:
  // fn(byte address, offset from x0, element count). The dense extents are those of addr().
  template <class Fn>
  void for_each_piece(uint64_t c, uint64_t y, uint64_t x0, uint64_t n, uint64_t rows_dense,
                      uint64_t cols_dense, Fn fn) const {
    for (uint64_t off = 0; off < n;) {
      const uint64_t len = contiguous(y, x0 + off, n - off);
      fn(addr(c, y, x0 + off, rows_dense, cols_dense), off, len);
      off += len;
    }
  }
  // The bytes [lo, hi) that the planes x rows x cols elements from the start may touch: with a
  // ring, the planes' whole ring regions; otherwise from the lowest to the highest element.
  std::pair<uint64_t, uint64_t> byte_range(uint64_t planes, uint64_t rows, uint64_t cols, uint64_t rows_dense,
                                           uint64_t cols_dense) const {
    if (!planes || !rows || !cols) return {start_, start_};
    if (!d_.on) return {start_, addr(planes - 1, rows - 1, cols - 1, rows_dense, cols_dense) + esize_};
    const uint64_t first = d_.base + c0_ * d_.cpitch * esize_;
    const uint64_t last = d_.base + (c0_ + planes - 1) * d_.cpitch * esize_;
    if (d_.ring) return {first, last + d_.ring * esize_};
    // pos(y, x) = q0 - yr0 + f(yr0 + y) + x * group with f(yy) = (yy / g) * gpitch * g + yy % g,
    // which grows with yy unless gpitch is 0, where rows crossing a group boundary reach
    // row-in-group 0 and g - 1.
    const uint64_t g = d_.group, y_last = yr0_ + rows - 1;
    const bool folded = d_.gpitch == 0 && y_last / g != yr0_ / g;
    const uint64_t f_lo = folded ? 0 : yr0_;
    const uint64_t f_hi = folded ? g - 1 : (y_last / g) * d_.gpitch * g + y_last % g;
    const uint64_t row0 = q0_ - yr0_;
    return {first + (row0 + f_lo) * esize_, last + (row0 + f_hi + (cols - 1) * g + 1) * esize_};
  }
  const MapDesc& desc() const { return d_; }
  uint64_t first_plane() const { return c0_; }

 private:
  MapDesc d_;
  uint64_t start_ = 0, esize_ = 1;
  uint64_t c0_ = 0, q0_ = 0, yr0_ = 0;
};

}  // namespace fusesim::isa
