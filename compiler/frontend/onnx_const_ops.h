// Import-time evaluation of ONNX ops on constant tensors: the shape subgraphs (Shape, Gather,
// Unsqueeze, Concat, Slice, arithmetic, Cast) that feed Reshape or Slice, and weight transposes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx_tensor.h"

namespace fusesim::compiler::constfold {

enum class Binary { Add, Sub, Mul, Div };

// Numpy-style broadcasting. Integer results when both operands are integers (division
// truncates toward zero). Throws InputError when the shapes do not broadcast.
ConstTensor binary(Binary op, const ConstTensor& a, const ConstTensor& b);
ConstTensor gather(const ConstTensor& data, const ConstTensor& indices, int64_t axis);
ConstTensor concat(const std::vector<const ConstTensor*>& parts, int64_t axis);
ConstTensor transpose(const ConstTensor& t, const std::vector<int64_t>& perm);
// ONNX Slice semantics: starts/ends clamped, negative steps, axes already normalized.
ConstTensor slice(const ConstTensor& t, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                  const std::vector<int64_t>& axes, const std::vector<int64_t>& steps);
ConstTensor cast(const ConstTensor& t, bool to_integer);
ConstTensor make_ints(const std::vector<int64_t>& values, std::vector<int64_t> dims);

// Clamped start/end/step of one Slice axis of extent `dim` (ONNX rules); the element count.
struct SliceRange {
  int64_t start = 0, step = 1, count = 0;
};
SliceRange slice_range(int64_t dim, int64_t start, int64_t end, int64_t step);

}  // namespace fusesim::compiler::constfold
