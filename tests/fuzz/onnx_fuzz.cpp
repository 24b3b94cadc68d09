// Fuzz target: bytes as an .onnx model through import, shape inference and compile (timing
// only) on the default arch; the same path as `fusesim compile --model FILE.onnx`. Also checks
// that the wire-format walk locating parse errors agrees with libprotobuf on every input.
#include <onnx/onnx-ml.pb.h>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fusesim;
  const ArchParams& arch = fuzz::default_arch();
  fuzz::check_wire_walk<onnx::ModelProto>(data, size);
  const std::string path = fuzz::write_input(data, size, "model.onnx");
  return fuzz::run_one([&] { fuzz::compile_model_file(path, arch); });
}
