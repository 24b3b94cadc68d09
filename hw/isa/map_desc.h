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

#include <cstdint>
#include <string>

namespace fusesim::isa {

struct MapDesc {
  bool on = false;  // false: register 0, the dense layout of ISA v3
  uint32_t base = 0, cpitch = 0, gpitch = 0, group = 1, ring = 0;

  // Why the register values are unusable ("" when they are fine).
  std::string check() const {
    if (group == 0) return "group is 0";
    if (cpitch == 0) return "cpitch is 0";
    if (ring && ring % group) return "ring is not a multiple of group";
    if (ring > cpitch) return "ring exceeds cpitch";
    return "";
  }
};

// An operand resolved against its descriptor: the byte address of element (c, y, x).
class MapView {
 public:
  // `start`: the operand's byte address; `esize`: bytes per element in that buffer.
  MapView(const MapDesc& d, uint64_t start, uint64_t esize) : d_(d), start_(start), esize_(esize) {
    if (!d.on) return;
    const uint64_t p0 = (start - d.base) / esize;
    c0_ = p0 / d.cpitch;
    q0_ = p0 % d.cpitch;
    yr0_ = q0_ % d.group;
  }
  // Whether the operand start is inside its descriptor's region (base at or before it, on an
  // element boundary, and inside the ring when there is one).
  bool start_ok() const {
    if (!d_.on) return true;
    if (start_ < d_.base || (start_ - d_.base) % esize_) return false;
    return !d_.ring || q0_ < d_.ring;
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
  const MapDesc& desc() const { return d_; }
  uint64_t first_plane() const { return c0_; }

 private:
  MapDesc d_;
  uint64_t start_, esize_;
  uint64_t c0_ = 0, q0_ = 0, yr0_ = 0;
};

}  // namespace fusesim::isa
