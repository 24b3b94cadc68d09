// Codegen: memory planning (DRAM layout of tensors, weights and the program) and instruction
// generation for each group, with the dependency-token protocol of the pipeline mode.
#pragma once

#include <vector>

#include "compiler/compiler.h"
#include "compiler/cost_model.h"
#include "compiler/passes/passes.h"
#include "compiler/schedule.h"

namespace fusesim::compiler {

// Lowers a Schedule (groups in topological order) into the whole program, into `p` (empty):
// DRAM layout of tensors, weights and instructions, instructions, dependency tokens and store
// fences. With a stream, the words are pinned once the layout is fixed (stream->begin()) and
// published as they become final; `g` is only read.
void generate(Graph& g, const ArchParams& arch, const CompileOptions& opt, const Schedule& sched, Program& p,
              WordStream* stream);

// The window-layer view of a conv / fc / pool layer (false for other ops).
bool win_layer_of(const Graph& g, int layer, WinLayer& out);
// The COMPUTE op of a window layer.
isa::ComputeOp compute_op_of(WinKind k);

}  // namespace fusesim::compiler
