// ONNX import: an .onnx file (opsets 7-17) to a Graph. Unsupported ops are an InputError
// naming the node and the op type.
#pragma once

#include <string>

#include "compiler/graph.h"

namespace fusesim::compiler {

Graph import_onnx(const std::string& path);

}  // namespace fusesim::compiler
