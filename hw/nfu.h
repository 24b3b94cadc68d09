// The NFU (NFU-1 multipliers, NFU-2 adder trees / pooling, NFU-3 activation) as seen by the
// compute queue: validates a COMPUTE against the buffers, times it with the pipeline formula
// of docs/isa.md and, in functional mode, runs the kernels of nfu_kernels.h on the buffers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "buffer.h"
#include "isa/isa.h"
#include "nfu_kernels.h"
#include "run_context.h"

namespace fusesim::hw {

class Nfu {
 public:
  Nfu(RunContext& ctx, Buffer& nbin, Buffer& sb, Buffer& nbout);

  // Executes one COMPUTE whose tokens are taken, starting now. Returns the absolute completion
  // cycle; on a fault it latches it in the context and returns now.
  uint64_t execute(const isa::Instr& in, uint32_t index);

  // NFU cycles of a COMPUTE: the pipeline formula, bounded below by the buffer ports.
  uint64_t cycles(const isa::Instr& in) const;
  static uint64_t macs(const isa::Instr& in);
  // The instruction's shape with defaults applied (0 stride/dilation/kernel means 1; non-conv
  // ops take cin = cout and add/act take in_h/in_w = out_h/out_w when left 0).
  static kernels::Geometry geometry(const isa::Instr& in);

 private:
  // Bytes one COMPUTE touches in each buffer.
  struct Footprint {
    uint64_t in = 0, weights = 0, bias = 0, out_read = 0, out_write = 0;
    uint64_t in_extent = 0;  // bytes from in_addr to the last input byte read (a window: more than in)
  };
  static uint64_t bias_addr(const isa::Instr& in, const Footprint& f);
  template <class Data, class Acc>
  struct Scratch {
    std::vector<Data> in, weights, bias;
    std::vector<Acc> acc, padded;
    std::vector<uint8_t> dense;
  };

  RunContext& ctx_;
  Buffer &nbin_, &sb_, &nbout_;
  Scratch<int16_t, int32_t> int16_;
  Scratch<float, float> fp32_;

  Buffer& input_buffer(const isa::Instr& in) const;
  Footprint footprint(const isa::Instr& in) const;
  bool validate(const isa::Instr& in, uint32_t index);
  void fail(const isa::Instr& in, uint32_t index, const char* kind, const std::string& msg);
  void count(const isa::Instr& in);
  void trace_regions(Tracer& t, const isa::Instr& in) const;
  template <class Data, class Acc>
  void run(const isa::Instr& in, Scratch<Data, Acc>& s);
  template <class Data, class Acc>
  void gather_input(const isa::Instr& in, const kernels::Geometry& g, std::vector<Data>& dst) const;
};

}  // namespace fusesim::hw
