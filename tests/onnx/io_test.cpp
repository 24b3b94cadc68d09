// Tensor I/O: TensorProto round trips, the input's data formats and the tolerance rule.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "isa/errors.h"
#include "isa/numerics.h"
#include "platform/onnx_io.h"

namespace fusesim {
namespace {

std::string temp_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("fusesim_onnx_io_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(OnnxIo, WriteThenReadRoundTrips) {
  FloatTensor t{"out", {1, 2, 1, 3}, {0.5f, -1.25f, 3.0f, 1e-7f, -0.0f, 42.0f}, false, ""};
  const std::string path = temp_file("round.pb");
  write_float_tensor(path, t);
  const FloatTensor r = read_float_tensor(path);
  EXPECT_EQ(r.name, "out");
  EXPECT_EQ(r.dims, t.dims);
  EXPECT_EQ(r.values, t.values);
}

TEST(OnnxIo, InputInBothDataFormats) {
  const std::string path = temp_file("in.pb");
  write_float_tensor(path, {"x", {1, 2, 1, 2}, {1.0f, -0.5f, 0.00390625f, 200.0f}, false, ""});
  const auto fp = read_input_tensor(path, {2, 1, 2}, isa::DType::Fp32);
  ASSERT_EQ(fp.size(), 16u);
  float f;
  std::memcpy(&f, &fp[12], 4);
  EXPECT_EQ(f, 200.0f);
  const auto q = read_input_tensor(path, {2, 1, 2}, isa::DType::Int16);
  ASSERT_EQ(q.size(), 8u);
  int16_t v[4];
  std::memcpy(v, q.data(), 8);
  EXPECT_EQ(v[0], 256);        // 1.0 in Q8.8
  EXPECT_EQ(v[1], -128);       // -0.5
  EXPECT_EQ(v[2], 1);          // 2^-8
  EXPECT_EQ(v[3], INT16_MAX);  // 200 saturates (Q8.8 tops out below 128)
  EXPECT_FLOAT_EQ(data_to_floats(q, isa::DType::Int16)[1], -0.5f);
}

TEST(OnnxIo, InputOfTheWrongSizeOrBatchIsAnInputError) {
  const std::string path = temp_file("bad.pb");
  write_float_tensor(path, {"x", {1, 3}, {1, 2, 3}, false, ""});
  EXPECT_THROW(read_input_tensor(path, {4, 1, 1}, isa::DType::Fp32), InputError);
  write_float_tensor(path, {"x", {3, 1}, {1, 2, 3}, false, ""});
  EXPECT_THROW(read_input_tensor(path, {3, 1, 1}, isa::DType::Fp32), InputError);
  EXPECT_THROW(read_float_tensor(temp_file("missing.pb")), InputError);
}

// issue 12: an --expect file of the wrong size was "N of N outputs exceed" (exit 1), not a
// size error.
TEST(OnnxIo, ExpectOfTheWrongSizeIsAnInputErrorNamingBothSizes) {
  const std::string path = temp_file("expect3.pb");
  write_float_tensor(path, {"y", {1, 3}, {1, 2, 3}, false, ""});
  std::vector<uint8_t> out(4 * sizeof(float), 0);  // one fp32 output of four elements
  try {
    compare_outputs_with_files({out}, isa::DType::Fp32, {path}, Tolerance{});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": --expect tensor [1,3] has 3 elements; network output 0 has 4");
  }
  out.resize(3 * sizeof(float));  // the right size compares
  EXPECT_TRUE(compare_outputs_with_files({out}, isa::DType::Fp32, {path}, Tolerance{1, 3}).passed);
}

TEST(OnnxIo, ToleranceIsAtolPlusRtolTimesExpected) {
  const FloatTensor want{"y", {1, 3}, {100.0f, 0.0f, -2.0f}, false, ""};
  const Tolerance tol{1e-3, 1e-5};
  // bounds: 1e-5 + 0.1 = 0.10001; 1e-5; 1e-5 + 2e-3
  auto r = compare_with_expected({100.1f, 0.0f, -2.0f}, want, tol, "f");
  EXPECT_TRUE(r.passed);
  r = compare_with_expected({100.0f, 2e-5f, -2.0f}, want, tol, "f");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.mismatches, 1u);
  EXPECT_NEAR(r.max_abs_err, 2e-5, 1e-9);
  r = compare_with_expected({100.0f, 0.0f, -2.003f}, want, tol, "f");
  EXPECT_FALSE(r.passed);
  EXPECT_NEAR(r.rel_err, 0.003 / 2.0, 1e-6);
  r = compare_with_expected({100.0f, 0.0f}, want, tol, "f");  // wrong element count
  EXPECT_FALSE(r.passed);
  r = compare_with_expected({100.0f, NAN, -2.0f}, want, tol, "f");
  EXPECT_FALSE(r.passed);
}

}  // namespace
}  // namespace fusesim
