// The compiler's graph: layer nodes (an op and its attributes) and data nodes (tensors with a
// shape, a producer, consumers and a placement). Tensors are C x H x W per sample; the graph's
// batch says how many samples one run carries (each tensor holds them one after another).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "isa/isa.h"

namespace fusesim::compiler {

// Size limits that the front ends and shape inference enforce (models/README.md, "Limits").
// A tensor or a layer's weight array holds at most kMaxTensorElems elements: 4 GiB as int16,
// the whole 32-bit DRAM address space. Kernel, stride, dilation and padding are at most
// kMaxWindowAttr (which keeps every window computation inside int64), and a layer does at
// most kMaxLayerMacs multiply-accumulates (2^48, about 10^4 times VGG16's total).
constexpr int64_t kMaxTensorElems = int64_t{1} << 31;
constexpr int64_t kMaxWindowAttr = int64_t{1} << 24;
constexpr int64_t kMaxLayerMacs = int64_t{1} << 48;
// Samples per run (--batch, the model's `batch:`, ONNX's dim 0): at most kMaxBatch, a limit far
// past any batch an inference accelerator runs (the DRAM image check bounds it further).
constexpr int64_t kMaxBatch = 4096;
// Why `n` is not a valid batch ("" when it is): 1 <= n <= kMaxBatch. Inline: the sweep spec
// checker uses it without linking the compiler.
inline std::string batch_problem(int64_t n) {
  if (n < 1) return "the batch must be >= 1, got " + std::to_string(n);
  if (n > kMaxBatch)
    return "the batch must be <= " + std::to_string(kMaxBatch) + ", got " + std::to_string(n);
  return "";
}
// The same for a batch written as text (--batch, the sweep key `batch`): a plain integer.
// Sets `out` when valid.
inline std::string batch_text_problem(const std::string& text, int64_t& out) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) return "expected an integer batch, got '" + text + "'";
  std::string why = batch_problem(v);
  if (why.empty()) out = v;
  return why;
}

// a * b for non-negative operands; false (and `out` untouched) when it does not fit int64.
bool checked_mul(int64_t a, int64_t b, int64_t& out);

struct Shape {
  int64_t c = 0, h = 1, w = 1;
  int64_t elems() const { return c * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
  std::string str() const;
  // Why this is not a valid tensor shape ("" when it is): every dimension >= 1 and at most
  // kMaxTensorElems elements in all, computed without overflow.
  std::string problem() const;
};

enum class OpKind {
  Input,
  Conv,            // grouped/depthwise via groups; BatchNorm, bias and activation fold into it
  FullyConnected,  // flattens its input (C*H*W)
  MaxPool,
  AvgPool,
  GlobalAvgPool,
  BatchNorm,       // inference; canonicalization folds it into the producing conv
  Activation,      // standalone; canonicalization merges it into the producer's NFU-3
  Add,             // element-wise, two inputs
  Product,         // element-wise product of two tensors of one shape (an LSTM's gating)
  Mul,             // per-channel constant scale (weights hold C factors)
  Concat,          // along channels
  Flatten,
  Reshape,
  Identity,
  Dropout,
  ChannelShuffle,  // out channel j <- in channel (j % groups) * (C / groups) + j / groups
  ChannelSlice,    // channels [slice_start, slice_start + slice_count) of its input (a split)
  Transpose,       // a permutation of one sample's row-major dims (perm_in, perm): DMA gathers
};
const char* op_kind_name(OpKind k);

// Whether an Add/Product operand of shape b broadcasts to the output shape out: the same
// shape, or 1 channel and/or 1 row where out has more (the width is always the same).
inline bool broadcasts_to(const Shape& b, const Shape& out) {
  return (b.c == out.c || b.c == 1) && (b.h == out.h || b.h == 1) && b.w == out.w;
}

struct LayerAttrs {
  int64_t out_channels = 0;  // Conv, FullyConnected
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;          // Conv groups; ChannelShuffle groups
  bool ceil_mode = false;      // pools
  bool count_include_pad = true;  // AvgPool
  int64_t pool_divisor = 0;       // AvgPool: 0 divides by the window (kh*kw); 1 to 255 by this (1: a sum)
  bool has_bias = false;
  isa::Activation act = isa::Activation::None;  // the op of an Activation node, or the fused NFU-3 stage
  float bn_eps = 1e-5f;
  Shape reshape_to;            // Reshape: target shape (c, h, w)
  int64_t slice_start = 0, slice_count = 0;  // ChannelSlice: the channel range it keeps
  bool concat_rows = false;
  bool slice_rows = false;   // ChannelSlice: rows [slice_start, slice_start + slice_count) of every channel  // Concat: stack the inputs' rows (equal channels and width), not their channels
  // Transpose: one sample's input as row-major dims perm_in (1 to 4 of them), and the order of
  // the output's dims: output dim j is input dim perm[j]. The output's map is reshape_to.
  std::vector<int64_t> perm_in, perm;
};

struct LayerNode {
  int id = -1;
  std::string name;
  OpKind op = OpKind::Identity;
  LayerAttrs attrs;
  std::vector<int> inputs;  // data node ids
  int output = -1;          // data node id
  // Parameters, as float; quantized by codegen and the reference executor alike. Empty
  // vectors mean "not materialized yet": they are generated from the graph's seed and the layer
  // name only when numbers are needed (functional runs), so timing runs and inspect stay cheap.
  // Conv: [out_channels][in_channels/groups][kh][kw]; FullyConnected: [out][in]; Mul: [C].
  std::vector<float> weights, bias;
  std::vector<float> bn_gamma, bn_beta, bn_mean, bn_var;  // BatchNorm
  std::string origin;      // where it was defined ("file:line:col" or ONNX node name)
  bool removed = false;    // set by passes that delete a layer
  // Generated weights (materialize.cpp) are not stored: `weights` stays empty and element k is
  // worked out on demand (weights_run), so a functional run never holds a float copy of every
  // weight. Element k is lo + (hi - lo) * u_k, u_k the k-th value of a SplitMix64 stream from
  // `state`, then times each of `scales` (per output channel: batch norms folded in) in turn.
  struct WeightGen {
    bool on = false;
    uint64_t state = 0;
    float lo = 0, hi = 0;
    std::vector<std::vector<float>> scales;
  } gen;
  // Conv/fc: this layer uses the weights and bias of layer `weights_of` (-1: its own). The time
  // steps of an unrolled recurrent layer share one weight matrix: materialized once, stored once
  // in DRAM (when the tiles agree), counted once in the parameters.
  int weights_of = -1;
};

struct DataNode {
  int id = -1;
  std::string name;
  Shape shape;
  int producer = -1;           // layer id; -1 for the network input or a constant
  std::vector<int> consumers;  // layer ids
  // Placement, set by layer elimination and memory planning
  int alias_of = -1;           // this tensor is a view of another data node...
  int64_t channel_offset = 0;  // ...starting at this channel (concat and channel slices)
  bool on_chip = false;        // kept on chip inside a fused group
  int64_t dram_addr = -1;
  // A constant tensor (no producer): in DRAM before the run, like the weights. A recurrent
  // layer's initial state (recurrent.h) is one. `values` holds one sample's elements (every
  // sample of a batch starts from them); empty until materialize_weights generates them from
  // the seed and the tensor's name (or a frontend gives them).
  bool constant = false;
  std::vector<float> values;
};

// Weights [k0, k0 + n) of a conv/fc/mul layer into out: stored, or generated (LayerNode::gen).
// `per_co`: weights per output channel (for folded scales).
inline void weights_run(const LayerNode& l, std::size_t k0, std::size_t n, std::size_t per_co, float* out) {
  if (!l.gen.on) {
    std::copy(l.weights.begin() + static_cast<std::ptrdiff_t>(k0), l.weights.begin() + static_cast<std::ptrdiff_t>(k0 + n), out);
    return;
  }
  // the SplitMix64 stream's values k0.. (materialize.cpp's Rng adds the increment, then mixes);
  // u64 -> float rounds as u64 -> double -> float does (the double is exact), and scaling by
  // 2^-53 is exact: the same floats as Rng::uniform
  const float lo = l.gen.lo, span = l.gen.hi - l.gen.lo;
  uint64_t s = l.gen.state + static_cast<uint64_t>(k0) * 0x9E3779B97F4A7C15ull;
  for (std::size_t j = 0; j < n; ++j) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    // (z >> 11 < 2^53: the signed conversion is one instruction and gives the same float)
    out[j] = lo + span * (static_cast<float>(static_cast<int64_t>(z >> 11)) * 0x1.0p-53f);
  }
  for (const std::vector<float>& sc : l.gen.scales)
    for (std::size_t j = 0; j < n; ++j) out[j] *= sc[(k0 + j) / per_co];
}
// Whether a layer's n weights are there to read (generated, or all n stored).
bool weights_ready(const LayerNode& l, std::size_t n);
// Stores a generated layer's weights (for code that needs the vector, e.g. the reference).
void store_weights(LayerNode& l, std::size_t n, std::size_t per_co);

class Graph {
 public:
  std::string name;
  uint64_t seed = 1;          // for generated weights and inputs
  int64_t batch = 1;          // samples per run; every tensor holds `batch` C x H x W samples
  // NFU-3's interpolation segments (arch nfu.pwl_segments), set by compile(): the reference
  // executor interpolates with the same table as the hw model.
  uint32_t nfu_pwl_segments = 16;
  // Every layer is element-wise (an ONNX graph of activations and scalar arithmetic): the input
  // may be any rank and batch, laid out as one map (docs/onnx.md).
  bool layout_free = false;
  // The input is a time-major sequence (an ONNX LSTM's X, [seq_length, batch 1, input_size]):
  // its dim 0 is time, not the batch (docs/recurrent.md).
  bool time_major_input = false;
  std::vector<LayerNode> layers;
  std::vector<DataNode> data;
  int input = -1;             // data node id of the network input
  std::vector<int> outputs;   // data node ids of the network outputs

  int add_data(const std::string& name, Shape shape = {});
  // Adds a constant tensor (DataNode::constant) with these values (empty: generated).
  int add_constant(const std::string& name, Shape shape, std::vector<float> values = {});
  // Adds a layer reading `inputs` and creating a new data node named `out_name`.
  int add_layer(const std::string& name, OpKind op, const std::vector<int>& inputs,
                const std::string& out_name, LayerAttrs attrs = {});
  LayerNode& layer(int id) { return layers.at(id); }
  const LayerNode& layer(int id) const { return layers.at(id); }
  DataNode& tensor(int id) { return data.at(id); }
  const DataNode& tensor(int id) const { return data.at(id); }
  bool is_output(int data_id) const;  // a network output
  // Live layers in a topological order (stable: definition order where free).
  std::vector<int> topo_order() const;
  // Removes layer `id`, making its consumers read `replacement` instead of its output.
  void bypass(int id, int replacement);
  // Multiply-accumulates of Conv and FullyConnected (0 for other ops), from shapes: per sample.
  int64_t layer_macs(int id) const;
  // Every weight and bias; BatchNorm counts gamma and beta (as torch's parameters()).
  int64_t layer_params(int id) const;
  int64_t total_macs() const;
  int64_t total_params() const;
};

}  // namespace fusesim::compiler
