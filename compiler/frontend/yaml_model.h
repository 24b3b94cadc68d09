// The YAML model frontend. Format: models/README.md.
#pragma once

#include <string>

#include "compiler/graph.h"

namespace fusesim::compiler {

// Throws InputError with file:line:col and the key path.
Graph load_yaml_model(const std::string& path);

}  // namespace fusesim::compiler
