// A Schedule as YAML: `fusesim compile --emit-schedule FILE` writes it, a person edits it and
// `fusesim run --schedule FILE` replays it. Groups name their layers; docs/schedule.md
// documents every key.
#pragma once

#include <string>

#include "compiler/schedule.h"

namespace fusesim::compiler {

// The YAML text of `s` for the compiled graph `g`: per group its layers, buffer view, tiles
// (or fused tile and channel chunks), and, for reading only, the estimate and on-chip slots.
// `origin` says where the groups came from (e.g. "--fusion optimal"); it goes in the header.
std::string write_schedule_yaml(const Graph& g, const ArchParams& arch, const CompileOptions& opt,
                                const Schedule& s, const std::string& origin);

// Reads a schedule for the compiled graph `g` (after canonicalization and elimination: the
// layers of g.topo_order(), which the groups must list in that order, each exactly once),
// checks each group with check_group and fills in its estimate. Throws InputError
// "FILE:LINE:COL: KEY.PATH: what is wrong" on the first bad node.
Schedule read_schedule_yaml(const std::string& file, const Graph& g, const ArchParams& arch,
                            const CompileOptions& opt);

}  // namespace fusesim::compiler
