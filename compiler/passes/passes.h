// The compiler's passes, in pipeline order (compile() in compiler.cpp runs them):
//   infer_shapes -> validate -> materialize (functional runs) -> canonicalize -> eliminate -> plan_groups
//   (fusion) -> tiling (cost model) -> memory planning + codegen.
// Each pass is one file in this directory; they share only this header and graph.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/compiler.h"

namespace fusesim::compiler {

// Before planning (validate.cpp): window attributes that no instruction field can hold (a pad
// past the LOAD's 4-bit pad fields, a kernel past COMPUTE's 8-bit kh/kw, ...), and a model whose
// weights and largest tensor alone exceed the arch's dram.bytes. InputErrors naming the layer.
void check_isa_limits(const Graph& g);
void check_dram_image(const Graph& g, const ArchParams& arch, isa::DType dtype);

// Deterministic parameters from the graph's seed and the layer name (Kaiming-uniform for conv
// and fc); layers that already carry weights (ONNX initializers) keep them.
void materialize_weights(Graph& g);

// BatchNorm folds into its producing conv; standalone BatchNorm and Mul become depthwise 1x1
// convs; activations merge into the NFU-3 stage of their producer. Weight arithmetic happens
// only when weights are materialized; the structure is the same either way.
void canonicalize(Graph& g);

// Layer elimination: identity, dropout, flatten and reshape become aliases of their input;
// concat becomes channel slices its producers write into; a channel slice becomes a view of its
// input (unless a concat reads it). Returns the number of layers removed.
int eliminate(Graph& g);

// A layer or a fused group: consecutive layers in topological order, a chain whose
// intermediates stay on chip.
struct Group {
  std::vector<int> layers;
};

// Fusion: none (one layer per group), greedy or optimal (dynamic program over the topological
// order, scored by the cost model). fusion.cpp.
std::vector<Group> plan_groups(const Graph& g, const ArchParams& arch, const CompileOptions& opt);

// Whether `a` can be followed by `b` inside one fused group (b reads only a's output, a's
// output has no other reader and is not a network output, both are window ops).
bool fusable_pair(const Graph& g, int a, int b);

// Whether `ids` (window layers with one entry, fusable_dag) closed by the Add `add` form a block
// that a line-buffered group lowers: the Add sums two of its tensors (attach_add). A ResNet block
// with an identity or a downsampling shortcut.
bool dag_closed_by_add(const Graph& g, const std::vector<int>& ids, int add);

// Why `ids` cannot be one fused group ("" when it can): a chain of fusable layers, optionally
// closed by a residual Add of the chain's input and output; a DAG of window layers with one
// entry; or such a DAG closed by an Add of two of its tensors (line-buffered).
std::string fusable_group(const Graph& g, const std::vector<int>& ids);

}  // namespace fusesim::compiler
