// The YAML model frontend (format documented in models/README.md): strict keys, locations in
// every error, sequential by default with named `inputs:` for DAGs.
#include "frontend/yaml_model.h"

#include "frontend/recurrent.h"

#include <map>
#include <set>

#include "isa/yaml_util.h"

namespace fusesim::compiler {
namespace {

using yamlu::as_bool;
using yamlu::as_double;
using yamlu::as_int;
using yamlu::as_string;
using yamlu::fail;

struct OpSpec {
  OpKind kind;
  std::vector<std::string> keys;  // op-specific keys (besides name, op, inputs)
  isa::Activation act = isa::Activation::None;
};

const std::map<std::string, OpSpec>& op_table() {
  static const std::map<std::string, OpSpec> t = [] {
    std::map<std::string, OpSpec> ops = {
      {"conv", {OpKind::Conv, {"out_channels", "kernel", "stride", "pad", "dilation", "groups", "bias", "act"}}},
      {"fc", {OpKind::FullyConnected, {"out", "bias", "act"}}},
      {"maxpool", {OpKind::MaxPool, {"kernel", "stride", "pad", "ceil_mode", "act"}}},
      {"avgpool", {OpKind::AvgPool, {"kernel", "stride", "pad", "ceil_mode", "count_include_pad", "act"}}},
      {"global_avgpool", {OpKind::GlobalAvgPool, {"act"}}},
      {"batchnorm", {OpKind::BatchNorm, {"eps"}}},
      {"add", {OpKind::Add, {"act"}}},
      {"product", {OpKind::Product, {"act"}}},
      {"mul", {OpKind::Mul, {}}},
      {"concat", {OpKind::Concat, {}}},
      {"flatten", {OpKind::Flatten, {}}},
      {"identity", {OpKind::Identity, {}}},
      {"dropout", {OpKind::Dropout, {"p"}}},
      {"reshape", {OpKind::Reshape, {"shape"}}},
      {"channel_shuffle", {OpKind::ChannelShuffle, {"groups"}}},
      {"channel_slice", {OpKind::ChannelSlice, {"start", "count"}}},
    };
    // Every NFU-3 function is also a standalone layer op of the same name (relu, sigmoid, ...).
    for (uint32_t a = 1; a <= static_cast<uint32_t>(isa::kLastActivation); ++a) {
      const auto act = static_cast<isa::Activation>(a);
      ops[isa::activation_name(act)] = {OpKind::Activation, {}, act};
    }
    return ops;
  }();
  return t;
}

isa::Activation parse_act(const std::string& file, const YAML::Node& n, const std::string& path) {
  const std::string s = as_string(file, n, path);
  std::string known;
  for (uint32_t a = 0; a <= static_cast<uint32_t>(isa::kLastActivation); ++a) {
    const auto act = static_cast<isa::Activation>(a);
    if (s == isa::activation_name(act)) return act;
    known += std::string(a ? ", " : "") + isa::activation_name(act);
  }
  fail(file, n, path, "unknown activation '" + s + "' (" + known + ")");
}

// An integer or a list of `counts` integers (e.g. kernel: 3 or [3, 5]).
std::vector<int64_t> int_list(const std::string& file, const YAML::Node& n, const std::string& path,
                              std::initializer_list<std::size_t> counts, int64_t min_value) {
  std::vector<int64_t> v;
  if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) v.push_back(as_int(file, n[i], path + "[" + std::to_string(i) + "]"));
    bool ok = false;
    for (auto c : counts) ok |= v.size() == c;
    if (!ok) fail(file, n, path, "wrong number of values");
  } else {
    v.push_back(as_int(file, n, path));
  }
  for (auto x : v)
    if (x < min_value) fail(file, n, path, "must be >= " + std::to_string(min_value));
  return v;
}

void pair_of(const std::vector<int64_t>& v, int64_t& h, int64_t& w) {
  h = v[0];
  w = v.size() > 1 ? v[1] : v[0];
}

}  // namespace

Graph load_yaml_model(const std::string& file) {
  YAML::Node root = yamlu::load_file(file);
  yamlu::expect_keys(file, root, "", {"name", "seed", "batch", "input", "outputs", "layers", "description"});
  Graph g;
  if (!root["name"]) fail(file, root, "name", "missing required key");
  g.name = as_string(file, root["name"], "name");
  if (root["seed"]) g.seed = static_cast<uint64_t>(as_int(file, root["seed"], "seed"));
  if (root["batch"]) {
    g.batch = as_int(file, root["batch"], "batch");
    if (const std::string why = batch_problem(g.batch); !why.empty()) fail(file, root["batch"], "batch", why);
  }
  if (!root["input"]) fail(file, root, "input", "missing required key");
  yamlu::expect_keys(file, root["input"], "input", {"shape"});
  const YAML::Node shp = root["input"]["shape"];
  if (!shp || !shp.IsSequence() || shp.size() != 3) fail(file, root["input"], "input.shape", "expected [C, H, W]");
  Shape in_shape{as_int(file, shp[0], "input.shape[0]"), as_int(file, shp[1], "input.shape[1]"),
                 as_int(file, shp[2], "input.shape[2]")};
  if (const std::string p = in_shape.problem(); !p.empty()) fail(file, shp, "input.shape", p);
  g.input = g.add_data("input", in_shape);

  const YAML::Node layers = root["layers"];
  if (!layers || !layers.IsSequence() || layers.size() == 0)
    fail(file, layers ? layers : root, "layers", "expected a non-empty list of layers");
  std::map<std::string, int> by_name = {{"input", g.input}};
  std::map<int, Shape> sequences = {{g.input, in_shape}};  // tensors an lstm may read, by shape
  int prev = g.input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const YAML::Node L = layers[i];
    const std::string lp = "layers[" + std::to_string(i) + "]";
    if (!L.IsMap()) fail(file, L, lp, "expected a map");
    if (!L["name"]) fail(file, L, lp + ".name", "missing required key");
    if (!L["op"]) fail(file, L, lp + ".op", "missing required key");
    const std::string name = as_string(file, L["name"], lp + ".name");
    const std::string path = "layers." + name;
    const std::string op = as_string(file, L["op"], path + ".op");
    if (op == "lstm" || op == "gru" || op == "rnn") {  // unrolled into fc, add, activation and product layers (recurrent.h)
      if (op == "gru")
        yamlu::expect_keys(file, L, path, {"name", "op", "inputs", "hidden", "direction", "initial_state", "linear_before_reset"});
      else
        yamlu::expect_keys(file, L, path, {"name", "op", "inputs", "hidden", "direction", "initial_state"});
      if (by_name.count(name)) fail(file, L["name"], path + ".name", "duplicate layer name '" + name + "'");
      int x = prev;
      if (L["inputs"]) {
        const YAML::Node ins = L["inputs"];
        if (!ins.IsSequence() || ins.size() != 1) fail(file, ins, path + ".inputs", op + " takes 1 input(s)");
        const std::string src = as_string(file, ins[0], path + ".inputs");
        auto it = by_name.find(src);
        if (it == by_name.end()) fail(file, ins[0], path + ".inputs", "unknown layer '" + src + "' (inputs must be defined earlier)");
        x = it->second;
      }
      auto sq = sequences.find(x);
      if (sq == sequences.end() || sq->second.w != 1)
        fail(file, L, path + ".inputs",
             "a recurrent layer (" + op + ") reads a sequence [steps, features, 1]: the model input of that shape "
             "or another lstm, gru or rnn");
      if (!L["hidden"]) fail(file, L, path + ".hidden", "missing required key");
      LstmSpec s;
      s.name = name;
      s.steps = sq->second.c, s.input = sq->second.h;
      s.hidden = as_int(file, L["hidden"], path + ".hidden");
      if (s.hidden < 1 || s.hidden > 16384) fail(file, L["hidden"], path + ".hidden", "must be 1 to 16384");
      if (s.steps > 1024) fail(file, L, path, "at most 1024 steps are unrolled (the input has " + std::to_string(s.steps) + ")");
      s.origin = yamlu::where(file, L);
      if (L["linear_before_reset"]) s.linear_before_reset = as_bool(file, L["linear_before_reset"], path + ".linear_before_reset");
      std::string direction = "forward";
      if (L["direction"]) {
        direction = as_string(file, L["direction"], path + ".direction");
        if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
          fail(file, L["direction"], path + ".direction", "expected forward, reverse or bidirectional, got '" + direction + "'");
      }
      // initial_state: zero (h_{-1} = c_{-1} = 0, the default) or carried (a state handed over
      // from the previous chunk of a stream, as a streaming recognizer does: constant tensors
      // NAME.h0 and NAME.c0 in DRAM, generated from the seed; step 0 then has its recurrent product)
      bool carried = false;
      if (L["initial_state"]) {
        const std::string st = as_string(file, L["initial_state"], path + ".initial_state");
        if (st != "zero" && st != "carried")
          fail(file, L["initial_state"], path + ".initial_state", "expected zero or carried, got '" + st + "'");
        carried = st == "carried";
      }
      auto lower = [&](LstmSpec spec) {
        if (carried) {
          spec.h0 = g.add_constant(spec.name + ".h0", Shape{spec.hidden, 1, 1});
          if (op == "lstm") spec.c0 = g.add_constant(spec.name + ".c0", Shape{spec.hidden, 1, 1});
        }
        return op == "lstm" ? lower_lstm(g, spec, x) : op == "gru" ? lower_gru(g, spec, {}, x) : lower_rnn(g, spec, x);
      };
      if (direction == "forward") {
        prev = lower(s);
      } else {
        // reverse: the steps from the last (a negative stride), h_t put back in time order;
        // bidirectional: a forward and a reverse layer (NAME.forward, NAME.reverse, each its own
        // weights), their h_t side by side per step: [steps, 2 hidden, 1]
        std::vector<std::vector<int>> hs;
        for (const bool rev : {false, true}) {
          if (!rev && direction == "reverse") continue;
          LstmSpec d = s;
          if (direction == "bidirectional") d.name += rev ? ".reverse" : ".forward";
          if (rev) d.seq_stride = -1, d.seq_offset = s.steps - 1;
          hs.emplace_back();
          d.step_outputs = &hs.back();
          lower(d);
        }
        std::vector<int> parts;
        for (int64_t t = 0; t < s.steps; ++t)
          for (std::size_t k = 0; k < hs.size(); ++k)  // the reverse layer reached time t at step T-1-t
            parts.push_back(hs[k][static_cast<std::size_t>(k == hs.size() - 1 && direction != "forward" ? s.steps - 1 - t : t)]);
        int y = parts[0];
        if (parts.size() > 1) {
          const int cat = g.add_layer(name + ".y", OpKind::Concat, parts, name + ".y");
          g.layer(cat).origin = s.origin;
          y = g.layer(cat).output;
        }
        LayerAttrs ra;
        ra.reshape_to = Shape{s.steps, s.hidden * static_cast<int64_t>(hs.size()), 1};
        const int id = g.add_layer(name, OpKind::Reshape, {y}, name, ra);
        g.layer(id).origin = s.origin;
        prev = g.layer(id).output;
      }
      sequences[prev] = Shape{s.steps, s.hidden * (direction == "bidirectional" ? 2 : 1), 1};
      by_name[name] = prev;
      continue;
    }
    auto spec_it = op_table().find(op);
    if (spec_it == op_table().end()) fail(file, L["op"], path + ".op", "unknown op '" + op + "' (see models/README.md)");
    const OpSpec& spec = spec_it->second;
    std::vector<std::string> allowed = {"name", "op", "inputs"};
    allowed.insert(allowed.end(), spec.keys.begin(), spec.keys.end());
    yamlu::expect_keys(file, L, path, allowed);
    if (by_name.count(name)) fail(file, L["name"], path + ".name", "duplicate layer name '" + name + "'");

    std::vector<int> inputs;
    if (L["inputs"]) {
      const YAML::Node ins = L["inputs"];
      if (!ins.IsSequence() || ins.size() == 0) fail(file, ins, path + ".inputs", "expected a list of layer names");
      for (std::size_t k = 0; k < ins.size(); ++k) {
        const std::string src = as_string(file, ins[k], path + ".inputs");
        auto it = by_name.find(src);
        if (it == by_name.end()) fail(file, ins[k], path + ".inputs", "unknown layer '" + src + "' (inputs must be defined earlier)");
        inputs.push_back(it->second);
      }
    } else {
      inputs.push_back(prev);
    }
    const std::size_t want_inputs = spec.kind == OpKind::Add || spec.kind == OpKind::Product ? 2 : spec.kind == OpKind::Concat ? 0 : 1;
    if (want_inputs == 0 && inputs.size() < 2) fail(file, L, path + ".inputs", "concat needs two or more inputs");
    if (want_inputs && inputs.size() != want_inputs)
      fail(file, L, path + ".inputs", op + " takes " + std::to_string(want_inputs) + " input(s)");

    LayerAttrs a;
    a.act = spec.act;
    auto req = [&](const char* key) {
      if (!L[key]) fail(file, L, path + "." + key, "missing required key");
      return L[key];
    };
    if (L["act"]) a.act = parse_act(file, L["act"], path + ".act");
    switch (spec.kind) {
      case OpKind::Conv:
      case OpKind::MaxPool:
      case OpKind::AvgPool: {
        if (spec.kind == OpKind::Conv) {
          a.out_channels = as_int(file, req("out_channels"), path + ".out_channels");
          if (a.out_channels < 1) fail(file, L["out_channels"], path + ".out_channels", "must be >= 1");
        }
        pair_of(int_list(file, req("kernel"), path + ".kernel", {1, 2}, 1), a.kernel_h, a.kernel_w);
        if (L["stride"])
          pair_of(int_list(file, L["stride"], path + ".stride", {1, 2}, 1), a.stride_h, a.stride_w);
        else if (spec.kind != OpKind::Conv)
          a.stride_h = a.kernel_h, a.stride_w = a.kernel_w;
        if (L["pad"]) {
          auto p = int_list(file, L["pad"], path + ".pad", {1, 2, 4}, 0);
          if (p.size() == 4) {
            a.pad_top = p[0], a.pad_left = p[1], a.pad_bottom = p[2], a.pad_right = p[3];
          } else {
            pair_of(p, a.pad_top, a.pad_left);
            a.pad_bottom = a.pad_top, a.pad_right = a.pad_left;
          }
        }
        if (L["dilation"]) pair_of(int_list(file, L["dilation"], path + ".dilation", {1, 2}, 1), a.dil_h, a.dil_w);
        if (L["groups"]) {
          a.groups = as_int(file, L["groups"], path + ".groups");
          if (a.groups < 1) fail(file, L["groups"], path + ".groups", "must be >= 1");
        }
        a.has_bias = spec.kind == OpKind::Conv && (!L["bias"] || as_bool(file, L["bias"], path + ".bias"));
        if (L["ceil_mode"]) a.ceil_mode = as_bool(file, L["ceil_mode"], path + ".ceil_mode");
        if (L["count_include_pad"]) a.count_include_pad = as_bool(file, L["count_include_pad"], path + ".count_include_pad");
        break;
      }
      case OpKind::FullyConnected:
        a.out_channels = as_int(file, req("out"), path + ".out");
        if (a.out_channels < 1) fail(file, L["out"], path + ".out", "must be >= 1");
        a.has_bias = !L["bias"] || as_bool(file, L["bias"], path + ".bias");
        break;
      case OpKind::BatchNorm:
        if (L["eps"]) a.bn_eps = static_cast<float>(as_double(file, L["eps"], path + ".eps"));
        break;
      case OpKind::Reshape: {
        auto s = int_list(file, req("shape"), path + ".shape", {3}, 1);
        a.reshape_to = {s[0], s[1], s[2]};
        break;
      }
      case OpKind::ChannelShuffle:
        a.groups = as_int(file, req("groups"), path + ".groups");
        if (a.groups < 1) fail(file, L["groups"], path + ".groups", "must be >= 1");
        break;
      case OpKind::ChannelSlice:
        a.slice_start = as_int(file, req("start"), path + ".start");
        if (a.slice_start < 0) fail(file, L["start"], path + ".start", "must be >= 0");
        a.slice_count = as_int(file, req("count"), path + ".count");
        if (a.slice_count < 1) fail(file, L["count"], path + ".count", "must be >= 1");
        break;
      default:
        break;
    }
    int id = g.add_layer(name, spec.kind, inputs, name, a);
    g.layer(id).origin = yamlu::where(file, L);
    prev = g.layer(id).output;
    by_name[name] = prev;
  }
  if (root["outputs"]) {
    const YAML::Node outs = root["outputs"];
    if (!outs.IsSequence() || outs.size() == 0) fail(file, outs, "outputs", "expected a list of layer names");
    for (std::size_t k = 0; k < outs.size(); ++k) {
      const std::string o = as_string(file, outs[k], "outputs");
      auto it = by_name.find(o);
      if (it == by_name.end() || it->second == g.input) fail(file, outs[k], "outputs", "unknown layer '" + o + "'");
      g.outputs.push_back(it->second);
    }
  } else {
    g.outputs.push_back(prev);
  }
  return g;
}

}  // namespace fusesim::compiler
