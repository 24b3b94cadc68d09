// Recurrent layers (issue 10): an LSTM lowered to the NFU's own operations with the time loop
// unrolled in the program. Each step is two matrix-vector products (fc layers: the input
// projection W x_t + b and the recurrent projection R h_{t-1}), an add, the gate functions on
// NFU-3 (sigmoid, tanh) and the element-wise gating (product and add). The steps share one W
// and one R (LayerNode::weights_of): stored once in DRAM, counted once. docs/recurrent.md.
#pragma once

#include <string>
#include <vector>

#include "compiler/graph.h"

namespace fusesim::compiler {

// The layers that own a recurrent layer's shared weights (the first step's fc layers), so that
// several sequences (an ONNX batch, unrolled side by side) share one copy.
struct RecurrentOwners {
  int w = -1, r = -1, rzr = -1, rh = -1;
};

// A sequence is a C x H x W tensor of shape [steps, features, 1]: time-major, as ONNX's
// [seq_length, batch 1, input_size] lies in memory.
struct LstmSpec {
  std::string name;    // layer names are NAME.tK.PART; the output sequence is the tensor NAME
  int64_t steps = 0, input = 0, hidden = 0;
  std::string origin;  // where it was defined (file:line:col or the ONNX node)
  // Optional parameters (ONNX initializers), gate order i, o, f, c: W [4H][input], R [4H][H],
  // bias [4H] (ONNX's Wb + Rb). Empty: generated from the seed like any layer's.
  std::vector<float> w, r, bias;
  // LSTM peepholes (ONNX's P, order i, o, f; empty: none): i and f add P_i * c_{t-1} and
  // P_f * c_{t-1} before their sigmoid, o adds P_o * c_t (per-channel scales, the NFU's Mul).
  std::vector<float> peep;
  Shape out_shape;     // of the output sequence; default [steps, hidden, 1]
  // GRU only (ONNX's attribute): 1 applies the reset gate after the recurrent product (and its
  // bias), r * (R_h h + Rb_h); 0 before it, R_h (r * h) + Rb_h.
  bool linear_before_reset = false;
  // Step t's input is channel t * seq_stride + seq_offset of the input tensor (an ONNX batch of
  // B sequences, [steps, B, input], seen as [steps * B, 1, input]: stride B, offset the sample).
  int64_t seq_stride = 1, seq_offset = 0;
  // The initial state h_{-1} and (LSTM) c_{-1}: constant data nodes of [hidden, 1, 1] in DRAM
  // (Graph::add_constant: ONNX's initial_h and initial_c, or YAML's `initial_state: carried`),
  // or -1 for zero. A zero h_{-1} has no recurrent product at step 0 (nothing is computed to
  // add nothing), a given one has: G H (I + H) MACs per step at every step.
  int h0 = -1, c0 = -1;
  RecurrentOwners* shared = nullptr;  // owners across sequences (else this call's own)
  std::vector<int>* step_outputs = nullptr;  // when set: every h_t goes here and no sequence is built (-1 returned)
};

// Appends the unrolled LSTM reading the sequence `x` and returns the data node of its output
// sequence [steps, hidden, 1] (every h_t). The LSTM's MACs are 4 H (I + H) T with an initial
// state (LstmSpec::h0), 4 H (I + H) T - 4 H^2 without (h_{-1} = 0: step 0 has no R h_{-1}).
int lower_lstm(Graph& g, const LstmSpec& s, int x);

// A GRU (ONNX's equations, gate order z, r, h; W [3H][input], R [3H][H], bias [6H] = Wb then
// Rb; LstmSpec's bias is unused, `gru_bias` holds the 6H):
//   z, r = sigmoid(W_zr x + R_zr h + b_zr);  h~ = tanh(W_h x + [reset] + Wb_h)
//   h_t = h~ + z * (h_{t-1} - h~)             (= (1 - z) h~ + z h_{t-1})
// 3 H (I + H) T MACs with an initial state; with h_{-1} = 0, step 0 has no recurrent product:
// 3 H (I + H) T - 3 H^2.
int lower_gru(Graph& g, const LstmSpec& s, const std::vector<float>& gru_bias, int x);

// A simple RNN: h_t = tanh(W x_t + R h_{t-1} + Wb + Rb) (W [H][input], R [H][H], bias [H] the
// sum): H (I + H) T MACs with an initial state, H (I + H) T - H^2 without.
int lower_rnn(Graph& g, const LstmSpec& s, int x);

}  // namespace fusesim::compiler
