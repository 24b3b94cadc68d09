// Codegen: memory planning (DRAM layout of tensors, weights and the program) and instruction
// generation for each group, with the dependency-token protocol of the pipeline mode.
#pragma once

#include <vector>

#include "compiler/compiler.h"
#include "compiler/cost_model.h"
#include "compiler/passes/passes.h"

namespace fusesim::compiler {

// Generates the whole program for `groups` (already in topological order).
Program generate(Graph& g, const ArchParams& arch, const CompileOptions& opt, const std::vector<Group>& groups);

// The window-layer view of a conv / fc / pool layer (false for other ops).
bool win_layer_of(const Graph& g, int layer, WinLayer& out);

// Estimated cost of one group as codegen would emit it (fusion uses it to score groups).
// Returns false when the group cannot be tiled into the buffers.
bool estimate_group(const Graph& g, const ArchParams& arch, const CompileOptions& opt, const Group& grp,
                    Estimate& est, std::string* tiles = nullptr);

}  // namespace fusesim::compiler
