// The Schedule: everything the scheduling passes decide and codegen lowers, as a value of its
// own. Fusion planning gives the groups; tiling gives each group its buffer view (whole buffers
// or ping-pong halves), its tiles and loop orders; buffer allocation gives the on-chip slots.
// Codegen (codegen.h) decides nothing: it lowers a Schedule into instructions. A Schedule can
// be written to YAML, edited by hand and replayed (schedule_yaml.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/cost_model.h"
#include "compiler/fused.h"
#include "compiler/passes/passes.h"

namespace fusesim::compiler {

// One on-chip region a group uses: `count` slots of `bytes` each from `addr` (ping-pong halves
// are two slots). For reports and for checking a hand-edited schedule against the arch.
struct BufferSlot {
  std::string what;  // "input tile", "weights", "output tile", "intermediate A", ...
  isa::Buffer buf = isa::Buffer::NBin;
  int64_t addr = 0, bytes = 0, count = 1;
};

struct GroupSchedule {
  std::vector<int> layers;  // layer ids in program order
  // 2: the buffers are split into ping-pong halves (coarse pipelining); 1: whole buffers.
  int depth = 1;
  bool fused() const { return layers.size() > 1; }
  FusedPlan fused_plan;           // fused groups: tile of the last layer, per-layer chunks
  std::map<int, TilePlan> plans;  // other groups: the tile of each window layer, by id
  Estimate est;                   // cost model estimate of the group
  std::string tiles;              // human-readable summary of the decisions
};

struct Schedule {
  std::vector<GroupSchedule> groups;
};

// The buffer view a group's depth gives (arch_view with the pipeline's NFU overlap).
ArchView group_arch_view(const ArchParams& arch, const CompileOptions& opt, const GroupSchedule& gs);

// Estimated cost of one group as it would be scheduled (its best buffer view and tiles);
// fusion planning scores candidate groups with it. False when the group does not fit.
bool estimate_group(const Graph& g, const ArchParams& arch, const CompileOptions& opt, const Group& grp,
                    Estimate& est, std::string* tiles = nullptr);

// Scheduling: tiles, loop orders and buffer views for `groups` (from plan_groups), each chosen
// by the cost model. Throws InputError naming the layer when no tile fits.
Schedule schedule_groups(const Graph& g, const ArchParams& arch, const CompileOptions& opt,
                         const std::vector<Group>& groups);

// Buffer allocation across groups: the resident weights that several layers share (the time
// steps of an unrolled recurrent layer, LayerNode::weights_of) get SB addresses side by side, and
// a layer whose weights an earlier group left in SB loads none (TilePlan::sb_addr, weights_kept).
// They stay while the groups between leave SB alone (element-wise passes, pooling) and while
// they fit SB together; a group that loads other weights evicts them all. Re-estimates the
// groups it changes. Deterministic: a replayed schedule gets the same allocation.
void keep_shared_weights(const Graph& g, const ArchParams& arch, const CompileOptions& opt, Schedule& s);

// Checks a schedule's decisions against the graph and the arch (every tile fits its buffers,
// loop orders are legal, fused groups are fusable chains) and recomputes its estimates. Returns
// an empty string when valid, else what is wrong (the caller adds the location). Throws InputError
// (naming the model's line) for an AvgPool the NFU cannot run, as schedule_groups does.
std::string check_group(const Graph& g, const ArchParams& arch, const CompileOptions& opt, GroupSchedule& gs);

// The on-chip slots of a group, derived from its tiles (buffer allocation).
std::vector<BufferSlot> group_slots(const Graph& g, const ArchParams& arch, const CompileOptions& opt,
                                    const GroupSchedule& gs);

}  // namespace fusesim::compiler
