// The NFU's inner cycles per output block: how many cycles NFU-1 needs to feed one block of
// Tn output neurons. One definition for the hw model (hw/nfu.cpp) and the compiler's cost
// model, so that the two halves cannot drift apart. docs/isa.md "Timing of COMPUTE".
#pragma once

#include <cstdint>

#include "isa/isa.h"

namespace fusesim::isa {

inline uint64_t ceil_div_u(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// NFU-1 is Tn x Tn multipliers; each of the Tn adder trees of NFU-2 reduces Tn products a cycle.
// - conv with cin >= Tn (DianNao's mapping): the Tn lanes of a tree take Tn input channels of one
//   kernel tap, so a block takes ceil(cin/Tn) * taps cycles;
// - conv with cin < Tn (a stem layer): the lanes take (input channel, tap) pairs, the kernel
//   window packed into the channels as im2col does: ceil(cin * taps / Tn) cycles;
// - depthwise conv and pooling (no reduction across channels): tree i serves channel i and its
//   lanes take Tn window taps at once (max instead of add for max pooling): ceil(taps / Tn);
// - add, mul and act: 1 cycle.
inline uint64_t nfu_inner_cycles(ComputeOp op, uint64_t cin, uint64_t taps, uint64_t tn) {
  switch (op) {
    case ComputeOp::Conv:
      return cin >= tn ? ceil_div_u(cin, tn) * taps : ceil_div_u(cin * taps, tn);
    case ComputeOp::DwConv:
    case ComputeOp::MaxPool:
    case ComputeOp::AvgPool:
      return ceil_div_u(taps, tn);
    case ComputeOp::Add:
    case ComputeOp::Act:
    case ComputeOp::Mul:
      break;
  }
  return 1;
}

}  // namespace fusesim::isa
