// ONNX import beyond the plain `import_onnx(path)`: the error type that marks a model as using
// something fusesim does not support (the conformance runner reports it as UNSUPPORTED rather
// than FAIL), and options to bind extra graph inputs to constants (ONNX node tests pass weights
// as graph inputs; fusesim's accelerator has one network input).
#pragma once

#include <string>
#include <vector>

#include "compiler/graph.h"
#include "isa/errors.h"

namespace fusesim::compiler {

// An op, attribute value, type, batch or rank that fusesim does not support. `reason` is short
// ("Gather", "Conv: batch 2"); what() is the full one-line message naming the file and node.
struct OnnxUnsupported : InputError {
  OnnxUnsupported(const std::string& message, std::string why)
      : InputError(message), reason(std::move(why)) {}
  std::string reason;
};

struct OnnxImportOptions {
  // Serialized TensorProto files for the graph's runtime inputs, in the graph's input order
  // (initializers excluded). The first input stays the network input; each further input with
  // a file here becomes a constant, as if it were an initializer.
  std::vector<std::string> bind_inputs;
  // Run compiler::infer_shapes on the result and require ONNX's shapes (default on).
  bool check_shapes = true;
};

Graph import_onnx(const std::string& path, const OnnxImportOptions& opt);

}  // namespace fusesim::compiler
