// Deterministic parameters and inputs. Values come from a SplitMix64 stream seeded by the
// graph's seed and a hash of the layer name, so they do not depend on the order of passes.
#include <cmath>
#include <cstring>

#include "isa/numerics.h"
#include "compiler/compiler.h"
#include "passes.h"

namespace fusesim::compiler {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // uniform in [lo, hi)
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(static_cast<double>(next() >> 11) * 0x1.0p-53);
  }

 private:
  uint64_t s_;
};

uint64_t name_hash(const std::string& s) {  // FNV-1a
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

void fill(std::vector<float>& v, std::size_t n, Rng& r, float lo, float hi) {
  v.clear();
  v.reserve(n);  // appended, not zero-filled first (alexnet: 61 M weights)
  advise_huge_pages(v.data(), n * sizeof(float));
  for (std::size_t i = 0; i < n; ++i) v.push_back(r.uniform(lo, hi));
}

}  // namespace

void materialize_weights(Graph& g) {
  for (auto& l : g.layers) {
    if (l.removed || l.weights_of >= 0) continue;  // shared weights live in their owner
    const uint64_t state = g.seed * 0x2545F4914F6CDD1Dull ^ name_hash(l.name);
    Rng r(state);
    const Shape in = g.tensor(l.inputs.at(0)).shape;
    const LayerAttrs& a = l.attrs;
    if (l.op == OpKind::Conv || l.op == OpKind::FullyConnected) {
      const int64_t fan_in = l.op == OpKind::Conv ? (in.c / a.groups) * a.kernel_h * a.kernel_w : in.elems();
      const int64_t n = a.out_channels * fan_in;
      // Kaiming-uniform for ReLU networks keeps activations at unit scale through depth.
      const float bound = std::sqrt(6.0f / static_cast<float>(fan_in));
      // The weights are generated on demand (LayerNode::gen): the stream's first n values; the
      // bias takes the n values after them.
      if (l.weights.empty() && !l.gen.on) {
        l.gen.on = true;
        l.gen.state = state, l.gen.lo = -bound, l.gen.hi = bound;
        r = Rng(state + static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ull);
      }
      if (a.has_bias && l.bias.empty()) fill(l.bias, static_cast<std::size_t>(a.out_channels), r, -0.1f, 0.1f);
    } else if (l.op == OpKind::Mul) {
      if (l.weights.empty()) fill(l.weights, static_cast<std::size_t>(in.c), r, 0.5f, 1.5f);
    } else if (l.op == OpKind::BatchNorm) {
      const auto c = static_cast<std::size_t>(in.c);
      if (l.bn_gamma.empty()) fill(l.bn_gamma, c, r, 0.8f, 1.2f);
      if (l.bn_beta.empty()) fill(l.bn_beta, c, r, -0.1f, 0.1f);
      if (l.bn_mean.empty()) fill(l.bn_mean, c, r, -0.1f, 0.1f);
      if (l.bn_var.empty()) fill(l.bn_var, c, r, 0.8f, 1.2f);
    }
  }
  // Constant tensors (a recurrent layer's initial state): uniform in [-0.5, 0.5), inside the
  // range of h = o tanh(c) and of a cell state a few steps old.
  for (auto& d : g.data)
    if (d.constant && d.values.empty()) {
      Rng r(g.seed * 0x2545F4914F6CDD1Dull ^ name_hash("constant:" + d.name));
      fill(d.values, static_cast<std::size_t>(d.shape.elems()), r, -0.5f, 0.5f);
    }
}

std::vector<uint8_t> make_input(const Graph& g, isa::DType dtype, uint64_t seed) {
  const Shape s = g.tensor(g.input).shape;
  Rng r(seed * 0x9E3779B97F4A7C15ull ^ name_hash("input"));
  const std::size_t n = static_cast<std::size_t>(s.elems() * g.batch);
  std::vector<uint8_t> out(n * isa::data_bytes(dtype));
  for (std::size_t i = 0; i < n; ++i) {
    const float x = r.uniform(-1.0f, 1.0f);
    if (dtype == isa::DType::Int16) {
      const int16_t q = numerics::quantize(x, numerics::kActFrac);
      std::memcpy(&out[i * 2], &q, 2);
    } else {
      std::memcpy(&out[i * 4], &x, 4);
    }
  }
  return out;
}

}  // namespace fusesim::compiler
