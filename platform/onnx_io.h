// Tensor I/O in ONNX's TensorProto format: network inputs (--input), expected outputs
// (--expect, with a relative and absolute tolerance) and dumped outputs (--dump-output).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/graph.h"
#include "isa/isa.h"
#include "report.h"

namespace fusesim {

struct FloatTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> values;
  bool integer = false;  // read from an integer or bool TensorProto (converted to floats)
  std::string type;      // the TensorProto's element type, e.g. "float", "int64"
};

// Reads a serialized TensorProto of any numeric type as floats. Throws InputError.
FloatTensor read_float_tensor(const std::string& path);
// Writes `t` as a float TensorProto (raw_data). Throws InputError when the file cannot be written.
void write_float_tensor(const std::string& path, const FloatTensor& t);

// The network input from a TensorProto file, in the program's data format (`batch` samples of
// C x H x W; int16 Q8.8 or fp32). It must be a float tensor, the element count must match
// `batch` x `shape` and its dim 0 must be `batch` unless `any_batch` (an element-wise graph,
// Graph::layout_free) (else an InputError).
std::vector<uint8_t> read_input_tensor(const std::string& path, const compiler::Shape& shape,
                                       isa::DType dtype, bool any_batch = false, int64_t batch = 1);

// Data-format bytes (an output of the simulation) as floats: int16 is dequantized from Q8.8.
std::vector<float> data_to_floats(const std::vector<uint8_t>& bytes, isa::DType dtype);

// ONNX dims of a graph tensor: [B,N] after a fully connected layer or a flatten, else [B,C,H,W]
// (B: the graph's batch).
std::vector<int64_t> onnx_dims(const compiler::Graph& g, int data_id);

struct Tolerance {
  double rtol = 1e-3, atol = 1e-5;
};
// Element-wise |got - want| <= atol + rtol * |want| (NaN matches NaN). max_abs_err and rel_err
// (the largest |got - want| / |want| over nonzero `want`) are reported either way.
CheckResult compare_with_expected(const std::vector<float>& got, const FloatTensor& want, Tolerance tol,
                                  const std::string& against);

// --expect for every file given: file k against output k, merged into one result (passed only if
// all pass). Throws InputError when there are more files than outputs, or when a file is not a
// float tensor with exactly the output's element count.
CheckResult compare_outputs_with_files(const std::vector<std::vector<uint8_t>>& outputs, isa::DType dtype,
                                       const std::vector<std::string>& files, Tolerance tol);
// --dump-output: output k of graph `g` to files[k] as a float TensorProto named after the tensor.
void dump_outputs(const compiler::Graph& g, const std::vector<std::vector<uint8_t>>& outputs,
                  isa::DType dtype, const std::vector<std::string>& files);

}  // namespace fusesim
