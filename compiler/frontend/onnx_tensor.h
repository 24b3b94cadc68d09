// Decoding of ONNX TensorProto values (initializers, Constant nodes, test vectors) into plain
// C++ arrays, shared by the ONNX importer and platform/onnx_io. Include only from .cpp files
// compiled with ONNX_ML=1 ONNX_NAMESPACE=onnx ONNX_API=.
#pragma once

#include <onnx/onnx-ml.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/graph.h"

namespace fusesim::compiler {

// A constant tensor: integers (shape arithmetic) or floats (weights). Only one vector is used.
struct ConstTensor {
  std::vector<int64_t> dims;
  bool integer = false;
  std::vector<float> f;
  std::vector<int64_t> i;

  int64_t size() const { return integer ? static_cast<int64_t>(i.size()) : static_cast<int64_t>(f.size()); }
  double at(int64_t k) const { return integer ? static_cast<double>(i[k]) : static_cast<double>(f[k]); }
  std::vector<float> as_floats() const;
};

// Number of elements of `dims` (1 for a scalar); kMaxTensorElems + 1 for anything larger than
// the tensor limit (never an overflowed product). Dimensions must be >= 0.
int64_t dims_elems(const std::vector<int64_t>& dims);
std::string dims_str(const std::vector<int64_t>& dims);  // "[1,3,224,224]"
const char* onnx_type_name(int elem_type);

// Decodes `t`. Float types (float, double, float16, bfloat16) give floats; integer and bool types
// give integers. External data is read relative to `base_dir`. `what` names the tensor in errors.
// Throws InputError on malformed or unsupported (string, complex) tensors.
ConstTensor decode_tensor(const onnx::TensorProto& t, const std::string& base_dir, const std::string& what);

// Reads a serialized TensorProto (.pb test vector). Throws InputError.
onnx::TensorProto read_tensor_file(const std::string& path);

}  // namespace fusesim::compiler
