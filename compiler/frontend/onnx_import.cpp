// ONNX import: walks the graph's nodes in order, folds constant subgraphs, and maps each
// runtime node onto a fusesim layer. ONNX tensors [B,C,H,W], [B,C,L] and [B,N] become
// C x H x W, C x 1 x L and N x 1 x 1 per sample, the graph's batch B being the input's dim 0;
// anything else is reported as unsupported.
#include "onnx_import.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "compiler/compiler.h"
#include "frontend/recurrent.h"
#include "isa/numerics.h"
#include "onnx_const_ops.h"
#include "onnx_support.h"
#include "onnx_tensor.h"
#include "protobuf_wire.h"

namespace fusesim::compiler {

namespace {

using onnx::NodeProto;

// A value flowing along an ONNX edge: a folded constant, or a graph tensor (data node) with
// its ONNX dims. A channel shuffle is matched as Reshape(rank 5) -> Transpose -> Reshape; the
// rank-5 tensors in between exist only as a pending view.
struct Value {
  bool is_const = false;
  ConstTensor c;
  int data = -1;
  std::vector<int64_t> dims;
  int shuffle_stage = 0;  // 1: after the rank-5 Reshape; 2: after its Transpose
  int64_t shuffle_groups = 0;
  int producer_node = -1;  // ONNX node index, for error messages
  // A time-major sequence [T, batch 1, ...] (an LSTM's input or output): dims are ONNX's own and
  // the data node holds the T steps one after another (docs/recurrent.md).
  bool seq = false;
  // An Expand of a runtime tensor: `data` still holds the tensor of these dims; dims are the
  // expanded ones. Only a broadcasting Add/Sub/Mul/Div reads it (the DMA does the expansion).
  std::vector<int64_t> expanded_from;
};

// The 2-D window of a conv or pool: index 0 is H, 1 is W (1-D ops use H = 1).
struct Window {
  int64_t k[2] = {1, 1}, s[2] = {1, 1}, d[2] = {1, 1}, pb[2] = {0, 0}, pe[2] = {0, 0};
};

int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil_mode) {
  const int64_t eff = (k - 1) * d + 1, span = in + pb + pe - eff;
  if (span < 0) return 0;
  return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
}

class OnnxImporter {
 public:
  OnnxImporter(const std::string& path, const OnnxImportOptions& opt) : path_(path), opt_(opt) {
    file_ = std::filesystem::path(path).filename().string();
    base_dir_ = std::filesystem::path(path).parent_path().string();
  }

  Graph run() {
    load();
    g_.name = std::filesystem::path(path_).stem().string();
    const auto& graph = model_.graph();
    // An op fusesim does not know is the first thing to report, before any data is read.
    for (int i = 0; i < graph.node_size(); ++i)
      if (!known_op(graph.node(i).op_type())) unsupported(i, "unsupported op");
    for (const auto& init : graph.initializer()) {
      Value v;
      v.is_const = true;
      v.c = decode_tensor(init, base_dir_, file_ + ": initializer '" + init.name() + "'");
      values_[init.name()] = std::move(v);
    }
    add_inputs();
    for (int i = 0; i < graph.node_size(); ++i) import_node(i, graph.node(i));
    add_outputs();
    if (opt_.check_shapes) check_shapes();
    return std::move(g_);
  }

 private:
  // ---- loading and errors ----
  void load() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw InputError(path_ + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                  static_cast<int>(bytes.size()));
    stream.SetTotalBytesLimit(INT32_MAX);
    if (!model_.ParseFromCodedStream(&stream))
      throw InputError(wire_error_message(path_, bytes, *onnx::ModelProto::descriptor(), "an ONNX model"));
    opset_ = 0;
    int opset_at = -1;
    for (int k = 0; k < model_.opset_import_size(); ++k) {
      const auto& op = model_.opset_import(k);
      if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version(), opset_at = k;
    }
    if (opset_ == 0) opset_ = 1;
    if (opset_ > 17)
      throw OnnxUnsupported(path_ + ": opset_import[" + std::to_string(opset_at) + "].version: opset " +
                                std::to_string(opset_) + " (fusesim supports opsets 7 to 17)",
                            "opset " + std::to_string(opset_));
  }

  std::string node_label(int i) const {
    const NodeProto& n = model_.graph().node(i);
    return n.name().empty() ? "#" + std::to_string(i) : n.name();
  }
  std::string where(int i) const {
    return file_ + ": node '" + node_label(i) + "' (" + model_.graph().node(i).op_type() + ")";
  }
  [[noreturn]] void unsupported(int i, const std::string& what) const {
    const std::string& op = model_.graph().node(i).op_type();
    throw OnnxUnsupported(where(i) + ": " + what, what == "unsupported op" ? op : op + ": " + what);
  }
  [[noreturn]] void bad(int i, const std::string& what) const { throw InputError(where(i) + ": " + what); }

  // ---- attributes ----
  const onnx::AttributeProto* attr(const NodeProto& n, const char* name) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t attr_int(const NodeProto& n, const char* name, int64_t def) const {
    const auto* a = attr(n, name);
    return a ? a->i() : def;
  }
  float attr_float(const NodeProto& n, const char* name, float def) const {
    const auto* a = attr(n, name);
    return a ? a->f() : def;
  }
  std::string attr_string(const NodeProto& n, const char* name, const std::string& def) const {
    const auto* a = attr(n, name);
    return a ? a->s() : def;
  }
  std::vector<float> attr_floats(const NodeProto& n, const char* name) const {
    const auto* a = attr(n, name);
    if (!a) return {};
    return {a->floats().begin(), a->floats().end()};
  }
  std::vector<int64_t> attr_ints(const NodeProto& n, const char* name) const {
    const auto* a = attr(n, name);
    if (!a) return {};
    return {a->ints().begin(), a->ints().end()};
  }

  // ---- values ----
  bool has_input(const NodeProto& n, int k) const { return k < n.input_size() && !n.input(k).empty(); }
  const Value& input(int i, int k) const {
    const NodeProto& n = model_.graph().node(i);
    if (!has_input(n, k)) bad(i, "missing input " + std::to_string(k));
    auto it = values_.find(n.input(k));
    if (it == values_.end()) bad(i, "input '" + n.input(k) + "' is not defined before the node");
    return it->second;
  }
  const ConstTensor& const_input(int i, int k, const char* role) const {
    const Value& v = input(i, k);
    if (!v.is_const) unsupported(i, std::string(role) + " must be a constant (an initializer)");
    return v.c;
  }
  const Value& runtime_input(int i, int k) const {
    const Value& v = input(i, k);
    if (v.is_const) bad(i, "input " + std::to_string(k) + " is a constant");  // callers fold constants first
    if (v.shuffle_stage) unsupported(i, "reads a rank-5 tensor that is not part of a channel shuffle");
    if (!v.expanded_from.empty()) {
      const std::string& op = model_.graph().node(i).op_type();
      if (op != "Add" && op != "Sub" && op != "Mul" && op != "Div")
        unsupported(i, "reads the Expand of a runtime tensor (only Add, Sub, Mul and Div broadcast it)");
    }
    if (v.seq && !recurrent_op(model_.graph().node(i).op_type()))
      unsupported(i, "reads the time-major sequence " + dims_str(v.dims) +
                         " of a recurrent layer (only a recurrent layer, a Squeeze, Reshape or Transpose that keeps time first and moves no element, and a Gather of one step take it)");
    return v;
  }
  std::vector<int64_t> ints_of(int i, const ConstTensor& c, const char* role) const {
    if (!c.integer) bad(i, std::string(role) + " must be an integer tensor");
    return c.i;
  }
  void set_const(int i, ConstTensor c, int out = 0) {
    const NodeProto& n = model_.graph().node(i);
    Value v;
    v.is_const = true;
    v.c = std::move(c);
    v.producer_node = i;
    values_[n.output(out)] = std::move(v);
  }
  void set_alias(int i, const Value& v, int out = 0) {
    Value a = v;
    a.producer_node = i;
    values_[model_.graph().node(i).output(out)] = a;
  }

  // A graph of element-wise ops only, whose constants are checked to be single values (see
  // per_channel): the position of an element does not matter, so a tensor of any rank and
  // batch runs as one map (flat_shape).
  bool elementwise_graph() const {
    static const std::set<std::string> ops = {
        "Relu", "Sigmoid", "Tanh", "LeakyRelu", "PRelu",      "Elu",      "Selu", "HardSigmoid", "HardSwish",
        "Softplus", "Clip", "Neg", "Identity",  "Dropout",    "Add",      "Sub",  "Mul",         "Div",
        "Constant", "Cast", "Exp", "Log",       "Sqrt",       "Reciprocal", "Abs", "Softsign", "Transpose", "Split", "Slice", "Concat"};
    // Reductions and softmax place their windows from the ONNX dims themselves (views of the
    // row-major data), so they run on a flat map too; so do broadcasts between runtime tensors.
    for (const auto& n : model_.graph().node())
      if (!ops.count(n.op_type()) && !reduction_op(n.op_type()) && n.op_type() != "Softmax" &&
          n.op_type() != "LogSoftmax")
        return false;
    return true;
  }
  static bool recurrent_op(const std::string& op) { return op == "LSTM" || op == "GRU" || op == "RNN"; }
  static bool reduction_op(const std::string& op) {
    static const std::set<std::string> ops = {"ReduceMax", "ReduceMin",    "ReduceSum",       "ReduceMean",
                                              "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
                                              "ReduceLogSumExp"};
    return ops.count(op) > 0;
  }
  // The map an element-wise graph's tensor of dims d runs as: the last two dims are rows and
  // columns, the ones before them multiply into the channels.
  static Shape flat_shape(const std::vector<int64_t>& d) {
    Shape s{1, 1, 1};
    for (std::size_t k = 0; k < d.size(); ++k) {
      if (k + 2 < d.size()) s.c *= d[k];
      else if (k + 2 == d.size()) s.h = d[k];
      else s.w = d[k];
    }
    if (d.size() == 1) s = {d[0], 1, 1};
    return s;
  }

  // ONNX dims -> C x H x W of one sample. Dim 0 must be the graph's batch (the input's dim 0):
  // an op that moves data across samples has no mapping (except in an element-wise graph).
  Shape chw(int i, const std::vector<int64_t>& d) const {
    if (flat_ && d.size() >= 1 && d.size() <= 5) return flat_shape(d);
    if (d.size() == 5 && d[0] == g_.batch) return {d[1] * d[2], d[3], d[4]};  // a view on the way (SSD's heads)
    if (d.size() < 2 || d.size() > 4)
      unsupported(i, "rank-" + std::to_string(d.size()) + " tensor " + dims_str(d) +
                         " (fusesim maps only [N,C,H,W], [N,C,L] and [N,K])");
    if (d[0] != g_.batch) unsupported(i, batch_mismatch(d));
    if (d.size() == 4) return {d[1], d[2], d[3]};
    if (d.size() == 3) return {d[1], 1, d[2]};
    return {d[1], 1, 1};
  }

  // A node with several runtime outputs (Split) names its layers NAME_k.
  std::string layer_name(int i, const std::string& suffix = "") {
    const NodeProto& n = model_.graph().node(i);
    std::string name = (n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name()) + suffix;
    if (!used_names_.insert(name).second) {
      name += "_" + std::to_string(i);
      used_names_.insert(name);
    }
    return name;
  }

  // Adds a layer for node i reading `ins`, producing output `out` with ONNX dims `dims`.
  LayerNode& emit(int i, OpKind op, const std::vector<int>& ins, const std::vector<int64_t>& dims,
                  const LayerAttrs& attrs = {}, int out = 0) {
    const NodeProto& n = model_.graph().node(i);
    const Shape s = chw(i, dims);
    const int id = g_.add_layer(layer_name(i, n.output_size() > 1 ? "_" + std::to_string(out) : ""), op, ins,
                                n.output(out), attrs);
    LayerNode& l = g_.layer(id);
    l.origin = n.name().empty() ? "node #" + std::to_string(i) + " (" + n.op_type() + ")" : n.name();
    g_.tensor(l.output).shape = s;
    Value v;
    v.data = l.output;
    v.dims = dims;
    v.producer_node = i;
    values_[n.output(out)] = v;
    onnx_shapes_[l.output] = {s, i};
    return l;
  }

  // Why a tensor of dims d does not fit a graph of batch g_.batch (the reason of an OnnxUnsupported).
  std::string batch_mismatch(const std::vector<int64_t>& d) const {
    return "dim 0 of " + dims_str(d) + " is not the batch " + std::to_string(g_.batch) +
           " (an op that mixes samples)";
  }

  // ---- graph inputs and outputs ----
  void add_inputs() {
    const auto& graph = model_.graph();
    std::vector<const onnx::ValueInfoProto*> runtime;
    for (const auto& in : graph.input())
      if (!values_.count(in.name())) runtime.push_back(&in);
    if (runtime.empty()) {
      const std::string label = graph.name().empty() ? "(unnamed)" : "'" + graph.name() + "'";
      const std::string why = graph.input_size() == 0
                                  ? "it declares no inputs"
                                  : "all " + std::to_string(graph.input_size()) + " of its inputs are initializers";
      throw OnnxUnsupported(path_ + ": graph " + label + ": no runtime input (" + why + ")", "no runtime input");
    }
    for (std::size_t k = 1; k < runtime.size(); ++k) {
      if (k >= opt_.bind_inputs.size())
        throw OnnxUnsupported(path_ + ": graph input '" + runtime[k]->name() + "': the graph has " +
                                  std::to_string(runtime.size()) + " runtime inputs; fusesim runs one",
                              std::to_string(runtime.size()) + " runtime inputs");
      const std::string what = path_ + ": graph input '" + runtime[k]->name() + "'";
      if (!runtime[k]->type().has_tensor_type())
        throw OnnxUnsupported(what + " is not a tensor", "non-tensor input");
      Value v;
      v.is_const = true;
      try {
        v.c = decode_tensor(read_tensor_file(opt_.bind_inputs[k]), base_dir_, opt_.bind_inputs[k]);
      } catch (const InputError& e) {
        throw OnnxUnsupported(what + ": " + e.what(),
                              std::string("input '") + runtime[k]->name() + "': " + e.what());
      }
      values_[runtime[k]->name()] = std::move(v);
    }
    const onnx::ValueInfoProto& in = *runtime[0];
    const auto& tt = in.type().tensor_type();
    const std::string what = path_ + ": graph input '" + in.name() + "'";
    if (!in.type().has_tensor_type()) throw OnnxUnsupported(what + " is not a tensor", "non-tensor input");
    if (tt.elem_type() != onnx::TensorProto::FLOAT)
      throw OnnxUnsupported(
          what + " has type " + onnx_type_name(tt.elem_type()) + " (fusesim takes float inputs)",
          std::string("input type ") + onnx_type_name(tt.elem_type()));
    std::vector<int64_t> dims;
    for (int k = 0; k < tt.shape().dim_size(); ++k) {
      const auto& d = tt.shape().dim(k);
      if (d.has_dim_value())
        dims.push_back(d.dim_value());
      else if (k == 0)
        dims.push_back(1);  // a symbolic batch: fusesim runs batch 1
      else
        throw OnnxUnsupported(what + ": dimension " + std::to_string(k) + " is not static",
                              "dynamic input shape");
    }
    // An LSTM's input X is [seq_length, batch, input_size]: time-major, batch in dim 1 (layout
    // 0); with layout 1, [batch, seq_length, input_size].
    bool seq = false, batch_major = false;
    for (const auto& node : model_.graph().node())
      if (recurrent_op(node.op_type()) && node.input_size() > 0 && node.input(0) == in.name()) {
        seq = true;
        batch_major = batch_major || attr_int(node, "layout", 0) == 1;
      }
    if (seq) {
      if (dims.size() != 3)
        throw OnnxUnsupported(what + " has shape " + dims_str(dims) + ": a recurrent layer's input is " +
                                  (batch_major ? "[batch, seq_length, input_size]" : "[seq_length, batch, input_size]"),
                              "recurrent input " + dims_str(dims));
      const int64_t steps = dims[batch_major ? 1 : 0], batch = dims[batch_major ? 0 : 1];
      if (steps < 1 || steps > 1024)
        throw OnnxUnsupported(what + " has " + std::to_string(steps) + " steps (1 to 1024 are unrolled)", "recurrent steps");
      if (batch < 1 || batch > 64 || steps * batch > 4096)
        throw OnnxUnsupported(what + " has shape " + dims_str(dims) +
                                  ": a batch of 1 to 64 sequences and at most 4096 steps in all are unrolled",
                              "recurrent batch " + std::to_string(batch));
      // The B sequences run side by side in one program (a graph of batch 1), in the tensor's
      // own order (recurrent() views it as T x B rows of features).
      g_.batch = 1;
      g_.time_major_input = true;
      const Shape s{dims[0], 1, dims[1] * dims[2]};
      if (const std::string p = s.problem(); !p.empty()) throw InputError(what + ": " + p);
      g_.input = g_.add_data(in.name(), s);
      Value v;
      v.data = g_.input;
      v.dims = dims;
      v.seq = true;
      values_[in.name()] = v;
      return;
    }
    // Only a tensor the [N,C,H,W] mapping cannot take, or a batch > 1 that an element-wise
    // graph does not need, runs flat: a batch-1 graph keeps its channels (and its per-channel
    // constants).
    flat_ = dims.size() >= 1 && dims.size() <= 5 && !(dims.size() >= 2 && dims.size() <= 4 && dims[0] == 1) &&
            elementwise_graph();
    g_.layout_free = flat_;
    if (!flat_ && (dims.size() < 2 || dims.size() > 4))
      throw OnnxUnsupported(
          what + " has shape " + dims_str(dims) + " (fusesim maps only [N,C,H,W], [N,C,L] and [N,K])",
          "rank-" + std::to_string(dims.size()) + " input");
    if (!flat_) {  // dim 0 is the batch
      if (const std::string why = batch_problem(dims[0]); !why.empty())
        throw OnnxUnsupported(what + " has shape " + dims_str(dims) + ": " + why,
                              "batch " + std::to_string(dims[0]));
      g_.batch = dims[0];
    }
    if (std::count(dims.begin(), dims.end(), 0) > 0)
      throw OnnxUnsupported(what + " has shape " + dims_str(dims) + " (no elements: nothing to run)", "empty input");
    const Shape s = flat_              ? flat_shape(dims)
                    : dims.size() == 4 ? Shape{dims[1], dims[2], dims[3]}
                    : dims.size() == 3 ? Shape{dims[1], 1, dims[2]}
                                       : Shape{dims[1], 1, 1};
    if (const std::string p = s.problem(); !p.empty()) throw InputError(what + ": " + p);
    g_.input = g_.add_data(in.name(), s);
    Value v;
    v.data = g_.input;
    v.dims = dims;
    values_[in.name()] = v;
  }

  void add_outputs() {
    for (const auto& out : model_.graph().output()) {
      auto it = values_.find(out.name());
      if (it == values_.end())
        throw InputError(path_ + ": graph output '" + out.name() + "' is never produced");
      const Value& v = it->second;
      if (v.is_const)
        throw OnnxUnsupported(path_ + ": graph output '" + out.name() + "' is a constant (nothing to run)",
                              "constant output");
      if (v.shuffle_stage)
        throw OnnxUnsupported(path_ + ": graph output '" + out.name() + "' is rank 5", "rank-5 output");
      if (!v.expanded_from.empty())
        throw OnnxUnsupported(path_ + ": graph output '" + out.name() + "' is the Expand of a runtime tensor",
                              "expanded output");
      g_.outputs.push_back(v.data);
    }
    if (g_.outputs.empty()) {
      const std::string& name = model_.graph().name();
      throw InputError(path_ + ": graph " + (name.empty() ? "(unnamed)" : "'" + name + "'") + ": no outputs");
    }
    // ONNX's own shapes, where the file states them, must agree with the import.
    auto check = [&](const onnx::ValueInfoProto& vi) {
      auto it = values_.find(vi.name());
      if (it == values_.end() || it->second.is_const || it->second.shuffle_stage) return;
      const auto& shape = vi.type().tensor_type().shape();
      if (!vi.type().tensor_type().has_shape()) return;
      const auto& dims = it->second.dims;
      bool same = shape.dim_size() == static_cast<int>(dims.size());
      for (int k = 0; same && k < shape.dim_size(); ++k)
        if (shape.dim(k).has_dim_value() && shape.dim(k).dim_value() != dims[k]) same = false;
      if (!same) {
        std::vector<int64_t> want;
        for (const auto& d : shape.dim()) want.push_back(d.has_dim_value() ? d.dim_value() : -1);
        const int p = it->second.producer_node;
        throw InputError((p >= 0 ? where(p) : path_) + ": tensor '" + vi.name() + "' has shape " +
                         dims_str(want) + " in the file but " + dims_str(dims) + " on import");
      }
    };
    for (const auto& vi : model_.graph().value_info()) check(vi);
    for (const auto& vi : model_.graph().output()) check(vi);
  }

  void check_shapes() {
    infer_shapes(g_);
    for (const auto& [id, want] : onnx_shapes_) {
      const Shape& got = g_.tensor(id).shape;
      if (!(got == want.first))
        throw InputError(where(want.second) + ": fusesim infers shape " + got.str() + " for '" +
                         g_.tensor(id).name + "' but ONNX gives " + want.first.str());
    }
  }

  // ---- nodes ----
  static bool known_op(const std::string& op) {
    static const std::set<std::string> ops = {"Constant",
                                              "Shape",
                                              "Gather",
                                              "Unsqueeze",
                                              "Squeeze",
                                              "Slice",
                                              "Split",
                                              "Cast",
                                              "Add",
                                              "Sub",
                                              "Mul",
                                              "Div",
                                              "Concat",
                                              "Reshape",
                                              "Flatten",
                                              "Transpose",
                                              "Identity",
                                              "Dropout",
                                              "Conv",
                                              "Gemm",
                                              "MatMul",
                                              "Relu",
                                              "Sigmoid",
                                              "Tanh",
                                              "LeakyRelu",
                                              "PRelu",
                                              "ReduceMax", "ReduceMin", "ReduceSum", "ReduceSumSquare", "ReduceL1",
                                              "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "Softmax", "LogSoftmax",
                                              "Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Softsign", "Resize", "Upsample", "ConvTranspose", "LRN",
                                              "Elu",
                                              "Selu",
                                              "HardSigmoid",
                                              "HardSwish",
                                              "Softplus",
                                              "Neg",
                                              "Clip",
                                              "MaxPool",
                                              "AveragePool",
                                              "GlobalAveragePool",
                                              "GlobalMaxPool",
                                              "BatchNormalization",
                                              "ReduceMean",
                                              "Pad",
                                              "LSTM", "GRU", "RNN",
                                              "Expand"};
    return ops.count(op) > 0;
  }

  void import_node(int i, const NodeProto& n) {
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      unsupported(i, "unsupported op (domain " + n.domain() + ")");
    const std::string& op = n.op_type();
    check_schema(i, n);
    // Constant subgraphs fold whatever the op, where fusesim knows how.
    if (op == "Constant") return constant(i, n);
    if (op == "Shape") return shape(i, n);
    if (op == "Gather") return gather(i, n);
    if (op == "Unsqueeze" || op == "Squeeze") return squeeze(i, n, op == "Unsqueeze");
    if (op == "Slice") return slice(i, n);
    if (op == "Split") return split(i, n);
    if (op == "Cast") return cast(i, n);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return arithmetic(i, n);
    if (op == "Concat") return concat(i, n);
    if (op == "Reshape") return reshape(i, n);
    if (op == "Flatten") return flatten(i, n);
    if (op == "Transpose") return transpose(i, n);
    if (op == "Identity") return identity(i, n);
    if (op == "Dropout") return dropout(i, n);
    if (op == "Conv") return conv(i, n);
    if (op == "Gemm") return gemm(i, n);
    if (op == "MatMul") return matmul(i, n);
    if (op == "PRelu") return prelu(i, n);
    if (op == "Neg") return neg(i, n);
    if (activation_op(op)) return activation(i, n);
    if (op == "MaxPool" || op == "AveragePool") return pool(i, n, op == "MaxPool");
    if (op == "GlobalAveragePool") return global_avgpool(i, n);
    if (op == "GlobalMaxPool") return global_maxpool(i, n);
    if (op == "ReduceMean") return reduce_mean(i, n);
    if (reduction_op(op)) return reduce(i, n);
    if (op == "Softmax" || op == "LogSoftmax") return softmax(i, n, op == "LogSoftmax");
    if (op == "Softsign") return softsign(i, n);
    if (op == "Resize" || op == "Upsample") return resize(i, n);
    if (op == "ConvTranspose") return conv_transpose(i, n);
    if (op == "LRN") return lrn(i, n);
    if (op == "Pad") return pad(i, n);
    if (recurrent_op(op)) return recurrent(i, n);
    if (op == "Expand") return expand(i, n);
    if (op == "BatchNormalization") return batchnorm(i, n);
    unsupported(i, "unsupported op");
  }

  // The node must match its op's schema at the model's opset: input and output counts in the
  // schema's range (the op readers index inputs and outputs without looking), and only attributes
  // the op defines (a misspelt or foreign one would otherwise be ignored silently).
  void check_schema(int i, const NodeProto& n) const {
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(n.op_type(), opset_, "");
    if (!schema) unsupported(i, "no schema for " + n.op_type() + " at opset " + std::to_string(opset_));
    check_count(i, "inputs", n.input_size(), schema->min_input(), schema->max_input());
    check_count(i, "outputs", n.output_size(), schema->min_output(), schema->max_output());
    const auto& defined = schema->attributes();
    for (const auto& a : n.attribute())
      if (!defined.count(a.name())) {
        std::string names;
        for (const auto& [name, _] : defined) names += (names.empty() ? "" : ", ") + name;
        bad(i, "attribute '" + a.name() + "' is not defined for " + n.op_type() + " at opset " +
                   std::to_string(opset_) + " (it has: " + (names.empty() ? "none" : names) + ")");
      }
  }

  void check_count(int i, const char* what, int count, int min, int max) const {
    if (count >= min && count <= max) return;
    const std::string range = min == max ? std::to_string(min)
                              : max == std::numeric_limits<int>::max()
                                  ? "at least " + std::to_string(min)
                                  : std::to_string(min) + " to " + std::to_string(max);
    bad(i, std::to_string(count) + " " + what + " (" + model_.graph().node(i).op_type() + " at opset " +
               std::to_string(opset_) + " takes " + range + ")");
  }

  void no_runtime(int i) const { unsupported(i, "on a runtime tensor"); }
  bool all_const(const NodeProto& n) const {
    for (const auto& in : n.input())
      if (!in.empty()) {
        auto it = values_.find(in);
        if (it == values_.end() || !it->second.is_const) return false;
      }
    return true;
  }

  void constant(int i, const NodeProto& n) {
    if (const auto* a = attr(n, "value")) return set_const(i, decode_tensor(a->t(), base_dir_, where(i)));
    ConstTensor c;
    if (const auto* a = attr(n, "value_float")) {
      c.f = {a->f()};
    } else if (const auto* a = attr(n, "value_floats")) {
      c.f.assign(a->floats().begin(), a->floats().end());
      c.dims = {static_cast<int64_t>(c.f.size())};
    } else if (const auto* a = attr(n, "value_int")) {
      c.integer = true;
      c.i = {a->i()};
    } else if (const auto* a = attr(n, "value_ints")) {
      c.integer = true;
      c.i.assign(a->ints().begin(), a->ints().end());
      c.dims = {static_cast<int64_t>(c.i.size())};
    } else {
      unsupported(i, "only tensor, float(s) and int(s) constants are supported");
    }
    set_const(i, std::move(c));
  }

  void shape(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    std::vector<int64_t> d = v.is_const ? v.c.dims : v.dims;
    const int64_t r = static_cast<int64_t>(d.size());
    auto clampi = [r](int64_t x) { return std::clamp<int64_t>(x < 0 ? x + r : x, 0, r); };
    const int64_t start = clampi(attr_int(n, "start", 0)), end = clampi(attr_int(n, "end", r));
    std::vector<int64_t> part(d.begin() + start, d.begin() + std::max(start, end));
    set_const(i, constfold::make_ints(part, {static_cast<int64_t>(part.size())}));
  }

  void gather(int i, const NodeProto& n) {
    if (!input(i, 0).is_const && input(i, 0).seq) return gather_step(i, n);
    if (!all_const(n)) no_runtime(i);
    try {
      set_const(i, constfold::gather(input(i, 0).c, input(i, 1).c, attr_int(n, "axis", 0)));
    } catch (const OnnxUnsupported&) {
      throw;
    } catch (const InputError& e) {
      bad(i, e.what());
    }
  }

  std::vector<int64_t> axes_of(int i, const NodeProto& n, int input_index) const {
    if (opset_ >= 13 && has_input(n, input_index))
      return ints_of(i, const_input(i, input_index, "axes"), "axes");
    return attr_ints(n, "axes");
  }

  // Unsqueeze/Squeeze: shape-only. On a runtime tensor they are a reshape.
  void squeeze(int i, const NodeProto& n, bool unsqueeze) {
    const Value& v = input(i, 0);
    const std::vector<int64_t>& d = v.is_const ? v.c.dims : v.dims;
    std::vector<int64_t> axes = axes_of(i, n, 1), out;
    if (unsqueeze) {
      const int64_t r = static_cast<int64_t>(d.size() + axes.size());
      for (auto& a : axes) a = a < 0 ? a + r : a;
      std::size_t src = 0;
      for (int64_t k = 0; k < r; ++k)
        out.push_back(std::count(axes.begin(), axes.end(), k) ? 1 : d.at(src++));
    } else {
      const int64_t r = static_cast<int64_t>(d.size());
      for (auto& a : axes) a = a < 0 ? a + r : a;
      for (int64_t k = 0; k < r; ++k) {
        const bool drop = axes.empty() ? d[k] == 1 : std::count(axes.begin(), axes.end(), k) > 0;
        if (drop && d[k] != 1) bad(i, "squeezes an axis of extent " + std::to_string(d[k]));
        if (!drop) out.push_back(d[k]);
      }
    }
    if (v.is_const) {
      ConstTensor c = v.c;
      c.dims = out;
      return set_const(i, std::move(c));
    }
    if (v.seq) {  // a view of the same steps, as long as the time axis stays first
      if (out.empty() || out[0] != d[0] || (unsqueeze && std::count(axes.begin(), axes.end(), 0)))
        unsupported(i, "moves the time axis of the LSTM sequence " + dims_str(d));
      Value a = v;
      a.dims = out;
      a.producer_node = i;
      values_[n.output(0)] = a;
      return;
    }
    reshape_runtime(i, v, out);
  }

  void slice(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    std::vector<int64_t> starts, ends, axes, steps;
    if (opset_ >= 10) {
      starts = ints_of(i, const_input(i, 1, "starts"), "starts");
      ends = ints_of(i, const_input(i, 2, "ends"), "ends");
      if (has_input(n, 3)) axes = ints_of(i, const_input(i, 3, "axes"), "axes");
      if (has_input(n, 4)) steps = ints_of(i, const_input(i, 4, "steps"), "steps");
    } else {
      starts = attr_ints(n, "starts");
      ends = attr_ints(n, "ends");
      axes = attr_ints(n, "axes");
    }
    const std::vector<int64_t>& d = v.is_const ? v.c.dims : v.dims;
    if (axes.empty())
      for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      bad(i, "starts, ends, axes and steps differ in length");
    for (auto& a : axes) {
      if (a < -static_cast<int64_t>(d.size()) || a >= static_cast<int64_t>(d.size()))
        bad(i, "axis out of range");
      if (a < 0) a += static_cast<int64_t>(d.size());
    }
    if (v.is_const) {
      try {
        return set_const(i, constfold::slice(v.c, starts, ends, axes, steps));
      } catch (const OnnxUnsupported&) {
        throw;
      } catch (const InputError& e) {
        bad(i, e.what());
      }
    }
    // On a runtime tensor only a contiguous channel range (torch's chunk, as in ShuffleNet v2)
    // has a layer: a channel slice, which layer elimination turns into a view.
    const Value x = runtime_input(i, 0);
    int64_t axis = 1;
    constfold::SliceRange range{0, 1, d.size() > 1 ? d[1] : 0};
    int sliced = 0;
    for (std::size_t k = 0; k < axes.size(); ++k) {
      const auto r = constfold::slice_range(d[axes[k]], starts[k], ends[k], steps[k]);
      if (r.start == 0 && r.step == 1 && r.count == d[axes[k]]) continue;
      if (r.step != 1 || r.count == 0 || ++sliced > 1)
        unsupported(i, "slicing a runtime tensor other than by one contiguous range along one axis");
      range = r, axis = axes[k];
    }
    range_slice(i, x, axis, range.start, range.count, 0);
  }

  // [start, start + count) along `axis` of the runtime tensor x, as output `out` of node i. The
  // channels are a channel slice (a view after elimination); another axis, on the view
  // [outer, L, inner] of one sample, is a channel slice of that view when outer is 1, else a
  // slice of its rows (strided copies).
  void range_slice(int i, const Value& x, int64_t axis, int64_t start, int64_t count, int out) {
    if (!flat_ && axis == 1) return channel_slice(i, x, start, count, out);
    if (start == 0 && count == x.dims.at(static_cast<std::size_t>(axis))) return set_alias(i, x, out);
    if (!flat_ && axis == 0) unsupported(i, "slicing the batch (dim 0)");
    const std::vector<int64_t> d = sample_dims(i, x.dims);
    const std::size_t a = static_cast<std::size_t>(flat_ ? axis : axis - 1);
    const int64_t outer = prod(d, 0, a), L = d[a], inner = prod(d, a + 1, d.size());
    std::vector<int64_t> dims = x.dims;
    dims[static_cast<std::size_t>(axis)] = count;
    LayerAttrs at;
    at.slice_start = start, at.slice_count = count;
    int data;
    if (outer == 1) {
      data = emit_mid(i, OpKind::ChannelSlice, {view(i, x.data, Shape{L, 1, inner})}, Shape{count, 1, inner}, at);
    } else {
      at.slice_rows = true;
      data = emit_mid(i, OpKind::ChannelSlice, {view(i, x.data, Shape{outer, L, inner})}, Shape{outer, count, inner}, at);
    }
    finish(i, data, dims, out);
  }

  // Channels [start, start + count) of the runtime tensor x as output `out` of node i: an alias
  // when that is every channel, else a channel_slice layer.
  void channel_slice(int i, const Value& x, int64_t start, int64_t count, int out) {
    if (start == 0 && count == x.dims.at(1)) return set_alias(i, x, out);
    std::vector<int64_t> dims = x.dims;
    dims[1] = count;
    LayerAttrs a;
    a.slice_start = start;
    a.slice_count = count;
    emit(i, OpKind::ChannelSlice, {x.data}, dims, a, out);
  }

  // Split (torch's split/chunk): sizes from the `split` attribute (opset < 13) or input
  // (opset >= 13), else equal parts. Constants fold; a runtime tensor splits along channels only.
  void split(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    const std::vector<int64_t>& d = v.is_const ? v.c.dims : v.dims;
    const int64_t r = static_cast<int64_t>(d.size());
    int64_t axis = attr_int(n, "axis", 0);
    if (axis < -r || axis >= r)
      bad(i, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
    if (axis < 0) axis += r;
    const int parts = n.output_size();
    std::vector<int64_t> sizes =
        opset_ >= 13
            ? (has_input(n, 1) ? ints_of(i, const_input(i, 1, "split"), "split") : std::vector<int64_t>{})
            : attr_ints(n, "split");
    if (sizes.empty()) {
      if (d[axis] % parts)
        bad(i, "cannot split extent " + std::to_string(d[axis]) + " into " + std::to_string(parts) +
                   " equal parts");
      sizes.assign(static_cast<std::size_t>(parts), d[axis] / parts);
    }
    int64_t total = 0;
    for (int64_t s : sizes) {
      if (s < 0) bad(i, "negative split size");
      total += s;
    }
    if (static_cast<int>(sizes.size()) != parts || total != d[axis])
      bad(i, "split sizes " + dims_str(sizes) + " do not cover extent " + std::to_string(d[axis]) + " in " +
                 std::to_string(parts) + " outputs");
    int64_t start = 0;
    for (int k = 0; k < parts; start += sizes[k], ++k) {
      if (n.output(k).empty()) continue;
      if (v.is_const) {
        set_const(i, constfold::slice(v.c, {start}, {start + sizes[k]}, {axis}, {1}), k);
      } else if (sizes[k] == d[axis]) {
        set_alias(i, runtime_input(i, 0), k);
      } else if (sizes[k] == 0) {
        unsupported(i, "an empty part of a runtime tensor");
      } else {
        range_slice(i, runtime_input(i, 0), axis, start, sizes[k], k);
      }
    }
  }

  void cast(int i, const NodeProto& n) {
    const int to = static_cast<int>(attr_int(n, "to", 0));
    const bool to_float = to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE ||
                          to == onnx::TensorProto::FLOAT16 || to == onnx::TensorProto::BFLOAT16;
    const bool to_int = !to_float && to != onnx::TensorProto::STRING && to != onnx::TensorProto::UNDEFINED &&
                        to != onnx::TensorProto::COMPLEX64 && to != onnx::TensorProto::COMPLEX128;
    const Value& v = input(i, 0);
    if (!to_float && !to_int) unsupported(i, std::string("cast to ") + onnx_type_name(to));
    if (v.is_const) return set_const(i, constfold::cast(v.c, to_int));
    if (to != onnx::TensorProto::FLOAT)
      unsupported(i, std::string("cast of a runtime tensor to ") + onnx_type_name(to));
    set_alias(i, runtime_input(i, 0));
  }

  // A constant that varies at most along the channel axis of a runtime tensor of dims `rd`:
  // its C values (a single value is broadcast). Empty when it is not of that form.
  std::vector<float> per_channel(const ConstTensor& c, const std::vector<int64_t>& rd) const {
    if (flat_) {  // an element-wise graph's map has no ONNX channel axis: single values only
      if (c.size() != 1) return {};
      return std::vector<float>(static_cast<std::size_t>(flat_shape(rd).c), static_cast<float>(c.at(0)));
    }
    if (c.dims.size() > rd.size()) return {};
    std::vector<int64_t> d(rd.size() - c.dims.size(), 1);
    d.insert(d.end(), c.dims.begin(), c.dims.end());
    for (std::size_t k = 0; k < d.size(); ++k)
      if (k != 1 && d[k] != 1) return {};
    const int64_t C = rd[1];
    std::vector<float> f = c.as_floats();
    if (f.size() == 1) return std::vector<float>(static_cast<std::size_t>(C), f[0]);
    if (static_cast<int64_t>(f.size()) != C) return {};
    return f;
  }

  void arithmetic(int i, const NodeProto& n) {
    const std::string& op = n.op_type();
    using constfold::Binary;
    const Binary kind = op == "Add"   ? Binary::Add
                        : op == "Sub" ? Binary::Sub
                        : op == "Mul" ? Binary::Mul
                                      : Binary::Div;
    const Value& a = input(i, 0);
    const Value& b = input(i, 1);
    if (a.is_const && b.is_const) {
      try {
        return set_const(i, constfold::binary(kind, a.c, b.c));
      } catch (const InputError& e) {
        bad(i, e.what());
      }
    }
    if (!a.is_const && !b.is_const) return runtime_binary(i, kind);
    const bool const_first = a.is_const;
    const Value& x = runtime_input(i, const_first ? 1 : 0);
    const ConstTensor& c = const_first ? a.c : b.c;
    if (const_first && (kind == Binary::Sub || kind == Binary::Div))
      unsupported(i, "a constant minus or over a runtime tensor");
    std::vector<float> pc = per_channel(c, x.dims);
    if (pc.empty())
      unsupported(i, "with a constant of shape " + dims_str(c.dims) + " that is not per-channel for " +
                         dims_str(x.dims));
    if (kind == Binary::Mul || kind == Binary::Div) {
      if (kind == Binary::Div)
        for (float& f : pc) f = 1.0f / f;
      LayerNode& l = emit(i, OpKind::Mul, {x.data}, x.dims);
      l.weights = std::move(pc);
      return;
    }
    // x + c: a batch-norm with unit scale and the constant as its shift.
    if (kind == Binary::Sub)
      for (float& f : pc) f = -f;
    LayerAttrs at;
    at.bn_eps = 0;
    LayerNode& l = emit(i, OpKind::BatchNorm, {x.data}, x.dims, at);
    const std::size_t C = pc.size();
    l.bn_gamma.assign(C, 1.0f);
    l.bn_beta = std::move(pc);
    l.bn_mean.assign(C, 0.0f);
    l.bn_var.assign(C, 1.0f);
  }

  void concat(int i, const NodeProto& n) {
    const int64_t axis = attr_int(n, "axis", opset_ < 4 ? 1 : 0);
    if (all_const(n)) {
      std::vector<const ConstTensor*> parts;
      for (int k = 0; k < n.input_size(); ++k) parts.push_back(&input(i, k).c);
      try {
        return set_const(i, constfold::concat(parts, axis));
      } catch (const InputError& e) {
        bad(i, e.what());
      }
    }
    std::vector<int> ins;
    std::vector<int64_t> out;
    int64_t ax = 0;
    for (int k = 0; k < n.input_size(); ++k) {
      if (input(i, k).is_const) unsupported(i, "of runtime and constant tensors");
      const Value& v = runtime_input(i, k);
      const int64_t r = static_cast<int64_t>(v.dims.size());
      ax = axis < 0 ? axis + r : axis;
      if (ax < 0 || ax >= r) bad(i, "axis " + std::to_string(axis) + " is outside rank " + std::to_string(r));
      if (ax == 0 && !flat_) unsupported(i, "axis 0 (the batch: it would mix samples)");
      if (out.empty()) {
        out = v.dims;
      } else {
        std::vector<int64_t> a = v.dims, b = out;
        if (a.size() != b.size()) bad(i, "inputs of different ranks");
        a[static_cast<std::size_t>(ax)] = b[static_cast<std::size_t>(ax)] = 0;
        if (a != b)
          bad(i, "inputs " + dims_str(out) + " and " + dims_str(v.dims) + " differ outside axis " + std::to_string(ax));
        out[static_cast<std::size_t>(ax)] += v.dims[static_cast<std::size_t>(ax)];
      }
      ins.push_back(v.data);
    }
    if (ax == 1 && !flat_) {  // the channels: every input a contiguous block (elimination may alias them)
      emit(i, OpKind::Concat, ins, out);
      return;
    }
    // Another axis: on the views [outer, L_k, inner] of one sample, a concat of rows (each input's
    // rows land in every outer block of the output: strided copies).
    const std::size_t a = static_cast<std::size_t>(flat_ ? ax : ax - 1);
    std::vector<int> views;
    int64_t total = 0;
    for (int k = 0; k < n.input_size(); ++k) {
      const std::vector<int64_t> d = sample_dims(i, runtime_input(i, k).dims);
      total += d[a];
      views.push_back(view(i, ins[static_cast<std::size_t>(k)], Shape{prod(d, 0, a), d[a], prod(d, a + 1, d.size())}));
    }
    const std::vector<int64_t> d = sample_dims(i, out);
    LayerAttrs at;
    at.concat_rows = true;
    finish(i, emit_mid(i, OpKind::Concat, views, Shape{prod(d, 0, a), total, prod(d, a + 1, d.size())}, at), out);
  }

  // Resolves a Reshape target (0 copies, -1 infers) against the input dims.
  std::vector<int64_t> reshape_target(int i, const std::vector<int64_t>& in, std::vector<int64_t> t,
                                      bool allowzero) const {
    int infer = -1;
    int64_t known = 1;
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (t[k] == 0 && !allowzero) {
        if (k >= in.size()) bad(i, "shape copies dimension " + std::to_string(k) + " that the input lacks");
        t[k] = in[k];
      }
      if (t[k] == -1) {
        if (infer >= 0) bad(i, "shape has two -1 entries");
        infer = static_cast<int>(k);
      } else if (t[k] < 0) {
        bad(i, "negative dimension in shape");
      } else if (!checked_mul(known, t[k], known) || known > kMaxTensorElems) {
        bad(i, "shape " + dims_str(t) + " has more than 2^31 elements");
      }
    }
    const int64_t total = dims_elems(in);
    if (infer >= 0) {
      if (known == 0 || total % known) bad(i, "cannot infer -1 for " + dims_str(in) + " -> " + dims_str(t));
      t[infer] = total / known;
    }
    if (dims_elems(t) != total)
      bad(i, "reshape of " + dims_str(in) + " to " + dims_str(t) + " changes the element count");
    return t;
  }

  void reshape(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    std::vector<int64_t> target =
        opset_ >= 5 ? ints_of(i, const_input(i, 1, "shape"), "shape") : attr_ints(n, "shape");
    const std::vector<int64_t>& d = v.is_const ? v.c.dims : v.dims;
    target = reshape_target(i, d, target, attr_int(n, "allowzero", 0) != 0);
    if (v.is_const) {
      ConstTensor c = v.c;
      c.dims = target;
      return set_const(i, std::move(c));
    }
    if (v.shuffle_stage == 2) {  // Reshape(rank 5) -> Transpose -> Reshape: a channel shuffle
      if (target.size() != 4 || target[1] != v.dims[1] * v.dims[2] || target[2] != v.dims[3] ||
          target[3] != v.dims[4])
        unsupported(i, "reshape of a rank-5 tensor that is not the end of a channel shuffle");
      LayerAttrs at;
      at.groups = v.shuffle_groups;
      emit(i, OpKind::ChannelShuffle, {v.data}, target, at);
      return;
    }
    if (v.shuffle_stage) unsupported(i, "reshape of a rank-5 tensor that is not part of a channel shuffle");
    if (v.seq) {  // a recurrent sequence: a view of the same steps while time stays dim 0
      if (target.empty() || target[0] != d[0]) unsupported(i, "moves the time axis of the recurrent sequence " + dims_str(d));
      Value a = v;
      a.dims = target;
      a.producer_node = i;
      values_[n.output(0)] = a;
      return;
    }
    if (target.size() == 5 && d.size() == 4 && target[0] == g_.batch && target[1] * target[2] == d[1] &&
        target[3] == d[2] && target[4] == d[3]) {
      Value p = v;  // the start of a channel shuffle: no layer yet
      p.dims = target;
      p.shuffle_stage = 1;
      p.shuffle_groups = target[1];
      p.producer_node = i;
      values_[n.output(0)] = p;
      return;
    }
    reshape_runtime(i, v, target);
  }

  // A row-major reshape of a runtime tensor: an alias when the C x H x W view is unchanged,
  // Flatten to [1,N], otherwise Reshape.
  void reshape_runtime(int i, const Value& v, const std::vector<int64_t>& target) {
    if (target == v.dims) return set_alias(i, v);
    const Shape to = chw(i, target);
    LayerAttrs at;
    at.reshape_to = to;
    emit(i, target.size() == 2 ? OpKind::Flatten : OpKind::Reshape, {v.data}, target, at);
  }

  void flatten(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    const std::vector<int64_t>& d = v.is_const ? v.c.dims : v.dims;
    int64_t axis = attr_int(n, "axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(d.size());
    if (axis < 0 || axis > static_cast<int64_t>(d.size())) bad(i, "axis out of range");
    const std::vector<int64_t> out = {dims_elems({d.begin(), d.begin() + axis}),
                                      dims_elems({d.begin() + axis, d.end()})};
    if (v.is_const) {
      ConstTensor c = v.c;
      c.dims = out;
      return set_const(i, std::move(c));
    }
    if (out[0] != g_.batch)
      unsupported(i, "axis " + std::to_string(axis) + " gives " + dims_str(out) + " (batch " +
                         std::to_string(g_.batch) + ")");
    const Value& x = runtime_input(i, 0);
    LayerAttrs at;
    at.reshape_to = chw(i, out);
    emit(i, OpKind::Flatten, {x.data}, out, at);
  }

  void transpose(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    const std::vector<int64_t>& d = v.is_const ? v.c.dims : v.dims;
    std::vector<int64_t> perm = attr_ints(n, "perm");
    if (perm.empty())
      for (int64_t k = static_cast<int64_t>(d.size()) - 1; k >= 0; --k) perm.push_back(k);
    if (perm.size() != d.size())
      bad(i, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(d.size()));
    if (v.is_const) {
      try {
        return set_const(i, constfold::transpose(v.c, perm));
      } catch (const InputError& e) {
        bad(i, e.what());
      }
    }
    if (v.seq) {  // a recurrent sequence: only a permutation that moves no element (unit axes)
      std::vector<int64_t> out, before, after;
      for (int64_t k = 0; k < static_cast<int64_t>(perm.size()); ++k) {
        if (perm[k] < 0 || perm[k] >= static_cast<int64_t>(d.size())) bad(i, "perm entry out of range");
        out.push_back(d[perm[k]]);
        if (d[k] != 1) before.push_back(k);
        if (d[perm[k]] != 1) after.push_back(perm[k]);
      }
      if (perm[0] != 0 || before != after)
        unsupported(i, "transposes the recurrent sequence " + dims_str(d) + " other than across unit axes " +
                           "(torch's bidirectional export reorders [T, 2, B, H] to [T, B, 2, H]: batch 1 only)");
      Value a = v;
      a.dims = out;
      a.producer_node = i;
      values_[n.output(0)] = a;
      return;
    }
    if (v.shuffle_stage == 1 && perm == std::vector<int64_t>{0, 2, 1, 3, 4}) {
      Value p = v;
      p.shuffle_stage = 2;
      p.producer_node = i;
      values_[n.output(0)] = p;
      return;
    }
    Value x = v;
    if (v.shuffle_stage == 1) {
      x.shuffle_stage = 0;  // the rank-5 reshape was a view; this is no channel shuffle
    } else {
      x = runtime_input(i, 0);
    }
    for (int64_t k = 0; k < static_cast<int64_t>(perm.size()); ++k)
      if (std::count(perm.begin(), perm.end(), k) != 1) bad(i, "perm " + dims_str(perm) + " is not a permutation");
    runtime_transpose(i, x, perm);
  }

  // A permutation of a runtime tensor. Unit dims do not move data, and input dims that stay
  // adjacent and in order move as one: what remains (at most 4 dims of one sample) is a Transpose
  // layer, or a reshape when nothing moves.
  void runtime_transpose(int i, const Value& x, const std::vector<int64_t>& perm) {
    const std::vector<int64_t>& d = x.dims;
    std::vector<int64_t> out;
    for (int64_t p : perm) out.push_back(d.at(static_cast<std::size_t>(p)));
    const std::size_t lead = flat_ ? 0 : 1;
    if (!flat_ && perm.at(0) != 0 && d[0] != 1)
      unsupported(i, "perm " + dims_str(perm) + " moves the batch (dim 0)");
    std::vector<int64_t> kept;  // one sample's non-unit input dims, in input order
    for (std::size_t k = lead; k < d.size(); ++k)
      if (d[k] != 1) kept.push_back(static_cast<int64_t>(k));
    std::vector<std::vector<int64_t>> groups;  // in output order; each a run of kept input dims
    for (std::size_t j = 0; j < perm.size(); ++j) {
      const int64_t p = perm[j];
      if (d[static_cast<std::size_t>(p)] == 1 || (!flat_ && p == 0)) continue;
      if (!groups.empty()) {
        const auto it = std::find(kept.begin(), kept.end(), groups.back().back());
        if (it + 1 != kept.end() && *(it + 1) == p) {
          groups.back().push_back(p);
          continue;
        }
      }
      groups.push_back({p});
    }
    std::vector<std::size_t> by_input(groups.size());  // group indices sorted by input position
    for (std::size_t g = 0; g < groups.size(); ++g) by_input[g] = g;
    std::sort(by_input.begin(), by_input.end(),
              [&](std::size_t a, std::size_t b) { return groups[a].front() < groups[b].front(); });
    bool moves = false;
    for (std::size_t g = 0; g < by_input.size(); ++g) moves = moves || by_input[g] != g;
    if (!moves) return reshape_runtime(i, x, out);
    if (groups.size() > 4)
      unsupported(i, "perm " + dims_str(perm) + " of " + dims_str(d) + " moves " + std::to_string(groups.size()) +
                         " groups of dims (at most 4)");
    LayerAttrs at;
    for (std::size_t g : by_input) {
      int64_t e = 1;
      for (int64_t k : groups[g]) e *= d[static_cast<std::size_t>(k)];
      at.perm_in.push_back(e);
    }
    for (std::size_t g = 0; g < groups.size(); ++g)
      at.perm.push_back(std::find(by_input.begin(), by_input.end(), g) - by_input.begin());
    at.reshape_to = chw(i, out);
    emit(i, OpKind::Transpose, {x.data}, out, at);
  }

  void identity(int i, const NodeProto&) {
    const Value& v = input(i, 0);
    if (v.is_const) return set_const(i, v.c);
    emit(i, OpKind::Identity, {runtime_input(i, 0).data}, v.dims);
  }

  void dropout(int i, const NodeProto& n) {
    if (n.output_size() > 1 && !n.output(1).empty()) unsupported(i, "mask output");
    if (has_input(n, 2)) {
      const ConstTensor& t = const_input(i, 2, "training_mode");
      if (t.size() != 1) bad(i, "training_mode must be a scalar");
      if (t.at(0) != 0) {
        double ratio = 0.5;
        if (has_input(n, 1)) ratio = const_input(i, 1, "ratio").at(0);
        if (ratio != 0) unsupported(i, "training_mode with ratio " + std::to_string(ratio));
      }
    }
    const Value& v = input(i, 0);
    if (v.is_const) return set_const(i, v.c);
    emit(i, OpKind::Dropout, {runtime_input(i, 0).data}, v.dims);
  }

  // strides, dilations, pads and auto_pad of a conv or pool with spatial input extents `in`.
  Window window(int i, const NodeProto& n, const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
                bool ceil_mode) {
    const std::size_t sp = in.size();
    auto spatial = [&](const char* name, int64_t def) {
      std::vector<int64_t> v = attr_ints(n, name);
      if (v.empty()) v.assign(sp, def);
      if (v.size() != sp)
        bad(i, std::string(name) + " has " + std::to_string(v.size()) + " entries for " + std::to_string(sp) +
                   " spatial dims");
      for (int64_t x : v)
        if (x < 1) bad(i, std::string(name) + " must be >= 1");
      return v;
    };
    const auto strides = spatial("strides", 1), dil = spatial("dilations", 1);
    std::vector<int64_t> pads = attr_ints(n, "pads");
    if (pads.empty()) pads.assign(2 * sp, 0);
    if (pads.size() != 2 * sp) bad(i, "pads has " + std::to_string(pads.size()) + " entries");
    const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
    Window w;
    const std::size_t off = 2 - sp;  // 1-D ops occupy W
    for (std::size_t k = 0; k < sp; ++k) {
      const std::size_t o = k + off;
      w.k[o] = kernel[k];
      w.s[o] = strides[k];
      w.d[o] = dil[k];
      if (auto_pad == "NOTSET") {
        w.pb[o] = pads[k];
        w.pe[o] = pads[k + sp];
      } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        const int64_t out = (in[k] + strides[k] - 1) / strides[k];
        const int64_t total =
            std::max<int64_t>(0, (out - 1) * strides[k] + (kernel[k] - 1) * dil[k] + 1 - in[k]);
        const int64_t small = total / 2, big = total - small;
        w.pb[o] = auto_pad == "SAME_UPPER" ? small : big;
        w.pe[o] = auto_pad == "SAME_UPPER" ? big : small;
      } else if (auto_pad != "VALID") {
        bad(i, "auto_pad '" + auto_pad + "'");
      }
      if (w.pb[o] < 0 || w.pe[o] < 0) unsupported(i, "negative pads");
    }
    (void)ceil_mode;
    return w;
  }

  std::vector<int64_t> spatial_out(int64_t c, const std::vector<int64_t>& in_dims, const Window& w,
                                   bool ceil_mode) {
    std::vector<int64_t> out = {g_.batch, c};
    const std::size_t sp = in_dims.size() - 2;
    for (std::size_t k = 0; k < sp; ++k) {
      const std::size_t o = k + 2 - sp;
      out.push_back(out_extent(in_dims[2 + k], w.k[o], w.s[o], w.d[o], w.pb[o], w.pe[o], ceil_mode));
    }
    return out;
  }

  static void apply_window(LayerAttrs& a, const Window& w) {
    a.kernel_h = w.k[0];
    a.kernel_w = w.k[1];
    a.stride_h = w.s[0];
    a.stride_w = w.s[1];
    a.dil_h = w.d[0];
    a.dil_w = w.d[1];
    a.pad_top = w.pb[0];
    a.pad_left = w.pb[1];
    a.pad_bottom = w.pe[0];
    a.pad_right = w.pe[1];
  }

  const Value& spatial_input(int i) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value& x = runtime_input(i, 0);
    if (x.dims.size() != 3 && x.dims.size() != 4)
      unsupported(
          i, "rank-" + std::to_string(x.dims.size()) + " input " + dims_str(x.dims) + " (1-D and 2-D only)");
    chw(i, x.dims);  // batch check
    return x;
  }

  void conv(int i, const NodeProto& n) {
    const Value& x = spatial_input(i);
    const ConstTensor& W = const_input(i, 1, "weights");
    if (W.dims.size() != x.dims.size())
      bad(i, "weights " + dims_str(W.dims) + " do not match input " + dims_str(x.dims));
    const int64_t group = attr_int(n, "group", 1), C = x.dims[1], M = W.dims[0];
    if (group < 1 || C % group || M % group || W.dims[1] != C / group)
      bad(i, "weights " + dims_str(W.dims) + " with group " + std::to_string(group) + " do not fit " +
                 std::to_string(C) + " input channels");
    std::vector<int64_t> kernel(W.dims.begin() + 2, W.dims.end());
    const auto ks = attr_ints(n, "kernel_shape");
    if (!ks.empty() && ks != kernel)
      bad(i, "kernel_shape " + dims_str(ks) + " differs from the weights " + dims_str(W.dims));
    const std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
    const Window w = window(i, n, in, kernel, false);
    LayerAttrs a;
    apply_window(a, w);
    a.out_channels = M;
    a.groups = group;
    std::vector<float> bias;
    if (has_input(n, 2)) {
      bias = const_input(i, 2, "bias").as_floats();
      if (static_cast<int64_t>(bias.size()) != M)
        bad(i, "bias has " + std::to_string(bias.size()) + " values for " + std::to_string(M) + " outputs");
      a.has_bias = true;
    }
    LayerNode& l = emit(i, OpKind::Conv, {x.data}, spatial_out(M, x.dims, w, false), a);
    l.weights = W.as_floats();
    l.bias = std::move(bias);
  }

  // Fully connected from a [B,K] runtime tensor (B: the batch) and a [N][K] weight matrix.
  void fully_connected(int i, const Value& x, std::vector<float> weights, int64_t N,
                       std::vector<float> bias) {
    LayerAttrs a;
    a.out_channels = N;
    a.has_bias = !bias.empty();
    LayerNode& l = emit(i, OpKind::FullyConnected, {x.data}, {g_.batch, N}, a);
    l.weights = std::move(weights);
    l.bias = std::move(bias);
  }

  const Value& matrix_input(int i) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "of two constants");
    const Value& x = runtime_input(i, 0);
    if (x.dims.size() != 2) unsupported(i, "input of rank " + std::to_string(x.dims.size()) + " (2-D only)");
    if (x.dims[0] != g_.batch) unsupported(i, batch_mismatch(x.dims));
    return x;
  }

  void gemm(int i, const NodeProto& n) {
    if (attr_int(n, "transA", 0) != 0) unsupported(i, "transA=1");
    const Value& x = matrix_input(i);
    const ConstTensor& B = const_input(i, 1, "B");
    const float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
    const bool transB = attr_int(n, "transB", 0) != 0;
    const int64_t K = x.dims[1];
    if (B.dims.size() != 2 || B.dims[transB ? 1 : 0] != K)
      bad(i, "B " + dims_str(B.dims) + " does not fit A " + dims_str(x.dims));
    const int64_t N = B.dims[transB ? 0 : 1];
    std::vector<float> w = B.as_floats();
    if (!transB) w = constfold::transpose(B, {1, 0}).as_floats();
    if (alpha != 1.0f)
      for (float& f : w) f *= alpha;
    std::vector<float> bias;
    if (has_input(n, 2)) {
      const ConstTensor& Cb = const_input(i, 2, "C");
      std::vector<float> c = Cb.as_floats();
      if (c.size() == 1) c.assign(static_cast<std::size_t>(N), c[0]);
      if (static_cast<int64_t>(c.size()) != N || (Cb.dims.size() == 2 && Cb.dims[0] != 1))
        unsupported(i, "C of shape " + dims_str(Cb.dims) + " (a bias needs [N], [1,N] or a scalar)");
      for (float& f : c) f *= beta;
      bias = std::move(c);
    }
    fully_connected(i, x, std::move(w), N, std::move(bias));
  }

  void matmul(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    if (!v.is_const && v.dims.size() >= 3 && !input(i, 1).is_const)
      unsupported(i, "B computed at run time (the NFU's weights come from the program's DRAM image)");
    if (!v.is_const && v.dims.size() >= 3) return matmul_rows(i, n);
    const Value& x = matrix_input(i);
    const ConstTensor& B = const_input(i, 1, "B");
    if (B.dims.size() != 2) unsupported(i, "B of rank " + std::to_string(B.dims.size()) + " (2-D only)");
    if (B.dims[0] != x.dims[1]) bad(i, "B " + dims_str(B.dims) + " does not fit A " + dims_str(x.dims));
    fully_connected(i, x, constfold::transpose(B, {1, 0}).as_floats(), B.dims[1], {});
  }

  // A [..., R, K] x a constant B [K, M]: every row of A through the same matrix. Per sample, A's
  // rows are transposed to channels ([R, K] -> [K, R], DMA gathers), a 1x1 conv of M filters
  // (B's columns) maps [K, 1, R] to [M, 1, R], and a transpose gives [R, M].
  void matmul_rows(int i, const NodeProto&) {
    const Value x = runtime_input(i, 0);
    const ConstTensor& B = const_input(i, 1, "B");
    if (B.dims.size() != 2) unsupported(i, "B of rank " + std::to_string(B.dims.size()) + " (2-D only)");
    const std::vector<int64_t> d = sample_dims(i, x.dims);
    const int64_t K = d.back(), M = B.dims[1], R = prod(d, 0, d.size() - 1);
    if (B.dims[0] != K) bad(i, "B " + dims_str(B.dims) + " does not fit A " + dims_str(x.dims));
    std::vector<int64_t> out = x.dims;
    out.back() = M;
    auto transpose2 = [&](int data, int64_t a, int64_t b) {  // [a, b] -> [b, a]
      LayerAttrs tr;
      tr.perm_in = {a, b};
      tr.perm = {1, 0};
      tr.reshape_to = Shape{b, 1, a};
      return emit_mid(i, OpKind::Transpose, {view(i, data, Shape{a, 1, b})}, tr.reshape_to, tr);
    };
    int data = R > 1 ? transpose2(x.data, R, K) : view(i, x.data, Shape{K, 1, 1});
    LayerAttrs at;
    at.out_channels = M;
    data = emit_mid(i, OpKind::Conv, {data}, Shape{M, 1, R}, at);
    g_.layer(g_.tensor(data).producer).weights = constfold::transpose(B, {1, 0}).as_floats();
    if (R > 1) data = transpose2(data, M, R);
    finish(i, data, out);
  }

  // The ops that map onto one NFU-3 function (activation()).
  static bool activation_op(const std::string& op) {
    static const std::set<std::string> ops = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu",  "Selu",
                                              "HardSigmoid", "HardSwish", "Softplus", "Clip", "Exp", "Log",
                                              "Sqrt", "Reciprocal", "Abs"};
    return ops.count(op) > 0;
  }

  // NFU-3 implements each function with ONNX's default parameters only (docs/onnx.md); another
  // value is unsupported, named with the attribute.
  void require_default(int i, const NodeProto& n, const char* name, float def) const {
    const float v = attr_float(n, name, def);
    if (std::fabs(v - def) > 1e-6f * std::max(1.0f, std::fabs(def)))
      unsupported(i, std::string("attribute ") + name + "=" + std::to_string(v) + " (NFU-3 implements " +
                         std::to_string(def) + " only)");
  }

  void activation(int i, const NodeProto& n) {
    const std::string& op = n.op_type();
    LayerAttrs a;
    // The functions without parameters: NFU-3 applies them as they are.
    static const std::map<std::string, isa::Activation> plain = {
        {"Relu", isa::Activation::Relu},   {"Sigmoid", isa::Activation::Sigmoid},
        {"Tanh", isa::Activation::Tanh},   {"HardSwish", isa::Activation::HardSwish},
        {"Softplus", isa::Activation::Softplus}, {"Exp", isa::Activation::Exp},
        {"Log", isa::Activation::Log},     {"Sqrt", isa::Activation::Sqrt},
        {"Reciprocal", isa::Activation::Reciprocal}, {"Abs", isa::Activation::Abs}};
    if (const auto it = plain.find(op); it != plain.end()) {
      a.act = it->second;
    } else if (op == "LeakyRelu") {
      const float alpha = attr_float(n, "alpha", 0.01f);
      if (std::fabs(alpha - numerics::kLeakySlope) > 1e-7f) {
        // Another slope is no NFU-3 function: the same lowering as PRelu's.
        return slope_relu(i, std::vector<float>(static_cast<std::size_t>(chw(i, input(i, 0).dims).c), alpha));
      }
      a.act = isa::Activation::LeakyRelu;
    } else if (op == "Elu") {
      require_default(i, n, "alpha", 1.0f);
      a.act = isa::Activation::Elu;
    } else if (op == "Selu") {
      require_default(i, n, "alpha", static_cast<float>(numerics::kSeluAlpha));
      require_default(i, n, "gamma", static_cast<float>(numerics::kSeluGamma));
      a.act = isa::Activation::Selu;
    } else if (op == "HardSigmoid") {
      require_default(i, n, "alpha", static_cast<float>(numerics::kHardSigmoidAlpha));
      require_default(i, n, "beta", static_cast<float>(numerics::kHardSigmoidBeta));
      a.act = isa::Activation::HardSigmoid;
    } else {  // Clip
      float lo = -FLT_MAX, hi = FLT_MAX;
      if (opset_ < 11) {
        lo = attr_float(n, "min", lo);
        hi = attr_float(n, "max", hi);
      } else {
        if (has_input(n, 1)) lo = static_cast<float>(const_input(i, 1, "min").at(0));
        if (has_input(n, 2)) hi = static_cast<float>(const_input(i, 2, "max").at(0));
      }
      if (lo == 0 && hi == 6)
        a.act = isa::Activation::Relu6;
      else if (lo == 0 && hi >= FLT_MAX)
        a.act = isa::Activation::Relu;
      else if (lo <= -FLT_MAX && hi >= FLT_MAX)
        a.act = isa::Activation::None;
      else
        return clip(i, lo, hi);
    }
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value& x = runtime_input(i, 0);
    if (a.act == isa::Activation::None) {
      emit(i, OpKind::Identity, {x.data}, x.dims);
      return;
    }
    emit(i, OpKind::Activation, {x.data}, x.dims, a);
  }

  // Adds a per-channel scale layer (a depthwise 1x1 conv after canonicalization) for node i;
  // its tensor is the node's output, renamed with `suffix` when it is an intermediate.
  int emit_scale(int i, int in, const std::vector<int64_t>& dims, std::vector<float> factors,
                 const std::string& suffix) {
    LayerNode& l = emit(i, OpKind::Mul, {in}, dims);
    l.weights = std::move(factors);
    if (!suffix.empty()) g_.tensor(l.output).name += suffix;
    return l.output;
  }

  // x >= 0 ? x : a_c * x with a slope per channel (PRelu; LeakyRelu with another alpha). NFU-3
  // has no multiplier per channel, so it lowers to two depthwise 1x1 scales and an add:
  // (1 - a)·relu(x) + a·x (canonicalization merges the relu into the first scale). That is the
  // function for a <= 1 (relu((1 - a)x) = (1 - a)·relu(x) needs 1 - a >= 0); larger slopes
  // are unsupported.
  void slope_relu(int i, std::vector<float> slope) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value x = runtime_input(i, 0);
    std::vector<float> keep(slope.size());
    for (std::size_t c = 0; c < slope.size(); ++c) {
      if (!(slope[c] <= 1.0f))
        unsupported(i, "slope " + std::to_string(slope[c]) + " > 1 (lowered as (1 - a)·relu(x) + a·x)");
      keep[c] = 1.0f - slope[c];
    }
    const int scaled = emit_scale(i, x.data, x.dims, std::move(keep), "_scaled");
    LayerAttrs relu;
    relu.act = isa::Activation::Relu;
    LayerNode& r = emit(i, OpKind::Activation, {scaled}, x.dims, relu);
    g_.tensor(r.output).name += "_pos";
    const int pos = r.output;
    const int lin = emit_scale(i, x.data, x.dims, std::move(slope), "_slope");
    emit(i, OpKind::Add, {pos, lin}, x.dims);
  }

  void prelu(int i, const NodeProto&) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const ConstTensor& slope = const_input(i, 1, "slope");
    std::vector<float> pc = per_channel(slope, v.dims);
    if (pc.empty())
      unsupported(i, "slope of shape " + dims_str(slope.dims) + " that is not per-channel for " + dims_str(v.dims));
    slope_relu(i, std::move(pc));
  }

  // -x: a depthwise 1x1 scale by -1.
  void neg(int i, const NodeProto&) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value& x = runtime_input(i, 0);
    emit_scale(i, x.data, x.dims, std::vector<float>(static_cast<std::size_t>(chw(i, x.dims).c), -1.0f), "");
  }

  void pool(int i, const NodeProto& n, bool max) {
    if (n.output_size() > 1 && !n.output(1).empty()) unsupported(i, "Indices output");
    const Value& x = spatial_input(i);
    const std::vector<int64_t> kernel = attr_ints(n, "kernel_shape");
    const std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
    if (kernel.size() != in.size())
      bad(i, "kernel_shape " + dims_str(kernel) + " does not match input " + dims_str(x.dims));
    if (max && attr_int(n, "storage_order", 0) != 0) unsupported(i, "storage_order=1");
    const bool ceil_mode = attr_int(n, "ceil_mode", 0) != 0;
    const Window w = window(i, n, in, kernel, ceil_mode);
    if (w.d[0] != 1 || w.d[1] != 1) unsupported(i, "dilations (pooling windows are dense on the NFU)");
    LayerAttrs a;
    apply_window(a, w);
    a.ceil_mode = ceil_mode;
    if (!max) a.count_include_pad = attr_int(n, "count_include_pad", 0) != 0;
    emit(i, max ? OpKind::MaxPool : OpKind::AvgPool, {x.data}, spatial_out(x.dims[1], x.dims, w, ceil_mode),
         a);
  }

  // Zero padding of the spatial axes: a 1x1 average pool of stride 1 whose padding ring is the
  // pad (divisor 1, padding counted), exact in int16 and fp32. Canonicalization folds it into the
  // conv or average pool that alone reads it (inception_v3's avg_pool2d exports as Pad + pool).
  void pad(int i, const NodeProto& n) {
    const std::string mode = attr_string(n, "mode", "constant");
    if (mode != "constant") unsupported(i, "mode " + mode + " (only constant zero padding)");
    std::vector<int64_t> pads;
    double value = 0;
    if (opset_ >= 11) {
      pads = ints_of(i, const_input(i, 1, "pads"), "pads");
      if (has_input(n, 2)) {
        const ConstTensor& v = const_input(i, 2, "constant_value");
        if (v.size() != 1) bad(i, "constant_value has " + std::to_string(v.size()) + " values, expected 1");
        value = v.at(0);
      }
    } else {
      pads = attr_ints(n, "pads");
      value = attr_float(n, "value", 0.0f);
    }
    if (value != 0) unsupported(i, "constant_value " + std::to_string(value) + " (only zero padding)");
    const Value& x = spatial_input(i);
    const std::size_t r = x.dims.size();
    if (pads.size() != 2 * r) bad(i, "pads has " + std::to_string(pads.size()) + " values for a rank-" + std::to_string(r) + " input");
    for (int64_t p : pads)
      if (p < 0) unsupported(i, "negative pads (cropping) " + dims_str(pads));
    if (pads[0] || pads[1] || pads[r] || pads[r + 1]) unsupported(i, "padding of the batch or channel axis " + dims_str(pads));
    Window w;
    std::vector<int64_t> out = x.dims;
    for (std::size_t k = 2; k < r; ++k) {
      w.pb[k - 2] = pads[k], w.pe[k - 2] = pads[r + k];
      out[k] += pads[k] + pads[r + k];
    }
    LayerAttrs a;
    apply_window(a, w);
    a.count_include_pad = true;
    emit(i, OpKind::AvgPool, {x.data}, out, a);
  }

  // One step of an LSTM sequence (y[-1] in torch): Gather along axis 0 with a single constant
  // index, a channel slice of the steps and a view with the batch in dim 0.
  void gather_step(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    const int64_t T = v.dims[0];
    if (attr_int(n, "axis", 0) != 0) unsupported(i, "a Gather of an LSTM sequence along an axis other than time");
    const ConstTensor& idx = const_input(i, 1, "indices");
    if (!idx.integer || idx.size() != 1 || !idx.dims.empty()) unsupported(i, "a Gather of an LSTM sequence by other than one scalar index");
    int64_t k = idx.i[0];
    if (k < -T || k >= T) bad(i, "index " + std::to_string(k) + " is outside the " + std::to_string(T) + " steps");
    if (k < 0) k += T;
    const std::vector<int64_t> out(v.dims.begin() + 1, v.dims.end());  // [batch 1, ...]
    if (out.size() < 2 || out.size() > 4) unsupported(i, "a step of rank " + std::to_string(out.size()));
    LayerAttrs sa;
    sa.slice_start = k, sa.slice_count = 1;
    const std::string name = layer_name(i, "_step");
    const int sl = g_.add_layer(name, OpKind::ChannelSlice, {v.data}, name, sa);
    g_.layer(sl).origin = n.name().empty() ? "node #" + std::to_string(i) + " (Gather)" : n.name();
    LayerAttrs ra;
    ra.reshape_to = chw(i, out);
    emit(i, out.size() == 2 ? OpKind::Flatten : OpKind::Reshape, {g_.layer(sl).output}, out, ra);
  }

  // Expand of a constant (the zero initial states torch's LSTM export builds): folded.
  void expand(int i, const NodeProto& n) {
    if (!input(i, 0).is_const && input(i, 1).is_const) {  // torch's expand_as: kept lazy (Value::expanded_from)
      Value p = runtime_input(i, 0);
      const std::vector<int64_t> shape = ints_of(i, input(i, 1).c, "shape");
      const std::size_t r = std::max(p.dims.size(), shape.size());
      std::vector<int64_t> out(r);
      for (std::size_t k = 0; k < r; ++k) {
        const int64_t a = k + p.dims.size() >= r ? p.dims[k + p.dims.size() - r] : 1;
        const int64_t b = k + shape.size() >= r ? shape[k + shape.size() - r] : 1;
        if (a != b && a != 1 && b != 1) bad(i, "shape " + dims_str(shape) + " does not broadcast " + dims_str(p.dims));
        out[k] = a == 1 ? b : a;
      }
      if (out == p.dims) return set_alias(i, p);
      if (p.expanded_from.empty()) p.expanded_from = p.dims;
      p.dims = out;
      p.producer_node = i;
      values_[n.output(0)] = p;
      return;
    }
    if (!all_const(n)) no_runtime(i);
    const ConstTensor& x = input(i, 0).c;
    const std::vector<int64_t> shape = ints_of(i, input(i, 1).c, "shape");
    // numpy broadcast of x.dims against shape
    const std::size_t r = std::max(x.dims.size(), shape.size());
    std::vector<int64_t> out(r);
    for (std::size_t k = 0; k < r; ++k) {
      const int64_t a = k + x.dims.size() >= r ? x.dims[k + x.dims.size() - r] : 1;
      const int64_t b = k + shape.size() >= r ? shape[k + shape.size() - r] : 1;
      if (a != b && a != 1 && b != 1) bad(i, "shape " + dims_str(shape) + " does not broadcast " + dims_str(x.dims));
      out[k] = a == 1 ? b : a;
    }
    const int64_t total = dims_elems(out);
    if (total > (int64_t{1} << 26)) unsupported(i, "a constant of " + std::to_string(total) + " elements");
    ConstTensor c;
    c.dims = out;
    c.integer = x.integer;
    for (int64_t e = 0; e < total; ++e) {
      int64_t rem = e, src = 0, stride = 1;
      std::vector<int64_t> idx(r);
      for (std::size_t k = r; k-- > 0;) idx[k] = rem % out[k], rem /= out[k];
      for (std::size_t k = x.dims.size(); k-- > 0;) {
        const int64_t d = x.dims[k];
        src += (d == 1 ? 0 : idx[k + r - x.dims.size()]) * stride;
        stride *= d;
      }
      if (c.integer)
        c.i.push_back(x.i[static_cast<std::size_t>(src)]);
      else
        c.f.push_back(x.f[static_cast<std::size_t>(src)]);
    }
    set_const(i, std::move(c));
  }

  // LSTM, forward, default activations, zero or absent initial state, no peepholes: unrolled by
  // lower_lstm (docs/recurrent.md). Y is the sequence of every h_t; Y_h the last step's; Y_c must
  // be unused. LSTM, GRU and RNN, default activations, zero initial state: unrolled
  // (recurrent.h). Gates: LSTM 4 (i, o, f, c), GRU 3 (z, r, h), RNN 1. Directions forward,
  // reverse (the steps in reverse order) and bidirectional (both, each its own weights).
  void recurrent(int i, const NodeProto& n) {
    const std::string& op = n.op_type();
    const int64_t G = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
    const Value& x = runtime_input(i, 0);
    if (!x.seq) unsupported(i, "an " + op + " whose input is not the graph input or another recurrent layer's output");
    const std::string dir = attr_string(n, "direction", "forward");
    if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
      bad(i, "direction '" + dir + "' (forward, reverse or bidirectional)");
    const int64_t D = dir == "bidirectional" ? 2 : 1;  // num_directions
    const std::vector<std::string> def = op == "LSTM"  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                         : op == "GRU" ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                       : std::vector<std::string>{"Tanh"};
    for (const auto& a : n.attribute()) {
      if (a.name() == "activations") {
        std::vector<std::string> got(a.strings().begin(), a.strings().end());
        if (got != def) {
          std::string d;
          for (const auto& f : def) d += (d.empty() ? "" : ", ") + f;
          unsupported(i, "activations other than " + d);
        }
      } else if (a.name() == "clip" || a.name() == "activation_alpha" || a.name() == "activation_beta") {
        unsupported(i, "attribute " + a.name());
      }
    }
    if (attr_int(n, "input_forget", 0) != 0) unsupported(i, "input_forget=1");
    // layout 1 (batch-major): X is [batch, seq_length, input_size], Y [batch, seq_length, 1,
    // hidden], Y_h [batch, 1, hidden]; only for the graph's input (a sequence in that order)
    const int64_t layout = attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1) bad(i, "layout " + std::to_string(layout) + " (0 or 1)");
    const bool bm = layout == 1;
    if (bm && x.data != g_.input) unsupported(i, "layout=1 (batch-major) on another layer's output");
    const int64_t H = attr_int(n, "hidden_size", 0);
    if (H < 1 || H > 16384) bad(i, "hidden_size " + std::to_string(H) + " (1 to 16384)");
    const int64_t T = x.dims[bm ? 1 : 0], B = bm ? x.dims[0] : x.dims.size() >= 3 ? x.dims[1] : 1,
                  I = dims_elems({x.dims.begin() + 2, x.dims.end()});
    const ConstTensor& W = const_input(i, 1, "W");
    const ConstTensor& R = const_input(i, 2, "R");
    if (W.dims != std::vector<int64_t>{D, G * H, I}) bad(i, "W has shape " + dims_str(W.dims) + ", expected " + dims_str({D, G * H, I}));
    if (R.dims != std::vector<int64_t>{D, G * H, H}) bad(i, "R has shape " + dims_str(R.dims) + ", expected " + dims_str({D, G * H, H}));
    std::vector<float> b2all(static_cast<std::size_t>(D * 2 * G * H), 0.0f);  // per direction: Wb then Rb
    if (has_input(n, 3)) {
      b2all = const_input(i, 3, "B").as_floats();
      if (b2all.size() != static_cast<std::size_t>(D * 2 * G * H))
        bad(i, "B has " + std::to_string(b2all.size()) + " values, expected " + std::to_string(D * 2 * G * H));
    }
    if (has_input(n, 4)) {
      const ConstTensor& sl = const_input(i, 4, "sequence_lens");
      for (int64_t k = 0; k < sl.size(); ++k)
        if (sl.at(k) != static_cast<double>(T)) unsupported(i, "sequence_lens shorter than the sequence");
    }
    // initial_h, initial_c: [D, B, H] (batch-major [B, D, H]); all zero is no state at all
    std::vector<float> init[2];
    for (int k : {5, 6}) {
      if (k == 6 && op != "LSTM") break;
      if (has_input(n, k)) {
        const char* what = k == 5 ? "initial_h" : "initial_c";
        const ConstTensor& t = const_input(i, k, what);
        const std::vector<int64_t> want = bm ? std::vector<int64_t>{B, D, H} : std::vector<int64_t>{D, B, H};
        if (t.dims != want) bad(i, std::string(what) + " has shape " + dims_str(t.dims) + ", expected " + dims_str(want));
        std::vector<float> v = t.as_floats();
        if (std::any_of(v.begin(), v.end(), [](float e) { return e != 0.0f; })) init[k - 5] = std::move(v);
      }
    }
    // sequence b of direction d starts from its rows of initial_h and initial_c (constants in DRAM)
    auto start_state = [&](LstmSpec& sp, int64_t d, int64_t b) {
      const int64_t row = bm ? b * D + d : d * B + b;
      for (int k : {0, 1})
        if (!init[k].empty())
          (k ? sp.c0 : sp.h0) = g_.add_constant(sp.name + (k ? ".c0" : ".h0"), Shape{H, 1, 1},
                                                {init[k].begin() + row * H, init[k].begin() + (row + 1) * H});
    };
    std::vector<float> pall;  // peepholes, [D, 3H]
    if (op == "LSTM" && has_input(n, 7)) {
      const ConstTensor& P = const_input(i, 7, "P");
      if (P.dims != std::vector<int64_t>{D, 3 * H}) bad(i, "P has shape " + dims_str(P.dims) + ", expected " + dims_str({D, 3 * H}));
      pall = P.as_floats();
    }
    // Y_h is the last step's h; Y_c is not computed apart: nothing may read it
    auto used = [&](int o) {
      if (n.output_size() <= o || n.output(o).empty()) return false;
      bool u = false;
      for (const auto& m : model_.graph().node())
        for (const auto& in : m.input()) u = u || in == n.output(o);
      for (const auto& go : model_.graph().output()) u = u || go.name() == n.output(o);
      return u;
    };
    if (used(2)) unsupported(i, "Y_c output (read by the graph)");
    const bool want_y = used(0), want_h = used(1);
    LstmSpec s;
    s.name = layer_name(i);
    s.steps = T, s.input = I, s.hidden = H;
    s.origin = n.name().empty() ? "node #" + std::to_string(i) + " (" + op + ")" : n.name();
    s.out_shape = {T, 1, H};
    s.linear_before_reset = op == "GRU" && attr_int(n, "linear_before_reset", 0) != 0;
    // direction d's weights: W[d], R[d], B[d] (the bias Wb + Rb)
    const std::vector<float> wall = W.as_floats(), rall = R.as_floats();
    std::vector<std::vector<float>> b2(static_cast<std::size_t>(D));
    auto spec_of = [&](int64_t d) {
      LstmSpec sd = s;
      sd.w.assign(wall.begin() + d * G * H * I, wall.begin() + (d + 1) * G * H * I);
      sd.r.assign(rall.begin() + d * G * H * H, rall.begin() + (d + 1) * G * H * H);
      b2[d].assign(b2all.begin() + d * 2 * G * H, b2all.begin() + (d + 1) * 2 * G * H);
      if (!pall.empty()) sd.peep.assign(pall.begin() + d * 3 * H, pall.begin() + (d + 1) * 3 * H);
      sd.bias.resize(static_cast<std::size_t>(G * H));
      for (int64_t k = 0; k < G * H; ++k) sd.bias[k] = b2[d][k] + b2[d][G * H + k];
      return sd;
    };
    // direction d runs the steps in reverse order (ONNX: reverse, or bidirectional's second)
    auto reversed = [&](int64_t d) { return dir == "reverse" || d == 1; };
    auto lower = [&](const LstmSpec& spec, int64_t d, int in) {
      return op == "LSTM" ? lower_lstm(g_, spec, in) : op == "GRU" ? lower_gru(g_, spec, b2[d], in) : lower_rnn(g_, spec, in);
    };
    if (B == 1 && !want_h && !bm && dir == "forward") {  // one sequence: Y as the lowering builds it
      s = spec_of(0);
      start_state(s, 0, 0);
      Value y;
      y.data = lower(s, 0, x.data);
      y.dims = {T, 1, 1, H};
      y.seq = true;
      y.producer_node = i;
      values_[n.output(0)] = y;
      return;
    }
    // B sequences side by side (step t of sample b is channel t * B + b of the [T * B, 1, I]
    // view; batch-major: b * T + t), per direction sharing one copy of the weights; a reversed
    // direction takes the steps from the last (a negative stride). Y interleaves every h_t as
    // ONNX's [T, D, B, H] (batch-major: [B, T, D, H]); Y_h is each direction's last h,
    // [D, B, H] ([B, D, H]).
    std::vector<RecurrentOwners> owners(static_cast<std::size_t>(D));
    // hs[d][b][k]: the h of direction d, sequence b, after its k-th step
    std::vector<std::vector<std::vector<int>>> hs(static_cast<std::size_t>(D), std::vector<std::vector<int>>(static_cast<std::size_t>(B)));
    const int xv = view(i, x.data, Shape{T * B, 1, I});
    for (int64_t d = 0; d < D; ++d) {
      const LstmSpec sd = spec_of(d);
      for (int64_t b = 0; b < B; ++b) {
        LstmSpec sb = sd;
        if (D == 2) sb.name += d ? ".reverse" : ".forward";
        else if (reversed(d)) sb.name += ".reverse";
        if (B > 1) sb.name += ".b" + std::to_string(b);
        const int64_t stride = bm ? 1 : B, first = bm ? b * T : b;
        sb.seq_stride = reversed(d) ? -stride : stride, sb.seq_offset = reversed(d) ? first + (T - 1) * stride : first;
        sb.shared = &owners[static_cast<std::size_t>(d)];
        sb.step_outputs = &hs[static_cast<std::size_t>(d)][static_cast<std::size_t>(b)];
        start_state(sb, d, b);
        lower(sb, d, xv);
      }
    }
    // the h of direction d, sequence b at time t (a reversed direction reached time t at step T-1-t)
    auto h_at = [&](int64_t d, int64_t b, int64_t t) {
      return hs[static_cast<std::size_t>(d)][static_cast<std::size_t>(b)][static_cast<std::size_t>(reversed(d) ? T - 1 - t : t)];
    };
    auto concat = [&](std::vector<int> parts, const std::string& what) {
      if (parts.size() == 1) return parts[0];
      const int cat = g_.add_layer(s.name + "." + what, OpKind::Concat, parts, s.name + "." + what);
      g_.layer(cat).origin = s.origin;
      return g_.layer(cat).output;
    };
    if (want_y || !want_h) {
      std::vector<int> parts;
      for (int64_t o = 0; o < T * D * B; ++o) {  // (t, d, b); batch-major (b, t, d)
        const int64_t t = bm ? o / D % T : o / (D * B), d = bm ? o % D : o / B % D, b = bm ? o / (T * D) : o % B;
        parts.push_back(h_at(d, b, t));
      }
      Value y;
      y.data = view(i, concat(parts, "y"), bm ? Shape{B, 1, T * D * H} : Shape{T, 1, D * B * H});
      y.dims = bm ? std::vector<int64_t>{B, T, D, H} : std::vector<int64_t>{T, D, B, H};
      y.seq = !bm;  // a batch-major Y feeds no further recurrent layer (above)
      y.producer_node = i;
      values_[n.output(0)] = y;
    }
    if (want_h) {
      std::vector<int> parts;
      for (int64_t o = 0; o < D * B; ++o) {  // (d, b); batch-major (b, d)
        const int64_t d = bm ? o % D : o / B, b = bm ? o / D : o % B;
        parts.push_back(hs[static_cast<std::size_t>(d)][static_cast<std::size_t>(b)].back());
      }
      finish(i, concat(parts, "y_h"), {1, D * B, H}, 1);
      // the same elements in the same order
      values_[n.output(1)].dims = bm ? std::vector<int64_t>{B, D, H} : std::vector<int64_t>{D, B, H};
    }
  }

  void global_avgpool(int i, const NodeProto&) {
    const Value& x = spatial_input(i);
    std::vector<int64_t> out = x.dims;
    for (std::size_t k = 2; k < out.size(); ++k) out[k] = 1;
    emit(i, OpKind::GlobalAvgPool, {x.data}, out);
  }

  // A max pool whose window is the whole map.
  void global_maxpool(int i, const NodeProto&) {
    const Value& x = spatial_input(i);
    const Shape in = chw(i, x.dims);
    std::vector<int64_t> out = x.dims;
    for (std::size_t k = 2; k < out.size(); ++k) out[k] = 1;
    LayerAttrs a;
    a.kernel_h = in.h;
    a.kernel_w = in.w;
    emit(i, OpKind::MaxPool, {x.data}, out, a);
  }

  // ReduceMean over H and W (torch's x.mean([2, 3])) is a global average pool, flattened
  // when keepdims is 0. Other axes (and flat graphs) pool on a view of the data (reduce()).
  void reduce_mean(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    if (flat_ || v.is_const || (v.dims.size() != 3 && v.dims.size() != 4)) return reduce(i, n);
    const Value& x = spatial_input(i);
    std::vector<int64_t> axes = axes_of(i, n, 1);
    const int64_t r = static_cast<int64_t>(x.dims.size());
    for (auto& a : axes) a = a < 0 ? a + r : a;
    std::sort(axes.begin(), axes.end());
    std::vector<int64_t> spatial;
    for (int64_t k = 2; k < r; ++k) spatial.push_back(k);
    if (axes != spatial) return reduce(i, n);  // other axes: average pooling on a view
    std::vector<int64_t> pooled = x.dims;
    for (std::size_t k = 2; k < pooled.size(); ++k) pooled[k] = 1;
    const int data = emit(i, OpKind::GlobalAvgPool, {x.data}, pooled).output;
    if (attr_int(n, "keepdims", 1) != 0) return;
    g_.tensor(data).name += "_pooled";  // the node's output name goes to the flatten
    LayerAttrs a;
    a.reshape_to = chw(i, {g_.batch, x.dims[1]});
    emit(i, OpKind::Flatten, {data}, {g_.batch, x.dims[1]}, a);
  }

  // ---- reductions, softmax and broadcasting ----
  // These place their windows from ONNX's row-major dims: a tensor is one contiguous array per
  // sample (flat graphs: the whole tensor), so any [outer, R, inner] split of its dims is a view
  // of the same data (a reshape, which layer elimination makes free), and a reduction over the
  // R axis is a pooling window of R x 1 on that view.

  // The dims of one sample: all of them in a flat graph, else without dim 0 (the batch).
  std::vector<int64_t> sample_dims(int i, const std::vector<int64_t>& d) const {
    if (flat_) return d;
    chw(i, d);  // dim 0 must be the batch
    return {d.begin() + 1, d.end()};
  }
  static int64_t prod(const std::vector<int64_t>& d, std::size_t lo, std::size_t hi) {
    int64_t p = 1;
    for (std::size_t k = lo; k < hi && k < d.size(); ++k) p *= d[k];
    return p;
  }

  // An intermediate layer of node i (not its output), whose tensor has map shape s (by value:
  // callers pass another tensor's shape, which adding the layer may move).
  int emit_mid(int i, OpKind op, const std::vector<int>& ins, const Shape s, const LayerAttrs& attrs = {}) {
    const NodeProto& n = model_.graph().node(i);
    const std::string suffix = "#" + std::to_string(++mid_count_);
    const int id = g_.add_layer(layer_name(i, suffix), op, ins, n.output(0) + suffix, attrs);
    LayerNode& l = g_.layer(id);
    l.origin = n.name().empty() ? "node #" + std::to_string(i) + " (" + n.op_type() + ")" : n.name();
    g_.tensor(l.output).shape = s;
    return l.output;
  }
  // `data` seen as map shape `to` (a reshape; none when the shape is already that).
  int view(int i, int data, const Shape to) {
    if (g_.tensor(data).shape == to) return data;
    LayerAttrs a;
    a.reshape_to = to;
    return emit_mid(i, OpKind::Reshape, {data}, to, a);
  }
  int act_mid(int i, int data, isa::Activation f) {
    LayerAttrs a;
    a.act = f;
    return emit_mid(i, OpKind::Activation, {data}, g_.tensor(data).shape, a);
  }
  int neg_mid(int i, int data) {
    const Shape s = g_.tensor(data).shape;
    const int out = emit_mid(i, OpKind::Mul, {data}, s);
    g_.layer(g_.tensor(out).producer).weights.assign(static_cast<std::size_t>(s.c), -1.0f);
    return out;
  }
  // Node i's output, of ONNX dims `dims`, is `data`: renamed when its map is already the output's,
  // else through a final reshape.
  void finish(int i, int data, const std::vector<int64_t>& dims, int out = 0) {
    const NodeProto& n = model_.graph().node(i);
    const Shape s = chw(i, dims);
    if (!(g_.tensor(data).shape == s)) {
      LayerAttrs a;
      a.reshape_to = s;
      emit(i, OpKind::Reshape, {data}, dims, a, out);
      return;
    }
    g_.tensor(data).name = n.output(out);
    Value v;
    v.data = data;
    v.dims = dims;
    v.producer_node = i;
    values_[n.output(out)] = v;
    onnx_shapes_[data] = {s, i};
  }

  enum class Pooling { Max, Sum, Mean };
  // Pools `data` (one sample: row-major dims d) over the axes [a, b] of d, in stages of windows
  // of at most 255 rows (the COMPUTE's kh field): R = f1 * f2 * ... Returns the pooled tensor,
  // shaped [outer, 1, inner].
  int pool_run(int i, int data, const std::vector<int64_t>& d, std::size_t a, std::size_t b, Pooling kind) {
    const int64_t outer = prod(d, 0, a), inner = prod(d, b + 1, d.size());
    int64_t R = prod(d, a, b + 1);
    while (R > 1) {
      int64_t f = std::min<int64_t>(R, 255);
      while (R % f) --f;
      if (f == 1)
        unsupported(i, "a reduction over " + std::to_string(R) +
                           " elements, a prime above 255 (pooling windows have at most 255 rows)");
      const int64_t q = R / f;
      LayerAttrs at;
      at.kernel_h = f;
      if (kind == Pooling::Sum) at.pool_divisor = 1;
      const int v = view(i, data, Shape{outer * q, f, inner});
      data = emit_mid(i, kind == Pooling::Max ? OpKind::MaxPool : OpKind::AvgPool, {v}, Shape{outer * q, 1, inner}, at);
      R = q;
    }
    return view(i, data, Shape{outer, 1, inner});
  }
  // Pools over a set of axes of d (sorted, distinct): one pool_run per maximal run of
  // consecutive axes; d's reduced extents become 1.
  int pool_axes(int i, int data, std::vector<int64_t>& d, const std::vector<int64_t>& axes, Pooling kind) {
    for (std::size_t k = 0; k < axes.size();) {
      std::size_t e = k;
      while (e + 1 < axes.size() && axes[e + 1] == axes[e] + 1) ++e;
      const auto a = static_cast<std::size_t>(axes[k]), b = static_cast<std::size_t>(axes[e]);
      if (prod(d, a, b + 1) > 1) {
        data = pool_run(i, data, d, a, b, kind);
        for (std::size_t t = a; t <= b; ++t) d[t] = 1;
      }
      k = e + 1;
    }
    return data;
  }
  // The reduced axes of node i's input dims `full`, as per-sample axes (sorted, distinct).
  std::vector<int64_t> sample_axes(int i, const std::vector<int64_t>& full, std::vector<int64_t> axes) const {
    const int64_t r = static_cast<int64_t>(full.size());
    if (axes.empty())
      for (int64_t k = 0; k < r; ++k) axes.push_back(k);
    std::vector<int64_t> out;
    for (int64_t a : axes) {
      const int64_t k = a < 0 ? a + r : a;
      if (k < 0 || k >= r) bad(i, "axis " + std::to_string(a) + " is outside rank " + std::to_string(r));
      if (!flat_ && k == 0) {
        if (full[0] != 1) unsupported(i, "a reduction over the batch (dim 0 of " + dims_str(full) + ")");
        continue;  // batch 1: nothing to reduce
      }
      out.push_back(flat_ ? k : k - 1);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // ReduceMax/Min/Sum/Mean/SumSquare/L1/L2/LogSum/LogSumExp: an NFU-3 function or a product
  // before, max or sum pooling (Min: max of the negation), a function after.
  void reduce(int i, const NodeProto& n) {
    const std::string& op = n.op_type();
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value x = runtime_input(i, 0);
    std::vector<int64_t> axes;
    bool noop_empty = false;
    if (op == "ReduceSum" && opset_ >= 13) {
      if (has_input(n, 1)) axes = ints_of(i, const_input(i, 1, "axes"), "axes");
      noop_empty = attr_int(n, "noop_with_empty_axes", 0) != 0;
    } else {
      axes = attr_ints(n, "axes");
    }
    const bool keep = attr_int(n, "keepdims", 1) != 0;
    std::vector<int64_t> out_dims = x.dims;
    if (axes.empty() && noop_empty) {  // ONNX: the input unchanged
      emit(i, OpKind::Identity, {x.data}, x.dims);
      return;
    }
    std::vector<int64_t> d = sample_dims(i, x.dims);
    const std::vector<int64_t> red = sample_axes(i, x.dims, axes);
    {
      const int64_t r = static_cast<int64_t>(x.dims.size());
      std::vector<int64_t> full_axes = axes;
      if (full_axes.empty())
        for (int64_t k = 0; k < r; ++k) full_axes.push_back(k);
      for (auto& a : full_axes) a = a < 0 ? a + r : a;
      std::vector<int64_t> od;
      for (int64_t k = 0; k < r; ++k) {
        const bool reduced = std::count(full_axes.begin(), full_axes.end(), k) > 0;
        if (!reduced) od.push_back(x.dims[k]);
        else if (keep) od.push_back(1);
      }
      out_dims = od;
    }
    int data = x.data;
    Pooling kind = Pooling::Sum;
    isa::Activation after = isa::Activation::None;
    bool negate = false;
    if (op == "ReduceMax") {
      kind = Pooling::Max;
    } else if (op == "ReduceMin") {
      kind = Pooling::Max, negate = true;
    } else if (op == "ReduceMean") {
      kind = Pooling::Mean;
    } else if (op == "ReduceSumSquare" || op == "ReduceL2") {
      data = emit_mid(i, OpKind::Product, {data, data}, g_.tensor(data).shape);
      if (op == "ReduceL2") after = isa::Activation::Sqrt;
    } else if (op == "ReduceL1") {
      data = act_mid(i, data, isa::Activation::Abs);
    } else if (op == "ReduceLogSum") {
      after = isa::Activation::Log;
    } else if (op == "ReduceLogSumExp") {
      data = act_mid(i, data, isa::Activation::Exp);
      after = isa::Activation::Log;
    }
    if (negate) data = neg_mid(i, data);
    data = pool_axes(i, data, d, red, kind);
    if (negate) data = neg_mid(i, data);
    if (after != isa::Activation::None) data = act_mid(i, data, after);
    if (data == x.data) {  // nothing reduced (every axis of extent 1): still a layer of its own
      finish(i, emit_mid(i, OpKind::Identity, {data}, g_.tensor(data).shape), out_dims);
      return;
    }
    finish(i, data, out_dims);
  }

  // Softmax / LogSoftmax over the axis (opset 13) or over the axes from `axis` on (before 13, the
  // input coerced to 2-D), as a view [outer, R, inner]:
  //   m = max over R;  d = x - m (m broadcast along the rows);  e = exp(d);  s = sum over R of e;
  //   softmax = e * (1/s), logsoftmax = d - log(s), both broadcast along the rows.
  void softmax(int i, const NodeProto& n, bool log) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value x = runtime_input(i, 0);
    const int64_t r = static_cast<int64_t>(x.dims.size());
    int64_t axis = attr_int(n, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < -r || axis >= r) bad(i, "axis " + std::to_string(axis) + " is outside rank " + std::to_string(r));
    if (axis < 0) axis += r;
    std::vector<int64_t> axes;
    for (int64_t k = axis; k < (opset_ >= 13 ? axis + 1 : r); ++k) axes.push_back(k);
    std::vector<int64_t> d = sample_dims(i, x.dims);
    const std::vector<int64_t> red = sample_axes(i, x.dims, axes);
    if (red.empty() || prod(d, static_cast<std::size_t>(red.front()), static_cast<std::size_t>(red.back()) + 1) == 1) {
      // One element per softmax: 1 (log: 0). x - x keeps NaN and infinities as ONNX does.
      const int neg = neg_mid(i, x.data);
      const int zero = emit_mid(i, OpKind::Add, {x.data, neg}, g_.tensor(x.data).shape);
      finish(i, log ? zero : act_mid(i, zero, isa::Activation::Exp), x.dims);
      return;
    }
    const std::size_t a = static_cast<std::size_t>(red.front()), b = static_cast<std::size_t>(red.back());
    const Shape full{prod(d, 0, a), prod(d, a, b + 1), prod(d, b + 1, d.size())};
    const int xv = view(i, x.data, full);
    const int m = neg_mid(i, pool_run(i, xv, d, a, b, Pooling::Max));
    const int diff = emit_mid(i, OpKind::Add, {xv, m}, full);
    const int e = act_mid(i, diff, isa::Activation::Exp);
    const int s = pool_run(i, e, d, a, b, Pooling::Sum);
    if (log) {
      const int ls = neg_mid(i, act_mid(i, s, isa::Activation::Log));
      finish(i, emit_mid(i, OpKind::Add, {diff, ls}, full), x.dims);
    } else {
      finish(i, emit_mid(i, OpKind::Product, {e, act_mid(i, s, isa::Activation::Reciprocal)}, full), x.dims);
    }
  }

  // One axis of a Resize: the out x in matrix of weights that gives output o from the inputs, as
  // ONNX's reference computes it: the output's coordinate mapped back (coordinate transformation),
  // then the nearest input, two (linear) or four (cubic) neighbours with the edges replicated.
  std::vector<double> resize_matrix(int i, int64_t in, int64_t out, double scale, const std::string& ctm,
                                    const std::string& mode, const std::string& nearest, double A,
                                    bool exclude_outside) const {
    std::vector<double> m(static_cast<std::size_t>(out * in), 0.0);
    auto at = [&](int64_t o, int64_t k) -> double& { return m[static_cast<std::size_t>(o * in + k)]; };
    for (int64_t o = 0; o < out; ++o) {
      double x = 0;
      if (ctm == "half_pixel") x = (o + 0.5) / scale - 0.5;
      else if (ctm == "pytorch_half_pixel") x = out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
      else if (ctm == "align_corners")  // the resized length before flooring, as ONNX's reference
        x = out == 1 ? 0.0 : o * static_cast<double>(in - 1) / (scale * static_cast<double>(in) - 1);
      else if (ctm == "asymmetric") x = o / scale;
      else if (ctm == "tf_half_pixel_for_nn") x = (o + 0.5) / scale;
      else unsupported(i, "coordinate_transformation_mode " + ctm);
      if (mode == "nearest") {
        double k = 0;
        if (nearest == "round_prefer_floor") k = x == std::floor(x) + 0.5 ? std::floor(x) : std::round(x);
        else if (nearest == "round_prefer_ceil") k = std::round(x);
        else if (nearest == "floor") k = std::floor(x);
        else if (nearest == "ceil") k = std::ceil(x);
        else bad(i, "nearest_mode " + nearest);
        at(o, std::clamp<int64_t>(static_cast<int64_t>(k), 0, in - 1)) += 1.0;
        continue;
      }
      const double x0 = std::floor(x), r = x - x0;
      std::vector<std::pair<int64_t, double>> taps;
      if (mode == "linear") {
        taps = {{static_cast<int64_t>(x0), 1.0 - r}, {static_cast<int64_t>(x0) + 1, r}};
      } else if (mode == "cubic") {
        auto w = [&](double t) {  // Keys' cubic convolution with coefficient A
          t = std::fabs(t);
          if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
          if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
          return 0.0;
        };
        for (int64_t d = -1; d <= 2; ++d) taps.push_back({static_cast<int64_t>(x0) + d, w(r - d)});
      } else {
        unsupported(i, "mode " + mode);
      }
      double kept = 0;
      for (auto& [k, w] : taps) {
        if (exclude_outside && (k < 0 || k >= in)) w = 0;
        kept += w;
      }
      for (const auto& [k, w] : taps)
        at(o, std::clamp<int64_t>(k, 0, in - 1)) += exclude_outside && kept != 0 ? w / kept : w;
    }
    return m;
  }

  // Resize (opset 10 on) and Upsample (7 to 9) of the spatial axes of [N, C, H, W]: each axis is
  // a matrix product with constant weights (resize_matrix), so every mode (nearest, linear,
  // cubic) and coordinate transformation is two convolutions and a transpose:
  //   [1, C*H, W]  conv (1 x W kernel, W' filters)  ->  [W', C*H]   (x, c, y)
  //   [1, W'*C, H] conv (1 x H kernel, H' filters)  ->  [H', W'*C]  (y', x', c)
  //   transpose [H'*W', C] -> [C, H'*W']
  // The kernels are at most 255 wide (the COMPUTE's kw field).
  void resize(int i, const NodeProto& n) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value x = runtime_input(i, 0);
    if (x.dims.size() != 4) unsupported(i, "rank-" + std::to_string(x.dims.size()) + " input (4-D [N,C,H,W] only)");
    const bool legacy = n.op_type() == "Upsample" || opset_ < 11;  // Upsample's semantics
    std::string mode = attr_string(n, "mode", "nearest");
    std::string ctm = legacy ? "asymmetric" : attr_string(n, "coordinate_transformation_mode", "half_pixel");
    const std::string nearest = legacy ? "floor" : attr_string(n, "nearest_mode", "round_prefer_floor");
    const double A = legacy ? -0.75 : attr_float(n, "cubic_coeff_a", -0.75f);
    const bool exclude = !legacy && attr_int(n, "exclude_outside", 0) != 0;
    std::vector<double> scales;
    std::vector<int64_t> sizes;
    if (n.op_type() == "Upsample" && opset_ < 9) {
      for (float f : attr_floats(n, "scales")) scales.push_back(f);
    } else {
      const int scales_at = legacy ? 1 : 2;
      if (has_input(n, scales_at)) {
        for (double f : const_input(i, scales_at, "scales").as_floats()) scales.push_back(f);
      }
      if (scales.empty() && !legacy && has_input(n, 3)) sizes = ints_of(i, const_input(i, 3, "sizes"), "sizes");
    }
    if (scales.empty() && sizes.empty()) bad(i, "neither scales nor sizes");
    if (!scales.empty() && scales.size() != 4) bad(i, "scales " + std::to_string(scales.size()) + " values for rank 4");
    if (!sizes.empty() && sizes.size() != 4) bad(i, "sizes has " + std::to_string(sizes.size()) + " values for rank 4");
    std::vector<int64_t> out(4);
    std::vector<double> sc(4);
    constexpr int64_t kMaxExtent = 65535;  // an output axis (a conv's filter count here)
    for (std::size_t k = 0; k < 4; ++k) {
      if (!sizes.empty()) {
        if (sizes[k] < 1 || sizes[k] > kMaxExtent)
          bad(i, "sizes[" + std::to_string(k) + "] = " + std::to_string(sizes[k]) + " (1 to 65535)");
        out[k] = sizes[k];
        sc[k] = static_cast<double>(sizes[k]) / static_cast<double>(x.dims[k]);
      } else {
        const double e = static_cast<double>(x.dims[k]) * scales[k];
        if (!(scales[k] > 0) || !(e < kMaxExtent + 1.0))
          bad(i, "scales[" + std::to_string(k) + "] = " + std::to_string(scales[k]) +
                     " (positive, for an output extent up to 65535)");
        out[k] = static_cast<int64_t>(std::floor(e));
        sc[k] = scales[k];
      }
      if (out[k] < 1) bad(i, "an output extent of " + std::to_string(out[k]));
    }
    if (out[0] != x.dims[0] || out[1] != x.dims[1])
      unsupported(i, "resizing the batch or channel axis (" + dims_str(x.dims) + " -> " + dims_str(out) + ")");
    if (mode == "linear" || mode == "bilinear") mode = "linear";
    const int64_t C = x.dims[1], H = x.dims[2], W = x.dims[3], Ho = out[2], Wo = out[3];
    check_axis_lengths(i, H, W);
    const std::vector<double> mh = resize_matrix(i, H, Ho, sc[2], ctm, mode, nearest, A, exclude);
    const std::vector<double> mw = resize_matrix(i, W, Wo, sc[3], ctm, mode, nearest, A, exclude);
    finish(i, axis_matrices(i, x.data, C, H, W, mh, Ho, mw, Wo), out);
  }

  // out[c][y'][x'] = sum over y, x of mh[y'][y] mw[x'][x] in[c][y][x], for a [C, H, W] map: two
  // convs whose weights are the matrices, and a transpose back to [C, Ho, Wo] (see resize()).
  void check_axis_lengths(int i, int64_t H, int64_t W) const {
    if (H > 255 || W > 255)
      unsupported(i, "an input axis of " + std::to_string(std::max(H, W)) +
                         " elements (each output is a conv over the whole axis; kernels are at most 255 wide)");
  }
  int axis_matrices(int i, int data, int64_t C, int64_t H, int64_t W, const std::vector<double>& mh, int64_t Ho,
                    const std::vector<double>& mw, int64_t Wo) {
    check_axis_lengths(i, H, W);
    auto axis_conv = [&](int d, int64_t rows, int64_t len, int64_t len_out, const std::vector<double>& m) {
      LayerAttrs at;
      at.out_channels = len_out;
      at.kernel_w = len;
      const int o = emit_mid(i, OpKind::Conv, {view(i, d, Shape{1, rows, len})}, Shape{len_out, rows, 1}, at);
      g_.layer(g_.tensor(o).producer).weights.assign(m.begin(), m.end());
      return o;
    };
    data = axis_conv(data, C * H, W, Wo, mw);  // (x', c, y)
    data = axis_conv(data, Wo * C, H, Ho, mh);  // (y', x', c)
    if (C == 1) return view(i, data, Shape{1, Ho, Wo});  // already (y', x')
    LayerAttrs tr;
    tr.perm_in = {Ho * Wo, C};
    tr.perm = {1, 0};
    tr.reshape_to = Shape{C, Ho, Wo};
    return emit_mid(i, OpKind::Transpose, {data}, tr.reshape_to, tr);
  }

  // ConvTranspose of [N, C, H, W] or [N, C, L]: the equivalent direct convolution of the input
  // with s - 1 zeros inserted between its elements and d (k - 1) - pad rows and columns of zeros
  // around it (plus output_padding at the end), by the kernel flipped and with its in and out
  // channels swapped (per group). The zero insertion and padding are a 0/1 matrix per axis
  // (axis_matrices), so the conv itself needs no padding; it multiplies the inserted zeros, as a
  // DianNao without a scatter unit would.
  void conv_transpose(int i, const NodeProto& n) {
    const Value& x = spatial_input(i);
    const ConstTensor& Wt = const_input(i, 1, "weights");
    const std::size_t sp = x.dims.size() - 2;  // spatial dims: 1 or 2
    if (Wt.dims.size() != x.dims.size())
      bad(i, "weights " + dims_str(Wt.dims) + " do not match input " + dims_str(x.dims));
    const int64_t group = attr_int(n, "group", 1), C = x.dims[1];
    if (group < 1 || C % group || Wt.dims[0] != C)
      bad(i, "weights " + dims_str(Wt.dims) + " with group " + std::to_string(group) + " do not fit " +
                 std::to_string(C) + " input channels");
    const int64_t M = Wt.dims[1] * group;  // output channels
    auto per_axis = [&](const char* name, int64_t def) {
      std::vector<int64_t> v = attr_ints(n, name);
      if (v.empty()) v.assign(sp, def);
      if (v.size() != sp) bad(i, std::string(name) + " " + dims_str(v) + " does not fit rank " + std::to_string(x.dims.size()));
      return v;
    };
    const std::vector<int64_t> strides = per_axis("strides", 1), dil = per_axis("dilations", 1),
                               outpad = per_axis("output_padding", 0);
    std::vector<int64_t> kernel(Wt.dims.begin() + 2, Wt.dims.end());
    const auto ks = attr_ints(n, "kernel_shape");
    if (!ks.empty() && ks != kernel) bad(i, "kernel_shape " + dims_str(ks) + " differs from the weights " + dims_str(Wt.dims));
    std::vector<int64_t> pads = attr_ints(n, "pads");
    if (pads.empty()) pads.assign(2 * sp, 0);
    if (pads.size() != 2 * sp) bad(i, "pads " + dims_str(pads) + " does not fit rank " + std::to_string(x.dims.size()));
    const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
    std::vector<int64_t> out_shape = attr_ints(n, "output_shape");
    if (out_shape.size() == sp + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    if (out_shape.empty() && (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER"))
      for (std::size_t k = 0; k < sp; ++k) out_shape.push_back(x.dims[2 + k] * strides[k]);
    if (auto_pad == "VALID") std::fill(pads.begin(), pads.end(), 0);
    check_axis_lengths(i, sp == 2 ? x.dims[2] : 1, x.dims.back());
    auto in_range = [&](const std::vector<int64_t>& v, int64_t lo, const char* what) {
      for (int64_t e : v)
        if (e < lo || e > 255) bad(i, std::string(what) + " " + dims_str(v) + " (" + std::to_string(lo) + " to 255)");
    };
    in_range(strides, 1, "strides");
    in_range(dil, 1, "dilations");
    in_range(outpad, 0, "output_padding");
    in_range(pads, 0, "pads");
    in_range(kernel, 1, "kernel");
    for (int64_t e : out_shape)
      if (e < 1 || e > 65535) bad(i, "output_shape " + dims_str(out_shape) + " (1 to 65535)");
    for (std::size_t k = 0; k < sp; ++k) {
      if (strides[k] < 1 || dil[k] < 1 || outpad[k] < 0 || pads[k] < 0 || pads[k + sp] < 0)
        bad(i, "strides and dilations must be positive, pads and output_padding not negative");
      if (!out_shape.empty()) {
        if (out_shape.size() != sp) bad(i, "output_shape " + dims_str(out_shape) + " does not fit the input");
        const int64_t total =
            strides[k] * (x.dims[2 + k] - 1) + outpad[k] + (kernel[k] - 1) * dil[k] + 1 - out_shape[k];
        // (ONNX's rule with floor division: a larger output_shape pads with negative pads, i.e.
        // more zeros after the insertion)
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        const bool upper = auto_pad == "SAME_UPPER";
        pads[k] = upper ? half : total - half;
        pads[k + sp] = upper ? total - half : half;
      }
    }
    // Per axis: the zero-inserted, padded length, and the 0/1 matrix that makes it.
    std::vector<int64_t> out_dims = {x.dims[0], M};
    std::vector<std::vector<double>> mats;
    std::vector<int64_t> lens_in, lens_mid;
    for (std::size_t k = 0; k < sp; ++k) {
      const int64_t L = x.dims[2 + k], s = strides[k], before = dil[k] * (kernel[k] - 1) - pads[k],
                    after = dil[k] * (kernel[k] - 1) - pads[k + sp] + outpad[k];
      if (before < 0 || after < 0)
        unsupported(i, "pads larger than the dilated kernel (" + dims_str(pads) + "; the direct convolution would crop)");
      const int64_t mid = before + s * (L - 1) + 1 + after;
      if (mid > 65535) unsupported(i, "an axis of " + std::to_string(mid) + " elements after the zero insertion (at most 65535)");
      std::vector<double> m(static_cast<std::size_t>(mid * L), 0.0);
      for (int64_t y = 0; y < L; ++y) m[static_cast<std::size_t>((before + s * y) * L + y)] = 1.0;
      mats.push_back(std::move(m));
      lens_in.push_back(L);
      lens_mid.push_back(mid);
      out_dims.push_back(mid - dil[k] * (kernel[k] - 1));
    }
    if (sp == 1) {  // [C, 1, L]: the row axis is the identity
      mats.insert(mats.begin(), std::vector<double>{1.0});
      lens_in.insert(lens_in.begin(), 1);
      lens_mid.insert(lens_mid.begin(), 1);
      kernel.insert(kernel.begin(), 1);
    }
    const int spread = axis_matrices(i, x.data, C, lens_in[0], lens_in[1], mats[0], lens_mid[0], mats[1], lens_mid[1]);
    // The flipped kernel with in/out swapped per group: w'[g*Mg + m][c][kh-1-a][kw-1-b] = W[g*Cg + c][m][a][b].
    const int64_t Cg = C / group, Mg = M / group, KH = kernel[0], KW = kernel[1];
    const std::vector<float> wsrc = Wt.as_floats();
    std::vector<float> w(static_cast<std::size_t>(M * Cg * KH * KW));
    for (int64_t g = 0; g < group; ++g)
      for (int64_t m = 0; m < Mg; ++m)
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t a = 0; a < KH; ++a)
            for (int64_t b = 0; b < KW; ++b)
              w[static_cast<std::size_t>((((g * Mg + m) * Cg + c) * KH + (KH - 1 - a)) * KW + (KW - 1 - b))] =
                  wsrc[static_cast<std::size_t>((((g * Cg + c) * Mg + m) * KH + a) * KW + b)];
    LayerAttrs a;
    a.out_channels = M;
    a.groups = group;
    a.kernel_h = KH, a.kernel_w = KW;
    a.dil_h = sp == 1 ? 1 : dil[0], a.dil_w = dil[sp - 1];
    std::vector<float> bias;
    if (has_input(n, 2)) {
      bias = const_input(i, 2, "bias").as_floats();
      if (static_cast<int64_t>(bias.size()) != M)
        bad(i, "bias has " + std::to_string(bias.size()) + " values for " + std::to_string(M) + " outputs");
      a.has_bias = true;
    }
    const Shape conv_out{M, lens_mid[0] - (a.dil_h * (KH - 1)), lens_mid[1] - a.dil_w * (KW - 1)};
    const int y = emit_mid(i, OpKind::Conv, {spread}, conv_out, a);
    LayerNode& l = g_.layer(g_.tensor(y).producer);
    l.weights = std::move(w);
    l.bias = std::move(bias);
    finish(i, y, out_dims);
  }

  // LRN across channels: x / (bias + alpha/size * sum of x^2 over `size` channels)^beta. The
  // channel window is a pooling window on the view [1, C, H*W] (channels as rows) with
  // (size-1)/2 rows of zero padding before and size/2 after, averaging over `size` (count_include_pad):
  // exactly the alpha/size sum. The power is exp(-beta * log(.)) on NFU-3.
  void lrn(int i, const NodeProto& n) {
    const Value& x = spatial_input(i);
    const Shape s = chw(i, x.dims);
    const int64_t size = attr_int(n, "size", 0);
    const float alpha = attr_float(n, "alpha", 1e-4f), beta = attr_float(n, "beta", 0.75f),
                bias = attr_float(n, "bias", 1.0f);
    if (size < 1) bad(i, "size " + std::to_string(size));
    if ((size - 1) / 2 > 15 || size / 2 > 15) unsupported(i, "size " + std::to_string(size) + " (pads up to 15)");
    const int sq = emit_mid(i, OpKind::Product, {x.data, x.data}, s);
    LayerAttrs p;
    p.kernel_h = size;
    p.pad_top = (size - 1) / 2, p.pad_bottom = size / 2;
    const Shape rows{1, s.c, s.h * s.w};
    const int mean = emit_mid(i, OpKind::AvgPool, {view(i, sq, rows)}, rows, p);
    const int base = affine_mid(i, view(i, mean, s), alpha, bias, isa::Activation::Log);
    const int scale = act_mid(i, affine_mid(i, base, -beta, 0.0f), isa::Activation::Exp);
    finish(i, emit_mid(i, OpKind::Product, {x.data, scale}, s), x.dims);
  }

  // x * scale + shift per channel (a batch norm of unit variance; a depthwise 1x1 conv after
  // canonicalization), with NFU-3's `act` after it.
  int affine_mid(int i, int data, float scale, float shift, isa::Activation act = isa::Activation::None) {
    const Shape s = g_.tensor(data).shape;
    LayerAttrs at;
    at.bn_eps = 0;
    at.act = act;
    const int out = emit_mid(i, OpKind::BatchNorm, {data}, s, at);
    LayerNode& bn = g_.layer(g_.tensor(out).producer);
    const std::size_t C = static_cast<std::size_t>(s.c);
    bn.bn_gamma.assign(C, scale), bn.bn_beta.assign(C, shift), bn.bn_mean.assign(C, 0.0f), bn.bn_var.assign(C, 1.0f);
    return out;
  }

  // Clip to [lo, hi] other than ReLU/ReLU6, with ReLU and shifts: max(x, lo) = relu(x - lo) + lo
  // and min(y, hi) = hi - relu(hi - y), the middle shift and negation merged: three depthwise 1x1
  // layers (two with one bound).
  void clip(int i, float lo, float hi) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value x = runtime_input(i, 0);
    if (lo > hi) bad(i, "min " + std::to_string(lo) + " is above max " + std::to_string(hi));
    const bool has_lo = lo > -FLT_MAX, has_hi = hi < FLT_MAX;
    int data = x.data;
    if (has_lo && has_hi) {
      data = affine_mid(i, data, 1.0f, -lo, isa::Activation::Relu);        // relu(x - lo)
      data = affine_mid(i, data, -1.0f, hi - lo, isa::Activation::Relu);   // relu(hi - max(x, lo))
      data = affine_mid(i, data, -1.0f, hi);                               // hi - that
    } else if (has_lo) {
      data = affine_mid(i, affine_mid(i, data, 1.0f, -lo, isa::Activation::Relu), 1.0f, lo);
    } else {
      data = affine_mid(i, affine_mid(i, data, -1.0f, hi, isa::Activation::Relu), -1.0f, hi);
    }
    finish(i, data, x.dims);
  }

  // x / (1 + |x|).
  void softsign(int i, const NodeProto&) {
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value x = runtime_input(i, 0);
    const Shape s = g_.tensor(x.data).shape;
    const int one = affine_mid(i, act_mid(i, x.data, isa::Activation::Abs), 1.0f, 1.0f);
    finish(i, emit_mid(i, OpKind::Product, {x.data, act_mid(i, one, isa::Activation::Reciprocal)}, s), x.dims);
  }

  // Add, Sub, Mul, Div of two runtime tensors. ONNX broadcasting where one operand has the
  // output's dims and the other's dims, right-aligned, are 1 or the output's: the output's dims
  // are grouped into at most three runs (C, H, W of a view) along which the other operand is
  // either whole or broadcast, broadcast only along C and H (the DMA reads it with a zero channel
  // or row stride). Sub is an add of the negation, Div a product with the reciprocal (NFU-3).
  void runtime_binary(int i, constfold::Binary kind) {
    using constfold::Binary;
    Value xa = runtime_input(i, 0);
    Value xb = runtime_input(i, 1);
    // An expanded operand broadcasts from its own dims; the result must still have the Expand's.
    std::vector<int64_t> want;
    for (const Value* v : {&xa, &xb})
      if (v->dims.size() > want.size()) want = v->dims;
    for (Value* v : {&xa, &xb})
      if (!v->expanded_from.empty()) v->dims = v->expanded_from;
    const std::size_t r = std::max(xa.dims.size(), xb.dims.size());
    std::vector<int64_t> da(r - xa.dims.size(), 1), db(r - xb.dims.size(), 1), out(r);
    da.insert(da.end(), xa.dims.begin(), xa.dims.end());
    db.insert(db.end(), xb.dims.begin(), xb.dims.end());
    for (std::size_t k = 0; k < r; ++k) {
      if (da[k] != db[k] && da[k] != 1 && db[k] != 1)
        bad(i, "shapes " + dims_str(xa.dims) + " and " + dims_str(xb.dims) + " do not broadcast");
      out[k] = std::max(da[k], db[k]);
    }
    {
      std::vector<int64_t> full = want;  // the dims ONNX gives the result
      const Value& a0 = runtime_input(i, 0);
      const Value& b0 = runtime_input(i, 1);
      const std::size_t rr = std::max(a0.dims.size(), b0.dims.size());
      full.assign(rr, 1);
      for (std::size_t k = 0; k < rr; ++k) {
        const int64_t x = k + a0.dims.size() >= rr ? a0.dims[k + a0.dims.size() - rr] : 1;
        const int64_t y = k + b0.dims.size() >= rr ? b0.dims[k + b0.dims.size() - rr] : 1;
        full[k] = std::max(x, y);
      }
      if (full != out)
        unsupported(i, "an Expand to " + dims_str(full) + " that its operands alone do not broadcast to");
    }
    const bool a_full = da == out, b_full = db == out;
    if (!a_full && !b_full)
      unsupported(i, "broadcast of " + dims_str(xa.dims) + " and " + dims_str(xb.dims) +
                         " (one operand must have the output's shape)");
    // The second operand of the NFU op is the one that may broadcast; Sub and Div transform the
    // divisor or subtrahend first, so either order works.
    int first = xa.data, second = xb.data;
    if (kind == Binary::Sub) second = neg_mid(i, second);
    if (kind == Binary::Div) second = act_mid(i, second, isa::Activation::Reciprocal);
    const std::vector<int64_t> dsmall = b_full ? da : db;
    if (b_full && !a_full) std::swap(first, second);  // a broadcasts: it goes second
    const bool add = kind == Binary::Add || kind == Binary::Sub;
    if (a_full && b_full) {
      emit(i, add ? OpKind::Add : OpKind::Product, {first, second}, out);
      return;
    }
    if (!flat_ && dsmall[0] != out[0])
      unsupported(i, "broadcast over the batch (" + dims_str(xa.dims) + " and " + dims_str(xb.dims) + ")");
    // Runs of the per-sample dims: 'b' where the small operand broadcasts, 'f' where it is whole.
    const std::size_t lead = flat_ ? 0 : 1;
    std::vector<std::pair<char, int64_t>> runs;
    for (std::size_t k = lead; k < r; ++k) {
      if (out[k] == 1) continue;
      const char t = dsmall[k] == 1 ? 'b' : 'f';
      if (!runs.empty() && runs.back().first == t) runs.back().second *= out[k];
      else runs.push_back({t, out[k]});
    }
    Shape full{1, 1, 1}, small{1, 1, 1};
    std::string pat;
    for (const auto& [t, e] : runs) pat += t;
    auto at = [&](std::size_t k) { return runs[k].second; };
    if (pat == "b") {
      full = {1, at(0), 1}, small = {1, 1, 1};
    } else if (pat == "bf") {
      full = {at(0), 1, at(1)}, small = {1, 1, at(1)};
    } else if (pat == "fb") {
      full = {at(0), at(1), 1}, small = {at(0), 1, 1};
    } else if (pat == "fbf") {
      full = {at(0), at(1), at(2)}, small = {at(0), 1, at(2)};
    } else {
      pat.clear();
    }
    if (pat.empty())
      unsupported(i, "broadcast of " + dims_str(xa.dims) + " and " + dims_str(xb.dims) +
                         " (the NFU broadcasts along leading and middle dims only, with the last dims whole)");
    const int fv = view(i, first, full), sv = view(i, second, small);
    finish(i, emit_mid(i, add ? OpKind::Add : OpKind::Product, {fv, sv}, full), out);
  }

  void batchnorm(int i, const NodeProto& n) {
    if (attr_int(n, "training_mode", 0) != 0) unsupported(i, "training_mode=1");
    for (int k = 1; k < n.output_size(); ++k)
      if (!n.output(k).empty()) unsupported(i, "running statistics outputs (training)");
    if (opset_ < 9 && attr_int(n, "spatial", 1) == 0) unsupported(i, "spatial=0");
    const Value& v = input(i, 0);
    if (v.is_const) unsupported(i, "on a constant input");
    const Value& x = runtime_input(i, 0);
    chw(i, x.dims);
    const int64_t C = x.dims[1];
    auto param = [&](int k, const char* role) {
      std::vector<float> p = const_input(i, k, role).as_floats();
      if (static_cast<int64_t>(p.size()) != C)
        bad(i, std::string(role) + " has " + std::to_string(p.size()) + " values for " + std::to_string(C) +
                   " channels");
      return p;
    };
    LayerAttrs a;
    a.bn_eps = attr_float(n, "epsilon", 1e-5f);
    LayerNode& l = emit(i, OpKind::BatchNorm, {x.data}, x.dims, a);
    l.bn_gamma = param(1, "scale");
    l.bn_beta = param(2, "B");
    l.bn_mean = param(3, "mean");
    l.bn_var = param(4, "var");
  }

  std::string path_, file_, base_dir_;
  OnnxImportOptions opt_;
  onnx::ModelProto model_;
  int64_t opset_ = 0;
  bool flat_ = false;  // an element-wise graph on a tensor [N,C,H,W] does not need (elementwise_graph)
  Graph g_;
  std::unordered_map<std::string, Value> values_;
  std::set<std::string> used_names_;
  int mid_count_ = 0;  // intermediate tensors of lowerings (emit_mid)
  std::map<int, std::pair<Shape, int>> onnx_shapes_;  // data id -> (ONNX shape, node index)
};

}  // namespace

Graph import_onnx(const std::string& path, const OnnxImportOptions& opt) {
  return OnnxImporter(path, opt).run();
}

Graph import_onnx(const std::string& path) { return import_onnx(path, OnnxImportOptions{}); }

}  // namespace fusesim::compiler
