// Checks before planning that the graph can be mapped at all: window attributes that fit the
// ISA's instruction fields, and a DRAM image that fits the arch's DRAM. Both are input errors
// naming the layer; catching them here keeps codegen's own encode check for codegen bugs.
#include <algorithm>
#include <stdexcept>

#include "isa/errors.h"
#include "passes.h"

namespace fusesim::compiler {
namespace {

// The largest value the field `name` of `op` holds, from the ISA's field table.
int64_t field_max(isa::Opcode op, const std::string& name) {
  for (const auto& f : isa::fields_of(op))
    if (name == f.name) return (int64_t{1} << f.width) - 1;
  throw std::logic_error("validate: the ISA has no field '" + name + "'");
}

[[noreturn]] void unmappable(const LayerNode& l, const std::string& key, int64_t value, isa::Opcode op,
                             const std::string& field) {
  throw InputError((l.origin.empty() ? std::string() : l.origin + ": ") + "layer '" + l.name + "' (" +
                   op_kind_name(l.op) + "): " + key + " " + std::to_string(value) +
                   " cannot be mapped: the " + isa::opcode_name(op) + " field '" + field +
                   "' holds at most " + std::to_string(field_max(op, field)));
}

void check_field(const LayerNode& l, const std::string& key, int64_t value, isa::Opcode op,
                 const std::string& field) {
  if (value > field_max(op, field)) unmappable(l, key, value, op, field);
}

// Padding a LOAD inserts along one axis: `lo` before the input, and past its end whatever the
// last window reaches beyond it (the padding, or more with ceil_mode).
void check_axis(const LayerNode& l, const char* axis, int64_t in, int64_t out, int64_t k, int64_t s,
                int64_t d, int64_t lo) {
  const std::string a(axis);
  check_field(l, "kernel_" + a, k, isa::Opcode::Compute, "k" + a);
  check_field(l, "stride_" + a, s, isa::Opcode::Compute, "stride_" + a);
  check_field(l, "dilation_" + a, d, isa::Opcode::Compute, "dil_" + a);
  const bool rows = a == "h";
  check_field(l, rows ? "pad_top" : "pad_left", lo, isa::Opcode::Load, rows ? "pad_top" : "pad_left");
  const int64_t hi = std::max<int64_t>(0, (out - 1) * s - lo + d * (k - 1) + 1 - in);
  check_field(l, rows ? "pad_bottom" : "pad_right", hi, isa::Opcode::Load, rows ? "pad_bottom" : "pad_right");
}

}  // namespace

void check_isa_limits(const Graph& g) {
  for (int id : g.topo_order()) {
    const LayerNode& l = g.layer(id);
    const LayerAttrs& a = l.attrs;
    const Shape in = g.tensor(l.inputs.at(0)).shape, out = g.tensor(l.output).shape;
    switch (l.op) {
      case OpKind::Conv:
      case OpKind::MaxPool:
      case OpKind::AvgPool:
        check_axis(l, "h", in.h, out.h, a.kernel_h, a.stride_h, a.dil_h, a.pad_top);
        check_axis(l, "w", in.w, out.w, a.kernel_w, a.stride_w, a.dil_w, a.pad_left);
        break;
      case OpKind::GlobalAvgPool:  // one window over the whole map
        check_field(l, "input height", in.h, isa::Opcode::Compute, "kh");
        check_field(l, "input width", in.w, isa::Opcode::Compute, "kw");
        break;
      default:
        break;
    }
  }
}

void check_dram_image(const Graph& g, const ArchParams& arch, isa::DType dtype) {
  // A lower bound of what codegen places: every weight and bias once, and the largest tensor
  // (all the batch's samples of it).
  const uint64_t esize = isa::data_bytes(dtype) * static_cast<uint64_t>(g.batch);
  uint64_t weights = 0;
  uint64_t largest = static_cast<uint64_t>(g.tensor(g.input).shape.elems()) * esize;
  std::string largest_name = g.tensor(g.input).name;
  for (int id : g.topo_order()) {
    weights += static_cast<uint64_t>(g.layer_params(id)) * isa::data_bytes(dtype);
    const DataNode& d = g.tensor(g.layer(id).output);
    if (static_cast<uint64_t>(d.shape.elems()) * esize > largest) {
      largest = static_cast<uint64_t>(d.shape.elems()) * esize;
      largest_name = d.name;
    }
  }
  if (weights + largest > arch.dram_bytes)
    throw InputError(
        "the model needs at least " + std::to_string(weights + largest) + " B of DRAM (weights " +
        std::to_string(weights) + " B, tensor '" + largest_name + "' " + std::to_string(largest) + " B" +
        (g.batch > 1 ? " for batch " + std::to_string(g.batch) : "") + "); arch '" + arch.name +
        "' has dram.bytes = " + std::to_string(arch.dram_bytes) + " (set a larger one, up to 4GiB)");
}

}  // namespace fusesim::compiler
