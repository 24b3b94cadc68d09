// Builds small ONNX models in memory for the importer's tests, and writes them to temp files.
#pragma once

#include <onnx/onnx-ml.pb.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace fusesim::testing {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset = 13) {
    model_.set_ir_version(7);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  OnnxBuilder& input(const std::string& name, const std::vector<int64_t>& dims,
                     int type = onnx::TensorProto::FLOAT) {
    value_info(model_.mutable_graph()->add_input(), name, dims, type);
    return *this;
  }
  OnnxBuilder& output(const std::string& name, const std::vector<int64_t>& dims = {}) {
    value_info(model_.mutable_graph()->add_output(), name, dims, onnx::TensorProto::FLOAT);
    return *this;
  }
  OnnxBuilder& value_info(const std::string& name, const std::vector<int64_t>& dims) {
    value_info(model_.mutable_graph()->add_value_info(), name, dims, onnx::TensorProto::FLOAT);
    return *this;
  }
  onnx::TensorProto& init(const std::string& name, const std::vector<int64_t>& dims,
                          const std::vector<float>& v) {
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    fill(*t, name, dims, v);
    return *t;
  }
  OnnxBuilder& init_ints(const std::string& name, const std::vector<int64_t>& dims,
                         const std::vector<int64_t>& v) {
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t x : v) t->add_int64_data(x);
    return *this;
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs, const std::string& name = "") {
    onnx::NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return *n;
  }
  static void attr(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr(onnx::NodeProto& n, const std::string& name, std::initializer_list<int64_t> v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  // Writes the model to a fresh temp file named NAME.onnx and returns its path.
  std::string save(const std::string& name) const {
    const auto dir =
        std::filesystem::temp_directory_path() / ("fusesim_onnx_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / (name + ".onnx")).string();
    std::ofstream f(path, std::ios::binary);
    model_.SerializeToOstream(&f);
    return path;
  }

  static void fill(onnx::TensorProto& t, const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& v) {
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    for (float x : v) t.add_float_data(x);
  }

 private:
  static void value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims,
                         int type) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    if (dims.empty()) return;
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  }
  onnx::ModelProto model_;
};

inline std::vector<float> iota_floats(std::size_t n, float start = 0) {
  std::vector<float> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = start + static_cast<float>(k);
  return v;
}

}  // namespace fusesim::testing
