// Graph construction and queries.
#include "graph.h"

#include <algorithm>
#include <queue>
#include <stdexcept>

namespace fusesim::compiler {

bool checked_mul(int64_t a, int64_t b, int64_t& out) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return false;
  out = r;
  return true;
}

std::string Shape::problem() const {
  if (c < 1 || h < 1 || w < 1) return "dimensions must be >= 1, got " + str();
  int64_t n = 0;
  if (!checked_mul(c, h, n) || !checked_mul(n, w, n) || n > kMaxTensorElems)
    return "shape " + str() + " has more than 2^31 elements (the limit of a tensor)";
  return "";
}

std::string Shape::str() const {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::Input: return "input";
    case OpKind::Conv: return "conv";
    case OpKind::FullyConnected: return "fc";
    case OpKind::MaxPool: return "maxpool";
    case OpKind::AvgPool: return "avgpool";
    case OpKind::GlobalAvgPool: return "global_avgpool";
    case OpKind::BatchNorm: return "batchnorm";
    case OpKind::Activation: return "activation";
    case OpKind::Add: return "add";
    case OpKind::Product: return "product";
    case OpKind::Mul: return "mul";
    case OpKind::Concat: return "concat";
    case OpKind::Flatten: return "flatten";
    case OpKind::Reshape: return "reshape";
    case OpKind::Identity: return "identity";
    case OpKind::Dropout: return "dropout";
    case OpKind::ChannelShuffle: return "channel_shuffle";
    case OpKind::Transpose: return "transpose";
    case OpKind::ChannelSlice: return "channel_slice";
  }
  return "?";
}

namespace {
int64_t weight_count(const Graph& g, const LayerNode& l) {
  const Shape& in = g.tensor(l.inputs.at(0)).shape;
  const LayerAttrs& a = l.attrs;
  switch (l.op) {
    case OpKind::Conv: return a.out_channels * (in.c / a.groups) * a.kernel_h * a.kernel_w;
    case OpKind::FullyConnected: return a.out_channels * in.elems();
    case OpKind::Mul: return in.c;
    default: return 0;
  }
}
}  // namespace

int64_t Graph::layer_macs(int id) const {
  const LayerNode& l = layer(id);
  if (l.op == OpKind::Conv) {
    const Shape& out = tensor(l.output).shape;
    return weight_count(*this, l) * out.h * out.w;
  }
  if (l.op == OpKind::FullyConnected) return weight_count(*this, l);
  return 0;
}

int64_t Graph::layer_params(int id) const {
  const LayerNode& l = layer(id);
  if (l.op == OpKind::BatchNorm) return 2 * tensor(l.inputs.at(0)).shape.c;
  if (l.weights_of >= 0) return 0;  // shared: counted with their owner
  int64_t bias = (l.op == OpKind::Conv || l.op == OpKind::FullyConnected) && l.attrs.has_bias ? l.attrs.out_channels : 0;
  return weight_count(*this, l) + bias;
}

bool weights_ready(const LayerNode& l, std::size_t n) { return l.gen.on || l.weights.size() == n; }

void store_weights(LayerNode& l, std::size_t n, std::size_t per_co) {
  if (!l.gen.on) return;
  std::vector<float> v(n);
  weights_run(l, 0, n, per_co, v.data());
  l.weights = std::move(v);
  l.gen = {};
}

int Graph::add_data(const std::string& n, Shape shape) {
  DataNode d;
  d.id = static_cast<int>(data.size());
  d.name = n;
  d.shape = shape;
  data.push_back(d);
  return d.id;
}

int Graph::add_constant(const std::string& n, Shape shape, std::vector<float> values) {
  const int id = add_data(n, shape);
  data[static_cast<std::size_t>(id)].constant = true;
  data[static_cast<std::size_t>(id)].values = std::move(values);
  return id;
}

int Graph::add_layer(const std::string& n, OpKind op, const std::vector<int>& inputs,
                     const std::string& out_name, LayerAttrs attrs) {
  LayerNode l;
  l.id = static_cast<int>(layers.size());
  l.name = n;
  l.op = op;
  l.attrs = attrs;
  l.inputs = inputs;
  l.output = add_data(out_name);
  data[l.output].producer = l.id;
  for (int in : inputs) data.at(in).consumers.push_back(l.id);
  layers.push_back(std::move(l));
  return layers.back().id;
}

std::vector<int> Graph::topo_order() const {
  // Kahn's algorithm with a min-heap on the id: definition order wherever the graph allows.
  // Removed layers (eliminated aliases, folded layers) still carry their edges: a live layer
  // depends on the live layers found by walking up through removed ones.
  const std::size_t n = layers.size();
  std::vector<std::vector<int>> preds(n);
  for (const auto& l : layers) {
    if (l.removed) continue;
    std::vector<int> stack(l.inputs.begin(), l.inputs.end()), seen;
    while (!stack.empty()) {
      const int d = stack.back();
      stack.pop_back();
      if (std::find(seen.begin(), seen.end(), d) != seen.end()) continue;
      seen.push_back(d);
      const int p = data.at(d).producer;
      if (p < 0) continue;
      if (!layers[p].removed) {
        if (std::find(preds[l.id].begin(), preds[l.id].end(), p) == preds[l.id].end()) preds[l.id].push_back(p);
      } else {
        stack.insert(stack.end(), layers[p].inputs.begin(), layers[p].inputs.end());
      }
    }
  }
  std::vector<std::vector<int>> succs(n);
  std::vector<int> indeg(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (int p : preds[i]) {
      succs[p].push_back(static_cast<int>(i));
      ++indeg[i];
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (const auto& l : layers)
    if (!l.removed && indeg[l.id] == 0) ready.push(l.id);
  std::vector<int> order;
  while (!ready.empty()) {
    int id = ready.top();
    ready.pop();
    order.push_back(id);
    for (int c : succs[id])
      if (--indeg[c] == 0) ready.push(c);
  }
  std::size_t live = std::count_if(layers.begin(), layers.end(), [](const LayerNode& l) { return !l.removed; });
  if (order.size() != live) throw std::logic_error("graph '" + name + "' has a cycle");
  return order;
}

void Graph::bypass(int id, int replacement) {
  LayerNode& l = layers.at(id);
  int out = l.output;
  for (int c : data[out].consumers) {
    for (int& in : layers[c].inputs)
      if (in == out) in = replacement;
    data[replacement].consumers.push_back(c);
  }
  for (int in : l.inputs) {
    auto& cons = data[in].consumers;
    cons.erase(std::remove(cons.begin(), cons.end(), id), cons.end());
  }
  data[out].consumers.clear();
  for (int& o : outputs)
    if (o == out) o = replacement;
  l.removed = true;
}

bool Graph::is_output(int data_id) const {
  return std::find(outputs.begin(), outputs.end(), data_id) != outputs.end();
}

int64_t Graph::total_macs() const {
  int64_t s = 0;
  for (const auto& l : layers)
    if (!l.removed) s += layer_macs(l.id);
  return s;
}

int64_t Graph::total_params() const {
  int64_t s = 0;
  for (const auto& l : layers)
    if (!l.removed) s += layer_params(l.id);
  return s;
}

}  // namespace fusesim::compiler
