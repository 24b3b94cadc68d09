// Fuzz target: bytes as a TensorProto .pb file, read as `--expect` reads it (any numeric type,
// compared with itself) and as `--input` reads it (a float tensor quantized to int16 and fp32);
// checks that the wire-format walk locating parse errors agrees with libprotobuf.
#include <onnx/onnx-ml.pb.h>

#include "fuzz_support.h"
#include "onnx_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fusesim;
  fuzz::check_wire_walk<onnx::TensorProto>(data, size);
  const std::string path = fuzz::write_input(data, size, "tensor.pb");
  return fuzz::run_one([&] {
    const FloatTensor t = read_float_tensor(path);
    compare_with_expected(t.values, t, Tolerance{}, "itself");
    const compiler::Shape shape{static_cast<int64_t>(t.values.size()), 1, 1};
    if (t.integer || shape.elems() == 0) return;
    read_input_tensor(path, shape, isa::DType::Int16);
    read_input_tensor(path, shape, isa::DType::Fp32);
  });
}
