// Fusion planning: partitions the topological order into groups.
#include "codegen.h"
#include "passes.h"

namespace fusesim::compiler {

bool fusable_pair(const Graph&, int, int) { return false; }

std::vector<Group> plan_groups(const Graph& g, const ArchParams&, const CompileOptions&) {
  std::vector<Group> groups;
  for (int id : g.topo_order()) groups.push_back(Group{{id}});
  return groups;
}

}  // namespace fusesim::compiler
