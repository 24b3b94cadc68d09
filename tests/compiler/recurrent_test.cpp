// The unrolled LSTM (compiler/frontend/recurrent.h) against the LSTM equations evaluated directly
// (ONNX's definition, gate order i, o, f, c; zero initial state), in fp32 through the reference
// executor, plus its MACs and parameters from first principles.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compiler/frontend/recurrent.h"
#include "compiler/passes/passes.h"
#include "graph_builders.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

struct Lstm {
  int64_t T, I, H;
  std::vector<float> w, r, b, x;  // W [4H][I], R [4H][H], b [4H], x [T][I]
};

Lstm random_lstm(int64_t T, int64_t I, int64_t H, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  Lstm l{T, I, H, {}, {}, {}, {}};
  for (int64_t k = 0; k < 4 * H * I; ++k) l.w.push_back(u(gen));
  for (int64_t k = 0; k < 4 * H * H; ++k) l.r.push_back(u(gen));
  for (int64_t k = 0; k < 4 * H; ++k) l.b.push_back(u(gen));
  for (int64_t k = 0; k < T * I; ++k) l.x.push_back(2 * u(gen));
  return l;
}

// h_t for every step, [T][H], by the equations.
std::vector<float> direct(const Lstm& l) {
  const int64_t H = l.H;
  std::vector<double> h(H, 0.0), c(H, 0.0);
  std::vector<float> y;
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (int64_t t = 0; t < l.T; ++t) {
    std::vector<double> gate(4 * H);
    for (int64_t j = 0; j < 4 * H; ++j) {
      double v = l.b[j];
      for (int64_t k = 0; k < l.I; ++k) v += double(l.w[j * l.I + k]) * l.x[t * l.I + k];
      for (int64_t k = 0; k < H; ++k) v += double(l.r[j * H + k]) * h[k];
      gate[j] = v;
    }
    for (int64_t k = 0; k < H; ++k) {
      const double i = sig(gate[k]), o = sig(gate[H + k]), f = sig(gate[2 * H + k]), cand = std::tanh(gate[3 * H + k]);
      c[k] = f * c[k] + i * cand;
      h[k] = o * std::tanh(c[k]);
    }
    for (double v : h) y.push_back(static_cast<float>(v));
  }
  return y;
}

Graph lstm_graph(const Lstm& l) {
  Graph g;
  g.name = "lstm";
  g.input = g.add_data("input", Shape{l.T, l.I, 1});
  LstmSpec s;
  s.name = "lstm", s.steps = l.T, s.input = l.I, s.hidden = l.H;
  s.w = l.w, s.r = l.r, s.bias = l.b;
  g.outputs.push_back(lower_lstm(g, s, g.input));
  infer_shapes(g);
  canonicalize(g);
  return g;
}

TEST(Lstm, MatchesTheEquationsInFp32) {
  for (auto [T, I, H] : {std::tuple<int64_t, int64_t, int64_t>{1, 3, 4}, {6, 5, 8}, {12, 16, 12}}) {
    const Lstm l = random_lstm(T, I, H, static_cast<unsigned>(T * 100 + H));
    const Graph g = lstm_graph(l);
    EXPECT_EQ(g.tensor(g.outputs[0]).shape, (Shape{T, H, 1}));
    const std::vector<float> got = float_of_bytes(run_reference(g, isa::DType::Fp32, bytes_of_float(l.x)).at(0));
    const std::vector<float> want = direct(l);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k)
      EXPECT_NEAR(got[k], want[k], 1e-5) << "T=" << T << " H=" << H << " element " << k;
  }
}

TEST(Lstm, MacsAndParametersFromFirstPrinciples) {
  const int64_t T = 7, I = 40, H = 32;
  const Graph g = lstm_graph(random_lstm(T, I, H, 3));
  int64_t macs = 0, params = 0;
  for (const LayerNode& l : g.layers)
    if (!l.removed) macs += g.layer_macs(l.id), params += g.layer_params(l.id);
  // two matrix-vector products per step (4H x I and 4H x H); step 0's recurrent one is skipped
  // (h_{-1} = 0)
  EXPECT_EQ(macs, 4 * H * (I + H) * T - 4 * H * H);
  // W, R and one bias, shared by the steps
  EXPECT_EQ(params, 4 * H * I + 4 * H * H + 4 * H);
}

}  // namespace
}  // namespace fusesim::compiler
