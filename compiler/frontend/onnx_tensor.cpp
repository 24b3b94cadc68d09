// TensorProto decoding: raw_data or typed fields, every numeric element type, external data.
#include "onnx_tensor.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "isa/errors.h"
#include "protobuf_wire.h"

namespace fusesim::compiler {

namespace {

using onnx::TensorProto;

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);  // subnormal or zero
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

float bfloat16_to_float(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

bool is_float_type(int t) {
  return t == TensorProto::FLOAT || t == TensorProto::DOUBLE || t == TensorProto::FLOAT16 ||
         t == TensorProto::BFLOAT16;
}

std::size_t raw_elem_bytes(int t) {
  switch (t) {
    case TensorProto::UINT8:
    case TensorProto::INT8:
    case TensorProto::BOOL:
      return 1;
    case TensorProto::UINT16:
    case TensorProto::INT16:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
      return 2;
    case TensorProto::FLOAT:
    case TensorProto::INT32:
    case TensorProto::UINT32:
      return 4;
    case TensorProto::DOUBLE:
    case TensorProto::INT64:
    case TensorProto::UINT64:
      return 8;
    default:
      return 0;
  }
}

// One element of little-endian raw bytes, as double (integers up to 2^53 are exact).
double raw_value(const char* p, int t) {
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (t) {
    case TensorProto::UINT8:
      return load(uint8_t{});
    case TensorProto::INT8:
      return load(int8_t{});
    case TensorProto::BOOL:
      return load(uint8_t{}) != 0;
    case TensorProto::UINT16:
      return load(uint16_t{});
    case TensorProto::INT16:
      return load(int16_t{});
    case TensorProto::FLOAT16:
      return half_to_float(load(uint16_t{}));
    case TensorProto::BFLOAT16:
      return bfloat16_to_float(load(uint16_t{}));
    case TensorProto::FLOAT:
      return load(float{});
    case TensorProto::INT32:
      return load(int32_t{});
    case TensorProto::UINT32:
      return load(uint32_t{});
    case TensorProto::DOUBLE:
      return load(double{});
    case TensorProto::INT64:
      return static_cast<double>(load(int64_t{}));
    case TensorProto::UINT64:
      return static_cast<double>(load(uint64_t{}));
    default:
      return 0;
  }
}

// A non-negative decimal integer of an external_data entry, or an InputError naming it.
int64_t external_number(const std::string& text, const std::string& key, const std::string& what) {
  int64_t v = 0;
  bool ok = !text.empty() && text.size() <= 18;  // 18 digits always fit int64
  for (char ch : text) ok = ok && ch >= '0' && ch <= '9';
  if (ok) v = std::stoll(text);
  if (!ok)
    throw InputError(what + ": external data " + key + " '" + text + "' is not a byte count (0 to 10^18)");
  return v;
}

std::string read_external(const TensorProto& t, const std::string& base_dir, const std::string& what) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = external_number(kv.value(), "offset", what);
    else if (kv.key() == "length")
      length = external_number(kv.value(), "length", what);
  }
  if (location.empty()) throw InputError(what + ": external data without a location");
  const std::string file = (std::filesystem::path(base_dir) / location).string();
  std::ifstream in(file, std::ios::binary);
  if (!in || std::filesystem::is_directory(file))
    throw InputError(what + ": cannot open external data file " + file);
  in.seekg(0, std::ios::end);
  const int64_t file_size = in.tellg();
  if (file_size < 0) throw InputError(what + ": cannot read external data file " + file);
  if (offset > file_size)
    throw InputError(what + ": external data offset " + std::to_string(offset) + " lies past the end of " +
                     file + " (" + std::to_string(file_size) + " B)");
  if (length < 0) length = file_size - offset;
  if (length > file_size - offset)
    throw InputError(what + ": external data range [" + std::to_string(offset) + ", " +
                     std::to_string(offset + length) + ") lies outside " + file + " (" +
                     std::to_string(file_size) + " B)");
  std::string bytes(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  if (!in.read(bytes.data(), length)) throw InputError(what + ": cannot read external data from " + file);
  return bytes;
}

}  // namespace

std::vector<float> ConstTensor::as_floats() const {
  if (!integer) return f;
  return std::vector<float>(i.begin(), i.end());
}

int64_t dims_elems(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    if (!checked_mul(n, d, n) || n > kMaxTensorElems) return kMaxTensorElems + 1;
  return n;
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (std::size_t k = 0; k < dims.size(); ++k) s += (k ? "," : "") + std::to_string(dims[k]);
  return s + "]";
}

const char* onnx_type_name(int t) {
  switch (t) {
    case TensorProto::FLOAT:
      return "float";
    case TensorProto::UINT8:
      return "uint8";
    case TensorProto::INT8:
      return "int8";
    case TensorProto::UINT16:
      return "uint16";
    case TensorProto::INT16:
      return "int16";
    case TensorProto::INT32:
      return "int32";
    case TensorProto::INT64:
      return "int64";
    case TensorProto::STRING:
      return "string";
    case TensorProto::BOOL:
      return "bool";
    case TensorProto::FLOAT16:
      return "float16";
    case TensorProto::DOUBLE:
      return "double";
    case TensorProto::UINT32:
      return "uint32";
    case TensorProto::UINT64:
      return "uint64";
    case TensorProto::COMPLEX64:
      return "complex64";
    case TensorProto::COMPLEX128:
      return "complex128";
    case TensorProto::BFLOAT16:
      return "bfloat16";
    default:
      return "undefined";
  }
}

ConstTensor decode_tensor(const TensorProto& t, const std::string& base_dir, const std::string& what) {
  ConstTensor c;
  c.dims.assign(t.dims().begin(), t.dims().end());
  for (int64_t d : c.dims)
    if (d < 0) throw InputError(what + ": negative dimension in " + dims_str(c.dims));
  const int type = t.data_type();
  const std::size_t esize = raw_elem_bytes(type);
  if (esize == 0)
    throw InputError(what + ": tensors of type " + std::string(onnx_type_name(type)) + " are not supported");
  c.integer = !is_float_type(type);
  const int64_t n = dims_elems(c.dims);
  if (n > kMaxTensorElems) throw InputError(what + ": " + dims_str(c.dims) + " has more than 2^31 elements");
  std::vector<double> v;  // staging; converted to the compact vector below
  auto take = [&](const auto& field) { v.assign(field.begin(), field.end()); };

  const bool external = t.data_location() == TensorProto::EXTERNAL;
  if (external || t.has_raw_data()) {
    const std::string ext = external ? read_external(t, base_dir, what) : std::string();
    const std::string& raw = external ? ext : t.raw_data();
    if (raw.size() != static_cast<std::size_t>(n) * esize)
      throw InputError(what + ": " + std::to_string(raw.size()) + " data bytes for " + std::to_string(n) +
                       " " + onnx_type_name(type) + " elements of " + dims_str(c.dims));
    if (type == TensorProto::FLOAT) {  // the common case, without staging
      c.f.resize(static_cast<std::size_t>(n));
      // A tensor with a 0 dimension has no bytes, and memcpy must not see the empty vector's null.
      if (n > 0) std::memcpy(c.f.data(), raw.data(), raw.size());
      return c;
    }
    v.resize(static_cast<std::size_t>(n));
    for (int64_t k = 0; k < n; ++k) v[k] = raw_value(raw.data() + k * esize, type);
  } else {
    switch (type) {
      case TensorProto::FLOAT:
        take(t.float_data());
        break;
      case TensorProto::DOUBLE:
        take(t.double_data());
        break;
      case TensorProto::INT64:
        take(t.int64_data());
        break;
      case TensorProto::UINT32:
      case TensorProto::UINT64:
        take(t.uint64_data());
        break;
      case TensorProto::FLOAT16:
        for (int32_t b : t.int32_data()) v.push_back(half_to_float(static_cast<uint16_t>(b)));
        break;
      case TensorProto::BFLOAT16:
        for (int32_t b : t.int32_data()) v.push_back(bfloat16_to_float(static_cast<uint16_t>(b)));
        break;
      default:
        take(t.int32_data());
        break;  // int8/16/32, uint8/16, bool
    }
    if (static_cast<int64_t>(v.size()) != n)
      throw InputError(what + ": " + std::to_string(v.size()) + " values for " + std::to_string(n) +
                       " elements of " + dims_str(c.dims));
  }
  if (c.integer) {
    // Slice's "to the end" is INT64_MAX, which the double staging rounds up to 2^63, out of
    // int64's range: saturate instead of overflowing.
    c.i.resize(v.size());
    for (std::size_t k = 0; k < v.size(); ++k)
      c.i[k] = v[k] >= 0x1p63 ? INT64_MAX : v[k] < -0x1p63 ? INT64_MIN : static_cast<int64_t>(v[k]);
  } else
    c.f.assign(v.begin(), v.end());
  return c;
}

onnx::TensorProto read_tensor_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes))
    throw InputError(wire_error_message(path, bytes, *onnx::TensorProto::descriptor(), "a serialized ONNX TensorProto"));
  return t;
}

}  // namespace fusesim::compiler
