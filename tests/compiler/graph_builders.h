// Small helpers shared by the compiler tests: hand-built graphs, attribute shorthands and
// conversions between raw fixed-point numbers, floats and the reference executor's byte buffers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/graph.h"
#include "isa/arch_params.h"

namespace fusesim::compiler::testing {

// A graph with only its network input.
inline Graph graph_with_input(Shape s, const std::string& name = "t") {
  Graph g;
  g.name = name;
  g.input = g.add_data("input", s);
  return g;
}

inline int out_of(const Graph& g, int layer) { return g.layer(layer).output; }

inline LayerAttrs conv_attrs(int64_t out_channels, int64_t k, int64_t stride = 1, int64_t pad = 0,
                             bool bias = false) {
  LayerAttrs a;
  a.out_channels = out_channels;
  a.kernel_h = a.kernel_w = k;
  a.stride_h = a.stride_w = stride;
  a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = pad;
  a.has_bias = bias;
  return a;
}

inline LayerAttrs pool_attrs(int64_t k, int64_t stride, int64_t pad = 0, bool ceil_mode = false) {
  LayerAttrs a;
  a.kernel_h = a.kernel_w = k;
  a.stride_h = a.stride_w = stride;
  a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = pad;
  a.ceil_mode = ceil_mode;
  return a;
}

inline LayerAttrs fc_attrs(int64_t out, bool bias = false) {
  LayerAttrs a;
  a.out_channels = out;
  a.has_bias = bias;
  return a;
}

inline LayerAttrs act_attrs(isa::Activation act) {
  LayerAttrs a;
  a.act = act;
  return a;
}

// Raw Q8.8 activations / Q4.12 weights as the floats that quantize back to exactly those raws.
inline std::vector<float> q88(const std::vector<int>& raw) {
  std::vector<float> v;
  for (int r : raw) v.push_back(static_cast<float>(r) / 256.0f);
  return v;
}
inline std::vector<float> q412(const std::vector<int>& raw) {
  std::vector<float> v;
  for (int r : raw) v.push_back(static_cast<float>(r) / 4096.0f);
  return v;
}

inline std::vector<uint8_t> bytes_of_int16(const std::vector<int>& raw) {
  std::vector<uint8_t> b(raw.size() * 2);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const int16_t q = static_cast<int16_t>(raw[i]);
    std::memcpy(&b[i * 2], &q, 2);
  }
  return b;
}
inline std::vector<int> int16_of_bytes(const std::vector<uint8_t>& b) {
  std::vector<int> v(b.size() / 2);
  for (std::size_t i = 0; i < v.size(); ++i) {
    int16_t q;
    std::memcpy(&q, &b[i * 2], 2);
    v[i] = q;
  }
  return v;
}
inline std::vector<uint8_t> bytes_of_float(const std::vector<float>& f) {
  std::vector<uint8_t> b(f.size() * 4);
  std::memcpy(b.data(), f.data(), b.size());
  return b;
}
inline std::vector<float> float_of_bytes(const std::vector<uint8_t>& b) {
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

inline ArchParams arch_preset(const std::string& name) {
  return load_arch(std::string(FUSESIM_SOURCE_DIR) + "/configs/arch/" + name + ".yaml");
}

}  // namespace fusesim::compiler::testing
