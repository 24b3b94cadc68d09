// The NFU (NFU-1 multipliers, NFU-2 adder trees / pooling, NFU-3 activation) as seen by the
// compute queue: validates a COMPUTE against the buffers, times it with the pipeline formula
// of docs/isa.md and, in functional mode, runs the kernels of nfu_kernels.h on the buffers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "buffer.h"
#include "data_thread.h"
#include "isa/isa.h"
#include "isa/map_desc.h"
#include "nfu_kernels.h"
#include "run_context.h"

namespace fusesim::hw {

class Nfu {
 public:
  Nfu(RunContext& ctx, Buffer& nbin, Buffer& sb, Buffer& nbout);

  // Executes one COMPUTE whose tokens are taken, starting now; `in_map` and `out_map` are the
  // values of its in_desc and out_desc registers at dispatch. Returns the absolute completion
  // cycle; on a fault it latches it in the context and returns now.
  uint64_t execute(const isa::Instr& in, uint32_t index, const isa::MapDesc& in_map,
                   const isa::MapDesc& out_map);

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
  };
  // An operand map: planes x rows x cols elements; without a descriptor element (c, y, x) is at
  // ((c * rows_dense + y) * cols_dense + x) from the start (a window when larger than rows x cols).
  struct Box {
    uint64_t planes, rows, cols, rows_dense, cols_dense;
  };
  // The input and output maps resolved against their descriptors, with the bytes they may touch,
  // and the instruction's footprint (worked out once: validation, timing and counting use it).
  struct Maps {
    isa::MapView in, out;
    uint64_t in_lo = 0, in_hi = 0, out_lo = 0, out_hi = 0;
    Footprint f;
  };
  static uint64_t bias_addr(const isa::Instr& in, const Footprint& f);
  static Box input_box(const isa::Instr& in, const kernels::Geometry& g);
  static Box output_box(const isa::Instr& in, const kernels::Geometry& g);
  template <class Data, class Acc>
  struct Scratch {
    std::vector<Data> in, weights, bias;
    std::vector<Acc> acc, row;
  };

  RunContext& ctx_;
  Buffer &nbin_, &sb_, &nbout_;
  Scratch<int16_t, int32_t> int16_;
  Scratch<float, float> fp32_;

  Buffer& input_buffer(const isa::Instr& in) const;
  Buffer& output_buffer(const isa::Instr& in) const;
  Footprint footprint(const isa::Instr& in) const;
  Footprint footprint(const isa::Instr& in, const kernels::Geometry& g, const Box& ib, const Box& ob) const;
  uint64_t cycles(const isa::Instr& in, const kernels::Geometry& g, const Footprint& f) const;
  Maps resolve(const isa::Instr& in, const isa::MapDesc& in_map, const isa::MapDesc& out_map) const;
  bool validate(const isa::Instr& in, uint32_t index, const Maps& m);
  bool validate_maps(const isa::Instr& in, uint32_t index, const Maps& m);
  void fail(const isa::Instr& in, uint32_t index, const char* kind, const std::string& msg);
  void count(const isa::Instr& in, const Maps& m);
  void trace_regions(Tracer& t, const isa::Instr& in, const Maps& m) const;
  // The kernels (functional mode), here or on the data thread (data_job).
  void run(const isa::Instr& in, const Maps& m);
  static void data_job(void* nfu, const DataThread::Job& job);
  template <class Data, class Acc>
  void run(const isa::Instr& in, const Maps& m, Scratch<Data, Acc>& s);
  template <class Data>
  void gather_input(const isa::Instr& in, const kernels::Geometry& g, const isa::MapView& view,
                    std::vector<Data>& dst) const;
  template <class Acc>
  void read_output(const isa::Instr& in, const kernels::Geometry& g, const isa::MapView& view,
                   std::vector<Acc>& dst) const;
  template <class Data, class Acc>
  void write_output(const isa::Instr& in, const kernels::Geometry& g, const isa::MapView& view,
                    Scratch<Data, Acc>& s);
};

}  // namespace fusesim::hw
