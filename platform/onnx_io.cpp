// TensorProto reading, writing and comparison for the CLI and the conformance runner.
#include "onnx_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "compiler/frontend/onnx_tensor.h"
#include "isa/errors.h"
#include "isa/numerics.h"

namespace fusesim {

FloatTensor read_float_tensor(const std::string& path) {
  const onnx::TensorProto t = compiler::read_tensor_file(path);
  compiler::ConstTensor c = compiler::decode_tensor(t, ".", path);
  FloatTensor f;
  f.name = t.name();
  f.dims = c.dims;
  f.integer = c.integer;
  f.type = compiler::onnx_type_name(t.data_type());
  f.values = c.integer ? c.as_floats() : std::move(c.f);
  return f;
}

void write_float_tensor(const std::string& path, const FloatTensor& t) {
  onnx::TensorProto p;
  p.set_name(t.name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : t.dims) p.add_dims(d);
  p.set_raw_data(
      std::string(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float)));
  std::ofstream out(path, std::ios::binary);
  if (!out || !p.SerializeToOstream(&out)) throw InputError(path + ": cannot write");
}

namespace {

// Networks take and give floats; an integer tensor here is a wrong file, not a conversion.
void require_float(const std::string& path, const FloatTensor& t, const char* option) {
  if (t.integer)
    throw InputError(path + ": " + option + " tensor " + compiler::dims_str(t.dims) + " has element type " +
                     t.type + "; expected a float tensor");
}

}  // namespace

std::vector<uint8_t> read_input_tensor(const std::string& path, const compiler::Shape& shape,
                                       isa::DType dtype, bool any_batch, int64_t batch) {
  const FloatTensor t = read_float_tensor(path);
  require_float(path, t, "--input");
  if (!any_batch && t.dims.size() >= 2 && t.dims[0] != batch)
    throw InputError(path + ": tensor " + compiler::dims_str(t.dims) + " has batch " +
                     std::to_string(t.dims[0]) + ", the network runs batch " + std::to_string(batch) +
                     " (the model's batch or --batch)");
  if (static_cast<int64_t>(t.values.size()) != shape.elems() * batch)
    throw InputError(path + ": tensor " + compiler::dims_str(t.dims) + " does not fit the network input " +
                     (batch > 1 ? std::to_string(batch) + "x" : std::string()) + shape.str());
  std::vector<uint8_t> bytes(t.values.size() * isa::data_bytes(dtype));
  if (dtype == isa::DType::Fp32) {
    std::memcpy(bytes.data(), t.values.data(), bytes.size());
  } else {
    for (std::size_t k = 0; k < t.values.size(); ++k) {
      const int16_t q = numerics::quantize(t.values[k], numerics::kActFrac);
      std::memcpy(&bytes[2 * k], &q, 2);
    }
  }
  return bytes;
}

std::vector<float> data_to_floats(const std::vector<uint8_t>& bytes, isa::DType dtype) {
  const std::size_t n = bytes.size() / isa::data_bytes(dtype);
  std::vector<float> f(n);
  if (dtype == isa::DType::Fp32) {
    std::memcpy(f.data(), bytes.data(), n * 4);
  } else {
    for (std::size_t k = 0; k < n; ++k) {
      int16_t q;
      std::memcpy(&q, &bytes[2 * k], 2);
      f[k] = numerics::dequantize(q, numerics::kActFrac);
    }
  }
  return f;
}

std::vector<int64_t> onnx_dims(const compiler::Graph& g, int data_id) {
  const compiler::DataNode& d = g.tensor(data_id);
  const int p = d.producer;
  const bool vector = p >= 0 && (g.layer(p).op == compiler::OpKind::FullyConnected ||
                                 g.layer(p).op == compiler::OpKind::Flatten);
  if (vector) return {g.batch, d.shape.elems()};
  return {g.batch, d.shape.c, d.shape.h, d.shape.w};
}

CheckResult compare_with_expected(const std::vector<float>& got, const FloatTensor& want, Tolerance tol,
                                  const std::string& against) {
  CheckResult c;
  c.done = true;
  c.against = against;
  if (got.size() != want.values.size()) {
    c.passed = false;
    c.elements = got.size();
    c.mismatches = got.size();
    c.against +=
        " (" + std::to_string(got.size()) + " outputs, " + std::to_string(want.values.size()) + " expected)";
    return c;
  }
  for (std::size_t k = 0; k < got.size(); ++k) {
    const double a = got[k], b = want.values[k];
    ++c.elements;
    if ((std::isnan(b) && std::isnan(a)) || a == b) continue;  // also equal infinities
    const double d = std::fabs(a - b);
    const double err = std::isnan(d) ? INFINITY : d;
    c.max_abs_err = std::max(c.max_abs_err, err);
    if (b != 0) c.rel_err = std::max(c.rel_err, err / std::fabs(b));
    if (!(err <= tol.atol + tol.rtol * std::fabs(b))) ++c.mismatches;
  }
  c.passed = c.mismatches == 0;
  return c;
}

CheckResult compare_outputs_with_files(const std::vector<std::vector<uint8_t>>& outputs, isa::DType dtype,
                                       const std::vector<std::string>& files, Tolerance tol) {
  if (files.size() > outputs.size())
    throw InputError("--expect: " + std::to_string(files.size()) + " files for " +
                     std::to_string(outputs.size()) + " network outputs");
  CheckResult all;
  all.done = true;
  all.passed = true;
  for (std::size_t k = 0; k < files.size(); ++k) {
    const FloatTensor want = read_float_tensor(files[k]);
    require_float(files[k], want, "--expect");
    const std::vector<float> got = data_to_floats(outputs[k], dtype);
    if (got.size() != want.values.size())
      throw InputError(files[k] + ": --expect tensor " + compiler::dims_str(want.dims) + " has " +
                       std::to_string(want.values.size()) + " elements; network output " + std::to_string(k) +
                       " has " + std::to_string(got.size()));
    const CheckResult r = compare_with_expected(got, want, tol, files[k]);
    all.passed = all.passed && r.passed;
    all.elements += r.elements;
    all.mismatches += r.mismatches;
    all.max_abs_err = std::max(all.max_abs_err, r.max_abs_err);
    all.rel_err = std::max(all.rel_err, r.rel_err);
    all.against += (k ? ", " : "") + r.against;
  }
  return all;
}

void dump_outputs(const compiler::Graph& g, const std::vector<std::vector<uint8_t>>& outputs,
                  isa::DType dtype, const std::vector<std::string>& files) {
  if (files.size() > outputs.size() || files.size() > g.outputs.size())
    throw InputError("--dump-output: " + std::to_string(files.size()) + " files for " +
                     std::to_string(outputs.size()) + " network outputs");
  for (std::size_t k = 0; k < files.size(); ++k) {
    FloatTensor t;
    t.name = g.tensor(g.outputs[k]).name;
    t.dims = onnx_dims(g, g.outputs[k]);
    t.values = data_to_floats(outputs[k], dtype);
    write_float_tensor(files[k], t);
  }
}

}  // namespace fusesim
